"""`gitops render` and `gitops validate`: the desired objects of a source, printed or checked, offline."""

from __future__ import annotations

import copy
import json
from typing import Any, NoReturn

import click
import yaml

from gitops.cli.options import output_option, source_arguments
from gitops.errors import GitopsError, RenderError
from gitops.objects import Manifest, printable
from gitops.source import Checkout, SourceSpec

REDACTED = "<redacted>"


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


def _load(spec: SourceSpec) -> tuple[Checkout, list[Manifest]]:
    from gitops.render import render as render_directory
    from gitops.source import fetch

    try:
        checkout = fetch(spec)
        return checkout, render_directory(checkout.directory, root=checkout.root)
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
    return masked


def yaml_stream(manifests: list[Manifest], *, show_origin: bool, show_secrets: bool) -> str:
    documents = []
    for manifest in manifests:
        obj = manifest.obj if show_secrets else mask_secret(manifest.obj)
        header = f"# Source: {manifest.origin}\n" if show_origin else ""
        body = yaml.dump(
            obj, Dumper=yaml.CSafeDumper, sort_keys=False, allow_unicode=True, default_flow_style=False
        )
        documents.append(header + body)
    return "---\n" + "---\n".join(documents) if documents else ""


def json_list(manifests: list[Manifest], *, show_secrets: bool) -> str:
    items = [m.obj if show_secrets else mask_secret(m.obj) for m in manifests]
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
    help="Print Secret data and stringData values (masked by default: render output often lands in CI logs).",
)
def render(source: SourceSpec, output: str, show_origin: bool, show_secrets: bool) -> None:
    """Print the desired objects rendered from SOURCE (a directory or Git URL) as YAML or a JSON List.

    Plain YAML/JSON files are read recursively; kustomization directories are built with
    kustomize or kubectl. Nothing is sent to a cluster.
    """
    _, manifests = _load(source)
    if output == "json":
        click.echo(json_list(manifests, show_secrets=show_secrets))
    else:
        click.echo(yaml_stream(manifests, show_origin=show_origin, show_secrets=show_secrets), nl=False)


@click.command()
@source_arguments
def validate(source: SourceSpec) -> None:
    """Check SOURCE's manifests offline: every problem is listed with its file, line and object."""
    _, manifests = _load(source)
    count = len(manifests)
    click.echo(f"{count} object{'s' if count != 1 else ''} valid")
