"""Human formatting shared by the table and Markdown renderers."""
from __future__ import annotations

import math


def pct(rate: float) -> str:
    return "" if rate is None or math.isnan(rate) else f"{rate * 100:.1f}%"


def duration(seconds: float) -> str:
    """Two most significant units: ``45s``, ``3m 20s``, ``2h 5m``, ``3d 4h``."""
    if seconds is None or math.isnan(seconds):
        return ""
    s = int(round(seconds))
    if s < 60:
        return f"{seconds:.1f}s" if seconds < 10 and seconds != s else f"{s}s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if s >= size:
            parts.append(f"{s // size}{unit}")
            s %= size
    return " ".join(parts[:2])


def bar(rate: float, width: int = 20) -> str:
    if rate is None or math.isnan(rate):
        return ""
    full = rate * width
    blocks = int(full)
    return "█" * blocks + ("▌" if full - blocks >= 0.5 else "")
