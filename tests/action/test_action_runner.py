"""The runner side channels: outputs file, step summary, workflow commands. No cluster."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from gitops.action.runner import Runner, command, escape_data, escape_property, output_record
from tests.action.github_standin import parse_github_output


def test_messages_escape_percent_and_line_breaks() -> None:
    assert escape_data("100% done\r\nnext") == "100%25 done%0D%0Anext"


def test_properties_also_escape_colon_and_comma() -> None:
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"


def test_error_command_carries_file_and_line() -> None:
    line = command("error", "bad: value\nsecond", file="deploy/web,1.yaml", line=7)
    assert line == "::error file=deploy/web%2C1.yaml,line=7::bad: value%0Asecond"


def test_command_without_properties() -> None:
    assert command("add-mask", "s3cr3t") == "::add-mask::s3cr3t"


def test_multiline_output_survives_the_runners_parser(tmp_path: Path) -> None:
    out = tmp_path / "output"
    value = "line one\nname<<EOF\nEOF\n=tricky=\n"
    Runner(output_file=out).set_outputs({"report": value, "in-sync": "true"})
    Runner(output_file=out).set_outputs({"creates": "3"})
    assert parse_github_output(out.read_text()) == {"report": value, "in-sync": "true", "creates": "3"}


def test_delimiter_never_occurs_in_the_value() -> None:
    record = output_record("x", "abc ghadelimiter_fixed abc", delimiter="ghadelimiter_fixed")
    delimiter = record.split("\n", 1)[0].split("<<", 1)[1]
    assert delimiter != "ghadelimiter_fixed"
    assert delimiter.startswith("ghadelimiter_")


def test_delimiters_are_random() -> None:
    assert output_record("x", "v") != output_record("x", "v")


@pytest.mark.parametrize("name", ["", "a\nb", "a<<b"])
def test_bad_output_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError):
        output_record(name, "v")


def test_summary_is_appended(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    Runner(summary_file=summary).append_summary("## gitops")
    assert summary.read_text() == "earlier step\n## gitops\n"


def test_mask_covers_every_line_of_a_multiline_value() -> None:
    stream = io.StringIO()
    Runner(stream=stream).mask("first-line\n  second-line  \n")
    assert stream.getvalue().splitlines() == ["::add-mask::first-line", "::add-mask::second-line"]


def test_from_env_reads_the_runner_files(tmp_path: Path) -> None:
    runner = Runner.from_env({"GITHUB_OUTPUT": str(tmp_path / "o"), "GITHUB_STEP_SUMMARY": str(tmp_path / "s")})
    assert (runner.output_file, runner.summary_file) == (tmp_path / "o", tmp_path / "s")
