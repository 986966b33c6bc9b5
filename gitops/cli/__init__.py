"""The `gitops` command line: a thin layer that turns flags into options, calls the engine, prints results.

Each command family lives in its own module and is imported only when invoked,
so that `gitops render` does not pay for importing the Kubernetes client.
"""

from __future__ import annotations

import importlib
import logging
import sys
import traceback

import click

from gitops import __version__
from gitops.cli import interrupts
from gitops.errors import EXIT_ERROR, GitopsError, RenderError
from gitops.objects import printable

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


_verbosity = 0
"""How many ``-v`` the command line gave (``-vv``: tracebacks of internal errors too)."""


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
    global _verbosity
    _verbosity = verbose
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    if verbose == 0:
        # urllib3 warns of every retry ("Retrying (Retry(total=1, ...))"); the error that follows
        # says it all in one line. -v shows them.
        logging.getLogger("urllib3").setLevel(logging.ERROR)


def main(argv: list[str] | None = None) -> None:
    """Console entry point, with one rule for every failure: one line on stderr (one per problem
    for rendering errors), the documented exit code, and never a traceback at default verbosity.
    An unexpected exception is exit 2, ``internal error: ...``; ``-vv`` adds its traceback."""
    try:
        with interrupts.raising():
            # With standalone_mode=False, click returns (does not raise) the code of a `click.exceptions.Exit`.
            code = cli.main(args=argv, prog_name="gitops", standalone_mode=False)
        if isinstance(code, int) and code != 0:
            sys.exit(code)
    except RenderError as err:
        for problem in err.problems or [err]:
            _error(str(problem))
        sys.exit(err.exit_code)
    except GitopsError as err:
        _error(str(err))
        sys.exit(err.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        _error("interrupted (SIGINT)")
        sys.exit(130)
    except interrupts.Interrupted as err:
        _error(f"interrupted ({err})")
        sys.exit(err.exit_code)
    except click.UsageError as err:
        command = err.ctx.command_path if err.ctx is not None else "gitops"
        _error(f"{err.format_message()} (see '{command} --help')")
        sys.exit(err.exit_code)
    except click.ClickException as err:
        _error(err.format_message())
        sys.exit(err.exit_code)
    except click.exceptions.Exit as err:
        sys.exit(err.exit_code)
    except Exception as err:
        if _verbosity >= 2:
            traceback.print_exception(err, file=sys.stderr)
        _error(f"internal error: {type(err).__name__}: {err} (run with -vv for the traceback)")
        sys.exit(EXIT_ERROR)
    sys.exit(0)


def _error(message: str) -> None:
    """``error: MESSAGE`` on one line: whatever a file or object name holds, it cannot break the line."""
    click.echo(f"error: {printable(message)}", err=True)
