"""What one ``analyze`` run is asked for, as one frozen value: built once from the caller's
keyword arguments, so that every later stage reads the same choices and none re-parses them."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..reports import REPORT_NAMES

SCHEDULER_ENV = "MICROCONV_SCHEDULER"    # a Dask scheduler's address: the run goes there (run/dask.py)


@dataclass(frozen=True)
class Options:
    """The keyword arguments of :func:`microconv.analyze` (see there); the names are those that
    :class:`~microconv.errors.OptionError` reports (``option="trend"``)."""

    funnels: tuple[str, ...] | None = None
    strict: bool = False
    since: str | pd.Timestamp | None = None
    until: str | pd.Timestamp | None = None
    mature_only: bool = False
    macro: str | None = None
    by: str | tuple[str, ...] | None = None    # several: segments are their value combinations
    attribution: str | None = None
    top: int | None = None
    trend: str | None = None
    control: str | None = None                 # the micro report's segments are tested against this one
    as_of: str | None = None
    reports: tuple[str, ...] = REPORT_NAMES

    @property
    def micro_groups(self) -> bool:
        """The micro report is asked per segment or per period: it reads every row (7.6)."""
        return "micro" in self.reports and bool(self.by or self.trend)

    def __post_init__(self) -> None:
        if self.funnels is not None:
            object.__setattr__(self, "funnels", tuple(self.funnels))
        object.__setattr__(self, "reports", tuple(self.reports))
        if self.by is not None and not isinstance(self.by, str):
            object.__setattr__(self, "by", tuple(self.by))
