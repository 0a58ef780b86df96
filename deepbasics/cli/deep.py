"""``deepbasics deep``: how fast deep networks learn under the document's problem case and its cures."""
from __future__ import annotations

import argparse

from ..errors import DeepBasicsError, check_positive_int


def _rate(text: str) -> tuple[str, float]:
    name, _, value = text.partition("=")
    try:
        return name, float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected OPTIMIZER=RATE such as gd=0.05, got {text!r}") from None


def register(sub) -> None:
    from ..studies.deep import DEFAULT_LR, DEFAULT_RECIPES, DEPTHS, EPOCHS, OPTIMIZERS, RECIPES, TARGET, WIDTH
    p = sub.add_parser(
        "deep", help="deep networks under the document's problem case and its cures: epochs to a target",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=f"Train networks of depth {', '.join(map(str, DEPTHS))} (width {WIDTH}) under "
                    f"{', '.join(DEFAULT_RECIPES)},\n"
                    f"with gradient descent and Adam, on the handwritten digits; count the epochs (and seconds) "
                    f"each needs\nto reach {TARGET:.0%} accuracy on held-out examples, and measure how far each "
                    f"layer's weights moved.\nWrites summary.md (findings and table), results.json and figures.",
        epilog="examples:\n  deepbasics deep\n  deepbasics deep --depths 5 20 --epochs 20 --out reports/deep-quick\n"
               "  deepbasics deep --recipes 'N(0,1)+sigmoid' He+LeakyReLU LeCun+SELU --lr gd=0.05")
    p.add_argument("--depths", type=int, nargs="+", default=list(DEPTHS), help="hidden-layer counts")
    p.add_argument("--width", type=int, default=WIDTH, help=f"units per hidden layer (default {WIDTH})")
    p.add_argument("--epochs", type=int, default=EPOCHS, help=f"training epochs per network (default {EPOCHS})")
    p.add_argument("--target", type=float, default=TARGET, help=f"held-out accuracy to reach (default {TARGET})")
    p.add_argument("--recipes", nargs="+", metavar="NAME", default=list(DEFAULT_RECIPES),
                   help=f"recipes to compare (of: {', '.join(RECIPES)})")
    p.add_argument("--optimizers", nargs="+", default=list(OPTIMIZERS), choices=list(DEFAULT_LR), metavar="NAME",
                   help=f"optimizers of {', '.join(DEFAULT_LR)}, each at its default rate (default: gd adam)")
    p.add_argument("--lr", type=_rate, action="append", metavar="OPT=RATE",
                   help=f"another rate for one optimizer (defaults: "
                        f"{', '.join(f'{k} {v:g}' for k, v in DEFAULT_LR.items())})")
    p.add_argument("--engine", choices=["numpy", "jax"], help="training engine (default: jax when installed)")
    p.add_argument("--seed", type=int, default=0, help="weight seed (default 0)")
    p.add_argument("--out", default="reports/deep", help="output folder (default reports/deep)")
    p.add_argument("--no-plots", action="store_true", help="skip the figures")
    p.add_argument("--quiet", action="store_true", help="print only the summary table and findings")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..report import deep_summary
    from ..studies import deep
    for d in args.depths:
        check_positive_int("depth", d)
    if args.seed < 0:
        raise DeepBasicsError(f"seed must be >= 0, got {args.seed}")
    rates = dict(args.lr or [])
    for name, value in rates.items():
        if name not in deep.DEFAULT_LR or not value > 0:
            raise DeepBasicsError(f"--lr {name}={value}: give an optimizer of {', '.join(deep.DEFAULT_LR)} "
                                  f"and a rate > 0")
    say = (lambda *_: None) if args.quiet else print
    results = deep.run(depths=args.depths, recipes=args.recipes, optimizers=args.optimizers, width=args.width,
                       epochs=args.epochs, target=args.target, lr=rates, seed=args.seed, engine=args.engine,
                       print_fn=say)
    written = deep_summary.write(results, args.out, plots=not args.no_plots)
    print(deep_summary.summary_table(results))
    print()
    for line in deep_summary.findings(results):
        print("- " + line)
    print(f"\nwrote {len(written)} files to {args.out}: {', '.join(p.name for p in written)}")
    return 0
