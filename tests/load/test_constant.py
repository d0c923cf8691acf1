"""A constant in the event alias list (docs/semantics.md 1.10): a file without an event column
(Segment's pages table) read beside one with it (its tracks table)."""
from __future__ import annotations

import pandas as pd
import pydantic
import pytest

import microconv

CONFIG = {"columns": {"user": "anonymous_id", "event": ["event", {"constant": "page_view"}], "timestamp": "timestamp"},
          "funnels": {"f": {"steps": [{"event": "page_view"}, {"event": "Order Completed"}], "window": "1h"}}}


def write(tmp_path, kind: str):
    pages = pd.DataFrame({"anonymous_id": ["a1", "a2"], "path": ["/shoes", "/"],
                          "timestamp": ["2026-03-01T10:00:00Z", "2026-03-01T10:05:00Z"]})
    tracks = pd.DataFrame({"anonymous_id": ["a1"], "event": ["Order Completed"], "timestamp": ["2026-03-01T10:02:00Z"]})
    if kind == "parquet":
        pages.to_parquet(tmp_path / "pages.parquet")
        return tmp_path / "pages.parquet", tracks.to_csv(tmp_path / "tracks.csv", index=False) or tmp_path / "tracks.csv"
    pages.to_csv(tmp_path / "pages.csv", index=False)
    tracks.to_csv(tmp_path / "tracks.csv", index=False)
    return tmp_path / "pages.csv", tmp_path / "tracks.csv"


@pytest.mark.parametrize("kind", ["csv", "parquet"])
@pytest.mark.parametrize("first", ["pages", "tracks"])
def test_pages_read_as_page_view_beside_tracks(tmp_path, kind, first):
    pages, tracks = write(tmp_path, kind)
    config = microconv.parse_config(CONFIG)
    files = [pages, tracks] if first == "pages" else [tracks, pages]
    events, _ = microconv.load_events(files, config)
    assert sorted(map(tuple, events.frame[["user", "event"]].astype(str).values.tolist())) == [
        ("a1", "Order Completed"), ("a1", "page_view"), ("a2", "page_view")]
    assert [s.users for s in microconv.analyze(config, events).funnels[0].steps] == [2, 1]


def test_a_column_wins_over_the_constant_after_it(tmp_path):
    _, tracks = write(tmp_path, "csv")
    events, _ = microconv.load_events([tracks], microconv.parse_config(CONFIG))
    assert list(events.frame["event"].astype(str)) == ["Order Completed"]


@pytest.mark.parametrize("bad", [{"constant": ""}, {"constant": "x", "also": 1}, {"value": "x"}])
def test_a_malformed_constant_is_a_config_error(bad):
    with pytest.raises((microconv.ConfigError, pydantic.ValidationError)):
        microconv.parse_config({**CONFIG, "columns": {**CONFIG["columns"], "event": ["event", bad]}})
