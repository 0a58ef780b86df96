"""``deepbasics demo``: the main job, the document's optimizer comparison on moons, with its report."""
from __future__ import annotations

import argparse

from . import common
from .compare import compare

CONFIG = "moons_optimizers"

EXAMPLES = """examples:
  deepbasics demo                         the main job; report in reports/demo/
  deepbasics demo --epochs 2000 --out /tmp/demo
  deepbasics demo --quiet --json -        the numbers as JSON on standard output
  deepbasics train --list                 other experiments that ship with deepbasics
"""


def register(sub) -> None:
    p = sub.add_parser(
        "demo", help="the document's comparison of GD, momentum and Adam on moons, with a report",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train the document's 2-5-2-1 network on make_moons(900, noise 0.2, seed 3) with\n"
                    "gradient descent, momentum and Adam (its rates, 10,000 epochs, mini-batches of 64),\n"
                    "holding out validation and test sets (70/15/15), in parallel processes, and write\n"
                    "the report: reports/demo/report.html (the shipped config 'moons_optimizers').",
        epilog=EXAMPLES)
    common.add_run_options(p, jobs=True)
    p.add_argument("--resume", action="store_true", help="continue each run from its checkpoint (after Ctrl-C)")
    p.set_defaults(func=run)


def run(args) -> int:
    return compare(args, CONFIG, command=common.command_line("demo"))
