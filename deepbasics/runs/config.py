"""Experiment configs: the one validator, from plain data to the checked run specification.

Every front end hands plain data to ``from_dict``: a TOML file (``load``, with ``--set key=value``
overrides applied by ``apply_overrides``), a playground message, an estimator's parameters, a
cluster task. ``from_dict`` checks every value once and returns an immutable ``Config`` (its
sections, defaults and meanings are in ``runs.schema``); nothing downstream checks again.

A config has seven sections; every key has a default, so a config only states what differs.
The shipped examples live in ``deepbasics/runs/configs/``::

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
``config.toml: optimizer: beta1 must satisfy 0 <= beta1 < 1, got 1.5``; each is a
``ConfigError`` whose ``key`` ("optimizer.beta1") a front end uses to mark the field.
"""
from __future__ import annotations

import copy
import dataclasses
import itertools
import math
import numbers
import sys
from importlib import resources
from pathlib import Path

from ..data import datasets
from ..data.splits import check_fractions
from ..errors import ConfigError, DeepBasicsError, is_whole
from ..learn import optim, schedules
from ..learn.early_stopping import EarlyStopping
from .schema import (BATCH_NORM_POSITIONS, OUTPUTS, SECTIONS, TABLES, TASKS, Config, DataConfig,  # noqa: F401
                     ModelConfig, OutputConfig, SplitConfig, TrainConfig)
from .schema import describe_defaults as _describe_defaults

if sys.version_info >= (3, 11):
    import tomllib
else:                                    # Python 3.10: the same parser, as a backport
    import tomli as tomllib


REPLACED_IN_GRID = ("optimizer", "schedule")   # a grid table value replaces these sections whole
GENERATED_KEYS = ("n_samples", "noise", "seed", "factor", "n_classes", "n_features", "centers", "cluster_std")


# -- checking ------------------------------------------------------------------------------------
def _fail(source: str, key: str, message: str):
    raise ConfigError(source, key, message)


def _check_value(source: str, key: str, value, meta: dict):
    """One setting of a section, checked by its field's ``kind``; lists come back as tuples."""
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
        if not is_whole(value):
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
    if kind == "batch" and value == "full":
        return "full"
    if kind == "batch":
        if not is_whole(value):
            _fail(source, key, f"must be a whole number >= 1 or \"full\", got {value!r}")
        return bound(int(value))
    return _check_composite(source, key, value, kind, name, bound)


def _check_composite(source: str, key: str, value, kind: str, name, bound):
    """The settings made of several values: lists, fractions, early stopping."""
    if kind == "ints":
        if not isinstance(value, list) or not all(is_whole(v) for v in value):
            _fail(source, key, f"must be a list of whole numbers, got {value!r}")
        return tuple(bound(int(v)) for v in value)
    if kind == "strs":
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            _fail(source, key, f"must be a non-empty list of strings, got {value!r}")
        return tuple(value)
    if kind == "str_or_strs":
        return tuple(name(v) for v in value) if isinstance(value, list) else name(value)
    if kind == "fractions":
        try:
            return tuple(check_fractions(value, key))
        except DeepBasicsError as err:
            raise ConfigError(source, key, "", line=f"{source}: {err}") from None
    if kind == "early_stopping":
        return _early_stopping(source, key, value)
    raise AssertionError(kind)


def _is_real(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _typed(source: str, key: str, value, want: str) -> None:
    """A setting of a rule's table (optimizer, schedule, early stopping) has its field's type."""
    ok = isinstance(value, str) if want == "str" else isinstance(value, bool) if want == "bool" else \
        is_whole(value) if want == "int" else _is_real(value)
    if not ok:
        what = {"float": "a number", "int": "a whole number", "bool": "true or false"}.get(want, "text")
        _fail(source, key, f"must be {what}, got {value!r}")


def _construct(cls, settings: dict, source: str, prefix: str, line_prefix: str):
    """``cls(**settings)``: the class checks its ranges (0 <= beta < 1, lr >= 0, ...). A failure
    is a ConfigError keyed by the setting that fails on its own (``optimizer.beta1``), found by
    building the class with that setting alone: the key is data, never read from the text."""
    try:
        return cls(**settings)
    except DeepBasicsError as err:
        culprit = next((k for k in settings if not _builds(cls, {k: settings[k]})), None)
        key = prefix if culprit is None else f"{prefix}.{culprit}"
        raise ConfigError(source, key, str(err), line=f"{source}: {line_prefix}: {err}") from None


def _builds(cls, settings: dict) -> bool:
    try:
        cls(**settings)
        return True
    except DeepBasicsError:
        return False


def _early_stopping(source: str, key: str, value) -> EarlyStopping:
    """train.early_stopping: a table of ``EarlyStopping``'s settings, checked by that class."""
    if not isinstance(value, dict):
        _fail(source, key, f"must be a table such as {{monitor = \"val_loss\", patience = 10}}, got {value!r}")
    fields = EarlyStopping.__dataclass_fields__
    for k, v in value.items():
        if k not in fields:
            _fail(source, f"{key}.{k}", f"is not a setting of {key}; known: {', '.join(fields)}")
        _typed(source, f"{key}.{k}", v, fields[k].type)
    return _construct(EarlyStopping, dict(value), source, key, key)


def _section(cls, raw, source: str, prefix: str):
    """Build the frozen section ``cls`` from table ``raw``, checking every key."""
    if not isinstance(raw, dict):
        _fail(source, prefix, f"must be a table ([{prefix}]), got {raw!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        _fail(source, f"{prefix}.{unknown[0]}", f"is not a setting of [{prefix}]; known: {', '.join(fields)}")
    return cls(**{k: _check_value(source, f"{prefix}.{k}", v, fields[k].metadata) for k, v in raw.items()})


def _rule(raw, source: str, prefix: str, table: dict, default_name: str):
    """[optimizer] or [schedule]: ``name`` from ``table`` plus that class's own fields; returns
    the object itself (an ``optim.Optimizer`` or ``schedules.Schedule``), built once, here."""
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
        _typed(source, f"{prefix}.{key}", value, want if isinstance(want, str) else want.__name__)
    return _construct(cls, raw, source, prefix, prefix)


def from_dict(raw: dict, source: str = "config", base_dir: str = ".") -> Config:
    """The one validator: plain data (a parsed TOML document, ``--set`` overrides applied, a
    playground message, an estimator's parameters) checked into an immutable ``Config``. Every
    run of a grid is checked too. Errors are ``ConfigError``s carrying the setting's dotted key."""
    if not isinstance(raw, dict):
        raise ConfigError(source, "", "a config must be a TOML table")
    top = {"name", "description", "grid", *SECTIONS}
    unknown = sorted(set(raw) - top)
    if unknown:
        _fail(source, unknown[0], f"is not a config section or setting; known: {', '.join(sorted(top))}")
    for key in ("name", "description"):
        if key in raw and not isinstance(raw[key], str):
            _fail(source, key, f"must be text, got {raw[key]!r}")
    data = _section(DataConfig, raw.get("data", {}), source, "data")
    if data.path is not None:
        # Absolute from here on: the config saved with a report or checkpoint still finds the file.
        data = dataclasses.replace(data, path=str((Path(base_dir) / Path(data.path).expanduser()).resolve()))
    cfg = Config(
        name=raw.get("name", Path(source).stem if source.endswith(".toml") else "experiment"),
        description=raw.get("description", ""), data=data,
        split=_section(SplitConfig, raw.get("split", {}), source, "split"),
        model=_section(ModelConfig, raw.get("model", {}), source, "model"),
        train=_section(TrainConfig, raw.get("train", {}), source, "train"),
        optimizer=_rule(raw.get("optimizer", {}), source, "optimizer", optim.OPTIMIZERS, "adam"),
        schedule=_rule(raw.get("schedule", {}), source, "schedule", schedules.SCHEDULES, "constant"),
        output=_section(OutputConfig, raw.get("output", {}), source, "output"),
        grid=_check_grid(raw.get("grid", {}), source), base_dir=str(base_dir))
    _check_consistency(cfg, source)
    for _, run_raw in _grid_points(raw, dict(cfg.grid)) if cfg.grid else ():   # every run is checked now
        from_dict({k: v for k, v in run_raw.items() if k != "grid"}, source, base_dir)
    return cfg


def _check_packaged(d: DataConfig, source: str) -> None:
    """A set generated by an optional package (mnist1d): it takes no options, and the package is installed."""
    import importlib.util
    for key in ("n_samples", "noise", "seed", "factor", "n_classes", "n_features", "centers", "cluster_std"):
        if getattr(d, key) is not None:
            _fail(source, f"data.{key}", f"does not apply to data set {d.name!r}; it takes no options")
    if importlib.util.find_spec(d.name) is None:
        _fail(source, "data.name", f"= {d.name!r} needs the {d.name} package: pip install 'deepbasics[{d.name}]'")


def _check_consistency(cfg: Config, source: str) -> None:
    """Settings that are fine alone but not together."""
    d, m = cfg.data, cfg.model
    if d.name in datasets.GENERATED:
        takes = datasets.GENERATED[d.name][1]
        for key in GENERATED_KEYS:
            if getattr(d, key) is not None and key not in takes:
                _fail(source, f"data.{key}", f"does not apply to data set {d.name!r}; it takes: {', '.join(takes)}")
        if d.factor is not None and not 0 < d.factor < 1:
            _fail(source, "data.factor", f"must satisfy 0 < factor < 1, got {d.factor!r}")
        if d.features is not None:
            _check_plane_features(d, source)
    elif d.name in datasets.PACKAGED:
        _check_packaged(d, source)
    else:
        for key in GENERATED_KEYS:
            if getattr(d, key) is not None:
                _fail(source, f"data.{key}", f"applies to the generated sets, not to data set {d.name!r}")
    _check_file_and_plane(d, source)
    if d.name in datasets.FILES and not d.path:
        _fail(source, "data.path", f"is required for data set {d.name!r} (the file to read)")
    if d.name in TABLES and not d.target:
        _fail(source, "data.target", f"is required for a {d.name.upper() if d.name == 'csv' else 'Parquet'} data set "
                                     f"(the name of the column to predict)")
    if d.memory == "map" and d.name not in TABLES:
        _fail(source, "data.memory", f"= 'map' applies to csv and parquet files, not to data set {d.name!r}")
    if isinstance(m.activation, tuple) and len(m.activation) != len(m.hidden):
        _fail(source, "model.activation", f"lists {len(m.activation)} activation(s) for {len(m.hidden)} hidden "
                                          f"layer(s); give one name or one per hidden layer")
    if not m.dropout < 1:
        _fail(source, "model.dropout", f"must satisfy 0 <= dropout < 1, got {m.dropout!r}")
    watch = cfg.train.early_stopping
    if watch and watch.monitor.startswith("val_") and cfg.split.fractions and cfg.split.fractions[1] == 0:
        _fail(source, "train.early_stopping", f"monitors {watch.monitor!r} but split.fractions "
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
        _fail(source, "data.features", f"lists a feature twice: {list(d.features)!r}")


def _check_file_and_plane(d: DataConfig, source: str) -> None:
    """data.fingerprint (files only: hexadecimal digits) and data.plane (two of the features)."""
    if d.fingerprint is not None:
        if d.name not in datasets.FILES:
            _fail(source, "data.fingerprint", f"names a file's content; data set {d.name!r} reads no file")
        digits = d.fingerprint.lower()
        if not 8 <= len(digits) <= 64 or any(c not in "0123456789abcdef" for c in digits):
            _fail(source, "data.fingerprint", f"must be 8 to 64 hexadecimal digits (the start of the file's SHA-256), "
                                              f"got {d.fingerprint!r}")
    if d.plane is None:
        return
    if len(d.plane) != 2 or d.plane[0] == d.plane[1]:
        _fail(source, "data.plane", f"must name two different features, got {list(d.plane)!r}")
    if d.name in datasets.GENERATED and tuple(d.plane) != ("x1", "x2"):
        _fail(source, "data.plane", f"of a generated 2-D set is its plane, [\"x1\", \"x2\"], got {list(d.plane)!r}")
    if d.features is not None and d.name not in datasets.GENERATED:
        for name in d.plane:
            if name not in d.features:
                _fail(source, "data.plane", f"has {name!r}, which is not one of data.features")


def _check_grid(grid, source: str) -> tuple:
    if not isinstance(grid, dict):
        _fail(source, "grid", f"must be a table of lists, got {grid!r}")
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            _fail(source, f"grid.{key}", f"must be a non-empty list of values to compare, got {values!r}")
        head = key.split(".")[0]
        if head not in SECTIONS:
            _fail(source, f"grid.{key}", f"names no config section; start it with one of: {', '.join(SECTIONS)}")
    return tuple((key, tuple(copy.deepcopy(values))) for key, values in grid.items())


def _grid_points(raw: dict, grid: dict):
    """Yield (label, raw config) for every combination of the grid's values."""
    keys = list(grid)
    labels = {k: _value_labels(grid[k]) for k in keys}
    for combo in itertools.product(*(range(len(grid[k])) for k in keys)):
        run = copy.deepcopy({k: v for k, v in raw.items() if k != "grid"})
        parts = []
        for key, i in zip(keys, combo):
            parts.append(labels[key][i])
            _set_grid_value(run, key, grid[key][i])
        yield " · ".join(parts), run


def _set_grid_value(run: dict, key: str, value) -> None:
    """Put one grid value into a run's raw config: a dotted key, or a whole section."""
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
        raise ConfigError(head, f"grid.{key}", f"values for a whole section must be tables, got {value!r}",
                          line=f"grid.{key}: values for a whole section must be tables, got {value!r}")


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


def _related(a: str, b: str) -> bool:
    """Whether dotted keys ``a`` and ``b`` name the same setting or one lies inside the other."""
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def with_overrides(raw: dict, overrides, source: str, base_dir: str = ".") -> Config:
    """``from_dict`` of ``raw`` with ``--set key=value`` overrides applied. An error caused by an
    override names it (``--set optimizer.lr: ...``), not the file it changed, which the user may
    never have written (a shipped config): the override whose key is the failing setting's (or
    contains it), else, when the file alone passes, the overrides together."""
    overrides = list(overrides or ())
    try:
        return from_dict(apply_overrides(raw, overrides), source, base_dir)
    except ConfigError as err:
        keys = [parse_override(text)[0] for text in overrides]
        culprits = [k for k in keys if err.key and _related(err.key, k)][-1:]
        if not culprits and keys and _passes(raw, source, base_dir):
            culprits = list(dict.fromkeys(keys))
        if not culprits:
            raise
        raise err.blamed_on(", ".join(f"--set {k}" for k in culprits)) from None


def _passes(raw: dict, source: str, base_dir: str) -> bool:
    try:
        from_dict(raw, source, base_dir)
        return True
    except DeepBasicsError:
        return False


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
    return with_overrides(raw, overrides, source, base)


def expand(cfg: Config) -> list[tuple[str, Config]]:
    """The runs of a config: [(label, Config without grid)]; one run labelled by the optimizer
    when there is no grid."""
    raw = cfg.to_dict()
    grid = raw.pop("grid", {})
    if not grid:
        return [(cfg.optimizer_name, cfg)]
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
    return _describe_defaults(to_toml)
