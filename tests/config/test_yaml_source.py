from __future__ import annotations

import pytest

from microconv.config.yaml_source import (
    SourceLocation,
    YamlSyntaxError,
    load_yaml,
    load_yaml_file,
)

# Line numbers are 1-based; the first line of CONFIG is line 1.
CONFIG = """\
# funnels under test
funnels:
  checkout:
    window: 30m
    steps:
      - view_product
      - {event: add_to_cart, min_count: 1}
      - event: purchase
        where: "amount > 0"
defaults: &defaults {window: 1h, dedupe: true}
signup: {<<: *defaults, window: 2h}
"""


@pytest.fixture
def source_map():
    data, smap = load_yaml(CONFIG, "funnels.yaml")
    assert data["funnels"]["checkout"]["steps"][2] == {"event": "purchase", "where": "amount > 0"}
    return smap


def at(line: int, column: int) -> SourceLocation:
    return SourceLocation("funnels.yaml", line, column)


def test_nested_mapping_keys(source_map):
    assert source_map.locate(("funnels",)) == at(2, 1)
    assert source_map.locate(("funnels", "checkout")) == at(3, 3)
    assert source_map.locate(("funnels", "checkout", "window")) == at(4, 5)


def test_sequence_items(source_map):
    steps = ("funnels", "checkout", "steps")
    assert source_map.locate((*steps, 0)) == at(6, 9)
    assert source_map.locate((*steps, 1)) == at(7, 9)
    assert source_map.locate((*steps, 1, "min_count")) == at(7, 30)
    assert source_map.locate((*steps, 2)) == at(8, 9)
    assert source_map.locate((*steps, 2, "where")) == at(9, 9)


def test_missing_key_falls_back_to_parent(source_map):
    assert source_map.locate(("funnels", "checkout", "name")) == at(3, 3)
    assert source_map.locate(("funnels", "checkout", "steps", 7)) == at(5, 5)
    assert source_map.locate(("funnels", "checkout", "steps", "x")) == at(5, 5)
    assert source_map.locate(("nope", "deeper")) == at(1, 1)


def test_root_is_first_line(source_map):
    assert source_map.locate(()) == at(1, 1)
    assert source_map.locate_value(()) == at(1, 1)


def test_locate_value_points_at_value(source_map):
    assert source_map.locate(("funnels", "checkout", "window")) == at(4, 5)
    assert source_map.locate_value(("funnels", "checkout", "window")) == at(4, 13)
    assert source_map.locate_value(("funnels", "checkout", "steps")) == at(6, 7)
    assert source_map.locate_value(("funnels", "checkout", "steps", 1, "min_count")) == at(7, 41)
    # a sequence item has no key: both point at the item
    assert source_map.locate_value(("funnels", "checkout", "steps", 2)) == at(8, 9)


def test_merge_keys_resolve_to_where_the_value_was_written(source_map):
    assert source_map.locate(("signup", "window")) == at(11, 25)
    assert source_map.locate(("signup", "dedupe")) == at(10, 34)


def test_duplicate_top_level_key():
    with pytest.raises(YamlSyntaxError) as info:
        load_yaml("window: 1h\nsteps: []\nwindow: 2h\n", "c.yaml")
    assert info.value.location == SourceLocation("c.yaml", 3, 1)
    assert info.value.message == "duplicate key 'window' (first defined at line 1)"


def test_duplicate_nested_key():
    text = "funnels:\n  checkout:\n    window: 1h\n    steps: []\n    window: 2h\n"
    with pytest.raises(YamlSyntaxError) as info:
        load_yaml(text, "c.yaml")
    assert str(info.value) == "c.yaml:5:5: duplicate key 'window' (first defined at line 3)"


def test_duplicate_key_inside_sequence_item():
    with pytest.raises(YamlSyntaxError) as info:
        load_yaml("steps:\n  - event: a\n    event: b\n", "c.yaml")
    assert str(info.value) == "c.yaml:3:5: duplicate key 'event' (first defined at line 2)"


def test_merge_override_is_not_a_duplicate():
    data, _ = load_yaml("base: &b {a: 1}\nuse: {<<: *b, a: 2}\n", "c.yaml")
    assert data["use"] == {"a": 2}


def test_unclosed_bracket():
    with pytest.raises(YamlSyntaxError) as info:
        load_yaml("steps: [view, cart\nwindow: 1h\n", "c.yaml")
    assert info.value.location == SourceLocation("c.yaml", 2, 7)
    assert "expected ',' or ']'" in info.value.message
    assert "flow sequence at line 1" in info.value.message
    assert "\n" not in info.value.message


def test_bad_indentation():
    with pytest.raises(YamlSyntaxError) as info:
        load_yaml("funnels:\n  checkout: 1\n cart: 2\n", "c.yaml")
    assert info.value.location == SourceLocation("c.yaml", 3, 2)
    assert "expected <block end>" in info.value.message


def test_tab_indentation():
    with pytest.raises(YamlSyntaxError) as info:
        load_yaml("funnels:\n\tcheckout: 1\n", "c.yaml")
    assert info.value.location == SourceLocation("c.yaml", 2, 1)
    assert "'\\t'" in info.value.message


def test_control_character():
    with pytest.raises(YamlSyntaxError) as info:
        load_yaml("a: 1\nb: \x07\n", "c.yaml")
    assert info.value.location == SourceLocation("c.yaml", 2, 4)


def test_unsafe_tag_is_rejected():
    with pytest.raises(YamlSyntaxError, match=r"the tag !!python/object/apply:os.system is not allowed") as caught:
        load_yaml("a: !!python/object/apply:os.system [echo hi]\n", "c.yaml")
    assert caught.value.location == SourceLocation("c.yaml", 1, 4)


@pytest.mark.parametrize("text", ["", "\n", "# only a comment\n"])
def test_empty_document(text):
    data, smap = load_yaml(text, "c.yaml")
    assert data is None
    assert smap.locate(("funnels",)) == SourceLocation("c.yaml", 1, 1)


def test_non_string_keys_follow_safeloader():
    data, smap = load_yaml("on: push\n8080: web\n", "c.yaml")
    assert data == {True: "push", 8080: "web"}
    assert smap.locate((8080,)) == SourceLocation("c.yaml", 2, 1)


def test_keys_equal_after_yaml_11_resolution_are_duplicates():
    with pytest.raises(YamlSyntaxError) as info:
        load_yaml("yes: a\non: b\n", "c.yaml")
    assert str(info.value) == "c.yaml:2:1: duplicate key True (first defined at line 1)"


def test_str_formats():
    location = SourceLocation("conf/funnels.yaml", 12, 7)
    assert str(location) == "conf/funnels.yaml:12:7"
    error = YamlSyntaxError(location, "duplicate key 'a' (first defined at line 3)")
    assert str(error) == "conf/funnels.yaml:12:7: duplicate key 'a' (first defined at line 3)"


def test_load_yaml_file(tmp_path):
    path = tmp_path / "funnels.yaml"
    path.write_text("funnels:\n  checkout:\n    window: 30m\n", encoding="utf-8")
    data, smap = load_yaml_file(path)
    assert data == {"funnels": {"checkout": {"window": "30m"}}}
    assert smap.locate(("funnels", "checkout", "window")) == SourceLocation(str(path), 3, 5)
