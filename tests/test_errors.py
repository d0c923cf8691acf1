"""OptionError names a library option; only the command line writes it as a flag."""
from __future__ import annotations

from microconv.errors import OPTION, ExitCode, OptionError


def test_the_library_names_the_option_and_the_cli_the_flag():
    error = OptionError(f"{OPTION} 'fortnight' is not one of day, week, month", option="trend",
                        hint=f"try {OPTION} week")
    assert str(error) == "trend 'fortnight' is not one of day, week, month (try trend week)"
    flagged = error.named("--trend")
    assert str(flagged) == "--trend 'fortnight' is not one of day, week, month (try --trend week)"
    assert flagged.option == "trend" and flagged.exit_code == error.exit_code == ExitCode.USAGE


def test_where_is_kept_and_a_missing_hint_stays_missing():
    error = OptionError(f"{OPTION} must be a date", option="as_of", where="cli")
    assert str(error.named("--as-of")) == "cli: --as-of must be a date"
    assert error.named("--as-of").hint is None


def test_an_option_error_of_the_data_keeps_exit_code_4_when_named():
    error = OptionError(f"no events before {OPTION} 2020-01-01", option="as_of", exit_code=ExitCode.DATA)
    assert error.exit_code == ExitCode.DATA and isinstance(error.exit_code, ExitCode)
    flagged = error.named("--as-of")
    assert str(flagged) == "no events before --as-of 2020-01-01"
    assert flagged.exit_code == ExitCode.DATA and flagged.option == "as_of"
    assert OptionError(f"{OPTION}", option="top").exit_code == ExitCode.USAGE    # the class's, not changed by the above


def test_a_value_that_spells_the_placeholder_stays_as_typed():
    """--since '{option}x' must read back as typed, not with the flag spliced into it."""
    error = OptionError(f"{OPTION} {'{option}x'!r} is not a date", option="since").named("--since")
    assert str(error) == "--since '{option}x' is not a date"
