"""The page's messages checked, and the server's messages encoded (the contract: PROTOCOL.md).

    parse(text)             -> a checked command dict, or raises ProtocolError (message, key)
    check_config(raw, ...)  -> config.Config: ``config.from_dict`` (the one validator), then the
                               playground's own limits (generated 2-D data, <= 10,000 points,
                               1..50 hidden layers of 1..128 units, a test split, no files)
    encode(message)         -> compact JSON text; NaN and infinities become null

Nothing here trains or touches a file: a message is only ever data.
"""
from __future__ import annotations

import json
import math

import numpy as np

from ..data import datasets
from ..errors import ConfigError, DeepBasicsError
from ..runs import config

MAX_MESSAGE = 64 * 1024          # bytes of one message from the page
MAX_EPOCHS_PER_SECOND = 1e6
LIMITS = {"max_points": 10_000, "max_layers": 50, "max_units": 128, "max_sessions": 4,
          "draw_network_max_layers": 6, "draw_network_max_units": 8}
COMMANDS = ("configure", "play", "pause", "step", "reset", "speed", "export")
FILE_KEYS = ("path", "target", "delimiter", "x", "y", "task")      # [data] settings that name files


class ProtocolError(DeepBasicsError):
    """A message the server refuses: ``str(err)`` is the line the page shows; ``key`` the dotted
    setting it concerns (None when it concerns the message as a whole)."""

    def __init__(self, message: str, key: str | None = None):
        super().__init__(message)
        self.key = key


def parse(text) -> dict:
    """A message from the page as a checked dict: {"type": ..., plus that type's fields}.

    configure -> {"type", "config": Config, "compare": Config or None}   (checked: the worker trains them)
    speed     -> {"type", "epochs_per_second": float or None}
    others    -> {"type"}
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    if not isinstance(text, str):
        raise ProtocolError("a message must be JSON text")
    if len(text.encode("utf-8")) > MAX_MESSAGE:
        raise ProtocolError(f"the message is larger than {MAX_MESSAGE // 1024} KiB; send a smaller configuration")
    try:
        msg = json.loads(text, parse_constant=_no_constant)
    except ValueError as exc:
        raise ProtocolError(f"the message is not valid JSON ({exc})") from None
    if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
        raise ProtocolError('a message must be a JSON object with a "type" (e.g. {"type": "play"})', "type")
    kind = msg["type"]
    if kind not in COMMANDS:
        raise ProtocolError(f"unknown message type {kind!r}; known: {', '.join(COMMANDS)}", "type")
    if kind == "configure":
        return _configure(msg)
    if kind == "speed":
        return {"type": "speed", "epochs_per_second": _speed(msg)}
    return {"type": kind}


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def _speed(msg: dict):
    if "epochs_per_second" not in msg:
        raise ProtocolError('"speed" needs "epochs_per_second": a number > 0, or null for as fast as possible',
                            "epochs_per_second")
    value = msg["epochs_per_second"]
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= MAX_EPOCHS_PER_SECOND:
        raise ProtocolError(f"epochs_per_second must be a number in (0, {MAX_EPOCHS_PER_SECOND:g}] or null, "
                            f"got {value!r}", "epochs_per_second")
    return float(value)


def _configure(msg: dict) -> dict:
    raw = msg.get("config")
    if not isinstance(raw, dict):
        raise ProtocolError('"configure" needs "config": a configuration object (see /api/options "default")',
                            "config")
    raw_b = msg.get("compare")
    if raw_b is not None and not isinstance(raw_b, dict):
        raise ProtocolError('"compare" must be a configuration object or null', "compare")
    cfg = check_config(raw)
    cfg_b = None if raw_b is None else compare_config(raw, raw_b)[0]
    return {"type": "configure", "config": cfg, "compare": cfg_b}


def compare_config(raw: dict, raw_b: dict):
    """The second configuration of compare mode: its own network and training, on the first one's
    data and split, with the first one's weight seed and shuffles. Returns (Config, raw)."""
    merged = {k: v for k, v in raw_b.items()}
    merged["data"], merged["split"] = raw.get("data", {}), raw.get("split", {})
    for section, key in (("model", "seed"), ("train", "shuffle_seed")):
        inner = merged.get(section, {})
        if not isinstance(inner, dict):
            raise ProtocolError(f"compare.{section} must be a table, got {inner!r}", f"compare.{section}")
        first = raw.get(section, {}) if isinstance(raw.get(section, {}), dict) else {}
        merged[section] = {**inner, **({key: first[key]} if key in first else {})}
        if key not in first:
            merged[section].pop(key, None)
    return check_config(merged, "compare"), merged


def check_config(raw: dict, source: str = "playground") -> config.Config:
    """``config.from_dict`` plus the playground's limits; errors name the dotted key."""
    if raw.get("grid"):
        raise _error(source, "grid", "is for deepbasics compare; the playground trains one configuration "
                                     "(two in compare mode)")
    data = raw.get("data", {})
    if isinstance(data, dict):
        for key in FILE_KEYS:
            if key in data:
                raise _error(source, f"data.{key}", "the playground reads no files; it trains on generated "
                                                    "2-D sets (use deepbasics train for your own data)")
    try:
        cfg = config.from_dict(raw, source=source)
    except ConfigError as err:
        raise _from_config_error(err, source) from None
    _check_limits(cfg, source)
    return cfg


def _check_limits(cfg: config.Config, source: str) -> None:
    d, m = cfg.data, cfg.model
    if d.name not in datasets.GENERATED:
        raise _error(source, "data.name", f"is {d.name!r}; the playground trains on generated 2-D sets: "
                                          f"{', '.join(datasets.GENERATED)}")
    if d.name == "blobs" and d.n_features not in (None, 2):
        raise _error(source, "data.n_features", f"must be 2 in the playground (points in the plane), got {d.n_features}")
    n = d.n_samples if d.n_samples is not None else 900
    if n > LIMITS["max_points"]:
        raise _error(source, "data.n_samples", f"is {n}; the playground takes at most {LIMITS['max_points']:,} points")
    if not 1 <= len(m.hidden) <= LIMITS["max_layers"]:
        raise _error(source, "model.hidden", f"has {len(m.hidden)} hidden layers; choose 1 to {LIMITS['max_layers']}")
    if max(m.hidden) > LIMITS["max_units"]:
        raise _error(source, "model.hidden", f"has a layer of {max(m.hidden)} units; choose 1 to "
                                             f"{LIMITS['max_units']} per layer")
    if cfg.split.fractions is not None and not cfg.split.fractions[2] > 0:
        raise _error(source, "split.fractions", f"is {cfg.split.fractions}; keep a test part (the third "
                                                f"number > 0) for the test curves")


def _error(source: str, key: str, text: str) -> ProtocolError:
    prefix = "compare." if source == "compare" else ""
    return ProtocolError(f"{prefix}{key} {text}", prefix + key)


def _from_config_error(err: ConfigError, source: str) -> ProtocolError:
    """A validator's error as the page shows it: the line without its source, and the setting's
    dotted key (in compare mode, under ``compare.``) so that the page marks the field."""
    text = str(err)
    text = text[len(source) + 2:] if text.startswith(source + ": ") else text
    prefix = "compare." if source == "compare" else ""
    return ProtocolError(prefix + text, None if err.key is None else prefix + err.key)


def error(message: str, key: str | None = None) -> dict:
    return {"type": "error", "message": message, "key": key}


def error_of(err: DeepBasicsError) -> dict:
    """The ``error`` message for a library error, with the setting's key when it has one (a
    ``ConfigError``: a setting that does not fit the data, such as ``model.output``)."""
    return error(str(err), getattr(err, "key", None))


def encode(message: dict) -> str:
    """JSON text of a server message: compact, NaN/inf as null, NumPy numbers as plain ones."""
    return json.dumps(_plain(message), separators=(",", ":"), allow_nan=False)


def _plain(v):
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, np.ndarray):
        return _plain(v.tolist())
    if isinstance(v, (float, np.floating)):
        return float(v) if math.isfinite(v) else None
    if isinstance(v, np.integer):
        return int(v)
    return v


def grid_values(z: np.ndarray, digits: int = 4) -> list:
    """A grid of outputs as a flat list, rounded to ``digits`` decimals (the picture needs no more)."""
    z = np.round(np.asarray(z, dtype=np.float64).ravel(), digits)
    return [v if math.isfinite(v) else None for v in z.tolist()]
