"""The micro-conversion report per segment and per period (issue 23): the real command on one
log, alone, by utm_source, by week and by both, with the anchors (DuckDB, chdb) computing the same
per-segment counts (users, and who did each conversion before their first purchase) in SQL, in
the same alternated rounds. Wall, CPU and peak RSS of each child process (rules.run).

    python benchmarks/generate_log.py /tmp/bench30m.parquet --users 3000000 --events 30000000
    python benchmarks/micro_groups.py [--log /tmp/bench30m.parquet] [--rounds 2]

The anchors count plain conversions only (not the count threshold two_videos) and fit no model:
they are the floor of the counting, not the whole report.
"""
import os, statistics, sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from rules import installed, options, run  # noqa: E402  (a sibling script: the same child-process measurement)

CONFIG = f"{HERE}/micro_groups.yaml"
EVENTS = ["view_item", "add_to_cart", "begin_checkout", "video_play", "sign_up", "share", "add_to_wishlist",
          "search", "file_download"]
RUNS = {
    "micro": ["--report", "micro"],
    "by_source": ["--report", "micro", "--by", "utm_source"],
    "by_week": ["--report", "micro", "--trend", "week"],
    "by_both": ["--report", "micro", "--by", "utm_source", "--trend", "week"],
}
_DID = ", ".join(f"max(CASE WHEN event_name = '{e}' AND (g IS NULL OR t < g) THEN 1 ELSE 0 END) AS d{i}"
                 for i, e in enumerate(EVENTS))
_SUM = ", ".join(f"sum(d{i})" for i in range(len(EVENTS)))
DUCKDB = f"""
import sys, duckdb
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
rows = con.execute('''
WITH e AS (SELECT user_id, epoch_ms(timestamp) AS t, event_name, utm_source FROM read_parquet('{{0}}')),
g AS (SELECT user_id, min(t) AS g FROM e WHERE event_name = 'purchase' GROUP BY user_id),
u AS (SELECT e.user_id, arg_min(utm_source, t) FILTER (WHERE utm_source IS NOT NULL) AS seg, max(g.g) AS g,
             {_DID.replace("(g IS NULL OR t < g)", "(g.g IS NULL OR t < g.g)")}
      FROM e LEFT JOIN g USING (user_id) GROUP BY e.user_id)
SELECT seg, count(*), count(g), {_SUM} FROM u GROUP BY seg ORDER BY seg'''.format(sys.argv[1])).fetchall()
print(len(rows), sum(r[1] for r in rows))
"""
CHDB = f"""
import sys, chdb
query = '''
SELECT seg, count(), countIf(g > 0), {_SUM} FROM (
  SELECT user_id, argMinIf(utm_source, timestamp, utm_source IS NOT NULL) AS seg, g,
         {_DID.replace("max(CASE WHEN", "max(if(").replace(" THEN 1 ELSE 0 END)", ", 1, 0))").replace("(g IS NULL OR t < g)", "(g = 0 OR toUnixTimestamp64Milli(timestamp) < g)")}
  FROM file('{{0}}', Parquet) AS e
  LEFT JOIN (SELECT user_id, min(toUnixTimestamp64Milli(timestamp)) AS g FROM file('{{0}}', Parquet)
             WHERE event_name = 'purchase' GROUP BY user_id) AS p USING (user_id)
  GROUP BY user_id, g)
GROUP BY seg ORDER BY seg FORMAT CSV'''.format(sys.argv[1])
out = chdb.query(query).bytes().decode().split()
print(len(out), sum(int(line.split(",")[1]) for line in out))
"""
ANCHORS = {"duckdb": ("duckdb", DUCKDB), "chdb": ("chdb", CHDB)}


def main() -> None:
    opts = options(__doc__, __file__)
    anchors = installed(ANCHORS)
    res: dict[str, list[tuple[float, float, float]]] = {}
    everything = [*RUNS, *anchors]
    for r in range(opts.rounds):
        for name in (everything if r % 2 == 0 else everything[::-1]):
            with open(f"/tmp/micro_{name}.out", "w") as out:
                if name in ANCHORS:
                    code, *figures = run([opts.log], out, [sys.executable, "-c", ANCHORS[name][1]])
                else:
                    code, *figures = run(["analyze", opts.log, "-c", CONFIG, "-q", "-f", "csv", *RUNS[name]], out)
            if code == 0:
                res.setdefault(name, []).append(tuple(figures))
    base = statistics.median(w for w, _, _ in res["micro"])
    for name in (n for n in everything if n in res):
        w = [a for a, _, _ in res[name]]; c = [b for _, b, _ in res[name]]; peak = max(m for _, _, m in res[name])
        print(f"{name:10} wall median {statistics.median(w):.3f} s  cpu median {statistics.median(c):.2f} s  "
              f"runs {' '.join(f'{x:.2f}' for x in w)}  peak {peak:.0f} MiB  wall x{statistics.median(w) / base:.2f}")


if __name__ == "__main__":
    main()
