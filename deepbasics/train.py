"""The training loop around an engine: epochs, the schedule, logs, validation, divergence.

The loop is the same for every engine. An engine advances the TrainState over a block of
epochs and returns each epoch's cost; the loop records the History, prints the document's log
lines, runs validation and stops cleanly if the cost stops being finite.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from .errors import DivergedError
from .step import TrainState


class History:
    """Per-epoch records of a ``fit``.

    epoch:    epoch numbers (from 0)
    history:  {"cost": [...], "lr": [...], "lr_after": [...], "val_loss": [...], ...}
              cost      the document's epoch cost: sum of per-example losses over the epoch's
                        mini-batches, each taken before its update, divided by m
              lr        the rate of the epoch's first update
              lr_after  the rate in force after the epoch (the document's
                        'learning rate after epoch N')
              val_*     validation metrics, NaN on epochs without validation
    params:   settings of the run (seeds, batch size, optimizer, ...)
    diagnostics: [{"epoch": e, "layers": [per-layer statistics]}, ...] when recorded
              (epoch -1 is the state before the first update; see ``deepbasics.diagnostics``)
    """

    def __init__(self, params: dict | None = None):
        self.epoch: list[int] = []
        self.history: dict[str, list[float]] = {"cost": [], "lr": [], "lr_after": []}
        self.params = dict(params or {})
        self.diagnostics: list[dict] = []

    def append(self, epoch: int, values: dict) -> None:
        n = len(self.epoch)
        self.epoch.append(int(epoch))
        for key, value in values.items():
            column = self.history.setdefault(key, [math.nan] * n)
            column.append(float(value))
        for column in self.history.values():
            if len(column) < n + 1:
                column.append(math.nan)

    @property
    def cost(self) -> list[float]:
        return self.history["cost"]

    @property
    def lr(self) -> list[float]:
        return self.history["lr"]

    def __getitem__(self, key: str) -> list[float]:
        return self.history[key]

    def to_dict(self) -> dict:
        out = {"epoch": list(self.epoch), "history": {k: list(v) for k, v in self.history.items()},
               "params": dict(self.params)}
        if self.diagnostics:
            out["diagnostics"] = [dict(d) for d in self.diagnostics]
        return out

    def plot(self, ax=None, log_scale: bool = False):
        """The cost per epoch (solid) and, when validation ran, the validation loss (dashed, on
        the epochs it was measured); returns the matplotlib Figure. ``ax`` draws into an
        existing Axes instead of a new figure.

        The new figure is not registered with pyplot, so Jupyter shows it once, as the cell's
        value; elsewhere save it with ``fig.savefig(path)``. matplotlib is imported here, not
        when deepbasics is imported."""
        from matplotlib.figure import Figure
        if ax is None:
            fig = Figure(figsize=(6, 3.6), layout="constrained")
            ax = fig.add_subplot()
        else:
            fig = ax.figure
        ax.plot(self.epoch, self.cost, lw=1.5, label="training cost")
        val = [(e, v) for e, v in zip(self.epoch, self.history.get("val_loss", [])) if not math.isnan(v)]
        if val:
            ax.plot(*zip(*val), lw=1.5, ls="--", label="validation loss")
        if log_scale:
            ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel(self.params.get("loss", "cost"))
        ax.grid(True, alpha=0.3)
        ax.legend()
        return fig

    def __repr__(self) -> str:
        last = f", last cost {self.cost[-1]:.6f}" if self.cost else ""
        return f"History({len(self.epoch)} epochs{last})"


def run_epochs(engine, state: TrainState, X, Y, *, epochs: int, initial_epoch: int = 0,
               rates: np.ndarray, lr_after: Callable[[int], float], history: History,
               verbose: int = 0, print_lr: bool = False,
               validate: Callable[[TrainState], dict] | None = None, validation_freq: int = 1,
               print_fn: Callable[[str], None] = print, on_epoch: Callable | None = None):
    """Advance ``state`` from ``initial_epoch`` to ``epochs``; fill ``history``; return the state.

    ``verbose`` = N > 0 prints every N epochs in the document's format:
        Cost after epoch 1000: 0.351748
        learning rate after epoch 1000: 0.000500      (when ``print_lr``)
    ``on_epoch(epoch, state, values)`` is called after every recorded epoch (progress, checkpoints).
    On a NaN or infinite cost, raises DivergedError; the state returned by the last block that
    stayed finite is kept in ``err.state``.
    """
    fuses = getattr(engine, "fuses_epochs", False)
    epoch = initial_epoch
    while epoch < epochs:
        stop = _next_event(epoch, epochs, verbose, validate is not None, validation_freq, on_epoch) if fuses \
            else epoch + 1
        new_state, costs = engine.run(state, X, Y, epoch, stop)
        for i, cost in enumerate(np.asarray(costs, dtype=np.float64)):
            e = epoch + i
            if not np.isfinite(cost):
                err = DivergedError(
                    f"training diverged at epoch {e} (cost is {cost}); the weights from before epoch "
                    f"{epoch} were kept; try a smaller learning rate (now {float(rates[e, 0]):g})", history)
                err.state = state
                err.epoch = e
                raise err
            values = {"cost": cost, "lr": rates[e, 0], "lr_after": lr_after(e)}
            last = e == stop - 1
            if last and validate is not None and ((e + 1) % validation_freq == 0 or e == epochs - 1):
                values.update(validate(new_state))
            history.append(e, values)
            if verbose and e % verbose == 0:
                print_fn("Cost after epoch %i: %f" % (e, cost))
                if print_lr:
                    print_fn("learning rate after epoch %i: %f" % (e, values["lr_after"]))
                if "val_loss" in values:
                    extra = "".join(f", {k}: {v:.6f}" for k, v in values.items() if k.startswith("val_"))
                    print_fn("Validation after epoch %i%s" % (e, extra))
            if on_epoch is not None and last:
                on_epoch(e, new_state, values)
        state = new_state
        epoch = stop
    return state


def _next_event(epoch: int, epochs: int, verbose: int, validating: bool, freq: int, on_epoch) -> int:
    """The epoch after the next one that needs the host (a log line, validation, a callback)."""
    if on_epoch is not None:
        return epoch + 1
    candidates = [epochs]
    if verbose:
        candidates.append((epoch // verbose + (epoch % verbose != 0)) * verbose + 1)
    if validating:
        candidates.append((epoch // freq + 1) * freq)
    return max(epoch + 1, min(candidates))
