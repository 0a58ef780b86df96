"""Errors deepbasics raises on bad input, and the checks that raise them.

Every message names the problem and what to do about it, in one line, so that the
command line can print it as it is (``deepbasics: error: ...``) without a traceback.
"""
from __future__ import annotations

import numbers

import numpy as np


class DeepBasicsError(ValueError):
    """Bad input or an impossible request; the message says what to change."""


class DivergedError(DeepBasicsError):
    """Training produced a NaN or infinite cost. ``history`` holds the epochs that finished."""

    def __init__(self, message: str, history=None):
        super().__init__(message)
        self.history = history


class ConfigError(DeepBasicsError):
    """A setting that failed its check. ``key`` is its dotted name ("optimizer.lr") and ``source``
    where it came from (a file name, "--set optimizer.lr", "playground"), as data: a front end
    marks the field by ``key`` and never parses the message."""

    def __init__(self, source: str, key: str, message: str, *, line: str | None = None):
        shown = key if key is None or key.isprintable() else ascii(key)     # a key as typed stays one line
        super().__init__(line or (f"{source}: {shown} {message}" if key else f"{source}: {message}"))
        self.source, self.key, self.detail = source, key or None, message

    def blamed_on(self, source: str) -> "ConfigError":
        """The same error, said of another source (a ``--set key=value`` rather than the file it
        changed): the message's leading "<source>: " is replaced."""
        text, old = str(self), f"{self.source}: "
        return ConfigError(source, self.key, self.detail,
                           line=f"{source}: {text[len(old):] if text.startswith(old) else text}")


def choose(kind: str, name: str, table: dict):
    """Look ``name`` up in an explicit table of ``kind`` (e.g. 'loss'), or say what is allowed."""
    if not isinstance(name, str):
        raise DeepBasicsError(f"{kind} must be given by name or as an object, got {type(name).__name__}")
    key = name.strip().lower()
    if key not in table:
        allowed = ", ".join(sorted(table))
        raise DeepBasicsError(f"unknown {kind} {name!r}; choose one of: {allowed}")
    return table[key]


def is_whole(value) -> bool:
    """A whole number, and not a bool (True is an int in Python, never a count here)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_whole(name: str, value, low: int = 0, high: int | None = None) -> int:
    """A whole number with low <= value (and value < high when given): seeds, counts, epochs."""
    if not is_whole(value) or value < low or (high is not None and value >= high):
        bound = f">= {low}" if high is None else f"in {low}..{high - 1}"
        raise DeepBasicsError(f"{name} must be a whole number {bound}, got {value!r}")
    return int(value)


def check_positive_int(name: str, value) -> int:
    """A count such as epochs or batch size: a whole number >= 1."""
    return check_whole(name, value, low=1)


def check_nonnegative(name: str, value) -> float:
    """A rate such as a learning rate: a finite real number >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value) or value < 0:
        raise DeepBasicsError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def check_unit_interval(name: str, value, *, closed_right: bool = False) -> float:
    """A decay factor such as beta: 0 <= value < 1 (or <= 1 when ``closed_right``)."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and 0 <= value and (
        value <= 1 if closed_right else value < 1)
    if not ok:
        bound = "<= 1" if closed_right else "< 1"
        raise DeepBasicsError(f"{name} must satisfy 0 <= {name} {bound}, got {value!r}")
    return float(value)
