"""Loading: event files (or a DataFrame) in, the canonical ``Events`` frame and its quality report out.

``scan.load_events`` / ``scan.canonicalize`` drive it: ``sources`` and ``formats`` read files,
``columns`` plans which column each name is read from, ``ids``, ``timestamps`` and ``derived`` turn
raw columns into the frame's, ``quality`` counts the dropped rows, ``json_depth`` guards the JSON
parsers, and ``frame`` defines the result. The public names are exported by ``microconv`` itself;
this package imports nothing, so that the engine, which imports ``frame`` alone, loads nothing else
of loading.
"""
