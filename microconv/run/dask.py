"""A planned run on a Dask cluster: partitions of users -> every report's partial -> a tree of
merges on the cluster -> finalize here. The numbers are those of the one pass (``run/local``):
the same readers, the same engine, the same partials, over disjoint sets of users.

The stages, none of which brings the events to the client:

1. **read**: one task per input file reads it with the local readers (``load_events``, so every
   per-file rule is the same: aliases, JSON paths, ids, timestamps, the quality checks and their
   line numbers) and cuts its rows into P buckets by a hash of the user id's text, keeping row order
   within each bucket (rule 1.4's tie-breaker). The task keeps the buckets on its worker and hands
   the client only the file's facts: its event names in order of first appearance, its categories,
   its data-quality report, its last timestamp.
2. **global facts** (on the client, from those facts alone): the event-name categories, and every
   categorical property's, as one pass over the files in order would make them, so that all
   partitions share codes; the end of the data T (and ``--as-of``'s cut); the merged quality report.
3. **assemble**: partition p concatenates bucket p of every file, in file order, recoded to the
   global categories; users are in exactly one partition. Its row count, distinct users and time
   range are the summary's terms (disjoint, so they add).
4. **partials**: the plan is made once, on the client, from an empty frame with the global
   categories and the global summary (``RunPlan`` reads nothing else of the events); each partition
   runs ``local.partials`` with it, then partials merge pairwise on the cluster, and the client
   finalizes the one that is left.

``per_user`` properties are read as plain values and chosen per user after the shuffle, when a
partition holds every row of its users (before ``--as-of``'s cut, as in one process). Refused for
now, with a clear error: identity stitching (``columns.user: {known, anonymous}``: the unit is
decided across files before any hash). A file is one read task, but a Parquet file of many row
groups is read in runs of about READ_ROWS rows; a large CSV or JSON Lines file is read
by one worker (split it, or convert it to Parquet, to spread the read).

``analyze`` and ``check`` run through :func:`microconv.analyze` on :class:`ClusterEvents`;
``paths``, ``users`` and ``drivers`` through :meth:`ClusterEvents.partials` (their report
module's partial per partition, merged in the same tree).
"""
from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from ..config import Config
from ..errors import OPTION, DataError, MicroconvError, OptionError, UsageError
from ..load.frame import Events, LogSummary
from ..load.quality import DataQualityReport
from .options import SCHEDULER_ENV, Options

PARTITION_ROWS = 1 << 20       # events per partition when --partitions is not given (README: ~0.2 GB of a worker)
READ_ROWS = 1 << 21            # rows per read task of a Parquet file, at least one row group (~0.4 GB to read)
CSV_ROW_BYTES = 60             # bytes per row of a text log, to guess its rows from its size
RETRIES = 2                    # Dask's retries of a task whose worker was lost, or that failed


def _dask():
    """distributed, or a usage error naming the extra that installs it."""
    try:
        import distributed
    except ImportError:
        raise UsageError("--workers and --scheduler need Dask, which is not installed",
                         hint="pip install 'microconv[dask]'") from None
    return distributed


class Cluster:
    """A Dask client: of the scheduler at ``scheduler``, or of a local cluster of ``workers`` worker
    processes (one thread each: the engine is numpy, and processes keep memory per worker bounded)
    started here. Closed by :meth:`close`, on leaving a ``with``, or when no longer referenced
    (the events read on it hold it), so a command's cluster ends with the command.

    Raises:
        UsageError: Dask is not installed; both or neither of ``workers`` and ``scheduler``; the
            scheduler cannot be reached.
    """

    def __init__(self, workers: int | None = None, scheduler: str | None = None, memory_limit: str | None = None,
                 partitions: int | None = None, progress: bool = False):
        import logging
        import weakref

        distributed = _dask()
        if (workers is None) == (scheduler is None):
            raise OptionError("give --workers N (a cluster on this machine) or --scheduler ADDRESS, not both",
                              option="workers")
        if partitions is not None and partitions < 1:
            raise OptionError(f"--partitions must be at least 1, not {partitions}", option="partitions")
        self.partitions, self.progress, local = partitions, progress, None
        if scheduler is not None:
            try:
                self.client = distributed.Client(scheduler, timeout="10s", set_as_default=False)
            except (OSError, TimeoutError) as exc:
                raise UsageError(f"cannot reach the Dask scheduler at {scheduler}: {exc}".splitlines()[0],
                                 hint="start one with `dask scheduler` and workers with `dask worker ADDRESS`, "
                                      f"or unset {SCHEDULER_ENV}") from None
        else:
            if workers < 1:
                raise OptionError(f"--workers must be at least 1, not {workers}", option="workers")
            try:
                local = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                                 memory_limit=memory_limit or "auto", dashboard_address=None,
                                                 silence_logs=logging.CRITICAL)
            except ValueError as exc:
                raise OptionError(f"--memory-limit: {exc}", option="memory_limit") from None
            self.client = distributed.Client(local, set_as_default=False)
        self._closer = weakref.finalize(self, _close, self.client, local)

    def close(self) -> None:
        self._closer()

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def load_events(self, paths: Sequence[object], config: Config, *, input_format: str | None = None,
                    extra_properties: Sequence[str] = (), only_events: Iterable[str] | None = None,
                    count_users: bool = True) -> tuple[ClusterEvents, DataQualityReport]:
        """Like :func:`microconv.load_events`: the events stay on the cluster, in partitions of
        users (stages 1-3 of the module docstring); pass them to :func:`microconv.analyze`."""
        return load_events(self, paths, config, input_format=input_format, extra_properties=extra_properties,
                           only_events=only_events, count_users=count_users)


def _close(client, local) -> None:
    """Closes what a command used; a cluster already gone (its scheduler stopped) cannot change
    the command's outcome, which is decided and written before this runs."""
    for thing in (client, local):
        try:
            if thing is not None:
                thing.close()
        except Exception:  # noqa: BLE001 - nothing left to tell the user
            pass


def inputs(paths: Sequence[object]) -> list[str]:
    """The files the events are in, as paths or URLs each worker can open, in the order given
    (listed here; read there)."""
    from ..load import remote
    from ..load.sources import expand_paths

    out: list[str] = []
    for raw in paths:
        url = remote.url_of(raw)
        out.extend(remote.expand_url(url) if url else (os.fspath(p) for p in expand_paths([raw])))
    return out


def read_units(files: Sequence[str], input_format: str | None) -> tuple[list[tuple[str, tuple[int, int] | None]], int]:
    """The read tasks (a file, or a run of row groups of a Parquet file of about READ_ROWS rows,
    so that no task holds a large file) and the input's rows (a text file's guessed from its size)."""
    from ..load import remote
    from ..load.sources import detect_format

    units: list[tuple[str, tuple[int, int] | None]] = []
    rows = 0
    for f in files:
        url = remote.url_of(f)
        fs, path = remote.filesystem(url) if url else (None, f)
        if (input_format or detect_format(Path(path))) != "parquet":
            rows += (int(fs.size(path) or 0) if fs else os.path.getsize(f)) // CSV_ROW_BYTES
            units.append((f, None))
            continue
        import pyarrow.parquet as pq
        try:
            if fs is None:
                meta = pq.ParquetFile(f).metadata
            else:
                with fs.open(path, "rb") as handle:
                    meta = pq.ParquetFile(handle).metadata
        except Exception:  # noqa: BLE001 - the read task reports it, naming the file
            units.append((f, None))
            continue
        rows += meta.num_rows
        start, held = 0, 0
        for i in range(meta.num_row_groups):
            held += meta.row_group(i).num_rows
            if held >= READ_ROWS and i + 1 < meta.num_row_groups:
                units.append((f, (start, i + 1)))
                start, held = i + 1, 0
        units.append((f, (start, max(meta.num_row_groups, start + 1))) if start else (f, None))
    return units, rows


def partitions_for(rows: int, workers: int) -> int:
    """P from the input's rows: about PARTITION_ROWS each, at least two per worker."""
    return max(2 * workers, math.ceil(rows / PARTITION_ROWS), 1)


# ---- the tasks (run on the workers) ----

class _Read(NamedTuple):
    """One file, read: its rows in P buckets by user hash, and what the client needs of it. A
    tuple, so that Dask's ``sizeof`` sees the buckets' bytes (a worker spills what it can measure)."""

    buckets: list[pd.DataFrame]
    facts: _Facts


@dataclass
class _Facts:
    names: list[str]                                   # event names in order of first appearance
    categories: dict[str, list | None]                 # per column: categories, None if not categorical
    report: DataQualityReport
    last_ts: int | None
    log: LogSummary                                    # every usable row's (users not counted)
    empty: dict[str, str] = field(default_factory=dict)   # per property: its "no value in any row" line
    source: str = ""
    plan: dict = field(default_factory=dict)               # per property: the (column, path) read here
    columns: list[str] = field(default_factory=list)       # the file's columns


class PartitionFailed(Exception):
    """A task's domain error, carried to the client as plain values (they always pickle)."""

    def __init__(self, message: str, where: str | None, hint: str | None, exit_code: int):
        super().__init__(message, where, hint, exit_code)
        self.message, self.where, self.hint, self.exit_code = message, where, hint, exit_code


def _guarded(what: str, task: Callable, *args):
    """``task(*args)``; a domain error travels as :class:`PartitionFailed`, a bug as a one-line
    RuntimeError naming the partition (Dask retries neither: both would fail again)."""
    try:
        return task(*args)
    except MicroconvError as exc:
        first = exc.problems[0]
        raise PartitionFailed(first.message, first.where or what, first.hint, int(exc.exit_code)) from None
    except Exception as exc:  # noqa: BLE001
        raise RuntimeError(f"{what}: {type(exc).__name__}: {exc}".splitlines()[0]) from None


def _read_file(unit: tuple[str, tuple[int, int] | None], config: Config, input_format: str | None,
               extra_properties: tuple[str, ...], parts: int, only_events: tuple[str, ...] | None,
               count_users: bool) -> _Read:
    from ..load import remote
    from ..load.columns import needed_properties, plan_of
    from ..load.scan import load_events
    from ..load.sources import Source

    source, groups = unit
    url = remote.url_of(source)
    local = remote.fetch(url) if url else Path(source)
    plain = _values_as_read(config)
    src = Source.open(local, input_format)
    plan = {k: v for k, v in plan_of(src, plain, needed_properties(plain, extra_properties)).items()
            if k.startswith("prop:")}
    # Users are counted per partition, where all of each one's rows are (a file's count would not
    # add up): from the rows themselves, or, when rows are left out, from every row's ids kept in
    # the categories (``every_id``), which travel with the buckets.
    every = only_events is not None and count_users
    events, report = load_events([local], plain, input_format=input_format, extra_properties=extra_properties,
                                 only_events=only_events, count_users=every, every_id=every, row_groups=groups,
                                 one_of_many=True)
    frame = events.frame
    empty = {line.split(": ", 1)[0]: line for line in report.empty}
    report.empty = []
    facts = _Facts(list(frame["event"].cat.categories), {
        col: (list(frame[col].cat.categories) if isinstance(frame[col].dtype, pd.CategoricalDtype) else None)
        for col in frame.columns if col not in ("user", "event")}, report, events.summary.last_ts, events.summary, empty,
        source, plan, src.columns)
    return _Read(_buckets(frame, parts, keep_ids=every), facts)


def _values_as_read(config: Config) -> Config:
    """The config with its ``per_user`` properties read as the values on each row: a user's first
    (or last) value is chosen once the partition holds all of the user's rows (``_assemble``)."""
    props = config.columns.properties
    if not any(spec.per_user for spec in props.values()):
        return config
    plain = {name: spec.model_copy(update={"per_user": None}) if spec.per_user else spec for name, spec in props.items()}
    return config.model_copy(update={"columns": config.columns.model_copy(update={"properties": plain})})


def _buckets(frame: pd.DataFrame, parts: int, keep_ids: bool = False) -> list[pd.DataFrame]:
    """The rows of each user hash bucket, in file order. The hash is of the id's text, so an id
    read as a number from one file and as text from another lands in one bucket. Each bucket's
    ids are only its own users' (it travels to another worker), in the file's category order: an
    id is in one bucket, so its code there is its rank among that bucket's ids. ``keep_ids``: ids
    no row has stay in their bucket's categories (the users of rows left out, to be counted)."""
    users = frame["user"]
    if not keep_ids and not np.bincount(users.cat.codes.to_numpy(), minlength=len(users.cat.categories)).all():
        users = users.cat.remove_unused_categories()
    ids = users.cat.categories
    text = np.asarray(ids.astype(str), dtype=object)
    small = np.uint16 if parts <= np.iinfo(np.uint16).max else np.int64    # (a stable sort of 16 bits is a radix sort)
    bucket_of = (pd.util.hash_array(text) % np.uint64(parts)).astype(small)
    codes = users.cat.codes.to_numpy()
    rows = bucket_of.take(codes)
    order = np.argsort(rows, kind="stable")
    bounds = np.searchsorted(rows[order], np.arange(parts + 1))
    by_bucket = np.argsort(bucket_of, kind="stable")
    starts = np.searchsorted(bucket_of[by_bucket], np.arange(parts + 1))
    rank = np.empty(len(ids), dtype=codes.dtype)
    rank[by_bucket] = np.arange(len(ids)) - np.repeat(starts[:-1], np.diff(starts))
    out = []
    for p in range(parts):
        take = order[bounds[p]:bounds[p + 1]]
        user = pd.Categorical.from_codes(rank[codes[take]], categories=ids[by_bucket[starts[p]:starts[p + 1]]],
                                         validate=False)
        out.append(frame.iloc[take].assign(user=user))
    return out


def _facts_of(read: _Read) -> _Facts:
    return read.facts


def _bucket_of(read: _Read, p: int) -> pd.DataFrame:
    """Bucket p of a file, as a key of its own: a partition task fetches only its buckets, and a
    worker over its memory target spills buckets one by one, not whole files."""
    return read.buckets[p]


def _assemble(pieces: list[pd.DataFrame], p: int, facts: _Global, config: Config) -> Events:
    """Partition p: bucket p of every file, in file order, on the global categories; its users'
    ``per_user`` values chosen. When the files' rows were pruned and users are counted, its
    ``log`` counts the users of every row (the buckets' ids, also those no kept row has)."""
    from ..load.derived import per_user

    out = {}
    for col in pieces[0].columns:
        parts = [piece[col] for piece in pieces]
        if col == "user":
            out[col] = pd.Series(pd.api.types.union_categoricals(parts, ignore_order=True)) if len(parts) > 1 \
                else parts[0].reset_index(drop=True)
            continue
        categories = facts.categories.get(col)
        if categories is not None:
            dtype = pd.CategoricalDtype(categories)
            out[col] = pd.concat([x.cat.set_categories(dtype.categories) for x in parts], ignore_index=True
                                 ).astype(dtype)
        else:
            out[col] = pd.concat([x.astype(object) if facts.mixed.get(col) else x for x in parts], ignore_index=True)
    frame = per_user(pd.DataFrame(out, columns=list(pieces[0].columns)), config)
    every = len(frame["user"].cat.categories)
    frame["user"] = frame["user"].cat.remove_unused_categories()
    if facts.only is None:
        return Events(frame, facts.sources)
    return Events(frame, facts.sources, facts.only, LogSummary.of(frame, users=every))


def _summary_of(events: Events) -> LogSummary:
    return events.summary         # (its log when rows were pruned: the users of every row)


def _partials(events: Events, plan, last_ts: int, count_users: bool):
    from ..engine.engagement import with_engagement
    from . import local

    events, index = with_engagement(plan.config, events, last_ts)
    population = events.summary.users if count_users else None    # (as in one process)
    return _without_units(local.partials(plan, events, index, population=population)), local.refused_values(plan, index)


def _same(value):
    return value


def _without_units(parts):
    """The partials without each funnel's per-unit furthest step (``FunnelResult.reached``): no
    report reads it, and its labels (an id's text per entrant) would be most of every merge's bytes
    and, merged, a row per entrant of the whole log on one worker and then on the client."""
    return replace(parts, funnels=tuple(f if f.steps is None else replace(f, steps=replace(f.steps, reached=None))
                                        for f in parts.funnels))


def _merge(a, b):
    from . import local

    return local.merge(a[0], b[0]), {k: a[1].get(k, 0) + b[1].get(k, 0) for k in {**a[1], **b[1]}}


# ---- the client ----

@dataclass
class _Global:
    categories: dict[str, list | None]
    mixed: dict[str, bool]
    sources: tuple[str, ...]
    only: frozenset[str] | None = None        # the rows kept of every file: these events' (None: all)


@dataclass(eq=False)
class ClusterEvents:
    """Events read on a cluster: P partitions of users held by its workers, and what is known of
    all of them. :func:`microconv.analyze` runs on them where they are."""

    cluster: Cluster
    shards: list                       # futures of Events, one per partition
    summary: LogSummary
    sources: tuple[str, ...]
    empty: Events                      # no rows; the partitions' columns and categories
    only_events: frozenset[str] | None = None   # as ``Events.only_events``: the partitions hold only these rows
    count_users: bool = True           # ``summary.users`` counted (else None, as in one process)

    def analyze(self, config: Config, *, quality: DataQualityReport | None = None, **options):
        return analyze(config, self, quality=quality, **options)

    @property
    def frame(self) -> pd.DataFrame:
        """No rows; the columns and global categories (what a report's context reads)."""
        return self.empty.frame

    def __len__(self) -> int:
        return self.summary.events

    def partials(self, partial: Callable, merge: Callable, *args):
        """``partial(partition, T, *args)`` on every partition, merged in a tree on the cluster:
        a report's partial of every user (``reports.paths.drop_off_paths``)."""
        client, label = self.cluster.client, getattr(partial, "__name__", "partial")
        with _failures():
            parts = [client.submit(_guarded, f"partition {p + 1} of {len(self.shards)}", partial, shard,
                                   self.summary.last_ts or 0, *args, retries=RETRIES, key=_key(label, p))
                     for p, shard in enumerate(self.shards)]
            _show(self.cluster, parts, "computing partitions")
            return _tree(client, parts, merge).result()


def load_events(cluster: Cluster, paths: Sequence[object], config: Config, *, input_format: str | None = None,
                extra_properties: Sequence[str] = (), only_events: Iterable[str] | None = None,
                count_users: bool = True) -> tuple[ClusterEvents, DataQualityReport]:
    """Stages 1-3: read every file, the global facts, the partitions of users. ``only_events`` and
    ``count_users`` as in :func:`microconv.load_events`; when both prune and count, the ids of the
    rows left out travel with the buckets (as categories no row uses), to be counted once.

    Raises:
        UsageError: identity stitching (not supported on a cluster yet).
        DataError: a file cannot be read (naming it), no usable rows.
    """
    _refuse(config)
    client = cluster.client
    files = inputs(paths)
    workers = max(1, len(client.scheduler_info().get("workers", {})))
    units, rows = read_units(files, input_format)
    parts = cluster.partitions or partitions_for(rows, workers)
    only = None if only_events is None else frozenset(only_events)
    with _failures():
        reads = [client.submit(_guarded, f"reading {f}" + (f" (row groups {g[0]}-{g[1] - 1})" if g else ""), _read_file,
                               (f, g), config, input_format, tuple(extra_properties), parts,
                               None if only is None else tuple(sorted(only)), count_users,
                               retries=RETRIES,
                               key=_key("read", i)) for i, (f, g) in enumerate(units)]
        _show(cluster, reads, "reading files")
        # files x P keys: one map (a submit each costs the scheduler about three times as much)
        flat = client.map(_bucket_of, [r for r in reads for _ in range(parts)], list(range(parts)) * len(reads),
                          key=[_key(f"bucket{i}", p) for i in range(len(reads)) for p in range(parts)], retries=RETRIES)
        buckets = [flat[i * parts:(i + 1) * parts] for i in range(len(reads))]
        del flat
        facts = client.gather(client.map(_facts_of, reads, pure=False))
        del reads                  # the files' keys go once their buckets are keys of their own
        _check_properties(config, extra_properties, facts)
        report = _merged_reports(facts)
        glob = _Global(*_categories(facts), tuple(files), only)
        shards = [client.submit(_guarded, f"partition {p + 1} of {parts}", _assemble, [b[p] for b in buckets], p, glob,
                                config, retries=RETRIES, key=_key("partition", p)) for p in range(parts)]
        del buckets
        _show(cluster, shards, "shuffling users into partitions")
        # every usable row's count and times from the files (also of rows not kept); users, which
        # do not add across files, from the partitions
        counted = _summary(client.gather(client.map(_summary_of, shards, pure=False))) if count_users else None
        log = replace(_summary([f.log for f in facts]), users=counted.users if counted else None)
        if not log.events:
            raise DataError("no usable rows: every row lacks a user id or a valid timestamp",
                            where=", ".join(files), hint="; ".join(report.messages()) or None)
        empty = client.submit(lambda e: e.frame.iloc[:0], shards[0], pure=False).result()
    return ClusterEvents(cluster, shards, log, tuple(files), Events(empty, tuple(files), only, log), only,
                         count_users), report


def analyze(config: Config, events: ClusterEvents, *, quality: DataQualityReport | None = None, **options):
    """:func:`microconv.analyze` (same arguments) of events read on a cluster: the plan made here
    from the global facts, every report's partial per partition, merged in a tree on the cluster,
    finalized here (stage 4)."""
    from .. import api
    from ..engine.engagement import with_engagement
    from ..run.dates import entry_bound
    from ..run.plan import check_rows_suffice, plan_run
    from . import local

    opts = Options(**options)
    check_rows_suffice(config, events, opts)
    client, shards, log = events.cluster.client, events.shards, events.summary
    with _failures():
        if opts.as_of is not None:
            end = entry_bound(opts.as_of, last_ts=pd.Timestamp(log.last_ts, tz="UTC"), tz=config.columns.timezone,
                              until=True, option="as_of").value
            shards = client.map(_cut, shards, end=end, pure=False)
            log = _summary(client.gather(client.map(_summary_of, shards, pure=False)))
            log = log if events.count_users else replace(log, users=None)
            if not log.events:
                raise OptionError(f"no events before {OPTION} {opts.as_of} (the data starts at "
                                  f"{pd.Timestamp(events.summary.first_ts, tz='UTC')})", option="as_of",
                                  exit_code=DataError.exit_code)
        skeleton, _ = with_engagement(config, Events(events.empty.frame, events.sources, None, log), log.last_ts or 0)
        plan = plan_run(config, skeleton, opts)
        plan_on_cluster = client.submit(_same, plan, pure=False, key=_key("plan", 0))   # (a task, not scattered
        #                                          data: a worker lost takes scattered data with it, for good)
        partial = [client.submit(_guarded, f"partition {p + 1} of {len(shards)}", _partials, shard, plan_on_cluster,
                                 log.last_ts or 0, events.count_users, retries=RETRIES, key=_key("partials", p))
                   for p, shard in enumerate(shards)]
        _show(events.cluster, partial, "computing partitions")
        merged, refused = _tree(client, partial, _merge).result()
    done = local.finalize(plan, merged)
    warnings = [*plan.warnings, *local.invalid_value_notes(plan, refused=refused)]
    return api.result_of(config, plan, done, log, events.sources, warnings, quality)


def _tree(client, futures: list, merge: Callable):
    """One future of ``merge`` over all ``futures``: a tree whose levels halve, merged where the
    partials are (the client holds no partial until the last)."""
    level = 0
    while len(futures) > 1:
        futures = [client.submit(merge, *futures[i:i + 2], key=_key(f"merge{level}", i)) if i + 1 < len(futures)
                   else futures[i] for i in range(0, len(futures), 2)]
        level += 1
    return futures[0]


def _cut(events: Events, end: int) -> Events:
    """The rows before ``--as-of``'s end (``plan.cut_at``, on one partition)."""
    ts = events.frame["ts"].to_numpy(dtype="datetime64[ns]").view("int64")
    keep = ts < end
    if keep.all():
        return events
    frame = events.frame.loc[keep].reset_index(drop=True)
    frame["user"] = frame["user"].cat.remove_unused_categories()
    return Events(frame, events.sources)


def _refuse(config: Config) -> None:
    if config.columns.anonymous_user:
        raise UsageError("identity stitching (columns.user with known and anonymous ids) does not run on a "
                         "cluster yet: a user's rows are found across files before they can be partitioned",
                         hint="run without --workers/--scheduler")


def _check_properties(config: Config, extra_properties: Sequence[str], facts: Sequence[_Facts]) -> None:
    """``load_events``' check over all files: a property no file has is a typo (did-you-mean)."""
    from types import SimpleNamespace

    from ..load.columns import check_properties_somewhere, needed_properties

    props = needed_properties(_values_as_read(config), extra_properties)
    check_properties_somewhere(config, props, [f.plan for f in facts],
                               [SimpleNamespace(path=f.source, columns=f.columns) for f in facts])


def _merged_reports(facts: Sequence[_Facts]) -> DataQualityReport:
    """The files' reports as one scan over all of them makes it: rows and drops add, the first
    examples in file order, and a property is empty only if it is empty in every file."""
    report = DataQualityReport()
    for f in facts:
        report.rows_read += f.report.rows_read
        for reason, count in f.report.dropped.items():
            report.add(reason, count, f.report.examples.get(reason, []))
        report.notes.extend(f.report.notes)
    for key, line in facts[0].empty.items() if facts else ():
        if all(key in f.empty for f in facts):
            report.empty.append(line)
    return report


def _categories(facts: Sequence[_Facts]) -> tuple[dict[str, list | None], dict[str, bool]]:
    """Per column, the union of the files' categories in order of first appearance (what one
    scan's union makes); the event names likewise. A column categorical in some files only is
    plain values everywhere (``mixed``), as concatenating them in one process makes it."""
    columns = dict.fromkeys(c for f in facts for c in f.categories)
    out: dict[str, list | None] = {"event": list(dict.fromkeys(n for f in facts for n in f.names))}
    mixed: dict[str, bool] = {}
    for col in columns:
        kinds = [f.categories.get(col) for f in facts if col in f.categories]
        if all(k is not None for k in kinds):
            out[col] = list(dict.fromkeys(v for k in kinds for v in k))
        else:
            out[col], mixed[col] = None, any(k is not None for k in kinds)
    return out, mixed


def _summary(parts: Sequence[LogSummary]) -> LogSummary:
    """Disjoint parts' summary: events and users add."""
    firsts = [s.first_ts for s in parts if s.first_ts is not None]
    lasts = [s.last_ts for s in parts if s.last_ts is not None]
    return LogSummary(sum(s.events for s in parts), sum(s.users or 0 for s in parts),
                      min(firsts) if firsts else None, max(lasts) if lasts else None)


def _key(stage: str, i: int) -> str:
    """A task's name on the cluster (the dashboard, the task stream, errors): its stage and number."""
    import uuid

    return f"microconv-{stage}-{i}-{uuid.uuid4().hex[:12]}"


def _show(cluster: Cluster, futures, what: str) -> None:
    """``what: done/all`` on stderr as the tasks finish (the caller asks only on a terminal);
    Dask's own bar writes to stdout, which is the report's."""
    if not cluster.progress or not futures:
        return
    import sys

    from distributed import as_completed
    with cluster.client.as_current():
        finished = enumerate(as_completed(futures), 1)
    for done, _ in finished:
        sys.stderr.write(f"\rmicroconv: {what}: {done}/{len(futures)}")
        sys.stderr.flush()
    sys.stderr.write("\n")


@contextmanager
def _failures() -> Iterator[None]:
    """A partition's error as the client's: domain errors keep their exit code and place; a worker
    lost more often than the retries allow is a data error naming the task (its memory, mostly)."""
    distributed = _dask()
    try:
        yield
    except PartitionFailed as exc:
        error = DataError(exc.message, where=exc.where, hint=exc.hint)
        error.exit_code = exc.exit_code
        raise error from None
    except distributed.client.FutureCancelledError as exc:
        raise DataError(f"the cluster cancelled the run: {exc}".splitlines()[0]) from None
    except distributed.KilledWorker as exc:
        task = exc.task if isinstance(exc.task, str) else str(exc.task)
        raise DataError(f"the workers running {task} died more often than the {RETRIES} retries allow",
                        hint="out of memory? give workers more (--memory-limit) or use more partitions "
                             "(--partitions)") from None


def _register_sizes() -> None:
    """Dask measures each key with ``sizeof`` to decide what a worker over its memory target spills;
    a partition of Events would count as a few bytes and stay in memory however large it is."""
    try:
        from dask.sizeof import sizeof
    except ImportError:        # no Dask: nothing runs here (``_dask`` says which extra installs it)
        return
    sizeof.register(Events)(lambda events: sizeof(events.frame))


_register_sizes()
