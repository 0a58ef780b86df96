"""The deep-network experiment: how fast deep networks learn, and what the document's cures change.

The document says that vanishing gradients make the lower layers "very hard to train" and
training "extremely slow", and that He initialisation, ReLU, batch normalisation and a faster
optimizer than gradient descent speed training up. This experiment measures exactly that:
the number of epochs (and seconds) each network needs to reach a stated target, per recipe,
depth and optimizer, and how far each layer's weights moved.

Networks of ``depth`` hidden layers of ``width`` units (Dense [-> BatchNorm] -> activation)
and a softmax output are built under the document's problem case and its cures:

    N(0,1)+sigmoid       standard normal weights, logistic activations   (the document's problem)
    Glorot+tanh          Glorot normal, tanh
    He+ReLU              He normal, ReLU
    He+ReLU+BatchNorm    He normal, Dense -> BatchNorm -> ReLU
    (He+LeakyReLU and LeCun+SELU on request)

The task, and why. The target is an accuracy on examples the network never trained on, so
that it cannot be reached by the top layers alone. On the document's moons (2 inputs) every
recipe, even N(0,1)+sigmoid at depth 20, fits the training set within a few epochs: the top
layers fit whatever random features the untrained lower layers hand them, so final training
accuracy hides the lesson. Two data sets (``DATA``):

    digits    scikit-learn's bundled handwritten digits (1,797 images of 8x8 pixels, 64 inputs,
              10 classes), split 70/30 (stratified, seed 0); target 95% held-out accuracy
    mnist1d   MNIST-1D (5,000 one-dimensional signals of 40 values, 10 classes; the optional
              ``mnist1d`` package generates them offline), its own 4,000 / 1,000 split; harder:
              its authors report about 68% test accuracy for an MLP

both standardised on the training part, mini-batches of 60.

Two learning-rate regimes. The **shared rate**: each optimizer at its usual default (GD 0.01 as
in Keras's SGD, Adam 0.001 as the document suggests), the same for every recipe, for ``epochs``
epochs whatever happens. The **rate grid**: every recipe, depth and optimizer is also trained at
each rate of a log-spaced grid (``GRID``), stopping once the target is reached; its ``best`` rate
is the one that reaches the target in the fewest epochs. A recipe that trains faster only at its
own rate (batch normalisation's claim: it allows much higher rates) is seen in the grid, not at
the shared rate; a best rate at the edge of the grid is flagged, since a rate beyond it might be
better still. The runs go through the process runner (one worker per core) or any ``execute``
the caller gives (a Dask cluster).

Per run: ``lr``, ``epochs_to_target`` (the first epoch after which held-out accuracy >= target,
counted from 1; None when never reached), ``seconds_to_target`` and ``seconds`` (wall-clock of
the fit, validation included; with the JAX engine the first epoch includes compiling the
program; runs share the cores, so seconds compare runs of one experiment only),
``final_accuracy`` (held-out, after the last epoch), training accuracy, the per-layer weight
change ||W_after - W_before|| / ||W_before||, ``diagnostics.inspect`` at initialisation and
after training (activation variance, gradient norms, saturated and dead units), and the 15th,
50th and 85th percentiles of every hidden layer's pre-activation after every epoch
(``percentiles``). Grid runs keep only what the choice of rate needs (``GRID_KEYS``).
"""
from __future__ import annotations

import functools
import importlib.util
import math
import time
from dataclasses import dataclass

import numpy as np

from ..nn import diagnostics
from ..learn import optim
from ..nn.activations import SELU, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from ..nn.batchnorm import BatchNorm
from ..data import datasets
from ..nn.dense import Dense
from ..errors import DeepBasicsError, DivergedError, check_positive_int
from ..learn.model import Sequential
from ..nn.network import shapes_of, unflatten
from ..data.splits import Standardizer, split
from ..runs import runner


@dataclass(frozen=True)
class Recipe:
    init: str
    activation: type
    batch_norm: bool = False


RECIPES = {
    "N(0,1)+sigmoid": Recipe("standard_normal", Sigmoid),
    "Glorot+tanh": Recipe("glorot_normal", Tanh),
    "He+ReLU": Recipe("he_normal", ReLU),
    "He+ReLU+BatchNorm": Recipe("he_normal", ReLU, batch_norm=True),
    "He+LeakyReLU": Recipe("he_normal", LeakyReLU),
    "LeCun+SELU": Recipe("lecun_normal", SELU),
}
PROBLEM = "N(0,1)+sigmoid"
DEFAULT_RECIPES = ("N(0,1)+sigmoid", "Glorot+tanh", "He+ReLU", "He+ReLU+BatchNorm")
DEPTHS = (5, 10, 20)
OPTIMIZERS = ("gd", "adam")
DEFAULT_LR = {"gd": 0.01, "momentum": 0.01, "rmsprop": 0.001, "adam": 0.001}
# log-spaced rates, half a decade apart, over 2.5 decades: GD from its default up (batch
# normalisation's claim is about rates far above it; below it no recipe reaches the digits'
# target in 60 epochs), Adam from a tenth of its default up
GRID = {"gd": (0.01, 0.03, 0.1, 0.3, 1.0, 3.0), "momentum": (0.001, 0.003, 0.01, 0.03, 0.1, 0.3),
        "rmsprop": (0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03), "adam": (0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03)}
# data set -> (held-out accuracy to reach, epochs per run)
DATA = {"digits": (0.95, 60), "mnist1d": (0.50, 30)}
DEFAULT_DATA = "digits"
TARGET, EPOCHS = DATA[DEFAULT_DATA]
WIDTH = 100
BATCH_SIZE = 60
SHUFFLE_SEED = 10
SPLIT_SEED = 0
PROBE = 512                # training examples the diagnostics look at
GRID_KEYS = ("recipe", "depth", "optimizer", "lr", "epochs_to_target", "seconds_to_target", "seconds",
             "accuracy_at_target", "best_accuracy", "heldout_accuracy", "diverged")


def default_engine() -> str:
    """The compiled engine when JAX is installed (several times faster here), else NumPy."""
    return "jax" if importlib.util.find_spec("jax") is not None else "numpy"


@functools.lru_cache(maxsize=2)
def task(data: str = DEFAULT_DATA, split_seed: int = SPLIT_SEED):
    """(X_train, y_train, X_heldout, y_heldout, description): ``data`` split and standardised on
    its training part; computed once per process (the arrays are shared: do not change them)."""
    if data not in DATA:
        raise DeepBasicsError(f"unknown data set {data!r} for deep; choose from: {', '.join(DATA)}")
    if data == "mnist1d":
        X, y = datasets.mnist1d()
        train, held = np.arange(datasets.MNIST1D_TRAIN), np.arange(datasets.MNIST1D_TRAIN, len(y))
        text = (f"MNIST-1D (the mnist1d package's generator, default arguments, seed 42; 40 inputs, 10 classes): "
                f"its own {len(train)} training / {len(held)} held-out examples, standardised on the training part")
    else:
        X, y = datasets.digits()
        parts = split(y, (0.7, 0.3, 0.0), seed=split_seed)
        train, held = parts.train, parts.val
        text = (f"scikit-learn's digits (8x8 images, 64 inputs, 10 classes): {len(train)} training / "
                f"{len(held)} held-out examples (70/30, stratified, seed {split_seed}), standardised on the "
                f"training part")
    scale = Standardizer.fit(X[train])
    return scale.transform(X[train]), y[train], scale.transform(X[held]), y[held], text


def build(recipe: Recipe, depth: int, width: int, seed: int, n_in: int = 2, n_out: int = 1) -> Sequential:
    """depth x (Dense(width) [-> BatchNorm] -> activation), then Dense(n_out) -> Sigmoid for one
    output (binary) or Softmax for several (classes)."""
    layers = []
    for _ in range(depth):
        layers += [Dense(width)] + ([BatchNorm()] if recipe.batch_norm else []) + [recipe.activation()]
    head = Sigmoid() if n_out == 1 else Softmax()
    return Sequential(layers + [Dense(n_out), head], input_dim=n_in, init=recipe.init, seed=seed)


def _profile(rows: list[dict]) -> dict:
    """The per-layer series the plots and the summary use, from ``diagnostics.inspect`` rows."""
    dense = [r for r in rows if r["layer"].startswith("Dense")]
    # Sequential.diagnose runs the network without its output softmax (fused into the loss),
    # so every activation row is a hidden layer's
    hidden_acts = [r for r in rows if r["layer"] != "BatchNorm" and not r["layer"].startswith("Dense")]

    def share(key):
        values = [r[key] for r in hidden_acts if key in r]
        return float(np.mean(values)) if values else None
    return {
        "grad_norm": [r["grad_norm"] for r in dense],                    # first .. output layer
        "preact_var": [r["out_var"] for r in dense[:-1]],                # hidden Dense outputs
        "act_var": [r["out_var"] for r in hidden_acts],                  # hidden activations
        "saturated": share("saturated"),
        "dead": share("dead"),
        "orders": diagnostics.orders_of_magnitude(rows),
    }


def _recorder(model: Sequential, X: np.ndarray):
    """record(params, layer_state) -> appends the 15th, 50th and 85th percentiles of every hidden
    layer's pre-activation on X (a forward pass, ``diagnostics.preactivation_percentiles``);
    ``series`` holds one list of [p15, p50, p85] per hidden layer per call."""
    body = model.layers[:-1]                       # the output softmax is not a hidden layer
    n = len(body)
    shapes = shapes_of(model.params[:n])
    series = []

    def record(theta, layer_state) -> None:
        params = model.params[:n] if theta is None else unflatten(np.asarray(theta, dtype=np.float64), shapes)
        state = [tuple(np.asarray(a, dtype=np.float64) for a in s) for s in layer_state[:n]]
        rows = diagnostics.preactivation_percentiles(body, params, state, X)
        series.append([[round(v, 5) for v in row] for row in rows])
    return record, series


def percentiles(series: list) -> dict:
    """{"epochs": [0, 1, ...] (0: at initialisation, e: after epoch e), "layers": (hidden layers,
    epochs, 3) nested lists of the 15th, 50th and 85th percentiles of each hidden layer's pre-activation}."""
    return {"epochs": list(range(len(series))),
            "layers": [[series[e][k] for e in range(len(series))] for k in range(len(series[0]) if series else 0)]}


def _dense_weights(model: Sequential) -> list[np.ndarray]:
    return [p[0].copy() for p, layer in zip(model.params, model.layers) if isinstance(layer, Dense)]


class _Reached(Exception):
    """Raised from ``on_epoch`` to end a grid run once it has reached the target."""


def _fit(model, data, optimizer_name: str, lr: float, epochs: int, engine: str, stop_at: float | None, record):
    """Train; (history or None, held-out accuracy per epoch, seconds at each epoch's end, seconds,
    diverged). ``record(theta, layer_state)``, when given, runs after every epoch; its time is
    left out of the seconds."""
    X, y, Xh, yh, _ = data
    stamps, heldout, paused = [], [], [0.0]       # wall-clock and held-out accuracy at the end of each epoch
    start = time.perf_counter()

    def on_epoch(epoch, state, values):
        stamps.append(time.perf_counter() - start - paused[0])
        heldout.append(float(values.get("val_accuracy", float("nan"))))
        if record is not None and state is not None:
            began = time.perf_counter()
            record(state.theta, state.layer_state)
            paused[0] += time.perf_counter() - began
        if stop_at is not None and heldout[-1] >= stop_at:
            raise _Reached
    diverged, history = None, None
    try:
        history = model.fit(X, y, loss="categorical_crossentropy", optimizer=optim.OPTIMIZERS[optimizer_name](lr=lr),
                            epochs=epochs, batch_size=BATCH_SIZE, shuffle_seed=SHUFFLE_SEED,
                            validation_data=(Xh, yh), engine=engine, on_epoch=on_epoch)
    except _Reached:
        pass
    except DivergedError as err:                  # a diverging network is a result, not a crash
        diverged, history = str(err), err.history
        heldout = [float(v) for v in history.history.get("val_accuracy", [])] if history else []
    return history, heldout, stamps, time.perf_counter() - start - paused[0], diverged


def train_one(name: str, depth: int, optimizer_name: str, data, *, width: int, epochs: int, target: float,
              lr: float, seed: int, engine: str, full: bool = True) -> dict:
    """Build, inspect, train and inspect again one network; return its run record. ``full=False``
    (a grid run): stop once the target is reached and keep only ``GRID_KEYS``."""
    X, y, Xh, yh, _ = data
    model = build(RECIPES[name], depth, width, seed, n_in=X.shape[1], n_out=int(max(y.max(), yh.max())) + 1)
    probe = np.random.RandomState(seed).permutation(len(y))[:PROBE]
    loss = "categorical_crossentropy"
    before = model.diagnose(X[probe], y[probe], loss=loss) if full else None
    w0 = _dense_weights(model)
    record, series = _recorder(model, X[probe]) if full else (None, [])
    if full:
        record(None, model.state)
    history, heldout, stamps, seconds, diverged = _fit(model, data, optimizer_name, lr, epochs, engine,
                                                       None if full else target, record)
    reached = next((e for e, acc in enumerate(heldout) if acc >= target), None)
    record = {
        "recipe": name, "depth": depth, "optimizer": optimizer_name, "lr": lr,
        "epochs_to_target": None if reached is None else reached + 1,
        "seconds_to_target": None if reached is None else round(stamps[reached], 3),
        "seconds": round(seconds, 3),
        "accuracy_at_target": None if reached is None else heldout[reached],
        "final_accuracy": heldout[-1] if heldout else None,
        "best_accuracy": max(heldout) if heldout else None,
        "heldout_accuracy": heldout,
        "diverged": diverged,
    }
    if not full:
        return {k: record[k] for k in GRID_KEYS}
    moved = [float(np.linalg.norm(b - a) / np.linalg.norm(a)) for a, b in zip(w0, _dense_weights(model))]
    return record | {
        "train_accuracy": model.evaluate(X, y)["accuracy"],
        "costs": list(history.cost) if history else [],
        "weight_change": moved,
        "init": _profile(before),
        "trained": _profile(model.diagnose(X[probe], y[probe], loss=loss)),
        "percentiles": percentiles(series),
    }


def run_task(spec: dict) -> dict:
    """One run of the experiment from plain data (a process-runner or Dask task): ``spec`` holds
    recipe, depth, optimizer, lr, width, epochs, target, seed, engine, data and full."""
    return train_one(spec["recipe"], spec["depth"], spec["optimizer"], task(spec["data"]), width=spec["width"],
                     epochs=spec["epochs"], target=spec["target"], lr=spec["lr"], seed=spec["seed"],
                     engine=spec["engine"], full=spec["full"])


def warm_up(data: str, engine: str) -> None:
    """A worker's start: the data set made once, JAX imported once."""
    task(data)
    if engine == "jax":
        import jax  # noqa: F401


def local_execute(jobs: int | None = None):
    """``execute(function, specs, on_result, warm_up)`` on the process runner: one worker per core
    (or ``jobs``; one: here, in this process), the deepest, full-length runs started first; results
    in the specs' order."""
    def execute(function, specs, on_result, warm):
        if runner.worker_count(jobs, len(specs)) <= 1:
            warm[0](*warm[1:])
            return [_delivered(function(s), on_result) for s in specs]
        order = sorted(range(len(specs)), key=lambda i: (-specs[i]["depth"], not specs[i]["full"]))
        return runner.run_tasks(function, [(s,) for s in specs], jobs=jobs, warm_up=warm, start_order=order,
                                on_result=lambda i, r: on_result(r))
    return execute


def _delivered(result, on_result):
    on_result(result)
    return result


def check_grid(grid: dict | None, optimizers, shared: dict) -> dict:
    """optimizer -> sorted rates of its grid (``GRID`` unless given), each > 0, the shared rate
    included; an empty list turns the grid off for that optimizer (only the shared rate runs)."""
    out = {}
    for o in optimizers:
        rates = list((grid or {}).get(o, GRID[o]))
        for r in rates:
            if isinstance(r, bool) or not isinstance(r, (int, float)) or not math.isfinite(r) or r <= 0:
                raise DeepBasicsError(f"learning rates of the {o} grid must be numbers > 0, got {r!r}")
        out[o] = sorted({float(r) for r in rates} | {shared[o]}) if rates else [shared[o]]
    return out


def _check(depths, recipes, optimizers, width, epochs, target) -> None:
    for r in recipes:
        if r not in RECIPES:
            raise DeepBasicsError(f"unknown recipe {r!r}; choose from: {', '.join(RECIPES)}")
    for o in optimizers:
        if o not in DEFAULT_LR:
            raise DeepBasicsError(f"unknown optimizer {o!r}; choose from: {', '.join(DEFAULT_LR)}")
    for d in depths:
        check_positive_int("depth", d)
    check_positive_int("width", width)
    check_positive_int("epochs", epochs)
    if not 0 < target <= 1:
        raise DeepBasicsError(f"target is a held-out accuracy in (0, 1], got {target!r}")


def run(depths=DEPTHS, recipes=DEFAULT_RECIPES, optimizers=OPTIMIZERS, width: int = WIDTH, epochs: int | None = None,
        target: float | None = None, lr: dict | None = None, seed: int = 0, engine: str | None = None,
        data: str = DEFAULT_DATA, grid: dict | None = None, execute=None, print_fn=print) -> dict:
    """Every (depth, recipe, optimizer) at the shared rate and at every rate of its grid: epochs
    to the held-out target, the best rate of each; the results as plain data.

    epochs, target  default: the data set's (``DATA``)
    grid            optimizer -> rates (default ``GRID``; {} for an optimizer: the shared rate only)
    execute         execute(function, specs, on_result, warm_up) -> results in order
                    (default: ``local_execute()``, the process runner, one worker per core)
    """
    recipes, optimizers, depths = list(recipes), list(optimizers), list(depths)
    if data not in DATA:
        raise DeepBasicsError(f"unknown data set {data!r} for deep; choose from: {', '.join(DATA)}")
    target = DATA[data][0] if target is None else target
    epochs = DATA[data][1] if epochs is None else epochs
    _check(depths, recipes, optimizers, width, epochs, target)
    shared = {o: float((lr or {}).get(o, DEFAULT_LR[o])) for o in optimizers}
    rates = check_grid(grid, optimizers, shared)
    if engine is None:
        engine = default_engine()
        if engine == "numpy":
            print_fn("JAX is not installed: training with the NumPy engine, several times slower here "
                     "(pip install jax for the compiled engine)")
    text = task(data)[4]
    settings = {"depths": depths, "recipes": recipes, "optimizers": optimizers, "lr": shared, "grid": rates,
                "width": width, "epochs": epochs, "batch_size": BATCH_SIZE, "target": target,
                "target_metric": "held-out accuracy", "seed": seed, "shuffle_seed": SHUFFLE_SEED,
                "split_seed": SPLIT_SEED, "engine": engine, "data_name": data, "data": text}
    specs = [{"recipe": n, "depth": d, "optimizer": o, "lr": r, "width": width, "epochs": epochs, "target": target,
              "seed": seed, "engine": engine, "data": data, "full": r == shared[o]}
             for d in depths for n in recipes for o in optimizers for r in rates[o]]
    start = time.perf_counter()
    done = (execute or local_execute())(run_task, specs, lambda r: _progress(r, epochs, print_fn),
                                        (warm_up, data, engine))
    settings["wall_seconds"] = round(time.perf_counter() - start, 1)
    runs = [r for r, s in zip(done, specs) if s["full"]]
    grid_runs = [{k: r[k] for k in GRID_KEYS} for r in done]
    return {"settings": settings, "runs": runs, "grid_runs": grid_runs, "best": best_rates(grid_runs, settings)}


def _progress(r: dict, epochs: int, print_fn) -> None:
    when = f"target at epoch {r['epochs_to_target']:>3} ({r['seconds_to_target']:.1f} s)" \
        if r["epochs_to_target"] else f"target not reached in {epochs} epochs"
    print_fn(f"depth {r['depth']:>3}  {r['recipe']:<18} {r['optimizer']:<5} lr {r['lr']:<7g} {when:<32} "
             f"held-out {r['best_accuracy'] or 0:.3f} best  ({r['seconds']:.1f} s)")


def rate_key(r: dict):
    """Sort key of one recipe's runs at different rates, best first: fewest epochs to the target;
    among equals, the higher held-out accuracy at that epoch; none reaching it, the higher best
    held-out accuracy; then the smaller rate."""
    e = r["epochs_to_target"]
    accuracy = r["accuracy_at_target"] if e is not None else r["best_accuracy"]
    return (e if e is not None else float("inf"), -(accuracy or 0.0), r["lr"])


def best_rates(grid_runs: list[dict], settings: dict) -> list[dict]:
    """One entry per (recipe, depth, optimizer): its best rate (``rate_key``), that run's epochs
    and seconds to the target, ``edge`` ("lowest" / "highest" when the best rate is at an end of
    the grid, else None) and every rate's epochs (``by_rate``)."""
    out = []
    for d in settings["depths"]:
        for n in settings["recipes"]:
            for o in settings["optimizers"]:
                tried = sorted((r for r in grid_runs if (r["recipe"], r["depth"], r["optimizer"]) == (n, d, o)),
                               key=lambda r: r["lr"])
                if not tried:
                    continue
                top = min(tried, key=rate_key)
                edge = None if len(tried) < 2 else "lowest" if top is tried[0] else \
                    "highest" if top is tried[-1] else None
                out.append({"recipe": n, "depth": d, "optimizer": o, "lr": top["lr"],
                            "epochs_to_target": top["epochs_to_target"],
                            "seconds_to_target": top["seconds_to_target"],
                            "accuracy_at_target": top["accuracy_at_target"], "best_accuracy": top["best_accuracy"],
                            "shared_lr": settings["lr"][o], "edge": edge,
                            "by_rate": [{"lr": r["lr"], "epochs_to_target": r["epochs_to_target"],
                                         "diverged": bool(r["diverged"])} for r in tried]})
    return out


def find(results: dict, name: str, depth: int, optimizer: str, key: str = "runs") -> dict | None:
    """The run (``key="runs"``, the shared rate) or best-rate entry (``key="best"``) of one
    recipe, depth and optimizer."""
    return next((r for r in results.get(key, [])
                 if r["recipe"] == name and r["depth"] == depth and r["optimizer"] == optimizer), None)


def speed_key(r: dict):
    """Sort key, fastest first: epochs to target (never = last), then the better held-out accuracy
    (final for a shared-rate run, best for a best-rate entry)."""
    e = r["epochs_to_target"]
    return (e if e is not None else float("inf"), -(r.get("final_accuracy", r.get("best_accuracy")) or 0.0))


def ranking(results: dict, depth: int, optimizer: str, key: str = "runs") -> list[str]:
    """Recipe names at one depth and optimizer, fastest to the target first."""
    runs = [r for r in results.get(key, []) if r["depth"] == depth and r["optimizer"] == optimizer]
    return [r["recipe"] for r in sorted(runs, key=speed_key)]


def ahead(a: dict, b: dict) -> bool:
    """Run ``a`` ranks before run ``b``: the target reached sooner, or, when neither reached it
    (or both in the same epoch), the higher final held-out accuracy."""
    return speed_key(a) < speed_key(b)


def faster(a: dict, b: dict) -> bool:
    """Run ``a`` reached the target in fewer epochs than ``b`` (or reached it and ``b`` did not)."""
    ea, eb = a["epochs_to_target"], b["epochs_to_target"]
    return ea is not None and (eb is None or ea < eb)
