"""Engagement levels (docs/semantics.md 8.5): each user's number of the listed conversions done
strictly before their first ``before`` conversion, checked by hand, against a per-user reference,
and through the commands that break down by a property."""
from __future__ import annotations

import io

import pandas as pd
import pytest
from builders import events_of
from helpers import invoke
from hypothesis import given, settings
from hypothesis import strategies as st

import microconv
from microconv.engine.engagement import add_engagement
from microconv.errors import ConfigError, ExitCode

COLUMNS = {"user": "user_id", "event": "event_name", "timestamp": "timestamp"}
CONVERSIONS = {
    "newsletter": {"kind": "secondary", "event": "sign_up"},
    "video_play": {"kind": "secondary", "event": "video_play"},
    "ebook": {"kind": "secondary", "event": "file_download", "count": 2},     # a threshold: the 2nd download
    "purchase": {"kind": "macro", "event": "purchase"},
}
# t in seconds. Counted: newsletter, video_play, ebook (2 downloads) before the first purchase.
#   a  view 0, purchase 10                                        0: nothing before the purchase
#   b  sign_up 5, purchase 10, video_play 20                      1: the video comes after it
#   c  sign_up 1, video 2, download 3, download 4 (no purchase)   3: ever, the 2nd download reaches ebook
#   d  sign_up 1, video 2, download 3, purchase 4, download 5     2: ebook reached after the purchase
#   e  sign_up 7, purchase 7 (the same second), video_play 6      1: the sign-up is not *before* it
#   f  sign_up 1, sign_up 2                                       1: conversions, not events, are counted
LOG = """\
a 0 page_view
a 10 purchase
b 5 sign_up
b 10 purchase
b 20 video_play
c 1 sign_up
c 2 video_play
c 3 file_download
c 4 file_download
d 1 sign_up
d 2 video_play
d 3 file_download
d 4 purchase
d 5 file_download
e 7 sign_up
e 7 purchase
e 6 video_play
f 1 sign_up
f 2 sign_up
"""
EXPECTED = {"a": "0", "b": "1", "c": "3+", "d": "2", "e": "1", "f": "1"}


def config_of(engagement: dict, **sections) -> microconv.Config:
    return microconv.parse_config({"columns": {**COLUMNS, "properties": {"engagement": engagement}},
                                   "conversions": CONVERSIONS, **sections})


def rows_of(log: str) -> list[tuple]:
    return [(u, int(t), e) for u, t, e in (line.split() for line in log.strip().splitlines())]


def levels(cfg: microconv.Config, log: str = LOG, name: str = "engagement") -> dict[str, str]:
    """Per user, the level; asserting first that every row of a user has the same one."""
    frame = add_engagement(cfg, events_of(rows_of(log), cfg)).frame
    per_user = frame.groupby("user", observed=True)[name].agg(lambda v: set(map(str, v)))
    assert all(len(values) == 1 for values in per_user), per_user
    return {str(user): values.pop() for user, values in per_user.items()}


FULL = {"count_of": ["newsletter", "video_play", "ebook"], "before": "purchase"}


def test_levels_before_the_first_purchase_counted_by_hand():
    assert levels(config_of(FULL)) == EXPECTED


def test_the_levels_in_order_as_text_categories():
    cfg = config_of(FULL)
    frame = add_engagement(cfg, events_of(rows_of(LOG), cfg)).frame
    assert list(frame["engagement"].cat.categories) == ["0", "1", "2", "3+"]


def test_without_before_every_conversion_counts_whenever_it_happened():
    # b's video after the purchase counts now (2); d's 2nd download reaches ebook (3+); e: sign-up and video (2)
    assert levels(config_of({"count_of": FULL["count_of"]})) == {**EXPECTED, "b": "2", "d": "3+", "e": "2"}


def test_levels_caps_the_top_level():
    # levels: 1 -> "0" and "1+" only; levels: 2 -> "0", "1", "2+"
    assert levels(config_of({**FULL, "levels": 1})) == {"a": "0", "b": "1+", "c": "1+", "d": "1+", "e": "1+",
                                                        "f": "1+"}
    assert levels(config_of({**FULL, "levels": 2})) == {**EXPECTED, "c": "2+", "d": "2+"}


def test_default_levels_are_at_most_one_per_counted_conversion():
    spec = config_of({"count_of": ["newsletter", "video_play"]}).columns.properties["engagement"]
    assert spec.labels == ["0", "1", "2+"]
    assert config_of(FULL).columns.properties["engagement"].labels == ["0", "1", "2", "3+"]


def test_the_column_is_not_read_from_the_data():
    # an "engagement" column in the export is ignored: the level is computed, and no file needs one
    cfg = config_of(FULL)
    raw = pd.DataFrame({"user_id": ["a", "a"], "event_name": ["sign_up", "purchase"],
                        "timestamp": pd.to_datetime(["2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z"]),
                        "engagement": ["high", "high"]})
    events, _ = microconv.canonicalize(raw, cfg, extra_properties=["engagement"])
    assert "engagement" not in events.frame.columns
    assert add_engagement(cfg, events).frame["engagement"].astype(str).tolist() == ["1", "1"]


def test_analyze_breaks_down_by_it_after_the_as_of_cut():
    cfg = config_of(FULL, funnels={"f": {"steps": [{"event": "sign_up"}, "purchase"]}})
    events = events_of(rows_of(LOG), cfg)
    # entrants (a sign_up): b 1, c 3+, d 2, e 1, f 1; b, d and e purchase (e at its sign-up's second)
    seg = microconv.analyze(cfg, events, by="engagement", reports=["breakdown"]).breakdowns[0].segments
    assert sorted(zip(seg["segment"], seg["entrants"], seg["converted"])) == [
        ("1", 3, 2), ("2", 1, 1), ("3+", 1, 0)]
    # as of t=2 (before 00:00:02): c and d have signed up only (1), b and e not yet entered; f 1
    cut = microconv.analyze(cfg, events, by="engagement", as_of="2026-01-01T00:00:02Z",
                            reports=["breakdown"]).breakdowns[0].segments
    assert list(zip(cut["segment"], cut["entrants"], cut["converted"])) == [("1", 3, 0)]


def test_a_funnel_breakdown_in_the_config_reads_it_too():
    cfg = config_of(FULL, funnels={"f": {"steps": [{"event": "sign_up"}, "purchase"],
                                         "breakdown": {"by": "engagement", "attribution": "last_touch"}}})
    seg = microconv.analyze(cfg, events_of(rows_of(LOG), cfg), reports=["breakdown"]).breakdowns[0].segments
    assert sorted(zip(seg["segment"], seg["entrants"], seg["converted"])) == [
        ("1", 3, 2), ("2", 1, 1), ("3+", 1, 0)]


# --- config errors ------------------------------------------------------------------------------

def problems(engagement: dict, **extra) -> list[str]:
    with pytest.raises(ConfigError) as info:
        microconv.parse_config({"columns": {**COLUMNS, "properties": {"engagement": engagement}},
                                "conversions": CONVERSIONS, **extra})
    return [str(p) for p in info.value.problems]


def test_unknown_conversions_are_config_errors_with_did_you_mean():
    assert problems({"count_of": ["newsleter", "video_play"], "before": "purchse"}) == [
        "columns.properties.engagement.count_of.0: engagement property 'engagement' names unknown conversion "
        "'newsleter' (did you mean 'newsletter'?)",
        "columns.properties.engagement.before: engagement property 'engagement' names unknown conversion "
        "'purchse' (did you mean 'purchase'?)"]


@pytest.mark.parametrize("engagement, message", [
    ({"count_of": []}, "count_of: Value should have at least 1 item"),
    ({"count_of": ["newsletter", "newsletter"]}, "'newsletter' is given twice in count_of"),
    ({"count_of": ["newsletter", "purchase"], "before": "purchase"}, "cannot be counted before itself"),
    ({"count_of": ["newsletter"], "levels": 2}, "levels: 2 needs at least 2 conversions in count_of"),
    ({"count_of": ["newsletter"], "levels": 0}, "greater than or equal to 1"),
    ({"count_of": ["newsletter"], "from": "x"}, "not read from a column: remove 'from'"),
    ({"from": "x", "before": "purchase"}, "'before' go with 'count_of'"),
    ({"count_of": ["newsletter"], "levles": 1}, "unknown key 'levles' (did you mean 'levels'?)"),
])
def test_malformed_engagement_properties(engagement, message):
    assert any(message in p for p in problems(engagement)), problems(engagement)


def test_no_event_condition_or_hold_may_use_it():
    found = problems(FULL, funnels={"f": {"steps": [{"event": "sign_up", "where": {"engagement": "2"}}, "purchase"],
                                          "hold": "engagement"}})
    assert [p.split(":")[0] for p in found] == ["funnels.f.steps.0.where.engagement", "funnels.f.hold"]
    assert "an event condition cannot test it" in found[0]


# --- a per-user reference on random logs ---------------------------------------------------------

def reference(rows: list[tuple], counted: dict[str, tuple[str, int]], before: str | None, top: int) -> dict:
    """Per user, one by one: how many counted conversions (event, nth) had their nth event strictly
    before the user's first ``before`` event."""
    out = {}
    for user in sorted({r[0] for r in rows}):
        mine = [(t, e) for u, t, e in rows if u == user]
        deadline = min((t for t, e in mine if e == before), default=float("inf"))
        done = sum(sum(1 for t, e in mine if e == event and t < deadline) >= nth for event, nth in counted.values())
        out[user] = str(done) if done < top else f"{top}+"
    return out


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("uvw"), st.integers(0, 6), st.sampled_from(["x", "y", "z", "goal"])),
                min_size=1, max_size=25),
       st.booleans(), st.integers(1, 3))
def test_matches_a_per_user_reference(rows, with_before, top):
    counted = {"cx": ("x", 1), "cy": ("y", 1), "cz2": ("z", 2)}
    conversions = {name: {"event": event, **({"count": nth} if nth > 1 else {})}
                   for name, (event, nth) in counted.items()}
    conversions["goal"] = {"kind": "macro", "event": "goal"}
    cfg = microconv.parse_config({"columns": {**COLUMNS, "properties": {"engagement": {
        "count_of": list(counted), "levels": top, **({"before": "goal"} if with_before else {})}}},
        "conversions": conversions})
    frame = add_engagement(cfg, events_of(rows, cfg)).frame
    found = dict(zip(frame["user"].astype(str), frame["engagement"].astype(str)))
    assert found == reference(rows, counted, "goal" if with_before else None, top)


# --- the commands -------------------------------------------------------------------------------

CLI_CONFIG = """\
columns:
  user: user_id
  event: event_name
  timestamp: timestamp
  properties:
    engagement: {count_of: [newsletter, video_play, ebook], before: purchase}
conversions:
  newsletter: {kind: secondary, event: sign_up}
  video_play: {kind: secondary, event: video_play}
  ebook: {kind: secondary, event: file_download, count: 2}
  purchase: {kind: macro, event: purchase}
funnels:
  buy:
    steps: [{event: page_view}, purchase]
"""
# Every user views a page at 00:00, then:
#   a  purchase 01:00                                    0, converts
#   b  sign_up 00:10, purchase 01:00, video 02:00        1, converts
#   c  sign_up, video, download, download (no purchase)  3+, does not
#   d  sign_up, video, download, purchase, download      2, converts
#   g  sign_up 00:10, video 00:20                        2, does not
CLI_EVENTS = """\
user_id,event_name,timestamp
a,page_view,2026-01-01T00:00:00Z
a,purchase,2026-01-01T01:00:00Z
b,page_view,2026-01-01T00:00:00Z
b,sign_up,2026-01-01T00:10:00Z
b,purchase,2026-01-01T01:00:00Z
b,video_play,2026-01-01T02:00:00Z
c,page_view,2026-01-01T00:00:00Z
c,sign_up,2026-01-01T00:10:00Z
c,video_play,2026-01-01T00:20:00Z
c,file_download,2026-01-01T00:30:00Z
c,file_download,2026-01-01T00:40:00Z
d,page_view,2026-01-01T00:00:00Z
d,sign_up,2026-01-01T00:10:00Z
d,video_play,2026-01-01T00:20:00Z
d,file_download,2026-01-01T00:30:00Z
d,purchase,2026-01-01T00:35:00Z
d,file_download,2026-01-01T00:50:00Z
g,page_view,2026-01-01T00:00:00Z
g,sign_up,2026-01-01T00:10:00Z
g,video_play,2026-01-01T00:20:00Z
"""


@pytest.fixture
def shop(tmp_path):
    (tmp_path / "f.yaml").write_text(CLI_CONFIG)
    (tmp_path / "e.csv").write_text(CLI_EVENTS)
    return tmp_path


def run_csv(runner, cwd, *args) -> pd.DataFrame:
    result = invoke(runner, *args, cwd=cwd)
    assert result.exit_code == 0, result.stderr
    return pd.read_csv(io.StringIO(result.stdout), dtype={"segment": str, "value": str}, keep_default_na=False)


def test_cli_analyze_by_engagement(runner, shop):
    frame = run_csv(runner, shop, "analyze", "e.csv", "-c", "f.yaml", "--by", "engagement", "-f", "csv",
                    "--report", "breakdown")
    # by entrants, ties in text order: 2 (d converts, g not), then 0 (a), 1 (b), 3+ (c, not)
    assert list(zip(frame["segment"], frame["entrants"], frame["converted"])) == [
        ("2", 2, 1), ("0", 1, 1), ("1", 1, 1), ("3+", 1, 0)]


def test_cli_pages_by_engagement(runner, shop):
    frame = run_csv(runner, shop, "pages", "e.csv", "-c", "f.yaml", "--page", "event_name", "--by", "engagement",
                    "-f", "csv")
    # one page_view session per user; its purchase (in the same session: 30 minutes of inactivity end
    # it) only for d (2): a's and b's come an hour later
    views = frame.groupby("segment")[["sessions", "macro_sessions"]].sum()
    assert views.to_dict("index") == {"0": {"sessions": 1, "macro_sessions": 0},
                                      "1": {"sessions": 1, "macro_sessions": 0},
                                      "2": {"sessions": 2, "macro_sessions": 1},
                                      "3+": {"sessions": 1, "macro_sessions": 0}}


def test_cli_drivers_property_engagement(runner, shop):
    frame = run_csv(runner, shop, "drivers", "e.csv", "-c", "f.yaml", "--property", "engagement", "--top", "0",
                    "-f", "csv")
    rows = frame[frame["kind"] == "property"].set_index("value")
    # the goal is the purchase (a, b, d of 5 users): level 2 is d (yes) and g (no)
    assert rows.loc["2", ["success_with", "failure_with"]].tolist() == [1, 1]
    assert rows.loc["3+", ["success_with", "failure_with"]].tolist() == [0, 1]


def test_cli_unknown_counted_conversion_is_a_config_error(runner, shop):
    (shop / "f.yaml").write_text(CLI_CONFIG.replace("count_of: [newsletter,", "count_of: [newsleter,"))
    result = invoke(runner, "analyze", "e.csv", "-c", "f.yaml", "--by", "engagement", "-f", "csv", cwd=shop)
    assert result.exit_code == ExitCode.CONFIG
    assert "f.yaml:6:" in result.stderr and "unknown conversion 'newsleter'" in result.stderr
    assert "did you mean 'newsletter'?" in result.stderr
