"""``Sequential.fit`` as named steps, and the options it takes, grouped and checked once.

    options = FitOptions(epochs=100, objective=Objective("mse", "adam"), batching=Batching(32))
    history = fit(model, X, y, options)        # what model.fit(X, y, loss="mse", batch_size=32) does

The options are four small frozen groups beside the run's length. Each group checks its values
when it is built, with the one-line messages ``Sequential.fit`` has always given, so a fit
rejected for a bad option has not touched the model:

    Objective   what to optimise: loss, optimizer, schedule, gradient clipping
    Batching    how to batch: batch_size, shuffle, shuffle_seed, drop_last
    Monitoring  how to watch: validation, early stopping, diagnostics, log lines, the epoch callback
    Placement   where to run: engine, device, dtype
    FitOptions  the four groups, with epochs, initial_epoch and noise_seed

``fit`` reads as its steps (as Keras's ``Trainer.fit`` does):

    check_data    X, y and the validation data against the model (built now if it has no weights)
    make_plan     the network the engines run, batch size, steps per epoch, every update's rate,
                  and the engine ("auto" resolved)
    start_state   the TrainState the run starts from (the last fit's optimizer state on resume)
    make_engine   the engine, set up for the plan
    make_history  an empty History whose params record the run's settings
    run           the epoch loop (``loop.run_epochs``), and its result kept in the model
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple

import numpy as np

from ..errors import (DeepBasicsError, check_nonnegative, check_positive_int, check_whole,
                      is_whole)
from ..nn import diagnostics, losses
from ..nn.network import flatten, fuse_output, shapes_of, unflatten
from . import engines, optim, schedules
from .batching import Truncated, as_features, draw_seed, is_mapped, steps_per_epoch
from .early_stopping import EarlyStopping
from .history import History
from .loop import run_epochs
from .step import Setup, TrainState


# -- the options ---------------------------------------------------------------------------------
def _settle(group, **values) -> None:
    """Store a frozen group's checked values (names resolved to objects, counts made ints)."""
    for name, value in values.items():
        object.__setattr__(group, name, value)


@dataclass(frozen=True)
class Objective:
    """What to optimise. After checking, ``loss`` is a Loss, ``optimizer`` an Optimizer (its
    ``lr`` is the schedule's lr0) and ``schedule`` a Schedule (None: ``Constant``).

    clip_norm   None, or > 0: each batch's gradient g (all parameters together) becomes
                g * min(1, clip_norm / (||g||_2 + 1e-6))          (PyTorch's clip_grad_norm_)
    clip_value  None, or > 0: every entry of g is clamped to [-clip_value, clip_value]
    """
    loss: Any = "binary_crossentropy"
    optimizer: Any = "adam"
    schedule: Any = None
    clip_norm: float | None = None
    clip_value: float | None = None

    def __post_init__(self):
        for name in ("clip_norm", "clip_value"):
            value = getattr(self, name)
            if value is not None and check_nonnegative(name, value) == 0:
                raise DeepBasicsError(f"{name} must be > 0 (or None for no clipping), got {value!r}")
        _settle(self, loss=losses.get(self.loss), optimizer=optim.get(self.optimizer),
                schedule=schedules.get(self.schedule))


@dataclass(frozen=True)
class Batching:
    """How to batch an epoch of m examples (see ``batching``).

    batch_size    None: batch GD (b = m); 1: stochastic GD; else mini-batches of b = min(batch_size, m)
    shuffle       False: every epoch in the data's order
    shuffle_seed  epoch e is ordered by RandomState(shuffle_seed + e + 1); None draws one when
                  shuffling (drawn here, once, so the History can record it)
    drop_last     leave out each epoch's last, partial mini-batch: floor(m / b) updates an epoch
    """
    batch_size: int | None = 64
    shuffle: bool = True
    shuffle_seed: int | None = None
    drop_last: bool = False

    def __post_init__(self):
        if not isinstance(self.drop_last, bool):
            raise DeepBasicsError(f"drop_last must be True or False, got {self.drop_last!r}")
        size = None if self.batch_size is None else check_positive_int("batch_size", self.batch_size)
        seed = draw_seed() % (2**31) if self.shuffle and self.shuffle_seed is None else self.shuffle_seed
        _settle(self, batch_size=size, shuffle_seed=None if seed is None else check_whole("shuffle_seed", seed))

    def size(self, m: int) -> int:
        """Examples per update (b above) for m examples."""
        return m if self.batch_size is None else min(self.batch_size, m)

    @property
    def seed(self) -> int | None:
        """The seed that orders the epochs; None when not shuffling (every epoch in order)."""
        return self.shuffle_seed if self.shuffle else None

    def order(self, m: int):
        """What the engines take as ``shuffle_seed``: the seed, or with ``drop_last`` a
        ``Truncated`` order, so that the engines need not know about dropping."""
        return Truncated(self.seed, m) if self.drop_last else self.seed


@dataclass(frozen=True, eq=False)
class Monitoring:
    """How to watch a fit (what it reports and records; none of it changes the weights).

    validation_data    None or a pair (X_val, y_val), evaluated every ``validation_freq`` epochs
                       and after the last one, into the history's ``val_*`` columns
    early_stopping     None, an EarlyStopping or a dict of its settings; an EarlyStopping after checking
    diagnostics_every  N > 0: ``diagnostics.inspect`` before training and after every N-th epoch
    verbose            N > 0: the document's log lines every N epochs (True: every epoch)
    print_fn           where log lines go
    on_epoch           on_epoch(epoch, state, values) after every recorded epoch (see ``loop``)
    on_batch           on_batch(epoch, k) after the k-th update of epoch ``epoch`` (k from 1), in
                       engines that run updates from Python (NumPy; a compiled engine runs a whole
                       epoch as one program and never calls it): a front end's chance to answer
                       mid-epoch. It may block (the run resumes exactly where it was) or raise
                       (the fit ends with that error; the model keeps the weights it had before)
    """
    validation_data: Any = None
    validation_freq: int = 1
    early_stopping: Any = None
    diagnostics_every: int = 0
    verbose: int = 0
    print_fn: Callable[[str], None] = print
    on_epoch: Callable | None = None
    on_batch: Callable | None = None

    def __post_init__(self):
        every = check_whole("diagnostics_every", self.diagnostics_every)
        rule = EarlyStopping.get(self.early_stopping)
        if rule is not None and rule.monitor.startswith("val_") and self.validation_data is None:
            raise DeepBasicsError(f"early stopping monitors {rule.monitor!r}, which needs validation_data "
                                  f"(or monitor 'cost', the training cost)")
        verbose = int(self.verbose) if isinstance(self.verbose, bool) else self.verbose
        if not is_whole(verbose) or verbose < 0:
            raise DeepBasicsError(f"verbose must be a whole number >= 0 (print every N epochs), got {self.verbose!r}")
        freq = check_positive_int("validation_freq", self.validation_freq)
        data = self.validation_data
        if data is not None and (not isinstance(data, (tuple, list)) or len(data) != 2):
            raise DeepBasicsError("validation_data must be a pair (X_val, y_val)")
        _settle(self, validation_freq=freq, early_stopping=rule, diagnostics_every=every, verbose=int(verbose))


def float_dtype(dtype) -> np.dtype:
    """float64 or float32, from a name or a NumPy dtype; anything else is an error."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise DeepBasicsError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
    return dt


@dataclass(frozen=True)
class Placement:
    """Where to run. After checking, ``engine`` is a lower-case name and ``dtype`` a NumPy dtype.

    engine  "auto" (JAX when the run repays compiling it, see ``engines.auto``), "numpy" or "jax"
    device  None, or for engine "jax" (which "auto" then means): "cpu", "gpu" or "auto"
    dtype   float64 (the document's numbers) or float32
    """
    engine: str = "auto"
    device: str | None = None
    dtype: Any = "float64"

    def __post_init__(self):
        dtype = float_dtype(self.dtype)
        if self.device is not None and self.engine not in ("jax", "auto"):
            raise DeepBasicsError(f"device= applies to engine='jax' only (engine is {self.engine!r})")
        engines.get(self.engine)                 # an unknown name fails here, before anything runs
        _settle(self, engine=self.engine.strip().lower(), dtype=dtype)


@dataclass(frozen=True)
class FitOptions:
    """Everything ``Sequential.fit`` takes besides the data.

    epochs         train until epoch ``epochs`` - 1 is done (>= 1)
    initial_epoch  continue a run: epochs initial_epoch..epochs-1 are trained (0..epochs)
    noise_seed     seed of the stochastic layers' draws (dropout, RReLU); None: the model's seed
    """
    epochs: int = 100
    initial_epoch: int = 0
    noise_seed: int | None = None
    objective: Objective = field(default_factory=Objective)
    batching: Batching = field(default_factory=Batching)
    monitoring: Monitoring = field(default_factory=Monitoring)
    placement: Placement = field(default_factory=Placement)

    def __post_init__(self):
        epochs = check_positive_int("epochs", self.epochs)
        if not is_whole(self.initial_epoch) or not 0 <= self.initial_epoch <= epochs:
            raise DeepBasicsError(f"initial_epoch must lie in 0..epochs ({epochs}), got {self.initial_epoch!r}")
        _settle(self, epochs=epochs, initial_epoch=int(self.initial_epoch),
                noise_seed=None if self.noise_seed is None else check_whole("noise_seed", self.noise_seed))


# -- the steps -----------------------------------------------------------------------------------
class Plan(NamedTuple):
    """What a fit runs, worked out from the model, the options and the number of examples."""
    setup: Setup             # layers (an output layer fused into the loss), loss, optimizer, clipping
    m: int                   # training examples
    batch_size: int          # examples per update, <= m
    steps: int               # updates per epoch (batching.steps_per_epoch)
    rates: np.ndarray        # (epochs, steps): the learning rate of every update
    engine: str              # "numpy" or "jax" ("auto" resolved)
    noise_seed: int          # seed of the stochastic layers' draws
    why: dict | None = None  # engine "auto": the run's updates and where JAX starts to pay on this machine


def fit(model, X: np.ndarray, y, options: FitOptions) -> History:
    """Train ``model`` on X (m, n_in), already read by ``batching.as_features``, and y; return
    the History. The model keeps the weights, buffers and optimizer state the run ends with."""
    Y, validate = check_data(model, X, y, options)
    plan = make_plan(model, X.shape[0], options, mapped=is_mapped(X))
    state = start_state(model, plan, options)
    model.engine_used = plan.engine          # recorded even when the engine then fails to start
    runner = make_engine(plan, options)
    history = make_history(model, plan, options)
    model.loss, model.optimizer = options.objective.loss, options.objective.optimizer   # evaluate's loss from now
    if validate is not None and options.monitoring.early_stopping is None and hasattr(runner, "set_validation"):
        validate_in_engine(model, runner, plan, options)
    return run(model, runner, state, X, Y, plan, history, options, validate)


def check_data(model, X: np.ndarray, y, options: FitOptions) -> tuple[np.ndarray, Callable[[], dict] | None]:
    """Check X (m, n_in) and y against the model, which is built for n_in inputs if it has no
    weights yet. Returns Y (m, n_out), the targets as the loss takes them in the run's dtype,
    and the validation function (None without validation data), whose data are checked now
    rather than after the first epoch."""
    if model.params is None:
        model.build(X.shape[1])
    elif X.shape[1] != model.input_dim:
        raise DeepBasicsError(f"X has {X.shape[1]} features but the model expects {model.input_dim}")
    loss = options.objective.loss
    Y = loss.targets(y, model.n_out).astype(options.placement.dtype, copy=False)
    if Y.shape[0] != X.shape[0]:
        raise DeepBasicsError(f"X has {X.shape[0]} examples but y has {Y.shape[0]}")
    data = options.monitoring.validation_data
    return Y, None if data is None else validator(model, data, loss)


def validator(model, validation_data, loss) -> Callable[[], dict]:
    """A function that evaluates the model on (X_val, y_val): {"val_loss": ..., "val_accuracy": ...}."""
    Xv = as_features(validation_data[0], "X_val")
    if Xv.shape[1] != model.input_dim:
        raise DeepBasicsError(f"X_val has {Xv.shape[1]} features but the model expects {model.input_dim}")
    yv = validation_data[1]
    loss.targets(yv, model.n_out)       # fail now, not after the first epoch

    def validate() -> dict:
        return {f"val_{k}": v for k, v in model.evaluate(Xv, yv, loss=loss).items()}
    return validate


def make_plan(model, m: int, options: FitOptions, mapped: bool = False) -> Plan:
    """The run's network, batch size b, steps per epoch, rates and engine. The engine "auto"
    resolves by the run's updates (epochs - initial_epoch) * steps and its work per update,
    b x parameters, and whether X is a memory map (``engines.auto``); a device means engine "jax".
    ``why`` keeps what "auto" went by: the updates, and from how many JAX pays on this machine."""
    obj, batching, where = options.objective, options.batching, options.placement
    body, fit_loss = fuse_output(model.layers, obj.loss)
    setup = Setup(body, fit_loss, obj.optimizer, shapes_of(model.params[:len(body)]), obj.clip_norm, obj.clip_value)
    batch_size = batching.size(m)
    steps = steps_per_epoch(m, batch_size, batching.drop_last)
    rates = obj.schedule.rates(obj.optimizer.lr, options.epochs, steps)
    work = batch_size * sum(int(np.prod(s)) for layer in setup.shapes for s in layer)
    updates = (options.epochs - options.initial_epoch) * steps
    engine = "jax" if where.device is not None else \
        engines.auto.resolve(where.engine, updates=updates, work=work, mapped=mapped)
    why = None
    if where.engine == "auto" and where.device is None:
        why = {"updates": updates, "mapped": True} if mapped else \
            {"updates": updates, "jax_from_updates": engines.auto.crossover_updates(work)}
    noise_seed = model.seed if options.noise_seed is None else options.noise_seed
    return Plan(setup, m, batch_size, steps, rates, engine, noise_seed, why)


def _cast(a, dtype):
    """A floating array in ``dtype``; counters and other values as they are."""
    return a.astype(dtype, copy=False) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a


def start_state(model, plan: Plan, options: FitOptions) -> TrainState:
    """The model's weights (flat) and buffers in the run's dtype, with the optimizer state of
    the last fit when this one continues it (initial_epoch > 0, an equal optimizer), else a
    fresh one (``optimizer.init``)."""
    dtype, optimizer, n = options.placement.dtype, options.objective.optimizer, len(plan.setup.layers)
    theta = flatten(model.params[:n], np).astype(dtype, copy=False)
    resume = options.initial_epoch > 0 and model.opt_state is not None and model.optimizer == optimizer
    opt_state = type(model.opt_state)(*(_cast(a, dtype) for a in model.opt_state)) if resume \
        else optimizer.init(theta, np)
    layer_state = [tuple(_cast(a, dtype) for a in s) for s in model.state[:n]]
    return TrainState(theta, opt_state, layer_state)


def make_engine(plan: Plan, options: FitOptions):
    """The engine that runs the plan. With ``drop_last`` it is told it has m_used = steps * b
    examples an epoch, the first m_used of each epoch's order of all m (``batching.Truncated``),
    so it just runs fewer steps. An engine with an ``on_batch`` attribute gets the monitoring's."""
    device = options.placement.device
    m_used = plan.steps * plan.batch_size if options.batching.drop_last else plan.m
    runner = engines.get(plan.engine)(plan.setup, batch_size=plan.batch_size, rates=plan.rates,
                                      shuffle_seed=options.batching.order(plan.m), m=m_used,
                                      noise_seed=plan.noise_seed, **({} if device is None else {"device": device}))
    if options.monitoring.on_batch is not None and hasattr(runner, "on_batch"):
        runner.on_batch = options.monitoring.on_batch         # engines that update from Python call it
    return runner


def validate_in_engine(model, runner, plan: Plan, options: FitOptions) -> None:
    """Let a compiled engine validate inside its program when it computes what ``evaluate``
    does: the loss on the body's output (a fused output layer, or a loss without one)."""
    loss, (Xv, yv) = options.objective.loss, options.monitoring.validation_data
    fused = len(plan.setup.layers) < len(model.layers)
    task = model._task()
    if not fused and (loss.output_activation is not None or task != "regression"):
        return
    runner.set_validation(as_features(Xv, "X_val"), loss.targets(yv, model.n_out), task,
                          type(model.layers[-1]) if fused else None)


def make_history(model, plan: Plan, options: FitOptions) -> History:
    """An empty History whose ``params`` record the run's settings, the drawn seeds included."""
    obj, batching, rule = options.objective, options.batching, options.monitoring.early_stopping
    return History({"epochs": options.epochs, "initial_epoch": options.initial_epoch, "batch_size": plan.batch_size,
                    "steps_per_epoch": plan.steps, "m": plan.m, "shuffle_seed": batching.seed,
                    "seed": model.seed, "noise_seed": plan.noise_seed, "init": model.init,
                    "optimizer": repr(obj.optimizer), "schedule": repr(obj.schedule), "loss": obj.loss.name,
                    "engine": plan.engine, "engine_asked": options.placement.engine, "engine_auto": plan.why,
                    "dtype": options.placement.dtype.name, "drop_last": batching.drop_last,
                    "early_stopping": None if rule is None else vars(rule).copy()})


def run(model, runner, state: TrainState, X, Y, plan: Plan, history: History, options: FitOptions,
        validate) -> History:
    """Run the epoch loop and keep its result in the model: weights, buffers, optimizer state,
    ``epochs_done``. An error that carries a state (DivergedError: the last finite one) is kept
    too before it propagates. Validation evaluates the model, so a state is kept first."""
    obj, watching, n = options.objective, options.monitoring, len(plan.setup.layers)

    def keep(new_state: TrainState) -> None:
        model.params = unflatten(np.array(new_state.theta), plan.setup.shapes) + model.params[n:]
        model.state = list(new_state.layer_state) + model.state[n:]
        model.opt_state = new_state.opt_state

    try:
        final = run_epochs(runner, state, X, Y, epochs=options.epochs, initial_epoch=options.initial_epoch,
                           rates=plan.rates, history=history,
                           lr_after=lambda e: obj.schedule.rate_after_epoch(obj.optimizer.lr, e, plan.steps),
                           verbose=watching.verbose, print_lr=not isinstance(obj.schedule, schedules.Constant),
                           validate=(lambda s: (keep(s), validate())[1]) if validate else None,
                           validation_freq=watching.validation_freq, print_fn=watching.print_fn,
                           on_epoch=with_diagnostics(model, plan, history, X, Y, options),
                           early_stopping=watching.early_stopping)
    except Exception as err:
        if hasattr(err, "state"):
            keep(err.state)
            model.epochs_done = len(history.epoch) + options.initial_epoch
        raise
    keep(final)
    model.epochs_done = options.epochs if history.stopped is None else history.stopped["epoch"] + 1
    return history


def with_diagnostics(model, plan: Plan, history: History, X, Y, options: FitOptions):
    """``on_epoch``, wrapped to record ``diagnostics.inspect`` on up to 512 training examples
    (drawn by the model's seed) into ``history.diagnostics``: now, as epoch initial_epoch - 1,
    then after every ``diagnostics_every``-th epoch and the last one."""
    on_epoch, every, epochs = options.monitoring.on_epoch, options.monitoring.diagnostics_every, options.epochs
    if not every:
        return on_epoch
    pick = np.random.RandomState(model.seed).permutation(X.shape[0])[:512]
    Xd, Yd = np.asarray(X[pick], dtype=np.float64), np.asarray(Y[pick], dtype=np.float64)
    setup, n = plan.setup, len(plan.setup.layers)

    def record(epoch: int, theta, layer_state) -> None:
        params = unflatten(np.asarray(theta, dtype=np.float64), setup.shapes)
        state = [tuple(np.asarray(a, dtype=np.float64) for a in s) for s in layer_state]
        history.diagnostics.append({"epoch": epoch, "layers": diagnostics.inspect(
            setup.layers, params, state, setup.loss, Xd, Yd)})

    record(options.initial_epoch - 1, flatten(model.params[:n], np), model.state[:n])

    def callback(epoch, state, values):
        if (epoch + 1) % every == 0 or epoch == epochs - 1:
            record(epoch, state.theta, state.layer_state)
        if on_epoch is not None:
            on_epoch(epoch, state, values)
    return callback
