"""The vectorised engine: canonical events in, replayed attempts out (``funnel.Replay``), which the
reports read. It imports nothing from reports, run, rendering, output or the command line. Nothing
here prints."""
