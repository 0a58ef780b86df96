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

import numpy as np

from ..fileio import atomic_write_bytes, atomic_write_text
from ..studies.deep import PROBLEM, ahead, faster, find, ranking, speed_key

LABEL = {"gd": "GD", "adam": "Adam", "momentum": "Momentum", "rmsprop": "RMSProp"}
DATA_CHOICE = {
    "digits": "The digits are the default data set: MNIST-1D (`--data mnist1d`) is harder for these networks, but "
              "each of its epochs is 3.2 times as many mini-batches, so its three depths do not fit the ten "
              "minutes, and at depth 20 it did not separate the cures more clearly in epochs (docs/deep.md).",
    "mnist1d": "MNIST-1D: a harder task than the digits for fully-connected networks; each epoch is 3.2 times the "
               "digits' mini-batches, so the budget is 30 epochs.",
}


def _epochs(r: dict) -> str:
    if r["epochs_to_target"] is not None:
        return str(r["epochs_to_target"])
    return "diverged" if r.get("diverged") else "never"


def _pct(x) -> str:
    return "-" if x is None else f"{x:.1%}"


def _short_of(x, target: float) -> str:
    """An accuracy below the target, with as many decimals as it takes not to read as the target."""
    return "-" if x is None else f"{x:.1%}" if round(x, 3) < target else f"{x:.2%}"


def _acc(r: dict):
    """The held-out accuracy a run ends with (a best-rate entry: the best it reached)."""
    return r["final_accuracy"] if "final_accuracy" in r else r["best_accuracy"]


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
    at = f" at lr {r['lr']:g}" if "by_rate" in r else ""
    if r["epochs_to_target"] is None:
        end = "at the end" if "final_accuracy" in r else "at best"
        return f"did not reach it in {epochs} epochs{at} ({_pct(_acc(r))} {end})"
    return f"reached it in {r['epochs_to_target']} epochs{at} ({r['seconds_to_target']:.1f} s)"


def headline(results: dict, key: str = "runs") -> str:
    """The document's claim at the deepest depth: under every optimizer the problem recipe ranks
    behind every cure (``ahead``: the target reached sooner, or, neither reaching it, the higher
    final held-out accuracy). States which way it went, with the numbers. ``key``: "runs" (the
    shared rate) or "best" (each at its best rate of the grid)."""
    s = results["settings"]
    where = "at each recipe's best rate of the grid" if key == "best" else "at the shared rate"
    depth, target, epochs = max(s["depths"]), s["target"], s["epochs"]
    cures = [n for n in s["recipes"] if n != PROBLEM]
    if PROBLEM not in s["recipes"] or not cures:
        return (f"The document's claim (vanishing gradients slow training; the cures speed it up) was not tested: "
                f"the run needs {PROBLEM} and at least one other recipe.")
    parts, holds = [], True
    for o in s["optimizers"]:
        bad = find(results, PROBLEM, depth, o, key)
        others = sorted((find(results, n, depth, o, key) for n in cures), key=speed_key)
        behind = [c["recipe"] for c in others if not ahead(c, bad)]
        holds &= not behind
        if all(r["epochs_to_target"] is None for r in others + [bad]):
            text = (f"with {LABEL.get(o, o)} no network reached it in {epochs} epochs, {PROBLEM} ending lowest-ranked "
                    f"at {_pct(_acc(bad))} against {others[0]['recipe']}'s {_pct(_acc(others[0]))}"
                    if not behind else
                    f"with {LABEL.get(o, o)} no network reached it in {epochs} epochs, {PROBLEM} ending at "
                    f"{_pct(_acc(bad))}")
        else:
            text = (f"with {LABEL.get(o, o)} {PROBLEM} {_result(bad, epochs)}, {others[0]['recipe']} "
                    f"{_result(others[0], epochs)}")
        if behind:
            text += f" ({', '.join(behind)} not ahead of {PROBLEM})"
        parts.append(text)
    bad = find(results, PROBLEM, depth, s["optimizers"][0])
    lower = (f". At initialisation the {PROBLEM} first layer's weight gradient was {bad['init']['orders']:.1f} orders "
             f"of magnitude below the output layer's") if key == "runs" and math.isfinite(bad["init"]["orders"]) else ""
    verdict = "held" if holds else "did not hold"
    return (f"Depth {depth}, {where}: the document's claim that vanishing gradients make a deep network slow to "
            f"train and that its cures speed training up {verdict} on this run, with the target {target:.0%} "
            f"held-out accuracy: " + "; ".join(parts) + lower + ".")


def _ranking_lines(results: dict, key: str = "runs") -> list[str]:
    s, out = results["settings"], []
    for depth in s["depths"]:
        for o in s["optimizers"]:
            names = ranking(results, depth, o, key)
            if len(names) > 1:
                steps = ", ".join(f"{n} {_epochs(r)}" + (f" at lr {r['lr']:g}" if key == "best" else "") +
                                  ("" if r["epochs_to_target"] else f" ({_pct(_acc(r))})")
                                  for n in names for r in [find(results, n, depth, o, key)])
                rate = "each at its best rate" if key == "best" else "shared rate"
                out.append(f"Depth {depth}, {LABEL.get(o, o)}, {rate}, epochs to {s['target']:.0%} held-out "
                           f"(fastest first): {steps}.")
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
    """Plain sentences at the shared rate, each built from the run's numbers; the first is the headline."""
    return [headline(results)] + _ranking_lines(results) + _optimizer_line(results) + \
        _batchnorm_lines(results) + _lower_layer_lines(results) + _relu_line(results)


# -- each recipe at its best rate of the grid ----------------------------------------------------
def _rate(r: dict) -> str:
    return f"{_epochs(r)} at lr {r['lr']:g}"


def _fair_batchnorm_lines(results: dict) -> list[str]:
    """Batch normalisation's claim (Ioffe & Szegedy 2015): at their best rates, He+ReLU+BatchNorm
    reaches the target in fewer epochs than He+ReLU, at a higher rate."""
    s, out = results["settings"], []
    if not {"He+ReLU", "He+ReLU+BatchNorm"} <= set(s["recipes"]):
        return out
    for o in s["optimizers"]:
        pairs = [(d, find(results, "He+ReLU+BatchNorm", d, o, "best"), find(results, "He+ReLU", d, o, "best"))
                 for d in s["depths"]]
        wins = [d for d, bn, plain in pairs if faster(bn, plain)]
        losses = [d for d, bn, plain in pairs if faster(plain, bn)]
        every = "at every depth" if len(pairs) > 1 else f"at depth {pairs[0][0]}"
        verdict = (f"reached the target faster than He+ReLU {every}" if len(wins) == len(pairs) else
                   f"did not reach the target faster than He+ReLU {every.replace('every', 'any')}" if not wins else
                   "reached the target faster than He+ReLU only at depth " + ", ".join(map(str, wins)))
        slower = f" (slower at depth {', '.join(map(str, losses))})" if losses and wins else ""
        higher = [d for d, bn, plain in pairs if bn["lr"] > plain["lr"]]
        rate = (f"; its best rate was higher than He+ReLU's at depth {', '.join(map(str, higher))}" if higher else
                "; its best rate was at no depth higher than He+ReLU's")
        detail = ", ".join(f"depth {d} {_rate(bn)} vs {_rate(plain)}" for d, bn, plain in pairs)
        out.append(f"At their best rates with {LABEL.get(o, o)}, He+ReLU+BatchNorm {verdict}{slower} (epochs to "
                   f"target, with BatchNorm vs without: {detail}){rate}.")
    return out


def _fair_problem_line(results: dict) -> list[str]:
    """Is the problem recipe still last when every recipe has its best rate?"""
    s = results["settings"]
    if PROBLEM not in s["recipes"] or len(s["recipes"]) < 2:
        return []
    cells = [(d, o) for d in s["depths"] for o in s["optimizers"]]
    not_last = [(d, o, ranking(results, d, o, "best")) for d, o in cells
                if ranking(results, d, o, "best")[-1] != PROBLEM]
    own = ", ".join(f"depth {d} {LABEL.get(o, o)} {_rate(find(results, PROBLEM, d, o, 'best'))}" for d, o in cells)
    if not not_last:
        return [f"{PROBLEM} was still last at its best rate at every depth and optimizer ({own})."]
    where = "; ".join(f"depth {d} {LABEL.get(o, o)}: behind it {names[-1]} "
                      f"{_rate(find(results, names[-1], d, o, 'best'))}" for d, o, names in not_last)
    return [f"{PROBLEM} was last at its best rate in {len(cells) - len(not_last)} of {len(cells)} depth-optimizer "
            f"pairs, not everywhere ({where}; its own best: {own})."]


def _gap(results: dict, key: str) -> tuple:
    """Adam against GD over the recipe-depth pairs: (Adam sooner, GD sooner, pairs, median of GD's
    epochs over Adam's where both reached the target or None, pairs where both did)."""
    s = results["settings"]
    pairs = [(find(results, n, d, "adam", key), find(results, n, d, "gd", key)) for d in s["depths"] for n in s["recipes"]]
    ratios = sorted(g["epochs_to_target"] / a["epochs_to_target"] for a, g in pairs
                    if a["epochs_to_target"] and g["epochs_to_target"])
    median = None if not ratios else (ratios[len(ratios) // 2] + ratios[(len(ratios) - 1) // 2]) / 2
    return sum(faster(a, g) for a, g in pairs), sum(faster(g, a) for a, g in pairs), len(pairs), median, len(ratios)


def _fair_optimizer_line(results: dict) -> list[str]:
    """Is the optimizer gap smaller at best rates? The gap: how many more recipe-depth pairs Adam
    reached the target sooner in than GD; equal, the median of GD's epochs over Adam's."""
    if not {"gd", "adam"} <= set(results["settings"]["optimizers"]):
        return []
    (w1, l1, n, m1, k1), (w0, l0, _, m0, k0) = _gap(results, "best"), _gap(results, "runs")
    margin1, margin0 = w1 - l1, w0 - l0
    smaller = margin1 < margin0 or (margin1 == margin0 and m1 is not None and m0 is not None and m1 < m0)
    larger = margin1 > margin0 or (margin1 == margin0 and m1 is not None and m0 is not None and m1 > m0)
    verdict = "smaller" if smaller else "larger" if larger else "the same"

    def ratio(m, k):
        return f"GD needing a median {m:.2g}x Adam's epochs where both reached it ({k} pairs)" if m else \
            "no pair where both reached it"
    return [f"The optimizer gap was {verdict} at the best rates than at the shared rates: at best rates Adam reached "
            f"the target sooner than GD in {w1} of {n} recipe-depth pairs and GD sooner in {l1}, {ratio(m1, k1)}; "
            f"at the shared rates Adam sooner in {w0}, GD in {l0}, {ratio(m0, k0)}."]


def _edge_lines(results: dict) -> list[str]:
    """Which best rates lie at an end of their grid (a rate beyond might be better), and which
    combinations reached the target at no rate."""
    best = results["best"]
    edges = [b for b in best if b["edge"] and b["epochs_to_target"] is not None]
    never = [b for b in best if b["epochs_to_target"] is None]
    name = lambda b: f"{b['recipe']} depth {b['depth']} {LABEL.get(b['optimizer'], b['optimizer'])}"  # noqa: E731
    reached = len(best) - len(never)
    out = [f"Grid edges: none of the {reached} best rates that reached the target is at an end of its grid."
           if not edges else
           f"Grid edges: {len(edges)} of the {reached} best rates that reached the target "
           f"{'lies' if len(edges) == 1 else 'lie'} at an end of the grid, "
           f"where a rate beyond it might be faster still: " +
           ", ".join(f"{name(b)} at its {b['edge']} rate {b['lr']:g}" for b in edges) + "."]
    if never:
        out.append(f"At no rate of the grid within {results['settings']['epochs']} epochs: " +
                   ", ".join(f"{name(b)} (best {_short_of(b['best_accuracy'], results['settings']['target'])} at lr "
                             f"{b['lr']:g})" for b in never) + ".")
    return out


def fair_findings(results: dict) -> list[str]:
    """Plain sentences with every recipe at its own best rate of the grid (empty without a grid)."""
    if not results.get("best") or all(len(b["by_rate"]) < 2 for b in results["best"]):
        return []
    return [headline(results, "best")] + _fair_batchnorm_lines(results) + _fair_problem_line(results) + \
        _fair_optimizer_line(results) + _edge_lines(results) + _ranking_lines(results, "best")


def best_table(results: dict) -> str:
    """One row per recipe, depth and optimizer: the best rate and its epochs and seconds, the shared
    rate's epochs beside them, and the epochs at every rate of the grid (lowest rate first)."""
    s = results["settings"]
    head = (f"{'recipe':<18} {'depth':>5}  {'optimizer':<9} {'best lr':>8} {'epochs to ' + format(s['target'], '.0%'):>13}"
            f"  {'seconds':>7}  {'shared lr':>9} {'epochs':>6}   epochs at each rate of the grid")
    lines = [head, "-" * (len(head) + 12)]
    for b in results["best"]:
        shared = find(results, b["recipe"], b["depth"], b["optimizer"])
        mark = {"lowest": "<", "highest": ">"}.get(b["edge"], " ") if b["epochs_to_target"] is not None else " "
        secs = f"{b['seconds_to_target']:.1f}" if b["seconds_to_target"] is not None else "-"
        cells = " ".join(f"{r['lr']:g}:{'x' if r['diverged'] else r['epochs_to_target'] or '-'}"
                         f"{'*' if r['lr'] == b['lr'] else ''}".ljust(10) for r in b["by_rate"])
        lines.append(f"{b['recipe']:<18} {b['depth']:>5}  {LABEL.get(b['optimizer'], b['optimizer']):<9} "
                     f"{b['lr']:>7g}{mark} {_epochs(b):>13}  {secs:>7}  {b['shared_lr']:>9g} "
                     f"{_epochs(shared) if shared else '-':>6}   {cells}")
    return "\n".join(lines)


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
    return written + _plot_rates(results, out_dir) + _plot_percentiles(results, out_dir)


def percentile_figure(panels: dict, title: str):
    """A matplotlib figure: one row per panel (title -> a ``studies.deep.percentiles`` record), one
    column per hidden layer drawn (the first, the middle and the last); in each, the 15th, 50th and
    85th percentiles of the layer's pre-activation after every epoch (epoch 0: at initialisation),
    as Ioffe & Szegedy (2015, figure 1) draw the input of a sigmoid over training. Uses the current
    matplotlib backend (a notebook's inline one; ``plot`` chooses Agg for files)."""
    import matplotlib.pyplot as plt

    n_layers = max((len(p["layers"]) for p in panels.values()), default=0)
    picks = sorted({0, n_layers // 2, n_layers - 1}) if n_layers else []
    fig, axes = plt.subplots(len(panels), max(len(picks), 1), figsize=(3.6 * max(len(picks), 1), 2.4 * len(panels)),
                             squeeze=False, sharex=True)
    for row, (name, p) in enumerate(panels.items()):
        for col, k in enumerate(picks):
            ax = axes[row][col]
            if k < len(p["layers"]):
                values = np.asarray(p["layers"][k])              # (epochs, 3)
                ax.fill_between(p["epochs"], values[:, 0], values[:, 2], color="tab:blue", alpha=0.2, lw=0)
                for j, style in enumerate(("--", "-", "--")):
                    ax.plot(p["epochs"], values[:, j], style, color="tab:blue", lw=1.2)
            ax.set_title(f"{name}\nhidden layer {k + 1}" if col == 0 else f"hidden layer {k + 1}", fontsize=9)
            ax.grid(True, alpha=0.3)
            if row == len(panels) - 1:
                ax.set_xlabel("epoch")
        axes[row][0].set_ylabel("pre-activation")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def _plot_percentiles(results: dict, out_dir: Path) -> list[Path]:
    """activation_percentiles.png: the deepest networks with and without BatchNorm (He+ReLU pair
    when both ran, else every recipe), each optimizer at the shared rate."""
    import matplotlib.pyplot as plt
    s = results["settings"]
    depth = max(s["depths"])
    names = ["He+ReLU", "He+ReLU+BatchNorm"] if {"He+ReLU", "He+ReLU+BatchNorm"} <= set(s["recipes"]) else s["recipes"]
    panels = {f"{n}, {LABEL.get(o, o)} lr {s['lr'][o]:g}": r["percentiles"] for o in s["optimizers"] for n in names
              for r in [find(results, n, depth, o)] if r and r.get("percentiles", {}).get("layers")}
    if not panels:
        return []
    fig = percentile_figure(panels, f"Depth {depth}: 15th, 50th (solid) and 85th percentiles of each layer's "
                                    f"pre-activation over training")
    path = _save(fig, out_dir / "activation_percentiles.png")
    plt.close(fig)
    return [path]


def _plot_rates(results: dict, out_dir: Path) -> list[Path]:
    """learning_rates.png: epochs to the target against the learning rate, one panel per optimizer
    and depth; a rate that never reached the target is drawn above the budget."""
    import matplotlib.pyplot as plt
    s = results["settings"]
    if not results.get("best"):
        return []
    colours = dict(zip(s["recipes"], plt.cm.tab10.colors))
    fig, axes = plt.subplots(len(s["optimizers"]), len(s["depths"]), squeeze=False,
                             figsize=(4.2 * len(s["depths"]), 3.2 * len(s["optimizers"])))
    for row, o in enumerate(s["optimizers"]):
        for col, d in enumerate(s["depths"]):
            ax = axes[row][col]
            for n in s["recipes"]:
                b = find(results, n, d, o, "best")
                if b is None:
                    continue
                x = [r["lr"] for r in b["by_rate"]]
                y = [r["epochs_to_target"] or s["epochs"] * 1.15 for r in b["by_rate"]]
                ax.plot(x, y, marker="o", ms=3, lw=1.3, color=colours[n], label=n)
                if b["epochs_to_target"]:
                    ax.plot([b["lr"]], [b["epochs_to_target"]], marker="*", ms=11, color=colours[n])
            ax.axhline(s["epochs"], color="0.4", lw=0.8, ls="--")
            ax.axvline(s["lr"][o], color="0.6", lw=0.8, ls=":")
            ax.set_xscale("log")
            ax.set_title(f"depth {d}, {LABEL.get(o, o)}", fontsize=10)
            ax.set_xlabel("learning rate")
            ax.grid(True, alpha=0.3)
        axes[row][0].set_ylabel(f"epochs to {s['target']:.0%} held-out")
    axes[0][0].legend(fontsize=7)
    fig.suptitle(f"Epochs to the target at each rate (star: best; above the dashed budget line: never; dotted: the "
                 f"shared rate)", fontsize=11)
    fig.tight_layout()
    path = _save(fig, out_dir / "learning_rates.png")
    plt.close(fig)
    return [path]


def _save(fig, path: Path) -> Path:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return atomic_write_bytes(path, buffer.getvalue())


def _grid_text(results: dict) -> list[str]:
    """What the grid was and why, with the run's own wall-clock time."""
    s = results["settings"]
    grid = "; ".join(f"{LABEL.get(o, o)} {', '.join(f'{r:g}' for r in s['grid'][o])}" for o in s["optimizers"])
    n_runs = len(results.get("grid_runs", results["runs"]))
    wall = f", {s['wall_seconds']:.0f} s wall-clock in all" if s.get("wall_seconds") is not None else ""
    return [f"The grid: {grid} ({n_runs} runs{wall}, engine {s['engine']}). The rates are log-spaced, half a decade "
            f"apart, over two and a half decades that reach far above each optimizer's usual default, because "
            f"batch normalisation's claim is about high rates; a best rate at an end of its grid is "
            f"marked (`<` lowest, `>` highest) and named below, since a rate beyond it might be faster still. A "
            f"grid run stops once it reaches the target (it has then answered its question); the shared-rate run "
            f"trains its full {s['epochs']} epochs. The budget ({s['epochs']} epochs) and the grid were chosen so "
            f"that the default experiment fits in about ten minutes on two cores. " + DATA_CHOICE.get(s.get("data_name"), ""),
            ""]


def write(results: dict, out_dir, plots: bool = True) -> list[Path]:
    """summary.md, results.json and (with matplotlib) the figures, all written atomically."""
    out_dir = Path(out_dir)
    written = plot(results, out_dir) if plots else []
    s = results["settings"]
    rates = ", ".join(f"{LABEL.get(o, o)} lr {s['lr'][o]:g}" for o in s["optimizers"])
    fair = fair_findings(results)
    text = ["# Deep networks: how fast they learn, and what the cures change", "",
            f"Task: {s['data']}. Target: {s['target']:.0%} {s['target_metric']}, checked after every epoch; "
            f"an accuracy on examples never trained on, so that the lower layers must learn for it to be reached "
            f"(on moons, the top layers alone fit the data). Width {s['width']}, budget {s['epochs']} epochs "
            f"of mini-batches of {s['batch_size']} (shuffle seed {s['shuffle_seed']}); every recipe trains at the "
            f"shared rates ({rates}) and at every rate of its optimizer's grid; weights from seed {s['seed']}, "
            f"engine {s['engine']}. Seconds are wall-clock and include validation and, on the JAX engine, "
            f"the compilation of a network's program, which a worker does once per network and optimizer (the first of its "
            f"rates to run pays it, the shared-rate run as a rule); the runs share the machine's cores. Seconds are "
            f"therefore a rough guide; epochs decide every finding.", ""]
    text += _grid_text(results) if fair else []
    text += (["## Findings at each recipe's best rate", ""] + [f"- {line}" for line in fair] + [""] if fair else [])
    text += ["## Findings at the shared rate", ""] + [f"- {line}" for line in findings(results)] + [""]
    if fair:
        text += ["## Best rates", "",
                 "Per recipe, depth and optimizer: the rate of the grid that reached the target in the fewest epochs "
                 "(`<`/`>`: the lowest/highest rate of the grid), its epochs and seconds, the shared rate's epochs "
                 "beside them, and the epochs at every rate as `rate:epochs` (`-`: not within the budget, `x`: diverged, "
                 "`*`: best).",
                 "", "```", best_table(results), "```", ""]
    text += ["## At the shared rate", "",
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
