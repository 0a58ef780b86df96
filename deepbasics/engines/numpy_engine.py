"""The NumPy engine: every update is ``train_step`` called from Python, one batch at a time."""
from __future__ import annotations

import numpy as np

from ..batching import batch_bounds, epoch_order
from ..layer import Context
from ..rand import epoch_generator
from ..step import Setup, TrainState, train_step


class NumpyEngine:
    """Runs epochs eagerly. Batches are gathered by index (the dataset is never copied whole)."""

    name = "numpy"

    def __init__(self, setup: Setup, *, batch_size: int, rates: np.ndarray, shuffle_seed, m: int,
                 noise_seed: int | None = None):
        self.setup = setup
        self.noise_seed = noise_seed if any(layer.stochastic for layer in setup.layers) else None
        self.bounds = batch_bounds(m, batch_size)
        self.rates = rates                     # (epochs, steps_per_epoch)
        self.shuffle_seed = shuffle_seed
        self.m = m

    def run(self, state: TrainState, X, Y, epoch_start: int, epoch_stop: int):
        costs = []
        for epoch in range(epoch_start, epoch_stop):
            order = epoch_order(self.m, epoch, self.shuffle_seed)
            rates = self.rates[epoch]
            ctx = Context(xp=np, train=True,
                          rng=None if self.noise_seed is None else epoch_generator(self.noise_seed, epoch))
            total = 0.0
            for k, (a, b) in enumerate(self.bounds):
                idx = order[a:b]
                state, loss_sum = train_step(self.setup, state, X[idx], Y[idx], rates[k], ctx)
                total += loss_sum
            costs.append(total / self.m)
        return state, np.asarray(costs, dtype=np.float64)
