"""The run specification: what an experiment is, every setting's default and meaning, in one place.

A ``Config`` is immutable (frozen dataclasses, tuples for lists) and is only ever made by
``config.from_dict``, the one validator, from the plain data of any front end: a TOML file,
``--set key=value``, a playground message, an estimator's parameters. Once checked, it holds the
objects the run uses, built exactly once: the optimizer (``optim.Adam(lr=...)``), the schedule
and the early-stopping rule are themselves frozen dataclasses. ``to_dict`` turns it back into
plain TOML-able data (only what differs from the defaults in the optimizer and schedule tables).

The field metadata below is the single source of the defaults, of ``deepbasics train
--defaults`` (``describe_defaults``) and of the documentation's settings page.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from ..data import datasets
from ..learn import optim, schedules
from ..learn.early_stopping import EarlyStopping
from ..nn import activations, initializers, losses

SECTIONS = ("data", "split", "model", "train", "optimizer", "schedule", "output")
OUTPUTS = ("auto", "sigmoid", "softmax", "linear")
TASKS = ("auto", "classification", "regression")
MEMORY = ("auto", "ram", "map")
TABLES = ("csv", "parquet")                   # the files a run can read in memory or from a memory map
BATCH_NORM_POSITIONS = ("before", "after")


def _opt(default, doc: str, kind: str, *, allowed=None, low=None, optional: bool = False):
    """A config field: its default, one line of meaning, and how to check it.

    kind: "int", "float", "str", "bool", "ints" (list of whole numbers), "strs" (list of
    strings), "str_or_strs", "fractions" (three numbers), "batch" (a whole number or "full"),
    "early_stopping" (a table of ``EarlyStopping``'s settings). Lists are kept as tuples.
    """
    meta = {"doc": doc, "kind": kind, "allowed": allowed, "low": low, "optional": optional}
    return field(default=tuple(default) if isinstance(default, list) else default, metadata=meta)


@dataclass(frozen=True)
class DataConfig:
    name: str = _opt("moons", "data set: moons circles spirals xor blobs digits breast_cancer iris wine "
                     "mnist1d csv parquet npz", "str", allowed=datasets.DATASETS)
    n_samples: int | None = _opt(None, "generated sets: number of examples", "int", low=1, optional=True)
    noise: float | None = _opt(None, "generated sets: standard deviation of the noise", "float", low=0, optional=True)
    seed: int | None = _opt(None, "generated sets: seed of their own RandomState/Generator", "int", low=0,
                            optional=True)
    factor: float | None = _opt(None, "circles: inner radius / outer radius, in (0, 1)", "float", low=0,
                                optional=True)
    n_classes: int | None = _opt(None, "spirals: number of arms", "int", low=2, optional=True)
    n_features: int | None = _opt(None, "blobs: dimension", "int", low=1, optional=True)
    centers: int | None = _opt(None, "blobs: number of blobs (classes)", "int", low=1, optional=True)
    cluster_std: float | None = _opt(None, "blobs: standard deviation of each blob", "float", low=0, optional=True)
    path: str | None = _opt(None, "csv/parquet/npz: the file (relative to the config file)", "str", optional=True)
    target: str | None = _opt(None, "csv/parquet: the target column's name", "str", optional=True)
    features: tuple | None = _opt(None, "csv/parquet and the bundled tables (digits, breast_cancer, iris, wine): feature "
                                  "columns (default: all but the target); generated 2-D sets: input features from x1 "
                                  "x2 x1^2 x2^2 x1*x2 sin(x1) sin(x2) (default: x1, x2)", "strs", optional=True)
    fingerprint: str | None = _opt(None, "csv/parquet/npz: the start (8 to 64 hexadecimal digits) of the file's SHA-256; "
                                   "the run refuses a file whose content differs", "str", optional=True)
    plane: tuple | None = _opt(None, "two feature names: the plane the playground's boundary view spans (the other "
                               "features held at their mean); training ignores it", "strs", optional=True)
    delimiter: str = _opt(",", "csv: field separator", "str")
    x: str = _opt("X", "npz: the features array's name", "str")
    y: str = _opt("y", "npz: the target array's name", "str")
    task: str = _opt("auto", "csv/parquet/npz: auto, classification or regression", "str", allowed=TASKS)
    memory: str = _opt("auto", "csv/parquet: ram (read into memory), map (converted once into a memory-mapped "
                       "cache in $DEEPBASICS_CACHE, batches read from it) or auto (map when the table would not "
                       "fit comfortably in memory)", "str", allowed=MEMORY)
    standardize: bool = _opt(True, "rescale features to mean 0, std 1 (fitted on the training split)", "bool")

    def options(self) -> dict:
        """The keyword options ``datasets.load`` takes for this data set."""
        if self.name in datasets.GENERATED:
            return {k: getattr(self, k) for k in datasets.GENERATED[self.name][1] if getattr(self, k) is not None}
        if self.name in TABLES:
            out = {"path": self.path, "target": self.target, "task": self.task}
            if self.name == "csv":
                out["delimiter"] = self.delimiter
            if self.features is not None:
                out["features"] = list(self.features)
            return out
        if self.name == "npz":
            return {"path": self.path, "x": self.x, "y": self.y, "task": self.task}
        return {}


@dataclass(frozen=True)
class SplitConfig:
    fractions: tuple | None = _opt(None, "[train, validation, test]; default: 70/15/15 under 10,000 examples, "
                                   "else 98/1/1", "fractions", optional=True)
    seed: int = _opt(0, "seed of the shuffle before splitting", "int", low=0)
    stratify: bool = _opt(True, "same class proportions in every part (classification only)", "bool")
    shuffle: bool = _opt(True, "shuffle before splitting (false: the file's last rows are the test set)", "bool")


@dataclass(frozen=True)
class ModelConfig:
    hidden: tuple = _opt([5, 2], "widths of the hidden Dense layers, input to output", "ints", low=1)
    activation: object = _opt("relu", "hidden activation: one name or one per hidden layer", "str_or_strs",
                              allowed=tuple(activations.ACTIVATIONS))
    output: str = _opt("auto", "output activation; auto: sigmoid (2 classes), softmax (more), linear "
                       "(regression)", "str", allowed=OUTPUTS)
    init: str = _opt("he_normal", "weight initialiser", "str", allowed=tuple(initializers.INITIALIZERS))
    seed: int = _opt(0, "seed of the initial weights (RandomState, layer by layer)", "int", low=0)
    batch_norm: bool = _opt(False, "BatchNorm in every hidden layer (before its activation unless "
                            "batch_norm_position = \"after\")", "bool")
    batch_norm_position: str | None = _opt(None, "where BatchNorm goes: \"before\" the activation (default) or "
                                           "\"after\" it", "str", allowed=BATCH_NORM_POSITIONS, optional=True)
    dropout: float = _opt(0.0, "dropout rate after every hidden activation, in [0, 1)", "float", low=0)
    l2: float = _opt(0.0, "L2 penalty (l2 / 2) sum W^2 on every Dense layer's weights", "float", low=0)
    l1: float = _opt(0.0, "L1 penalty l1 sum |W| on every Dense layer's weights", "float", low=0)

    def activations(self) -> tuple:
        """One activation name per hidden layer."""
        return tuple(self.activation) if isinstance(self.activation, tuple) else (self.activation,) * len(self.hidden)


@dataclass(frozen=True)
class TrainConfig:
    loss: str = _opt("auto", "auto: binary/categorical cross-entropy or mse by task", "str",
                     allowed=("auto",) + tuple(losses.LOSSES))
    epochs: int = _opt(1000, "passes over the training split", "int", low=1)
    batch_size: object = _opt(64, "examples per update; \"full\" for batch gradient descent", "batch", low=1)
    shuffle: bool = _opt(True, "reshuffle the training split every epoch", "bool")
    shuffle_seed: int = _opt(0, "epoch e is ordered by RandomState(shuffle_seed + e + 1); the document's is 10",
                             "int", low=0)
    noise_seed: int | None = _opt(None, "seed of dropout/RReLU draws (default: model.seed)", "int", low=0,
                                  optional=True)
    validation_freq: int = _opt(1, "validate every N epochs", "int", low=1)
    engine: str = _opt("auto", "auto (jax when the run repays compiling it, else numpy), numpy or jax", "str",
                       allowed=("auto", "numpy", "jax"))
    dtype: str = _opt("float64", "float64 (the document's numbers) or float32", "str",
                      allowed=("float64", "float32"))
    clip_norm: float | None = _opt(None, "rescale each batch's gradient to L2 norm <= clip_norm", "float", low=0,
                                   optional=True)
    clip_value: float | None = _opt(None, "clamp each gradient entry to [-clip_value, clip_value]", "float",
                                    low=0, optional=True)
    diagnostics_every: int = _opt(0, "record per-layer gradient norms every N epochs (0: never); "
                                  "drawn as the gradient-flow plot", "int", low=0)
    drop_last: bool = _opt(False, "leave out each epoch's last, partial mini-batch", "bool")
    early_stopping: EarlyStopping | None = _opt(None, "stop when a metric stops improving: {monitor = \"val_loss\", "
                                                "patience = 10, min_delta = 0.0, restore_best_weights = false}",
                                                "early_stopping", optional=True)

    @property
    def batch(self) -> int | None:
        """The batch size ``fit`` takes: None for batch gradient descent ("full")."""
        return None if self.batch_size == "full" else self.batch_size


@dataclass(frozen=True)
class OutputConfig:
    dir: str | None = _opt(None, "report folder (default: reports/<name>)", "str", optional=True)
    log_scale: bool = _opt(False, "cost curves on a log scale", "bool")


def table_name(obj, table: dict) -> str:
    """The name an optimizer or schedule object has in its table (the first, for aliases)."""
    return next(name for name, cls in table.items() if cls is type(obj))


@dataclass(frozen=True)
class Config:
    """A whole experiment, checked. ``optimizer`` and ``schedule`` are the objects the run uses
    (their settings depend on their class: see ``optim.OPTIMIZERS`` and ``schedules.SCHEDULES``);
    ``grid`` pairs dotted keys with the raw values ``config.expand`` turns into runs."""
    name: str = "experiment"
    description: str = ""
    data: DataConfig = field(default_factory=DataConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    optimizer: optim.Optimizer = field(default_factory=optim.Adam)
    schedule: schedules.Schedule = field(default_factory=schedules.Constant)
    output: OutputConfig = field(default_factory=OutputConfig)
    grid: tuple = ()             # ((dotted key, (value, ...)), ...): raw TOML values
    base_dir: str = "."          # folder of the config file: data paths are relative to it

    @property
    def optimizer_name(self) -> str:
        return table_name(self.optimizer, optim.OPTIMIZERS)

    def to_dict(self) -> dict:
        """The config as plain TOML-able data (no base_dir; empty grid left out)."""
        d = {"name": self.name, "description": self.description}
        for section in ("data", "split", "model", "train", "output"):
            d[section] = {f.name: _plain(getattr(getattr(self, section), f.name))
                          for f in dataclasses.fields(getattr(self, section))}
        # Only the data settings that apply to this data set (no CSV options for moons).
        keep = {"name", "standardize", *self.data.options(), *(["features"] if self.data.features else []),
                *(["memory"] if self.data.name in TABLES else []),
                *(key for key in ("fingerprint", "plane") if getattr(self.data, key) is not None)}
        d["data"] = {k: v for k, v in d["data"].items() if k in keep}
        d["optimizer"] = _table(self.optimizer, optim.OPTIMIZERS)
        d["schedule"] = _table(self.schedule, schedules.SCHEDULES)
        if self.grid:
            d["grid"] = {key: _plain(values) for key, values in self.grid}
        return _drop_none(d)

    def report_dir(self) -> Path:
        return Path(self.output.dir) if self.output.dir else Path("reports") / _slug(self.name)


def _table(obj, table: dict) -> dict:
    """{"name": ..., settings that differ from the class's defaults}: an [optimizer]/[schedule] table."""
    return {"name": table_name(obj, table), **_settings(obj)}


def _settings(obj, always=()) -> dict:
    """A frozen dataclass's settings that differ from their defaults (and those in ``always``)."""
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)
            if f.name in always or f.default is dataclasses.MISSING or getattr(obj, f.name) != f.default}


def _plain(value):
    """Tuples as lists and an EarlyStopping as its table: what TOML and JSON hold."""
    if isinstance(value, EarlyStopping):
        return _settings(value, always=("monitor",))
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _drop_none(d):
    if isinstance(d, dict):
        return {k: _drop_none(v) for k, v in d.items() if v is not None}
    return d


def _slug(text: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_." else "-" for c in text.strip())
    return keep.strip("-.") or "experiment"


def describe_defaults(to_toml) -> str:
    """Every setting with its default and meaning, as commented TOML, written with ``to_toml``."""
    out = []
    for name, cls in (("data", DataConfig), ("split", SplitConfig), ("model", ModelConfig),
                      ("train", TrainConfig), ("output", OutputConfig)):
        out.append(f"[{name}]")
        for f in dataclasses.fields(cls):
            shown = "(none)" if f.default is None else to_toml({"v": _plain(f.default)})[4:].strip()
            out.append(f"# {f.name} = {shown}".ljust(34) + f"  # {f.metadata['doc']}")
        out.append("")
    out.append("[optimizer]  # name = " + " | ".join(optim.OPTIMIZERS) + "; then lr, beta, beta1, beta2, eps, form")
    out.append("[schedule]   # name = " + " | ".join(schedules.SCHEDULES) + "; then decay_rate, interval, ...")
    return "\n".join(out) + "\n"
