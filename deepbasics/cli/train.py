"""``deepbasics train CONFIG``: one run of an experiment config, with checkpoints and a report."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ..errors import DeepBasicsError
from . import common

EXAMPLES = """examples:
  deepbasics train moons_adam                       a shipped config, by name
  deepbasics train my.toml --epochs 500 --set optimizer.lr=0.01
  deepbasics train my.toml --checkpoint run.npz --checkpoint-every 100
  deepbasics train --resume run.npz --epochs 2000  continue a run (Ctrl-C saves one too)
  deepbasics train --list                           the shipped configs
  deepbasics train --defaults                       every setting, its default and meaning

A CSV of your own (a header row, numeric features, a target column):
  [data]
  name = "csv"
  path = "patients.csv"      # relative to the config file
  target = "diagnosis"
"""


def register(sub) -> None:
    p = sub.add_parser(
        "train", help="train one model from a TOML experiment config and write its report",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train the model a config describes (data, split, model, optimizer, schedule), show a\n"
                    "progress bar, then write report.html, summary.md, results.json and checkpoint.npz\n"
                    "into the report folder. Ctrl-C saves a checkpoint to resume from.",
        epilog=EXAMPLES)
    p.add_argument("config", nargs="?", metavar="CONFIG", help="a TOML file or a shipped config's name")
    common.add_run_options(p, jobs=False)
    p.add_argument("--checkpoint", metavar="PATH", help="checkpoint file (default: <report folder>/checkpoint.npz)")
    p.add_argument("--checkpoint-every", type=common.positive_int, metavar="N",
                   help="also write the checkpoint every N epochs")
    p.add_argument("--resume", metavar="PATH", help="continue the run saved in this checkpoint")
    p.add_argument("--list", action="store_true", help="list the shipped configs and exit")
    p.add_argument("--defaults", action="store_true", help="print every setting with its default and exit")
    p.set_defaults(func=run)


def list_configs(emit) -> int:
    from ..runs import config
    for name in config.shipped():
        emit(f"{name:<18} {config.load(name).description}")
    return 0


def load_config(args):
    """The config to run: CONFIG, or the one stored in the --resume checkpoint."""
    from ..learn import checkpoint
    from ..runs import config
    if args.config:
        return config.load(args.config, common.overrides(args))
    if not args.resume:
        raise DeepBasicsError("give a CONFIG (a TOML file or a shipped config's name; see --list) or --resume PATH")
    saved = checkpoint.load(args.resume)
    raw = saved.meta.get("config")
    if raw is None:
        raise DeepBasicsError(f"{args.resume} stores no config; give the CONFIG it was trained with")
    changes = common.overrides(args)
    if not args.out:            # the report goes beside the checkpoint, never over a comparison's report
        changes.append(f"output.dir={json.dumps(str(Path(args.resume).parent))}")
    return config.with_overrides(raw, changes, str(args.resume))


def run(args) -> int:
    from ..runs import config
    from ..runs.experiment import Interrupted, run as run_one
    from ..runs.progress import Progress
    emit = common.say(args)
    if args.list:
        return list_configs(emit)
    if args.defaults:
        sys.stdout.write(config.describe_defaults())
        return 0
    cfg = load_config(args)
    runs = config.expand(cfg)
    if len(runs) > 1:
        raise DeepBasicsError(f"this config defines a grid of {len(runs)} runs; run it with "
                              f"'deepbasics compare', or fix one value with --set")
    label, cfg = runs[0]
    prepared = common.check_runs(runs)[label]
    out = cfg.report_dir()
    ckpt = args.checkpoint or args.resume or str(out / "checkpoint.npz")
    if not args.quiet:
        emit(f"{cfg.name}: {common.describe_run(cfg, prepared)}")
        emit(prepared.split.describe())
        emit(f"{label}: {cfg.train.epochs} epochs, batch size {cfg.train.batch_size}"
             + (f", resuming from {args.resume}" if args.resume else ""))
    start = time.perf_counter()
    try:
        result = run_one(label, cfg, prepared, checkpoint=ckpt, checkpoint_every=args.checkpoint_every or 0,
                         resume=args.resume,
                         progress=Progress(cfg.train.epochs, desc=label, mode="off" if args.quiet else "auto"))
    except Interrupted as stop:
        if stop.checkpoint:
            print(f"deepbasics: interrupted after epoch {stop.epoch}; checkpoint saved to {stop.checkpoint}; "
                  f"continue with: deepbasics train --resume {stop.checkpoint}", file=sys.stderr)
        else:
            print("deepbasics: interrupted before the first epoch finished; nothing saved", file=sys.stderr)
        return common.EXIT_INTERRUPTED
    wall = time.perf_counter() - start
    emit(common.result_line(result))
    common.finish(args, cfg, [result], wall=wall, command=common.command_line("train"), emit=emit)
    emit(f"checkpoint: {ckpt}")
    if result.status == "diverged":
        raise DeepBasicsError(f"{result.message}; the last good weights are in {ckpt}")
    return 0
