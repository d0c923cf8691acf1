"""The package's public names are its modules' own objects, and ``*`` gives exactly ``__all__``."""
from __future__ import annotations

import microconv


def test_names_are_their_modules_objects():
    from microconv import api, config
    from microconv.load import scan
    from microconv.reports import results

    assert microconv.analyze is api.analyze
    assert microconv.load_config is config.load_config
    assert microconv.load_events is scan.load_events
    assert microconv.FunnelResult is results.FunnelResult


def test_star_import_gives_every_public_name():
    names: dict = {}
    exec("from microconv import *", names)
    public = sorted(n for n in names if not n.startswith("__"))
    assert public == sorted(microconv.__all__)
    assert all(callable(getattr(microconv, n)) for n in microconv.__all__)
