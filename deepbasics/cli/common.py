"""What ``train``, ``compare`` and ``demo`` share: their options, running a list of runs (in
worker processes, through ``runs.runner``, when there are several), printing results and
writing the report."""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from ..errors import DeepBasicsError, check_whole
from ..runs import runner

EXIT_INTERRUPTED = 130


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1 (a bad one is argparse's one-line usage error)."""
    return _whole_number(text, low=1)


def nonnegative_int(text: str) -> int:
    """argparse type: a whole number >= 0."""
    return _whole_number(text, low=0)


def _whole_number(text: str, *, low: int) -> int:
    try:
        return check_whole("value", int(text), low=low)
    except (ValueError, DeepBasicsError):
        raise argparse.ArgumentTypeError(f"expected a whole number >= {low}, got {text!r}") from None


def add_run_options(p, *, jobs: bool) -> None:
    """Options every training command takes."""
    p.add_argument("--out", metavar="DIR", help="report folder (default: the config's output.dir, "
                                                "else reports/<name>)")
    p.add_argument("--epochs", type=positive_int, metavar="N", help="train N epochs (overrides train.epochs)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config setting, e.g. --set optimizer.lr=0.01 (repeatable)")
    p.add_argument("--log-scale", action="store_true", default=None, help="cost curves on a log scale")
    if jobs:
        p.add_argument("--jobs", type=positive_int, metavar="N",
                       help="runs in parallel, one process each (default: the number of CPU cores)")
    p.add_argument("--quiet", action="store_true", help="no progress; print only the result lines")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH ('-': standard output)")
    p.add_argument("--no-report", action="store_true", help="skip the HTML/Markdown report")


def overrides(args) -> list[str]:
    out = list(args.set or [])
    if args.epochs:
        out.append(f"train.epochs={args.epochs}")
    if args.out:
        out.append(f"output.dir={json.dumps(str(args.out))}")
    return out


def say(args):
    """print to stdout, or to stderr when stdout carries the JSON; nothing extra when quiet."""
    stream = sys.stderr if args.json == "-" else sys.stdout

    def emit(*parts):
        print(*parts, file=stream, flush=True)
    return emit


def describe_run(cfg, prepared) -> str:
    """'moons (900 examples, 2 features, binary, 2 classes): network 2-5-2-1, relu + sigmoid,
    he_normal init'."""
    return describe_runs([cfg], prepared)


def describe_runs(cfgs, prepared) -> str:
    """The data and the network of runs on the same data, each setting as the runs have it: one
    value, or the values the runs differ in ('relu or tanh + sigmoid, he_normal or glorot_normal
    init' for a grid over activation and initialiser)."""
    from ..runs.experiment import output_units
    d = prepared.dataset

    def values(of) -> str:
        return " or ".join(dict.fromkeys(of(c) for c in cfgs))

    def widths(c) -> str:
        return "-".join(str(w) for w in [d.X.shape[1], *c.model.hidden, output_units(c, d)[0]])

    def acts(c) -> str:
        a = c.model.activation
        return a if isinstance(a, str) else "/".join(a)

    def extra(c) -> str:
        return ", ".join(filter(None, ["batch norm" if c.model.batch_norm else "",
                                       f"dropout {c.model.dropout:g}" if c.model.dropout else ""])) or "plain"
    extras = values(extra)
    task = d.task if d.task == "regression" else f"{d.task}, {d.n_classes} classes"
    return (f"{d.name} ({len(d.y)} examples, {d.X.shape[1]} features, {task}): network {values(widths)}, "
            f"{values(acts)} + {values(lambda c: output_units(c, d)[1])}"
            f"{'' if extras == 'plain' else ', ' + extras}, {values(lambda c: c.model.init)} init")


def check_runs(runs) -> dict:
    """Prepare and check every run before any trains: {label: Prepared}. Data errors, labels the
    loss cannot take and impossible models surface now, as one-line errors."""
    from ..runs.experiment import build_model, prepare
    from ..nn import losses
    prepared, cache = {}, {}
    for label, cfg in runs:
        key = (repr(cfg.data), repr(cfg.split), cfg.base_dir)
        if key not in cache:
            cache[key] = prepare(cfg)
        p = cache[key]
        model, loss = build_model(cfg, p.dataset, p.X_train.shape[1])
        losses.get(loss).targets(p.y_train, model.n_out)
        if cfg.train.engine == "jax":
            from ..learn.engines import get as get_engine
            get_engine("jax")
        if cfg.train.engine == "auto":       # measured once per machine, here, before workers start
            from ..learn.engines import auto
            auto.get_costs()
        prepared[label] = p
    return prepared


def result_line(r) -> str:
    """One line per finished run: epochs, last cost, accuracy (or loss) on each split, time and
    engine; a run that early stopping ended says so on a second line, with the reason."""
    parts = []
    for part in ("train", "val", "test"):
        m = r.metrics.get(part)
        if m and "accuracy" in m:
            parts.append(f"{part} acc {m['accuracy']:.4f}")
        elif m:
            parts.append(f"{part} loss {m['loss']:.6g}")
    cost = (r.history.get("history", {}).get("cost") or [math.nan])[-1]
    status = "" if r.status == "ok" else f"  [{r.status}]"
    engine = ", ".join(filter(None, [r.engine, r.dtype if r.dtype != "float64" else ""]))
    line = (f"{r.label:<20} epochs {r.epochs_done:<6} cost {cost:<10.6g}  {'  '.join(parts)}  "
            f"({r.seconds:.1f} s{', ' + engine if engine else ''}){status}")
    note = r.stop_note()
    return f"{line}\n{'':<20} {note}" if note else line


# -- running several runs ------------------------------------------------------------------------
STOP_GRACE_S = 60       # how long Ctrl-C waits for the runs to write their checkpoints


class CompareInterrupted(KeyboardInterrupt):
    """Ctrl-C during a comparison; ``saved`` lists the checkpoints the runs wrote."""

    def __init__(self, saved: list):
        super().__init__(saved)
        self.saved = saved


def checkpoint_path(folder, label: str) -> str:
    """checkpoints/<label>.npz with the label made file-safe ('he_normal · relu' -> 'he_normal-relu')."""
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in label)
    while "--" in safe:
        safe = safe.replace("--", "-")
    return str(Path(folder) / f"{safe.strip('-') or 'run'}.npz")


def run_all(runs, prepared: dict, *, jobs: int | None, quiet: bool, emit, checkpoints=None,
            resume: bool = False, meanwhile=None) -> list:
    """Train every (label, cfg) of ``runs``; in ``jobs`` processes when there are several.

    checkpoints  a folder: each run keeps checkpoints/<label>.npz there (final weights; on
                 Ctrl-C the state reached); with ``resume`` a run continues from its file
    meanwhile    with several processes, a function to run on a thread of this process once the
                 first run has finished (a core is free then), e.g. loading the report's plotting
                 library; it has finished when run_all returns
    Progress: one bar over all the runs' epochs (a terminal), or a line per tenth. Ctrl-C asks
    every run to save its checkpoint, waits for them, then raises CompareInterrupted.
    """
    from ..runs.experiment import choose_engines
    jobs = runner.worker_count(jobs, len(runs))
    paths = {label: checkpoint_path(checkpoints, label) if checkpoints else None for label, _ in runs}
    engines = choose_engines(runs, prepared, jobs)       # "auto" decides for the runs together
    if jobs <= 1:
        return _run_here(runs, prepared, paths, engines, resume=resume, quiet=quiet, emit=emit)
    return _run_in_workers(runs, prepared, paths, engines, resume=resume, jobs=jobs, quiet=quiet, emit=emit,
                           meanwhile=meanwhile)


def _run_here(runs, prepared: dict, paths: dict, engines: dict, *, resume: bool, quiet: bool, emit) -> list:
    """The runs one after another in this process, each under its own progress bar."""
    from ..runs.experiment import Interrupted, run
    from ..runs.progress import Progress
    results = []
    for i, (label, cfg) in enumerate(runs):
        desc = f"[{i + 1}/{len(runs)}] {label}" if len(runs) > 1 else label
        progress = Progress(cfg.train.epochs, desc=desc, mode="off" if quiet else "auto")
        try:
            r = run(label, cfg, prepared[label], progress=progress, checkpoint=paths[label],
                    resume=_resume_from(paths[label], resume), engine=engines.get(label))
        except Interrupted as stop:
            raise CompareInterrupted([stop.checkpoint] if stop.checkpoint else []) from None
        results.append(r)
        if not quiet:
            emit(result_line(r))
    return results


def _run_in_workers(runs, prepared: dict, paths: dict, engines: dict, *, resume: bool, jobs: int, quiet: bool,
                    emit, meanwhile) -> list:
    """The runs at once in ``jobs`` worker processes (runs.runner), under one progress bar over all
    their epochs, each result line printed as its run finishes."""
    from ..runs.progress import Progress
    total = sum(cfg.train.epochs for _, cfg in runs)
    bar = None if quiet else Progress(total, desc=f"{len(runs)} runs on {jobs} processes", mode="auto")
    tasks = [(label, cfg, paths[label], _resume_from(paths[label], resume), prepared[label], engines.get(label))
             for label, cfg in runs]
    try:
        return runner.run_tasks(
            _work, tasks, jobs=jobs, meanwhile=meanwhile, stop_grace_s=STOP_GRACE_S,
            on_progress=None if bar is None else bar.advance_to,
            on_result=None if quiet else (lambda _, r: _print_above(bar, emit, result_line(r))))
    except runner.Stopped as stop:          # each run saved its checkpoint and returned
        raise CompareInterrupted([o[1] for o in stop.outcomes if isinstance(o, tuple) and o[1]]) from None
    finally:
        if bar is not None:
            bar.close()


class _QueueProgress:
    """Reports a worker's epochs to the parent, about 100 times a run, and turns the parent's
    stop request into a KeyboardInterrupt inside the run (which then saves its checkpoint)."""

    def __init__(self, total: int, initial: int = 0):
        self.step, self.sent = max(1, (total - initial) // 100), initial

    def update(self, epoch, values):
        if runner.stop_requested():
            raise KeyboardInterrupt
        done = epoch + 1
        if done - self.sent >= self.step:
            runner.report(done - self.sent)
            self.sent = done

    def close(self):
        pass


def _work(label: str, cfg, checkpoint, resume, prepared=None, engine=None):
    """One run in a worker: its RunResult, or ("interrupted", checkpoint path or None). ``prepared``
    is the parent's prepared data (sent, not rebuilt: rebuilding imports scikit-learn, ~1 s);
    ``engine`` what "auto" chose for the command's runs together."""
    from ..runs.experiment import Interrupted, run
    progress = _QueueProgress(cfg.train.epochs)
    try:
        return run(label, cfg, prepared, progress=progress, checkpoint=checkpoint, resume=resume, engine=engine)
    except Interrupted as stop:
        return ("interrupted", stop.checkpoint)
    finally:
        total = cfg.train.epochs
        if progress.sent < total:
            runner.report(total - progress.sent)


def _resume_from(path, resume: bool):
    return path if resume and path and Path(path).is_file() else None


def _print_above(progress, emit, line: str) -> None:
    if progress is not None and progress.bar is not None:
        progress.bar.write(line, file=sys.stdout)
    else:
        emit(line)


# -- writing results -----------------------------------------------------------------------------
def finish(args, cfg, results, *, wall: float, command: str, emit) -> list[Path]:
    """Write the report (unless --no-report) and the JSON; print where they went."""
    from ..report import writer as report
    from ..fileio import atomic_write_text
    files = []
    if not args.no_report:
        files = report.write(results, cfg, cfg.report_dir(), wall_seconds=wall, command=command,
                             log_scale=args.log_scale)
        emit(f"report: {files[0]}")
    if args.json:
        text = json.dumps(report.results_json(results, cfg, wall_seconds=wall), indent=1, allow_nan=False) + "\n"
        if args.json == "-":
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            atomic_write_text(args.json, text)
    return files


def command_line(name: str, *fallback) -> str:
    """The command as typed ("deepbasics compare my.toml --epochs 5"), or, when deepbasics was
    called from Python, "deepbasics <name> <fallback...>"."""
    if len(sys.argv) > 1 and sys.argv[1] == name:
        return " ".join(["deepbasics", *sys.argv[1:]])
    return " ".join(["deepbasics", name, *fallback])
