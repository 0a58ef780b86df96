"""``deepbasics deep``: how fast deep networks learn under the document's problem case and its cures."""
from __future__ import annotations

import argparse

from ..errors import DeepBasicsError, check_positive_int
from . import common


def _rate(text: str) -> tuple[str, float]:
    name, _, value = text.partition("=")
    try:
        return name, float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected OPTIMIZER=RATE such as gd=0.05, got {text!r}") from None


def _rates(text: str) -> tuple[str, list[float]]:
    name, _, values = text.partition("=")
    try:
        return name, [float(v) for v in values.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected OPTIMIZER=RATE,RATE,... such as gd=0.01,0.1,1, "
                                         f"got {text!r}") from None


EXAMPLES = """examples:
  deepbasics deep                                  digits, the shared rates and every rate of the grid
  deepbasics deep --data mnist1d                   MNIST-1D (pip install 'deepbasics[mnist1d]')
  deepbasics deep --depths 5 --epochs 10 --grid gd=0.01,0.1 adam=0.001,0.01 --out reports/deep-quick
  deepbasics deep --no-grid                        the shared rates only (a quarter of the runs)
  deepbasics deep --cluster local:2                each network a task on a Dask LocalCluster
  deepbasics deep --recipes 'N(0,1)+sigmoid' He+LeakyReLU LeCun+SELU --lr gd=0.05"""


def register(sub) -> None:
    from ..studies.deep import (DATA, DEFAULT_DATA, DEFAULT_LR, DEFAULT_RECIPES, DEPTHS, GRID, OPTIMIZERS,
                                RECIPES, WIDTH)
    target, epochs = DATA[DEFAULT_DATA]
    p = sub.add_parser(
        "deep", help="deep networks under the document's problem case and its cures: epochs to a target, "
                     "each recipe at the shared rate and at its own best rate",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=f"Train networks of depth {', '.join(map(str, DEPTHS))} (width {WIDTH}) under "
                    f"{', '.join(DEFAULT_RECIPES)},\n"
                    f"with gradient descent and Adam, on held-out data ({DEFAULT_DATA}: {target:.0%} accuracy within "
                    f"{epochs} epochs);\ncount the epochs (and seconds) each needs at the shared rate and at every "
                    f"rate of a log-spaced grid,\nand report each recipe's best rate. Writes summary.md (findings and "
                    f"tables), results.json and figures.",
        epilog=EXAMPLES)
    p.add_argument("--data", choices=list(DATA), default=DEFAULT_DATA,
                   help=f"data set (default {DEFAULT_DATA}; mnist1d needs the mnist1d package)")
    p.add_argument("--depths", type=int, nargs="+", default=list(DEPTHS), help="hidden-layer counts")
    p.add_argument("--width", type=int, default=WIDTH, help=f"units per hidden layer (default {WIDTH})")
    p.add_argument("--epochs", type=int, help="training epochs per network (default: the data set's, "
                   + ", ".join(f"{k} {v[1]}" for k, v in DATA.items()) + ")")
    p.add_argument("--target", type=float, help="held-out accuracy to reach (default: the data set's, "
                   + ", ".join(f"{k} {v[0]:g}" for k, v in DATA.items()) + ")")
    p.add_argument("--recipes", nargs="+", metavar="NAME", default=list(DEFAULT_RECIPES),
                   help=f"recipes to compare (of: {', '.join(RECIPES)})")
    p.add_argument("--optimizers", nargs="+", default=list(OPTIMIZERS), choices=list(DEFAULT_LR), metavar="NAME",
                   help=f"optimizers of {', '.join(DEFAULT_LR)} (default: gd adam)")
    p.add_argument("--lr", type=_rate, action="append", metavar="OPT=RATE",
                   help=f"another shared rate for one optimizer (defaults: "
                        f"{', '.join(f'{k} {v:g}' for k, v in DEFAULT_LR.items())})")
    p.add_argument("--grid", type=_rates, action="append", metavar="OPT=R1,R2,...",
                   help="the rates to try for one optimizer (defaults: " +
                        "; ".join(f"{k} {','.join(f'{r:g}' for r in GRID[k])}" for k in OPTIMIZERS) + ")")
    p.add_argument("--no-grid", action="store_true", help="the shared rates only, no grid of rates")
    p.add_argument("--engine", choices=["numpy", "jax"], help="training engine (default: jax when installed)")
    p.add_argument("--seed", type=int, default=0, help="weight seed (default 0)")
    p.add_argument("--jobs", type=common.positive_int, metavar="N",
                   help="worker processes (default: one per CPU core)")
    p.add_argument("--cluster", metavar="local[:N]|tcp://HOST:PORT",
                   help="run each network as a task on Dask: a LocalCluster of N worker processes, or a running "
                        "scheduler (pip install 'deepbasics[dask]')")
    p.add_argument("--retries", type=common.nonnegative_int, default=2, metavar="N",
                   help="with --cluster: times Dask retries a failed run (default 2)")
    p.add_argument("--out", default="reports/deep", help="output folder (default reports/deep)")
    p.add_argument("--no-plots", action="store_true", help="skip the figures")
    p.add_argument("--quiet", action="store_true", help="print only the tables and findings")
    p.set_defaults(func=run)


def _checked(args, deep) -> tuple[dict, dict | None]:
    """(shared rates, grid) from the options, each a one-line error when wrong."""
    for d in args.depths:
        check_positive_int("depth", d)
    if args.seed < 0:
        raise DeepBasicsError(f"seed must be >= 0, got {args.seed}")
    rates = dict(args.lr or [])
    for name, value in rates.items():
        if name not in deep.DEFAULT_LR or not value > 0:
            raise DeepBasicsError(f"--lr {name}={value}: give an optimizer of {', '.join(deep.DEFAULT_LR)} "
                                  f"and a rate > 0")
    grid = dict(args.grid or [])
    for name, values in grid.items():
        if name not in deep.DEFAULT_LR or not values or not all(v > 0 for v in values):
            raise DeepBasicsError(f"--grid {name}=...: give an optimizer of {', '.join(deep.DEFAULT_LR)} and "
                                  f"rates > 0 separated by commas")
    if args.no_grid:
        if grid:
            raise DeepBasicsError("--grid and --no-grid contradict each other; give one")
        grid = {o: [] for o in deep.DEFAULT_LR}
    if args.cluster and args.jobs:
        raise DeepBasicsError("--jobs is for the local process pool; with --cluster the workers set the parallelism")
    return rates, grid


def _executor(args, say):
    """How the runs are executed: the local process runner, or tasks on a Dask cluster."""
    from ..studies import deep
    if not args.cluster:
        return deep.local_execute(args.jobs)
    try:
        from .. import cluster
    except ImportError:
        raise DeepBasicsError("--cluster needs Dask's distributed scheduler: pip install 'deepbasics[dask]'") from None
    cluster.connection.parse(args.cluster)           # a malformed spec is an error before anything runs

    def execute(function, specs, on_result, warm):
        return cluster.map_tasks(function, [(s,) for s in specs], spec=args.cluster, retries=args.retries,
                                 emit=say, on_result=on_result)
    return execute


def run(args) -> int:
    from ..report import deep_summary
    from ..studies import deep
    rates, grid = _checked(args, deep)
    say = (lambda *_: None) if args.quiet else print
    results = deep.run(depths=args.depths, recipes=args.recipes, optimizers=args.optimizers, width=args.width,
                       epochs=args.epochs, target=args.target, lr=rates, seed=args.seed, engine=args.engine,
                       data=args.data, grid=grid, execute=_executor(args, say), print_fn=say)
    written = deep_summary.write(results, args.out, plots=not args.no_plots)
    fair = deep_summary.fair_findings(results)
    if fair:
        print(deep_summary.best_table(results))
        print("\nAt each recipe's best rate:")
        for line in fair:
            print("- " + line)
        print()
    print(deep_summary.summary_table(results))
    print("\nAt the shared rate:")
    for line in deep_summary.findings(results):
        print("- " + line)
    print(f"\n{len(results['grid_runs'])} runs in {results['settings']['wall_seconds']:.0f} s; wrote "
          f"{len(written)} files to {args.out}: {', '.join(p.name for p in written)}")
    return 0
