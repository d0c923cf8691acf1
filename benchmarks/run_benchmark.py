"""Time and peak memory of `microconv analyze` on a large generated log.

Runs the real CLI as a child process (what a cron job pays: imports, reading, engine,
rendering) and reads the child's peak RSS from wait4(); then times the stages in-process.

    python benchmarks/run_benchmark.py --events 10000000 --users 1000000 --repeat 3
    python benchmarks/run_benchmark.py --orders ordered,strict,any   # the same funnel in each order
    python benchmarks/run_benchmark.py --by utm_source --top 20        # a breakdown over 20 segments
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


def run_cli(args: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS bytes of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"benchmark command failed: {' '.join(args)}")
    return elapsed, usage.ru_maxrss * 1024


def compile_package() -> None:
    """Compile microconv's bytecode, as ``pip install`` does: an editable install (or a shell with
    PYTHONDONTWRITEBYTECODE set) would otherwise compile every module from source in every run,
    about 0.04 s of each run's start-up that an installed microconv never pays."""
    import microconv

    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(microconv.__file__).parent)], check=True)


def generated_log(data_dir: Path, users: int, events: int, fmt: str, ids: str = "str", order: str = "user",
                  daily: bool = False) -> Path:
    """The seeded log of that size and shape in ``data_dir`` (a directory of daily files when
    ``daily``), generated the first time it is asked for."""
    data_dir.mkdir(exist_ok=True)
    shape = "" if (ids, order, daily) == ("str", "user", False) else f"_{ids}_{order}{'_daily' if daily else ''}"
    log = data_dir / (f"log_{users}u_{events}e{shape}" + ("" if daily else f".{fmt}"))
    if not log.exists():
        subprocess.run([sys.executable, str(HERE / "generate_log.py"), str(log), "--users", str(users),
                        "--events", str(events), "--format", fmt, "--ids", ids, "--order", order]
                       + (["--daily"] if daily else []), check=True)
    return log


def stage_times(log: Path, config: Path, by: str | None, top: int, count_users: bool) -> dict[str, float]:
    """Read and engine seconds in-process, loading as the CLI does (only the config's events' rows)."""
    import microconv
    from microconv.api import needed_events

    t0 = time.perf_counter()
    cfg = microconv.load_config(config)
    events, quality = microconv.load_events([log], cfg, extra_properties=[by] if by else [],
                                            only_events=needed_events(cfg), count_users=count_users)
    t1 = time.perf_counter()
    microconv.analyze(cfg, events, quality=quality, by=by, top=top,
                      **({} if count_users else {"reports": ("funnels", "breakdown")}))
    t2 = time.perf_counter()
    return {"read + canonicalize": t1 - t0, "engine": t2 - t1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--config", type=Path, default=HERE / "bench.yaml")
    parser.add_argument("--data-dir", type=Path, default=HERE / "data")
    parser.add_argument("--output-format", default="csv", choices=["csv", "json"],
                        help="json also computes the micro-conversion report (a CSV holds the funnels only)")
    parser.add_argument("--orders", default="ordered",
                        help="comma-separated funnel orders to time, each on the same log (ordered, strict, any)")
    parser.add_argument("--by", help="also break every funnel down by this property (e.g. utm_source)")
    parser.add_argument("--top", type=int, default=20, help="segments kept with --by")
    opts = parser.parse_args()

    log = generated_log(opts.data_dir, opts.users, opts.events, opts.format)
    compile_package()
    import pyarrow.parquet as pq

    rows = pq.ParquetFile(log).metadata.num_rows if opts.format == "parquet" else opts.events
    print(f"log: {log.name} ({rows:,} events, {log.stat().st_size / 2**20:,.0f} MiB)")
    for order in opts.orders.split(","):
        config = with_order(opts.config, order, opts.data_dir)
        cli = [sys.executable, "-m", "microconv", "analyze", str(log), "-c", str(config), "-f", opts.output_format, "-q",
               *(["--by", opts.by, "--top", str(opts.top)] if opts.by else [])]
        runs = [run_cli(cli) for _ in range(opts.repeat)]
        wall = statistics.median(r[0] for r in runs)
        peak = max(r[1] for r in runs)
        stages = stage_times(log, config, opts.by, opts.top, count_users=opts.output_format != "csv")
        split = f" --by {opts.by} --top {opts.top}" if opts.by else ""
        print(f"{config.name}, order {order}: microconv analyze -f {opts.output_format}{split}, whole process, median of {opts.repeat}: {wall:.2f} s "
              f"({rows / wall / 1e6:.2f} M events/s); peak RSS {peak / 2**20:,.0f} MiB "
              f"({peak / rows:.0f} bytes/event)")
        for name, seconds in stages.items():
            print(f"  in-process {name}: {seconds:.2f} s")


def with_order(config: Path, order: str, data_dir: Path) -> Path:
    """A copy of ``config`` with every funnel in ``order`` (the default file when ordered)."""
    if order == "ordered":
        return config
    import yaml

    data = yaml.safe_load(config.read_text())
    for funnel in data["funnels"].values():
        funnel["order"] = order
    out = data_dir / f"{config.stem}.{order}.yaml"
    out.write_text(yaml.safe_dump(data))
    return out


if __name__ == "__main__":
    main()
