"""``engine="auto"``: the compiled JAX engine when a run is long enough to repay starting it.

Both engines run the same math to float64 rounding (random draws included, see deepbasics.rand),
so the choice changes the time a run takes, not its numbers. What each costs is measured on this
machine, once (``costs``, by ``calibrate``): seconds per update of each engine as a line in the
update's ``work`` = batch size x parameters (about the multiply-adds of a forward pass),

    numpy(work) = a_numpy + work * b_numpy          jax(work) = a_jax + work * b_jax

and what JAX adds before its first update in a fresh process, START (importing JAX, tracing the
run's program and loading it from the compilation cache). "auto" picks JAX when

    updates * (numpy(work) - jax(work)) >= START,    updates = (epochs - initial_epoch) * steps per epoch

that is, when the JAX run is predicted to take no longer than the NumPy one. START is the warm
start-up (the program already in the cache; the cold one when the cache is switched off), so
that a shorter run is never slower than a longer one: below the crossover NumPy takes at most
what JAX would with a warm cache, and JAX with a cold cache only costs more above it, where
every longer run pays the same. ``crossover_updates(work)`` is that break-even. The runs of one
command (``compare``, ``demo``) decide together (``together``): a worker process imports JAX
once for all the runs it takes, so several runs repay it sooner than one.

The measurement takes several seconds (``calibrate``: fresh processes, both engines, two network
sizes) and is kept in ``engine-costs.json`` beside the compilation cache, in
``~/.cache/deepbasics/`` (``$XDG_CACHE_HOME``; ``DEEPBASICS_ENGINE_COSTS=PATH`` names the file),
keyed by the machine and the versions of Python, NumPy, JAX and deepbasics: a new machine or
version measures again. Where it cannot be written, a process measures once and keeps the result.
The rule depends only on the run's settings and those costs, never on the state of this process
(whether JAX is imported), so one config picks the same engine on one machine. Data in a memory
map stay on NumPy (``resolve``). The GPU is not considered: ``device`` chooses it explicitly.

If JAX cannot be imported, "auto" runs the NumPy engine and says so once per process on stderr.
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

from ...errors import DeepBasicsError
from ...fileio import atomic_write_text
from ...version import __version__

COSTS_ENV = "DEEPBASICS_ENGINE_COSTS"
CACHE_ENV = "DEEPBASICS_JAX_CACHE"              # the compilation cache (jax_engine); "off" disables it
CHAPTER_WORK = 64 * 30                          # the chapter's 2-5-2-1 network (30 parameters), batch 64

_said = False
_costs = None                                   # this process's Costs, once read or measured


class Costs(NamedTuple):
    """What the engines cost on this machine, in seconds (see the module docstring)."""
    works: tuple                 # the work of the measured updates, increasing
    numpy_s: tuple               # NumPy's seconds per update at each
    jax_s: tuple | None          # JAX's (None: JAX is not installed)
    start_warm_s: float | None   # START with the program in the compilation cache
    start_cold_s: float | None   # START when it must be compiled
    import_s: float | None = None    # the part of START that importing JAX takes (once a process)

    @property
    def start_s(self) -> float:
        """START as runs here meet it: warm, or cold when the compilation cache is off."""
        off = os.environ.get(CACHE_ENV, "").lower() in ("off", "0", "none")
        return self.start_cold_s if off else self.start_warm_s

    def numpy_update_s(self, work: int) -> float:
        return _between(self.works, self.numpy_s, work)

    def jax_update_s(self, work: int) -> float:
        return _between(self.works, self.jax_s, work)

    def saving(self, work: int) -> float:
        """Seconds per update JAX saves over NumPy at ``work`` (negative: JAX is slower)."""
        return self.numpy_update_s(work) - self.jax_update_s(work)


def _between(works, seconds, work: int) -> float:
    """Seconds per update at ``work``, on the broken line through the measured points, continued
    past the last point along its last piece (never below zero, never falling with more work)."""
    i = min(max(sum(w <= work for w in works) - 1, 0), len(works) - 2)
    (w0, w1), (s0, s1) = works[i:i + 2], seconds[i:i + 2]
    return max(s0 + max((s1 - s0) / (w1 - w0), 0.0) * (work - w0), 0.0)


def from_measurement(measured: dict) -> Costs:
    """Costs from what ``calibrate.measure`` printed."""
    works, jax = tuple(measured["works"]), measured.get("jax")
    if not jax:
        return Costs(works, tuple(measured["numpy_update_s"]), None, None, None)
    return Costs(works, tuple(measured["numpy_update_s"]), tuple(jax["update_s"]), jax["start_warm_s"],
                 jax["start_cold_s"], jax.get("import_s"))


# What "auto" assumes when the measurement fails: a 2-core x86-64 machine of 2026-11 (BENCHMARKS.md):
# the chapter's network ~50 us per update on NumPy and ~5 us on JAX, ~1.5 s to start JAX.
ASSUMED = Costs((1920, 1_000_000), (50e-6, 80e-6), (5e-6, 5e-6), 1.5, 1.5, 1.2)


# -- the rule ------------------------------------------------------------------------------------
def prefers_jax(updates: int, work: int, costs: Costs | None = None) -> bool:
    """Whether ``updates`` updates of ``work`` repay JAX's start-up on this machine."""
    c = costs or get_costs()
    return c.jax_s is not None and c.saving(work) > 0 and updates * c.saving(work) >= c.start_s


def crossover_updates(work: int, costs: Costs | None = None) -> int | None:
    """The fewest updates of ``work`` for which "auto" picks JAX (None: never, JAX not being
    faster per update or not installed)."""
    c = costs or get_costs()
    if c.jax_s is None or c.saving(work) <= 0:
        return None
    return max(1, -int(-c.start_s // c.saving(work)))


def together(runs, processes: int, costs: Costs | None = None) -> dict:
    """Several runs of one command (``runs``: (updates, work) each) in ``processes`` worker
    processes, each process importing JAX once for the runs it takes: JAX for all of them when

        sum over runs of updates * saving(work)  >=  P * IMPORT + n * (START - IMPORT)

    with n runs and P = min(processes, n) processes (one run in one process: the rule above). The
    left side grows with every run's length, so a shorter command is never slower either.
    Returns {"engine", "runs", "processes", "saving_s", "start_s"} (seconds, as predicted)."""
    c = costs or get_costs()
    n, p = len(runs), max(1, min(processes, len(runs)))
    if c.jax_s is None or not runs:
        return {"engine": "numpy", "runs": n, "processes": p, "saving_s": 0.0, "start_s": None}
    importing = min(c.import_s if c.import_s is not None else c.start_s, c.start_s)
    start = p * importing + n * (c.start_s - importing)
    saving = sum(u * c.saving(w) for u, w in runs)
    return {"engine": "jax" if saving >= start and saving > 0 else "numpy", "runs": n, "processes": p,
            "saving_s": round(saving, 3), "start_s": round(start, 3)}


def predicted_seconds(updates: int, work: int, costs: Costs | None = None) -> float:
    """The training time the rule expects for the engine it picks (the start-up included)."""
    c = costs or get_costs()
    if prefers_jax(updates, work, c):
        return c.start_s + updates * c.jax_update_s(work)
    return updates * c.numpy_update_s(work)


def jax_available() -> bool:
    """Whether the JAX engine can be loaded (JAX importable)."""
    try:
        from . import jax_engine  # noqa: F401
    except (ImportError, DeepBasicsError):
        return False
    return True


def resolve(engine: str, *, updates: int, work: int, mapped: bool = False) -> str:
    """The engine to run: ``engine`` itself unless it is "auto". Data in a memory map (``mapped``)
    run on NumPy, which reads each mini-batch from the map: the JAX engine holds the whole
    training set in one device buffer, a copy the size of the data."""
    if engine != "auto":
        return engine
    if mapped or updates <= 0 or not prefers_jax(updates, work):
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


# -- measuring once, keeping it --------------------------------------------------------------------
def costs_path() -> Path:
    """Where the measurement is kept: $DEEPBASICS_ENGINE_COSTS, else engine-costs.json beside
    the compilation cache's folder in ~/.cache/deepbasics/."""
    if os.environ.get(COSTS_ENV):
        return Path(os.environ[COSTS_ENV]).expanduser()
    home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return home / "deepbasics" / "engine-costs.json"


def machine_key() -> dict:
    """What a measurement holds for: the machine and the versions that run the engines."""
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    versions = {}
    for name in ("numpy", "jax", "jaxlib"):
        try:
            from importlib.metadata import version
            versions[name] = version(name)
        except Exception:                    # not installed (jax), or no metadata
            versions[name] = None
    return {"cpu": cpu, "cores": os.cpu_count(), "machine": platform.machine(),
            "python": platform.python_version(), "deepbasics": __version__, **versions}


def get_costs() -> Costs:
    """This machine's Costs: kept in this process, else read from ``costs_path()``, else measured
    now (once; a line on stderr says so and reports the crossover it found) and saved there."""
    global _costs
    if _costs is None:
        _costs = _read(costs_path(), machine_key()) or _measure_and_keep(costs_path(), machine_key())
    return _costs


def set_costs(costs: Costs | None) -> None:
    """Use ``costs`` in this process instead of the measured ones (None: measured again on demand)."""
    global _costs
    _costs = costs


def _read(path: Path, key: dict) -> Costs | None:
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
        return from_measurement(kept["measured"]) if kept.get("key") == key else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _measure_and_keep(path: Path, key: dict) -> Costs:
    """Measure (``calibrate``, in a process of its own), under a lock so that processes started
    together measure once; keep the result in ``path`` when it can be written."""
    with _lock(path):
        kept = _read(path, key)                  # another process may have measured meanwhile
        if kept is not None:
            return kept
        print("deepbasics: engine 'auto' is measuring what the NumPy and JAX engines cost on this machine "
              "(once, several seconds) ...", file=sys.stderr, flush=True)
        began = time.perf_counter()
        try:
            measured = _run_calibration()
        except (DeepBasicsError, OSError, ValueError, subprocess.SubprocessError) as err:
            print(f"deepbasics: {err}; engine 'auto' assumes the costs of a reference machine instead",
                  file=sys.stderr, flush=True)
            return ASSUMED
        costs = from_measurement(measured)
        try:
            atomic_write_text(path, json.dumps({"key": key, "measured": measured,
                                                "date": time.strftime("%Y-%m-%d %H:%M:%S %Z")}, indent=1) + "\n")
            where = f"kept in {path}"
        except (OSError, DeepBasicsError):
            where = f"not kept: {path} cannot be written"
        print(f"deepbasics: {describe(costs)}; measured in {time.perf_counter() - began:.0f} s, {where}",
              file=sys.stderr, flush=True)
        return costs


def _run_calibration() -> dict:
    env = {k: v for k, v in os.environ.items() if k != CACHE_ENV}
    done = subprocess.run([sys.executable, "-m", "deepbasics.learn.engines.calibrate"], capture_output=True,
                          text=True, env=env, timeout=900)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise DeepBasicsError(f"engine 'auto' could not measure the engines on this machine ({tail})")
    return json.loads(done.stdout.strip().splitlines()[-1])


class _lock:
    """An exclusive lock on ``<path>.lock`` (POSIX ``flock``; no lock elsewhere)."""

    def __init__(self, path: Path):
        self.path, self.handle = Path(f"{path}.lock"), None

    def __enter__(self):
        try:
            import fcntl
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.handle = open(self.path, "a")
            fcntl.flock(self.handle, fcntl.LOCK_EX)
        except (ImportError, OSError):
            self.handle = None
        return self

    def __exit__(self, *exc):
        if self.handle is not None:
            self.handle.close()              # closing releases the lock


def describe(costs: Costs) -> str:
    """One line: the costs and the crossover for the chapter's network."""
    w = CHAPTER_WORK
    if costs.jax_s is None:
        return f"NumPy {costs.numpy_update_s(w) * 1e6:.0f} us per update; JAX is not installed: 'auto' runs NumPy"
    n = crossover_updates(w, costs)
    where = f"JAX from {n:,} updates" if n else "NumPy at every length"
    return (f"engine 'auto' on this machine: the chapter's 2-5-2-1 network (batch 64) takes "
            f"{costs.numpy_update_s(w) * 1e6:.0f} us per update on NumPy, {costs.jax_update_s(w) * 1e6:.0f} us "
            f"on JAX after {costs.start_s:.1f} s to start it: {where}")
