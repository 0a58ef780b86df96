"""The NumPy engine: every update is ``train_step`` called from Python, one batch at a time."""
from __future__ import annotations

import numpy as np

from ..batching import batch_bounds, epoch_order
from ...nn.layer import Context
from ...nn.rand import step_key
from ..step import Setup, TrainState, train_step


class NumpyEngine:
    """Runs epochs eagerly. Batches are gathered by index (the dataset is never copied whole)
    and converted to the parameters' dtype as they are gathered."""

    name = "numpy"

    def __init__(self, setup: Setup, *, batch_size: int, rates: np.ndarray, shuffle_seed, m: int,
                 noise_seed: int | None = None):
        self.setup = setup
        self.noise_seed = noise_seed if any(layer.stochastic for layer in setup.layers) else None
        self.bounds = batch_bounds(m, batch_size)
        self.rates = rates                     # (epochs, steps_per_epoch)
        self.shuffle_seed = shuffle_seed
        self.m = m
        self._shuffler = np.random.RandomState(0)   # re-seeded each epoch (see epoch_order)
        self._typed_rates = rates

    def run(self, state: TrainState, X, Y, epoch_start: int, epoch_stop: int):
        dtype = state.theta.dtype
        # rates and batches in the parameters' dtype: a float64 scalar would turn float32 math
        # into float64 (NumPy scalars are not "weak" since NEP 50)
        if self._typed_rates.dtype != dtype:
            self._typed_rates = self.rates.astype(dtype)
        cast = X.dtype != dtype or Y.dtype != dtype
        costs = []
        for epoch in range(epoch_start, epoch_stop):
            order = epoch_order(self.m, epoch, self.shuffle_seed, self._shuffler)
            rates = self._typed_rates[epoch]
            ctx = Context(xp=np, train=True)
            total = 0.0
            for k, (a, b) in enumerate(self.bounds):
                if self.noise_seed is not None:       # the update's own key (see deepbasics.rand)
                    ctx = ctx._replace(rng=step_key(self.noise_seed, epoch * len(self.bounds) + k))
                idx = order[a:b]
                xb, yb = X.take(idx, axis=0), Y.take(idx, axis=0)   # = X[idx], 4x cheaper
                if cast:
                    xb, yb = xb.astype(dtype), yb.astype(dtype)
                state, loss_sum = train_step(self.setup, state, xb, yb, rates[k], ctx)
                total += float(loss_sum)       # summed in float64 whatever the dtype
            costs.append(total / self.m)
        return state, np.asarray(costs, dtype=np.float64)
