"""`gitops render` and `gitops validate`: the desired objects of a source, printed or checked, offline."""

from __future__ import annotations

import copy
import json
from typing import Any, NoReturn

import click
import yaml

from gitops.cli.options import (
    namespace_option,
    output_option,
    remote_options,
    render_options,
    source_arguments,
)
from gitops.errors import GitopsError, RenderError
from gitops.objects import Manifest, printable
from gitops.source import Checkout, SourceSpec

REDACTED = "<redacted>"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
MIN_EMBEDDED_LENGTH = 4
"""A decrypted value shorter than this is masked only where it is a whole value, not inside other text."""


def _fail(err: GitopsError) -> NoReturn:
    """Every problem on its own line (file, object, cause), then the exit code of the error."""
    if isinstance(err, RenderError):
        for problem in err.problems:
            click.echo(f"error: {printable(str(problem))}", err=True)
        count = len(err.problems)
        click.echo(f"{count} problem{'s' if count != 1 else ''} found", err=True)
    else:
        click.echo(f"error: {printable(str(err))}", err=True)
    raise click.exceptions.Exit(err.exit_code)


def _load(spec: SourceSpec, namespace: str, remote: dict[str, bool]) -> tuple[Checkout, list[Manifest]]:
    from gitops.render import render as render_directory
    from gitops.source import fetch

    try:
        checkout = fetch(spec)
        options = render_options(namespace, remote)
        return checkout, render_directory(checkout.directory, root=checkout.root, options=options)
    except GitopsError as err:
        _fail(err)


def mask_secret(obj: dict[str, Any]) -> dict[str, Any]:
    """A copy of a core Secret with the values of ``data`` and ``stringData`` replaced; other objects as they are."""
    if obj.get("apiVersion") != "v1" or obj.get("kind") != "Secret":
        return obj
    masked = copy.deepcopy(obj)
    for field in ("data", "stringData"):
        if isinstance(masked.get(field), dict):
            masked[field] = dict.fromkeys(masked[field], REDACTED)
    annotations = (masked.get("metadata") or {}).get("annotations")
    if isinstance(annotations, dict) and LAST_APPLIED in annotations:
        # kubectl apply's copy of the whole manifest, values included.
        try:
            previous = json.loads(str(annotations[LAST_APPLIED]))
        except ValueError:
            previous = None
        for field in ("data", "stringData"):
            if isinstance(previous, dict) and isinstance(previous.get(field), dict):
                previous[field] = dict.fromkeys(previous[field], REDACTED)
        annotations[LAST_APPLIED] = json.dumps(previous, separators=(",", ":")) if isinstance(previous, dict) else REDACTED
    return masked


def mask_decrypted(obj: Any, sensitive: frozenset[str]) -> Any:
    """``obj`` with every value decrypted from a SOPS file masked, wherever it sits (also inside longer
    strings a template built from it): never printed, even with --show-secrets."""
    if not sensitive:
        return obj
    if isinstance(obj, str):
        if obj in sensitive:
            return REDACTED
        for value in sorted(sensitive, key=len, reverse=True):
            if len(value) >= MIN_EMBEDDED_LENGTH:  # shorter ones would hit ordinary words
                obj = obj.replace(value, REDACTED)
        return obj
    if isinstance(obj, dict):
        return {key: mask_decrypted(value, sensitive) for key, value in obj.items()}
    if isinstance(obj, list):
        return [mask_decrypted(value, sensitive) for value in obj]
    return REDACTED if str(obj) in sensitive and not isinstance(obj, bool) else obj


def _shown(manifest: Manifest, show_secrets: bool) -> dict[str, Any]:
    obj = manifest.obj if show_secrets else mask_secret(manifest.obj)
    return mask_decrypted(obj, manifest.sensitive)


def yaml_stream(manifests: list[Manifest], *, show_origin: bool, show_secrets: bool) -> str:
    documents = []
    for manifest in manifests:
        obj = _shown(manifest, show_secrets)
        header = f"# Source: {manifest.origin}\n" if show_origin else ""
        body = yaml.dump(
            obj, Dumper=yaml.CSafeDumper, sort_keys=False, allow_unicode=True, default_flow_style=False
        )
        documents.append(header + body)
    return "---\n" + "---\n".join(documents) if documents else ""


def json_list(manifests: list[Manifest], *, show_secrets: bool) -> str:
    items = [_shown(m, show_secrets) for m in manifests]
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": items}, indent=2, ensure_ascii=False)


@click.command()
@source_arguments
@output_option("yaml", "json", default="yaml")
@click.option(
    "--show-origin", is_flag=True, help="Precede each YAML object with a '# Source: FILE:LINE' comment."
)
@click.option(
    "--show-secrets",
    is_flag=True,
    help="Print Secret data and stringData values (masked by default: render output often lands in CI logs). "
    "Values decrypted from SOPS files stay masked.",
)
@namespace_option
@remote_options
def render(
    source: SourceSpec, output: str, show_origin: bool, show_secrets: bool, namespace: str, **remote: bool
) -> None:
    """Print the desired objects rendered from SOURCE (a directory or Git URL) as YAML or a JSON List.

    Plain YAML/JSON files are read recursively; Helm charts are rendered with Helm's engine and
    kustomization directories built with kustomize or kubectl. Nothing is sent to a cluster.
    """
    _, manifests = _load(source, namespace, remote)
    if output == "json":
        click.echo(json_list(manifests, show_secrets=show_secrets))
    else:
        click.echo(yaml_stream(manifests, show_origin=show_origin, show_secrets=show_secrets), nl=False)


@click.command()
@source_arguments
@namespace_option
@remote_options
def validate(source: SourceSpec, namespace: str, **remote: bool) -> None:
    """Check SOURCE's manifests offline: every problem is listed with its file, line and object."""
    _, manifests = _load(source, namespace, remote)
    count = len(manifests)
    click.echo(f"{count} object{'s' if count != 1 else ''} valid")
