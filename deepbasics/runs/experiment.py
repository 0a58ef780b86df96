"""One experiment run from a Config: data → split → standardise → model → fit → metrics.

    prepared = prepare(cfg)                  # the data, split and standardised (runs.prepare)
    result = run(label, cfg, prepared, progress=..., checkpoint=...)

The checked ``Config`` (``runs.config``) already holds the optimizer, schedule and early-stopping
objects; here the rest of the run is built from it, once: the network (``build_model``, through
``activations.ACTIVATIONS``) and the arguments of ``Sequential.fit`` (``fit_arguments``), which
``deepbasics train``, the playground's worker, the estimators and the cluster all use. ``run`` returns
a ``RunResult`` of plain data (history, metrics, the decision-boundary grid, the confusion
matrix), which the report draws; it holds no model, so it travels between processes.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

import numpy as np

from ..data import datasets
from ..errors import ConfigError, DeepBasicsError, DivergedError
from ..learn import checkpoint as ckpt_io
from ..learn.batching import is_mapped, steps_per_epoch
from ..learn.history import History
from ..learn.model import Sequential
from ..nn import activations, losses
from ..nn.batchnorm import BatchNorm
from ..nn.dense import Dense
from ..nn.dropout import Dropout
from ..nn.network import fuse_output, shapes_of, unflatten
from .config import Config, from_dict
from .prepare import Prepared, prepare  # noqa: F401  (experiment.prepare: every front end's entry)

BOUNDARY_GRID = 160          # the decision-boundary picture is evaluated on 160 x 160 points


# -- the spec to objects ---------------------------------------------------------------------------
def _mismatch(key: str, message: str) -> ConfigError:
    """A setting that does not fit the data (known only once the data are read), keyed like
    the validator's errors."""
    return ConfigError("", key, message, line=message)


def output_units(cfg: Config, data: datasets.Dataset) -> tuple[int, str]:
    """(units, activation name) of the output layer for the task and ``model.output``."""
    if data.task == "regression":
        units, auto = 1, "linear"
    elif data.task == "binary":
        units, auto = 1, "sigmoid"
    else:
        units, auto = data.n_classes, "softmax"
    act = auto if cfg.model.output == "auto" else cfg.model.output
    if act == "softmax" and data.task == "binary":
        units = 2
    if act == "sigmoid" and data.task == "multiclass":
        raise _mismatch("model.output", f"model.output = 'sigmoid' gives one output, but the data have "
                              f"{data.n_classes} classes; use 'softmax' (or 'auto')")
    return units, act


def loss_name(cfg: Config, data: datasets.Dataset, output: str) -> str:
    """The loss for the task (train.loss = "auto"), or the one asked for if the data allow it."""
    if cfg.train.loss != "auto":
        chosen = losses.LOSSES[cfg.train.loss]
        if chosen is losses.BinaryCrossEntropy and data.task == "multiclass":
            raise _mismatch("train.loss", f"train.loss = {cfg.train.loss!r} takes labels 0 and 1, but {data.name} has "
                                  f"{data.n_classes} classes; use 'categorical_crossentropy' (or 'auto')")
        if chosen is losses.BinaryCrossEntropy and output == "softmax":
            raise _mismatch("train.loss", f"train.loss = {cfg.train.loss!r} needs one sigmoid output, but model.output "
                                  f"is 'softmax'; use 'categorical_crossentropy' (or 'auto')")
        if chosen is not losses.MeanSquaredError and data.task == "regression":
            raise _mismatch("train.loss", f"train.loss = {cfg.train.loss!r} needs class labels, but {data.name}'s target "
                                  f"is a continuous value (regression); use 'mse' (or 'auto')")
        return cfg.train.loss
    if data.task == "regression":
        return "mean_squared_error"
    return "categorical_crossentropy" if output == "softmax" else "binary_crossentropy"


def build_model(cfg: Config, data: datasets.Dataset, n_in: int) -> tuple[Sequential, str]:
    """The network the config describes, with its initial weights; returns (model, loss name)."""
    m = cfg.model
    layers = []
    for width, act in zip(m.hidden, m.activations()):
        layers.append(Dense(width, l1=m.l1, l2=m.l2))
        after = m.batch_norm_position == "after"
        if m.batch_norm and not after:
            layers.append(BatchNorm())
        layers.append(activations.ACTIVATIONS[act]())
        if m.batch_norm and after:
            layers.append(BatchNorm())
        if m.dropout > 0:
            layers.append(Dropout(m.dropout))
    units, act = output_units(cfg, data)
    layers += [Dense(units, l1=m.l1, l2=m.l2), activations.ACTIVATIONS[act]()]
    return Sequential(layers, input_dim=n_in, init=m.init, seed=m.seed), loss_name(cfg, data, act)


def fit_arguments(cfg: Config, loss: str, validation_data=None) -> dict:
    """The keyword arguments of ``Sequential.fit`` that a config fixes (all but epochs,
    initial_epoch and on_epoch), with ``validation_data`` (X_val, y_val) or None: every front end
    trains with these."""
    tc = cfg.train
    return {"loss": loss, "optimizer": cfg.optimizer, "batch_size": tc.batch, "schedule": cfg.schedule,
            "shuffle": tc.shuffle, "shuffle_seed": tc.shuffle_seed, "validation_data": validation_data,
            "validation_freq": tc.validation_freq, "engine": tc.engine,
            "noise_seed": cfg.model.seed if tc.noise_seed is None else tc.noise_seed, "dtype": tc.dtype,
            "clip_norm": tc.clip_norm, "clip_value": tc.clip_value, "diagnostics_every": tc.diagnostics_every,
            "early_stopping": tc.early_stopping, "drop_last": tc.drop_last}


def choose_engines(runs, prepared: dict, processes: int) -> dict:
    """The engine of each run of a command whose config says "auto", decided for the runs together
    (``engines.auto.together``: a process imports JAX once for all the runs it takes), as
    {label: {"engine": "numpy" | "jax", "why": {...}}}. A single run, a run on a memory map (NumPy's)
    and a run on a named engine are left to ``fit``."""
    from ..learn.engines import auto
    chosen = [(label, cfg) for label, cfg in runs
              if cfg.train.engine == "auto" and not is_mapped(prepared[label].X_train)]
    if len(chosen) < 2:
        return {}
    sizes = []
    for label, cfg in chosen:
        p, tc = prepared[label], cfg.train
        model, _ = build_model(cfg, p.dataset, p.X_train.shape[1])
        m = len(p.y_train)
        batch = m if tc.batch is None else min(tc.batch, m)
        sizes.append((tc.epochs * steps_per_epoch(m, tc.batch, tc.drop_last), batch * model.count_params()))
    decision = auto.together(sizes, processes)
    return {label: {"engine": decision["engine"], "why": {"updates": updates, **decision}}
            for (label, _), (updates, _) in zip(chosen, sizes)}


def validation_of(prepared: Prepared):
    """(X_val, y_val) of a prepared run, or None when it holds out no validation set."""
    return (prepared.X_val, prepared.y_val) if len(prepared.y_val) else None


# -- one run --------------------------------------------------------------------------------------
@dataclass
class RunResult:
    """What a run leaves for the report (plain data; no model)."""
    label: str
    config: dict
    status: str = "ok"                 # ok | diverged | interrupted
    message: str = ""
    epochs_done: int = 0
    seconds: float = 0.0
    history: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)     # {"train": {"loss":, "accuracy":}, "val": ..., "test": ...}
    task: str = "binary"
    dataset: str = ""                  # the data set's name ("moons", "patients.csv")
    classes: tuple = ()
    split: dict = field(default_factory=dict)
    boundary: dict | None = None       # {"xx", "yy", "p", "X", "y"}: the 2-D picture
    confusion: list | None = None      # (k, k) counts on the test split (validation if no test)
    confusion_on: str = ""
    standardized: bool = False
    n_params: int = 0
    engine: str = ""                   # the engine that trained it ("auto" resolved): numpy | jax
    dtype: str = ""                    # float64 | float32

    @property
    def stopped(self) -> dict | None:
        """Where and why early stopping ended the run (``History.stopped``), or None."""
        return self.history.get("stopped") or None

    def stop_note(self) -> str:
        """What early stopping did, in a sentence, epochs counted from 1 as in the report: 'stopped
        early after 116 of 200 epochs: val_loss did not improve for 20 epochs (best 0.0812 at
        epoch 96, whose weights were restored)'; '' when it did not stop the run."""
        s = self.stopped
        if not s:
            return ""
        planned = (self.history.get("params") or {}).get("epochs") or (self.config.get("train") or {}).get("epochs")
        rule = (self.history.get("params") or {}).get("early_stopping") or {}
        patience, every = rule.get("patience"), (self.config.get("train") or {}).get("validation_freq") or 1
        unit = "epoch" if every == 1 or s["monitor"] == "cost" else "validation"
        waited = f" for {patience} {unit}{'s' if patience != 1 else ''}" if patience else ""
        if unit == "validation":
            waited += f" (one every {every} epochs)"
        kept = "whose weights were restored" if s.get("restored") else "the last epoch's weights kept"
        best = s.get("best")
        best_text = f"best {best:.6g} at epoch {s['best_epoch'] + 1}" if best is not None else "no best value"
        of = f" of {planned:,}" if planned else ""
        return (f"stopped early after {s['epoch'] + 1:,}{of} epochs: {s['monitor']} did not improve{waited} "
                f"({best_text}, {kept})")

    def to_json(self) -> dict:
        """The result without the large arrays, JSON-safe (NaN as null). _json_safe builds new
        containers, so no deep copy first (dataclasses.asdict would copy every history value)."""
        return ckpt_io._json_safe({f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                                   if f.name != "boundary"})


class Recorder:
    """The ``on_epoch`` callback of a run: keeps the history, the newest TrainState (for a
    checkpoint on Ctrl-C), drives the progress display and writes periodic checkpoints."""

    def __init__(self, history: History, progress=None, every: int = 0, save=None):
        self.history, self.progress, self.every, self.save = history, progress, every, save
        self.epoch, self.state = None, None

    @property
    def state_every(self) -> int:
        """The epochs whose state it needs (0: only the last): a compiled engine may run the
        others as one block and call it with ``state`` None for them (see train.run_epochs)."""
        return self.every if self.save is not None else 0

    def __call__(self, epoch, state, values):
        self.history.append(epoch, values)
        if state is not None:
            self.epoch, self.state = epoch, state
        if self.progress is not None:
            self.progress.update(epoch, values)
        if self.every and self.save is not None and (epoch + 1) % self.every == 0 and state is not None:
            self.save(epoch + 1, state)


def _merge(previous: dict | None, history: History) -> History:
    """A checkpoint's history followed by the epochs trained since (diagnostics too)."""
    if not previous:
        return history
    merged = History(_merged_params(previous, history.params))
    merged.diagnostics = list(previous.get("diagnostics", [])) + list(history.diagnostics)
    merged.stopped = history.stopped or previous.get("stopped")
    cols = {k: [np.nan if v is None else v for v in vals] for k, vals in previous["history"].items()}
    for i, e in enumerate(previous["epoch"]):
        merged.append(e, {k: v[i] for k, v in cols.items()})
    for i, e in enumerate(history.epoch):
        merged.append(e, {k: v[i] for k, v in history.history.items()})
    return merged


def _merged_params(previous: dict, now: dict) -> dict:
    """A resumed run's settings: those it started with (a resume changes only epochs and the
    engine), its engine "jax then numpy" when the fit that continued it ran on another one. A
    checkpoint written during a fit holds no settings yet: the continuing fit's then, counted from
    the checkpoint's first epoch."""
    before = previous.get("params") or {}
    if not before:
        first = previous.get("epoch") or [now.get("initial_epoch", 0)]
        return {**now, "initial_epoch": first[0]} if now else {}
    if not now:
        return dict(before)
    merged = {**before, "epochs": now.get("epochs", before.get("epochs"))}
    engines = str(before.get("engine", "")).split(" then ")
    if now.get("engine") and now["engine"] != engines[-1]:
        merged["engine"] = " then ".join([*filter(None, engines), now["engine"]])
    return merged


def run(label: str, cfg: Config, prepared: Prepared | None = None, *, progress=None,
        checkpoint: str | None = None, checkpoint_every: int = 0, resume: str | None = None,
        engine: dict | None = None) -> RunResult:
    """Train one run of a config; evaluate it; return its RunResult.

    checkpoint        where to write checkpoints (every ``checkpoint_every`` epochs, at the end,
                      and on Ctrl-C or divergence, so the last good weights are kept)
    resume            a checkpoint to continue from: its weights, optimizer state and history
    engine            for train.engine "auto": the engine ``choose_engines`` chose with the
                      command's other runs ({"engine", "why"}); None lets ``fit`` choose
    A diverged run returns status "diverged" (the last good weights evaluated); Ctrl-C saves the
    checkpoint (when one is asked for) and raises ``Interrupted``.
    """
    # Overflow on the way to a NaN cost is reported once, as the divergence, not as warnings.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return _run(label, cfg, prepared, progress=progress, checkpoint=checkpoint,
                    checkpoint_every=checkpoint_every, resume=resume, engine=engine)


def _run(label, cfg, prepared, *, progress, checkpoint, checkpoint_every, resume, engine) -> RunResult:
    """The run's steps: build it, continue a checkpoint, train, save, evaluate."""
    run_ = _Run(label, cfg, prepared or prepare(cfg), checkpoint, engine)
    if resume:
        run_.resume_from(resume)
    result = run_.new_result()
    start = time.perf_counter()
    try:
        run_.train(result, progress, checkpoint_every)
    finally:
        if progress is not None:
            progress.close()
    result.seconds = time.perf_counter() - start
    result.epochs_done = int(run_.model.epochs_done)
    result.history = run_.history_so_far().to_dict()
    result.engine = result.history["params"].get("engine") or run_.model.engine_used or ""
    result.dtype = result.history["params"].get("dtype") or run_.cfg.train.dtype
    if checkpoint:       # the final weights, or the last good ones of a diverged run
        m = run_.model
        ckpt_io.save(checkpoint, params=m.params, state=m.state, opt_state=m.opt_state,
                     epoch=result.epochs_done, meta=run_.meta(result.epochs_done, result.status))
    _evaluate(run_.model, run_.prepared, result)
    return result


class _Run:
    """One run's model, its history so far (a resumed checkpoint's, then this fit's) and its
    checkpoint file."""

    def __init__(self, label: str, cfg: Config, prepared: Prepared, checkpoint: str | None,
                 engine: dict | None = None):
        self.label, self.cfg, self.prepared, self.checkpoint = label, cfg, prepared, checkpoint
        self.engine = engine if cfg.train.engine == "auto" else None     # {"engine", "why"} chosen for it
        self.model, self.loss = build_model(cfg, prepared.dataset, prepared.X_train.shape[1])
        self.previous, self.initial, self.finished = None, 0, False
        self.history = History()
        self.n_body = len(fuse_output(self.model.layers, losses.get(self.loss))[0])
        self.steps = steps_per_epoch(len(prepared.y_train), cfg.train.batch, cfg.train.drop_last)

    def resume_from(self, path) -> None:
        """Continue the checkpoint at ``path``. Early stopping's counters are not in a checkpoint:
        a run that stopped early is complete, and one caught mid-fit starts over (computing the
        same numbers again)."""
        saved = ckpt_io.load(path)
        _check_resumable(saved, self.cfg, self.prepared, path)
        self.finished = bool((saved.meta.get("history") or {}).get("stopped"))
        if self.cfg.train.early_stopping is None or self.finished:
            ckpt_io.restore(self.model, saved, self.cfg.optimizer)
            self.previous, self.initial = saved.meta.get("history"), saved.epoch

    def settings(self, params: dict) -> dict:
        """The fit's recorded settings, saying "auto" chose the engine when it was chosen for it."""
        if self.engine is None or not params:
            return dict(params)
        return {**params, "engine_asked": "auto", "engine_auto": self.engine["why"]}

    def history_so_far(self) -> History:
        return _merge(self.previous, self.history)

    def new_result(self) -> RunResult:
        data = self.prepared.dataset
        return RunResult(label=self.label, config=self.cfg.to_dict(), task=data.task, dataset=data.name,
                         classes=data.classes, split=self.prepared.split.to_dict(),
                         standardized=self.cfg.data.standardize, n_params=self.model.count_params())

    def meta(self, epoch: int, status: str) -> dict:
        """Everything but the arrays: seeds, optimizer, schedule position, history, config."""
        cfg, tc, model, scaler = self.cfg, self.cfg.train, self.model, self.prepared.scaler
        lr0, schedule = cfg.optimizer.lr, cfg.schedule
        return {**ckpt_io.model_meta(model, losses.get(self.loss)),     # load_model rebuilds the network
                "config": cfg.to_dict(), "label": self.label, "status": status,
                "fingerprint": self.prepared.fingerprint(), "seed": model.seed,
                "shuffle_seed": tc.shuffle_seed if tc.shuffle else None,
                "noise_seed": cfg.model.seed if tc.noise_seed is None else tc.noise_seed, "split_seed": cfg.split.seed,
                "optimizer": ckpt_io.describe_optimizer(cfg.optimizer), "schedule": repr(schedule),
                "schedule_position": {"epoch": epoch, "steps_per_epoch": self.steps,
                                      "lr_next": schedule.rate_after_epoch(lr0, epoch - 1, self.steps)
                                      if epoch > 0 else lr0},
                # x' = (x - mean) / scale turns new raw inputs into what the weights expect
                "standardizer": {"mean": scaler.mean.tolist(), "scale": scaler.scale.tolist()},
                "epochs": tc.epochs, "history": self.history_so_far().to_dict(),
                "engine": model.engine_used or tc.engine}       # the one that ran ("auto" resolved)

    def save(self, epoch: int, state, status: str = "running") -> None:
        """Checkpoint the TrainState ``state`` reached after ``epoch`` epochs (mid-fit)."""
        model, n = self.model, self.n_body
        params = unflatten(np.array(state.theta), shapes_of(model.params[:n])) + list(model.params[n:])
        buffers = list(state.layer_state) + list(model.state[n:])
        ckpt_io.save(self.checkpoint, params=params, state=buffers, opt_state=state.opt_state, epoch=epoch,
                     meta=self.meta(epoch, status))

    def train(self, result: RunResult, progress, checkpoint_every: int) -> None:
        """Fit from ``initial`` to train.epochs; a divergence is the result's status; Ctrl-C
        saves the checkpoint (when one is kept) and raises ``Interrupted``."""
        tc, saving = self.cfg.train, self.checkpoint is not None
        recorder = Recorder(self.history, progress, checkpoint_every if saving else 0, self.save if saving else None)
        try:
            if self.initial < tc.epochs and not self.finished:
                arguments = fit_arguments(self.cfg, self.loss, validation_of(self.prepared))
                if self.engine is not None:
                    arguments["engine"] = self.engine["engine"]
                fitted = self.model.fit(self.prepared.X_train, self.prepared.y_train, epochs=tc.epochs,
                                        initial_epoch=self.initial, on_epoch=recorder, **arguments)
                self.history.diagnostics, self.history.stopped = fitted.diagnostics, fitted.stopped
                self.history.params = self.settings(fitted.params)
            elif self.initial > tc.epochs:
                raise DeepBasicsError(f"the checkpoint has {self.initial} epochs done, more than train.epochs = "
                                      f"{tc.epochs}; raise train.epochs to continue it")
        except DivergedError as err:
            result.status, result.message = "diverged", str(err)
            self.history.diagnostics = list(getattr(err.history, "diagnostics", []))
            self.history.params = self.settings(getattr(err.history, "params", {}))
        except KeyboardInterrupt:
            saved_to = None
            if saving and recorder.state is not None:
                self.save(recorder.epoch + 1, recorder.state, "interrupted")
                saved_to = self.checkpoint
            raise Interrupted(recorder.epoch + 1 if recorder.epoch is not None else self.initial, saved_to) from None
        self.model.loss = losses.get(self.loss)


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during training; ``epoch`` epochs were done; ``checkpoint`` holds them (None: nothing
    was saved, because no checkpoint was asked for or no epoch had finished)."""

    def __init__(self, epoch: int, checkpoint: str | None):
        super().__init__(epoch, checkpoint)
        self.epoch, self.checkpoint = epoch, checkpoint


def _check_resumable(saved, cfg: Config, prepared: Prepared, path) -> None:
    """A checkpoint continues only the run it was saved from: the same checked settings (but
    train.epochs and train.engine, since the engines compute the same numbers) on the same data."""
    stored = saved.meta.get("config")
    if stored is not None:
        try:
            then = from_dict(stored, str(path))
        except DeepBasicsError as err:
            raise DeepBasicsError(f"{path} holds a config this deepbasics cannot read ({err}); "
                                  f"start the run again") from None
        for section in ("data", "split", "model", "optimizer", "schedule"):
            if getattr(then, section) != getattr(cfg, section):
                raise DeepBasicsError(f"{path} was trained with a different [{section}] section; resume it with "
                                      f"its own config (leave CONFIG out to use the one stored in it)")
        free = {"epochs": 1, "engine": "auto"}
        if dataclasses.replace(then.train, **free) != dataclasses.replace(cfg.train, **free):
            raise DeepBasicsError(f"{path} was trained with different [train] settings; only train.epochs and "
                                  f"train.engine may change when resuming")
    if saved.meta.get("fingerprint") not in (None, prepared.fingerprint()):
        raise DeepBasicsError(f"{path} was trained on different data (its training split's fingerprint differs)")


def _evaluate(model: Sequential, prepared: Prepared, result: RunResult) -> None:
    parts = {"train": (prepared.X_train, prepared.y_train), "val": (prepared.X_val, prepared.y_val),
             "test": (prepared.X_test, prepared.y_test)}
    for name, (X, y) in parts.items():
        if len(y):
            result.metrics[name] = model.evaluate(X, y)
    X, y, on = (prepared.X_test, prepared.y_test, "test") if len(prepared.y_test) else \
        (prepared.X_val, prepared.y_val, "validation") if len(prepared.y_val) else \
        (prepared.X_train, prepared.y_train, "train")
    if result.task != "regression":
        k = max(len(result.classes), 2)
        predicted = model.predict(X)
        # A regression-style output (mse on labels) predicts values, not classes: no matrix then.
        if predicted.ndim == 1 and np.all(np.isfinite(predicted)) and np.all(predicted == np.round(predicted)) \
                and predicted.min() >= 0 and predicted.max() < k:
            counts = np.zeros((k, k), dtype=np.int64)
            np.add.at(counts, (y.astype(int), predicted.astype(int)), 1)
            result.confusion, result.confusion_on = counts.tolist(), on
    if prepared.X_train.shape[1] == 2 and result.task != "regression":
        result.boundary = decision_grid(model, prepared.X_train, prepared.y_train, result.task)


def decision_grid(model: Sequential, X: np.ndarray, y: np.ndarray, task: str, n: int = BOUNDARY_GRID) -> dict:
    """The model's output over a square grid covering X (2-D): p(class 1), the class, or the value."""
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = 0.08 * (hi - lo) + 1e-9
    xs = np.linspace(lo[0] - pad[0], hi[0] + pad[0], n)
    ys = np.linspace(lo[1] - pad[1], hi[1] + pad[1], n)
    xx, yy = np.meshgrid(xs, ys)
    grid = np.column_stack([xx.ravel(), yy.ravel()])
    if task == "binary":
        proba = model.predict_proba(grid)
        z = np.clip(proba if proba.ndim == 1 else proba[:, 1], 0.0, 1.0)
    else:
        z = model.predict(grid).astype(np.float64)
    return {"xx": xx, "yy": yy, "z": z.reshape(xx.shape), "X": X, "y": y}
