"""One playground session's training state, with no process or network around it.

    trainer = Trainer(cfg)                     # data prepared, model built, epoch 0
    trainer = Trainer(cfg, compare=cfg_b)      # two runs on the same data, split and shuffles
    trainer.advance(25)                        # 25 more epochs of every run that has not diverged
    trainer.frame(boundary=True)               # the "frame" message (PROTOCOL.md)

A run trains exactly as ``deepbasics train`` does: ``experiment.prepare``, ``experiment.build_model``
and ``Sequential.fit`` with ``experiment.fit_arguments``, continued chunk by chunk through
``initial_epoch`` (which resumes bit for bit). So a config exported after E epochs and run by
``deepbasics train`` logs the same cost at every epoch. The playground only swaps the validation
set for the test split (validation never changes the weights) and caches the schedule's rates.

``advance`` takes two hooks, which the worker uses to answer within a fraction of a second:
``on_batch(epoch, k, steps)`` after every update of the NumPy engine (it may block: the run then
waits exactly where it is), and ``cut()``, the epoch count at which a chunk should end early (the
chunk then stops at an epoch's end, and the other runs train to the same epoch, in lockstep).
The views are drawn on a plane (``plane.Plane``): a generated set's own, or two of a table's features.
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np

from ..runs import config as config_mod, experiment
from ..runs.schema import TABLES
from ..data import datasets
from ..nn.dense import Dense
from ..errors import ConfigError, DeepBasicsError, DivergedError
from ..learn.batching import steps_per_epoch
from ..nn.layer import Context
from .plane import Plane
from .protocol import LIMITS, grid_values
from .rates import GrowingRates

BOUNDARY_N = 64             # the decision-boundary grid: 64 x 64 points ...
BOUNDARY_MIN_N = 16         # ... or fewer, down to 16 x 16, for networks too big to evaluate it quickly
UNIT_N = 16                 # each hidden unit's picture: 16 x 16 points
DIAGNOSE_POINTS = 256       # diagnostics run on at most this many training points (at least 32)
PICTURE_WORK = 2 ** 26      # multiply-adds a picture may take: points x weights of the network


class ChunkEnd(Exception):
    """Raised by a run's epoch callback to end a chunk at an epoch's end; ``fit`` keeps ``state``
    (the state after that epoch) in the model, so the next chunk continues from it exactly."""

    def __init__(self, state):
        super().__init__("the chunk ends here")
        self.state = state


class Run:
    """One configuration's model and optimizer, trained in chunks of epochs."""

    def __init__(self, label: str, cfg: config_mod.Config, prepared: experiment.Prepared):
        self.label, self.cfg, self.prepared = label, cfg, prepared
        self.model, loss = experiment.build_model(cfg, prepared.dataset, prepared.X_train.shape[1])
        # the test split's curves take the validation's place; the rates grow with the run
        test = (prepared.X_test, prepared.y_test) if len(prepared.y_test) else None
        self.fit_args = {**experiment.fit_arguments(cfg, loss, test), "validation_freq": 1,
                         "schedule": GrowingRates(cfg.schedule)}
        self.steps = steps_per_epoch(len(prepared.y_train), cfg.train.batch, cfg.train.drop_last)
        self.epoch = 0
        self.diverged: str | None = None
        self.points = _empty_points()

    def advance(self, n: int, on_batch=None, cut=None) -> None:
        """Train epochs epoch..epoch+n-1 (fewer when ``cut()`` ends the chunk early); record their
        points; on divergence keep the last good weights and the message."""
        if self.diverged or n <= 0:
            return
        start, stop = self.epoch, self.epoch + n

        def on_epoch(e, state, values):           # each epoch's points at once: a frame sent mid-chunk has them
            self._record([(e, values)])
            self.epoch = e + 1
            limit = cut() if cut is not None else None
            if limit is not None and e + 1 >= limit and e + 1 < stop and state is not None:
                raise ChunkEnd(state)

        # A compiled engine runs whole epochs as one program: no hooks, and its chunks stay fused.
        watched = self.fit_args["engine"] != "jax"
        hooks = {"on_epoch": on_epoch,
                 "on_batch": None if on_batch is None else lambda e, k: on_batch(e, k, self.steps)} if watched else {}
        history = None
        try:
            history = self.model.fit(self.prepared.X_train, self.prepared.y_train, epochs=stop,
                                     initial_epoch=start, **hooks, **self.fit_args)
        except DivergedError as err:
            history = err.history
            self.diverged = str(err)
        except ChunkEnd:
            pass
        if self.fit_args["engine"] == "auto":    # keep the engine "auto" picked for the first chunk:
            self.fit_args["engine"] = self.model.engine_used     # one engine per run, and in its export
        if not watched:
            self._record([(e, {k: v[i] for k, v in history.history.items()}) for i, e in enumerate(history.epoch)])
            self.epoch = start + len(history.epoch)

    def _record(self, rows: list) -> None:
        """Each finished epoch's values (as ``fit`` logs them) into the points of the next frame."""
        p = self.points
        for e, values in rows:
            p["epoch"].append(e + 1)                             # epochs finished, counted from 1
            p["cost"].append(float(values["cost"]))
            p["lr"].append(float(values["lr"]))
            p["test_cost"].append(_number(values.get("val_loss")))
            p["test_accuracy"].append(_number(values.get("val_accuracy")))
            p["accuracy"].append(None)

    @property
    def weights(self) -> int:
        """Multiply-adds of one example's forward pass: the Dense layers' weights."""
        return sum(int(p[0].size) for layer, p in zip(self.model.layers, self.model.params) if isinstance(layer, Dense))

    def sample_accuracy(self) -> None:
        """The training accuracy at the newest epoch, into its point (the others stay null:
        evaluating the whole training split every epoch would slow training down). A big network
        on many points is measured on a fixed sample of the split (PICTURE_WORK multiply-adds)."""
        if self.points["epoch"] and self.prepared.dataset.task != "regression":
            X, y = self.prepared.X_train, self.prepared.y_train
            most = max(DIAGNOSE_POINTS, PICTURE_WORK // max(self.weights, 1))
            if len(y) > most:
                pick = np.sort(np.random.RandomState(1).permutation(len(y))[:most])
                X, y = X[pick], y[pick]
            self.points["accuracy"][-1] = self.model.evaluate(X, y)["accuracy"]

    def take_points(self) -> dict:
        out, self.points = self.points, _empty_points()
        return out


def _number(v):
    return None if v is None or not np.isfinite(v) else float(v)


def _empty_points() -> dict:
    return {"epoch": [], "cost": [], "test_cost": [], "accuracy": [], "test_accuracy": [], "lr": []}


def prepare(cfg: config_mod.Config) -> experiment.Prepared:
    """``experiment.prepare``, with the playground's limit on a table's rows; a file's errors name
    it by its name (not the session folder it lies in)."""
    try:
        prepared = experiment.prepare(cfg)
    except DeepBasicsError as err:
        if not cfg.data.path:
            raise
        text = str(err).replace(cfg.data.path, Path(cfg.data.path).name)
        raise ConfigError("", getattr(err, "key", None), "", line=text) from None
    rows = len(prepared.y)
    if cfg.data.name in TABLES and rows > LIMITS["max_rows"]:
        raise ConfigError("", "data.path", "", line=(
            f"{Path(cfg.data.path).name} has {rows:,} rows; the playground takes at most {LIMITS['max_rows']:,} "
            f"(train on the whole file with deepbasics train)"))
    return prepared


class Trainer:
    """The data and one or two runs of a session (compare mode: both on the same split)."""

    def __init__(self, cfg: config_mod.Config, compare: config_mod.Config | None = None,
                 prepared: experiment.Prepared | None = None, axes=None, columns=None):
        self.cfg, self.compare_cfg = cfg, compare
        self.prepared = prepared if prepared is not None else prepare(cfg)
        self.columns = columns if columns is not None else self._columns()
        self.runs = [Run("A", cfg, self.prepared)]
        if compare is not None:
            self.runs.append(Run("B", compare, self.prepared))
        weights = max(r.weights for r in self.runs)
        points = int(np.clip(PICTURE_WORK // max(weights, 1), 32, DIAGNOSE_POINTS))
        pick = np.random.RandomState(0).permutation(len(self.prepared.y_train))[:points]
        self.diagnose_on = (self.prepared.X_train[pick], self.prepared.y_train[pick])
        self.view(axes)

    def view(self, axes=None) -> None:
        """Draw on the plane of features ``axes`` (None: ``data.plane``, or the first two), on a
        grid as fine as the biggest network allows (BOUNDARY_N, down to BOUNDARY_MIN_N)."""
        self.plane = Plane(self.cfg, self.prepared, axes)
        self.extent = self.plane.extent
        weights = max(r.weights for r in self.runs)
        self.boundary_n = int(np.clip(np.sqrt(PICTURE_WORK / max(weights, 1)), BOUNDARY_MIN_N, BOUNDARY_N))
        self.boundary_inputs = self.plane.inputs(self.plane.grid(self.boundary_n))
        self.unit_inputs = self.plane.inputs(self.plane.grid(UNIT_N))

    def restarted(self) -> "Trainer":
        """The same configurations back at epoch 0 (the same initial weights), on the same data."""
        return Trainer(self.cfg, self.compare_cfg, self.prepared, self.plane.axes, self.columns)

    @property
    def epoch(self) -> int:
        return max(r.epoch for r in self.runs)

    @property
    def diverged(self) -> str | None:
        """The message of a run that diverged and is not yet reported as paused (any run)."""
        return next((r.diverged for r in self.runs if r.diverged), None)

    @property
    def all_diverged(self) -> bool:
        return all(r.diverged for r in self.runs)

    def advance(self, n: int, on_batch=None, cut=None) -> float:
        """``n`` epochs of every live run (fewer when ``cut`` ends the chunk: the runs after the
        first then train to the epoch it reached); returns the seconds it took."""
        start, goal = time.perf_counter(), None
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for run in self.runs:
                if run.diverged:
                    continue
                run.advance(n if goal is None else max(0, goal - run.epoch), on_batch, cut if goal is None else None)
                if goal is None and not run.diverged:
                    goal = run.epoch
        return time.perf_counter() - start

    # -- messages --------------------------------------------------------------------------
    def data_message(self, continued: bool = False, points: bool = True) -> dict:
        """The ``data`` message: the points on the plane and what the view shows (``continued``:
        only the view changed, the runs train on; ``points`` False: "train" and "test" are null,
        the points of the last data message, which the page keeps)."""
        d, plane = self.prepared.dataset, self.plane
        (xtr, ytr, ntr), (xte, yte, nte) = plane.points("train"), plane.points("test")
        train, test = ({"x": np.round(xtr, 5), "y": ytr}, {"x": np.round(xte, 5), "y": yte}) if points else (None, None)
        return {"type": "data", "name": self.cfg.data.name, "task": d.task,
                "classes": [int(c) if c.isdigit() else c for c in d.classes],
                "extent": self.extent, "axes": list(plane.axes), "features": list(d.feature_names),
                "held": plane.held, "columns": self.columns, "target": self.cfg.data.target,
                "train": train, "test": test,
                "shown": {"train": [len(ytr), ntr], "test": [len(yte), nte]}, "continued": continued}

    def _columns(self) -> list:
        """The feature columns the data offer (a table's), or [] for a generated set."""
        d = self.cfg.data
        if d.name in datasets.GENERATED:
            return []
        if d.name in datasets.BUNDLED:
            return list(datasets.load(d.name).feature_names)
        names = datasets.describe_table(d.path, d.name, d.delimiter).names
        return [c for c in names if c != d.target]

    def frame(self, boundary: bool) -> dict:
        """The ``frame`` message: every run's new points, layer statistics, and (when asked) the
        boundary grid and the small network's picture."""
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            runs = [self._run_frame(r, boundary) for r in self.runs]
        return {"type": "frame", "epoch": self.epoch, "runs": runs}

    def _run_frame(self, run: Run, boundary: bool) -> dict:
        if boundary:
            run.sample_accuracy()
        return {"label": run.label, "epoch": run.epoch, "points": run.take_points(),
                "layers": self._layers(run),
                "boundary": {"n": self.boundary_n, "values": grid_values(self._surface(run))} if boundary else None,
                "network": self._network(run) if boundary and self._drawable(run) else None}

    def _layers(self, run: Run) -> list[dict]:
        """Per Dense layer: ||dL/dW||, and the statistics of what follows it up to the next Dense
        (its activation's output: mean, spread, saturated or dead share)."""
        rows = run.model.diagnose(*self.diagnose_on)
        out, k = [], 0
        for i, row in enumerate(rows):
            if "grad_norm" not in row:
                continue
            k += 1
            block = [row]
            for nxt in rows[i + 1:]:
                if "grad_norm" in nxt:
                    break
                block.append(nxt)
            last = block[-1]
            sat = next((r["saturated"] for r in block if "saturated" in r), None)
            dead = next((r["dead"] for r in block if "dead" in r), None)
            out.append({"name": f"Dense {k}", "grad_norm": row["grad_norm"], "act_mean": last["out_mean"],
                        "act_std": float(np.sqrt(max(last["out_var"], 0.0))), "saturated": sat, "dead": dead})
        return out

    def _surface(self, run: Run) -> np.ndarray:
        """p(class 1) (binary), the class (multiclass) or the value (regression) on the grid."""
        model, task = run.model, self.prepared.dataset.task
        if task == "binary":
            p = model.predict_proba(self.boundary_inputs)
            return p if p.ndim == 1 else p[:, 1]
        return model.predict(self.boundary_inputs).astype(np.float64)

    def _drawable(self, run: Run) -> bool:
        h = run.cfg.model.hidden
        return len(h) <= LIMITS["draw_network_max_layers"] and max(h) <= LIMITS["draw_network_max_units"] \
            and self.prepared.X.shape[1] <= LIMITS["draw_network_max_inputs"]

    def _network(self, run: Run) -> dict:
        """Each hidden unit's output over a 16 x 16 grid of the plane, and every W (n_out, n_in)."""
        model, ctx = run.model, Context(xp=np, train=False)
        x, units, dense_seen = self.unit_inputs, [], False
        for layer, p, s in zip(model.layers, model.params, model.state):
            if isinstance(layer, Dense):
                if dense_seen:                  # x is the previous hidden block's output (m, units)
                    units.append(x)
                dense_seen = True
            x = layer.forward(p, s, x, ctx)[0]
        weights = [np.round(p[0], 5) for layer, p in zip(model.layers, model.params) if isinstance(layer, Dense)]
        return {"units": [[{"grid": grid_values(a[:, j])} for j in range(a.shape[1])] for a in units],
                "weights": weights}

    def export(self) -> dict:
        """The ``export`` message: the configuration as TOML, with train.epochs = epochs trained,
        which ``deepbasics train`` runs to the same cost at every epoch. An uploaded file is named
        by its file name (and data.fingerprint): it is expected beside the TOML file."""
        path = self.cfg.data.path
        out = {"type": "export", "filename": "playground.toml", "toml": self._toml(self.runs[0]), "compare": None,
               "data_file": Path(path).name if path else None}
        if len(self.runs) > 1:
            out["compare"] = {"filename": "playground-compare.toml", "toml": self._toml(self.runs[1])}
        return out

    def _toml(self, run: Run) -> str:
        engine = run.fit_args["engine"]
        if engine == "auto" and run.model.engine_used:          # resolved by a chunk still in progress
            engine = run.model.engine_used
        cfg = dataclasses.replace(run.cfg, train=dataclasses.replace(run.cfg.train, epochs=max(run.epoch, 1),
                                                                      engine=engine))
        raw = cfg.to_dict()
        if cfg.data.path:
            raw["data"]["path"] = Path(cfg.data.path).name       # beside the TOML file
        return config_mod.to_toml(raw)


