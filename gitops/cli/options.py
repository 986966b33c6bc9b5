"""Options shared by several commands."""

from __future__ import annotations

from collections.abc import Callable
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
