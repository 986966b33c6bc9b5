"""The command line's one rule for failures, for the errors nobody planned: exit 2, one line, and the
traceback only at -vv."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitops.cli import main


@pytest.fixture
def broken_renderer(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug in rendering (an exception gitops does not expect), with a message over two lines."""

    def render(*args: object, **kwargs: object) -> None:
        raise RuntimeError("something\nunexpected")

    monkeypatch.setattr("gitops.render.render", render)


def run_main(*args: str) -> int:
    with pytest.raises(SystemExit) as exit:
        main(list(args))
    return int(exit.value.code or 0)


@pytest.mark.usefixtures("broken_renderer")
def test_an_unexpected_exception_is_an_internal_error_on_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_main("validate", str(tmp_path)) == 2

    assert capsys.readouterr().err == (
        "error: internal error: RuntimeError: something\\nunexpected (run with -vv for the traceback)\n"
    )


@pytest.mark.usefixtures("broken_renderer")
def test_the_traceback_of_an_internal_error_is_shown_at_vv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_main("-vv", "validate", str(tmp_path)) == 2

    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):")
    assert err.splitlines()[-1].startswith("error: internal error: RuntimeError: ")


def test_usage_errors_are_one_line_naming_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_main("sync", "--timeout", "soon", ".") == 2

    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("error: ") and "'--timeout'" in line and "'soon' is no duration" in line
    assert line.endswith("(see 'gitops sync --help')")
