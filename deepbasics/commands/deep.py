"""``deepbasics deep``: vanishing/exploding gradients and their cures, measured."""
from __future__ import annotations

import argparse

from ..errors import DeepBasicsError, check_positive_int


def register(sub) -> None:
    p = sub.add_parser(
        "deep", help="deep networks under six init/activation recipes: gradients, variances, training",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Build networks of depth 5, 10, 20 and 50 (width 100) under N(0,1)+sigmoid, Glorot+tanh,\n"
                    "He+ReLU, He+LeakyReLU, He+ReLU+BatchNorm and LeCun+SELU; measure activation variance and\n"
                    "gradient norm by layer at initialisation and after training on the document's moons;\n"
                    "write plots, summary.md and results.json.",
        epilog="examples:\n  deepbasics deep\n  deepbasics deep --depths 5 20 --epochs 20 --out reports/deep-quick\n"
               "  deepbasics deep --recipes 'N(0,1)+sigmoid' 'He+ReLU+BatchNorm' --optimizer gd --lr 0.01")
    p.add_argument("--depths", type=int, nargs="+", default=[5, 10, 20, 50], help="hidden-layer counts")
    p.add_argument("--width", type=int, default=100, help="units per hidden layer (default 100)")
    p.add_argument("--epochs", type=int, default=50, help="training epochs per network (default 50)")
    p.add_argument("--recipes", nargs="+", metavar="NAME", help="a subset of the six recipes")
    p.add_argument("--optimizer", default="adam", choices=["adam", "gd", "momentum", "rmsprop"])
    p.add_argument("--lr", type=float, help="learning rate (default: adam 1e-3, others 0.01)")
    p.add_argument("--seed", type=int, default=0, help="weight seed (default 0)")
    p.add_argument("--out", default="reports/deep", help="output folder (default reports/deep)")
    p.add_argument("--no-plots", action="store_true", help="skip the figures")
    p.add_argument("--quiet", action="store_true", help="print only the summary table")
    p.set_defaults(func=run)


def run(args) -> int:
    from .. import deep, optim
    for d in args.depths:
        check_positive_int("depth", d)
    check_positive_int("width", args.width)
    check_positive_int("epochs", args.epochs)
    lr = args.lr if args.lr is not None else (1e-3 if args.optimizer == "adam" else 0.01)
    optimizer = optim.OPTIMIZERS[args.optimizer](lr=lr)
    if args.seed < 0:
        raise DeepBasicsError(f"seed must be >= 0, got {args.seed}")
    say = (lambda *_: None) if args.quiet else print
    results = deep.run(depths=args.depths, recipes=args.recipes, width=args.width, epochs=args.epochs,
                       optimizer=optimizer, seed=args.seed, print_fn=say)
    written = deep.write(results, args.out, plots=not args.no_plots)
    print(deep.summary_table(results))
    print()
    for line in deep.findings(results):
        print("- " + line)
    print(f"\nwrote {len(written)} files to {args.out}: {', '.join(p.name for p in written)}")
    return 0
