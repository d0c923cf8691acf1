"""Property values made from the values read: URL parts (semantics 8.1) and ``per_user`` values
(each user's first or last value). Values inside nested columns are read by ``load.paths``."""
from __future__ import annotations

import re

import pandas as pd

from ..config import Config
from .frame import map_distinct


_URL = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*:)?(?://(?P<host>[^/?#]*))?(?P<path>[^?#]*)")


def derive(raw: dict[str, pd.Series], config: Config) -> dict[str, pd.Series]:
    """URL parts of derived properties (8.1), computed once per distinct value."""
    for prop, spec in config.columns.properties.items():
        key = f"prop:{prop}"
        if key in raw and (spec.query or spec.url):
            raw[key] = _per_distinct(raw[key], lambda v: url_part(v, query=spec.query, part=spec.url))
    return raw


def url_part(url, *, query: str | None = None, part: str | None = None):
    """One query parameter (decoded), the path, or the lower-cased host of a URL; None when absent."""
    from urllib.parse import parse_qsl

    if not isinstance(url, str) or not url.strip():
        return None
    url = url.strip().split("#", 1)[0]
    match = _URL.match(url)
    if query is not None:
        _, _, rest = url.partition("?")
        for key, value in parse_qsl(rest, keep_blank_values=True):
            if key == query:
                return value or None
        return None
    if part == "host":
        host = (match.group("host") or "").rsplit("@", 1)[-1]
        host = host[:host.index("]") + 1] if host.startswith("[") and "]" in host else host.split(":", 1)[0]
        return host.lower() or None
    return match.group("path") or "/"


def _per_distinct(values: pd.Series, fn) -> pd.Series:
    values = values.astype("object")
    try:
        codes, results = map_distinct(values, fn)
    except TypeError:                       # JSON objects or lists in the column: not text, so no URL
        codes, results = map_distinct(values.where(values.map(lambda v: isinstance(v, str))), fn)
    return pd.Series(pd.Categorical.from_codes(codes, categories=pd.Index(results, dtype="string")))


def per_user(frame: pd.DataFrame, config: Config) -> pd.DataFrame:
    """``per_user`` properties: each user's first (or last) non-missing value in the order of rule 1.4."""
    for prop, spec in config.columns.properties.items():
        if spec.per_user is None or prop not in frame.columns:
            continue
        values = frame[prop]
        seen = frame.loc[values.notna().to_numpy(), ["user", "ts"]]
        if spec.per_user == "last":
            seen = seen.iloc[::-1]
        pick = (seen.groupby("user", observed=True, sort=False)["ts"]
                .agg("idxmax" if spec.per_user == "last" else "idxmin"))
        by_user = values.loc[pick.to_numpy()].set_axis(pick.index).reindex(frame["user"].cat.categories)
        frame[prop] = by_user.iloc[frame["user"].cat.codes.to_numpy()].set_axis(frame.index)
    return frame
