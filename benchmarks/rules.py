"""The counting rules against the plain ordered funnel (issue 22): one tree, the real command per
config in benchmarks/rules/, alternated rounds, wall + CPU (user + sys) + peak RSS from wait4.

Whole-process figures are what a user waits for and what the machine must hold, so each run is
a child process of its own; rounds alternate the order of the configs so that a warmer page cache
or a busy neighbour does not always favour the same one. A config this tree rejects (exit 3, e.g.
a rule not implemented yet) is skipped with a note on stderr, so the script runs before every rule
has landed.

    python benchmarks/generate_log.py /tmp/bench30m.parquet --users 3000000 --events 30000000
    python benchmarks/rules.py [--log /tmp/bench30m.parquet] [--rounds 2]

One line per config: wall median, CPU median, every run's wall, peak MiB, and wall and peak as a
ratio to ordered.yaml. Each config's last output (table, -q) is left in /tmp/rules_NAME.out. The
anchors of compare.py (ClickHouse windowFunnel through chdb, DuckDB ASOF joins: the ordered funnel
only, since neither has the other rules) run in the same rounds when they are installed
(``pip install '.[bench]'``), so their lines compare with runs made side by side.
"""
import argparse, os, statistics, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
TREE = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from compare import CHDB, DUCKDB, WINDOW  # noqa: E402  (a sibling script: the same anchor queries)

CONFIGS = ["ordered", "unordered", "totals", "hold", "optional"]
ANCHORS = {"chdb": ("chdb", CHDB), "duckdb": ("duckdb", DUCKDB)}    # name: (module, script)
COMMAND = [sys.executable, "-c", "from microconv.cli import main; main()"]
CONFIG_ERROR = 3


def run(args: list[str], out, command: list[str] = COMMAND) -> tuple[int, float, float, float]:
    """Exit code, wall s, CPU s and peak RSS MiB of one child process."""
    t = time.perf_counter()
    p = subprocess.Popen([*command, *args], stdout=out, stderr=subprocess.PIPE,
                         env={**os.environ, "PYTHONPATH": TREE}, cwd="/tmp")
    err = p.stderr.read()
    _, st, ru = os.wait4(p.pid, 0)
    code = os.waitstatus_to_exitcode(st)
    if code not in (0, CONFIG_ERROR):
        sys.exit(f"{' '.join(args)}: exit {code}\n{err.decode(errors='replace')}")
    if code == CONFIG_ERROR:
        print(f"skipped: {err.decode(errors='replace').strip()}", file=sys.stderr)
    return code, time.perf_counter() - t, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024


def options(doc: str, script: str) -> argparse.Namespace:
    """--log and --rounds of a benchmark script; the log must exist; the tree is compiled first
    (so that no run pays for writing .pyc files)."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--log", default="/tmp/bench30m.parquet")
    ap.add_argument("--rounds", type=int, default=2)
    opts = ap.parse_args()
    if not os.path.exists(opts.log):
        sys.exit(f"{opts.log} does not exist; generate it first (see the usage in {script})")
    subprocess.run([sys.executable, "-m", "compileall", "-q", f"{TREE}/microconv"], check=True)
    return opts


def installed(anchors: dict) -> list[str]:
    """The anchors whose module imports here (``pip install '.[bench]'``)."""
    return [a for a, (module, _) in anchors.items()
            if subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True).returncode == 0]


def main() -> None:
    opts = options(__doc__, __file__)
    path = {name: f"{HERE}/rules/{name}.yaml" for name in CONFIGS}
    names = [n for n in CONFIGS if run(["validate", "-c", path[n]], subprocess.DEVNULL)[0] == 0]
    if "ordered" not in names:
        sys.exit("ordered.yaml is rejected: no baseline")
    anchors = installed(ANCHORS)
    if len(anchors) < len(ANCHORS):
        print(f"anchors not installed (pip install '.[bench]'): {sorted(set(ANCHORS) - set(anchors))}",
              file=sys.stderr)
    res: dict[str, list[tuple[float, float, float]]] = {}
    everything = names + anchors
    for r in range(opts.rounds):
        for name in (everything if r % 2 == 0 else everything[::-1]):
            with open(f"/tmp/rules_{name}.out", "w") as out:
                if name in ANCHORS:
                    code, *figures = run([opts.log, str(WINDOW)], out, [sys.executable, "-c", ANCHORS[name][1]])
                else:
                    code, *figures = run(["analyze", opts.log, "-c", path[name], "-q"], out)
            if code == 0:
                res.setdefault(name, []).append(tuple(figures))
    base_wall = statistics.median(w for w, _, _ in res["ordered"])
    base_peak = max(m for _, _, m in res["ordered"])
    for name in (n for n in [*CONFIGS, *ANCHORS] if n in res):
        w = [a for a, _, _ in res[name]]; c = [b for _, b, _ in res[name]]; peak = max(m for _, _, m in res[name])
        print(f"{name:9} wall median {statistics.median(w):.3f} s  cpu median {statistics.median(c):.2f} s  "
              f"runs {' '.join(f'{x:.2f}' for x in w)}  peak {peak:.0f} MiB  "
              f"wall x{statistics.median(w) / base_wall:.2f}  peak x{peak / base_peak:.2f}")


if __name__ == "__main__":
    main()
