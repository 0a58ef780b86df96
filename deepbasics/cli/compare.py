"""``deepbasics compare CONFIG``: every run of a config's grid, in parallel, in one report."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import common

EXAMPLES = """examples:
  deepbasics compare moons_optimizers              the document's GD / momentum / Adam comparison
  deepbasics compare spirals_init                  Glorot and He initialisation x tanh and ReLU
  deepbasics compare my.toml --jobs 2 --json results.json --quiet
  deepbasics compare my.toml --resume              after Ctrl-C: each run goes on where it stopped
  deepbasics compare spirals_init --cluster local:2
                                                   each run a task on a Dask LocalCluster of 2 processes
  deepbasics compare my.toml --cluster tcp://HOST:8786 --checkpoint-dir /shared/ckpt
                                                   on a running Dask scheduler (pip install 'deepbasics[dask]')

A grid in the config: one run per combination of the listed values.
  [grid]
  optimizer = [{name = "gd", lr = 0.0001}, {name = "adam", lr = 0.0001}]
  "model.init" = ["he_normal", "glorot_normal"]
"""


def register(sub) -> None:
    p = sub.add_parser(
        "compare", help="train every run of a config's [grid] (in parallel) and compare them in one report",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Expand the config's [grid] into runs, check them all, train them in parallel processes,\n"
                    "then write one report: cost curves overlaid, decision boundaries side by side, the\n"
                    "learning rates and a metrics table. A diverged run is reported, not fatal.",
        epilog=EXAMPLES)
    p.add_argument("config", metavar="CONFIG", help="a TOML file or a shipped config's name")
    common.add_run_options(p, jobs=True)
    p.add_argument("--resume", action="store_true",
                   help="continue each run from its checkpoint in <report folder>/checkpoints/ (Ctrl-C leaves them)")
    p.add_argument("--cluster", metavar="local[:N]|tcp://HOST:PORT",
                   help="run each run as a task on Dask: a LocalCluster of N worker processes, or a running "
                        "scheduler; a dying worker's run is retried elsewhere from its checkpoint")
    p.add_argument("--checkpoint-dir", metavar="DIR",
                   help="with --cluster: the checkpoint folder, one every worker can reach "
                        "(default: <report folder>/checkpoints)")
    p.add_argument("--retries", type=common.nonnegative_int, default=2, metavar="N",
                   help="with --cluster: times Dask retries a failed run (default 2)")
    p.set_defaults(func=run)


def run(args) -> int:
    return compare(args, args.config, command=common.command_line("compare", args.config))


def compare(args, spec: str, *, command: str) -> int:
    from ..runs import config
    emit = common.say(args)
    cfg = config.load(spec, common.overrides(args))
    runs = config.expand(cfg)
    prepared = common.check_runs(runs)
    if not args.quiet:
        first = prepared[runs[0][0]]
        emit(f"{cfg.name}: {len(runs)} run(s): {', '.join(label for label, _ in runs)}")
        emit(f"data: {common.describe_runs([c for _, c in runs], first)}")
        emit(first.split.describe())
    start = time.perf_counter()
    on_cluster = getattr(args, "cluster", None)       # demo shares this function, without --cluster
    if not on_cluster and getattr(args, "checkpoint_dir", None):
        from ..errors import DeepBasicsError
        raise DeepBasicsError("--checkpoint-dir goes with --cluster; without one, runs checkpoint into the "
                              "report folder's checkpoints/")
    folder = cfg.report_dir() / "checkpoints"
    if on_cluster and args.checkpoint_dir:
        folder = Path(args.checkpoint_dir)
    try:
        if on_cluster:
            results, start = _on_cluster(args, runs, prepared, folder, emit)
        else:
            results = common.run_all(runs, prepared, jobs=args.jobs, quiet=args.quiet, emit=emit,
                                     checkpoints=folder, resume=args.resume,
                                     meanwhile=None if args.no_report else _warm_plots)
    except common.CompareInterrupted as stop:
        again = " ".join([command, "--resume"] if "--resume" not in command.split() else [command])
        print(f"deepbasics: interrupted; {len(stop.saved)} run(s) saved their state in {folder}; "
              f"continue with: {again}", file=sys.stderr, flush=True)
        return common.EXIT_INTERRUPTED
    wall = time.perf_counter() - start
    if args.quiet:
        for r in results:
            emit(common.result_line(r))
    common.finish(args, cfg, results, wall=wall, command=command, emit=emit)
    if not args.quiet:
        emit(f"{len(results)} runs in {wall:.1f} s")
    return 0


def _warm_plots() -> None:
    from ..report import plots
    plots.warm_up()


def _on_cluster(args, runs, prepared, folder, emit):
    """The runs as Dask tasks (deepbasics.cluster), checkpointing into ``folder``: (results, start time).
    Ctrl-C leaves each run's last periodic checkpoint there, for --resume. Engine "auto" decides
    for the runs together as a local comparison on this machine's cores would, so that both give
    the same numbers."""
    from ..errors import DeepBasicsError
    from ..runs import runner
    from ..runs.experiment import choose_engines
    try:
        from .. import cluster
    except ImportError:
        raise DeepBasicsError("--cluster needs Dask's distributed scheduler: pip install 'deepbasics[dask]'") from None
    if args.jobs:
        raise DeepBasicsError("--jobs is for the local process pool; with --cluster the workers set the parallelism")
    folder = cluster.sweep.check_folder(folder)
    paths = {label: common.checkpoint_path(folder, label) for label, _ in runs}
    submitted = [time.perf_counter()]           # the runs' wall time starts once the cluster is up

    def started(client, futures):
        submitted[0] = time.perf_counter()
    try:
        results = cluster.run_all(runs, paths, spec=args.cluster, retries=args.retries, resume=args.resume,
                                  engines=choose_engines(runs, prepared, runner.worker_count(None, len(runs))),
                                  emit=None if args.quiet else emit, on_submit=started,
                                  on_result=None if args.quiet else (lambda r: emit(common.result_line(r))))
    except KeyboardInterrupt:
        raise common.CompareInterrupted([p for p in paths.values() if Path(p).is_file()]) from None
    return results, submitted[0]
