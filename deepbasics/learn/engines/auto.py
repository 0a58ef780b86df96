"""``engine="auto"``: the compiled JAX engine when a run is long enough to repay starting it.

Both engines run the same math to float64 rounding (random draws included, see deepbasics.rand),
so the choice changes the time a run takes, not its numbers. Starting the JAX engine costs a
fixed START_S (importing JAX, then tracing and compiling the run's program, or loading it from the
compilation cache); after that each update is cheaper than NumPy's by

    saving(work) = UPDATE_SAVING_S + work * MADD_SAVING_S       (seconds per update)

where ``work`` = batch size x parameters, about the multiply-adds of a forward pass. "auto" picks
JAX when

    updates * saving(work) >= START_S,       updates = (epochs - initial_epoch) * steps per epoch

The constants are measured on a 2-core x86-64 machine by ``deepbasics bench --workload auto``
(BENCHMARKS.md): the document's 2-5-2-1 network, batch 64, saves ~45 us per update (NumPy ~50 us,
JAX ~5 us) against ~1.5 s to start with a cold cache, so JAX pays from ~33,000 updates (the
document's shortest run has 75,000). A wide layer saves mostly through faster matrix products,
so JAX pays there sooner (2-256-256-1: from ~9,000 updates by this rule; measured 36-100 on a
loaded machine, where NumPy's multithreaded BLAS suffers most). The rule depends only on the run's settings, never
on the machine's state (whether JAX is imported, the cache warm), so one config always picks the
same engine. The GPU is not considered: ``device`` chooses it explicitly.

If JAX cannot be imported, "auto" runs the NumPy engine and says so once per process on stderr.
"""
from __future__ import annotations

import sys

from ...errors import DeepBasicsError

START_S = 1.5               # seconds: import JAX + compile one program (cold cache), measured
UPDATE_SAVING_S = 45e-6     # seconds per update saved on a tiny network (Python overhead), measured
MADD_SAVING_S = 3e-11       # seconds per multiply-add of work saved (XLA vs NumPy's BLAS; W in BENCHMARKS.md)

_said = False


def prefers_jax(updates: int, work: int) -> bool:
    """Whether ``updates`` updates of ``work`` multiply-adds each repay JAX's start-up."""
    return updates * (UPDATE_SAVING_S + work * MADD_SAVING_S) >= START_S


def crossover_updates(work: int) -> int:
    """The fewest updates of ``work`` multiply-adds for which "auto" picks JAX."""
    return -int(-START_S // (UPDATE_SAVING_S + work * MADD_SAVING_S))


def jax_available() -> bool:
    """Whether the JAX engine can be loaded (JAX importable)."""
    try:
        from . import jax_engine
    except (ImportError, DeepBasicsError):
        return False
    return True


def resolve(engine: str, *, updates: int, work: int, mapped: bool = False) -> str:
    """The engine to run: ``engine`` itself unless it is "auto". Data in a memory map (``mapped``)
    run on NumPy, which reads each mini-batch from the map: the JAX engine holds the whole
    training set in one device buffer, a copy the size of the data."""
    if engine != "auto":
        return engine
    if mapped or not prefers_jax(updates, work):
        return "numpy"
    if jax_available():
        return "jax"
    _notice("deepbasics: JAX is not installed, so engine 'auto' runs the NumPy engine "
            "(the same numbers, slower on long runs; pip install jax for the compiled engine)")
    return "numpy"


def _notice(line: str) -> None:
    global _said
    if not _said:
        _said = True
        print(line, file=sys.stderr, flush=True)
