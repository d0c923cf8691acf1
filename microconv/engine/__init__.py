"""The vectorised engine: canonical events in, result types out. Nothing here prints."""
