"""Generate a large synthetic event log for benchmarking microconv.

Why: performance work needs logs of any size (10M+ events) that look like real exports in
the ways that matter for speed: many users with long-tailed activity, a skewed event mix,
string ids, high-cardinality channels, and funnel events with real ordered structure, so a
funnel view_item -> add_to_cart -> begin_checkout -> purchase within 7 days has
non-trivial counts at every step. It is written in chunks of ~1M rows (whole users) through a
ParquetWriter (one row group per chunk, under pyarrow's default 1Mi-row cap) or a CSV writer,
so memory stays bounded whatever the size.

    python benchmarks/generate_log.py OUT --users N --events M [--seed S]
        [--format parquet|csv] [--ids str|int] [--order user|time] [--daily]

Exactly M rows over N users. Columns: user_id (``u0000001``, or int64 with ``--ids int``),
timestamp (timestamp[ms, UTC] in Parquet, ``2026-10-05T14:03:22Z`` in CSV; second
precision, from 2026-10-01), event_name (23 names, page_view most common), utm_source (25
values, Zipf-like) and device (3 values), both fixed per user, and revenue (float64 on
purchase rows, null elsewhere).

Two row orders, the two shapes exports come in. ``--order user`` (the default): chunks of whole
users, rows sorted by timestamp within each chunk, not across chunks, so each chunk's users are
contiguous (a warehouse dump grouped by user). ``--order time``: the whole log in global time
order, every user's events interleaved with everyone's (GA4, Segment and Snowplow exports: each
day's file sorted by time); the same rows, so the same answers. ``--daily`` writes OUT as a
directory of one file per UTC day (``events_20261001.parquet`` ...), as those exports arrive;
with ``--order user`` a day's file keeps the chunk order.

Events per user are multinomial over lognormal(0, 1.2) weights (mean M/N, at least one each
when M >= N). Up to four of a user's events are funnel steps, the depth drawn as view_item
0.40, then add_to_cart 0.50, begin_checkout 0.70, purchase 0.60 of those reaching the
previous step, capped at the user's event count. Steps follow each other by minutes (lognormal, median
2 min) or, 15% of the time, by days (exponential, mean 4 days); 3% of users reaching
add_to_cart have view_item and add_to_cart swapped. The other events are background from a
Zipf-like mix that also holds view_item and add_to_cart (never begin_checkout or purchase),
spread uniformly over a per-user active span (lognormal, median 3 days). At 10 events per user
about 51% / 19% / 10% / 5% of users reach the four steps within 7 days (5.3% purchase at
all, so ~8% of purchasers fall outside the window).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

START_S = int(np.datetime64("2026-10-01T00:00:00", "s").astype(np.int64))
DAY = 86400
ROWS_PER_CHUNK = 1_000_000
FUNNEL = ["view_item", "add_to_cart", "begin_checkout", "purchase"]
P_FUNNEL = np.array([0.40, 0.50, 0.70, 0.60])
BACKGROUND = [
    "page_view", "scroll", "user_engagement", "session_start", "click", "search", "view_item_list",
    "view_item", "select_item", "login", "video_play", "view_promotion", "sign_up", "share",
    "add_to_wishlist", "add_to_cart", "file_download", "remove_from_cart", "form_submit",
    "add_payment_info", "logout",
]
NAMES = FUNNEL + [b for b in BACKGROUND if b not in FUNNEL]
BACKGROUND_CODES = np.array([NAMES.index(b) for b in BACKGROUND])
BACKGROUND_P = 1 / np.arange(1, len(BACKGROUND) + 1) ** 1.3
UTM = [
    "google", "direct", "facebook", "instagram", "email", "tiktok", "bing", "youtube", "newsletter",
    "linkedin", "twitter", "pinterest", "reddit", "affiliate", "duckduckgo", "partner", "yahoo",
    "snapchat", "podcast", "medium", "quora", "producthunt", "hackernews", "baidu", "yandex",
]
UTM_P = 1 / np.arange(1, len(UTM) + 1) ** 1.2
DEVICES = ["desktop", "mobile", "tablet"]
DEVICE_P = np.array([0.5, 0.42, 0.08])


def chunk_table(rng, first_user: int, n_users: int, n_events: int, int_ids: bool) -> pa.Table:
    weights = rng.lognormal(0, 1.2, n_users)
    floor = 1 if n_events >= n_users else 0
    count = floor + rng.multinomial(n_events - floor * n_users, weights / weights.sum())
    reach = np.cumprod(rng.random((n_users, 4)) < P_FUNNEL, axis=1)
    depth = np.minimum(reach.sum(axis=1), count)

    span = np.minimum(rng.lognormal(np.log(3 * DAY), 1.0, n_users), 28 * DAY)
    first_seen = START_S + rng.random(n_users) * (30 * DAY - span)
    step_gap = np.where(rng.random((n_users, 4)) < 0.15, rng.exponential(4 * DAY, (n_users, 4)),
                        rng.lognormal(np.log(120), 1.0, (n_users, 4)))
    step_gap[:, 0] = first_seen + rng.random(n_users) * span
    step_time = np.cumsum(step_gap, axis=1)
    swap = (depth >= 2) & (rng.random(n_users) < 0.03)
    step_time[swap, :2] = step_time[swap, 1::-1]

    user = np.repeat(np.arange(n_users), count)
    pos = np.arange(user.size) - np.repeat(np.cumsum(count) - count, count)
    in_funnel = pos < depth[user]
    step = np.minimum(pos, 3)
    t = np.where(in_funnel, step_time[user, step], first_seen[user] + rng.random(user.size) * span[user])
    code = np.where(in_funnel, step, BACKGROUND_CODES[rng.choice(len(BACKGROUND), user.size,
                                                                 p=BACKGROUND_P / BACKGROUND_P.sum())])
    order = np.argsort(t, kind="stable")
    user, t, code = user[order], t[order].astype(np.int64) * 1000, code[order]

    ids = np.arange(first_user + 1, first_user + n_users + 1)
    if not int_ids:
        ids = pc.binary_join_element_wise("u", pc.utf8_lpad(pa.array(ids).cast(pa.string()), 7, "0"), "")
    is_purchase = code == NAMES.index("purchase")
    revenue = np.zeros(user.size)
    revenue[is_purchase] = np.round(rng.lognormal(np.log(45), 0.8, is_purchase.sum()), 2)
    return pa.table({
        "user_id": pc.take(ids, user),
        "timestamp": pa.array(t, pa.timestamp("ms", tz="UTC")),
        "event_name": pc.take(pa.array(NAMES), code),
        "utm_source": pc.take(pa.array(UTM), rng.choice(len(UTM), n_users, p=UTM_P / UTM_P.sum())[user]),
        "device": pc.take(pa.array(DEVICES), rng.choice(3, n_users, p=DEVICE_P)[user]),
        "revenue": pa.array(revenue, mask=~is_purchase),
    })


def as_csv(table: pa.Table) -> pa.Table:
    naive = table["timestamp"].cast(pa.timestamp("s", tz="UTC")).cast(pa.int64()).cast(pa.timestamp("s"))
    iso = pc.binary_join_element_wise(pc.replace_substring(naive.cast(pa.string()), " ", "T"), "Z", "")
    return table.set_column(table.schema.get_field_index("timestamp"), "timestamp", iso)


def in_time_order(tables: list[pa.Table]):
    """The whole log sorted by timestamp (stable: ties keep the generated order), in slices of
    ``ROWS_PER_CHUNK`` rows. Holds the log in memory once (about 1.3 GB at 30M rows)."""
    table = pa.concat_tables(tables).combine_chunks()
    tables.clear()
    order = np.argsort(table["timestamp"].cast(pa.int64()).to_numpy(), kind="stable")
    table = table.take(pa.array(order))
    for start in range(0, table.num_rows, ROWS_PER_CHUNK):
        yield table.slice(start, ROWS_PER_CHUNK)


class Writers:
    """One Parquet or CSV writer, or with ``daily`` one per UTC day of the rows' timestamps (a
    table spanning several days is split at the day boundaries)."""

    def __init__(self, out: Path, fmt: str, daily: bool):
        self.out, self.fmt, self.daily = out, fmt, daily
        self.open: dict[str, object] = {}
        if daily:
            out.mkdir(parents=True, exist_ok=True)

    def __enter__(self) -> Writers:
        return self

    def __exit__(self, *exc) -> None:
        for writer in self.open.values():
            writer.close()

    def write(self, table: pa.Table) -> None:
        if not self.daily:
            self._writer(self.out, table).write_table(as_csv(table) if self.fmt == "csv" else table)
            return
        day = table["timestamp"].cast(pa.int64()).to_numpy() // (DAY * 1000)
        for d in np.unique(day):
            part = table.filter(pa.array(day == d))
            name = np.datetime64(int(d), "D").astype(str).replace("-", "")
            path = self.out / f"events_{name}.{self.fmt}"
            self._writer(path, part).write_table(as_csv(part) if self.fmt == "csv" else part)

    def _writer(self, path: Path, table: pa.Table):
        if path not in self.open:
            schema = as_csv(table.slice(0, 0)).schema if self.fmt == "csv" else table.schema
            self.open[path] = (pq.ParquetWriter(path, schema) if self.fmt == "parquet" else
                               pacsv.CSVWriter(path, schema, write_options=pacsv.WriteOptions(quoting_style="none")))
        return self.open[path]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--users", type=int, required=True)
    ap.add_argument("--events", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    ap.add_argument("--ids", choices=["str", "int"], default="str")
    ap.add_argument("--int-ids", action="store_true", help="the same as --ids int")
    ap.add_argument("--order", choices=["user", "time"], default="user")
    ap.add_argument("--daily", action="store_true", help="OUT is a directory of one file per UTC day")
    args = ap.parse_args(argv)
    if args.users < 1 or args.events < 0:
        ap.error("--users must be >= 1 and --events >= 0")

    began = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    per_chunk = max(1, round(args.users * ROWS_PER_CHUNK / max(args.events, 1)))
    chunks = (chunk_table(rng, u0, min(u0 + per_chunk, args.users) - u0,
                          args.events * min(u0 + per_chunk, args.users) // args.users - args.events * u0 // args.users,
                          args.int_ids or args.ids == "int")
              for u0 in range(0, args.users, per_chunk))
    if args.order == "time":
        chunks = in_time_order(list(chunks))
    with Writers(Path(args.out), args.format, args.daily) as writers:
        for table in chunks:
            writers.write(table)
    print(f"{args.out}: {args.events:,} rows, {args.users:,} users, {time.perf_counter() - began:.1f} s",
          file=sys.stderr)


if __name__ == "__main__":
    main()
