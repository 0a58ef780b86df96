"""Side by side: one sweep run serially, in the process pool, and on a Dask LocalCluster.

    python -m deepbasics.cluster.bench spirals_init --epochs 300 --workers 2

Each contender is the ``compare`` command itself, run as a user runs it, in its own process (no
report, JSON to a temporary folder). The
table gives the wall time of the whole command (the cluster's start-up included) and of the
runs alone (``wall_seconds`` in the results), their ratios to the serial run, and whether
every number of every run equals the serial run's.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

IGNORED = ("seconds", "wall_seconds", "command", "output")


def _numbers(d):
    if isinstance(d, dict):
        return {k: _numbers(v) for k, v in d.items() if k not in IGNORED}
    if isinstance(d, list):
        return [_numbers(v) for v in d]
    return d


def measure(config: str, extra: list[str], folder: Path, name: str) -> tuple[float, dict]:
    """(command wall time, results JSON) of ``deepbasics compare config extra...``."""
    out = folder / f"{name}.json"
    argv = ["compare", config, "--quiet", "--no-report", "--out", str(folder / name), "--json", str(out), *extra]
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "deepbasics", *argv], capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"compare {' '.join(extra)} failed with exit code {done.returncode}: "
                         f"{done.stderr.strip().splitlines()[-1:]}")
    return wall, json.loads(out.read_text())


def run(config: str, epochs: int | None, workers: int) -> None:
    extra = ["--epochs", str(epochs)] if epochs else []
    contenders = [("serial (--jobs 1)", ["--jobs", "1"]),
                  (f"process pool (--jobs {workers})", ["--jobs", str(workers)]),
                  (f"Dask LocalCluster (--cluster local:{workers})", ["--cluster", f"local:{workers}"])]
    with tempfile.TemporaryDirectory() as tmp:
        rows = [(label, *measure(config, extra + args, Path(tmp), f"c{i}"))
                for i, (label, args) in enumerate(contenders)]
    base_cmd, base = rows[0][1], rows[0][2]
    print(f"{config}{' --epochs ' + str(epochs) if epochs else ''}: {len(base['runs'])} runs")
    print(f"{'contender':<40} {'command s':>10} {'runs s':>8} {'x serial':>9}  identical numbers")
    for label, wall, result in rows:
        same = _numbers(result) == _numbers(base)
        print(f"{label:<40} {wall:>10.2f} {result['wall_seconds']:>8.2f} {base_cmd / wall:>9.2f}  {same}")


def cli(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m deepbasics.cluster.bench", description=__doc__.split("\n\n")[0])
    p.add_argument("config", nargs="?", default="spirals_init")
    p.add_argument("--epochs", type=int)
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args(argv)
    run(args.config, args.epochs, args.workers)


if __name__ == "__main__":
    cli()
