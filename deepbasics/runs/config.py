"""Experiment configs: TOML files read into dataclasses, every value checked before any training.

A config has seven sections; every key has a default (below, with what it means), so a config
only states what differs. The shipped examples live in ``deepbasics/configs/``::

    name = "moons-adam"

    [data]       what to learn from (datasets.DATASETS) and whether to standardise it
    [split]      train / validation / test fractions (default: the document's convention)
    [model]      hidden widths, activations, batch norm, initialiser, weight seed
    [train]      loss, epochs, batch size, shuffling seed, engine
    [optimizer]  name and hyperparameters (lr, beta, beta1, beta2, eps, form)
    [schedule]   learning-rate schedule and its settings (decay_rate, interval, ...)
    [output]     where the report goes; log-scale cost plots
    [grid]       optional: lists of values to compare; the runs are their product

``[grid]`` keys are dotted config keys ("model.init", "optimizer.lr") or a whole section
("optimizer"): a table value replaces the [optimizer] or [schedule] section (a string is short
for ``{name = "..."}``) and is merged into any other section. Example::

    [grid]
    optimizer = [{name = "gd", lr = 1e-4}, {name = "adam", lr = 1e-4}]
    "model.init" = ["he_normal", "glorot_normal"]

Errors name the key, the bad value and what is allowed, e.g.
``config.toml: optimizer.beta1 must satisfy 0 <= beta1 < 1, got 1.5``.
"""
from __future__ import annotations

import copy
import dataclasses
import itertools
import math
import numbers
import sys
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from ..nn import activations, initializers, losses
from ..data import datasets
from ..learn import optim, schedules
from ..errors import DeepBasicsError

if sys.version_info >= (3, 11):
    import tomllib
else:                                    # Python 3.10: the same parser, as a backport
    import tomli as tomllib

SECTIONS = ("data", "split", "model", "train", "optimizer", "schedule", "output")
REPLACED_IN_GRID = ("optimizer", "schedule")   # a grid table value replaces these sections whole
OUTPUTS = ("auto", "sigmoid", "softmax", "linear")
TASKS = ("auto", "classification", "regression")
BATCH_NORM_POSITIONS = ("before", "after")


def _opt(default, doc: str, kind: str, *, allowed=None, low=None, optional: bool = False):
    """A config field: its default, one line of meaning, and how to check it.

    kind: "int", "float", "str", "bool", "ints" (list of whole numbers), "strs" (list of
    strings), "str_or_strs", "fractions" (three numbers), "batch" (a whole number or "full").
    """
    factory = (lambda: list(default)) if isinstance(default, list) else None
    meta = {"doc": doc, "kind": kind, "allowed": allowed, "low": low, "optional": optional}
    if factory:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class DataConfig:
    name: str = _opt("moons", "data set: moons circles spirals xor blobs digits breast_cancer iris wine csv npz",
                     "str", allowed=datasets.DATASETS)
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
    path: str | None = _opt(None, "csv/npz: the file (relative to the config file)", "str", optional=True)
    target: str | None = _opt(None, "csv: the target column's name", "str", optional=True)
    features: list | None = _opt(None, "csv: feature columns (default: all but the target); generated 2-D sets: "
                                 "input features from x1 x2 x1^2 x2^2 x1*x2 sin(x1) sin(x2) (default: x1, x2)",
                                 "strs", optional=True)
    delimiter: str = _opt(",", "csv: field separator", "str")
    x: str = _opt("X", "npz: the features array's name", "str")
    y: str = _opt("y", "npz: the target array's name", "str")
    task: str = _opt("auto", "csv/npz: auto, classification or regression", "str", allowed=TASKS)
    standardize: bool = _opt(True, "rescale features to mean 0, std 1 (fitted on the training split)", "bool")

    def options(self) -> dict:
        """The keyword options ``datasets.load`` takes for this data set."""
        if self.name in datasets.GENERATED:
            return {k: getattr(self, k) for k in datasets.GENERATED[self.name][1] if getattr(self, k) is not None}
        if self.name == "csv":
            out = {"path": self.path, "target": self.target, "delimiter": self.delimiter, "task": self.task}
            if self.features is not None:
                out["features"] = list(self.features)
            return out
        if self.name == "npz":
            return {"path": self.path, "x": self.x, "y": self.y, "task": self.task}
        return {}


@dataclass
class SplitConfig:
    fractions: list | None = _opt(None, "[train, validation, test]; default: 70/15/15 under 10,000 examples, "
                                  "else 98/1/1", "fractions", optional=True)
    seed: int = _opt(0, "seed of the shuffle before splitting", "int", low=0)
    stratify: bool = _opt(True, "same class proportions in every part (classification only)", "bool")
    shuffle: bool = _opt(True, "shuffle before splitting (false: the file's last rows are the test set)", "bool")


@dataclass
class ModelConfig:
    hidden: list = _opt([5, 2], "widths of the hidden Dense layers, input to output", "ints", low=1)
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


@dataclass
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
    early_stopping: dict | None = _opt(None, "stop when a metric stops improving: {monitor = \"val_loss\", "
                                       "patience = 10, min_delta = 0.0, restore_best_weights = false}",
                                       "early_stopping", optional=True)


@dataclass
class OutputConfig:
    dir: str | None = _opt(None, "report folder (default: reports/<name>)", "str", optional=True)
    log_scale: bool = _opt(False, "cost curves on a log scale", "bool")


@dataclass
class Config:
    """A whole experiment. ``optimizer`` and ``schedule`` are tables whose keys depend on their
    ``name`` (see ``optim.OPTIMIZERS`` and ``schedules.SCHEDULES``)."""
    name: str = "experiment"
    description: str = ""
    data: DataConfig = field(default_factory=DataConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    optimizer: dict = field(default_factory=lambda: {"name": "adam"})     # lr: the class's default
    schedule: dict = field(default_factory=lambda: {"name": "constant"})
    output: OutputConfig = field(default_factory=OutputConfig)
    grid: dict = field(default_factory=dict)
    base_dir: str = "."          # folder of the config file: data paths are relative to it

    def to_dict(self) -> dict:
        """The config as plain TOML-able data (no base_dir; empty grid left out)."""
        d = dataclasses.asdict(self)
        d.pop("base_dir")
        # Only the data settings that apply to this data set (no CSV options for moons).
        keep = {"name", "standardize", *self.data.options(), *(["features"] if self.data.features else [])}
        d["data"] = {k: v for k, v in d["data"].items() if k in keep}
        if not d["grid"]:
            d.pop("grid")
        return _drop_none(d)

    def report_dir(self) -> Path:
        return Path(self.output.dir) if self.output.dir else Path("reports") / _slug(self.name)


def _drop_none(d):
    if isinstance(d, dict):
        return {k: _drop_none(v) for k, v in d.items() if v is not None}
    return d


def _slug(text: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_." else "-" for c in text.strip())
    return keep.strip("-.") or "experiment"


# -- checking ------------------------------------------------------------------------------------
def _fail(source: str, key: str, message: str):
    raise DeepBasicsError(f"{source}: {key} {message}")


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_real(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _check_value(source: str, key: str, value, meta: dict):
    kind, allowed, low = meta["kind"], meta["allowed"], meta["low"]
    if value is None and meta["optional"]:
        return None

    def bound(v):
        if low is not None and v < low:
            _fail(source, key, f"must be >= {low}, got {v!r}")
        return v

    def name(v, what="a name"):
        if not isinstance(v, str):
            _fail(source, key, f"must be {what} (a string), got {v!r}")
        if allowed is not None and v.strip().lower() not in allowed:
            _fail(source, key, f"is {v!r}; choose one of: {', '.join(allowed)}")
        return v.strip().lower() if allowed is not None else v

    if kind == "int":
        if not _is_int(value):
            _fail(source, key, f"must be a whole number, got {value!r}")
        return bound(int(value))
    if kind == "float":
        if not _is_real(value) or not math.isfinite(value):
            _fail(source, key, f"must be a finite number, got {value!r}")
        return bound(float(value))
    if kind == "bool":
        if not isinstance(value, bool):
            _fail(source, key, f"must be true or false, got {value!r}")
        return value
    if kind == "str":
        return name(value, "text")
    if kind == "ints":
        if not isinstance(value, list) or not all(_is_int(v) for v in value):
            _fail(source, key, f"must be a list of whole numbers, got {value!r}")
        for v in value:
            bound(v)
        return [int(v) for v in value]
    if kind == "strs":
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            _fail(source, key, f"must be a non-empty list of strings, got {value!r}")
        return list(value)
    if kind == "str_or_strs":
        if isinstance(value, list):
            return [name(v) for v in value]
        return name(value)
    if kind == "fractions":
        from ..data.splits import check_fractions
        try:
            return list(check_fractions(value, key))
        except DeepBasicsError as err:
            raise DeepBasicsError(f"{source}: {err}") from None
    if kind == "early_stopping":
        return _early_stopping(source, key, value)
    if kind == "batch":
        if value == "full":
            return "full"
        if not _is_int(value):
            _fail(source, key, f"must be a whole number >= 1 or \"full\", got {value!r}")
        return bound(int(value))
    raise AssertionError(kind)


def _early_stopping(source: str, key: str, value) -> dict:
    """train.early_stopping: a table of ``train.EarlyStopping``'s settings, checked by that class."""
    from ..learn.early_stopping import EarlyStopping
    if not isinstance(value, dict):
        _fail(source, key, f"must be a table such as {{monitor = \"val_loss\", patience = 10}}, got {value!r}")
    fields = EarlyStopping.__dataclass_fields__
    for k, v in value.items():
        if k not in fields:
            _fail(source, f"{key}.{k}", f"is not a setting of {key}; known: {', '.join(fields)}")
        want = fields[k].type
        ok = isinstance(v, str) if want == "str" else isinstance(v, bool) if want == "bool" else \
            _is_int(v) if want == "int" else _is_real(v)
        if not ok:
            what = {"float": "a number", "int": "a whole number", "bool": "true or false"}.get(want, "text")
            _fail(source, f"{key}.{k}", f"must be {what}, got {v!r}")
    try:
        EarlyStopping(**value)
    except DeepBasicsError as err:
        raise DeepBasicsError(f"{source}: {key}: {err}") from None
    return dict(value)


def _section(cls, raw, source: str, prefix: str):
    """Build dataclass ``cls`` from table ``raw``, checking every key."""
    if not isinstance(raw, dict):
        _fail(source, prefix, f"must be a table ([{prefix}]), got {raw!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        _fail(source, f"{prefix}.{unknown[0]}", f"is not a setting of [{prefix}]; known: {', '.join(fields)}")
    values = {k: _check_value(source, f"{prefix}.{k}", v, fields[k].metadata) for k, v in raw.items()}
    return cls(**values)


def _hyper_table(raw, source: str, prefix: str, table: dict, default_name: str):
    """[optimizer] or [schedule]: ``name`` from ``table`` plus that class's own fields."""
    if isinstance(raw, str):
        raw = {"name": raw}
    if not isinstance(raw, dict):
        _fail(source, prefix, f"must be a table or a name, got {raw!r}")
    raw = dict(raw)
    name = raw.pop("name", default_name)
    if not isinstance(name, str) or name.strip().lower() not in table:
        _fail(source, f"{prefix}.name", f"is {name!r}; choose one of: {', '.join(table)}")
    name = name.strip().lower()
    cls = table[name]
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key, value in raw.items():
        if key not in fields:
            _fail(source, f"{prefix}.{key}", f"is not a setting of {prefix} {name!r}; "
                                             f"it takes: {', '.join(['name', *fields])}")
        want = fields[key].type
        want = want if isinstance(want, str) else getattr(want, "__name__", str(want))
        ok = isinstance(value, str) if want == "str" else isinstance(value, bool) if want == "bool" else \
            _is_int(value) if want == "int" else _is_real(value)
        if not ok:
            _fail(source, f"{prefix}.{key}", f"must be {'a number' if want == 'float' else 'a ' + str(want)}, "
                                             f"got {value!r}")
    try:
        cls(**raw)                            # the class checks ranges (0 <= beta < 1, lr >= 0, ...)
    except DeepBasicsError as err:
        raise DeepBasicsError(f"{source}: {prefix}: {err}") from None
    return {"name": name, **raw}


def from_dict(raw: dict, source: str = "config", base_dir: str = ".") -> Config:
    """Check a parsed TOML document and build the Config (grid unexpanded)."""
    if not isinstance(raw, dict):
        raise DeepBasicsError(f"{source}: a config must be a TOML table")
    top = {"name", "description", "grid", *SECTIONS}
    unknown = sorted(set(raw) - top)
    if unknown:
        _fail(source, unknown[0], f"is not a config section or setting; known: {', '.join(sorted(top))}")
    for key in ("name", "description"):
        if key in raw and not isinstance(raw[key], str):
            _fail(source, key, f"must be text, got {raw[key]!r}")
    cfg = Config(
        name=raw.get("name", Path(source).stem if source.endswith(".toml") else "experiment"),
        description=raw.get("description", ""),
        data=_section(DataConfig, raw.get("data", {}), source, "data"),
        split=_section(SplitConfig, raw.get("split", {}), source, "split"),
        model=_section(ModelConfig, raw.get("model", {}), source, "model"),
        train=_section(TrainConfig, raw.get("train", {}), source, "train"),
        optimizer=_hyper_table(raw.get("optimizer", {}), source, "optimizer", optim.OPTIMIZERS, "adam"),
        schedule=_hyper_table(raw.get("schedule", {}), source, "schedule", schedules.SCHEDULES, "constant"),
        output=_section(OutputConfig, raw.get("output", {}), source, "output"),
        grid=_check_grid(raw.get("grid", {}), source),
        base_dir=str(base_dir))
    _check_consistency(cfg, source)
    if cfg.data.path is not None:
        # Absolute from here on: the config saved with a report or checkpoint still finds the file.
        cfg.data.path = str((Path(base_dir) / Path(cfg.data.path).expanduser()).resolve())
    if cfg.grid:
        for _, run_raw in _grid_points(raw, cfg.grid):     # every run of the grid is checked now
            from_dict({k: v for k, v in run_raw.items() if k != "grid"}, source, base_dir)
    return cfg


def _check_consistency(cfg: Config, source: str) -> None:
    d, m = cfg.data, cfg.model
    if d.name in datasets.GENERATED:
        takes = datasets.GENERATED[d.name][1]
        for key in ("n_samples", "noise", "seed", "factor", "n_classes", "n_features", "centers", "cluster_std"):
            if getattr(d, key) is not None and key not in takes:
                _fail(source, f"data.{key}", f"does not apply to data set {d.name!r}; it takes: {', '.join(takes)}")
        if d.factor is not None and not 0 < d.factor < 1:
            _fail(source, "data.factor", f"must satisfy 0 < factor < 1, got {d.factor!r}")
        if d.features is not None:
            _check_plane_features(d, source)
    if d.name in datasets.FILES and not d.path:
        _fail(source, "data.path", f"is required for data set {d.name!r} (the file to read)")
    if d.name == "csv" and not d.target:
        _fail(source, "data.target", "is required for a CSV data set (the name of the column to predict)")
    if isinstance(m.activation, list) and len(m.activation) != len(m.hidden):
        _fail(source, "model.activation", f"lists {len(m.activation)} activation(s) for {len(m.hidden)} hidden "
                                          f"layer(s); give one name or one per hidden layer")
    if not m.dropout < 1:
        _fail(source, "model.dropout", f"must satisfy 0 <= dropout < 1, got {m.dropout!r}")
    watch = cfg.train.early_stopping
    if watch and watch.get("monitor", "val_loss").startswith("val_") and cfg.split.fractions \
            and cfg.split.fractions[1] == 0:
        _fail(source, "train.early_stopping", f"monitors {watch.get('monitor', 'val_loss')!r} but split.fractions "
                                              f"holds out no validation set; give it one, or monitor 'cost'")


def _check_plane_features(d: DataConfig, source: str) -> None:
    """data.features on a generated set: names of derived features of the plane (x1, x2)."""
    if d.name == "blobs" and d.n_features not in (None, 2):
        _fail(source, "data.features", f"applies to 2-D data only, but data.n_features is {d.n_features}")
    for name in d.features:
        if name not in datasets.PLANE_FEATURES:
            _fail(source, "data.features", f"has {name!r}; for data set {d.name!r} choose from: "
                                           f"{', '.join(datasets.PLANE_FEATURES)}")
    if len(set(d.features)) != len(d.features):
        _fail(source, "data.features", f"lists a feature twice: {d.features!r}")


def _check_grid(grid, source: str) -> dict:
    if not isinstance(grid, dict):
        _fail(source, "grid", f"must be a table of lists, got {grid!r}")
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            _fail(source, f"grid.{key}", f"must be a non-empty list of values to compare, got {values!r}")
        head = key.split(".")[0]
        if head not in SECTIONS:
            _fail(source, f"grid.{key}", f"names no config section; start it with one of: {', '.join(SECTIONS)}")
    return grid


def _grid_points(raw: dict, grid: dict):
    """Yield (label, raw config) for every combination of the grid's values."""
    keys = list(grid)
    labels = {k: _value_labels(grid[k]) for k in keys}
    for combo in itertools.product(*(range(len(grid[k])) for k in keys)):
        run = copy.deepcopy({k: v for k, v in raw.items() if k != "grid"})
        parts = []
        for key, i in zip(keys, combo):
            value = grid[key][i]
            parts.append(labels[key][i])
            head, _, rest = key.partition(".")
            section = run.setdefault(head, {})
            if rest:
                target = section
                *path, last = rest.split(".")
                for p in path:
                    target = target.setdefault(p, {})
                target[last] = copy.deepcopy(value)
            elif head in REPLACED_IN_GRID:
                run[head] = {"name": value} if isinstance(value, str) else copy.deepcopy(value)
            elif isinstance(value, dict):
                section.update(copy.deepcopy(value))
            else:
                raise DeepBasicsError(f"grid.{key}: values for a whole section must be tables, got {value!r}")
        yield " · ".join(parts), run


def _value_labels(values) -> list[str]:
    """Short labels: a table's name (plus its other settings when names repeat), else the value."""
    def plain(v):
        return f"{v:g}" if isinstance(v, float) else str(v)

    names = [v.get("name") if isinstance(v, dict) else v if isinstance(v, str) else None for v in values]
    unique = None not in names and len(set(names)) == len(names)
    out = []
    for v, n in zip(values, names):
        if isinstance(v, dict):
            rest = " ".join(f"{k}={plain(x)}" for k, x in v.items() if k != "name")
            out.append(str(n) if unique else " ".join(filter(None, [str(n or ""), rest])))
        else:
            out.append(plain(v))
    return out


# -- reading -------------------------------------------------------------------------------------
def shipped() -> dict[str, str]:
    """The example configs that come with deepbasics: {name: TOML text}."""
    folder = resources.files(__package__).joinpath("configs")
    return {p.name[:-5]: p.read_text(encoding="utf-8") for p in sorted(folder.iterdir(), key=lambda p: p.name)
            if p.name.endswith(".toml")}


def parse_override(text: str):
    """``key=value`` from the command line; the value is read as TOML (``0.01``, ``true``,
    ``[8, 4]``, ``"he"``), or as plain text when it is not TOML."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise DeepBasicsError(f"--set takes key=value (e.g. optimizer.lr=0.01), got {text!r}")
    try:
        parsed = tomllib.loads(f"v = {value.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value.strip()
    return key, parsed


def apply_overrides(raw: dict, overrides) -> dict:
    raw = copy.deepcopy(raw)
    for text in overrides or ():
        key, value = parse_override(text)
        *path, last = key.split(".")
        target = raw
        for p in path:
            nxt = target.setdefault(p, {})
            if not isinstance(nxt, dict):
                raise DeepBasicsError(f"--set {key}: {p!r} is not a section")
            target = nxt
        target[last] = value
    return raw


def read_raw(spec: str) -> tuple[dict, str, str]:
    """(parsed TOML, source name for messages, base folder) for a path or a shipped config's name."""
    path = Path(spec)
    if path.is_file():
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DeepBasicsError(f"cannot read {spec}: {exc}") from None
        source, base = str(path), str(path.parent)
    else:
        known = shipped()
        key = path.name[:-5] if path.name.endswith(".toml") else path.name
        if key not in known or (path.parent != Path(".")):
            hint = f"; shipped configs: {', '.join(known)}" if known else ""
            raise DeepBasicsError(f"config {spec!r} is neither a file nor a shipped config{hint}")
        text, source, base = known[key], f"{key}.toml", "."
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DeepBasicsError(f"{source} is not valid TOML: {exc}") from None
    return raw, source, base


def load(spec: str, overrides=()) -> Config:
    """A checked Config from a TOML file or a shipped config's name, with ``key=value`` overrides."""
    raw, source, base = read_raw(spec)
    return from_dict(apply_overrides(raw, overrides), source, base)


def expand(cfg: Config) -> list[tuple[str, Config]]:
    """The runs of a config: [(label, Config without grid)]; one run labelled by the optimizer
    when there is no grid."""
    raw = cfg.to_dict()
    grid = raw.pop("grid", {})
    if not grid:
        return [(cfg.optimizer["name"], cfg)]
    return [(label, dataclasses.replace(from_dict(run, cfg.name, cfg.base_dir), name=cfg.name))
            for label, run in _grid_points(raw, grid)]


# -- writing -------------------------------------------------------------------------------------
def to_toml(d: dict) -> str:
    """A plain dict (scalars, lists, inline tables, one level of sections) as TOML text."""
    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, float):
            return repr(v) if math.isfinite(v) else ("nan" if v != v else ("inf" if v > 0 else "-inf"))
        if isinstance(v, int):
            return str(v)
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{_key(k)} = {value(x)}" for k, x in v.items()) + "}"
        raise TypeError(type(v))

    lines = [f"{_key(k)} = {value(v)}" for k, v in d.items() if not isinstance(v, dict)]
    for k, v in d.items():
        if isinstance(v, dict):
            lines.append(f"\n[{_key(k)}]")
            lines.extend(f"{_key(kk)} = {value(vv)}" for kk, vv in v.items())
    return "\n".join(lines).lstrip("\n") + "\n"


def _key(k: str) -> str:
    return k if k.replace("_", "").replace("-", "").isalnum() else '"' + k + '"'


def describe_defaults() -> str:
    """Every setting with its default and meaning, as commented TOML (``deepbasics train --defaults``)."""
    out = []
    for name, cls in (("data", DataConfig), ("split", SplitConfig), ("model", ModelConfig),
                      ("train", TrainConfig), ("output", OutputConfig)):
        out.append(f"[{name}]")
        for f in dataclasses.fields(cls):
            default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
            shown = "(none)" if default is None else to_toml({"v": default})[4:].strip()
            out.append(f"# {f.name} = {shown}".ljust(34) + f"  # {f.metadata['doc']}")
        out.append("")
    out.append("[optimizer]  # name = " + " | ".join(optim.OPTIMIZERS) + "; then lr, beta, beta1, beta2, eps, form")
    out.append("[schedule]   # name = " + " | ".join(schedules.SCHEDULES) + "; then decay_rate, interval, ...")
    return "\n".join(out) + "\n"
