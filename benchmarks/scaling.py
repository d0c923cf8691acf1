"""Scaling: one log analysed in-process, with ``--workers 1`` and with ``--workers 2`` (a local Dask
cluster microconv starts), the real command as a child process; and a run whose data is larger
than one worker's ``--memory-limit``.

Per run: the whole process's wall time, its CPU time (the command and every process it starts),
and the peak RSS of each process of the tree (the client; each worker; the nanny processes that
watch them), sampled every 50 ms with psutil. Every run's CSV is checked to be identical to the
in-process one (a scaling figure of wrong numbers is worth nothing).

    python benchmarks/generate_log.py /tmp/bench30m.parquet --users 3000000 --events 30000000
    python benchmarks/scaling.py /tmp/bench30m.parquet --memory-limit 1GiB

The numbers and what they say are in benchmarks/README.md ("Issue 25").
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent


def run(cmd: list[str], env: dict[str, str]) -> dict:
    """Wall, CPU and the peak RSS per process (by its role) of ``cmd`` and its children."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    root = psutil.Process(proc.pid)
    peaks: dict[int, tuple[str, int]] = {}
    cpu: dict[int, float] = {}
    spilled = [0]
    done = threading.Event()
    scratch = Path(tempfile.gettempdir()) / "dask-scratch-space"     # where LocalCluster's workers spill
    ticks = 0

    def sample() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            if ticks % 10 == 0 and scratch.exists():
                spilled[0] = max(spilled[0], sum(f.stat().st_size for f in scratch.rglob("*") if f.is_file()))
            try:
                tree = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                break
            for p in tree:
                try:
                    rss = p.memory_info().rss
                    times = p.cpu_times()
                    role = _role(p, root)
                except psutil.Error:
                    continue
                peaks[p.pid] = (role, max(rss, peaks.get(p.pid, ("", 0))[1]))
                cpu[p.pid] = times.user + times.system
            done.wait(0.05)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - started
    done.set()
    watcher.join()
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}): {err.decode()[-2000:]}")
    return {"wall": wall, "cpu": sum(cpu.values()), "peaks": sorted(peaks.values()), "out": out, "spilled": spilled[0]}


def _role(p: psutil.Process, root: psutil.Process) -> str:
    if p.pid == root.pid:
        return "client"
    line = " ".join(p.cmdline())
    if "multiprocessing.resource_tracker" in line:
        return "tracker"
    # LocalCluster's nannies run in the client's process; each starts its worker as a child process
    return "worker" if p.parent() is not None and p.parent().pid == root.pid else "other"

def stages(events: Path, config: Path, workers: int, partitions: int | None) -> None:
    """Where a cluster run's time goes: each stage's tasks (read, partition, partials, merge) from
    Dask's task stream, their total and per-task time, in the library (no CLI)."""
    import distributed

    import microconv
    from microconv.run.dask import Cluster

    cfg = microconv.load_config(config)
    with Cluster(workers=workers, partitions=partitions) as cluster:
        started = time.perf_counter()
        with distributed.get_task_stream(client=cluster.client) as stream:
            evts, quality = cluster.load_events([events], cfg)
            loaded = time.perf_counter()
            microconv.analyze(cfg, evts, quality=quality, reports=("funnels",))
        ended = time.perf_counter()
    per: dict[str, list[float]] = {}
    for task in stream.data:
        stage = task["key"].split("-")[1] if str(task["key"]).startswith("microconv-") else "other"
        spent = sum(s["stop"] - s["start"] for s in task["startstops"] if s["action"] == "compute")
        per.setdefault(stage, []).append(spent)
    print(f"library, {workers} workers: load {loaded - started:.1f} s, analyze {ended - loaded:.1f} s, "
          f"{evts.summary.events:,} events in {len(evts.shards)} partitions")
    for stage, times in per.items():
        print(f"  {stage}: {len(times)} tasks, {sum(times):.1f} s of task time, "
              f"{sum(times) / len(times):.2f} s each (max {max(times):.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("events", type=Path)
    parser.add_argument("-c", "--config", type=Path, default=ROOT / "benchmarks" / "bench.yaml")
    parser.add_argument("--memory-limit", default="1GiB", help="per worker, for the over-the-limit run")
    parser.add_argument("--partitions", type=int, default=None)
    parser.add_argument("--every-row", action="store_true",
                        help="add --as-of 2100-01-01, which needs every row (no pruning to the funnel's events)")
    parser.add_argument("--format", choices=("csv", "json"), default="csv",
                        help="json counts users, so every row is read and shuffled (csv reads only the funnel's events)")
    parser.add_argument("--only", default=None, help="comma-separated subset of: local,w1,w2,limit")
    parser.add_argument("--stages", type=int, metavar="WORKERS", help="only the per-stage task times, in the library")
    args = parser.parse_args()
    if args.stages:
        return stages(args.events, args.config, args.stages, args.partitions)
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1767225600"}
    base = [sys.executable, "-m", "microconv", "analyze", str(args.events), "-c", str(args.config), "-f", args.format, "-q"]
    extra = ["--partitions", str(args.partitions)] if args.partitions else []
    base += ["--as-of", "2100-01-01"] if args.every_row else []
    runs = {
        "local": ("in-process", base),
        "w1": ("--workers 1", base + ["--workers", "1", *extra]),
        "w2": ("--workers 2", base + ["--workers", "2", *extra]),
        "limit": (f"--workers 2 --memory-limit {args.memory_limit}",
                  base + ["--workers", "2", "--memory-limit", args.memory_limit, *extra]),
    }
    chosen = args.only.split(",") if args.only else list(runs)
    print(f"{args.events} ({args.events.stat().st_size / 2**20:,.0f} MiB), config {args.config.name}, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start")
    print(f"| run | wall | CPU (all processes) | peak RSS per process (MiB) | spilled to disk | {args.format.upper()} |")
    print("|---|---|---|---|---|---|")
    reference = None
    for key in chosen:
        label, cmd = runs[key]
        r = run(cmd, env)
        reference = r["out"] if reference is None else reference
        peaks = ", ".join(f"{role} {rss / 2**20:,.0f}" for role, rss in r["peaks"] if role != "tracker")
        same = "same" if r["out"] == reference else "DIFFERENT"
        print(f"| {label} | {r['wall']:.1f} s | {r['cpu']:.1f} s | {peaks} | {r['spilled'] / 2**20:,.0f} MiB | {same} |",
              flush=True)


if __name__ == "__main__":
    main()
