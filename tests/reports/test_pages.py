"""Pages (docs/semantics.md 12): a hand-made log where every number is checked by hand, the
protocol over shards, the CLI in every format, escaping, errors, and the example shop log."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import microconv
from microconv.engine.conversions import EventIndex
from microconv.errors import ConfigError, DataError, UsageError
from microconv.reports import pages as pages_mod
from microconv.reports.pages import PAGES_COLUMNS, STEPS_COLUMNS, page_report
from microconv.render.pages import (render_pages_csv, render_pages_html, render_pages_json,
                                    render_pages_markdown, render_pages_text)
from helpers import EXAMPLE_CONFIG, EXAMPLE_CSV, invoke

BASE = int(pd.Timestamp("2026-01-01", tz="UTC").timestamp())

# The worked example of semantics 12.7 (session_timeout 30m = 1800 s). "pv" is page_view.
# u1: session 1 = /home@0 /pricing@10 /home@20 buy@30; session 2 (gap 3970 s) = /blog@4000
# u2: session 1 = /home@0 scroll@5 /pricing@8 pv-without-page@9; session 2 (gap 2991 s) =
#     /pricing@3000 buy@3010 /cart@3020
# u3: session 1 = /blog@100 view_item(/product)@110 buy@120 (view_item is no page view)
ROWS = [
    ("u1", 0, "page_view", "/home", "ads", "a"), ("u1", 10, "page_view", "/pricing", "ads", "a"),
    ("u1", 20, "page_view", "/home", None, "a"), ("u1", 30, "buy", None, None, "a"),
    ("u1", 4000, "page_view", "/blog", None, "b"),
    ("u2", 0, "page_view", "/home", None, "x"), ("u2", 5, "scroll", None, "mail", "x"),
    ("u2", 8, "page_view", "/pricing", "ads", "x"), ("u2", 9, "page_view", None, "ads", "x"),
    ("u2", 3000, "page_view", "/pricing", "ads", "x"), ("u2", 3010, "buy", None, "ads", "x"),
    ("u2", 3020, "page_view", "/cart", "ads", "x"),
    ("u3", 100, "page_view", "/blog", "mail", "c"), ("u3", 110, "view_item", "/product", "mail", "c"),
    ("u3", 120, "buy", None, "mail", "c"),
]


def setup(rows=ROWS, *, session_column=False, properties=None, conversions=None, funnels=None):
    columns = {"user": "u", "event": "e", "timestamp": "t", "timestamp_unit": "s",
               "properties": properties if properties is not None else {"page": "p", "src": "src"}}
    if session_column:
        columns["session"] = "sid"
    cfg = microconv.parse_config({
        "columns": columns, "session_timeout": "30m",
        "conversions": conversions if conversions is not None else {"buy": {"kind": "macro", "event": "buy"}},
        "funnels": funnels or {"f": {"steps": [{"event": "page_view"}, {"event": "buy"}]}},
    })
    raw = pd.DataFrame([(r[0], BASE + r[1], *r[2:]) for r in rows], columns=["u", "t", "e", "p", "src", "sid"])
    events, _ = microconv.canonicalize(raw, cfg, extra_properties=[p for p in ("page", "src") if p in columns["properties"]])
    return cfg, events


def table(result, segment="(all)") -> dict[str, tuple]:
    """{page: (views, sessions, exits, exit_rate, macro_sessions, macro_after)} in ranked order."""
    rows = result.frame[result.frame["segment"] == segment]
    return {r.page: (r.views, r.sessions, r.exits, r.exit_rate, r.macro_sessions, r.macro_after)
            for r in rows.itertuples(index=False)}


def test_worked_example_every_number_by_hand():
    cfg, events = setup()
    r = page_report(cfg, events)
    assert r.page == "page" and r.page_events == ("page_view",) and r.macro == "buy"
    # ranked by exits, then sessions, views, page text
    assert table(r) == {
        "/blog": (2, 2, 2, 1.0, 1, 0.5),          # u1 s2 (bought in s1, before), u3 (buy after /blog)
        "/pricing": (3, 3, 1, 1 / 3, 2, 2 / 3),   # u1 s1, u2 s1 (no buy), u2 s2 (buy@3010 after @3000)
        "/home": (3, 2, 1, 0.5, 1, 0.5),          # viewed twice in u1 s1: 2 views, 1 session
        "/cart": (1, 1, 1, 1.0, 0, 0.0),          # u2 s2's buy@3010 came before /cart@3020
    }
    assert r.frame["rank"].tolist() == [1, 2, 3, 4]
    assert r.sessions == 5 == r.frame["exits"].sum()         # every session with a page view exits once
    assert r.segments.to_dict("records") == [{"segment": "(all)", "sessions": 5, "views": 9, "pages": 4}]
    assert list(r.frame.columns) == PAGES_COLUMNS


def test_top_cuts_after_ranking_and_zero_lists_all():
    cfg, events = setup()
    assert list(table(page_report(cfg, events, top=2))) == ["/blog", "/pricing"]
    assert len(page_report(cfg, events, top=0).frame) == 4
    assert page_report(cfg, events, top=2).segments["pages"].tolist() == [4]   # of all pages


def test_by_a_session_takes_its_first_value():
    cfg, events = setup()
    r = page_report(cfg, events, by="src")
    # sessions: ads = u1 s1, u2 s2; mail = u2 s1 (its first value is on the scroll), u3; (missing) = u1 s2
    assert r.segments.to_dict("records") == [
        {"segment": "ads", "sessions": 2, "views": 5, "pages": 3},
        {"segment": "mail", "sessions": 2, "views": 3, "pages": 3},
        {"segment": "(missing)", "sessions": 1, "views": 1, "pages": 1},
    ]
    assert table(r, "ads") == {"/home": (2, 1, 1, 1.0, 1, 1.0), "/cart": (1, 1, 1, 1.0, 0, 0.0),
                               "/pricing": (2, 2, 0, 0.0, 2, 1.0)}
    assert table(r, "mail") == {"/blog": (1, 1, 1, 1.0, 1, 1.0), "/pricing": (1, 1, 1, 1.0, 0, 0.0),
                                "/home": (1, 1, 0, 0.0, 0, 0.0)}
    assert table(r, "(missing)") == {"/blog": (1, 1, 1, 1.0, 0, 0.0)}
    assert page_report(cfg, events, by="src", top=1).frame["page"].tolist() == ["/home", "/blog", "/blog"]


def test_sessions_from_the_session_column():
    cfg, events = setup(session_column=True)
    r = page_report(cfg, events)
    # u2's two visits share session id x: one session, which ends on /cart; u1's are a and b
    assert r.session_column == "sid" and r.sessions == 4
    assert table(r) == {
        "/blog": (2, 2, 2, 1.0, 1, 0.5),
        "/cart": (1, 1, 1, 1.0, 0, 0.0),
        "/home": (3, 2, 1, 0.5, 2, 1.0),          # u2's home@0 is now followed by buy@3010 in its session
        "/pricing": (3, 2, 0, 0.0, 2, 1.0),
    }


def test_page_events_option_and_equal_times_keep_input_order():
    cfg, events = setup()
    r = page_report(cfg, events, page_events=["page_view", "view_item"])
    assert table(r)["/product"] == (1, 1, 1, 1.0, 1, 1.0)   # u3's view_item is now its session's exit page
    assert table(r)["/blog"][:3] == (2, 2, 1)
    # a macro event at the same time as the view: rule 1.4, the input order decides
    rows = [("u1", 0, "page_view", "/a", None, None), ("u1", 0, "buy", None, None, None),
            ("u2", 0, "buy", None, None, None), ("u2", 0, "page_view", "/a", None, None)]
    cfg, events = setup(rows)
    assert table(page_report(cfg, events))["/a"] == (2, 2, 2, 1.0, 1, 0.5)


def test_shards_merge_to_the_one_pass_result():
    cfg, events = setup()
    frame = events.frame
    prop_names = ("page_view",)
    whole = pages_mod.partial(EventIndex(cfg, frame, int(frame["ts"].max().value)), "page", prop_names, "src", "buy")
    parts = [pages_mod.partial(EventIndex(cfg, frame[mask].reset_index(drop=True), int(frame["ts"].max().value)),
                               "page", prop_names, "src", "buy")
             for mask in (frame["user"] == "u2", frame["user"] != "u2")]
    ctx = pages_mod.PagesContext("page", prop_names, None, 1800.0, "src", 0)
    one, merged = pages_mod.finalize(whole, ctx), pages_mod.finalize(pages_mod.merge(*parts), ctx)
    pd.testing.assert_frame_equal(one.frame, merged.frame)
    pd.testing.assert_frame_equal(one.segments, merged.segments)


def test_funnel_steps_with_their_pages():
    funnels = {"pp": {"steps": [{"event": "page_view", "where": {"page": "/home"}, "label": "home"},
                                {"event": "page_view", "where": {"page": "/pricing"}, "label": "pricing"},
                                {"event": "buy"}],
                      "window": "1h", "count": "sessions"}}
    cfg, events = setup(funnels=funnels)
    r = page_report(cfg, events, funnel="pp")
    s = r.steps
    assert list(s.columns) == STEPS_COLUMNS and r.funnel == "pp"
    # entrants: u1 s1 (home, pricing, buy) and u2 s1 (home, pricing, no buy); no other session has /home
    assert s["page"].tolist() == ["/home", "/pricing", "(none)"]
    assert s["page_share"].tolist()[:2] == [1.0, 1.0] and np.isnan(s["page_share"].iloc[2])
    assert s["unit"].tolist() == ["sessions"] * 3
    assert s["reached"].tolist() == [2, 2, 1]
    assert s["went_on"].tolist()[:2] == [2, 1] and s["went_on"].isna().tolist() == [False, False, True]
    assert s["dropped"].tolist()[:2] == [0, 1]
    assert s["drop_off"].tolist()[:2] == [0.0, 0.5] and np.isnan(s["drop_off"].iloc[2])


def test_no_macro_conversion_leaves_macro_after_empty():
    cfg, events = setup(conversions={})
    r = page_report(cfg, events)
    assert r.macro is None and r.frame["macro_after"].isna().all() and (r.frame["macro_sessions"] == 0).all()


def test_library_errors():
    cfg, events = setup()
    with pytest.raises(ConfigError, match="no page property"):
        page_report(*setup(properties={"src": "src"}))
    with pytest.raises(UsageError, match="'nope': it was not read from the events"):
        page_report(cfg, events, page="nope")
    with pytest.raises(UsageError, match="'pageview': no event of that name"):
        page_report(cfg, events, page_events=["pageview"])
    with pytest.raises(UsageError, match="must be 0"):
        page_report(cfg, events, top=-1)
    with pytest.raises(ConfigError, match="not a macro conversion"):
        page_report(cfg, events, macro="scroll")
    with pytest.raises(DataError, match="no 'page_view' event has a 'src' value"):
        page_report(*setup([("u1", 0, "page_view", "/a", None, None)]), page="src")


HOSTILE = ["=HYPERLINK(\"http://x\")", "\x1b[31mred", "|pipe*[link](x)", "-1", "<script>x</script>"]


def test_page_values_are_escaped_per_medium():
    rows = [("u1", i * 10, "page_view", page, None, None) for i, page in enumerate(HOSTILE)]
    cfg, events = setup(rows)
    r = page_report(cfg, events)
    csv = render_pages_csv(r)
    assert "'=HYPERLINK" in csv and ",-1," in csv                    # a formula neutralised, a number not
    assert "=HYPERLINK" in render_pages_csv(r, raw=True).replace("'=", "")
    text = render_pages_text(r, width=200)
    assert "\x1b" not in text and "\\x1b[31mred" in text
    md = render_pages_markdown(r)
    assert "\x1b" not in md and "\\|pipe\\*\\[link\\](x)" in md
    page = render_pages_html(r)
    assert "<script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page and "\x1b" not in page
    assert "\\x1b[31mred" in page and "&quot;http://x&quot;" in page
    doc = render_pages_json(r)
    assert "\x1b" not in doc and json.loads(doc)["segments"][0]["pages"][0]["page"] in HOSTILE


# --- the command line ---------------------------------------------------------------------------

CLI_CONFIG = """\
columns: {user: user_id, event: event_name, timestamp: timestamp, properties: {page: page}}
conversions:
  buy: {kind: macro, event: buy}
funnels:
  f:
    steps: [{event: page_view}, {event: buy}]
"""
CLI_EVENTS = """\
user_id,event_name,timestamp,page
u1,page_view,2026-01-01T00:00:00Z,/home
u1,page_view,2026-01-01T00:00:10Z,/pricing
u1,buy,2026-01-01T00:00:20Z,
u2,page_view,2026-01-01T00:00:00Z,/home
u2,page_view,2026-01-01T02:00:00Z,=cmd
"""
HEADER = ",".join(PAGES_COLUMNS)


@pytest.fixture
def small(tmp_path):
    (tmp_path / "f.yaml").write_text(CLI_CONFIG)
    (tmp_path / "e.csv").write_text(CLI_EVENTS)
    (tmp_path / "none.yaml").write_text(CLI_CONFIG.replace(", properties: {page: page}", ""))
    return tmp_path


def test_cli_csv(runner, small):
    result = invoke(runner, "pages", "e.csv", "-c", "f.yaml", "-f", "csv", cwd=small)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    # sessions: u1 (home, pricing, buy), u2 at 0 (home), u2 two hours later ('=cmd')
    # all exit once; /home has 2 sessions; then page text order ('/' before '=')
    assert lines == [HEADER, "(all),1,/home,2,2,1,0.5,1,0.5", "(all),2,/pricing,1,1,1,1,1,1",
                     "(all),3,'=cmd,1,1,1,1,0,0"]


def test_cli_json_markdown_table_and_steps(runner, small):
    doc = json.loads(invoke(runner, "pages", "e.csv", "-c", "f.yaml", "-f", "json", "--funnel", "f", cwd=small).stdout)
    assert doc["page"] == "page" and doc["macro"] == "buy" and doc["sessions"]["with_page_view"] == 3
    assert {k: doc["segments"][0][k] for k in ("segment", "sessions", "views", "page_count")} == {
        "segment": "(all)", "sessions": 3, "views": 4, "page_count": 3}
    assert doc["segments"][0]["pages"][0] == {"rank": 1, "page": "/home", "views": 2, "sessions": 2, "exits": 1,
                                              "exit_rate": 0.5, "macro_sessions": 1, "macro_after": 0.5}
    assert [s["reached"] for s in doc["funnel"]["steps"]] == [2, 1] and doc["funnel"]["steps"][1]["went_on"] is None
    md = invoke(runner, "pages", "e.csv", "-c", "f.yaml", "-f", "markdown", cwd=small)
    assert md.exit_code == 0 and "| 1 | /home | 2 | 2 | 1 | 50.0% | 50.0% |" in md.stdout
    page = invoke(runner, "pages", "e.csv", "-c", "f.yaml", "-f", "html", "--funnel", "f", cwd=small)
    assert page.exit_code == 0 and page.stdout.startswith("<!DOCTYPE html>") and "'=cmd" not in page.stdout
    assert '<td class="name">/home</td><td class="num">2</td>' in page.stdout and "went on" in page.stdout
    shown = invoke(runner, "pages", "e.csv", "-c", "f.yaml", "--funnel", "f", cwd=small)
    assert shown.exit_code == 0 and "3 sessions, 4 views, 3 of 3 pages shown" in shown.stdout
    assert "drop-off between its steps' pages" in shown.stdout
    steps = invoke(runner, "pages", "e.csv", "-c", "f.yaml", "-f", "csv", "--funnel", "f", "--table", "steps", cwd=small)
    assert steps.stdout.splitlines()[0] == ",".join(STEPS_COLUMNS)
    assert steps.stdout.splitlines()[1].startswith("f,1,page_view,/home,")


@pytest.mark.parametrize("config, args, code, message", [
    ("none.yaml", [], 3, "no page property"),
    ("f.yaml", ["--page", "nope"], 4, "'nope'"),
    ("f.yaml", ["--page-event", "pageview"], 2, "--page-event 'pageview': no event of that name"),
    ("f.yaml", ["--by", "nope"], 4, "'nope'"),
    ("f.yaml", ["--by", "event"], 2, "--by 'event': a property is needed here, not the canonical column"),
    ("f.yaml", ["--macro", "nope"], 3, "not a macro conversion"),
    ("f.yaml", ["--funnel", "g"], 3, "unknown funnel 'g'"),
    ("f.yaml", ["-f", "xml"], 2, "--format 'xml' is not one of"),
    ("f.yaml", ["--table", "steps"], 2, "--table steps needs --funnel"),
    ("f.yaml", ["--top", "-1"], 2, "--top"),
])
def test_cli_errors(runner, small, config, args, code, message):
    result = invoke(runner, "pages", "e.csv", "-c", config, *args, cwd=small)
    assert result.exit_code == code, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


# --- the example shop log -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def shop():
    from conftest import ROOT

    cfg = microconv.load_config(ROOT / EXAMPLE_CONFIG)
    events, _ = microconv.load_events([ROOT / EXAMPLE_CSV], cfg, extra_properties=["page_path", "device"])
    return cfg, events


def test_example_against_a_plain_pandas_count(shop):
    cfg, events = shop
    r = page_report(cfg, events, top=0, funnel="pricing_to_purchase")
    frame = events.frame
    session = EventIndex(cfg, frame, 0).sessions.code
    views = frame.assign(s=session, row=np.arange(len(frame)))
    views = views[(views["event"] == "page_view") & views["page_path"].notna()].sort_values(["s", "ts", "row"])
    want_views = views["page_path"].astype(str).value_counts()
    want_sessions = views.drop_duplicates(["s", "page_path"])["page_path"].astype(str).value_counts()
    want_exits = views.groupby("s")["page_path"].last().astype(str).value_counts()
    got = r.frame.set_index("page")
    assert r.sessions == views["s"].nunique() == got["exits"].sum()        # each session exits once
    assert got["views"].sum() == len(views)
    pd.testing.assert_series_equal(got["views"].sort_index(), want_views.sort_index(), check_names=False)
    pd.testing.assert_series_equal(got["sessions"].sort_index(), want_sessions.sort_index(), check_names=False)
    pd.testing.assert_series_equal(got.loc[want_exits.index, "exits"].sort_index(), want_exits.sort_index(),
                                   check_names=False)
    assert (got["exits"] <= got["sessions"]).all() and got["macro_after"].between(0, 1).all()
    assert r.frame["exits"].is_monotonic_decreasing
    # the pricing funnel's first step is a page: /pricing, on every entrant's step event
    steps = r.steps.set_index("step")
    assert steps.loc[1, "page"] == "/pricing" and steps.loc[1, "page_share"] == 1.0
    assert steps.loc[1, "went_on"] + steps.loc[1, "dropped"] + steps.loc[1, "in_progress"] == steps.loc[1, "reached"]


def test_example_by_device(shop):
    cfg, events = shop
    whole = page_report(cfg, events, top=0)
    split = page_report(cfg, events, by="device", top=0)
    assert split.sessions == whole.sessions
    summed = split.frame.groupby("page")[["views", "sessions", "exits", "macro_sessions"]].sum()
    pd.testing.assert_frame_equal(summed.sort_index(), whole.frame.set_index("page")[summed.columns].sort_index())
    assert page_report(cfg, events, by="device").frame.groupby("segment").size().max() == 20
