"""The training loop around an engine: epochs, the schedule, logs, validation, divergence.

The loop is the same for every engine. An engine advances the TrainState over a block of
epochs and returns each epoch's cost; the loop records the History, prints the document's log
lines, runs validation and stops cleanly if the cost stops being finite.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .errors import DeepBasicsError, DivergedError
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
    stopped:  None, or where and why early stopping ended the fit: {"epoch", "reason",
              "monitor", "best_epoch", "best", "restored"} (see ``EarlyStopping``)
    """

    def __init__(self, params: dict | None = None):
        self.epoch: list[int] = []
        self.history: dict[str, list[float]] = {"cost": [], "lr": [], "lr_after": []}
        self.params = dict(params or {})
        self.diagnostics: list[dict] = []
        self.stopped: dict | None = None

    def append(self, epoch: int, values: dict) -> None:
        n = len(self.epoch)
        self.epoch.append(int(epoch))
        for key, value in values.items():
            column = self.history.get(key)
            if column is None:               # a new column: NaN for the epochs before (not built
                column = self.history[key] = [math.nan] * n     # on every call: O(n) each)
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
        if self.stopped:
            out["stopped"] = dict(self.stopped)
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


MONITORS = ("val_loss", "val_accuracy", "cost")


@dataclass(frozen=True)
class EarlyStopping:
    """Stop a fit when a monitored metric stops improving (Keras's ``EarlyStopping``; scikit-learn's
    MLP calls ``patience`` ``n_iter_no_change`` and ``min_delta`` ``tol``).

    monitor        "val_loss" (default), "val_accuracy" or "cost" (the training cost); validation
                   metrics are read on the epochs that validate (``validation_freq``)
    patience       stop after this many monitored epochs in a row without an improvement
    min_delta      an improvement must beat the best so far by more than this:
                   x < best - min_delta (losses) or x > best + min_delta (accuracy)
    restore_best_weights  end the fit with the training state (weights, buffers, optimizer
                   moments) of the best epoch instead of the last one
    mode           "auto" (max for accuracy, min otherwise), "min" or "max"

    As in Keras, each monitored epoch without an improvement adds one to a counter that an
    improvement resets; the fit stops when the counter reaches ``patience`` (never on the first
    epoch of the fit). The first monitored value is always an improvement.
    """
    monitor: str = "val_loss"
    patience: int = 10
    min_delta: float = 0.0
    restore_best_weights: bool = False
    mode: str = "auto"

    def __post_init__(self):
        if self.monitor not in MONITORS:
            raise DeepBasicsError(f"early_stopping monitor must be one of {', '.join(MONITORS)}, got {self.monitor!r}")
        if isinstance(self.patience, bool) or not isinstance(self.patience, numbers.Integral) or self.patience < 1:
            raise DeepBasicsError(f"early_stopping patience must be a whole number >= 1, got {self.patience!r}")
        if isinstance(self.min_delta, bool) or not isinstance(self.min_delta, numbers.Real) \
                or not math.isfinite(self.min_delta) or self.min_delta < 0:
            raise DeepBasicsError(f"early_stopping min_delta must be a finite number >= 0, got {self.min_delta!r}")
        if not isinstance(self.restore_best_weights, bool):
            raise DeepBasicsError(f"early_stopping restore_best_weights must be true or false, "
                                  f"got {self.restore_best_weights!r}")
        if self.mode not in ("auto", "min", "max"):
            raise DeepBasicsError(f"early_stopping mode must be 'auto', 'min' or 'max', got {self.mode!r}")

    @classmethod
    def get(cls, spec) -> "EarlyStopping | None":
        """None, an EarlyStopping, or a dict of its settings (``{"patience": 5}``)."""
        if spec is None or isinstance(spec, cls):
            return spec
        if isinstance(spec, dict):
            unknown = sorted(set(spec) - set(cls.__dataclass_fields__))
            if unknown:
                raise DeepBasicsError(f"early_stopping has no setting {unknown[0]!r}; "
                                      f"it takes: {', '.join(cls.__dataclass_fields__)}")
            return cls(**spec)
        raise DeepBasicsError(f"early_stopping must be None, a dict of settings or an EarlyStopping, got {spec!r}")

    @property
    def maximize(self) -> bool:
        return self.mode == "max" or (self.mode == "auto" and "accuracy" in self.monitor)

    def watch(self, first_epoch: int) -> "Watch":
        return Watch(self, first_epoch)


class Watch:
    """One fit's early-stopping bookkeeping: the best value, its epoch and state, the counter."""

    def __init__(self, rule: EarlyStopping, first_epoch: int):
        self.rule, self.first_epoch = rule, first_epoch
        self.best, self.best_epoch, self.best_state, self.wait = None, None, None, 0

    def improved(self, value: float) -> bool:
        if self.best is None:
            return True
        if self.rule.maximize:
            return value > self.best + self.rule.min_delta
        return value < self.best - self.rule.min_delta

    def update(self, epoch: int, values: dict, state: TrainState) -> bool:
        """Record epoch ``epoch``'s metrics (``state`` is the state after it); True: stop now."""
        value = values.get(self.rule.monitor)
        if value is None or not math.isfinite(value):
            return False                 # an epoch that did not validate
        self.wait += 1
        if self.improved(value):
            self.best, self.best_epoch, self.wait = float(value), epoch, 0
            if self.rule.restore_best_weights:
                self.best_state = state
            return False
        return self.wait >= self.rule.patience and epoch > self.first_epoch

    def stopped(self, epoch: int) -> dict:
        """What History.stopped records when the fit stops after ``epoch``."""
        better = "rose above" if self.rule.maximize else "fell below"
        return {"epoch": epoch, "monitor": self.rule.monitor, "best_epoch": self.best_epoch, "best": self.best,
                "restored": self.best_state is not None,
                "reason": f"{self.rule.monitor} did not improve for {self.rule.patience} monitored epoch(s) "
                          f"(no value {better} the best {self.best:.6g} of epoch {self.best_epoch} "
                          f"by more than {self.rule.min_delta:g})"}


def run_epochs(engine, state: TrainState, X, Y, *, epochs: int, initial_epoch: int = 0,
               rates: np.ndarray, lr_after: Callable[[int], float], history: History,
               verbose: int = 0, print_lr: bool = False,
               validate: Callable[[TrainState], dict] | None = None, validation_freq: int = 1,
               print_fn: Callable[[str], None] = print, on_epoch: Callable | None = None,
               early_stopping: EarlyStopping | None = None):
    """Advance ``state`` from ``initial_epoch`` to ``epochs``; fill ``history``; return the state.

    ``verbose`` = N > 0 prints every N epochs in the document's format:
        Cost after epoch 1000: 0.351748
        learning rate after epoch 1000: 0.000500      (when ``print_lr``)
    ``on_epoch(epoch, state, values)`` is called after every recorded epoch (progress, checkpoints).
    An engine that fuses epochs runs one block per call up to the next epoch that needs the host:
    a log line, a validation (unless the engine validates inside its program: ``engine.validation``
    then holds each epoch's (loss, accuracy)), or a callback. A callback with a ``state_every``
    attribute (N >= 0) does not end blocks but every N-th epoch (and at least 100 times a run): it
    is called for every epoch of a block, with ``state`` None but at the block's last epoch, and a
    KeyboardInterrupt it raises takes effect after that last epoch, so that the epoch and the
    state it has seen last always belong together.
    On a NaN or infinite cost, raises DivergedError; the state returned by the last block that
    stayed finite is kept in ``err.state``. With ``early_stopping`` the loop may end early: then
    ``history.stopped`` says where and why, and the state returned is the best epoch's when the
    rule restores it.
    """
    fuses = getattr(engine, "fuses_epochs", False)
    watch = early_stopping.watch(initial_epoch) if early_stopping is not None else None
    every_epoch = watch is not None and not early_stopping.monitor.startswith("val_")
    # Early stopping needs the state of every monitored epoch, so validation then ends blocks.
    in_program = validate is not None and watch is None and getattr(engine, "validates", False)
    epoch = initial_epoch
    while epoch < epochs:
        stop = _next_event(epoch, epochs, initial_epoch, verbose, validate is not None and not in_program,
                           validation_freq, on_epoch) if fuses and not every_epoch else epoch + 1
        new_state, costs = engine.run(state, X, Y, epoch, stop)
        vals = engine.validation if in_program else None
        interrupted = None
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
            if validate is not None and ((e + 1) % validation_freq == 0 or e == epochs - 1):
                if vals is not None:
                    values.update(_validation_values(vals[i]))
                elif last:
                    values.update(validate(new_state))
            history.append(e, values)
            if verbose and e % verbose == 0:
                print_fn("Cost after epoch %i: %f" % (e, cost))
                if print_lr:
                    print_fn("learning rate after epoch %i: %f" % (e, values["lr_after"]))
                if "val_loss" in values:
                    extra = "".join(f", {k}: {v:.6f}" for k, v in values.items() if k.startswith("val_"))
                    print_fn("Validation after epoch %i%s" % (e, extra))
            if on_epoch is not None and (last or hasattr(on_epoch, "state_every")):
                try:
                    on_epoch(e, new_state if last else None, values)
                except KeyboardInterrupt as stop_request:
                    if last:
                        raise
                    interrupted = interrupted or stop_request
            if watch is not None and last and watch.update(e, values, new_state):
                history.stopped = watch.stopped(e)
                return watch.best_state if watch.best_state is not None else new_state
        state = new_state
        epoch = stop
        if interrupted is not None:
            raise interrupted
    if watch is not None and watch.best_state is not None:
        return watch.best_state            # restore_best_weights: the fit ran to the end
    return state


def _validation_values(row) -> dict:
    """An engine's in-program (loss, accuracy) as the history's validation columns."""
    loss, accuracy = (float(v) for v in row)
    return {"val_loss": loss} if np.isnan(accuracy) else {"val_loss": loss, "val_accuracy": accuracy}


def _next_event(epoch: int, epochs: int, initial_epoch: int, verbose: int, validating: bool, freq: int,
                on_epoch) -> int:
    """The epoch after the next one that needs the host (a log line, validation, a callback)."""
    candidates = [epochs]
    if on_epoch is not None:
        every = getattr(on_epoch, "state_every", None)
        if every is None:
            return epoch + 1
        candidates.append(epoch + max(1, (epochs - initial_epoch) // 100))
        if every:
            candidates.append((epoch // every + 1) * every)
    if verbose:
        candidates.append((epoch // verbose + (epoch % verbose != 0)) * verbose + 1)
    if validating:
        candidates.append((epoch // freq + 1) * freq)
    return max(epoch + 1, min(candidates))
