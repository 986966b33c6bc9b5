"""Options shared by several commands."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import click

OUTPUT_FORMATS = ("text", "json", "yaml")


def output_option(*choices: str, default: str = "text") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option(
        "-o",
        "--output",
        type=click.Choice(choices or OUTPUT_FORMATS),
        default=default,
        show_default=True,
        help="Output format.",
    )


def source_arguments(command: Callable[..., Any]) -> Callable[..., Any]:
    """``SOURCE [--revision R] [--path P]``, passed to the command as ``source: SourceSpec``."""
    from functools import wraps

    from gitops.source import SourceSpec

    @wraps(command)
    def wrapper(*args: Any, source: str, revision: str | None, path: str, **kwargs: Any) -> Any:
        return command(*args, source=SourceSpec(location=source, revision=revision, path=path), **kwargs)

    wrapper = click.argument("source")(wrapper)
    wrapper = click.option(
        "--revision",
        "-r",
        default=None,
        help="Branch, tag, or full or short commit SHA (default: the remote's default branch; a local directory as it is).",
    )(wrapper)
    wrapper = click.option(
        "--path", "-p", default="", help="Directory inside the repository to render (default: its root)."
    )(wrapper)
    return wrapper


def namespace_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """``-n/--namespace``: the Helm release namespace in ``render`` and ``validate``, as in ``diff`` and ``sync``."""
    return click.option(
        "--namespace",
        "-n",
        default="default",
        show_default=True,
        callback=dns_label,
        help="Release namespace of Helm charts (and, for diff and sync, of namespaced objects that name none).",
    )(command)


REMOTE_FLAGS = ("allow_remote_charts", "allow_remote_bases")
"""What rendering may fetch from elsewhere; every command that renders takes both flags."""


def remote_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--allow-remote-charts`` and ``--allow-remote-bases`` (both off: refused); the command receives
    them as keyword arguments, turned into render options by :func:`render_options`."""
    command = click.option(
        "--allow-remote-bases",
        is_flag=True,
        help="Let kustomizations fetch remote bases (URLs); by default every reference stays inside the source.",
    )(command)
    return click.option(
        "--allow-remote-charts",
        is_flag=True,
        help="Fetch Helm chart dependencies missing from charts/ (chart repositories, OCI registries, file://) "
        "into a temporary copy, instead of refusing them. Rendering is offline without it.",
    )(command)


class Duration(click.ParamType):
    """kubectl's durations (``90s``, ``5m``, ``1h``, ``1m30s``) or plain seconds; NaN and infinity refused."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        from gitops.durations import parse_duration, parse_seconds_or_duration

        try:
            return parse_duration(value) if isinstance(value, int | float) else parse_seconds_or_duration(value)
        except ValueError as err:
            self.fail(str(err), param, ctx)


class Rate(click.ParamType):
    """Requests a second: 0 (no limit) or a finite number of at least ``minimum``."""

    name = "rate"

    def __init__(self, minimum: float) -> None:
        self.minimum = minimum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        try:
            rate = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is no number", param, ctx)
        if not math.isfinite(rate) or rate < 0 or 0 < rate < self.minimum:
            self.fail(f"{value!r}: must be 0 (no limit) or a number of at least {self.minimum:g}", param, ctx)
        return rate


def dns_label(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Callback: a namespace name (DNS-1123 label), as the API server checks it."""
    from gitops.render.validate import dns1123_label_errors

    if value is not None and (errors := dns1123_label_errors(value) if value else ["must not be empty"]):
        raise click.BadParameter(f"{value!r} {errors[0]}", ctx, param)
    return value


def dns_subdomain(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Callback: an object name (DNS-1123 subdomain), as the API server checks it."""
    from gitops.render.validate import dns1123_subdomain_errors

    if value is not None and (errors := dns1123_subdomain_errors(value) if value else ["must not be empty"]):
        raise click.BadParameter(f"{value!r} {errors[0]}", ctx, param)
    return value


def render_options(namespace: str, flags: Mapping[str, Any]) -> Any:
    """The :class:`gitops.render.RenderOptions` of a command's ``--namespace`` and remote flags."""
    from gitops.render import RenderOptions

    return RenderOptions(namespace=namespace, **{name: bool(flags.get(name)) for name in REMOTE_FLAGS})
