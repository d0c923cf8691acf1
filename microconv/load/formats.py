"""Which files are event logs, and in what format, by their names (free of pyarrow)."""
from __future__ import annotations

from pathlib import Path

COMPRESSIONS = (".gz", ".bz2", ".zst", ".lz4")
FORMATS = {
    ".csv": "csv", ".tsv": "csv", ".txt": "csv",
    ".parquet": "parquet", ".pq": "parquet",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
}


def format_of(path: str | Path) -> str | None:
    """"csv", "parquet" or "jsonl" by the file's suffix (a compression suffix aside); None if unknown."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] in COMPRESSIONS:
        suffixes = suffixes[:-1]
    return FORMATS.get(suffixes[-1]) if suffixes else None
