"""reports.REGISTRY is the one list of reports: its tables' columns are what the frames hold."""
from __future__ import annotations

from conftest import ROOT

import microconv
from microconv.reports import REGISTRY, REPORT_NAMES, TABLES, report_of


def example_result():
    config = microconv.load_config(ROOT / "funnels.example.yaml")
    events, quality = microconv.load_events([ROOT / "examples" / "shop_events.csv"], config,
                                            extra_properties=["channel"])
    return microconv.analyze(config, events, quality=quality, by="channel", trend="week")


def test_every_table_holds_exactly_its_registered_columns():
    result = example_result()
    for name, table in TABLES.items():
        assert table.present(result), name
        frame = table.frame(result)
        assert tuple(frame.columns) == table.columns, name
        assert len(frame) > 0, name


def test_a_table_belongs_to_the_report_that_computes_it():
    assert REPORT_NAMES == ("funnels", "micro", "time", "breakdown", "trend")
    assert report_of("breakdown_steps").name == "breakdown"
    assert [report_of(t).name for t in TABLES] == ["funnels", "micro", "time", "breakdown", "breakdown", "trend"]
    assert [r.name for r in REGISTRY if r.counts_users] == ["micro"]


def test_an_empty_result_has_none_of_the_tables():
    empty = microconv.AnalysisResult(())
    assert not any(t.present(empty) for t in TABLES.values())
    assert tuple(TABLES["micro"].frame(empty).columns) == TABLES["micro"].columns
