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
accuracy hides the lesson. Here the data are scikit-learn's bundled handwritten digits
(1,797 images of 8x8 pixels, 64 inputs, 10 classes), split 70/30 (stratified, seed 0) and
standardised on the training part. Memorising the 1,258 training images on top of random
lower layers does not carry over to the 539 held-out images; reaching TARGET held-out
accuracy needs lower layers that learned features. Each optimizer runs at its usual default
rate, fixed before any run (GD 0.01 as in Keras's SGD, Adam 0.001 as the document
suggests), for ``epochs`` epochs of mini-batches of 60, whatever happens: nothing is tuned
per recipe.

Per run: ``epochs_to_target`` (the first epoch after which held-out accuracy >= target, counted
from 1; None when never reached), ``seconds_to_target`` and ``seconds`` (wall-clock of the fit,
validation included; with the JAX engine the first epoch includes compiling the program),
``final_accuracy`` (held-out, after the last epoch), training accuracy, the per-layer weight
change ||W_after - W_before|| / ||W_before||, and ``diagnostics.inspect`` at initialisation and
after training (activation variance, gradient norms, saturated and dead units).
"""
from __future__ import annotations

import importlib.util
import time
from dataclasses import dataclass

import numpy as np

from ..nn import diagnostics
from ..learn import optim
from ..nn.activations import SELU, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from ..nn.batchnorm import BatchNorm
from ..data.datasets import digits
from ..nn.dense import Dense
from ..errors import DeepBasicsError, DivergedError, check_positive_int
from ..learn.model import Sequential
from ..data.splits import Standardizer, split


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
TARGET = 0.95              # held-out accuracy
EPOCHS = 60
WIDTH = 100
BATCH_SIZE = 60
SHUFFLE_SEED = 10
SPLIT_SEED = 0
PROBE = 512                # training examples the diagnostics look at


def default_engine() -> str:
    """The compiled engine when JAX is installed (several times faster here), else NumPy."""
    return "jax" if importlib.util.find_spec("jax") is not None else "numpy"


def task(split_seed: int = SPLIT_SEED):
    """(X_train, y_train, X_heldout, y_heldout, description): the digits, split and standardised."""
    X, y = digits()
    parts = split(y, (0.7, 0.3, 0.0), seed=split_seed)
    scale = Standardizer.fit(X[parts.train])
    text = (f"scikit-learn's digits (8x8 images, 64 inputs, 10 classes): {len(parts.train)} training / "
            f"{len(parts.val)} held-out examples (70/30, stratified, seed {split_seed}), standardised on the "
            f"training part")
    return scale.transform(X[parts.train]), y[parts.train], scale.transform(X[parts.val]), y[parts.val], text


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


def _dense_weights(model: Sequential) -> list[np.ndarray]:
    return [p[0].copy() for p, layer in zip(model.params, model.layers) if isinstance(layer, Dense)]


def train_one(name: str, depth: int, optimizer_name: str, data, *, width: int, epochs: int, target: float,
              lr: float, seed: int, engine: str) -> dict:
    """Build, inspect, train and inspect again one network; return its run record."""
    X, y, Xh, yh, _ = data
    model = build(RECIPES[name], depth, width, seed, n_in=X.shape[1], n_out=int(max(y.max(), yh.max())) + 1)
    probe = np.random.RandomState(seed).permutation(len(y))[:PROBE]
    loss = "categorical_crossentropy"
    before = model.diagnose(X[probe], y[probe], loss=loss)
    w0 = _dense_weights(model)
    optimizer = optim.OPTIMIZERS[optimizer_name](lr=lr)
    stamps = []                                   # wall-clock at the end of each epoch
    start = time.perf_counter()
    diverged, history = None, None
    try:
        history = model.fit(X, y, loss=loss, optimizer=optimizer, epochs=epochs, batch_size=BATCH_SIZE,
                            shuffle_seed=SHUFFLE_SEED, validation_data=(Xh, yh), engine=engine,
                            on_epoch=lambda *_: stamps.append(time.perf_counter() - start))
    except DivergedError as err:                  # a diverging network is a result, not a crash
        diverged, history = str(err), err.history
    seconds = time.perf_counter() - start
    heldout = [float(v) for v in (history["val_accuracy"] if history and "val_accuracy" in history.history else [])]
    reached = next((e for e, acc in enumerate(heldout) if acc >= target), None)
    moved = [float(np.linalg.norm(b - a) / np.linalg.norm(a)) for a, b in zip(w0, _dense_weights(model))]
    return {
        "recipe": name, "depth": depth, "optimizer": optimizer_name, "lr": lr,
        "epochs_to_target": None if reached is None else reached + 1,
        "seconds_to_target": None if reached is None else round(stamps[reached], 3),
        "seconds": round(seconds, 3),
        "final_accuracy": heldout[-1] if heldout else None,
        "train_accuracy": model.evaluate(X, y)["accuracy"],
        "best_accuracy": max(heldout) if heldout else None,
        "heldout_accuracy": heldout,
        "costs": list(history.cost) if history else [],
        "diverged": diverged,
        "weight_change": moved,
        "init": _profile(before),
        "trained": _profile(model.diagnose(X[probe], y[probe], loss=loss)),
    }


def run(depths=DEPTHS, recipes=DEFAULT_RECIPES, optimizers=OPTIMIZERS, width: int = WIDTH, epochs: int = EPOCHS,
        target: float = TARGET, lr: dict | None = None, seed: int = 0, engine: str | None = None,
        print_fn=print) -> dict:
    """Every (depth, recipe, optimizer): epochs to the held-out target; the results as plain data."""
    recipes, optimizers = list(recipes), list(optimizers)
    for r in recipes:
        if r not in RECIPES:
            raise DeepBasicsError(f"unknown recipe {r!r}; choose from: {', '.join(RECIPES)}")
    for o in optimizers:
        if o not in DEFAULT_LR:
            raise DeepBasicsError(f"unknown optimizer {o!r}; choose from: {', '.join(DEFAULT_LR)}")
    depths = [check_positive_int("depth", d) for d in depths]
    check_positive_int("width", width)
    check_positive_int("epochs", epochs)
    if not 0 < target <= 1:
        raise DeepBasicsError(f"target is a held-out accuracy in (0, 1], got {target!r}")
    rates = {o: float((lr or {}).get(o, DEFAULT_LR[o])) for o in optimizers}
    if engine is None:
        engine = default_engine()
        if engine == "numpy":
            print_fn("JAX is not installed: training with the NumPy engine, several times slower here "
                     "(pip install jax for the compiled engine)")
    data = task()
    results = {"settings": {"depths": depths, "recipes": recipes, "optimizers": optimizers, "lr": rates,
                            "width": width, "epochs": epochs, "batch_size": BATCH_SIZE, "target": target,
                            "target_metric": "held-out accuracy", "seed": seed, "shuffle_seed": SHUFFLE_SEED,
                            "split_seed": SPLIT_SEED, "engine": engine, "data": data[4]}, "runs": []}
    for depth in depths:
        for name in recipes:
            for o in optimizers:
                r = train_one(name, depth, o, data, width=width, epochs=epochs, target=target, lr=rates[o],
                              seed=seed, engine=engine)
                results["runs"].append(r)
                when = f"target at epoch {r['epochs_to_target']:>3} ({r['seconds_to_target']:.1f} s)" \
                    if r["epochs_to_target"] else f"target not reached in {epochs} epochs"
                print_fn(f"depth {depth:>3}  {name:<18} {o:<5} {when:<32} held-out {r['final_accuracy'] or 0:.3f}  "
                         f"train {r['train_accuracy']:.3f}  ({r['seconds']:.1f} s)")
    return results


def find(results: dict, name: str, depth: int, optimizer: str) -> dict | None:
    return next((r for r in results["runs"]
                 if r["recipe"] == name and r["depth"] == depth and r["optimizer"] == optimizer), None)


def speed_key(r: dict):
    """Sort key, fastest first: epochs to target (never = last), then the better final accuracy."""
    e = r["epochs_to_target"]
    return (e if e is not None else float("inf"), -(r["final_accuracy"] or 0.0))


def ranking(results: dict, depth: int, optimizer: str) -> list[str]:
    """Recipe names at one depth and optimizer, fastest to the target first."""
    runs = [r for r in results["runs"] if r["depth"] == depth and r["optimizer"] == optimizer]
    return [r["recipe"] for r in sorted(runs, key=speed_key)]


def ahead(a: dict, b: dict) -> bool:
    """Run ``a`` ranks before run ``b``: the target reached sooner, or, when neither reached it
    (or both in the same epoch), the higher final held-out accuracy."""
    return speed_key(a) < speed_key(b)


def faster(a: dict, b: dict) -> bool:
    """Run ``a`` reached the target in fewer epochs than ``b`` (or reached it and ``b`` did not)."""
    ea, eb = a["epochs_to_target"], b["epochs_to_target"]
    return ea is not None and (eb is None or ea < eb)
