"""What the deep-network experiment found, in words, a table and figures; every number from the run.

``findings(results)`` returns plain sentences; the first states the document's claim (the
problem recipe trains slowest, the cures faster) in the run's numbers, or says that it did not
hold. ``summary_table`` has one row per run; ``write`` puts summary.md, results.json and the
figures in a folder (atomically). Imports matplotlib only inside ``plot``.
"""
from __future__ import annotations

import io
import json
import math
from pathlib import Path

from ..fileio import atomic_write_bytes, atomic_write_text
from ..studies.deep import PROBLEM, ahead, faster, find, ranking, speed_key

LABEL = {"gd": "GD", "adam": "Adam", "momentum": "Momentum", "rmsprop": "RMSProp"}


def _epochs(r: dict) -> str:
    if r["epochs_to_target"] is not None:
        return str(r["epochs_to_target"])
    return "diverged" if r.get("diverged") else "never"


def _pct(x) -> str:
    return "-" if x is None else f"{x:.1%}"


def summary_table(results: dict) -> str:
    """One row per run: epochs and seconds to the target, accuracies, weight change, gradients at init."""
    s = results["settings"]
    head = (f"{'recipe':<18} {'depth':>5}  {'optimizer':<9} {'epochs to ' + format(s['target'], '.0%'):>13}  "
            f"{'seconds':>7}  {'held-out':>8}  {'train':>6}  {'moved L1 / out':>15}  {'grad orders':>11}")
    lines = [head, "-" * len(head)]
    for r in results["runs"]:
        secs = f"{r['seconds_to_target']:.1f}" if r["seconds_to_target"] is not None else "-"
        moved = f"{r['weight_change'][0]:.1%} / {r['weight_change'][-1]:.1%}"
        orders = r["init"]["orders"]
        lines.append(f"{r['recipe']:<18} {r['depth']:>5}  {LABEL.get(r['optimizer'], r['optimizer']):<9} "
                     f"{_epochs(r):>13}  {secs:>7}  {_pct(r['final_accuracy']):>8}  {_pct(r['train_accuracy']):>6}  "
                     f"{moved:>15}  {orders:>+11.1f}")
    return "\n".join(lines)


def _result(r: dict, epochs: int) -> str:
    if r["epochs_to_target"] is None:
        return f"did not reach it in {epochs} epochs ({_pct(r['final_accuracy'])} at the end)"
    return f"reached it in {r['epochs_to_target']} epochs ({r['seconds_to_target']:.1f} s)"


def headline(results: dict) -> str:
    """The document's claim at the deepest depth: under every optimizer the problem recipe ranks
    behind every cure (``ahead``: the target reached sooner, or, neither reaching it, the higher
    final held-out accuracy). States which way it went, with the numbers."""
    s = results["settings"]
    depth, target, epochs = max(s["depths"]), s["target"], s["epochs"]
    cures = [n for n in s["recipes"] if n != PROBLEM]
    if PROBLEM not in s["recipes"] or not cures:
        return (f"The document's claim (vanishing gradients slow training; the cures speed it up) was not tested: "
                f"the run needs {PROBLEM} and at least one other recipe.")
    parts, holds = [], True
    for o in s["optimizers"]:
        bad = find(results, PROBLEM, depth, o)
        others = sorted((find(results, n, depth, o) for n in cures), key=speed_key)
        behind = [c["recipe"] for c in others if not ahead(c, bad)]
        holds &= not behind
        if all(r["epochs_to_target"] is None for r in others + [bad]):
            text = (f"with {LABEL.get(o, o)} no network reached it in {epochs} epochs, {PROBLEM} ending lowest-ranked "
                    f"at {_pct(bad['final_accuracy'])} against {others[0]['recipe']}'s {_pct(others[0]['final_accuracy'])}"
                    if not behind else
                    f"with {LABEL.get(o, o)} no network reached it in {epochs} epochs, {PROBLEM} ending at "
                    f"{_pct(bad['final_accuracy'])}")
        else:
            text = (f"with {LABEL.get(o, o)} {PROBLEM} {_result(bad, epochs)}, {others[0]['recipe']} "
                    f"{_result(others[0], epochs)}")
        if behind:
            text += f" ({', '.join(behind)} not ahead of {PROBLEM})"
        parts.append(text)
    bad = find(results, PROBLEM, depth, s["optimizers"][0])
    lower = (f". At initialisation the {PROBLEM} first layer's weight gradient was {bad['init']['orders']:.1f} orders "
             f"of magnitude below the output layer's") if math.isfinite(bad["init"]["orders"]) else ""
    verdict = "held" if holds else "did not hold"
    return (f"Depth {depth}: the document's claim that vanishing gradients make a deep network slow to train and "
            f"that its cures speed training up {verdict} on this run, with the target {target:.0%} held-out "
            f"accuracy: " + "; ".join(parts) + lower + ".")


def _ranking_lines(results: dict) -> list[str]:
    s, out = results["settings"], []
    for depth in s["depths"]:
        for o in s["optimizers"]:
            names = ranking(results, depth, o)
            if len(names) > 1:
                steps = ", ".join(f"{n} {_epochs(r)}" + ("" if r["epochs_to_target"] else f" ({_pct(r['final_accuracy'])})")
                                  for n in names for r in [find(results, n, depth, o)])
                out.append(f"Depth {depth}, {LABEL.get(o, o)}, epochs to {s['target']:.0%} held-out (fastest "
                           f"first): {steps}.")
    return out


def _optimizer_line(results: dict) -> list[str]:
    s = results["settings"]
    if not {"gd", "adam"} <= set(s["optimizers"]):
        return []
    pairs = [(find(results, n, d, "adam"), find(results, n, d, "gd")) for d in s["depths"] for n in s["recipes"]]
    wins = sum(faster(a, g) for a, g in pairs)
    ties = sum(a["epochs_to_target"] == g["epochs_to_target"] for a, g in pairs)
    losses = len(pairs) - wins - ties
    verdict = "held" if wins > len(pairs) / 2 else "did not hold"
    return [f"A faster optimizer (the document: Adam rather than gradient descent) {verdict}: Adam reached the "
            f"target sooner than GD in {wins} of {len(pairs)} recipe-depth pairs, GD sooner in {losses}, "
            f"the same epoch (or neither) in {ties}."]


def _batchnorm_lines(results: dict) -> list[str]:
    s, out = results["settings"], []
    if not {"He+ReLU", "He+ReLU+BatchNorm"} <= set(s["recipes"]):
        return out
    for o in s["optimizers"]:
        pairs = [(d, find(results, "He+ReLU+BatchNorm", d, o), find(results, "He+ReLU", d, o)) for d in s["depths"]]
        wins = [d for d, bn, plain in pairs if faster(bn, plain)]
        detail = ", ".join(f"depth {d} {_epochs(bn)} vs {_epochs(plain)}" for d, bn, plain in pairs)
        verdict = "sped training up" if len(wins) == len(pairs) else \
            "did not speed training up" if not wins else "sped training up only at depth " + \
            ", ".join(map(str, wins))
        out.append(f"Batch normalisation on He+ReLU {verdict} with {LABEL.get(o, o)} (epochs to target with "
                   f"BatchNorm vs without: {detail}).")
    return out


def _lower_layer_lines(results: dict) -> list[str]:
    s, out = results["settings"], []
    depth = max(s["depths"])
    for o in s["optimizers"]:
        bad = find(results, PROBLEM, depth, o)
        if bad is None:
            continue
        moved = bad["weight_change"]
        gap = bad["train_accuracy"] - (bad["final_accuracy"] or 0)
        fit = (f"; it fitted {bad['train_accuracy']:.1%} of the training set but only {_pct(bad['final_accuracy'])} "
               f"of the held-out set, the top layers memorising what the lower ones hand them") if gap > 0.1 else ""
        cures = [r["weight_change"][0] for r in results["runs"]
                 if r["depth"] == depth and r["optimizer"] == o and r["recipe"] != PROBLEM]
        others = f" (the other recipes' first layers: {min(cures):.1%} to {max(cures):.1%})" if cures else ""
        out.append(f"Depth {depth}, {PROBLEM}, {LABEL.get(o, o)}: training moved the first hidden layer's weights "
                   f"by {moved[0]:.2%}{others} and the output layer's by {moved[-1]:.2%}{fit}.")
    return out


def _relu_line(results: dict) -> list[str]:
    relu = [r for r in results["runs"] if r["recipe"] == "He+ReLU" and r["trained"]["dead"] is not None]
    if not relu:
        return []
    r = max(relu, key=lambda r: (r["depth"], r["trained"]["dead"]))
    return [f"Dying ReLUs, He+ReLU at depth {r['depth']} ({LABEL.get(r['optimizer'], r['optimizer'])}): "
            f"{r['init']['dead']:.0%} of hidden units output 0 for every probe example at initialisation, "
            f"{r['trained']['dead']:.0%} after training."]


def findings(results: dict) -> list[str]:
    """Plain sentences, each built from the run's numbers; the first is the headline."""
    return [headline(results)] + _ranking_lines(results) + _optimizer_line(results) + \
        _batchnorm_lines(results) + _lower_layer_lines(results) + _relu_line(results)


def plot(results: dict, out_dir: Path) -> list[Path]:
    """Held-out accuracy per epoch, weight change per layer, and gradient norms at initialisation (PNG)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = results["settings"]
    depths, optimizers = s["depths"], s["optimizers"]
    colours = dict(zip(s["recipes"], plt.cm.tab10.colors))
    written = []

    def grid(series, title, xlabel, ylabel, filename, log=True, first=1, target=None):
        fig, axes = plt.subplots(len(optimizers), len(depths), figsize=(4.2 * len(depths), 3.4 * len(optimizers)),
                                 squeeze=False)
        for row, o in enumerate(optimizers):
            for col, depth in enumerate(depths):
                ax = axes[row][col]
                for name in s["recipes"]:
                    r = find(results, name, depth, o)
                    values = series(r) if r else []
                    if values:
                        ax.plot(range(first, len(values) + first), values, lw=1.4, color=colours[name], label=name,
                                marker="o" if xlabel == "layer" else None, ms=2.5)
                if target is not None:
                    ax.axhline(target, color="0.4", lw=0.8, ls="--")
                if log:
                    ax.set_yscale("log")
                ax.set_title(f"depth {depth}, {LABEL.get(o, o)}", fontsize=10)
                ax.set_xlabel(xlabel)
                ax.grid(True, alpha=0.3)
                if col == 0:
                    ax.set_ylabel(ylabel)
        axes[0][0].legend(fontsize=8)
        fig.suptitle(title, fontsize=13)
        fig.tight_layout()
        written.append(_save(fig, out_dir / filename))
        plt.close(fig)

    grid(lambda r: r["heldout_accuracy"], f"Held-out accuracy per epoch (dashed: the {s['target']:.0%} target)",
         "epoch", "held-out accuracy", "heldout_accuracy.png", log=False, target=s["target"])
    grid(lambda r: [max(v, 1e-12) for v in r["weight_change"]], "How far training moved each layer's weights",
         "layer", "||W_after - W_before|| / ||W_before||", "weight_change.png")
    grid(lambda r: [v for v in r["init"]["grad_norm"] if v > 0], "Norm of each layer's weight gradient at "
         "initialisation", "layer", "||dL/dW||", "gradient_norm.png")
    grid(lambda r: [max(v, 1e-12) for v in r["costs"]], "Training cost per epoch (cross-entropy)", "epoch", "cost",
         "training_curves.png")
    return written


def _save(fig, path: Path) -> Path:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return atomic_write_bytes(path, buffer.getvalue())


def write(results: dict, out_dir, plots: bool = True) -> list[Path]:
    """summary.md, results.json and (with matplotlib) the figures, all written atomically."""
    out_dir = Path(out_dir)
    written = plot(results, out_dir) if plots else []
    s = results["settings"]
    rates = ", ".join(f"{LABEL.get(o, o)} lr {s['lr'][o]:g}" for o in s["optimizers"])
    text = ["# Deep networks: how fast they learn, and what the cures change", "",
            f"Task: {s['data']}. Target: {s['target']:.0%} {s['target_metric']}, checked after every epoch; "
            f"an accuracy on examples never trained on, so that the lower layers must learn for it to be reached "
            f"(on moons, the top layers alone fit the data). Width {s['width']}, budget {s['epochs']} epochs "
            f"of mini-batches of {s['batch_size']} (shuffle seed {s['shuffle_seed']}), {rates} (fixed in "
            f"advance, the same for every recipe), weights from seed {s['seed']}, engine {s['engine']}. "
            f"Seconds are wall-clock and include validation and, on the JAX engine, compilation.", "",
            "## Findings", ""] + [f"- {line}" for line in findings(results)] + [
            "", "## Summary", "",
            "`moved L1 / out`: ||W_after - W_before|| / ||W_before|| of the first hidden and the output layer; "
            "`grad orders`: log10 of the output layer's weight-gradient norm over the first layer's, at "
            "initialisation.", "", "```", summary_table(results), "```", ""]
    if written:
        text += ["## Figures", ""] + [f"![{p.stem}]({p.name})" for p in written] + [""]
    written.append(atomic_write_text(out_dir / "summary.md", "\n".join(text)))
    written.append(atomic_write_text(out_dir / "results.json", json.dumps(_strict(results), indent=1) + "\n"))
    return written


def _strict(value):
    """The results with non-finite floats as null (strict JSON), NumPy numbers as Python ones."""
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
