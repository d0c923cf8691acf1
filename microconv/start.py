"""The ``microconv`` command's first step, taken before pandas and pyarrow are imported: the
process's memory settings (``microconv.memory``), whose heap warm-up then runs beside the imports."""
from __future__ import annotations

import sys

from . import memory


def main() -> None:
    try:
        warmup = memory.tune_for_one_run(sys.argv[1:])
    except Exception:           # only ever a speed-up: never the reason a run fails
        warmup = None
    from .cli import main as run

    if warmup is not None:
        warmup.finish()
    run()
