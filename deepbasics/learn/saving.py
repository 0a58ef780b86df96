"""``load_model``: the ``Sequential`` a checkpoint holds, rebuilt through the library's own tables.

The file names classes (layers, optimizer, loss); each is looked up by name in a table of
deepbasics' own classes, never imported or evaluated from the file. ``Sequential.save`` writes
what this reads (``checkpoint.save_model``).
"""
from __future__ import annotations

import numpy as np

from ..errors import DeepBasicsError
from ..nn import losses
from ..nn.initializers import INITIALIZERS
from . import optim
from .checkpoint import layer_from_spec, load, restore
from .model import Sequential


def _class_from(saved: dict, what: str, table: dict):
    """The class a checkpoint names for ``what`` ("optimizer", "loss"), looked up by class name
    in the library's own ``table`` (never imported or evaluated from the file)."""
    by_name = {cls.__name__: cls for cls in table.values()}
    if saved.get("class") not in by_name:
        raise DeepBasicsError(f"the checkpoint's {what} {saved.get('class')!r} is not one of {', '.join(by_name)}")
    return by_name[saved["class"]]


def _optimizer_from(saved: dict | None):
    if saved is None:
        return None
    return _class_from(saved, "optimizer", optim.OPTIMIZERS)(**saved["settings"])


def _loss_from(saved: dict | None):
    if saved is None:
        return None
    cls = _class_from(saved, "loss", losses.LOSSES)
    return cls(from_logits=True) if saved.get("from_logits") else cls()


def load_model(path):
    """The ``Sequential`` saved in ``path`` (by ``model.save``, ``save_model`` or a run of
    ``train``/``compare``): same layers, weights, buffers, loss and optimizer state, so it predicts
    exactly as before and ``fit(..., initial_epoch=model.epochs_done)`` goes on training it."""
    ckpt = load(path)
    meta = ckpt.meta
    if not isinstance(meta.get("architecture"), list) or not isinstance(meta.get("input_dim"), int):
        raise DeepBasicsError(f"{path} holds weights but not the model's layers (written by an older deepbasics?); "
                              f"build the model and use checkpoint.restore instead")
    layers = [layer_from_spec(spec) for spec in meta["architecture"]]
    init = meta.get("init") if meta.get("init") in INITIALIZERS else "he_normal"
    model = Sequential(layers, input_dim=meta["input_dim"], init=init, seed=meta.get("seed"))
    optimizer = _optimizer_from(meta.get("optimizer"))
    if optimizer is not None:
        restore(model, ckpt, optimizer)
    else:
        if [[a.shape for a in p] for p in model.params] != [[a.shape for a in p] for p in ckpt.params] \
                or [len(s) for s in model.state] != [len(s) for s in ckpt.state]:
            raise DeepBasicsError(f"{path}: the stored weights do not fit the stored layers")
        model.params, model.state = list(ckpt.params), list(ckpt.state)
        model.epochs_done = ckpt.epoch
    dtype = np.dtype(meta.get("dtype", "float64"))
    model.params = [tuple(a.astype(dtype) for a in p) for p in model.params]
    model.state = [tuple(a.astype(dtype) for a in s) for s in model.state]
    model.loss = _loss_from(meta.get("loss"))
    return model
