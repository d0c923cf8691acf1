"""Event matchers (docs/semantics.md section 2): names, every `where` operator, and unknown names."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from builders import events_of

import microconv
from microconv.config import Condition
from microconv.engine.matching import condition_mask, match_mask, unknown_event_names

# Two property columns as they come out of a CSV: text (object) and numbers (float, NaN = empty).
TEXT = pd.Series(["3", "apple", None, "10", "Apple pie"], dtype=object)
NUMS = pd.Series([3.0, 4.0, np.nan, 10.0, 100.0])


def cond(spec) -> Condition:
    return Condition.model_validate(spec)


def mask(values: pd.Series, spec) -> list[bool]:
    return condition_mask(values, cond(spec)).tolist()


T, F = True, False


@pytest.mark.parametrize(("values", "spec", "expected"), [
    # eq: exact, case-sensitive; "3" and 3 are the same value
    (TEXT, {"eq": "apple"}, [F, T, F, F, F]),
    (TEXT, {"eq": 3}, [T, F, F, F, F]),
    (TEXT, {"eq": 3.0}, [T, F, F, F, F]),
    (NUMS, {"eq": "3"}, [T, F, F, F, F]),
    (NUMS, {"eq": 3}, [T, F, F, F, F]),
    (NUMS, {"eq": "apple"}, [F, F, F, F, F]),
    # ne / not_in: a missing value never matches
    (TEXT, {"ne": "apple"}, [T, F, F, T, T]),
    (NUMS, {"ne": 3}, [F, T, F, T, T]),
    (TEXT, {"not_in": ["apple", "3"]}, [F, F, F, T, T]),
    (NUMS, {"not_in": [3, "10"]}, [F, T, F, F, T]),
    # in: any of the values, numbers and strings alike
    (TEXT, {"in": ["apple", 10]}, [F, T, F, T, F]),
    (NUMS, {"in": ["3", 10]}, [T, F, F, T, F]),
    # contains: a substring; regex: a search anywhere in the value
    (TEXT, {"contains": "pple"}, [F, T, F, F, T]),
    (TEXT, {"regex": "^[0-9]+$"}, [T, F, F, T, F]),
    (TEXT, {"regex": "^[Aa]pple"}, [F, T, F, F, T]),
    # gt/gte/lt/lte compare numbers; text that is not a number fails
    (NUMS, {"gt": 4}, [F, F, F, T, T]),
    (NUMS, {"gte": 4}, [F, T, F, T, T]),
    (NUMS, {"lt": 10}, [T, T, F, F, F]),
    (NUMS, {"lte": 10}, [T, T, F, T, F]),
    (TEXT, {"gt": 3}, [F, F, F, T, F]),
    # exists
    (TEXT, {"exists": True}, [T, T, F, T, T]),
    (TEXT, {"exists": False}, [F, F, T, F, F]),
    (NUMS, {"exists": False}, [F, F, T, F, F]),
    # several operators in one condition: all must hold
    (NUMS, {"gt": 3, "lte": 10}, [F, T, F, T, F]),
    (TEXT, {"contains": "pple", "ne": "apple"}, [F, F, F, F, T]),
    (NUMS, {"gte": 0, "not_in": [4, 100]}, [T, F, F, T, F]),
])
def test_operator(values, spec, expected):
    assert mask(values, spec) == expected


def test_contains_is_literal_and_regex_is_not():
    urls = pd.Series(["/pricing", "/a.b", "/axb", "/files/ebook-1.pdf?x=1", "/files/ebook-1.txt"])
    assert mask(urls, {"contains": "a.b"}) == [F, T, F, F, F]
    assert mask(urls, {"regex": "a.b"}) == [F, T, T, F, F]
    assert mask(urls, {"regex": r"ebook-.*\.pdf"}) == [F, F, F, T, F]


def test_boolean_column():
    flags = pd.Series([True, False])
    assert mask(flags, {"eq": True}) == [T, F]
    assert mask(flags, {"ne": True}) == [F, T]
    text = pd.Series(["true", "false"], dtype=object)  # a JSON-ish text column
    assert mask(text, {"eq": True}) == [T, F]


ALL_BUT_EXISTS = [
    {"eq": "x"}, {"eq": 1}, {"ne": "x"}, {"ne": 1}, {"in": ["x", 1]}, {"not_in": ["x"]},
    {"contains": ""}, {"regex": ".*"}, {"gt": -1e9}, {"gte": 0}, {"lt": 1e9}, {"lte": 0}, {"exists": True},
]


@pytest.mark.parametrize("spec", ALL_BUT_EXISTS, ids=lambda s: next(iter(s)))
@pytest.mark.parametrize("missing", [pd.Series([None], dtype=object), pd.Series([np.nan]),
                                     pd.Series([pd.NA], dtype="string")], ids=["None", "NaN", "NA"])
def test_missing_value_fails_every_operator(missing, spec):
    assert mask(missing, spec) == [F]


@pytest.mark.parametrize("missing", [pd.Series([None], dtype=object), pd.Series([np.nan])], ids=["None", "NaN"])
def test_missing_value_satisfies_exists_false(missing):
    assert mask(missing, {"exists": False}) == [T]
    assert mask(missing, {"exists": False, "ne": "x"}) == [F]  # and only that


def test_equality_on_object_columns_of_floats_and_bools():
    assert mask(pd.Series([3.0, None], dtype=object), {"eq": 3}) == [T, F]
    assert mask(pd.Series([True, False, None], dtype=object), {"eq": True}) == [T, F, F]


def test_equality_on_text_numbers_with_a_decimal_point():
    prices = pd.Series(["3.0", "free", "3"], dtype=object)  # a CSV column that is not all numbers
    assert mask(prices, {"eq": 3}) == [T, F, T]
    assert mask(prices, {"in": [3]}) == [T, F, T]


# --- match_mask: event names and `where` together ----------------------------------------------

def events_frame(names: list[str], **props: list) -> pd.DataFrame:
    """A canonical frame of one event per name, one second apart, with the given property columns."""
    cfg = microconv.parse_config({
        "columns": {"user": "user_id", "event": "event_name", "timestamp": "timestamp"},
        "conversions": {"any": {"event": names[0]}},
    })
    rows = [(f"u{i}", i, name, *(values[i] for values in props.values())) for i, name in enumerate(names)]
    return events_of(rows, cfg, list(props)).frame


def matcher(spec: dict):
    """The conversion ``spec`` as the config would build it (shorthand expanded)."""
    return microconv.parse_config({"conversions": {"c": spec}}).conversions["c"]


NAMES = ["view_item", "add_to_basket", "add_to_cart", "purchase", "add_to_basket", "Purchase"]


@pytest.mark.parametrize(("event", "expected"), [
    ("purchase", [F, F, F, T, F, F]),  # names are case-sensitive
    (["add_to_cart", "add_to_basket"], [F, T, T, F, T, F]),
    (["add_to_cart", "never_seen"], [F, F, T, F, F, F]),
    ("never_seen", [F, F, F, F, F, F]),
])
def test_event_names(event, expected):
    assert match_mask(events_frame(NAMES), matcher({"event": event})).tolist() == expected


def test_names_and_where_are_anded():
    frame = events_frame(
        ["page_view", "page_view", "page_view", "purchase", "purchase", "purchase"],
        channel=["facebook", "tiktok", "email", "facebook", None, "facebook"],
        revenue=[np.nan, np.nan, np.nan, 50.0, 150.0, 20000.0],
    )
    social = matcher({"event": "page_view", "where": {"channel": ["facebook", "tiktok"]}})  # bare list = in
    assert match_mask(frame, social).tolist() == [T, T, F, F, F, F]
    fb = matcher({"event": ["page_view", "purchase"], "where": {"channel": "facebook"}})  # scalar = eq
    assert match_mask(frame, fb).tolist() == [T, F, F, T, F, T]
    big = matcher({"event": "purchase", "where": {"revenue": {"gt": 100, "lte": 10000}}})
    assert match_mask(frame, big).tolist() == [F, F, F, F, T, F]
    two_props = matcher({"event": "purchase", "where": {"channel": {"exists": True}, "revenue": {"lt": 100}}})
    assert match_mask(frame, two_props).tolist() == [F, F, F, T, F, F]
    no_channel = matcher({"event": "purchase", "where": {"channel": {"exists": False}}})
    assert match_mask(frame, no_channel).tolist() == [F, F, F, F, T, F]


def test_numbers_read_as_text_match_numeric_conditions():
    frame = events_frame(["scroll", "scroll", "scroll"], percent=["25", "75", "90"])
    assert match_mask(frame, matcher({"event": "scroll", "where": {"percent": {"gte": 75}}})).tolist() == [F, T, T]
    assert match_mask(frame, matcher({"event": "scroll", "where": {"percent": 75}})).tolist() == [F, T, F]


# --- unknown_event_names ------------------------------------------------------------------------

SEEN = pd.Index(["view_item", "add_to_cart", "purchase", "checkout"])


def names_config(conversions: dict, funnels: dict | None = None):
    return microconv.parse_config({"conversions": conversions, "funnels": funnels or {}})


def test_close_typo_is_an_error_with_did_you_mean():
    errors, warnings = unknown_event_names(names_config({"view": {"event": ["view_itme"]}}), SEEN)
    assert warnings == []
    assert len(errors) == 1
    assert errors[0].message == "event 'view_itme' never occurs in the data"
    assert errors[0].hint == "did you mean 'view_item'?"
    assert errors[0].where == "conversions.view.event.0"


def test_absent_name_without_look_alike_is_a_warning():
    errors, warnings = unknown_event_names(names_config({"refund": {"event": ["refund"]}}), SEEN)
    assert errors == []
    assert [(w.message, w.hint) for w in warnings] == [("event 'refund' never occurs in the data", None)]


def test_alias_beside_a_name_that_occurs_is_fine():
    cfg = names_config({"cart": {"event": ["add_to_basket", "add_to_cart"]},
                        "cart_typo": {"event": ["add_to_crat", "purchase"]}})
    assert unknown_event_names(cfg, SEEN) == ([], [])


def test_every_name_of_an_unmatched_list_is_reported():
    cfg = names_config({"both": {"event": ["view_itme", "zzz"]}})
    errors, warnings = unknown_event_names(cfg, SEEN)
    assert [(e.message, e.where) for e in errors] == [
        ("event 'view_itme' never occurs in the data", "conversions.both.event.0")]
    assert [(w.message, w.where) for w in warnings] == [
        ("event 'zzz' never occurs in the data", "conversions.both.event.1")]


def test_inline_funnel_steps_are_checked_and_references_are_not():
    cfg = names_config(
        {"view": {"event": "view_item"}},
        {"f": {"steps": ["view", {"event": ["chekout"]}, {"event": "purchase"}]}},
    )
    errors, warnings = unknown_event_names(cfg, SEEN)
    assert [(e.message, e.where, e.hint) for e in errors] == [
        ("event 'chekout' never occurs in the data", "funnels.f.steps.1.event.0", "did you mean 'checkout'?")]
    assert warnings == []


def test_names_from_a_loaded_frame():
    frame = events_frame(["view_item", "purchase"])
    cfg = names_config({"view": {"event": "view_itme"}, "buy": {"event": "purchase"}})
    errors, warnings = unknown_event_names(cfg, frame["event"].cat.categories)
    assert [e.hint for e in errors] == ["did you mean 'view_item'?"]
    assert warnings == []
