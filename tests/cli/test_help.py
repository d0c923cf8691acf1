"""Help and usage errors as a user of a native command line expects them: no Python type names,
every choice listed, whole command descriptions, and click's own errors (missing argument, bad
choice, unknown option, bad number) in the documented one-line form with exit 2."""
from __future__ import annotations

import re

import pytest

from helpers import invoke
from microconv.cli import app
from microconv.cli.app import SHORT_HELP
from microconv.render import Format

COMMANDS = list(SHORT_HELP)
FORMATS = list(Format.__members__)        # table, csv, json, markdown, html (and svg)


def test_every_command_is_listed():
    import typer.main

    assert sorted(typer.main.get_command(app).commands) == sorted(COMMANDS)


@pytest.mark.parametrize("command", [[]] + [[c] for c in COMMANDS], ids=["microconv"] + COMMANDS)
def test_help_has_no_type_names_and_nothing_cut(runner, command):
    result = invoke(runner, *command, "--help")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "<" not in out                                  # <list[Path]>, <str>, <int range>, <path>
    assert "…" not in out and not re.search(r"(?<!EVENTS)(?<!\])\.\.\.", out)   # nothing cut


def test_analyze_help_shows_metavars_and_every_choice(runner):
    out = invoke(runner, "analyze", "--help").stdout
    assert "Usage: root analyze [OPTIONS] EVENTS..." in out                  # CliRunner's program name
    for shown in ("-c, --config CONFIG", "-o, --output FILE", "--funnel NAME", "--since WHEN", "--as-of DATE",
                  "--by PROPERTY", "--top N", "--macro NAME", "--control VALUE", "--output-dir DIR",
                  f"-f, --format [{'|'.join(FORMATS)}]", "--trend [day|week|month]",
                  "--input-format [csv|parquet|jsonl]",
                  "--report [all|funnels|micro|time|breakdown|breakdown_steps|trend]",
                  "--attribution [first_touch|last_touch|first_defined|last_defined|step:N]"):
        assert shown in out, shown


def test_attribution_choices_are_what_the_parser_takes():
    from microconv.cli.options import ATTRIBUTIONS
    from microconv.config.model import parse_attribution

    assert [parse_attribution(a.replace("N", "2")) for a in ATTRIBUTIONS] == [
        "first_touch", "last_touch", "first_defined", "last_defined", "step:2"]


def test_top_level_lists_each_command_whole(runner):
    out = invoke(runner, "--help").stdout
    for command, line in SHORT_HELP.items():
        assert f"  {command:<9} {line}\n" in out


def _one_error_line(result, code=2) -> str:
    assert result.exit_code == code and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("microconv: error: "), result.stderr
    assert "Usage:" not in result.stderr and "Try '" not in result.stderr
    return lines[0]


@pytest.mark.parametrize("args,line", [
    (["analyze"], "microconv: error: Missing argument 'EVENTS...' (usage: root analyze [OPTIONS] EVENTS...)"),
    (["analyze", "e.csv", "-f", "xml"], "microconv: error: Invalid value for '--format' / '-f': 'xml' is not one of "
     + ", ".join(map(repr, FORMATS)) + " (see root analyze --help)"),
    (["analyze", "e.csv", "--topp", "3"], "microconv: error: No such option: --topp (did you mean --top?)"),
    (["analyze", "e.csv", "--top", "many"], "microconv: error: Invalid value for '--top': not a whole number "
     "(see root analyze --help)"),
    (["analyze", "e.csv", "--trend", "day", "--trend", "week"], "microconv: error: Invalid value for '--trend': "
     "given twice, it takes one value (repeat only the options that say repeatable) (see root analyze --help)"),
    (["paths", "e.csv"], "microconv: error: Missing option '--funnel' (usage: root paths [OPTIONS] EVENTS...)"),
    (["nosuch"], "microconv: error: No such command 'nosuch' (see root --help)"),
    (["--show-completion", "tcsh"], "microconv: error: Invalid value for '--show-completion': 'tcsh' is not one of "
     "'bash', 'zsh', 'fish', 'powershell', 'pwsh' (see root --help)"),
])
def test_click_errors_are_one_documented_line(runner, args, line):
    assert _one_error_line(invoke(runner, *args)) == line


def test_missing_config_suggests_init(runner, tmp_path):
    (tmp_path / "e.csv").write_text("user_id,event_name,timestamp\nu1,A,2026-01-01\n")
    line = _one_error_line(invoke(runner, "analyze", "e.csv", cwd=tmp_path), code=3)
    assert line.startswith("microconv: error: config file not found: funnels.yaml (")
    assert "microconv init EVENTS" in line


def test_bare_microconv_shows_the_help(runner):
    result = invoke(runner)
    assert result.exit_code == 2 and "Commands:" in result.stderr and "microconv: error" not in result.stderr
