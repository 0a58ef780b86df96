"""``deepbasics playground``: train a network in the browser and watch it learn, live."""
from __future__ import annotations

import argparse

from ..errors import DeepBasicsError

EXAMPLES = """examples:
  deepbasics playground                   opens http://127.0.0.1:8000/?token=... in the browser
  deepbasics playground --port 0 --no-browser
                                          a free port; open the printed URL (with its token) yourself
  deepbasics playground --host 0.0.0.0 --max-sessions 30
                                          a class: reachable from other machines; give the students
                                          the printed URL (the token in it is the key)

Every request needs the token the printed URL carries (--token sets one, --no-token drops it on a
loopback host only); requests from other sites' pages and under unknown host names are refused.
Ctrl-C stops the server and every training session, and removes every uploaded file.
Needs: pip install 'deepbasics[playground]'
"""


def port_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number 0..65535 (0: a free one), got {text!r}")
    return value


def register(sub) -> None:
    p = sub.add_parser(
        "playground", help="train a network in the browser and watch the chapter happen, live",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Start a local web server with the playground: pick data, a network, an optimizer and\n"
                    "a schedule, press play, and watch the decision boundary, the cost curves and the\n"
                    "gradient flow change as the library's own model trains (one worker process per tab).",
        epilog=EXAMPLES)
    p.add_argument("--port", type=port_number, default=8000, metavar="N", help="port to listen on (default 8000; "
                                                                               "0 picks a free one)")
    p.add_argument("--host", default="127.0.0.1", metavar="H",
                   help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser; just print the URL")
    p.add_argument("--token", metavar="T", help="the access token every request must carry (default: a new random one, "
                                                "printed in the URL)")
    p.add_argument("--no-token", action="store_true", help="no token (allowed only on a loopback host: this machine)")
    p.add_argument("--max-sessions", type=session_count, default=4, metavar="N",
                   help="browser tabs training at once (default 4; one worker process each)")
    p.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                   help="another host name this server answers to (beside localhost, its addresses and "
                        "the machine's own names); may be repeated")
    p.set_defaults(func=run)


def session_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 1024:
        raise argparse.ArgumentTypeError(f"expected a number of sessions 1..1024, got {text!r}")
    return value


def run(args) -> int:
    try:
        from ..playground import server
    except ImportError as exc:
        raise DeepBasicsError(f"the playground needs starlette and uvicorn ({exc.name} is missing): "
                              f"pip install 'deepbasics[playground]'") from None
    return server.serve(args.host, args.port, open_browser=not args.no_browser, token=args.token,
                        no_token=args.no_token, max_sessions=args.max_sessions, allow_hosts=args.allow_host)
