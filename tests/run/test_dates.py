"""--since/--until (semantics 4.7): dates in the config's zone, whole days for --until, relative to the data's end."""
from __future__ import annotations

import pandas as pd
import pytest

from microconv.run.dates import entry_bound
from microconv.errors import OptionError, UsageError

LAST = pd.Timestamp("2026-10-31T22:11:20Z")


def bound(value, until=False, tz="UTC"):
    return entry_bound(value, last_ts=LAST, tz=tz, until=until)


def test_a_date_is_midnight_and_until_includes_the_whole_day():
    assert bound("2026-10-01") == pd.Timestamp("2026-10-01T00:00Z")
    assert bound("2026-10-01", until=True) == pd.Timestamp("2026-10-02T00:00Z")


def test_dates_are_read_in_the_config_timezone():
    assert bound("2026-10-01", tz="Europe/Berlin") == pd.Timestamp("2026-09-30T22:00Z")
    # the day the clocks go back has 25 hours: --until includes all of it
    assert bound("2026-10-25", until=True, tz="Europe/Berlin") == pd.Timestamp("2026-10-25T23:00Z")


def test_a_datetime_is_an_instant():
    assert bound("2026-10-01T12:30", until=True) == pd.Timestamp("2026-10-01T12:30Z")
    assert bound("2026-10-01T12:30+02:00") == pd.Timestamp("2026-10-01T10:30Z")


def test_relative_values_count_back_from_the_end_of_the_last_day():
    assert bound("7d") == pd.Timestamp("2026-10-25T00:00Z")          # Oct 25..31: seven days
    assert bound("1d", until=True) == pd.Timestamp("2026-10-31T00:00Z")  # leaves out Oct 31
    assert bound("7d", tz="America/New_York") == pd.Timestamp("2026-10-25T04:00Z")  # last day there: Oct 31


def test_nonsense_is_a_usage_error_with_examples():
    with pytest.raises(UsageError) as err:
        bound("last week")
    assert "7d" in err.value.hint
    assert bound(None) is None


def test_the_error_names_the_library_option_not_a_flag():
    with pytest.raises(OptionError) as err:
        entry_bound("soon", last_ts=LAST, tz="UTC", until=True, option="as_of")
    assert err.value.option == "as_of" and isinstance(err.value, UsageError)
    assert str(err.value).startswith("as_of 'soon' is not a date, date-time or duration (use e.g.")
    assert str(err.value.named("--as-of")).startswith("--as-of 'soon' is not a date")


def test_any_date_is_clamped_to_the_timestamps_range():
    first, last = pd.Timestamp.min.tz_localize("UTC"), pd.Timestamp.max.tz_localize("UTC")
    assert bound("9999-12-31", until=True) == last                                # was OutOfBoundsDatetime
    assert bound("0001-01-01") == first
    assert bound("9999-12-31T23:59", until=True, tz="America/New_York") == last  # past Python's year 9999 there
    assert bound("0001-01-01T00:00+05:00") == first
    assert bound("1000000000d") == first                                          # a look-back of any length
    assert bound("2262-04-11", until=True).value == last.value                    # .value works: nanoseconds
