"""Engines run epochs of ``step.train_step``: NumPy in a Python loop, JAX compiled.

An engine has one method, ``run(state, X, Y, epoch_start, epoch_stop) -> (state, costs)``,
where ``costs`` holds each epoch's cost (sum of per-example losses / m). ``fit`` turns the
name "auto" into one of the two (``auto.resolve``).
"""
from ...errors import choose
from . import auto
from .numpy_engine import NumpyEngine

ENGINES = {"numpy": NumpyEngine}


def get(name: str):
    """The engine class for ``name``."""
    if name == "jax":
        from .jax_engine import JaxEngine
        return JaxEngine
    return choose("engine", name, {**ENGINES, "jax": None, "auto": None})
