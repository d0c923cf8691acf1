"""The breakdown's ``by`` in the config: one property or a list of them (docs/semantics.md 8.2)."""
from __future__ import annotations

import pytest

from microconv import ConfigError, parse_config

BASE = {"columns": {"user": "u", "event": "e", "timestamp": "t"}}


def breakdown_of(value):
    return parse_config({**BASE, "funnels": {"f": {"steps": [{"event": "A"}], "breakdown": value}}}).funnels["f"].breakdown


@pytest.mark.parametrize("value,by", [
    ("ch", ("ch",)), ({"by": "ch"}, ("ch",)), (["ch", "dev"], ("ch", "dev")),
    ({"by": ["ch", "dev"], "top": 3}, ("ch", "dev")), ({"by": ["event", "ch"]}, ("event", "ch")),
])
def test_by_one_or_several_properties(value, by):
    assert breakdown_of(value).by == by


@pytest.mark.parametrize("value,message", [
    ({"by": ["ch", "ch"]}, "'ch' is given twice"),
    ({"by": []}, "at least 1"),
    ({"by": ["ch", "user"]}, "cannot break down by 'user'"),
    ({"by": ["ts"]}, "cannot break down by 'ts'"),
    ({"by": ["ch", ""]}, "cannot be empty"),
])
def test_bad_by_is_a_config_error(value, message):
    with pytest.raises(ConfigError, match=message):
        breakdown_of(value)
