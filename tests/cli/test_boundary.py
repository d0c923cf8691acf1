"""The error boundary: the library's OptionError comes out under the flag the user typed, with the
error's exit code; --debug re-raises; FLAG_OF is read off the option declarations."""
from __future__ import annotations

import typing

import pytest

import microconv
from helpers import TINY_CONFIG, TINY_EVENTS, invoke
from microconv.cli import app
from microconv.cli import options
from microconv.cli.boundary import flag_of
from microconv.errors import OPTION, ExitCode, OptionError

COMMANDS = [info.callback.__name__ for info in app.registered_commands]


@pytest.fixture
def tiny(tmp_path):
    (tmp_path / "f.yaml").write_text(TINY_CONFIG)
    (tmp_path / "e.csv").write_text(TINY_EVENTS)
    return tmp_path


def _raising(error):
    def raise_it(*args, **kwargs):
        raise error
    return raise_it


@pytest.mark.parametrize("option, flag", [("trend", "--trend"), ("by", "--by"), ("funnels", "--funnel"),
                                          ("as_of", "--as-of"), ("since", "--since"), ("until", "--until"),
                                          ("top", "--top"), ("page", "--page"), ("mature_only", "--mature-only")])
def test_flag_of_the_library_options(option, flag):
    assert options.FLAG_OF[option] == flag == flag_of(option)


def test_an_option_without_a_flag_of_its_own_is_spelled_from_its_name():
    assert "no_such_option" not in options.FLAG_OF
    assert flag_of("no_such_option") == "--no-such-option"


def test_flag_of_is_read_off_the_declarations():
    """Each entry is the flag of an alias declared in cli.options: no second list to keep in step."""
    declared = set()
    for alias in vars(options).values():
        if typing.get_origin(alias) is typing.Annotated:
            info = typing.get_args(alias)[1]
            declared |= {d for d in (info.default, *(info.param_decls or ())) if isinstance(d, str) and d.startswith("--")}
    assert set(options.FLAG_OF.values()) <= declared
    with pytest.raises(TypeError):
        options.FLAG_OF["trend"] = "--other"                     # read-only


@pytest.mark.parametrize("command, args", [("analyze", ["e.csv"]), ("check", ["e.csv"]), ("validate", []),
                                           ("explain", ["e.csv", "--user", "u1"]), ("paths", ["e.csv", "--funnel", "abc"])])
def test_an_option_error_under_any_command_names_the_flag(runner, tiny, monkeypatch, command, args):
    error = OptionError(f"{OPTION} 'fortnight' is not one of day, week, month", option="trend",
                        hint=f"try {OPTION} week")
    monkeypatch.setattr(microconv, "load_config", _raising(error))
    result = invoke(runner, command, *args, "-c", "f.yaml", cwd=tiny)
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr == "microconv: error: --trend 'fortnight' is not one of day, week, month (try --trend week)\n"
    assert result.stdout == ""


def test_an_option_error_of_the_data_keeps_its_exit_code(runner, tiny, monkeypatch):
    error = OptionError(f"no events before {OPTION} 2020-01-01", option="as_of", exit_code=ExitCode.DATA)
    monkeypatch.setattr(microconv, "load_config", _raising(error))
    result = invoke(runner, "validate", "-c", "f.yaml", cwd=tiny)
    assert result.exit_code == ExitCode.DATA
    assert result.stderr == "microconv: error: no events before --as-of 2020-01-01\n"


def test_init_goes_through_the_boundary_too(runner, tiny, monkeypatch):
    import microconv.init
    monkeypatch.setattr(microconv.init, "scaffold", _raising(OptionError(f"{OPTION} is odd", option="input_format")))
    result = invoke(runner, "init", "e.csv", "-o", "-", cwd=tiny)
    assert (result.exit_code, result.stderr) == (ExitCode.USAGE, "microconv: error: --input-format is odd\n")


def test_debug_re_raises_the_library_error(runner, tiny, monkeypatch):
    monkeypatch.setattr(microconv, "load_config", _raising(OptionError(f"{OPTION} bad", option="by")))
    with pytest.raises(OptionError) as raised:
        invoke(runner, "validate", "-c", "f.yaml", "--debug", cwd=tiny)
    assert str(raised.value) == "by bad"                             # the library's own words


def test_a_bug_is_an_internal_error_with_a_hint(runner, tiny, monkeypatch):
    monkeypatch.setattr(microconv, "load_config", _raising(KeyError("x")))
    result = invoke(runner, "validate", "-c", "f.yaml", cwd=tiny)
    assert result.exit_code == ExitCode.INTERNAL
    assert result.stderr.startswith("microconv: error: internal error: KeyError: 'x' (a bug; re-run with --debug")


def test_real_option_errors_from_the_library_name_flags(runner, tiny):
    since = invoke(runner, "explain", "e.csv", "-c", "f.yaml", "-u", "u1", "--until", "soon", cwd=tiny)
    assert since.exit_code == ExitCode.USAGE
    assert since.stderr.startswith("microconv: error: --until 'soon' is not a date, date-time or duration (use e.g.")
    early = invoke(runner, "analyze", "e.csv", "-c", "f.yaml", "--as-of", "2025-01-01", "-q", cwd=tiny)
    assert early.exit_code == ExitCode.DATA
    assert early.stderr.startswith("microconv: error: no events before --as-of 2025-01-01 (the data starts at")


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_every_command_has_help_ending_with_its_example_and_the_exit_codes(runner, command, flag):
    result = invoke(runner, command, flag)
    assert result.exit_code == 0 and result.stderr == ""
    assert result.stdout.startswith(f"Usage: root {command} [OPTIONS]")     # CliRunner's program name
    assert f"Example: microconv {command} " in result.stdout
    assert "Exit codes: 0 ok" in result.stdout


def test_help_lists_the_commands_in_order(runner):
    assert COMMANDS == ["analyze", "check", "validate", "explain", "init", "paths", "users", "pages", "drivers"]
    result = invoke(runner, "--help")
    assert result.exit_code == 0
    commands = result.stdout.split("Commands:\n")[1].split("\n\n")[0]
    assert [line.split()[0] for line in commands.splitlines()] == COMMANDS
