"""The page's messages checked, and the server's messages encoded (the contract: PROTOCOL.md).

    parse(text, uploads)    -> a checked command dict, or raises ProtocolError (message, key)
    check_config(raw, ...)  -> config.Config: ``config.from_dict`` (the one validator), then the
                               playground's own limits (generated sets of <= 10,000 points, the
                               bundled tables, or a file this session uploaded; 1..50 hidden
                               layers of 1..128 units; a test split)
    encode(message)         -> compact JSON text; NaN and infinities become null

Nothing here trains or touches a file: a message is only ever data. A configuration that names a
file (data.name "csv" or "parquet") names it by its bare name and data.fingerprint, and is
accepted only when the session uploaded that very file (``uploads.folder``); the validator then
reads it from the session's folder.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from ..data import datasets
from ..errors import ConfigError, DeepBasicsError
from ..runs import config

MAX_MESSAGE = 64 * 1024          # bytes of one message from the page
MAX_EPOCHS_PER_SECOND = 1e6
LIMITS = {"max_points": 10_000, "max_layers": 50, "max_units": 128, "max_sessions": 4,
          "max_rows": 100_000, "max_upload_mb": 20,
          "draw_network_max_layers": 6, "draw_network_max_units": 8, "draw_network_max_inputs": 8}
COMMANDS = ("configure", "play", "pause", "step", "reset", "speed", "export")
FILE_KEYS = ("path", "target", "delimiter", "x", "y", "task", "fingerprint")   # [data] settings of files
TABLE_FILES = ("csv", "parquet")          # the files a session may upload and train on


class ProtocolError(DeepBasicsError):
    """A message the server refuses: ``str(err)`` is the line the page shows; ``key`` the dotted
    setting it concerns (None when it concerns the message as a whole)."""

    def __init__(self, message: str, key: str | None = None):
        super().__init__(message)
        self.key = key


def parse(text, uploads=None) -> dict:
    """A message from the page as a checked dict: {"type": ..., plus that type's fields}.
    ``uploads``: the session's files (``uploads.Uploads``; None: no file is accepted).

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
        return _configure(msg, uploads)
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


def _configure(msg: dict, uploads=None) -> dict:
    raw = msg.get("config")
    if not isinstance(raw, dict):
        raise ProtocolError('"configure" needs "config": a configuration object (see /api/options "default")',
                            "config")
    raw_b = msg.get("compare")
    if raw_b is not None and not isinstance(raw_b, dict):
        raise ProtocolError('"compare" must be a configuration object or null', "compare")
    cfg = check_config(raw, uploads=uploads)
    cfg_b = None if raw_b is None else compare_config(raw, raw_b, uploads)[0]
    return {"type": "configure", "config": cfg, "compare": cfg_b}


SEEDS = (("model", "seed"), ("train", "shuffle_seed"))      # run B's seeds default to run A's


def compare_config(raw: dict, raw_b: dict, uploads=None):
    """The second configuration of compare mode: its own network and training, on the first one's
    data and split; its weight seed and shuffles are its own when it sets them, else the first
    one's. Returns (Config, raw)."""
    merged = {k: v for k, v in raw_b.items()}
    merged["data"], merged["split"] = raw.get("data", {}), raw.get("split", {})
    for section, key in SEEDS:
        inner = merged.get(section, {})
        if not isinstance(inner, dict):
            raise ProtocolError(f"compare.{section} must be a table, got {inner!r}", f"compare.{section}")
        first = raw.get(section, {}) if isinstance(raw.get(section, {}), dict) else {}
        merged[section] = {**({key: first[key]} if key in first else {}), **inner}
    return check_config(merged, "compare", uploads), merged


def check_config(raw: dict, source: str = "playground", uploads=None) -> config.Config:
    """``config.from_dict`` plus the playground's limits; errors name the dotted key. A file is
    read from the folder ``uploads`` keeps it in, and only from there."""
    if raw.get("grid"):
        raise _error(source, "grid", "is for deepbasics compare; the playground trains one configuration "
                                     "(two in compare mode)")
    base_dir = _file_folder(raw.get("data", {}), source, uploads)
    try:
        cfg = config.from_dict(raw, source=source, base_dir=base_dir)
    except ConfigError as err:
        raise _from_config_error(err, source) from None
    _check_limits(cfg, source)
    return cfg


def _file_folder(data, source: str, uploads) -> str:
    """The folder a configuration's file lies in: the session's upload of that name and
    fingerprint (a file setting on any other data set is refused); "." when it names no file."""
    if not isinstance(data, dict):
        return "."
    if data.get("name") not in TABLE_FILES:
        for key in FILE_KEYS:
            if key in data:
                raise _error(source, f"data.{key}", "applies to an uploaded file (data set csv or parquet); the "
                                                    "playground reads no other files")
        return "."
    path, fingerprint = data.get("path"), data.get("fingerprint")
    if not isinstance(path, str) or not path or Path(path).name != path or "\\" in path or path in (".", ".."):
        raise _error(source, "data.path", "must be the bare name (no folder) of a file uploaded to this session")
    if not isinstance(fingerprint, str):
        raise _error(source, "data.fingerprint", f"is needed with an uploaded file (the start of its SHA-256, "
                                                 f"which the page sets), got {fingerprint!r}")
    folder = uploads.folder(path, fingerprint) if uploads is not None else None
    if folder is None:
        raise _error(source, "data.path", f"names {path} (fingerprint {fingerprint[:16]}), which this session does "
                                          f"not hold: drop that file on the page (the playground reads only the "
                                          f"files uploaded to it)")
    if data.get("memory", "auto") == "map":
        raise _error(source, "data.memory", "the playground reads an uploaded file into memory (ram or auto)")
    return folder


PLAYGROUND_DATA = (*datasets.GENERATED, *datasets.BUNDLED, *TABLE_FILES)


def _check_limits(cfg: config.Config, source: str) -> None:
    d, m = cfg.data, cfg.model
    if d.name not in PLAYGROUND_DATA:
        raise _error(source, "data.name", f"is {d.name!r}; the playground trains on generated 2-D sets "
                                          f"({', '.join(datasets.GENERATED)}), the tables "
                                          f"{', '.join(datasets.BUNDLED)}, or an uploaded CSV or Parquet file")
    if d.name == "blobs" and d.n_features not in (None, 2):
        raise _error(source, "data.n_features", f"must be 2 in the playground (points in the plane), got {d.n_features}")
    n = d.n_samples if d.n_samples is not None else 900
    if d.name in datasets.GENERATED and n > LIMITS["max_points"]:
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
        if v.dtype.kind in "iub" or (v.dtype.kind == "f" and np.isfinite(v).all()):
            return v.tolist()                  # plain numbers already: no walk through them
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
