"""Early stopping: Keras's ``EarlyStopping`` rule and the bookkeeping of one fit (``Watch``)."""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

from ..errors import DeepBasicsError, check_positive_int
from .step import TrainState


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
        check_positive_int("early_stopping patience", self.patience)
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
