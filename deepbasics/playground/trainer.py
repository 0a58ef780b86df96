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
"""
from __future__ import annotations

import dataclasses
import time

import numpy as np

from ..runs import config as config_mod, experiment
from ..data import datasets
from ..nn.dense import Dense
from ..errors import DivergedError
from ..nn.layer import Context
from .protocol import LIMITS, grid_values
from .rates import GrowingRates

BOUNDARY_N = 64             # the decision-boundary grid: 64 x 64 points
UNIT_N = 16                 # each hidden unit's picture: 16 x 16 points
DIAGNOSE_POINTS = 256       # diagnostics run on at most this many training points


class Run:
    """One configuration's model and optimizer, trained in chunks of epochs."""

    def __init__(self, label: str, cfg: config_mod.Config, prepared: experiment.Prepared):
        self.label, self.cfg, self.prepared = label, cfg, prepared
        self.model, loss = experiment.build_model(cfg, prepared.dataset, prepared.X_train.shape[1])
        # the test split's curves take the validation's place; the rates grow with the run
        test = (prepared.X_test, prepared.y_test) if len(prepared.y_test) else None
        self.fit_args = {**experiment.fit_arguments(cfg, loss, test), "validation_freq": 1,
                         "schedule": GrowingRates(cfg.schedule)}
        self.epoch = 0
        self.diverged: str | None = None
        self.points = _empty_points()

    def advance(self, n: int) -> None:
        """Train epochs epoch..epoch+n-1; record their points; on divergence keep the last good
        weights and the message."""
        if self.diverged:
            return
        start = self.epoch
        try:
            history = self.model.fit(self.prepared.X_train, self.prepared.y_train, epochs=start + n,
                                     initial_epoch=start, **self.fit_args)
        except DivergedError as err:
            history = err.history
            self.diverged = str(err)
        if self.fit_args["engine"] == "auto":    # keep the engine "auto" picked for the first chunk:
            self.fit_args["engine"] = self.model.engine_used     # one engine per run, and in its export
        self.epoch = start + len(history.epoch)
        self._record(history)

    def _record(self, history) -> None:
        h, p = history.history, self.points
        n = len(history.epoch)
        if not n:
            return
        p["epoch"] += [e + 1 for e in history.epoch]            # epochs finished, counted from 1
        p["cost"] += h["cost"]
        p["lr"] += h["lr"]
        p["test_cost"] += h.get("val_loss", [None] * n)
        p["test_accuracy"] += h.get("val_accuracy", [None] * n)
        p["accuracy"] += [None] * n

    def sample_accuracy(self) -> None:
        """The training accuracy at the newest epoch, into its point (the others stay null:
        evaluating the whole training split every epoch would slow training down)."""
        if self.points["epoch"] and self.prepared.dataset.task != "regression":
            self.points["accuracy"][-1] = self.model.evaluate(self.prepared.X_train,
                                                              self.prepared.y_train)["accuracy"]

    def take_points(self) -> dict:
        out, self.points = self.points, _empty_points()
        return out


def _empty_points() -> dict:
    return {"epoch": [], "cost": [], "test_cost": [], "accuracy": [], "test_accuracy": [], "lr": []}


class Trainer:
    """The data and one or two runs of a session (compare mode: both on the same split)."""

    def __init__(self, cfg: config_mod.Config, compare: config_mod.Config | None = None):
        self.cfg, self.compare_cfg = cfg, compare
        self.prepared = experiment.prepare(cfg)
        self.raw = datasets.load(cfg.data.name, **cfg.data.options())        # the plane, before features
        self.runs = [Run("A", cfg, self.prepared)]
        if compare is not None:
            self.runs.append(Run("B", compare, self.prepared))
        self.extent = _extent(self.raw.X)
        pick = np.random.RandomState(0).permutation(len(self.prepared.y_train))[:DIAGNOSE_POINTS]
        self.diagnose_on = (self.prepared.X_train[pick], self.prepared.y_train[pick])
        self.boundary_inputs = self._inputs(_grid(self.extent, BOUNDARY_N))
        self.unit_inputs = self._inputs(_grid(self.extent, UNIT_N))

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

    def advance(self, n: int) -> float:
        """``n`` epochs of every live run; returns the seconds it took."""
        start = time.perf_counter()
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for run in self.runs:
                run.advance(n)
        return time.perf_counter() - start

    def _inputs(self, plane: np.ndarray) -> np.ndarray:
        """Raw plane points -> the model's inputs (derived features, then the fitted scaler)."""
        X = datasets.plane_features(plane, self.cfg.data.features or ["x1", "x2"])
        return self.prepared.scaler.transform(X)

    # -- messages --------------------------------------------------------------------------
    def data_message(self) -> dict:
        d, parts = self.raw, self.prepared.split
        return {"type": "data", "task": d.task, "classes": [int(c) if c.isdigit() else c for c in d.classes],
                "extent": self.extent,
                "train": {"x": np.round(d.X[parts.train], 5), "y": d.y[parts.train]},
                "test": {"x": np.round(d.X[parts.test], 5), "y": d.y[parts.test]}}

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
                "boundary": {"n": BOUNDARY_N, "values": grid_values(self._surface(run))} if boundary else None,
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
        model, task = run.model, self.raw.task
        if task == "binary":
            p = model.predict_proba(self.boundary_inputs)
            return p if p.ndim == 1 else p[:, 1]
        return model.predict(self.boundary_inputs).astype(np.float64)

    def _drawable(self, run: Run) -> bool:
        h = run.cfg.model.hidden
        return len(h) <= LIMITS["draw_network_max_layers"] and max(h) <= LIMITS["draw_network_max_units"]

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
        which ``deepbasics train`` runs to the same cost at every epoch."""
        out = {"type": "export", "filename": "playground.toml", "toml": self._toml(self.runs[0]), "compare": None}
        if len(self.runs) > 1:
            out["compare"] = {"filename": "playground-compare.toml", "toml": self._toml(self.runs[1])}
        return out

    def _toml(self, run: Run) -> str:
        cfg = dataclasses.replace(run.cfg, train=dataclasses.replace(run.cfg.train, epochs=max(run.epoch, 1),
                                                                      engine=run.fit_args["engine"]))
        return config_mod.to_toml(cfg.to_dict())


def _extent(X: np.ndarray) -> list[float]:
    """[x1_min, x1_max, x2_min, x2_max] of the points, padded by 8% of their range."""
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = 0.08 * (hi - lo) + 1e-9
    return [float(lo[0] - pad[0]), float(hi[0] + pad[0]), float(lo[1] - pad[1]), float(hi[1] + pad[1])]


def _grid(extent, n: int) -> np.ndarray:
    """n*n points of the plane, row-major from x2_min, x1 varying fastest: (n*n, 2)."""
    xs = np.linspace(extent[0], extent[1], n)
    ys = np.linspace(extent[2], extent[3], n)
    xx, yy = np.meshgrid(xs, ys)
    return np.column_stack([xx.ravel(), yy.ravel()])
