"""The package's names load on first use (PEP 562): the same objects as their modules', and
``import microconv`` alone imports neither pandas nor pyarrow."""
from __future__ import annotations

import subprocess
import sys

import pytest

import microconv


def test_names_are_their_modules_objects():
    from microconv import api, config, events, results

    assert microconv.analyze is api.analyze
    assert microconv.load_config is config.load_config
    assert microconv.load_events is events.load_events
    assert microconv.FunnelResult is results.FunnelResult


def test_star_import_gives_every_public_name():
    names: dict = {}
    exec("from microconv import *", names)
    assert sorted(n for n in names if not n.startswith("__")) == sorted(microconv.__all__)
    assert set(microconv.__all__) <= set(dir(microconv))


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'anlyze'"):
        microconv.anlyze  # noqa: B018


def test_importing_the_package_alone_stays_light():
    probe = "import sys, microconv; print('pandas' in sys.modules, 'pyarrow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
