"""Figures of experiment results, as PNG bytes (matplotlib, headless).

Every function takes RunResults (``experiment.RunResult``) and returns PNG bytes, or None when
the figure does not apply (no validation, no 2-D data, ...). Figures are built on
``matplotlib.figure.Figure`` directly, never through pyplot, so no global figure state or GUI
backend is involved: this works on a server without a display. Only the report imports this
module; the core never imports matplotlib.

    cost_curves          training cost (solid) and validation loss (dashed) per epoch
    accuracy_curves      validation accuracy per epoch
    learning_rates       the rate of each epoch's first update
    decision_boundaries  p(class 1) (or the predicted class) over the plane, one panel per run
    confusion_matrices   counts of (true class, predicted class), for three or more classes
    gradient_flow        per-layer gradient norms per epoch, where the run recorded them

One figure is for a notebook rather than a report: ``history_figure`` draws one fit's History
(what ``History.plot`` shows) and returns the matplotlib Figure itself.
"""
from __future__ import annotations

import io
import math

import numpy as np

# A colour per run, readable on white and by colour-blind readers (Okabe & Ito).
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
DPI = 110


def _figure(width: float, height: float, ncols: int = 1, nrows: int = 1, **kw):
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    for ax in axes.flat:
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(True, color="#e6e6e6", linewidth=0.8)
        ax.set_axisbelow(True)
    return fig, axes


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", facecolor="white")
    return buffer.getvalue()


def warm_up() -> None:
    """Draw a tiny figure and discard it: loads matplotlib, its Agg renderer and its font (about a
    quarter of a second, once per process), so that the first real figure does not pay for it."""
    fig, axes = _figure(1.0, 1.0)
    axes[0, 0].set_title("0")
    _png(fig)


def _series(result, key):
    """(epochs, values) of a history column, NaNs (epochs without the value) dropped."""
    hist = result.history.get("history", {})
    if key not in hist:
        return None
    epochs = np.asarray(result.history["epoch"], dtype=float) + 1      # epoch 1 = after the first pass
    values = np.array([np.nan if v is None else v for v in hist[key]], dtype=float)
    keep = np.isfinite(values)
    return (epochs[keep], values[keep]) if keep.any() else None


def _log_axis(ax, minor_labels: bool = True) -> None:
    """A log-scale y axis labelled with plain numbers (0.1, 0.2, 0.5) rather than powers of ten."""
    from matplotlib.ticker import FuncFormatter, NullFormatter
    ax.set_yscale("log")
    plain = FuncFormatter(lambda v, _: f"{v:g}")
    ax.yaxis.set_major_formatter(plain)
    ax.yaxis.set_minor_formatter(plain if minor_labels else NullFormatter())
    ax.tick_params(axis="y", which="minor", labelsize=7, labelcolor="#777777")


def color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _same_as(x, y, drawn: list) -> str | None:
    """The label of a line already drawn with exactly these points, or None. ``drawn`` holds
    (label, x, y) of the lines so far."""
    for label, dx, dy in drawn:
        if len(dx) == len(x) and np.array_equal(dx, x) and np.allclose(dy, y, rtol=1e-9, atol=0):
            return label.split(" (same as ")[-1].rstrip(")") if " (same as " in label else label
    return None


def _plot_distinct(ax, x, y, label: str, drawn: list, **style) -> None:
    """Draw a line. One that lies exactly on lines already drawn is drawn dashed, a few points
    below them on the page, and named in the legend ("adam (same as gd)"), so that it does not
    hide under them."""
    twin = _same_as(x, y, drawn)
    if twin is not None:
        from matplotlib.transforms import offset_copy
        below = sum(1 for name, *_ in drawn if name == twin or name.endswith(f"(same as {twin})"))
        style = {**style, "linestyle": (0, (5, 2)),
                 "transform": offset_copy(ax.transData, fig=ax.figure, y=-3.0 * below, units="points")}
        label = f"{label} (same as {twin})"
    ax.plot(x, y, label=label, **style)
    drawn.append((label, np.asarray(x), np.asarray(y)))


def history_figure(history, ax=None, log_scale: bool = False):
    """One fit's cost per epoch (solid) and, when validation ran, its validation loss (dashed, on
    the epochs it was measured); returns the matplotlib Figure. ``ax`` draws into an existing
    Axes instead of a new figure. The new figure is not registered with pyplot, so Jupyter shows
    it once, as the cell's value; elsewhere save it with ``fig.savefig(path)``."""
    from matplotlib.figure import Figure
    if ax is None:
        fig = Figure(figsize=(6, 3.6), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    ax.plot(history.epoch, history.cost, lw=1.5, label="training cost")
    val = [(e, v) for e, v in zip(history.epoch, history.history.get("val_loss", [])) if not math.isnan(v)]
    if val:
        ax.plot(*zip(*val), lw=1.5, ls="--", label="validation loss")
    if log_scale:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(history.params.get("loss", "cost"))
    ax.grid(True, alpha=0.3)
    ax.legend()
    return fig


def cost_curves(results, log_scale: bool = False) -> bytes | None:
    """Training cost (the document's epoch cost) and validation loss, one colour per run."""
    fig, axes = _figure(8.6, 4.4)
    ax = axes[0, 0]
    drawn, lines = False, []
    for i, r in enumerate(results):
        train = _series(r, "cost")
        if train is not None:
            _plot_distinct(ax, *train, f"{r.label} · train", lines, color=color(i), linewidth=1.6)
            drawn = True
        val = _series(r, "val_loss")
        if val is not None:
            ax.plot(*val, color=color(i), linewidth=1.3, linestyle="--", alpha=0.9, label=f"{r.label} · validation")
    if not drawn:
        return None
    if log_scale:
        _log_axis(ax)
    ax.set_xlabel("epoch")
    ax.set_ylabel("cost" + (" (log scale)" if log_scale else ""))
    ax.set_title("Cost per epoch: training (solid) and validation (dashed)", loc="left", fontsize=11)
    ax.legend(frameon=False, fontsize=8, ncols=2 if len(results) > 3 else 1)
    return _png(fig)


def accuracy_curves(results) -> bytes | None:
    """Validation accuracy per epoch, one colour per run."""
    series = [(i, r, _series(r, "val_accuracy")) for i, r in enumerate(results)]
    series = [s for s in series if s[2] is not None]
    if not series:
        return None
    fig, axes = _figure(8.6, 3.6)
    ax = axes[0, 0]
    lines = []
    for i, r, (x, y) in series:
        _plot_distinct(ax, x, y, r.label, lines, color=color(i), linewidth=1.5)
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy")
    ax.set_title("Validation accuracy per epoch", loc="left", fontsize=11)
    ax.legend(frameon=False, fontsize=8)
    return _png(fig)


def learning_rates(results) -> bytes | None:
    """The learning rate of each epoch (the rate of its first update)."""
    fig, axes = _figure(8.6, 3.2)
    ax = axes[0, 0]
    drawn = False
    rates, lines = [], []
    for i, r in enumerate(results):
        s = _series(r, "lr")
        if s is not None:
            # Runs often share a rate: one lying on another is dashed over a white edge and named
            # "(same as ...)" in the legend.
            _plot_distinct(ax, *s, r.label, lines, color=color(i), linewidth=2.4, drawstyle="steps-post")
            rates.append(s[1])
            drawn = True
    if not drawn:
        return None
    positive = np.concatenate(rates)
    positive = positive[positive > 0]
    if positive.size and positive.max() / positive.min() >= 10:
        _log_axis(ax, minor_labels=False)
    elif positive.size and positive.max() == positive.min():
        ax.set_ylim(0, 1.25 * positive.max())        # a constant rate: show it against zero
    distinct = np.unique(np.round(positive, 12))
    if 0 < distinct.size <= 6:                       # few rates (constant, stepped): label each one
        from matplotlib.ticker import NullFormatter
        ax.set_yticks(distinct, [f"{v:.3g}" for v in distinct])
        ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("epoch")
    ax.set_ylabel("learning rate")
    ax.set_title("Learning rate per epoch", loc="left", fontsize=11)
    ax.legend(frameon=False, fontsize=8)
    return _png(fig)


def decision_boundaries(results) -> bytes | None:
    """One panel per run: the model's output over the plane and the training points."""
    runs = [r for r in results if r.boundary is not None]
    if not runs:
        return None
    n = len(runs)
    ncols = min(n, 3)
    nrows = math.ceil(n / ncols)
    fig, axes = _figure(4.0 * ncols + 0.6, 3.8 * nrows, ncols=ncols, nrows=nrows)
    from matplotlib.colors import ListedColormap
    last = None
    for ax, r in zip(axes.flat, runs):
        b = r.boundary
        ax.grid(False)
        X, y = np.asarray(b["X"]), np.asarray(b["y"])
        if r.task == "binary":
            # A pale background under saturated points, so both classes stay visible on either side.
            last = ax.contourf(b["xx"], b["yy"], b["z"], levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.45)
            ax.contour(b["xx"], b["yy"], b["z"], levels=[0.5], colors="#222222", linewidths=1.2)
            ax.scatter(X[:, 0], X[:, 1], c=y, cmap=ListedColormap(["#1b4f9c", "#c0272d"]), s=11,
                       edgecolors="white", linewidths=0.4)
        else:
            k = int(max(np.max(y), np.max(b["z"]))) + 1
            cmap = ListedColormap([PALETTE[c % len(PALETTE)] for c in range(k)])
            ax.contourf(b["xx"], b["yy"], b["z"], levels=np.arange(-0.5, k), cmap=cmap, alpha=0.3)
            ax.scatter(X[:, 0], X[:, 1], c=y, cmap=cmap, vmin=-0.5, vmax=k - 0.5, s=9,
                       edgecolors="white", linewidths=0.3)
        acc = r.metrics.get("test", r.metrics.get("val", r.metrics.get("train", {}))).get("accuracy")
        on = "test" if "test" in r.metrics else "val" if "val" in r.metrics else "train"
        ax.set_title(r.label + (f"  ({on} accuracy {acc:.3f})" if acc is not None else ""), fontsize=10)
        suffix = " (standardised)" if r.standardized else ""
        ax.set_xlabel("x1" + suffix, fontsize=9)
        ax.set_ylabel("x2" + suffix, fontsize=9)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    if last is not None:
        fig.colorbar(last, ax=axes.ravel().tolist(), shrink=0.85, label="p(class 1)")
    fig.suptitle("Decision boundaries (training points; the line is p = 0.5)", x=0.01, ha="left", fontsize=11)
    return _png(fig)


def confusion_matrices(results, min_classes: int = 3) -> bytes | None:
    """Counts of (true, predicted) per run; only for ``min_classes`` or more classes."""
    fig = confusion_figure(results, min_classes)
    return None if fig is None else _png(fig)


def confusion_figure(results, min_classes: int = 3):
    """The Figure of ``confusion_matrices``: every cell's count written in it, zeros included."""
    runs = [r for r in results if r.confusion is not None and len(r.confusion) >= min_classes][:6]
    if not runs:
        return None
    n = len(runs)
    ncols = min(n, 3)
    nrows = math.ceil(n / ncols)
    k = len(runs[0].confusion)
    size = 3.2 + 0.22 * k
    fig, axes = _figure(size * ncols, size * nrows, ncols=ncols, nrows=nrows)
    for ax, r in zip(axes.flat, runs):
        cm = np.asarray(r.confusion)
        ax.grid(False)
        ax.imshow(cm, cmap="Blues")
        ticks = np.arange(len(cm))
        names = [str(c)[:10] for c in r.classes] or [str(t) for t in ticks]
        ax.set_xticks(ticks, names, rotation=45 if k > 4 else 0, ha="right" if k > 4 else "center", fontsize=8)
        ax.set_yticks(ticks, names, fontsize=8)
        top = cm.max() if cm.size else 1
        for (i, j), v in np.ndenumerate(cm):     # every cell, zeros too: an empty cell reads as missing
            ax.text(j, i, str(v), ha="center", va="center", fontsize=8 if k <= 10 else 6,
                    color="white" if v > 0.6 * top else "#222222" if v else "#8a8a8a")
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(f"{r.label} ({r.confusion_on})", fontsize=10)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    return fig


def gradient_series(result) -> dict[str, tuple]:
    """{"Dense(5) #0": (epochs, ||dL/dW||)} from the diagnostics a run recorded (empty if none).

    Diagnostics are optional (``train.diagnostics_every``); each record is
    {"epoch": e, "layers": [{"index", "layer", "grad_norm", ...}, ...]}, epoch -1 being the start.
    """
    records = result.history.get("diagnostics") or []
    out: dict[str, list] = {}
    for rec in records:
        for row in rec.get("layers", []):
            if row.get("grad_norm") is not None:
                key = f"{row.get('layer', 'layer')} #{row.get('index', '?')}"
                out.setdefault(key, []).append((rec.get("epoch", 0) + 1, row["grad_norm"]))
    return {k: (np.array([e for e, _ in v], dtype=float), np.array([g for _, g in v], dtype=float))
            for k, v in out.items()}


def gradient_flow(results) -> bytes | None:
    """Weight-gradient norm of every Dense layer over the epochs, one panel per run: vanishing
    gradients show as the first layers far below the last ones, exploding ones as curves
    shooting up."""
    runs = [(r, gradient_series(r)) for r in results]
    runs = [(r, s) for r, s in runs if s][:6]
    if not runs:
        return None
    from matplotlib import colormaps
    n = len(runs)
    ncols = min(n, 3)
    nrows = math.ceil(n / ncols)
    fig, axes = _figure(max(8.6, 4.2 * ncols + 0.4), 3.6 * nrows, ncols=ncols, nrows=nrows)
    cmap = colormaps["viridis"]
    for ax, (r, series) in zip(axes.flat, runs):
        for j, (key, (x, y)) in enumerate(series.items()):
            keep = y > 0
            ax.plot(x[keep], y[keep], color=cmap(j / max(len(series) - 1, 1)), linewidth=1.4, marker=".",
                    markersize=3, label=key)
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("||dL/dW||")
        ax.set_title(r.label, fontsize=10)
        ax.legend(frameon=False, fontsize=7)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    fig.suptitle("Gradient flow: ||dL/dW|| of each Dense layer (first layer darkest)", x=0.01, ha="left",
                 fontsize=11)
    return _png(fig)
