"""`export --help` shows every option's default and groups the options (issue 15)."""

import pytest
from click.testing import CliRunner

from launcher.cli import cli
from launcher.cli.export import HELP_SECTIONS
from launcher.options import ExportRequest

pytestmark = pytest.mark.unit


def test_export_help_is_sectioned_and_shows_defaults():
    text = CliRunner().invoke(cli, ["export", "--help"], terminal_width=200).output
    starts = [text.index(f"\n{title}:\n") for title in HELP_SECTIONS]
    assert starts == sorted(starts)  # in the order a user decides them
    assert "--consistent-read / --no-consistent-read" in text and "[default: off]" in text
    assert "[default: 0.5]" in text and "[default: m5.xlarge]" in text
    # every option of the request is in a section of its own choosing, none left in "Other options"
    other = text[text.index("\nOther options:\n") :]
    assert not [f for f in ExportRequest.model_fields if f"--{f.replace('_', '-')} " in other]


def test_help_shows_each_flags_type_and_the_values_this_command_takes():
    """Issue 24: an optional Annotated number showed as TEXT; render's --runner offered local and auto,
    which it refuses, under a default it does not use; iam-policy's runners were only prose."""
    export = CliRunner().invoke(cli, ["export", "--help"], terminal_width=200).output
    assert "--max-wait-seconds FLOAT " in export and "--runner local|emr|emr-serverless|glue|auto\n" in export
    render = CliRunner().invoke(cli, ["render", "--help"], terminal_width=200).output
    assert "--runner emr|emr-serverless|glue\n" in render and "[default: emr]" in render and "[default: local]" not in render
    iam = CliRunner().invoke(cli, ["iam-policy", "--help"], terminal_width=200).output
    assert "--runner local|emr|emr-serverless|glue|native|restore\n" in iam


def test_every_commands_help_marks_defaults_and_required_options_one_way():
    """Issue 24.10: iam-policy said "[required]" (click's), the layered options "(required)" and
    "(default: x)". Every command now uses click's marks."""
    import click

    def commands(group: click.Group, path: list[str]):
        for name, cmd in group.commands.items():
            yield [*path, name]
            if isinstance(cmd, click.Group):
                yield from commands(cmd, [*path, name])

    seen = 0
    for path in commands(cli, []):
        text = CliRunner().invoke(cli, [*path, "--help"], terminal_width=400).output
        assert "(default:" not in text and "(required)" not in text, (path, text)
        seen += "[required]" in text
    assert seen >= 2  # export's layered --table ... and iam-policy's click-checked --runner
