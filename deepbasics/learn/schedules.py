"""Learning-rate schedules: the rate as a function of a count (epochs or optimizer steps).

A schedule maps ``(lr0, count) -> lr``; ``lr0`` is the optimizer's ``lr``. Every schedule says
its ``unit``: "epoch" (count = epochs finished) or "step" (count = updates applied, as Keras's
schedules count).

    Constant                 lr0
    InverseTimeDecay         lr0 / (1 + k * floor(count / interval))
        interval=1 is the document's ``update_lr``, interval=1000 its ``schedule_lr_decay``
        (Keras: InverseTimeDecay(decay_steps=interval, staircase=True), but counted in steps)
    ExponentialDecay         lr0 * rate ** (count / decay_every)   (floor'd when staircase)
    StepDecay                lr0 * gamma ** floor(count / step_size)   (PyTorch's StepLR)

When a per-epoch rate takes effect (``timing``):
    "document"   the rate computed after epoch i is used from epoch i + 1, so epoch e trains
                 with f(e - 1) and epochs 0 and 1 with f(0) = lr0. This is the document's loop
                 (``learning_rate = decay(lr0, i, k)`` at the end of epoch i).
    "immediate"  epoch e trains with f(e), like PyTorch's scheduler.step() at each epoch's end
                 with the rate read at the start of the next.
Step-unit schedules apply f(step) at each step (timing does not apply).
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from ..errors import DeepBasicsError, check_nonnegative, check_positive_int, choose

UNITS = ("epoch", "step")
TIMINGS = ("document", "immediate")


class Schedule(ABC):
    unit: str = "epoch"
    timing: str = "document"

    @abstractmethod
    def __call__(self, lr0: float, count: int) -> float:
        """The rate after ``count`` units (epochs or steps), starting from ``lr0``."""

    def _check(self):
        if self.unit not in UNITS:
            raise DeepBasicsError(f"schedule unit must be one of {', '.join(UNITS)}, got {self.unit!r}")
        if self.timing not in TIMINGS:
            raise DeepBasicsError(f"schedule timing must be one of {', '.join(TIMINGS)}, got {self.timing!r}")

    def rates(self, lr0: float, epochs: int, steps_per_epoch: int) -> np.ndarray:
        """The rate of every update of a run, shape (epochs, steps_per_epoch), float64."""
        return self.rates_of_epochs(lr0, 0, epochs, steps_per_epoch)

    def rates_of_epochs(self, lr0: float, start: int, stop: int, steps_per_epoch: int) -> np.ndarray:
        """The rates of the updates of epochs start..stop-1, shape (stop - start, steps_per_epoch),
        float64: rows start..stop-1 of ``rates`` (a run continued in chunks computes each once)."""
        if self.unit == "step":
            return np.array([[self(lr0, e * steps_per_epoch + s) for s in range(steps_per_epoch)]
                             for e in range(start, stop)], dtype=np.float64).reshape(stop - start, steps_per_epoch)
        lag = 1 if self.timing == "document" else 0
        per_epoch = np.array([self(lr0, max(e - lag, 0)) for e in range(start, stop)], dtype=np.float64)
        return np.repeat(per_epoch[:, None], steps_per_epoch, axis=1)

    def rate_after_epoch(self, lr0: float, epoch: int, steps_per_epoch: int) -> float:
        """The rate in force once epoch ``epoch`` has finished (what the document prints as
        'learning rate after epoch N'): the rate of the next epoch's first update."""
        if self.unit == "step":
            return float(self(lr0, (epoch + 1) * steps_per_epoch))
        return float(self(lr0, epoch if self.timing == "document" else epoch + 1))


@dataclass(frozen=True)
class Constant(Schedule):
    """lr0 throughout."""
    unit: str = "epoch"
    timing: str = "document"

    def __post_init__(self):
        self._check()

    def __call__(self, lr0, count):
        return lr0


@dataclass(frozen=True)
class InverseTimeDecay(Schedule):
    """lr0 / (1 + decay_rate * floor(count / interval)), written as the document writes it:
    ``lr0 * (1 / (1 + decay_rate * floor(count / interval)))``."""
    decay_rate: float = 1.0
    interval: int = 1
    unit: str = "epoch"
    timing: str = "document"

    def __post_init__(self):
        check_nonnegative("decay_rate", self.decay_rate)
        check_positive_int("interval", self.interval)
        self._check()

    def __call__(self, lr0, count):
        return lr0 * (1 / (1 + self.decay_rate * math.floor(count / self.interval)))


@dataclass(frozen=True)
class ExponentialDecay(Schedule):
    """lr0 * rate ** (count / decay_every); with ``staircase`` the exponent is floor'd."""
    rate: float = 0.96
    decay_every: int = 1
    staircase: bool = False
    unit: str = "epoch"
    timing: str = "document"

    def __post_init__(self):
        check_nonnegative("rate", self.rate)
        check_positive_int("decay_every", self.decay_every)
        self._check()

    def __call__(self, lr0, count):
        p = count / self.decay_every
        return lr0 * self.rate ** (math.floor(p) if self.staircase else p)


@dataclass(frozen=True)
class StepDecay(Schedule):
    """lr0 * gamma ** floor(count / step_size): PyTorch's StepLR (which counts epochs)."""
    gamma: float = 0.1
    step_size: int = 1000
    unit: str = "epoch"
    timing: str = "document"

    def __post_init__(self):
        check_nonnegative("gamma", self.gamma)
        check_positive_int("step_size", self.step_size)
        self._check()

    def __call__(self, lr0, count):
        return lr0 * self.gamma ** math.floor(count / self.step_size)


SCHEDULES = {"constant": Constant, "inverse_time": InverseTimeDecay, "inverse_time_decay": InverseTimeDecay,
             "exponential": ExponentialDecay, "exponential_decay": ExponentialDecay,
             "step": StepDecay, "step_decay": StepDecay}


def get(schedule) -> Schedule:
    """A schedule from its name (default settings), an instance, or None (constant)."""
    if schedule is None:
        return Constant()
    if isinstance(schedule, Schedule):
        return schedule
    return choose("schedule", schedule, SCHEDULES)()
