"""The command line: a thin translation from words to deepbasics calls.

Each command lives in ``deepbasics/cli/<name>.py``; ``common`` holds what they share. Errors in what the user asked for
print one line, ``deepbasics: error: ...``, and exit 2; no traceback reaches the user.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from ..errors import DeepBasicsError
from ..version import __version__

# One module per command, in the order ``--help`` shows them; each defines ``register(subparsers)``
# that adds its parser and sets ``func(args) -> exit code``.
COMMANDS = ("demo", "train", "compare", "reproduce", "deep", "bench", "playground")

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    def error(self, message):                # argparse's own errors: one line, exit 2
        print(f"deepbasics: error: {message} (see '{self.prog} --help')", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="deepbasics",
                     description="Deep networks from scratch, faithful to 'Deep Learning Basics'.")
    parser.add_argument("--version", action="version", version=f"deepbasics {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        importlib.import_module(f".{name}", __package__).register(sub)
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
        return EXIT_INTERRUPTED
    except OSError as err:                   # disk full, permission denied, ...
        print(f"deepbasics: error: {err.strerror or err}: {getattr(err, 'filename', '') or ''}".rstrip(": "),
              file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
