"""Pin the reference implementation to the worked examples of docs/semantics.md.

The property tests trust ``reference_funnel`` as the oracle, so it must first reproduce every
hand-checked number in the document (E1..E12), plus a few tie cases the table only implies.
"""
from __future__ import annotations

import pytest

from reference import reference_funnel

ABC = [{"A"}, {"B"}, {"C"}]
AB = [{"A"}, {"B"}]
AAB = [{"A"}, {"A"}, {"B"}]


def one_user(*events: str) -> list[tuple[str, int, str]]:
    """``"A@5"`` -> ``("u", 5, "A")``, in the order given (the input order)."""
    rows = []
    for text in events:
        name, ts = text.split("@")
        rows.append(("u", int(ts), name))
    return rows


@pytest.mark.parametrize(
    "case, steps, events, reached, times",
    [
        ("E1", ABC, ["A@0", "B@3", "C@7"], 3, [0, 3, 7]),
        ("E2", ABC, ["A@0", "X@1", "B@3", "Y@4", "C@7"], 3, [0, 3, 7]),
        ("E3", ABC, ["A@0", "C@2", "B@3"], 2, [0, 3]),
        ("E4", ABC, ["A@0", "B@3", "C@10"], 3, [0, 3, 10]),
        ("E5", ABC, ["A@0", "B@3", "C@11"], 2, [0, 3]),
        ("E6", ABC, ["A@0", "B@3", "A@5", "B@8", "C@14"], 3, [5, 8, 14]),
        ("E7", AB, ["B@5", "A@5"], 2, [5, 5]),
        ("E8", AAB, ["A@0", "B@1"], 1, [0]),
        ("E9", AAB, ["A@0", "A@0", "B@1"], 3, [0, 0, 1]),
        ("E11", AB, ["A@0", "B@4", "A@20", "B@22"], 2, [0, 4]),
    ],
)
def test_worked_example(case, steps, events, reached, times):
    result = reference_funnel(one_user(*events), steps, 10)
    assert result.reached == {"u": reached}, case
    assert result.step_times == {"u": times}, case
    assert result.users == [1] * reached + [0] * (len(steps) - reached), case


def test_e6_medians_come_from_the_attempt_that_went_furthest():
    result = reference_funnel(one_user("A@0", "B@3", "A@5", "B@8", "C@14"), ABC, 10)
    assert result.median_seconds == [None, 3.0, 6.0]


def test_e10_never_entered():
    result = reference_funnel(one_user("B@1", "C@2"), ABC, 10)
    assert result.reached == {}
    assert result.users == [0, 0, 0]
    assert result.median_seconds == [None, None, None]


def test_e11_counted_attempt_is_the_earliest():
    result = reference_funnel(one_user("A@0", "B@4", "A@20", "B@22"), AB, 10)
    assert result.median_seconds == [None, 4.0]


def test_e12_counting_users():
    rows = [("u1", 0, "A"), ("u1", 1, "B"),
            ("u2", 0, "A"),
            ("u3", 0, "A"), ("u3", 1, "B"), ("u3", 2, "C"),
            ("u4", 0, "B"), ("u4", 1, "C")]
    result = reference_funnel(rows, ABC, 10)
    assert result.reached == {"u1": 2, "u2": 1, "u3": 3}
    assert result.users == [3, 2, 1]
    users = result.users
    assert [users[0] - users[1], users[1] - users[2]] == [1, 1]
    assert users[2] / users[0] == pytest.approx(1 / 3)
    assert users[2] / users[1] == pytest.approx(1 / 2)
    assert result.median_seconds == [None, 1.0, 1.0]


def test_equal_timestamps_take_the_first_in_input_order():
    """Rule 3.3: ``B@5`` (row 2) and ``B@5`` (row 3) both fit step 2; row 2 is used, row 3 is left for step 3."""
    result = reference_funnel(one_user("A@5", "B@5", "B@5"), [{"A"}, {"B"}, {"B"}], 0)
    assert result.reached == {"u": 3}
    assert result.step_times == {"u": [5, 5, 5]}


def test_equal_timestamp_step_can_sit_earlier_in_the_file():
    """Rule 3.3 across three steps: C then B then A in the file, all at one time, still reach 3."""
    result = reference_funnel(one_user("C@2", "B@2", "A@2"), ABC, 0)
    assert result.reached == {"u": 3}


def test_no_going_back_in_time():
    """Only the timestamp tie is exempt from order: a step never matches an earlier timestamp."""
    result = reference_funnel(one_user("B@1", "A@2", "C@3"), ABC, 10)
    assert result.reached == {"u": 1}


def test_greedy_earliest_is_not_a_search():
    """Rule 3.2 is greedy: step 2 ({A,B}) takes ``A@1`` (first in the file), leaving no A for step 3,
    although taking ``B@1`` would have reached 3."""
    result = reference_funnel(one_user("A@0", "A@1", "B@1"), [{"A"}, {"A", "B"}, {"A"}], 10)
    assert result.reached == {"u": 2}


def test_window_zero_is_inclusive():
    result = reference_funnel(one_user("A@3", "B@3", "B@4"), AB, 0)
    assert result.reached == {"u": 2}
    assert result.median_seconds == [None, 0.0]


def test_median_of_an_even_count_is_the_midpoint():
    rows = [("u1", 0, "A"), ("u1", 1, "B"), ("u2", 0, "A"), ("u2", 4, "B")]
    assert reference_funnel(rows, AB, 10).median_seconds == [None, 2.5]


# Section 4 options: the case files (tests/cases/*.yaml) hold the worked examples; these pin the
# reference's own details that the case files do not show (step_times, defaults, argument checks).

def test_defaults_are_section_3():
    rows = one_user("A@0", "B@3", "A@5", "B@8", "C@14")
    plain = reference_funnel(rows, ABC, 10)
    spelled = reference_funnel(rows, ABC, 10, order="ordered", entry="best_attempt", within=None, after=None,
                               exclude=(), count="users", session_timeout=1800, since=None, until=None,
                               mature_only=False)
    assert plain == spelled
    assert plain.excluded == 0 and plain.in_progress == [0, 0, 0]


def test_strict_step_times_are_the_consecutive_events():
    result = reference_funnel(one_user("A@0", "X@1", "A@2", "B@3", "C@4"), ABC, 10, order="strict")
    assert result.step_times == {"u": [2, 3, 4]}


def test_any_order_step_times_are_sorted_first_done_times():
    """Rule 4.2.4: C first done at 1, B at 5 -> [0, 1, 5], whatever the step order."""
    result = reference_funnel(one_user("A@0", "C@1", "C@2", "B@5", "B@6"), ABC, 10, order="any")
    assert result.step_times == {"u": [0, 1, 5]}
    assert result.median_seconds == [None, 1.0, 4.0]


def test_sessions_are_keyed_by_user_and_number():
    result = reference_funnel(one_user("A@0", "B@2", "X@20", "A@40", "B@41"), AB, 10, count="sessions",
                              session_timeout=10)
    assert result.reached == {("u", 1): 2, ("u", 3): 2}
    assert result.step_times == {("u", 1): [0, 2], ("u", 3): [40, 41]}


def test_counted_attempt_is_the_earliest_clean_one():
    """Rules 3.7 and 4.4.2: A@0 is discarded by R@1, so A@3 is counted even though both reach 2."""
    rows = one_user("A@0", "R@1", "B@2", "A@3", "B@4")
    result = reference_funnel(rows, AB, 10, exclude=[({"R"}, 1, 2)])
    assert result.step_times == {"u": [3, 4]}


def test_mature_only_removes_exactly_the_in_progress_units():
    rows = [("u1", 0, "A"), ("u2", 0, "A"), ("u2", 1, "B"), ("u3", 15, "A")]
    everyone = reference_funnel(rows, AB, 10)
    mature = reference_funnel(rows, AB, 10, mature_only=True)
    assert everyone.in_progress == [1, 0]
    assert mature.reached == {"u1": 1, "u2": 2}
    assert mature.in_progress == [0, 0]


@pytest.mark.parametrize("options", [
    {"order": "sideways"},
    {"entry": "last"},
    {"count": "events"},
    {"within": [None, 5, None]},                   # wrong length
    {"within": [5, None]},                         # step 1 has no previous step
    {"order": "any", "within": [None, 5]},         # rule 4.2.5
    {"order": "any", "after": [None, 5]},
    {"exclude": [({"R"}, 2, 1)]},
    {"exclude": [({"R"}, 1, 3)]},                  # a 2-step funnel has no step 3
])
def test_rejects_what_the_config_rejects(options):
    with pytest.raises(ValueError):
        reference_funnel(one_user("A@0", "B@1"), AB, 10, **options)
