"""A schedule that keeps the rates it has computed, for training in many short ``fit`` calls.

``Sequential.fit`` asks its schedule for the rate of every update from epoch 0 to ``epochs``
(``Schedule.rates``, a Python loop), so a run continued chunk by chunk to epoch E would pay
O(E) at every chunk. ``GrowingRates`` wraps the run's schedule and computes each epoch's rate
once, through the schedule's own ``rates_of_epochs`` (so the numbers are the same bits);
epoch-unit rates are returned as a broadcast view, O(epochs) memory.
"""
from __future__ import annotations

import numpy as np

from ..learn.schedules import Schedule


class GrowingRates(Schedule):
    """``inner``'s rates, cached per (lr0, steps_per_epoch) and extended as the run grows."""

    def __init__(self, inner: Schedule):
        self.inner = inner
        self.unit, self.timing = inner.unit, inner.timing
        self._key, self._rates = None, np.empty((0,))

    def __call__(self, lr0: float, count: int) -> float:
        return self.inner(lr0, count)

    def rate_after_epoch(self, lr0: float, epoch: int, steps_per_epoch: int) -> float:
        return self.inner.rate_after_epoch(lr0, epoch, steps_per_epoch)

    def rates(self, lr0: float, epochs: int, steps_per_epoch: int) -> np.ndarray:
        """(epochs, steps_per_epoch) float64, equal to ``inner.rates(lr0, epochs, steps_per_epoch)``."""
        if self._key != (lr0, steps_per_epoch):
            self._key, self._rates = (lr0, steps_per_epoch), np.empty((0,))
        have = len(self._rates) if self.unit == "epoch" else len(self._rates) // max(steps_per_epoch, 1)
        if epochs > have:
            new = self.inner.rates_of_epochs(lr0, have, max(epochs, 2 * have), steps_per_epoch)
            self._rates = np.concatenate([self._rates, new.reshape(-1) if self.unit == "step" else new[:, 0]])
        if self.unit == "step":
            return self._rates[:epochs * steps_per_epoch].reshape(epochs, steps_per_epoch)
        return np.broadcast_to(self._rates[:epochs, None], (epochs, steps_per_epoch))

    def __repr__(self) -> str:
        return repr(self.inner)
