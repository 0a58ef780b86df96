"""The NumPy engine: every update is ``train_step`` called from Python, one batch at a time.

BLAS threads. A small network's matrix products (between THREADED_STEP_WORK and SMALL_STEP_WORK
multiply-adds a step) run on one BLAS thread: waking a thread pool for each 256 x 64 product costs
more than the product, and on a busy machine far more (one epoch of a 20-64-32-1 network over
500,000 rows, batch 256: 18 s with OpenBLAS's threads, 0.75 s on one, measured on two loaded
cores). Large steps keep every thread; tiny ones (the document's 2-5-2-1 network) never wake the
pool, so they are left as they are.
"""
from __future__ import annotations

import contextlib

import numpy as np

from ..batching import batch_bounds, epoch_order
from ..paging import epoch_batches
from ...nn.layer import Context
from ...nn.rand import step_key
from ..step import Setup, TrainState, train_step

SMALL_STEP_WORK = 2**20       # multiply-adds per step below which BLAS runs on one thread ...
THREADED_STEP_WORK = 2**15    # ... and above which BLAS would start its threads at all

_blas = None                  # threadpoolctl's controller, found once (finding the libraries costs ~0.5 ms)


def _one_blas_thread():
    """A context in which BLAS runs on one thread."""
    global _blas
    if _blas is None:
        from threadpoolctl import ThreadpoolController
        _blas = ThreadpoolController()
    return _blas.limit(limits=1, user_api="blas")


class NumpyEngine:
    """Runs epochs eagerly. Batches are gathered by index (the dataset is never copied whole;
    from a memory map, a chunk of the epoch's rows at a time: ``paging.epoch_batches``) and
    converted to the parameters' dtype as they are gathered."""

    name = "numpy"
    on_batch = None          # on_batch(epoch, k) after the k-th update of an epoch (``fit.Monitoring``)

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
        work = batch_size * sum(int(np.prod(s)) for layer in setup.shapes for s in layer)
        self.one_thread = THREADED_STEP_WORK <= work < SMALL_STEP_WORK

    def run(self, state: TrainState, X, Y, epoch_start: int, epoch_stop: int):
        """Epochs epoch_start..epoch_stop-1: (the state after them, each epoch's cost)."""
        with _one_blas_thread() if self.one_thread else contextlib.nullcontext():
            return self._epochs(state, X, Y, epoch_start, epoch_stop)

    def _epochs(self, state: TrainState, X, Y, epoch_start: int, epoch_stop: int):
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
            for k, (xb, yb) in enumerate(epoch_batches(X, Y, order, self.bounds)):
                if self.noise_seed is not None:       # the update's own key (see deepbasics.rand)
                    ctx = ctx._replace(rng=step_key(self.noise_seed, epoch * len(self.bounds) + k))
                if cast:
                    xb, yb = xb.astype(dtype), yb.astype(dtype)
                state, loss_sum = train_step(self.setup, state, xb, yb, rates[k], ctx)
                total += float(loss_sum)       # summed in float64 whatever the dtype
                if self.on_batch is not None:  # a front end answering mid-epoch; the numbers are untouched
                    self.on_batch(epoch, k + 1)
            costs.append(total / self.m)
        return state, np.asarray(costs, dtype=np.float64)
