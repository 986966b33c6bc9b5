"""The `gitops` command line: a thin layer that turns flags into options, calls the engine, prints results.

Each command family lives in its own module and is imported only when invoked,
so that `gitops render` does not pay for importing the Kubernetes client.
"""

from __future__ import annotations

import gc
import importlib
import logging
import sys

import click

from gitops import __version__
from gitops.errors import GitopsError, RenderError

# command name -> ("module:attribute", short help shown by `gitops --help` without importing the module)
COMMANDS: dict[str, tuple[str, str]] = {
    "render": ("gitops.cli.render:render", "Print the desired objects rendered from a source."),
    "validate": ("gitops.cli.render:validate", "Check a source's manifests offline."),
    "diff": ("gitops.cli.sync:diff", "Show what differs between a source and the cluster."),
    "sync": ("gitops.cli.sync:sync", "Make the cluster match a source (apply, prune, wait)."),
    "sandbox": ("gitops.cli.sandbox:sandbox", "Run or reset the embedded sandbox API server."),
    "agent": ("gitops.cli.agent:agent", "Run the in-cluster agent that keeps applications converged."),
    "action": ("gitops.cli.action:action", "Run the GitHub Action's steps (used by action.yml)."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module_name, _, attribute = COMMANDS[cmd_name][0].partition(":")
        return getattr(importlib.import_module(module_name), attribute)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, short_help) for name, (_, short_help) in sorted(COMMANDS.items())])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gitops")
@click.option("-v", "--verbose", count=True, help="More logging on stderr (-v info, -vv debug).")
def cli(verbose: int) -> None:
    """Declarative GitOps: render a Git repository of manifests, diff it against a cluster, sync it."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")


def main(argv: list[str] | None = None) -> None:
    """Console entry point: every GitopsError becomes one line on stderr (one per problem for
    rendering errors) and its exit code."""
    # A plan of thousands of objects allocates millions of containers and frees few cycles: at the
    # default threshold (700) the collector ran about 1,000 times in a sync of 10,000 objects, an
    # eighth of its CPU time; at 50,000, a handful of times.
    gc.set_threshold(50_000, 20, 20)
    try:
        # With standalone_mode=False, click returns (does not raise) the code of a `click.exceptions.Exit`.
        code = cli.main(args=argv, prog_name="gitops", standalone_mode=False)
        if isinstance(code, int) and code != 0:
            sys.exit(code)
    except RenderError as err:
        for problem in err.problems or [err]:
            click.echo(f"error: {problem}", err=True)
        sys.exit(err.exit_code)
    except GitopsError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(err.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except click.exceptions.Exit as err:
        sys.exit(err.exit_code)
    sys.exit(0)
