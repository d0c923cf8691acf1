"""Side by side: an older tree (a git worktree at /tmp/oldmain) against this one, the real command,
alternated rounds, wall + CPU + peak RSS (wait4); the outputs compared byte for byte.

    git worktree add -f /tmp/oldmain COMMIT
    python benchmarks/side_by_side.py [ROUNDS]      # needs /tmp/bench30m.parquet (generate_log.py)
"""
import os, statistics, subprocess, sys, time, filecmp
HERE = os.path.dirname(os.path.abspath(__file__))
LOG = "/tmp/bench30m.parquet"
ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 3
TREES = {"old": "/tmp/oldmain", "new": os.path.dirname(HERE)}
CASES = {"one": ["-c", f"{HERE}/bench.yaml", "-f", "csv"],
         "five": ["-c", f"{HERE}/five.yaml", "-f", "json"]}
for tree in TREES.values():
    subprocess.run([sys.executable, "-m", "compileall", "-q", f"{tree}/microconv"], check=True)
res = {}
for r in range(ROUNDS):
    for case, args in CASES.items():
        for name, tree in (TREES.items() if r % 2 == 0 else reversed(TREES.items())):
            env = {**os.environ, "PYTHONPATH": tree}
            out = open(f"/tmp/sbs_{case}_{name}.out", "w")
            t = time.perf_counter()
            p = subprocess.Popen([sys.executable, "-c", "from microconv.cli import main; main()", "analyze", LOG, *args, "-q"],
                                 stdout=out, env=env, cwd="/tmp")
            _, st, ru = os.wait4(p.pid, 0)
            out.close()
            assert os.waitstatus_to_exitcode(st) == 0, (name, case)
            res.setdefault((case, name), []).append((time.perf_counter() - t, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024))
for (case, name), v in sorted(res.items()):
    w = [a for a, _, _ in v]; c = [b for _, b, _ in v]; m = [x for _, _, x in v]
    print(f"{case:5} {name}: wall median {statistics.median(w):.3f} s  cpu median {statistics.median(c):.2f} s  runs {' '.join(f'{x:.2f}' for x in w)}  peak {max(m):.0f} MiB")
for case in CASES:
    print(case, "outputs identical" if filecmp.cmp(f"/tmp/sbs_{case}_old.out", f"/tmp/sbs_{case}_new.out", shallow=False) else "OUTPUTS DIFFER")
