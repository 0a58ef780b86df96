"""What the two engines cost on this machine, measured once for ``engine="auto"`` (``auto.get_costs``).

    python -m deepbasics.learn.engines.calibrate          # prints the measurement as JSON

It runs in a fresh process of its own (``auto`` starts it), so that starting JAX is measured as
a run meets it:

    per update   NumPy and JAX seconds per update of three networks, 2-5-2-1, 2-96-96-1 and
                 2-160-160-1 (Adam, mini-batches of 64 out of 640 rows): the time of a fit of
                 2E epochs less that of E epochs, over E epochs' updates (what every fit costs
                 once cancels), the median of three.
                 ``work`` = batch size x parameters (about the multiply-adds of a forward pass):
                 1,920, 620,608 and 1,689,664 (below, within and above the sizes at which the
                 engines change how they run a step: BLAS threads, XLA's thread pools). Each
                 engine's cost is the broken line through its points (``auto.Costs``).
    start-up     what JAX adds before its first update: importing JAX (this process has not),
                 tracing the program and compiling it into an empty compilation cache ("cold"),
                 and, after the in-memory caches are cleared, tracing it again and loading it
                 from that cache ("warm", the least of two); a one-epoch fit each, NumPy's
                 one-epoch fit subtracted.

Nothing here is imported by the rest of deepbasics.
"""
from __future__ import annotations

import importlib.util
import json
import os
import tempfile
import time

import numpy as np

SIZES = (5, 96, 160)             # hidden widths of the networks 2-w-w-1 (2-5-2-1 for 5)
ROWS, BATCH = 640, 64            # 10 updates an epoch
TARGET_S = 0.05                  # seconds each timing aims at


def _net(width: int):
    from ..model import Sequential
    from ...nn.activations import ReLU, Sigmoid
    from ...nn.dense import Dense
    return Sequential([Dense(width), ReLU(), Dense(width if width > 5 else 2), ReLU(), Dense(1), Sigmoid()],
                      input_dim=2, init="he", seed=0)


def _data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((ROWS, 2))
    return X, (X[:, 0] * X[:, 1] > 0).astype(np.float64)


def work_of(width: int) -> int:
    """Batch size x parameters of the 2-w-w-1 network (the 2-5-2-1 one for w = 5)."""
    return BATCH * _net(width).count_params()


def _fit_seconds(width: int, engine: str, epochs: int) -> float:
    X, y = _data()
    start = time.perf_counter()
    _net(width).fit(X, y, optimizer="adam", epochs=epochs, batch_size=BATCH, shuffle_seed=1, engine=engine)
    return time.perf_counter() - start


def update_seconds(width: int, engine: str) -> float:
    """Seconds per update: after a warm-up (a compiled engine compiles then), the time of a fit of
    2E epochs less that of E epochs, E doubled from 1 until the difference reaches TARGET_S; the
    median of three such differences (one when a fit takes long), over E epochs' updates."""
    _fit_seconds(width, engine, 2)

    def difference(epochs: int) -> tuple[float, float]:
        shorter = _fit_seconds(width, engine, epochs)
        return _fit_seconds(width, engine, 2 * epochs) - shorter, shorter
    epochs = 1
    diff, shorter = difference(epochs)
    while diff < TARGET_S and epochs < 4096:
        epochs *= 2
        diff, shorter = difference(epochs)
    diffs = [diff] + ([difference(epochs)[0] for _ in range(2)] if shorter < 5 * TARGET_S else [])
    return max(float(np.median(diffs)), 1e-3 * TARGET_S) / (epochs * ROWS // BATCH)


def start_seconds() -> dict:
    """JAX's start-up in this process, which must not have imported JAX yet: (cold, warm, import)
    seconds, as the module docstring says."""
    numpy_fit = min(_fit_seconds(SIZES[0], "numpy", 1) for _ in range(3))
    begin = time.perf_counter()
    from . import jax_engine              # the import is part of what is measured
    imported = time.perf_counter() - begin
    cold = _fit_seconds(SIZES[0], "jax", 1)
    warm = []
    for _ in range(2):
        jax_engine.jax.clear_caches()
        jax_engine._PROGRAMS.clear()
        warm.append(_fit_seconds(SIZES[0], "jax", 1))
    return {"start_cold_s": imported + cold - numpy_fit, "start_warm_s": imported + min(warm) - numpy_fit,
            "import_s": imported}


def measure() -> dict:
    """The whole measurement (several seconds): per-update costs of both engines, JAX's cold and
    warm start-up. Without JAX only NumPy's costs, and ``jax`` None."""
    began = time.perf_counter()
    works = [work_of(w) for w in SIZES]
    numpy_s = [update_seconds(w, "numpy") for w in SIZES]
    out = {"works": works, "numpy_update_s": numpy_s, "jax": None}
    if importlib.util.find_spec("jax") is None:      # (not imported here: start_seconds times that)
        return {**out, "seconds": time.perf_counter() - began}
    with tempfile.TemporaryDirectory(prefix="deepbasics-calibrate-") as cache:
        os.environ["DEEPBASICS_JAX_CACHE"] = cache       # an empty compilation cache: cold, then warm
        start = start_seconds()
        out["jax"] = {"update_s": [update_seconds(w, "jax") for w in SIZES], **start}
    return {**out, "seconds": time.perf_counter() - began}


if __name__ == "__main__":
    print(json.dumps(measure()))
