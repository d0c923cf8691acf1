"""Event files behind fsspec URLs (``s3://``, ``gs://``, ``az://``, ``https://``): listed, and
copied to a local spool before they are read.

Why a local copy rather than a stream: the local readers cut an uncompressed CSV at line
breaks through ``mmap`` and read Parquet row groups two at a time, which is what makes them fast;
one sequential download followed by that read is faster than Arrow seeking through a remote
object, and every per-file rule (aliases, JSON paths, ids, timestamps, line numbers in errors)
stays the one code path. Local paths never come here. The copies live in one temporary
directory (under ``TMPDIR``) removed when the process ends; on a Dask cluster each worker
copies only the files of its own partitions.

Credentials and endpoints come from the filesystem packages' standard environment
(``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ``GOOGLE_APPLICATION_CREDENTIALS``,
``AZURE_STORAGE_CONNECTION_STRING`` ...): nothing here reads or stores a secret.
"""
from __future__ import annotations

import atexit
import glob
import re
import shutil
import tempfile
import threading
from pathlib import Path, PurePosixPath

from ..errors import DataError, UsageError

_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+)://")
# protocol -> the extra that installs its filesystem package
EXTRAS = {"s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs", "az": "azure", "abfs": "azure", "abfss": "azure",
          "adl": "azure", "http": "s3", "https": "s3"}
_spool: list[str] = []
_copies: dict[tuple, Fetched] = {}       # (url, size, etag, modified) -> its local copy
_lock = threading.Lock()


def url_of(raw: object) -> str | None:
    """``raw`` as a remote URL, or None for a local path. A ``scheme://`` address other than
    ``file://``; also as a ``Path`` (the command line's arguments are), which folds the ``//`` to
    one slash (``s3:/bucket/key``), unless a local file of that name exists."""
    text = str(raw)
    if not isinstance(raw, str):
        folded = re.match(r"^([A-Za-z][A-Za-z0-9+.-]+):/(?!/)", text)
        if folded is None or Path(text).exists():
            return None
        text = f"{folded.group(1)}://{text[folded.end():]}"
    match = _URL.match(text)
    return text if match is not None and match.group(1).lower() != "file" else None


def local_of(raw: str | Path) -> str | Path:
    """``file://`` URLs as the local path they name; everything else unchanged."""
    return raw[len("file://"):] if isinstance(raw, str) and raw.lower().startswith("file://") else raw


class Fetched(type(Path())):
    """The local copy of a remote file, which prints as its URL: messages, line numbers and the
    run's sources name the object the user gave, while every reader opens the copy."""

    url: str | None = None

    def __str__(self) -> str:
        return self.url if self.url is not None else super().__str__()

    def __fspath__(self) -> str:
        return super().__str__()

    def __repr__(self) -> str:
        return f"Fetched({self.url!r})"


def filesystem(url: str):
    """The fsspec filesystem of ``url`` and the path inside it.

    Raises:
        UsageError: fsspec or the protocol's package is not installed (naming the extra to install).
    """
    protocol = _URL.match(url).group(1).lower()
    extra = EXTRAS.get(protocol, "s3")
    hint = f"pip install 'microconv[{extra}]'"
    try:
        import fsspec
    except ImportError:
        raise UsageError(f"reading {protocol}:// needs fsspec, which is not installed", hint=hint) from None
    try:
        return fsspec.core.url_to_fs(url)
    except ImportError as exc:
        raise UsageError(f"reading {protocol}:// needs a package that is not installed ({exc})".replace("\n", " "),
                         hint=hint) from None
    except ValueError as exc:
        raise UsageError(f"cannot read {protocol}:// URLs: {exc}", where=url, hint=hint) from None


def expand_url(url: str) -> list[str]:
    """The files ``url`` names, as URLs: itself, a glob pattern's matches or a directory's files
    (sorted, hidden and ``_``-prefixed ones left out, as for local directories).

    Raises:
        DataError: nothing is there, or the store refuses the listing (credentials, endpoint).
    """
    fs, path = filesystem(url)
    protocol = url[:url.index("://") + 3]

    def full(p: str) -> str:
        return p if _URL.match(p) else protocol + p.lstrip("/") if protocol != "file://" else p

    try:
        if glob.has_magic(path):
            found = sorted(p for p in fs.glob(path) if fs.isfile(p))
            if not found:
                raise DataError("no file matches this pattern", where=url)
            return [full(p) for p in found]
        if fs.isdir(path):
            found = sorted(p for p in fs.find(path) if not PurePosixPath(p).name.startswith((".", "_")))
            if not found:
                raise DataError("directory holds no files", where=url)
            return [full(p) for p in found]
        if not fs.exists(path):
            raise DataError("file not found", where=url, hint="check the bucket and key, and AWS_ENDPOINT_URL "
                                                               "(or your store's endpoint) if it is not the default")
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001 - every store has its own errors: one line naming it
        raise _store_error(exc, url) from None
    return [url]


def fetch(url: str) -> Fetched:
    """A local copy of the file at ``url`` (its name kept, so its suffix still tells its format).
    The copy of an unchanged object (same size, ETag or modification time) is reused: a cluster
    worker reads several runs of row groups of one Parquet file.

    Raises:
        DataError: the object cannot be read.
    """
    fs, path = filesystem(url)
    name = PurePosixPath(path).name or "object"
    try:
        info = fs.info(path)
    except Exception as exc:  # noqa: BLE001
        raise _store_error(exc, url) from None
    version = (url, info.get("size"), str(info.get("ETag") or info.get("etag") or ""),
               str(info.get("LastModified") or info.get("mtime") or info.get("last_modified") or ""))
    with _lock:
        if version in _copies and _copies[version].exists():
            return _copies[version]
        if not _spool:
            _spool.append(tempfile.mkdtemp(prefix="microconv-remote-"))
            atexit.register(shutil.rmtree, _spool[0], True)
        target = Path(tempfile.mkdtemp(dir=_spool[0])) / name
    try:
        fs.get_file(path, str(target))
    except Exception as exc:  # noqa: BLE001
        raise _store_error(exc, url) from None
    local = Fetched(target)
    local.url = url
    with _lock:
        _copies[version] = local
    return local


def _store_error(exc: Exception, url: str) -> DataError:
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return DataError(f"cannot read from the store: {type(exc).__name__}: {text}", where=url,
                     hint="check the URL, the credentials (e.g. AWS_ACCESS_KEY_ID / AWS_PROFILE) "
                          "and the endpoint (AWS_ENDPOINT_URL)")
