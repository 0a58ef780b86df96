"""The deep-network experiment: why deep nets are hard to train, and what the cures do.

Networks of ``depth`` hidden layers of ``width`` units (Dense [-> BatchNorm] -> activation) and a
sigmoid output are built under six recipes, the document's problem case and its cures:

    N(0,1)+sigmoid       standard normal weights, logistic activations   (the document's problem)
    Glorot+tanh          Glorot normal, tanh
    He+ReLU              He normal, ReLU
    He+LeakyReLU         He normal, LeakyReLU (0.01)
    He+ReLU+BatchNorm    He normal, Dense -> BatchNorm -> ReLU
    LeCun+SELU           LeCun normal, SELU

Each is inspected at initialisation (``diagnostics.inspect``: per-layer activation variance,
weight-gradient norms, saturated and dead units), trained on the document's make_moons data,
and inspected again; how far each layer's weights moved, ||W_after - W_before|| / ||W_before||,
shows whether the lower layers learn at all. Every number in the summary is computed from the run.

Mini-batches hold 60 examples so that all 15 batches of the 900 are full: with the document's 64
the last batch has 4 examples, and BatchNorm's statistics over 4 examples are noisy enough to
hold He+ReLU+BatchNorm at depth 20 near 91% training accuracy after 40 epochs of Adam (97% with 60).
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import diagnostics, optim
from .activations import SELU, LeakyReLU, ReLU, Sigmoid, Tanh
from .batchnorm import BatchNorm
from .datasets import moons
from .dense import Dense
from .errors import DeepBasicsError, DivergedError
from .fileio import atomic_write_bytes, atomic_write_text
from .model import Sequential


@dataclass(frozen=True)
class Recipe:
    init: str
    activation: type
    batch_norm: bool = False


RECIPES = {
    "N(0,1)+sigmoid": Recipe("standard_normal", Sigmoid),
    "Glorot+tanh": Recipe("glorot_normal", Tanh),
    "He+ReLU": Recipe("he_normal", ReLU),
    "He+LeakyReLU": Recipe("he_normal", LeakyReLU),
    "He+ReLU+BatchNorm": Recipe("he_normal", ReLU, batch_norm=True),
    "LeCun+SELU": Recipe("lecun_normal", SELU),
}
DEPTHS = (5, 10, 20, 50)


def build(recipe: Recipe, depth: int, width: int, seed: int) -> Sequential:
    """depth x (Dense(width) [-> BatchNorm] -> activation), then Dense(1) -> Sigmoid."""
    layers = []
    for _ in range(depth):
        layers += [Dense(width)] + ([BatchNorm()] if recipe.batch_norm else []) + [recipe.activation()]
    return Sequential(layers + [Dense(1), Sigmoid()], input_dim=2, init=recipe.init, seed=seed)


def _profile(rows: list[dict]) -> dict:
    """The per-layer series the plots and the summary use, from ``diagnostics.inspect`` rows."""
    dense = [r for r in rows if r["layer"].startswith("Dense")]
    # the rows come from Sequential.diagnose, which runs the network without its output sigmoid
    # (fused into the loss), so every activation row is a hidden layer's
    hidden_acts = [r for r in rows if r["layer"] != "BatchNorm" and not r["layer"].startswith("Dense")]
    return {
        "grad_norm": [r["grad_norm"] for r in dense],                    # first .. output layer
        "preact_var": [r["out_var"] for r in dense[:-1]],                # hidden Dense outputs
        "act_var": [r["out_var"] for r in hidden_acts],                  # hidden activations
        "saturated": float(np.mean([r["saturated"] for r in hidden_acts if "saturated" in r]))
        if any("saturated" in r for r in hidden_acts) else None,
        "dead": float(np.mean([r["dead"] for r in hidden_acts if "dead" in r]))
        if any("dead" in r for r in hidden_acts) else None,
        "orders": diagnostics.orders_of_magnitude(rows),
    }


def run(depths=DEPTHS, recipes=None, width: int = 100, epochs: int = 50, optimizer=None, batch_size: int = 60,
        seed: int = 0, print_fn=print) -> dict:
    """Build, inspect, train and inspect again every (recipe, depth); return the results as plain data."""
    recipes = list(RECIPES) if recipes is None else list(recipes)
    unknown = [r for r in recipes if r not in RECIPES]
    if unknown:
        raise DeepBasicsError(f"unknown recipe {unknown[0]!r}; choose from: {', '.join(RECIPES)}")
    optimizer = optimizer or optim.Adam(lr=1e-3)
    X, y = moons(n_samples=900, noise=0.2, seed=3)
    probe = np.random.RandomState(seed).permutation(len(y))[:512]
    results = {"settings": {"depths": list(depths), "width": width, "epochs": epochs, "batch_size": batch_size,
                            "optimizer": repr(optimizer), "seed": seed, "shuffle_seed": 10,
                            "data": "moons(n_samples=900, noise=0.2, seed=3)"}, "runs": []}
    for depth in depths:
        for name in recipes:
            model = build(RECIPES[name], depth, width, seed)
            before = model.diagnose(X[probe], y[probe], loss="binary_crossentropy")
            w0 = [p[0].copy() for p, layer in zip(model.params, model.layers) if isinstance(layer, Dense)]
            start = time.perf_counter()
            diverged = None
            try:
                history = model.fit(X, y, loss="binary_crossentropy", optimizer=optimizer, epochs=epochs,
                                    batch_size=batch_size, shuffle_seed=10)
                costs = history.cost
            except DivergedError as err:       # a diverging recipe is a result, not a crash
                diverged, costs = str(err), (err.history.cost if err.history is not None else [])
            seconds = time.perf_counter() - start
            after = model.diagnose(X[probe], y[probe])
            accuracy = model.evaluate(X, y)["accuracy"]
            w1 = [p[0] for p, layer in zip(model.params, model.layers) if isinstance(layer, Dense)]
            moved = [float(np.linalg.norm(b - a) / np.linalg.norm(a)) for a, b in zip(w0, w1)]
            run_ = {"recipe": name, "depth": depth, "accuracy": accuracy, "final_cost": costs[-1] if costs else None,
                    "costs": costs, "seconds": round(seconds, 2), "diverged": diverged,
                    "init": _profile(before), "trained": _profile(after), "weight_change": moved}
            results["runs"].append(run_)
            print_fn(f"depth {depth:>3}  {name:<18} accuracy {accuracy:.3f}  cost {run_['final_cost'] or float('nan'):.4f}  "
                     f"grad orders at init {run_['init']['orders']:+.1f}  ({seconds:.1f} s)")
    return results


def _find(results, name, depth):
    return next((r for r in results["runs"] if r["recipe"] == name and r["depth"] == depth), None)


def summary_table(results: dict) -> str:
    """One row per network: what initialisation looked like and what training achieved."""
    head = (f"{'recipe':<18} {'depth':>5}  {'log10 |dW_L|/|dW_1|':>20}  {'preact var L1 -> L':>22}  "
            f"{'saturated':>9}  {'dead':>6}  {'accuracy':>8}  {'final cost':>10}")
    lines = [head, "-" * len(head)]
    for r in results["runs"]:
        i = r["init"]
        var = f"{i['preact_var'][0]:.3g} -> {i['preact_var'][-1]:.3g}" if i["preact_var"] else "-"
        sat = f"{i['saturated']:.0%}" if i["saturated"] is not None else "-"
        dead = f"{i['dead']:.0%}" if i["dead"] is not None else "-"
        cost = f"{r['final_cost']:.4f}" if r["final_cost"] is not None else "diverged"
        lines.append(f"{r['recipe']:<18} {r['depth']:>5}  {i['orders']:>+20.2f}  {var:>22}  {sat:>9}  {dead:>6}  "
                     f"{r['accuracy']:>8.3f}  {cost:>10}")
    return "\n".join(lines)


def _orders_sentence(r) -> str:
    o = r["init"]["orders"]
    g = r["init"]["grad_norm"]
    if not math.isfinite(o):
        return f"a first-layer weight gradient of {g[0]:.2e} against {g[-1]:.2e} in the last layer"
    way = "smaller" if o > 0 else "larger"
    return (f"a first-layer weight gradient {abs(o):.1f} orders of magnitude {way} than the last layer's "
            f"({g[0]:.2e} vs {g[-1]:.2e})")


def findings(results: dict) -> list[str]:
    """Plain sentences, each built from the run's numbers."""
    out = []
    for depth in results["settings"]["depths"]:
        bad, cure = _find(results, "N(0,1)+sigmoid", depth), _find(results, "He+ReLU+BatchNorm", depth)
        if bad:
            v, moved = bad["init"]["preact_var"], bad["weight_change"]
            out.append(f"Depth {depth}, N(0,1)+sigmoid: at initialisation {_orders_sentence(bad)}; the "
                       f"pre-activation variance goes from {v[0]:.3g} in hidden layer 1 to {v[-1]:.3g} in layer "
                       f"{len(v)} and {bad['init']['saturated']:.0%} of the sigmoid outputs are saturated "
                       f"(f' below 1% of its peak). Training moved the first hidden layer's weights by "
                       f"{moved[0]:.2%} and the output layer's by {moved[-1]:.2%}; training accuracy "
                       f"{bad['accuracy']:.1%} after {results['settings']['epochs']} epochs.")
        if cure:
            moved = cure["weight_change"]
            out.append(f"Depth {depth}, He+ReLU+BatchNorm: {_orders_sentence(cure)} at initialisation; "
                       f"training moved the first hidden layer's weights by {moved[0]:.2%} and the output "
                       f"layer's by {moved[-1]:.2%}; training accuracy {cure['accuracy']:.1%}.")
    for depth in results["settings"]["depths"]:
        runs = [r for r in results["runs"] if r["depth"] == depth]
        if len(runs) > 1:
            best = max(runs, key=lambda r: r["accuracy"])
            worst = min(runs, key=lambda r: r["accuracy"])
            out.append(f"Depth {depth}: best {best['recipe']} ({best['accuracy']:.1%}), worst {worst['recipe']} "
                       f"({worst['accuracy']:.1%}).")
    adaptive = results["settings"]["optimizer"].startswith(("Adam", "RMSProp", "AdaGrad"))
    bad = [r for r in results["runs"] if r["recipe"] == "N(0,1)+sigmoid" and r["init"]["orders"] > 0]
    if adaptive and bad:
        r = max(bad, key=lambda r: r["init"]["orders"])
        out.append(f"{results['settings']['optimizer'].split('(')[0]} divides each update by the running size of "
                   f"its gradient, so a small gradient does not mean a small step: at depth {r['depth']} the "
                   f"N(0,1)+sigmoid first layer, whose gradient started {r['init']['orders']:.1f} orders of "
                   f"magnitude below the last layer's, moved {r['weight_change'][0]:.2%} against the output "
                   f"layer's {r['weight_change'][-1]:.2%}.")
    relu = [r for r in results["runs"] if r["recipe"] == "He+ReLU" and r["trained"]["dead"] is not None]
    if relu:
        r = max(relu, key=lambda r: r["depth"])
        out.append(f"Dying ReLUs, He+ReLU at depth {r['depth']}: {r['init']['dead']:.0%} of hidden units output 0 "
                   f"for every probe example at initialisation, {r['trained']['dead']:.0%} after training.")
    return out


def plot(results: dict, out_dir: Path) -> list[Path]:
    """Write variance-by-layer, gradient-norm-by-layer and training-curve figures (PNG)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    depths = results["settings"]["depths"]
    names = list(dict.fromkeys(r["recipe"] for r in results["runs"]))
    colours = dict(zip(names, plt.cm.tab10.colors))
    written = []

    def panel_figure(key, title, ylabel, filename):
        fig, axes = plt.subplots(2, len(depths), figsize=(4.2 * len(depths), 7.5), squeeze=False)
        for row, when in enumerate(("init", "trained")):
            for col, depth in enumerate(depths):
                ax = axes[row][col]
                for name in names:
                    r = _find(results, name, depth)
                    series = [v for v in r[when][key] if v > 0] if r else []
                    if series:
                        ax.plot(range(1, len(series) + 1), series, marker="o", ms=2.5, lw=1.4,
                                color=colours[name], label=name)
                ax.set_yscale("log")
                ax.set_title(f"depth {depth}, {'at initialisation' if when == 'init' else 'after training'}", fontsize=10)
                ax.set_xlabel("layer")
                ax.grid(True, which="major", alpha=0.3)
                if col == 0:
                    ax.set_ylabel(ylabel)
        axes[0][0].legend(fontsize=8, loc="best")
        fig.suptitle(title, fontsize=13)
        fig.tight_layout()
        path = out_dir / filename
        written.append(_save(fig, path))
        plt.close(fig)

    panel_figure("act_var", "Variance of each hidden layer's activations", "variance", "activation_variance.png")
    panel_figure("preact_var", "Variance of each hidden layer's pre-activations (Dense outputs)", "variance",
                 "preactivation_variance.png")
    panel_figure("grad_norm", "Norm of each layer's weight gradient ||dL/dW||", "gradient norm", "gradient_norm.png")

    def row_figure(series, title, xlabel, ylabel, filename, first=1):
        """One panel per depth; ``series(run)`` gives the values to draw from x = first on."""
        fig, axes = plt.subplots(1, len(depths), figsize=(4.2 * len(depths), 3.8), squeeze=False)
        for col, depth in enumerate(depths):
            ax = axes[0][col]
            for name in names:
                r = _find(results, name, depth)
                values = series(r) if r else []
                if any(v > 0 for v in values):
                    ax.plot(range(first, len(values) + first), [max(v, 1e-12) for v in values],
                            marker="o" if first else None, ms=2.5, lw=1.4, color=colours[name], label=name)
            ax.set_yscale("log")
            ax.set_title(f"depth {depth}", fontsize=10)
            ax.set_xlabel(xlabel)
            ax.grid(True, which="major", alpha=0.3)
        axes[0][0].set_ylabel(ylabel)
        axes[0][0].legend(fontsize=8)
        fig.suptitle(title, fontsize=13)
        fig.tight_layout()
        written.append(_save(fig, out_dir / filename))
        plt.close(fig)

    row_figure(lambda r: r["weight_change"], "How far training moved each layer's weights", "layer",
               "||W_after - W_before|| / ||W_before||", "weight_change.png")
    row_figure(lambda r: r["costs"], "Training curves (binary cross-entropy)", "epoch", "cost",
               "training_curves.png", first=0)
    return written


def _save(fig, path: Path) -> Path:
    import io
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    return atomic_write_bytes(path, buffer.getvalue())


def write(results: dict, out_dir, plots: bool = True) -> list[Path]:
    """summary.md, results.json and (with matplotlib) the figures, all written atomically."""
    out_dir = Path(out_dir)
    written = plot(results, out_dir) if plots else []
    s = results["settings"]
    text = ["# Deep networks: vanishing gradients and their cures", "",
            f"Data {s['data']}; width {s['width']}; {s['epochs']} epochs of {s['optimizer']}, batch {s['batch_size']}, "
            f"shuffle seed {s['shuffle_seed']}; weights from seed {s['seed']}; statistics on 512 training examples.", "",
            "## Findings", ""] + [f"- {line}" for line in findings(results)] + [
            "", "## Summary", "", "```", summary_table(results), "```", ""]
    if written:
        text += ["## Figures", ""] + [f"![{p.stem}]({p.name})" for p in written] + [""]
    written.append(atomic_write_text(out_dir / "summary.md", "\n".join(text)))
    written.append(atomic_write_text(out_dir / "results.json", json.dumps(results, indent=1, default=float) + "\n"))
    return written
