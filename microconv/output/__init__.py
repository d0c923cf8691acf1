"""Where output goes: the payload to stdout (streams), to a path (files) or as a report directory
(report_dir); everything else to stderr under one policy (streams)."""
from __future__ import annotations

from .files import atomic_write
from .report_dir import MANIFEST, write_report_dir
from .streams import GuardedStream, OutputPolicy

__all__ = ["atomic_write", "write_report_dir", "MANIFEST", "GuardedStream", "OutputPolicy"]
