"""Property-based: any option value on the command line ends in a run or in one clear error line
with a documented exit code, never in an internal error or a traceback."""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitops.cli import main
from gitops.diff import ignore_rules
from gitops.errors import ConfigError

numbers = st.one_of(
    st.text(max_size=12),
    st.integers().map(str),
    st.floats().map(repr),
    st.sampled_from(["nan", "NaN", "inf", "-inf", "1e-300", "1e309", "-0", "0", "0x10", "1_000", " 5 ", ""]),
)
durations = st.one_of(numbers, st.from_regex(r"\A-?\d{0,4}(\.\d{0,3})?(ms|s|m|h|d|us)?(\d{0,3}(h|m|s|ms))?\Z"))
names = st.one_of(st.text(max_size=70), st.from_regex(r"\A[a-z0-9.-]{0,70}\Z"), st.sampled_from(["", "Bad_NS", "-a", "a" * 64]))

OPTIONS = {
    "--timeout": durations,
    "--qps": numbers,
    "--burst": numbers,
    "--concurrency": numbers,
    "--max-prune": numbers,
    "--namespace": names,
    "--applyset": names,
    "--ignore": st.text(max_size=40),
    "--field-manager": st.text(max_size=20),
    "--output": st.one_of(st.text(max_size=10), st.sampled_from(["json", "yaml", "markdown", "text"])),
    "--revision": st.text(max_size=20),
    "--path": st.text(max_size=40),
    "--context": st.text(max_size=20),
}
FLAGS = ["--dry-run", "--exit-code", "--prune", "--wait", "--sandbox", "--allow-empty", "--confirm-prune"]

option_lists = st.lists(
    st.one_of(
        st.sampled_from(sorted(OPTIONS)).flatmap(lambda name: OPTIONS[name].map(lambda value: [name, value])),
        st.sampled_from(FLAGS).map(lambda flag: [flag]),
    ),
    max_size=5,
)


def run_main(args: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            main(args)
        except SystemExit as exit:
            return int(exit.code or 0), err.getvalue()
    raise AssertionError("main() returned without exiting")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["sync", "diff"]), option_lists)
def test_any_options_end_in_a_clear_error(command: str, options: list[list[str]]) -> None:
    """The source does not exist, so every run stops before any cluster: at an option (2) or at the
    source (3), with one ``error:`` line."""
    with tempfile.TemporaryDirectory() as directory:
        args = [command, str(Path(directory) / "missing"), *[part for option in options for part in option]]
        code, err = run_main(args)
    assert code in (2, 3), (args, code, err)
    assert "Traceback" not in err and "internal error" not in err, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_any_ignore_rule_parses_or_is_a_configuration_error(text: str) -> None:
    try:
        rules = ignore_rules((text,))
    except ConfigError as err:
        assert "--ignore" in str(err)
    else:
        assert len(rules) == 1
