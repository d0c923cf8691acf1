"""microconv: funnel and micro-conversion analysis of event logs.

    >>> import microconv
    >>> config = microconv.load_config("funnels.example.yaml")
    >>> events, quality = microconv.load_events(["examples/shop_events.csv"], config)
    >>> result = microconv.analyze(config, events, quality=quality)
    >>> result.steps_frame()            # one row per (funnel, step)

The names below are imported on first use (PEP 562), so that ``import microconv`` stays light:
the command line starts its memory warm-up (``microconv.memory``) before pandas and pyarrow load.
"""
import importlib as _importlib
from typing import TYPE_CHECKING as _TYPE_CHECKING

_WHERE = {
    "analyze": "api",
    "load_config": "config", "parse_config": "config", "Config": "config",
    "ConfigError": "errors", "DataError": "errors", "ExitCode": "errors", "MicroconvError": "errors",
    "OutputError": "errors",
    "DataQualityReport": "events", "Events": "events", "canonicalize": "events", "load_events": "events",
    "AnalysisResult": "results", "FunnelResult": "results", "StepRow": "results",
}

__all__ = [
    "analyze", "load_config", "parse_config", "load_events", "canonicalize",
    "Config", "Events", "DataQualityReport", "AnalysisResult", "FunnelResult", "StepRow",
    "MicroconvError", "ConfigError", "DataError", "OutputError", "ExitCode",
]
__version__ = "0.1.0"

if _TYPE_CHECKING:
    from .api import analyze
    from .config import Config, load_config, parse_config
    from .errors import ConfigError, DataError, ExitCode, MicroconvError, OutputError
    from .events import DataQualityReport, Events, canonicalize, load_events
    from .results import AnalysisResult, FunnelResult, StepRow


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'microconv' has no attribute {name!r}")
    value = getattr(_importlib.import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*__all__, *(name for name in globals() if name.startswith("__"))})
