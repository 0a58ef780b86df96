"""``deepbasics bench``: the engines side by side with the document's code, PyTorch and SGEMM."""
from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser(
        "bench", help="time the engines against the document's code, PyTorch and the SGEMM ceiling",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run benchmark workloads in one invocation and print a table of times and ratios:\n"
                    "  S        the document's seven make_moons trainings (NumPy, JAX cold/warm cache, auto on\n"
                    "           every core, and the document's own code when its file is found)\n"
                    "  demo     deepbasics demo, the whole command: engine auto vs train.engine=numpy\n"
                    "  auto     the break-even of the JAX engine (start-up vs saving per update)\n"
                    "  W        784-1024-1024-10 MLP, Adam, batch 256, float32, 60,000 examples\n"
                    "  D        50 x (Dense 256 + BatchNorm + ReLU), batch 256, float32\n"
                    "  scaling  seconds per epoch vs examples and depth; peak memory of fit on W\n"
                    "  L        large data: reading a 1,000,000 x 20 CSV and Parquet file (deepbasics, pandas,\n"
                    "           pyarrow: time and peak memory), one epoch of a 20-64-32-1 network (engine auto,\n"
                    "           numpy, a memory-mapped X, PyTorch), peak memory of deepbasics train\n"
                    "  XL       a table bigger than memory: deepbasics train of one epoch over a 50,000,000 x 20\n"
                    "           float32 Parquet table (4 GB) from the memory-mapped cache, first and cached run,\n"
                    "           peak memory (writes ~8 GB in a temporary folder; only when named)\n"
                    "Speed is machine-dependent; nothing is asserted.",
        epilog="examples:\n  deepbasics bench --workload S\n  deepbasics bench --quick --json out/bench.json\n"
               "  deepbasics bench --workload L --json large.json\n"
               "  deepbasics bench --workload S W --reference chapter_code.py\n"
               "                     chapter_code.py: the chapter's own code, if you have it as a file")
    p.add_argument("--workload", nargs="+", default=None, metavar="NAME",
                   help="S, demo, W, D, scaling, auto, vmap, L and/or XL (default: all but XL)")
    p.add_argument("--quick", action="store_true",
                   help="smaller sizes (2 of the 7 runs, m up to 1e5, 100,000 rows for L, 2,000,000 for XL, ...)")
    p.add_argument("--reference", metavar="PATH",
                   help="the document's code to time on S, a Python file that takes run names "
                        "(default: $DEEPBASICS_REFERENCE when set; otherwise it is not timed)")
    p.add_argument("--no-reference", action="store_true", help="do not time the document's code")
    p.add_argument("--json", metavar="PATH", help="also write machine, rows and targets as JSON to PATH")
    p.add_argument("--quiet", action="store_true", help="print only the table")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..studies import bench
    from ..fileio import atomic_write_text
    workloads = args.workload or list(bench.DEFAULT_WORKLOADS)
    reference = None if args.no_reference else (Path(args.reference) if args.reference else bench.default_reference())
    say = (lambda *_: None) if args.quiet else (lambda msg: print(msg, flush=True))
    results = bench.run(workloads, quick=args.quick, reference=reference, say=say)
    m = results["machine"]
    print(f"\n{m['date']}  {m['cores']} cores  {m['cpu']}  BLAS: {'; '.join(m['blas']) or '?'}  "
          f"load {m['load_average_at_start']} -> {m['load_average_at_end']}")
    print(bench.format_table(results))
    print(f"(benchmarks took {results['seconds']:.0f} s)")
    if args.json:
        atomic_write_text(args.json, json.dumps(results, indent=1, default=str) + "\n")
    return 0
