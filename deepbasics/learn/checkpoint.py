"""Checkpoints: everything needed to continue a run exactly where it stopped, in a file that
cannot execute code.

One ``.npz`` file (a zip of ``.npy`` arrays, read with ``allow_pickle=False``), holding:

    meta               JSON text as uint8 bytes: format and version, epochs done, the run's seeds
                       (weights, shuffle, noise), the optimizer and its settings, the schedule and
                       the position in it, the history so far, the config, the data's fingerprint
                       and the standardisation (mean, scale) fitted on the training split
    param/<i>/<j>      layer i's j-th trainable array (Dense: W (n_out, n_in), b (n_out,))
    state/<i>/<j>      layer i's j-th buffer (BatchNorm running mean and variance)
    opt/<field>        the optimizer state's arrays (Adam: m, v); its step count is in meta

Why this is enough for a bit-identical resume: epoch e's shuffle depends only on
(shuffle_seed, e), stochastic layers draw from (noise_seed, update number) (deepbasics.rand), the rate of every update is
the schedule's function of (epoch, step), and the parameters and optimizer moments are stored
as the exact float64 bits. The file is written to a temporary name and renamed, so a crash
never leaves half a checkpoint; a truncated or corrupted file fails its zip CRC check and
gives a one-line error.
"""
from __future__ import annotations

import io
import json
import math
import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..version import __version__
from ..errors import DeepBasicsError
from ..fileio import atomic_write_bytes

FORMAT = "deepbasics-checkpoint"
VERSION = 1


class Checkpoint(NamedTuple):
    """A loaded checkpoint: ``meta`` (dict), per-layer ``params`` and ``state`` (lists of tuples
    of arrays) and ``opt_arrays`` ({field: array}) of the optimizer state."""
    meta: dict
    params: list
    state: list
    opt_arrays: dict

    @property
    def epoch(self) -> int:
        """Epochs finished: a resumed fit starts at this epoch."""
        return int(self.meta["epoch"])


def _json_safe(value):
    """NaN and infinities as null (strict JSON has no NaN); arrays and NumPy scalars as lists/floats."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return _json_safe(value.tolist())
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def save(path, *, params, state, opt_state, epoch: int, meta: dict | None = None) -> Path:
    """Write a checkpoint atomically.

    params, state  per-layer tuples of arrays (``model.params``, ``model.state``)
    opt_state      the optimizer's NamedTuple state (``step`` plus arrays), or None
    epoch          epochs finished
    meta           anything else JSON can hold (seeds, optimizer, history, config, ...)
    """
    arrays = {}
    for i, layer in enumerate(params):
        for j, a in enumerate(layer):
            arrays[f"param/{i}/{j}"] = np.asarray(a, dtype=np.float64)
    for i, layer in enumerate(state):
        for j, a in enumerate(layer):
            arrays[f"state/{i}/{j}"] = np.asarray(a, dtype=np.float64)
    opt = None
    if opt_state is not None:
        opt = {"type": type(opt_state).__name__, "fields": list(opt_state._fields), "step": None}
        for name, value in zip(opt_state._fields, opt_state):
            if name == "step":
                opt["step"] = int(np.asarray(value))
            else:
                arrays[f"opt/{name}"] = np.asarray(value, dtype=np.float64)
    info = {"format": FORMAT, "version": VERSION, "deepbasics": __version__, "epoch": int(epoch),
            "layers": [len(p) for p in params], "buffers": [len(s) for s in state], "opt_state": opt,
            **_json_safe(meta or {})}
    arrays["meta"] = np.frombuffer(json.dumps(info, allow_nan=False).encode("utf-8"), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return atomic_write_bytes(path, buffer.getvalue())


def load(path) -> Checkpoint:
    """Read a checkpoint (never unpickling); a missing, truncated or corrupted file is a one-line error."""
    path = Path(path)
    if not path.is_file():
        raise DeepBasicsError(f"checkpoint {str(path)!r} does not exist")
    if not zipfile.is_zipfile(path):
        raise DeepBasicsError(f"{path} is not a readable checkpoint (corrupted or truncated?): not a zip archive")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}     # reading every member checks its CRC
    except ValueError as exc:
        if "pickle" in str(exc):
            raise DeepBasicsError(f"{path} holds pickled objects; a deepbasics checkpoint never does") from None
        raise DeepBasicsError(f"{path} is not a readable checkpoint (corrupted or truncated?): {exc}") from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise DeepBasicsError(f"{path} is not a readable checkpoint (corrupted or truncated?): {exc}") from None
    if "meta" not in arrays or arrays["meta"].dtype != np.uint8:
        raise DeepBasicsError(f"{path} is an .npz file but not a deepbasics checkpoint (no metadata)")
    try:
        meta = json.loads(arrays.pop("meta").tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DeepBasicsError(f"{path}: the checkpoint's metadata is damaged: {exc}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise DeepBasicsError(f"{path} is an .npz file but not a deepbasics checkpoint")
    if meta.get("version") != VERSION:
        raise DeepBasicsError(f"{path} is a version {meta.get('version')} checkpoint; this deepbasics reads "
                              f"version {VERSION}")
    try:
        params = [tuple(arrays.pop(f"param/{i}/{j}") for j in range(n)) for i, n in enumerate(meta["layers"])]
        state = [tuple(arrays.pop(f"state/{i}/{j}") for j in range(n)) for i, n in enumerate(meta["buffers"])]
        opt = meta.get("opt_state")
        opt_arrays = {} if opt is None else {f: arrays.pop(f"opt/{f}") for f in opt["fields"] if f != "step"}
    except (KeyError, TypeError) as exc:
        raise DeepBasicsError(f"{path}: the checkpoint is incomplete (missing {exc})") from None
    for group in (params, state):
        for layer in group:
            for a in layer:
                if a.dtype != np.float64 or not np.all(np.isfinite(a)):
                    raise DeepBasicsError(f"{path}: the checkpoint holds non-finite or non-float64 weights")
    return Checkpoint(meta, params, state, opt_arrays)


def save_model(path, model, *, history=None, meta: dict | None = None) -> Path:
    """Checkpoint a ``Sequential``: its layers (``architecture``: each layer's class and
    constructor settings), weights, buffers, loss, optimizer state and epoch, so that
    ``load_model`` rebuilds it. ``model.save(path)`` calls this."""
    model._require_built()
    info = {**model_meta(model, model.loss),
            "optimizer": describe_optimizer(model.optimizer) if model.optimizer is not None else None}
    if history is not None:
        info["history"] = history.to_dict() if hasattr(history, "to_dict") else history
    info.update(meta or {})
    return save(path, params=model.params, state=model.state, opt_state=model.opt_state,
                epoch=model.epochs_done, meta=info)


def model_meta(model, loss) -> dict:
    """What ``load_model`` needs besides the arrays: the layers, the input width, seed, init,
    the loss and the weights' dtype."""
    first = next((a for p in model.params for a in p), None)
    return {"seed": model.seed, "init": model.init, "input_dim": model.input_dim,
            "layers_repr": [repr(layer) for layer in model.layers], "architecture": architecture(model.layers),
            "loss": None if loss is None else {"class": type(loss).__name__,
                                               "from_logits": bool(getattr(loss, "from_logits", False))},
            "dtype": "float64" if first is None else str(np.asarray(first).dtype)}


def describe_optimizer(optimizer) -> dict:
    """{"class": "Adam", "settings": {"lr": ..., "beta1": ...}} for a dataclass optimizer."""
    import dataclasses
    return {"class": type(optimizer).__name__,
            "settings": {f.name: getattr(optimizer, f.name) for f in dataclasses.fields(optimizer)}}


def restore(model, ckpt: Checkpoint, optimizer) -> None:
    """Put a checkpoint's weights, buffers and optimizer state into ``model`` (built with the same
    layers), so that ``model.fit(..., optimizer=optimizer, initial_epoch=ckpt.epoch)`` continues it.

    ``optimizer`` must equal the one the checkpoint was trained with (class and settings).
    """
    model._require_built()
    shapes = [[a.shape for a in p] for p in model.params]
    stored = [[a.shape for a in p] for p in ckpt.params]
    if shapes != stored:
        raise DeepBasicsError(f"the checkpoint's weights have shapes {stored}, the model's are {shapes}")
    if [len(s) for s in model.state] != [len(s) for s in ckpt.state]:
        raise DeepBasicsError("the checkpoint's layer buffers do not fit this model (different layers?)")
    saved = ckpt.meta.get("optimizer")
    if saved is not None and saved != _json_safe(describe_optimizer(optimizer)):
        raise DeepBasicsError(f"the checkpoint was trained with {saved['class']} {saved['settings']}; "
                              f"resume it with the same optimizer settings")
    theta = np.concatenate([a.reshape(-1) for p in ckpt.params for a in p]) if ckpt.params else np.zeros(0)
    template = optimizer.init(theta, np)
    opt = ckpt.meta.get("opt_state")
    if opt is None:
        opt_state = None
    else:
        if opt["type"] != type(template).__name__ or list(opt["fields"]) != list(template._fields):
            raise DeepBasicsError(f"the checkpoint's optimizer state is a {opt['type']}, "
                                  f"not the {type(template).__name__} this optimizer uses")
        values = {"step": int(opt["step"]), **{k: v.copy() for k, v in ckpt.opt_arrays.items()}}
        for k, v in values.items():
            want = getattr(template, k)
            if k != "step" and np.shape(v) != np.shape(want):
                raise DeepBasicsError(f"the checkpoint's optimizer array {k!r} has shape {np.shape(v)}, "
                                      f"expected {np.shape(want)}")
        opt_state = type(template)(**values)
    model.params = [tuple(a.copy() for a in p) for p in ckpt.params]
    model.state = [tuple(a.copy() for a in s) for s in ckpt.state]
    model.opt_state = opt_state
    model.optimizer = optimizer
    model.epochs_done = ckpt.epoch


# -- whole models ----------------------------------------------------------------------------------
def _layer_classes() -> dict:
    """The table of layer classes a saved architecture may name (no other class is ever built)."""
    from ..nn import activations
    from ..nn.batchnorm import BatchNorm
    from ..nn.dense import Dense
    from ..nn.dropout import Dropout
    classes = {BatchNorm, Dense, Dropout, *activations.ACTIVATIONS.values()}
    return {cls.__name__: cls for cls in classes}


def _init_name(init) -> str | None:
    """A Dense layer's own initialiser by name (None: the model's; a custom function: None too,
    since the saved weights are what it drew)."""
    from ..nn.initializers import INITIALIZERS
    return next((name for name, fn in INITIALIZERS.items() if fn is init), None)


def layer_spec(layer) -> dict:
    """{"class": "Dense", "settings": {"units": 5, "init": "he_normal", "l2": 0.01, ...}}: the
    constructor's arguments, read back from the attributes of the same name."""
    import inspect
    name = type(layer).__name__
    if _layer_classes().get(name) is not type(layer):
        raise DeepBasicsError(f"cannot save a {name} layer: only deepbasics' own layers are saved by name "
                              f"({', '.join(sorted(_layer_classes()))})")
    settings = {}
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    args = [p.name for p in inspect.signature(type(layer).__init__).parameters.values() if p.kind in kinds]
    for arg in args[1:]:                                   # args[0] is self
        value = getattr(layer, arg)
        settings[arg] = _init_name(value) if arg == "init" and callable(value) else value
    return {"class": name, "settings": _json_safe(settings)}


def layer_from_spec(spec: dict):
    """The layer a ``layer_spec`` describes, built through the table of layer classes."""
    table = _layer_classes()
    if not isinstance(spec, dict) or spec.get("class") not in table or not isinstance(spec.get("settings"), dict):
        raise DeepBasicsError(f"the checkpoint names an unknown layer {spec!r}; known: {', '.join(sorted(table))}")
    try:
        return table[spec["class"]](**spec["settings"])
    except TypeError as exc:
        raise DeepBasicsError(f"the checkpoint's {spec['class']} settings do not fit this deepbasics: {exc}") from None


def architecture(layers) -> list[dict]:
    return [layer_spec(layer) for layer in layers]
