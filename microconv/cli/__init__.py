"""The command line: parse arguments, call the library, render. No counting here.

``app`` (the typer app) and ``main`` (the console entry point) live in ``cli.app``; each command
in a module of its own; shared options in ``cli.options``; errors become exit codes in
``cli.boundary`` alone.

Exit codes: 0 ok · 1 alert breached (``check``) · 2 usage · 3 config invalid ·
4 input data unreadable or not fitting the config · 5 cannot write output · 70 internal error.
"""
from .app import app, main

__all__ = ["app", "main"]
