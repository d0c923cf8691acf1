"""The README's config snippets are configs microconv accepts: a recipe that does not parse would
send every user of that export to a traceback or a config error on their first try."""
from __future__ import annotations

import re

import pytest
import yaml

import microconv
from conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
RECIPES = README[README.index("## Recipes: vendor exports"):README.index("## As a library")]
BLOCKS = re.findall(r"```yaml\n(.*?)```", RECIPES, flags=re.S)


def test_the_recipes_section_has_a_block_per_export():
    assert len(BLOCKS) == 6          # GA4 BigQuery, Mixpanel, Amplitude, Segment/RudderStack, PostHog, Snowplow


@pytest.mark.parametrize("block", BLOCKS, ids=[re.search(r"user: (.*)", b).group(1)[:30] for b in BLOCKS])
def test_each_recipe_is_a_valid_columns_block(block):
    data = yaml.safe_load(block)
    data["funnels"] = {"f": {"steps": [{"event": "purchase"}]}}
    microconv.parse_config(data)
