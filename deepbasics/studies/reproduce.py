"""Every experiment of the document's hands-on section, run with deepbasics and checked
against the figures the document prints (``studies/document_figures.json``).

    unit cases   one GD, momentum (beta 0.9, lr 0.01) and Adam (t 2, lr 0.02, betas 0.8/0.888,
                 eps 1e-2) update of the RandomState(1) test parameters; the mini-batch shapes of
                 a (12288, 148) set cut by 64; update_lr(0.5, 2, 1); schedule_lr_decay(0.5, {10,100}, 0.3, 100)
    trainings    the 3-layer net 2-5-2-1 (ReLU, ReLU, sigmoid; He init from seed 3) on
                 moons(900, noise 0.2, seed 3), mini-batches of 64 reshuffled with seed 10 + epoch + 1:
                 gd, momentum, adam, gd_update_lr, gd_sched, momentum_sched, adam_sched

A figure matches when it prints the same as the document: costs and rates with %f (6 decimals),
unit-case arrays to 8 decimals, accuracies and the schedule values exactly.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from importlib import resources

import numpy as np

from . import classic
from ..nn.activations import ReLU, Sigmoid
from ..data.datasets import moons
from ..nn.dense import Dense
from ..learn.model import Sequential
from ..learn.optim import GD, Adam, Momentum, Optimizer
from ..learn.schedules import Constant, InverseTimeDecay, Schedule
from ..runs import runner

LOG_EVERY = 1000


@dataclass(frozen=True)
class Run:
    """One of the document's make_moons trainings."""
    optimizer: Optimizer
    epochs: int
    schedule: Schedule
    call: str               # how the document calls model()


RUNS = {
    "gd": Run(GD(lr=1e-4), 10000, Constant(), 'model(..., optimizer="gd")'),
    "momentum": Run(Momentum(lr=1e-3, beta=0.9), 10000, Constant(),
                    'model(..., beta=0.9, optimizer="momentum", learning_rate=0.001)'),
    # The document passes no learning rate here, so model()'s default 0.0001 applies.
    "adam": Run(Adam(lr=1e-4), 10000, Constant(), 'model(..., optimizer="adam")'),
    "gd_update_lr": Run(GD(lr=0.5), 5000, InverseTimeDecay(decay_rate=1),
                        'model(..., optimizer="gd", learning_rate=0.5, num_epochs=5000, decay=update_lr)'),
    "gd_sched": Run(GD(lr=0.01), 10000, InverseTimeDecay(decay_rate=1, interval=1000),
                    'model(..., optimizer="gd", learning_rate=0.01, num_epochs=10000, decay=schedule_lr_decay)'),
    "momentum_sched": Run(Momentum(lr=0.01, beta=0.9), 5000, InverseTimeDecay(decay_rate=1, interval=1000),
                          'model(..., optimizer="momentum", learning_rate=0.01, num_epochs=5000, '
                          'decay=schedule_lr_decay)'),
    "adam_sched": Run(Adam(lr=0.001), 5000, InverseTimeDecay(decay_rate=1, interval=1000),
                      'model(..., optimizer="adam", learning_rate=0.001, num_epochs=5000, decay=schedule_lr_decay)'),
}


def document_figures() -> dict:
    """The figures the document prints, as shipped with deepbasics."""
    text = resources.files(__package__).joinpath("document_figures.json").read_text()
    return json.loads(text)


def document_model() -> Sequential:
    """The document's 3-layer network, with its initial weights (He normal, seed 3)."""
    return Sequential([Dense(5), ReLU(), Dense(2), ReLU(), Dense(1), Sigmoid()], input_dim=2, init="he", seed=3)


def train_run(name: str, engine: str = "auto", print_fn=print, verbose: int = LOG_EVERY) -> dict:
    """Train one of ``RUNS``; return its logged costs, rates, accuracy, wall time and the engine that ran."""
    run = RUNS[name]
    X, y = moons(n_samples=900, noise=0.2, seed=3)
    model = document_model()
    start = time.perf_counter()
    history = model.fit(X, y, loss="binary_crossentropy", optimizer=run.optimizer, epochs=run.epochs,
                        batch_size=64, schedule=run.schedule, shuffle_seed=10, verbose=verbose,
                        print_fn=print_fn, engine=engine)
    seconds = time.perf_counter() - start
    accuracy = model.evaluate(X, y)["accuracy"]
    print_fn(f"Accuracy: {accuracy}")
    logged = range(0, run.epochs, LOG_EVERY)
    return {"costs": {e: history.cost[e] for e in logged},
            "lr": {e: history["lr_after"][e] for e in logged},
            "accuracy": accuracy, "seconds": round(seconds, 3), "engine": history.params["engine"]}


def _test_case():
    """The document's update_parameters_with_*_test_case(): parameters and grads from seed 1."""
    rng = np.random.RandomState(1)
    shapes = {"1": ((2, 3), (2, 1)), "2": ((3, 3), (3, 1))}
    params = {}
    for l, (w, b) in shapes.items():
        params["W" + l], params["b" + l] = rng.randn(*w), rng.randn(*b)
    grads = {}
    for l, (w, b) in shapes.items():
        grads["dW" + l], grads["db" + l] = rng.randn(*w), rng.randn(*b)
    return params, grads


def unit_cases(print_fn=print) -> dict:
    """Run the document's unit cases; print them as the document does; return the results."""
    out = {}
    params, grads = _test_case()
    out["gd"] = classic.update_parameters_with_gd(params, grads, 0.01)

    params, grads = _test_case()
    v = classic.initialize_velocity(params)
    params, v = classic.update_parameters_with_momentum(params, grads, v, beta=0.9, learning_rate=0.01)
    out["momentum"] = {**params, **{"v" + k: a for k, a in v.items()}}

    params, grads = _test_case()
    v, s = classic.initialize_adam(params)
    params, *_ = classic.update_parameters_with_adam(params, grads, v, s, 2, 0.02, 0.8, 0.888, 1e-2)
    out["adam_t2_lr0.02_b0.8_b0.888_eps1e-2"] = params

    rng = np.random.RandomState(1)
    tX, tY = rng.randn(12288, 148), rng.randn(1, 148) < 0.5
    batches = classic.random_mini_batches(tX, tY, 64)
    out["minibatch_shapes_12288x148_bs64"] = [list(b[0].shape) for b in batches[:3]]
    out["minibatch_shapes_12288x148_bs64_Y"] = [list(b[1].shape) for b in batches[:3]]
    out["update_lr_0.5_epoch2_rate1"] = classic.update_lr(0.5, 2, 1)
    out["schedule_lr_decay_0.5_rate0.3_interval100"] = {
        "10": float(classic.schedule_lr_decay(0.5, 10, 0.3, 100)),
        "100": float(classic.schedule_lr_decay(0.5, 100, 0.3, 100))}

    for case in ("gd", "momentum", "adam_t2_lr0.02_b0.8_b0.888_eps1e-2"):
        print_fn(f"-- update_parameters_with_{case.split('_t2')[0]} test case")
        for key, arr in out[case].items():
            print_fn(f"{key} =\n{arr}")
    for i, (bx, by) in enumerate(zip(out["minibatch_shapes_12288x148_bs64"],
                                     out["minibatch_shapes_12288x148_bs64_Y"])):
        print_fn(f"shape of mini_batch {i + 1}: X {tuple(bx)}, Y {tuple(by)}")
    print_fn(f"Updated learning rate: {out['update_lr_0.5_epoch2_rate1']}")
    for epoch, value in out["schedule_lr_decay_0.5_rate0.3_interval100"].items():
        print_fn(f"Updated learning rate after {epoch} epochs: {value}")
    return out


def compare(results: dict, figures: dict) -> list[tuple[str, str, str, bool]]:
    """Rows (figure, document's value, ours, match) for every figure the document prints."""
    rows = []
    units = results.get("unit_cases", {})
    for case, expected in figures["unit_cases"].items():
        if case not in units:
            continue
        ours = units[case]
        if isinstance(expected, dict) and case.startswith(("gd", "momentum", "adam")):
            for key, doc in expected.items():
                doc_arr, our_arr = np.asarray(doc), np.asarray(ours[key])
                same = doc_arr.shape == our_arr.shape and all(
                    f"{a:.8f}" == f"{b:.8f}" for a, b in zip(doc_arr.ravel(), our_arr.ravel()))
                diff = float(np.max(np.abs(doc_arr - our_arr))) if doc_arr.shape == our_arr.shape else float("inf")
                rows.append((f"unit {case} {key}", f"{doc_arr.shape} array", f"max |diff| {diff:.1e}", same))
        elif isinstance(expected, dict):
            for key, doc in expected.items():
                rows.append((f"unit {case} @{key}", repr(doc), repr(ours[key]), doc == ours[key]))
        else:
            rows.append((f"unit {case}", str(expected), str(ours), expected == ours))
    for name, run in results.get("runs", {}).items():
        doc_run = figures["runs"][name]
        for epoch, doc in doc_run["costs"].items():
            ours = run["costs"][int(epoch)]
            rows.append((f"{name} cost@{epoch}", "%f" % doc, "%f" % ours, "%f" % doc == "%f" % ours))
        for epoch, doc in doc_run["lr_after_epoch"].items():
            ours = run["lr"][int(epoch)]
            rows.append((f"{name} lr@{epoch}", "%f" % doc, "%f" % ours, "%f" % doc == "%f" % ours))
        doc, ours = doc_run["accuracy"], run["accuracy"]
        rows.append((f"{name} accuracy", repr(doc), repr(ours), doc == ours))
    return rows


def format_table(rows) -> str:
    width = max(len(r[0]) for r in rows)
    lines = [f"{'figure':<{width}}  {'document':<20} {'deepbasics':<20} match"]
    lines += [f"{f:<{width}}  {d:<20} {o:<20} {'yes' if ok else 'NO'}" for f, d, o, ok in rows]
    return "\n".join(lines)


def reproduce(engine: str = "auto", runs=None, print_fn=print, verbose: int = LOG_EVERY, jobs: int | None = 1) -> dict:
    """Run the unit cases and the trainings named in ``runs`` (all by default), the trainings in
    ``jobs`` processes (None: one per CPU core); return
    {"engine", "unit_cases", "runs", "rows", "matched", "total", "seconds"}."""
    names = list(RUNS) if runs is None else list(runs)
    start = time.perf_counter()
    results = {"engine": engine, "unit_cases": unit_cases(print_fn), "runs": {}}
    results["runs"] = train_runs(names, engine=engine, print_fn=print_fn, verbose=verbose, jobs=jobs)
    rows = compare(results, document_figures())
    results.update(rows=rows, matched=sum(r[3] for r in rows), total=len(rows),
                   seconds=round(time.perf_counter() - start, 3))
    return results


def train_runs(names, *, engine: str = "auto", print_fn=print, verbose: int = LOG_EVERY, jobs: int | None = 1) -> dict:
    """Train the runs ``names``, printing each one's log (a header, the document's lines, the
    accuracy) in the order given; {name: train_run's result}.

    With ``jobs`` > 1 (None: one per CPU core) they train at once in that many worker processes
    (``runs.runner``). A worker imports JAX once and keeps each compiled program in memory, so the
    runs it trains after its first, which share the document's network, pay neither again. A run's
    lines are printed when it and every run before it have finished, so the output reads as the
    sequential one does.
    """
    names = list(names)
    jobs = runner.worker_count(jobs, len(names))
    if jobs <= 1:
        return _train_here(names, engine=engine, print_fn=print_fn, verbose=verbose)
    return _train_in_workers(names, engine=engine, print_fn=print_fn, verbose=verbose, jobs=jobs)


def _train_here(names, *, engine: str, print_fn, verbose: int) -> dict:
    """The runs one after another in this process, printing as they go."""
    out = {}
    for name in names:
        print_fn(f"\n== {name}: {RUNS[name].call}")
        out[name] = train_run(name, engine=engine, print_fn=print_fn, verbose=verbose)
    return out


def _train_in_workers(names, *, engine: str, print_fn, verbose: int, jobs: int) -> dict:
    """The runs at once in ``jobs`` workers, the longest started first (so that no core is left
    with a long run at the end), each one's lines printed in the order of ``names``."""
    longest_first = sorted(range(len(names)), key=lambda i: -RUNS[names[i]].epochs)
    if engine == "auto":         # measured here, once, before the workers start (they only read it)
        from ..learn.engines import auto
        auto.get_costs()

    def show(_, captured):
        for line in captured[0]:
            print_fn(line)
    done = runner.run_tasks(_captured_run, [(name, engine, verbose) for name in names], jobs=jobs,
                            warm_up=(_warm_up, engine), start_order=longest_first, on_result=show, in_order=True)
    return {name: result for name, (_, result) in zip(names, done)}


def _warm_up(engine: str) -> None:
    """A worker's start-up, once per process: JAX is imported now (with its compilation cache)
    when the engine may be JAX."""
    if engine in ("auto", "jax"):
        from ..learn.engines import auto
        auto.jax_available()


def _captured_run(name: str, engine: str, verbose: int):
    """``train_run`` in a worker: (the lines it printed, its result)."""
    lines = [f"\n== {name}: {RUNS[name].call}"]
    return lines, train_run(name, engine=engine, print_fn=lines.append, verbose=verbose)


def summary_line(results: dict) -> str:
    verdict = "all match" if results["matched"] == results["total"] else "MISMATCH"
    engine = results["engine"]
    ran = sorted({r.get("engine", engine) for r in results["runs"].values()})
    if engine == "auto" and ran:
        engine = f"auto: {', '.join(ran)}"
    return (f"reproduced {results['matched']}/{results['total']} figures of the document: {verdict} "
            f"(engine {engine}, {len(results['runs'])} trainings, {results['seconds']:.1f} s)")


def to_json(results: dict) -> dict:
    """The machine-readable form: {"runs": {name: {"costs", "lr", "accuracy", "seconds"}}, "unit_cases", ...}."""
    def plain(x):
        if isinstance(x, np.ndarray):
            return x.tolist()
        if isinstance(x, dict):
            return {str(k): plain(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [plain(v) for v in x]
        if isinstance(x, (np.floating, np.integer)):
            return x.item()
        return x
    return {"engine": results["engine"], "runs": plain(results["runs"]), "unit_cases": plain(results["unit_cases"]),
            "figures": {"matched": results["matched"], "total": results["total"],
                        "mismatches": [r[0] for r in results["rows"] if not r[3]]},
            "seconds": results["seconds"]}
