"""A funnel caveat may name a step (an optional step's label: config text), so Markdown escapes it."""
from __future__ import annotations

import pandas as pd

import microconv
from microconv.render.markdown import render_markdown

EPOCH = pd.Timestamp("2026-01-01", tz="UTC")


def test_optional_step_caveat_is_escaped_for_markdown():
    label = "<script>x</script> [a](http://e.x) *b*"
    cfg = microconv.parse_config({"columns": {"user": "u", "event": "e", "timestamp": "t"}, "funnels": {"f": {
        "steps": [{"event": "A"}, {"event": "B", "optional": True, "label": label}, {"event": "C"}],
        "window": "10s"}}})
    raw = pd.DataFrame({"u": ["u1", "u1", "u1"], "e": ["A", "B", "C"],
                        "t": [(EPOCH + pd.Timedelta(seconds=s)).isoformat() for s in (0, 1, 2)]})
    text = render_markdown(microconv.analyze(cfg, microconv.canonicalize(raw, cfg)[0], reports=("funnels",)))
    caveat = next(line for line in text.splitlines() if line.startswith("_optional step 2"))
    assert "<script>" not in caveat and "*b*" not in caveat and "\\[a\\]" in caveat   # no tag, emphasis, link
    assert "\\<script\\>" in caveat
