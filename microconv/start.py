"""The ``microconv`` command's first step, taken before pandas and pyarrow are imported: the
process's memory settings (``microconv.memory``), whose heap warm-up then runs beside the imports."""
from __future__ import annotations

import sys

from . import memory


def main() -> None:
    memory.tune_for_one_run(sys.argv[1:])
    from .cli import main as run

    run()
