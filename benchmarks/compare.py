"""microconv against ClickHouse `windowFunnel` (chdb) and DuckDB on the same log.

Each engine runs as its own child process (imports, reading, computing, printing: what a
cron job pays), one run of each per round so that each round compares runs made side by side;
wall time is the median of ``--repeat`` rounds and peak memory the largest RSS seen by ``wait4``. Before timing, the script checks that all three give identical users
per step for the benchmark funnel (view_item -> add_to_cart -> begin_checkout -> purchase,
7 days, ordered), so the comparison is of the same answer.

    python -m pip install '.[bench]'
    python benchmarks/compare.py --users 3000000 --events 30000000 --repeat 3
    python benchmarks/compare.py --ids int --order time --format csv      # one shape of export
    python benchmarks/compare.py --matrix --repeat 3                        # {int,str} x {time,user} x {parquet,csv}

CPU time is the child's user + system time (``wait4``), so a multi-threaded engine's wall time and
its cost show apart. ``--five`` adds a run of ``five.yaml`` (five funnels and ten
micro-conversions; microconv only: the anchors compute one funnel) to each round.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from run_benchmark import compile_package, generated_log  # noqa: E402  (a sibling script, not a package)
STEPS = ["view_item", "add_to_cart", "begin_checkout", "purchase"]
WINDOW = 7 * 86400

CHDB = """
import sys, chdb
path, window = sys.argv[1], int(sys.argv[2])
conds = ", ".join(f"event_name = '{s}'" for s in {steps!r})
fmt = "CSVWithNames" if path.endswith(".csv") else "Parquet"
query = f'''
SELECT level, count() AS users FROM (
    SELECT user_id, windowFunnel({window})(toDateTime(timestamp), {conds}) AS level
    FROM file('{path}', {fmt})
    WHERE event_name IN {tuple(STEPS)!r}
    GROUP BY user_id)
WHERE level > 0 GROUP BY level ORDER BY level
SETTINGS date_time_input_format = 'best_effort' FORMAT CSV'''
levels = dict(tuple(map(int, line.split(","))) for line in chdb.query(query).bytes().decode().split())
print(",".join(str(sum(n for lv, n in levels.items() if lv >= k)) for k in range(1, {n} + 1)))
""".replace("{steps!r}", repr(STEPS)).replace("{tuple(STEPS)!r}", repr(tuple(STEPS))).replace("{n}", str(len(STEPS)))

# DuckDB: each step-1 event starts an attempt; ASOF joins take the first later event of the next
# step (greedy, as docs/semantics.md 3.2), within the window from step 1; a user counts at the
# furthest step of any attempt. Steps have distinct event names here, so no event can serve two.
DUCKDB = """
import sys, duckdb
path, window = sys.argv[1], int(sys.argv[2])
con = duckdb.connect()
con.execute("SET preserve_insertion_order = false")
con.execute("SET enable_progress_bar = false")
reader = f"read_csv('{path}')" if path.endswith(".csv") else f"read_parquet('{path}')"
con.execute(f'''
CREATE TEMP TABLE e AS SELECT user_id, epoch_ms(timestamp::TIMESTAMPTZ) AS t, event_name AS n
FROM {reader} WHERE event_name IN {tuple(STEPS)!r}''')
w = window * 1000
rows = con.execute(f'''
WITH s1 AS (SELECT user_id, t AS t1 FROM e WHERE n = 'view_item'),
s2 AS (SELECT s1.user_id, t1, b.t AS t2 FROM s1 ASOF LEFT JOIN (SELECT user_id, t FROM e WHERE n = 'add_to_cart') b
       ON s1.user_id = b.user_id AND b.t >= s1.t1),
s3 AS (SELECT s2.user_id, t1, CASE WHEN t2 <= t1 + {w} THEN t2 END AS t2, c.t AS t3 FROM s2
       ASOF LEFT JOIN (SELECT user_id, t FROM e WHERE n = 'begin_checkout') c
       ON s2.user_id = c.user_id AND c.t >= s2.t2),
s4 AS (SELECT s3.user_id, t1, t2, CASE WHEN t2 IS NOT NULL AND t3 <= t1 + {w} THEN t3 END AS t3, d.t AS t4 FROM s3
       ASOF LEFT JOIN (SELECT user_id, t FROM e WHERE n = 'purchase') d
       ON s3.user_id = d.user_id AND d.t >= s3.t3),
lv AS (SELECT user_id, max(1 + (t2 IS NOT NULL)::INT + (t3 IS NOT NULL)::INT
                           + coalesce(t3 IS NOT NULL AND t4 <= t1 + {w}, false)::INT) AS level FROM s4 GROUP BY user_id)
SELECT level, count(*) FROM lv GROUP BY level''').fetchall()
levels = dict(rows)
print(",".join(str(sum(n for lv, n in levels.items() if lv >= k)) for k in range(1, {n} + 1)))
""".replace("{tuple(STEPS)!r}", repr(tuple(STEPS))).replace("{n}", str(len(STEPS)))


# The floor: a process that only imports pyarrow and reads the three columns every engine needs
# (user_id, timestamp, event_name) as microconv reads them (a Parquet row group or a CSV block at a
# time, event names dictionary-encoded, ids as text); nothing is computed, nothing kept.
FLOOR = """
import sys, glob
import pyarrow as pa, pyarrow.csv as pacsv, pyarrow.parquet as pq
columns = ["user_id", "timestamp", "event_name"]
rows = 0
for path in sorted(glob.glob(sys.argv[1])):
    if path.endswith(".csv"):
        types = {"user_id": pa.string(), "event_name": pa.dictionary(pa.int32(), pa.string())}
        reader = pacsv.open_csv(path, convert_options=pacsv.ConvertOptions(include_columns=columns, column_types=types))
        rows += sum(batch.num_rows for batch in reader)
    else:
        f = pq.ParquetFile(path, read_dictionary=["event_name"])
        rows += sum(f.read_row_group(i, columns=columns).num_rows for i in range(f.num_row_groups))
print(rows)
"""


def run(args: list[str]) -> tuple[float, int, str, float]:
    """Wall seconds, peak RSS bytes, stdout and CPU seconds (user + system) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE)
    out = proc.stdout.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(args[:4])} ...")
    return elapsed, usage.ru_maxrss * 1024, out, usage.ru_utime + usage.ru_stime


def microconv_counts(out: str) -> str:
    import csv
    from io import StringIO

    rows = [r for r in csv.DictReader(StringIO(out)) if r["funnel"] == "checkout"]
    return ",".join(r["users"] for r in sorted(rows, key=lambda r: int(r["step"])))


def engines(log: Path, five: bool) -> dict[str, tuple[list[str], object]]:
    """The commands of one round on ``log`` (a file, or a directory of daily files), each with
    the parser of its users per step (None: not compared)."""
    files = str(log / f"*.{next(log.iterdir()).suffix[1:]}") if log.is_dir() else str(log)
    cli = [sys.executable, "-m", "microconv", "analyze", files, "-f", "csv", "-q"]
    out = {
        "microconv": (cli + ["-c", str(HERE / "bench.yaml")], microconv_counts),
        "chdb windowFunnel": ([sys.executable, "-c", CHDB, files, str(WINDOW)], str.strip),
        "duckdb ASOF": ([sys.executable, "-c", DUCKDB, files, str(WINDOW)], str.strip),
    }
    out["floor: read 3 columns"] = ([sys.executable, "-c", FLOOR, files], None)
    if five:
        out["microconv five.yaml"] = (cli + ["-c", str(HERE / "five.yaml")], microconv_counts)
    return out


def measure(log: Path, repeat: int, wanted: list[str], five: bool) -> tuple[dict, dict]:
    """Runs of every engine, round-robin (the machine's speed drifts from minute to minute, so
    each round's ratios compare runs made side by side), and their users per step."""
    chosen = {k: v for k, v in engines(log, five).items() if k.split()[0].rstrip(":") in wanted}
    runs: dict[str, list] = {name: [] for name in chosen}
    for _ in range(repeat):
        for name, (cmd, _) in chosen.items():
            runs[name].append(run(cmd))
    counts = {name: parse(runs[name][0][2]) for name, (_, parse) in chosen.items() if parse is not None}
    return runs, counts


def table(runs: dict, counts: dict, events: int, label: str = "") -> list[str]:
    """The markdown rows of one log: medians of wall and CPU, the largest peak, and microconv's
    ratios to each engine (of the medians, and the median of per-round ratios)."""
    med = {name: (statistics.median(r[0] for r in rs), statistics.median(r[3] for r in rs), max(r[1] for r in rs))
           for name, rs in runs.items()}
    base = runs.get("microconv")
    rows = []
    for name, (wall, cpu, peak) in med.items():
        ratio = ""
        if base and name.startswith("floor"):
            ratio = f"microconv is {med['microconv'][0] / wall:.2f}× its wall, {med['microconv'][1] / cpu:.2f}× its CPU"
        elif base and name == "microconv five.yaml":
            ratio = f"{wall / med['microconv'][0]:.2f}× one funnel's wall, {cpu / med['microconv'][1]:.2f}× its CPU"
        elif base and name != "microconv":
            per_round = statistics.median(m[0] / r[0] for m, r in zip(base, runs[name]))
            ratio = (f"{med['microconv'][0] / wall:.2f}× wall ({per_round:.2f}× per round), "
                     f"{med['microconv'][1] / cpu:.2f}× CPU, {med['microconv'][2] / peak:.2f}× peak")
        rows.append(f"| {label} | {name} | {wall:.2f} s | {cpu:.2f} s | {peak / 2**20:,.0f} MiB | {ratio} |")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=3_000_000)
    ap.add_argument("--events", type=int, default=30_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    ap.add_argument("--ids", choices=["str", "int"], default="str")
    ap.add_argument("--order", choices=["user", "time"], default="user")
    ap.add_argument("--daily", action="store_true", help="a directory of one file per day")
    ap.add_argument("--matrix", action="store_true", help="every {ids} x {order} x {format}")
    ap.add_argument("--five", action="store_true", help="also five.yaml (microconv only)")
    ap.add_argument("--data-dir", type=Path, default=HERE / "data")
    ap.add_argument("--only", default="microconv,chdb,duckdb,floor")
    opts = ap.parse_args()
    shapes = ([(i, o, f) for f in ("parquet", "csv") for o in ("time", "user") for i in ("int", "str")]
              if opts.matrix else [(opts.ids, opts.order, opts.format)])
    compile_package()
    print(f"{opts.events:,} events, {opts.users:,} users; medians of {opts.repeat} alternated rounds")
    print("| log | engine | wall | CPU | peak RSS | microconv / engine |")
    print("|---|---|---:|---:|---:|---|")
    different = []
    for ids, order, fmt in shapes:
        log = generated_log(opts.data_dir, opts.users, opts.events, fmt, ids, order, opts.daily)
        runs, counts = measure(log, opts.repeat, opts.only.split(","), opts.five)
        if len(set(counts.values())) != 1:
            different.append(f"{log.name}: {counts}")
        for row in table(runs, counts, opts.events, f"{ids} ids, {order} order, {fmt}{', daily' if opts.daily else ''}"):
            print(row, flush=True)
    if different:
        sys.exit("users per step DIFFER:\n" + "\n".join(different))
    print("users per step: identical in every log")


if __name__ == "__main__":
    main()
