"""``deepbasics reproduce``: every experiment of the document, checked figure by figure."""
from __future__ import annotations

import argparse
import json

from ..errors import DeepBasicsError
from .common import positive_int

EXIT_MISMATCH = 1


def register(sub) -> None:
    p = sub.add_parser(
        "reproduce", help="run every experiment of the document and check its printed figures",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run the document's unit cases and its seven make_moons trainings, print them in the\n"
                    "document's format, then a table (figure, document, deepbasics, match).\n"
                    "The trainings run in parallel processes, one per CPU core (--jobs), and print in order.\n"
                    "Exits 1 if any figure differs.",
        epilog="examples:\n  deepbasics reproduce\n  deepbasics reproduce --runs adam gd_sched --quiet\n"
               "  deepbasics reproduce --json out/reproduce.json\n  deepbasics reproduce --engine numpy --jobs 1")
    p.add_argument("--engine", default="auto", help="auto (default: jax for these long runs when JAX is installed), numpy or jax")
    p.add_argument("--jobs", type=positive_int, metavar="N",
                   help="trainings in parallel, one process each (default: the number of CPU cores)")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    p.add_argument("--runs", nargs="+", metavar="NAME",
                   help="only these trainings (gd momentum adam gd_update_lr gd_sched momentum_sched adam_sched)")
    p.add_argument("--quiet", action="store_true", help="print only mismatches and the summary line")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..studies import reproduce as rp
    from ..learn.engines import get as get_engine
    from ..fileio import atomic_write_text
    get_engine(args.engine)                # fail fast on an engine that isn't there
    unknown = [r for r in (args.runs or []) if r not in rp.RUNS]
    if unknown:
        raise DeepBasicsError(f"unknown run {unknown[0]!r}; choose from: {', '.join(rp.RUNS)}")
    say = (lambda *_: None) if args.quiet else print
    results = rp.reproduce(engine=args.engine, runs=args.runs, print_fn=say, jobs=args.jobs)
    rows = results["rows"]
    shown = rows if not args.quiet else [r for r in rows if not r[3]]
    if shown:
        print("\n" + rp.format_table(shown))
    if args.json:
        atomic_write_text(args.json, json.dumps(rp.to_json(results), indent=1) + "\n")
    print(rp.summary_line(results))
    return 0 if results["matched"] == results["total"] else EXIT_MISMATCH
