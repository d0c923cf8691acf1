"""Config loading: shorthand, defaults, every error located and reported at once."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import yaml

from conftest import ROOT
from microconv import ConfigError, load_config, parse_config
from microconv.config import parse_duration
from microconv.config.model import OPERATORS, Config


def load_text(tmp_path, text: str):
    (tmp_path / "f.yaml").write_text(text)
    return load_config("f.yaml")


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def errors_of(tmp_path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_text(tmp_path, text)
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize("text,seconds", [
    ("7d", 604800), ("30m", 1800), ("1h30m", 5400), ("500ms", 0.5), ("2w", 1209600),
    ("10s", 10), (90, 90), ("1.5h", 5400), ("0s", 0),
])
def test_durations(text, seconds):
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["7 days", "7", "d", "-1d", "1M", "", True])
def test_bad_durations(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_shorthand_expands(tmp_path):
    cfg = load_text(tmp_path, """
conversions:
  cart: {event: add_to_cart, where: {method: newsletter, source: [a, b]}}
funnels:
  f: {steps: [cart, {event: purchase}], window: 1d}
""")
    cart = cfg.conversions["cart"]
    assert cart.event == ["add_to_cart"] and cart.kind == "milestone"
    assert cart.where["method"].eq == "newsletter"
    assert cart.where["source"].in_ == ["a", "b"]
    steps = cfg.funnels["f"].steps
    assert steps[0].ref == "cart" and steps[1].event == ["purchase"]
    assert cfg.funnels["f"].window == timedelta(days=1)
    assert cfg.columns.user[0] == "user_id"


def test_default_window_is_30_days():
    cfg = parse_config({"funnels": {"f": {"steps": [{"event": "a"}]}}})
    assert cfg.funnels["f"].window == timedelta(days=30)


def test_every_problem_is_reported_at_once_in_file_order(tmp_path):
    assert errors_of(tmp_path, """\
funnels:
  checkout:
    steps: [view, add_to_crat, {event: x, where: {p: {gtee: 1}}}]
    windw: 7d
conversions:
  view: {kind: macroo, event: view_item}
  add_to_cart: {event: add_to_cart, where: {q: {regex: "("}}}
""") == [
        "f.yaml:3:19: step 2 of funnel 'checkout' names unknown conversion 'add_to_crat' (did you mean 'add_to_cart'?)",
        "f.yaml:3:55: unknown key 'gtee' (did you mean 'gte' or 'gt'?)",
        "f.yaml:4:5: unknown key 'windw' (did you mean 'window'?)",
        "f.yaml:6:10: kind must be one of 'milestone', 'secondary', 'macro', got 'macroo' (did you mean 'macro'?)",
        "f.yaml:7:49: invalid regular expression '(': missing ): ( (RE2 syntax, github.com/google/re2/wiki/Syntax)",
    ]


@pytest.mark.parametrize("text,message", [
    ("", "f.yaml: the config is empty"),
    ("funnels: {}\n", "f.yaml:1:1: the config defines no funnels and no conversions"),
    ("funnels:\n  f: {steps: []}\n", "f.yaml:2:7: List should have at least 1 item after validation"),
    ("funnels:\n  f: {window: 1d}\n", "f.yaml:2:3: missing required key 'steps'"),
    ("funnels:\n  f:\n    steps: [{where: {a: 1}}]\n", "f.yaml:3:13: a step is either a conversion name"),
    ("columns: {timezone: Mars/Base}\nfunnels:\n  f: {steps: [{event: a}]}\n",
     "f.yaml:1:11: unknown time zone 'Mars/Base'"),
    ("conversions:\n  c: {event: a, where: {x: {}}}\nfunnels: {}\n", "f.yaml:2:25: a condition needs at least one operator"),
    ("funnels:\n  f: {steps: [{event: a}]}\n  f: {steps: [{event: b}]}\n",
     "f.yaml:3:3: duplicate key 'f' (first defined at line 2) (remove or rename one of them)"),
])
def test_single_errors(tmp_path, text, message):
    problems = errors_of(tmp_path, text)
    assert len(problems) == 1
    assert problems[0].startswith(message)


def test_example_config_is_valid_and_shows_every_feature():
    cfg = load_config(ROOT / "funnels.example.yaml")
    raw = yaml.safe_load((ROOT / "funnels.example.yaml").read_text())
    used_ops = set()

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "where":
                    for cond in value.values():
                        used_ops.update(cond if isinstance(cond, dict) else ["eq" if not isinstance(cond, list) else "in"])
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(raw)
    assert used_ops >= set(OPERATORS)
    assert {c.kind for c in cfg.conversions.values()} == {"milestone", "secondary", "macro"}
    assert any(len(c.event) > 1 for c in cfg.conversions.values())
    assert any(s.ref for f in cfg.funnels.values() for s in f.steps)
    assert any(s.event and s.where for f in cfg.funnels.values() for s in f.steps)
    props = cfg.columns.properties.values()
    assert any("." in alias for p in props for alias in p.from_)
    assert any(len(p.from_) > 1 for p in props)
    assert {p.query is not None for p in props} == {True, False}
    assert {p.url for p in props} >= {"path", None}
    assert any(p.json_ for p in props)
    assert any(p.per_user for p in props)
    assert any(f.breakdown for f in cfg.funnels.values())
    assert (cfg.title, cfg.currency) == ("Example shop, October", "EUR")   # the HTML report's header and money


def test_example_config_shows_every_top_level_key():
    """Each key of the model's top level is set in the example or shown as a commented line
    (``# counting: posthog``), so a new key cannot be added without showing it there."""
    text = (ROOT / "funnels.example.yaml").read_text()
    shown = set(re.findall(r"^(?:# )?([a-z_]+):", text, flags=re.M))
    keys = {field.alias or name for name, field in Config.model_fields.items()}
    assert {"title", "currency", "counting"} <= keys
    assert keys - shown == set()


def test_funnel_options_parse(tmp_path):
    cfg = load_text(tmp_path, """
conversions:
  cart: {event: add_to_cart}
  refund: {event: refund}
funnels:
  f:
    steps: [{event: view}, {conversion: cart, within: 1h}, {event: buy, after: 10s, label: paid}]
    order: strict
    entry: first
    count: sessions
    exclude: [refund, {event: chat, between: [cart, paid]}, {event: x, between: [1, 2]}]
session_timeout: 45m
""")
    f = cfg.funnels["f"]
    assert (f.order, f.entry, f.count) == ("strict", "first", "sessions")
    assert f.steps[1].ref == "cart" and f.steps[1].within == timedelta(hours=1)
    assert f.steps[2].after == timedelta(seconds=10)
    assert [f.exclusion_bounds(x) for x in f.exclude] == [(0, 2), (1, 2), (0, 1)]
    assert f.exclude[0].ref == "refund" and f.exclude[1].event == ["chat"]
    assert cfg.session_timeout == timedelta(minutes=45)


def test_funnel_option_errors_are_located(tmp_path):
    errors = errors_of(tmp_path, """\
conversions:
  cart: {event: add_to_cart}
funnels:
  f:
    steps: [{event: view, within: 1h}, {conversion: crat}, {event: buy, after: 1h30m, within: 1h}]
    order: sideways
    exclude: [{conversion: refnd}, {event: r, between: [buy, nope]}, {event: r, between: [3, 1]}]
  g:
    steps: [{event: a}, {event: b, within: 5m}]
    order: any
""")
    assert errors == [
        "f.yaml:5:27: step 1 of funnel 'f' has no previous step, so it cannot have 'within' "
        "(limits apply to the time since the previous step; use the funnel's 'window')",
        "f.yaml:5:53: step 2 of funnel 'f' names unknown conversion 'crat' (did you mean 'cart'?)",
        "f.yaml:5:60: 'after' (1h30m) is longer than 'within' (1h): no event could match",
        "f.yaml:6:5: order must be one of 'ordered', 'strict', 'any', 'unordered', got 'sideways' "
        "(known values: any, ordered, strict, unordered)",
        "f.yaml:7:28: exclusion 1 of funnel 'f' names unknown conversion 'refnd' (known conversions: cart)",
        "f.yaml:7:62: 'nope' is not a step of funnel 'f' (known steps: buy, crat, view)",
        "f.yaml:7:90: 'between' must name an earlier step first, got steps 3 and 1",
        "f.yaml:9:36: 'within' needs a previous step, which order: any does not have "
        "(remove it, or use order: ordered or strict)",
    ]


def test_exclusions_need_two_steps(tmp_path):
    errors = errors_of(tmp_path, "funnels:\n  f:\n    steps: [{event: a}]\n    exclude: [{event: r}]\n")
    assert errors == ["f.yaml:4:5: funnel 'f' has exclusions but one step: an exclusion needs a step before "
                      "and after (add steps, or remove 'exclude')"]


@pytest.mark.parametrize("hold,message", [
    ("[user]", "f.yaml:4:5: cannot hold 'user' constant"),
    ("[p, p]", "f.yaml:4:5: 'p' is given twice in hold"),
    ("['']", "f.yaml:4:5: a held property name cannot be empty"),
    ("[$session]", "f.yaml:4:5: funnel 'f' holds $session constant, but the config names no session column"),
])
def test_hold_names_a_property_once(tmp_path, hold, message):
    """Rule 4.11.4: what cannot be held, each at its place in the file."""
    errors = errors_of(tmp_path, f"funnels:\n  f:\n    steps: [{{event: a}}, {{event: b}}]\n    hold: {hold}\n")
    assert len(errors) == 1 and errors[0].startswith(message), errors


def test_hold_takes_one_name_or_several():
    one = parse_config({"funnels": {"f": {"steps": [{"event": "a"}], "hold": "product_id"}}})
    two = parse_config({"funnels": {"f": {"steps": [{"event": "a"}], "hold": ["product_id", "$session"]}},
                        "columns": {"session": "sid"}})
    assert one.funnels["f"].hold == ("product_id",) and two.funnels["f"].hold == ("product_id", "$session")


@pytest.mark.parametrize("funnel,message", [
    ("steps: [{event: a, optional: true}, {event: b}, {event: c}]",
     "f.yaml:3:24: step 1 of funnel 'f' is its first step, which cannot be optional"),
    ("steps: [{event: a}, {event: b}, {event: c, optional: true}]",
     "f.yaml:3:48: step 3 of funnel 'f' is its last step, which cannot be optional"),
    ("steps: [{event: a}, {event: b, optional: true}, {event: c}]\n    order: strict",
     "f.yaml:3:36: funnel 'f' has an optional step, which order: strict does not support"),
    ("steps: [{event: a}, {event: b, optional: true, within: 1h}, {event: c}]",
     "f.yaml:3:52: step 2 of funnel 'f' is optional and cannot have 'within'"),
    ("steps: [{event: a}, {event: b, optional: true}, {event: c}]\n    exclude: [{event: r, between: [2, 3]}]",
     "f.yaml:4:36: 'between' names step 2, which is optional"),
])
def test_optional_steps_only_where_they_mean_something(tmp_path, funnel, message):
    """Rule 4.12.1, each error at its place in the file."""
    errors = errors_of(tmp_path, f"funnels:\n  f:\n    {funnel}\n")
    assert len(errors) == 1 and errors[0].startswith(message), errors


def test_counting_presets_fill_in_only_what_a_funnel_leaves_unset():
    """Rule 6.1: the top level's preset, a funnel's own, and the funnel's own options over both."""
    cfg = parse_config({"counting": "mixpanel", "funnels": {
        "a": {"steps": [{"event": "x"}, {"event": "y"}], "order": "any"},
        "b": {"steps": [{"event": "x"}, {"event": "y"}], "order": "any", "counting": "posthog"},
        "c": {"steps": [{"event": "x"}], "entry": "best_attempt", "open_windows": "in_progress"},
        "d": {"steps": [{"event": "x"}], "breakdown": "plan"}}})
    f = cfg.funnels
    assert (f["a"].entry, f["a"].order, f["a"].open_windows) == ("first", "any", "dropped")
    assert (f["b"].entry, f["b"].order, f["b"].open_windows) == ("best_attempt", "unordered", "dropped")
    assert (f["c"].entry, f["c"].open_windows, f["c"].counting) == ("best_attempt", "in_progress", "mixpanel")
    assert f["d"].breakdown.attribution == "first_defined"
    default = parse_config({"funnels": {"f": {"steps": [{"event": "x"}], "order": "any"}}}).funnels["f"]
    assert (default.entry, default.order, default.open_windows, default.counting) == (
        "best_attempt", "any", "in_progress", "microconv")


def test_unknown_counting_preset_is_located(tmp_path):
    errors = errors_of(tmp_path, "counting: posthg\nfunnels:\n  f:\n    steps: [{event: a}]\n")
    assert errors == ["f.yaml:1:1: counting must be one of 'microconv', 'posthog', 'mixpanel', 'amplitude', "
                      "'clickhouse', got 'posthg' (did you mean 'posthog'?)"]
