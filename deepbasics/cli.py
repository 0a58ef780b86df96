"""The command line: a thin translation from words to deepbasics calls.

    deepbasics reproduce [--engine numpy] [--json PATH] [--runs gd adam ...] [--quiet]

Errors in what the user asked for print one line, ``deepbasics: error: ...``, and exit 2.
"""
from __future__ import annotations

import argparse
import json
import sys

from .errors import DeepBasicsError

EXIT_MISMATCH = 1
EXIT_USAGE = 2


def _reproduce(args) -> int:
    from . import reproduce as rp
    from .engines import get as get_engine
    from .fileio import atomic_write_text
    get_engine(args.engine)                # fail fast on an engine that isn't there
    unknown = [r for r in (args.runs or []) if r not in rp.RUNS]
    if unknown:
        raise DeepBasicsError(f"unknown run {unknown[0]!r}; choose from: {', '.join(rp.RUNS)}")
    say = (lambda *_: None) if args.quiet else print
    results = rp.reproduce(engine=args.engine, runs=args.runs, print_fn=say)
    rows = results["rows"]
    shown = rows if not args.quiet else [r for r in rows if not r[3]]
    if shown:
        print("\n" + rp.format_table(shown))
    if args.json:
        atomic_write_text(args.json, json.dumps(rp.to_json(results), indent=1) + "\n")
    print(rp.summary_line(results))
    return 0 if results["matched"] == results["total"] else EXIT_MISMATCH


class _Parser(argparse.ArgumentParser):
    def error(self, message):                # argparse's own errors: one line, exit 2
        self.print_usage(sys.stderr)
        print(f"deepbasics: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="deepbasics", description="Deep networks from scratch, faithful to 'Deep Learning Basics'.")
    parser.add_argument("--version", action="version", version="deepbasics 0.1.0")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    rp = sub.add_parser(
        "reproduce", help="run every experiment of the document and check its printed figures",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run the document's unit cases and its seven make_moons trainings, print them in the\n"
                    "document's format, then a table (figure, document, deepbasics, match).\n"
                    "Exits 1 if any figure differs.",
        epilog="examples:\n  deepbasics reproduce\n  deepbasics reproduce --runs adam gd_sched --quiet\n"
               "  deepbasics reproduce --json out/reproduce.json")
    rp.add_argument("--engine", default="numpy", help="numpy (default) or jax")
    rp.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    rp.add_argument("--runs", nargs="+", metavar="NAME",
                    help="only these trainings (gd momentum adam gd_update_lr gd_sched momentum_sched adam_sched)")
    rp.add_argument("--quiet", action="store_true", help="print only mismatches and the summary line")
    rp.set_defaults(func=_reproduce)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return args.func(args)
    except DeepBasicsError as err:
        print(f"deepbasics: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("deepbasics: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
