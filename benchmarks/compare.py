"""microconv against ClickHouse `windowFunnel` (chdb) and DuckDB on the same Parquet log.

Each engine runs as its own child process (imports, reading, computing, printing: what a
cron job pays), one run of each per round so that each round compares runs made side by side;
wall time is the median of ``--repeat`` rounds and peak memory the largest RSS seen by ``wait4``. Before timing, the script checks that all three give identical users
per step for the benchmark funnel (view_item -> add_to_cart -> begin_checkout -> purchase,
7 days, ordered), so the comparison is of the same answer.

    python -m pip install '.[bench]'
    python benchmarks/compare.py --users 3000000 --events 30000000 --repeat 3
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
query = f'''
SELECT level, count() AS users FROM (
    SELECT user_id, windowFunnel({window})(toDateTime(timestamp), {conds}) AS level
    FROM file('{path}', Parquet)
    WHERE event_name IN {tuple(STEPS)!r}
    GROUP BY user_id)
WHERE level > 0 GROUP BY level ORDER BY level FORMAT CSV'''
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
con.execute(f'''
CREATE TEMP TABLE e AS SELECT user_id, epoch_ms(timestamp) AS t, event_name AS n
FROM read_parquet('{path}') WHERE event_name IN {tuple(STEPS)!r}''')
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


def run(args: list[str]) -> tuple[float, int, str]:
    """Wall seconds, peak RSS bytes and stdout of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE)
    out = proc.stdout.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(args[:4])} ...")
    return elapsed, usage.ru_maxrss * 1024, out


def microconv_counts(out: str) -> str:
    import csv
    from io import StringIO

    rows = [r for r in csv.DictReader(StringIO(out)) if r["funnel"] == "checkout"]
    return ",".join(r["users"] for r in sorted(rows, key=lambda r: int(r["step"])))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=3_000_000)
    ap.add_argument("--events", type=int, default=30_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    ap.add_argument("--data-dir", type=Path, default=HERE / "data")
    ap.add_argument("--only", default="microconv,chdb,duckdb")
    opts = ap.parse_args()
    log = generated_log(opts.data_dir, opts.users, opts.events, opts.format)
    compile_package()
    engines = {
        "microconv": ([sys.executable, "-m", "microconv", "analyze", str(log), "-c", str(HERE / "bench.yaml"),
                       "-f", "csv", "-q"], microconv_counts),
        "chdb windowFunnel": ([sys.executable, "-c", CHDB, str(log), str(WINDOW)], str.strip),
        "duckdb ASOF": ([sys.executable, "-c", DUCKDB, str(log), str(WINDOW)], str.strip),
    }
    wanted = opts.only.split(",")
    engines = {k: v for k, v in engines.items() if k.split()[0] in wanted}
    # Round-robin, one run of each engine per round: the machine's speed drifts from minute to
    # minute, so each round's ratios compare runs made side by side.
    runs: dict[str, list] = {name: [] for name in engines}
    for _ in range(opts.repeat):
        for name, (cmd, _) in engines.items():
            runs[name].append(run(cmd))
    counts = {name: parse(runs[name][0][2]) for name, (_, parse) in engines.items()}
    results = {name: (statistics.median(r[0] for r in rs), max(r[1] for r in rs)) for name, rs in runs.items()}
    size = log.stat().st_size / 2**20
    print(f"log: {log.name}, {opts.events:,} events, {opts.users:,} users, {size:,.0f} MiB; median of {opts.repeat}")
    same = len(set(counts.values())) == 1
    print(f"users per step: {'identical' if same else 'DIFFERENT'}")
    for name, c in counts.items():
        print(f"  {name:<18} {c}")
    base = results.get("microconv")
    print("| engine | wall (median) | peak RSS | bytes/event | microconv / engine: of medians | per round (median) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, (wall, peak) in results.items():
        ratio = per_round = ""
        if base:
            rounds = [m[0] / r[0] for m, r in zip(runs["microconv"], runs[name])]
            ratio, per_round = f"{base[0] / wall:.2f}×", f"{statistics.median(rounds):.2f}×"
        print(f"| {name} | {wall:.2f} s | {peak / 2**20:,.0f} MiB | {peak / opts.events:.0f} | {ratio} | {per_round} |")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
