"""microconv: funnel and micro-conversion analysis of event logs.

    >>> import microconv
    >>> config = microconv.load_config("funnels.example.yaml")
    >>> events, quality = microconv.load_events(["examples/shop_events.csv"], config)
    >>> result = microconv.analyze(config, events, quality=quality)
    >>> result.steps_frame()            # one row per (funnel, step)
"""
from .api import analyze
from .config import Config, load_config, parse_config
from .errors import ConfigError, DataError, ExitCode, MicroconvError, OutputError
from .load.frame import Events
from .load.quality import DataQualityReport
from .load.scan import canonicalize, load_events
from .reports.results import AnalysisResult, FunnelResult, StepRow

__all__ = [
    "analyze", "load_config", "parse_config", "load_events", "canonicalize",
    "Config", "Events", "DataQualityReport", "AnalysisResult", "FunnelResult", "StepRow",
    "MicroconvError", "ConfigError", "DataError", "OutputError", "ExitCode",
]
__version__ = "0.1.0"
