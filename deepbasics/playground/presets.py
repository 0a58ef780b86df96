"""The chapter's experiments as one-click configurations, and the option lists the page builds
its controls from (``GET /api/options`` and the ``hello`` message).

The chapter's runs (``configs/moons_optimizers.toml``, ``chapter.toml``, ``moons_decay.toml``):
make_moons(900, noise 0.2, seed 3) in raw coordinates, the 2-5-2-1 network (ReLU, ReLU,
sigmoid), He initialisation from seed 3, mini-batches of 64 reshuffled from seed 10, and

    gradient descent   lr 1e-4        momentum   lr 1e-3, beta 0.9        Adam   lr 1e-4
    update_lr          GD lr 0.5, lr0 / (1 + epoch)                      (inverse time)
    schedule_lr_decay  GD lr 0.01, lr0 / (1 + floor(epoch / 1000))      (with an interval)

Unlike the chapter, which trains on all 900 points, a preset keeps 30% as a test split so the
page can show generalisation.
"""
from __future__ import annotations

import copy
import dataclasses

from ..version import __version__
from ..nn import activations, initializers
from ..runs import config
from ..data import datasets
from ..learn import optim, schedules
from .protocol import LIMITS

SPLIT = {"fractions": [0.7, 0.0, 0.3], "seed": 0}


def _chapter(optimizer: dict, schedule: dict | None = None) -> dict:
    """The chapter's moons run with ``optimizer`` (and ``schedule``) as a raw config."""
    return {"name": "playground",
            "data": {"name": "moons", "n_samples": 900, "noise": 0.2, "seed": 3, "features": ["x1", "x2"],
                     "standardize": False},
            "split": dict(SPLIT),
            "model": {"hidden": [5, 2], "activation": "relu", "init": "he_normal", "seed": 3, "batch_norm": False,
                      "batch_norm_position": "before", "dropout": 0.0, "l1": 0.0, "l2": 0.0},
            "train": {"batch_size": 64, "shuffle_seed": 10, "engine": "numpy", "epochs": 10000},
            "optimizer": dict(optimizer),
            "schedule": dict(schedule or {"name": "constant"})}


def _deep(init: str, activation: str, batch_norm: bool, optimizer=None) -> dict:
    """Depth 20, width 64 on standardised moons, Adam 1e-3 unless ``optimizer`` says otherwise
    (the vanishing-gradient recipe)."""
    raw = _chapter(optimizer or {"name": "adam", "lr": 0.001})
    raw["data"]["standardize"] = True
    raw["model"].update(hidden=[64] * 20, activation=activation, init=init, batch_norm=batch_norm)
    return raw


GD = {"name": "gd", "lr": 0.0001}
MOMENTUM = {"name": "momentum", "lr": 0.001, "beta": 0.9}
ADAM = {"name": "adam", "lr": 0.0001}
DEEP_GD = {"name": "gd", "lr": 0.1}


def presets() -> list[dict]:
    """[{id, title, config, compare}]: each a raw config (and a second one in compare mode)."""
    items = [
        ("chapter-gd", "Chapter: gradient descent on moons (lr 1e-4)", _chapter(GD), None),
        ("chapter-momentum", "Chapter: momentum on moons (lr 1e-3, beta 0.9)", _chapter(MOMENTUM), None),
        ("chapter-adam", "Chapter: Adam on moons (lr 1e-4)", _chapter(ADAM), None),
        ("chapter-update-lr", "Chapter: inverse-time decay, lr 0.5 / (1 + epoch)",
         _chapter({"name": "gd", "lr": 0.5}, {"name": "inverse_time", "decay_rate": 1.0}), None),
        ("chapter-schedule-lr-decay", "Chapter: decay every 1000 epochs, lr 0.01 / (1 + floor(epoch / 1000))",
         _chapter({"name": "gd", "lr": 0.01}, {"name": "inverse_time", "decay_rate": 1.0, "interval": 1000}), None),
        ("compare-gd-adam", "Compare: gradient descent vs Adam (the chapter's rates)", _chapter(GD), _chapter(ADAM)),
        ("compare-deep", "Compare, depth 20: N(0,1) + sigmoid vs He + ReLU + BatchNorm",
         _deep("standard_normal", "sigmoid", False), _deep("he_normal", "relu", True)),
        # With plain gradient descent nothing rescales a small gradient: sigmoid's slope (at most
        # 1/4) per layer leaves the first layer's gradient ~1e-13 of the last one's, and it stays put.
        ("compare-deep-gd", "Compare, depth 20, gradient descent: sigmoid (Glorot) vs He + ReLU + BatchNorm",
         _deep("glorot_normal", "sigmoid", False, DEEP_GD), _deep("he_normal", "relu", True, DEEP_GD)),
    ]
    return [{"id": i, "title": t, "config": c, "compare": b} for i, t, c, b in items]


DEFAULT = "chapter-adam"


def _unique_names(table: dict, drop=()) -> list[str]:
    """A table's names, one per object (its aliases left out), in the table's order."""
    seen, out = set(), []
    for name, obj in table.items():
        if id(obj) not in seen and name not in drop:
            seen.add(id(obj))
            out.append(name)
    return out


def _settings(table: dict) -> dict:
    """{name: {setting: default}} of the optimizer or schedule classes (aliases left out)."""
    out = {}
    for name in _unique_names(table):
        out[name] = {f.name: f.default for f in dataclasses.fields(table[name])
                     if f.default is not dataclasses.MISSING}
    return out


def _field(cls, name: str) -> dataclasses.Field:
    return next(f for f in dataclasses.fields(cls) if f.name == name)


def options() -> dict:
    """The document ``GET /api/options`` answers (see PROTOCOL.md)."""
    opts = _settings(optim.OPTIMIZERS)
    opts["momentum"]["form"] = list(optim.MOMENTUM_FORMS)
    batch = [1] + [2 ** k for k in range(1, 10)] + ["full"]
    chosen = next(p for p in presets() if p["id"] == DEFAULT)
    return {"version": __version__,
            "limits": dict(LIMITS),
            "datasets": list(datasets.GENERATED),
            "regression": list(datasets.REGRESSION),
            "tables": list(datasets.BUNDLED),
            "files": ["csv", "parquet"],
            "features": list(datasets.PLANE_FEATURES),
            "activations": _unique_names(activations.ACTIVATIONS, drop=("softmax",)),
            "initializers": _unique_names(initializers.INITIALIZERS),
            "optimizers": opts,
            "schedules": _settings(schedules.SCHEDULES),
            "batch_sizes": batch,
            "engines": list(_field(config.TrainConfig, "engine").metadata["allowed"]),
            "presets": presets(),
            "default": {"config": copy.deepcopy(chosen["config"]), "compare": None}}
