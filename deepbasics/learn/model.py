"""``Sequential``: the user's model: layers, weights, and fit / predict / evaluate.

    model = Sequential([Dense(5), ReLU(), Dense(1), Sigmoid()], input_dim=2, init="he", seed=3)
    history = model.fit(X, y, loss="binary_crossentropy", optimizer=optim.Adam(lr=1e-4),
                        batch_size=64, epochs=10000, shuffle_seed=10, verbose=1000)
    model.evaluate(X, y)   # {'loss': ..., 'accuracy': ...}

Examples are rows: X (m, n_in). Weights are drawn at build time from ``RandomState(seed)``
layer by layer, which with init="he" and seed=3 gives the document's ``initialize_parameters``.
A model without a seed draws one and records it in ``model.seed``.
"""
from __future__ import annotations

import numbers

import numpy as np

from ..nn import diagnostics, initializers, losses
from . import engines, optim, schedules
from ..nn.activations import Sigmoid, Softmax
from .batching import Truncated
from ..nn.dense import Dense
from ..errors import DeepBasicsError, as_features, check_nonnegative, check_positive_int
from ..nn.layer import Context, Layer
from ..nn.network import build, flatten, forward, fuse_output, shapes_of, unflatten
from .step import Setup, TrainState
from .early_stopping import EarlyStopping
from .history import History
from .loop import run_epochs

PREDICT_CHUNK = 8192       # rows per forward pass in predict/evaluate (bounds memory)


def _float_dtype(dtype) -> np.dtype:
    """float64 or float32, from a name or a NumPy dtype; anything else is an error."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise DeepBasicsError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
    return dt


def _cast(a, dtype):
    """A floating array in ``dtype``; counters and other values as they are."""
    return a.astype(dtype, copy=False) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a


def _draw_seed() -> int:
    return int(np.random.SeedSequence().generate_state(1)[0])


class Sequential:
    """A stack of layers applied in order."""

    def __init__(self, layers, input_dim: int | None = None, init="he_normal", seed: int | None = None):
        layers = list(layers)
        if not layers:
            raise DeepBasicsError("a Sequential model needs at least one layer")
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise DeepBasicsError(f"layer {i} is {layer!r}, not a deepbasics layer (e.g. Dense(5), ReLU())")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0):
            raise DeepBasicsError(f"seed must be a whole number >= 0, got {seed!r}")
        self.layers = tuple(layers)
        self.initializer = initializers.get(init)
        self.init = init if isinstance(init, str) else getattr(init, "__name__", "custom")
        self.seed = _draw_seed() if seed is None else int(seed)
        self.input_dim = None
        self.params = None          # list of per-layer tuples of arrays
        self.state = None           # list of per-layer tuples of buffers
        self.n_out = None
        self.loss = None            # the loss of the last fit (used by evaluate)
        self.optimizer = None
        self.opt_state = None       # optimizer state after the last fit (for checkpoints)
        self.epochs_done = 0
        self.engine_used = None     # the engine the last fit ran ("auto" resolved)
        if input_dim is not None:
            self.build(input_dim)

    # -- weights ---------------------------------------------------------------------------
    def build(self, input_dim: int) -> "Sequential":
        """Draw the weights for ``input_dim`` inputs (from ``RandomState(seed)``)."""
        self.input_dim = check_positive_int("input_dim", input_dim)
        rng = np.random.RandomState(self.seed)
        self.params, self.state, self.n_out = build(self.layers, self.input_dim, rng, self.initializer)
        self.opt_state, self.epochs_done = None, 0
        return self

    def _require_built(self):
        if self.params is None:
            raise DeepBasicsError("the model has no weights yet: give input_dim or call fit first")

    def get_weights(self) -> list[np.ndarray]:
        """Trainable arrays in layer order (Dense: W (n_out, n_in), then b (n_out,)); copies."""
        self._require_built()
        return [np.array(a) for p in self.params for a in p]

    def set_weights(self, weights) -> None:
        """Replace the trainable arrays; shapes must match ``get_weights()``."""
        self._require_built()
        weights = list(weights)
        shapes = [a.shape for p in self.params for a in p]
        if len(weights) != len(shapes):
            raise DeepBasicsError(f"set_weights expects {len(shapes)} arrays, got {len(weights)}")
        new, k = [], 0
        for p in self.params:
            arrays = []
            for a in p:
                w = np.asarray(weights[k], dtype=np.float64)
                if w.shape != a.shape:
                    raise DeepBasicsError(f"weight {k} has shape {w.shape}, expected {a.shape}")
                if not np.all(np.isfinite(w)):
                    raise DeepBasicsError(f"weight {k} contains NaN or infinite values")
                arrays.append(w.copy())
                k += 1
            new.append(tuple(arrays))
        self.params = new

    def save(self, path, **meta):
        """Write the model to ``path`` (an .npz checkpoint: layers, weights, buffers, loss and
        optimizer state; never pickled); ``deepbasics.load_model(path)`` restores it."""
        from .checkpoint import save_model
        return save_model(path, self, meta=meta or None)

    def count_params(self) -> int:
        self._require_built()
        return sum(int(a.size) for p in self.params for a in p)

    def summary(self) -> str:
        """One line per layer with its output width and parameter count."""
        self._require_built()
        lines, n = [f"Sequential(input_dim={self.input_dim}, init={self.init!r}, seed={self.seed})"], self.input_dim
        for layer, p in zip(self.layers, self.params):
            n = p[0].shape[0] if p else n
            lines.append(f"  {layer!r:<40} out={n:<6} params={sum(int(a.size) for a in p)}")
        lines.append(f"  total params: {self.count_params()}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """The summary as an HTML table, which Jupyter shows for a model at the end of a cell."""
        import html
        head = f"Sequential(input_dim={self.input_dim}, init={self.init!r}, seed={self.seed})"
        if self.params is None:
            return f"<p><code>{html.escape(head)}</code>: no weights yet (give input_dim or call fit)</p>"
        rows, n = [], self.input_dim
        for i, (layer, p) in enumerate(zip(self.layers, self.params)):
            n = p[0].shape[0] if p else n
            name = f"Dense({layer.units})" if isinstance(layer, Dense) else repr(layer)
            rows.append(f"<tr><td>{i}</td><td><code>{html.escape(name)}</code></td>"
                        f"<td>{n}</td><td>{sum(int(a.size) for a in p)}</td></tr>")
        return (f"<table><caption><code>{html.escape(head)}</code></caption>"
                "<thead><tr><th>#</th><th>layer</th><th>outputs</th><th>parameters</th></tr></thead>"
                f"<tbody>{''.join(rows)}</tbody><tfoot><tr><td></td><th>total</th><td></td>"
                f"<td>{self.count_params()}</td></tr></tfoot></table>")

    def get_state(self) -> list[np.ndarray]:
        """Non-trainable buffers in layer order (BatchNorm: running mean, running variance); copies."""
        self._require_built()
        return [np.array(a) for s in self.state for a in s]

    def set_state(self, buffers) -> None:
        """Replace the non-trainable buffers; shapes must match ``get_state()``."""
        self._require_built()
        buffers, new, k = list(buffers), [], 0
        expected = sum(len(s) for s in self.state)
        if len(buffers) != expected:
            raise DeepBasicsError(f"set_state expects {expected} arrays, got {len(buffers)}")
        for s in self.state:
            arrays = []
            for a in s:
                b = np.asarray(buffers[k], dtype=np.float64)
                if b.shape != np.shape(a):
                    raise DeepBasicsError(f"buffer {k} has shape {b.shape}, expected {np.shape(a)}")
                arrays.append(b.copy())
                k += 1
            new.append(tuple(arrays))
        self.state = new

    def diagnose(self, X, y, loss=None) -> list[dict]:
        """Per-layer activation statistics and gradient norms on (X, y), nothing updated
        (see ``deepbasics.diagnostics``); works before training, at initialisation."""
        X = as_features(X)
        if self.params is None:
            self.build(X.shape[1])
        loss = losses.get(loss) if loss is not None else (self.loss or self._default_loss())
        Y = loss.targets(y, self.n_out)
        body, fit_loss = fuse_output(self.layers, loss)
        n = len(body)
        return diagnostics.inspect(body, self.params[:n], self.state[:n], fit_loss, X, Y)

    def _with_diagnostics(self, on_epoch, every: int, history: History, setup: Setup, X, Y, epochs: int,
                          initial_epoch: int):
        """Wrap ``on_epoch`` so that diagnostics are recorded every ``every`` epochs."""
        if not every:
            return on_epoch
        pick = np.random.RandomState(self.seed).permutation(X.shape[0])[:512]
        Xd, Yd = np.asarray(X[pick], dtype=np.float64), np.asarray(Y[pick], dtype=np.float64)
        n = len(setup.layers)

        def record(epoch: int, theta, layer_state) -> None:
            params = unflatten(np.asarray(theta, dtype=np.float64), setup.shapes)
            state = [tuple(np.asarray(a, dtype=np.float64) for a in s) for s in layer_state]
            history.diagnostics.append({"epoch": epoch, "layers": diagnostics.inspect(
                setup.layers, params, state, setup.loss, Xd, Yd)})

        record(initial_epoch - 1, flatten(self.params[:n], np), self.state[:n])

        def callback(epoch, state, values):
            if (epoch + 1) % every == 0 or epoch == epochs - 1:
                record(epoch, state.theta, state.layer_state)
            if on_epoch is not None:
                on_epoch(epoch, state, values)
        return callback

    # -- training --------------------------------------------------------------------------
    def fit(self, X, y, *, loss="binary_crossentropy", optimizer="adam", epochs: int = 100,
            batch_size: int | None = 64, schedule=None, shuffle: bool = True, shuffle_seed: int | None = None,
            validation_data=None, validation_freq: int = 1, verbose: int = 0, engine: str = "auto",
            initial_epoch: int = 0, noise_seed: int | None = None, print_fn=print, on_epoch=None,
            dtype="float64", device: str | None = None, clip_norm: float | None = None,
            clip_value: float | None = None, diagnostics_every: int = 0, early_stopping=None,
            drop_last: bool = False) -> History:
        """Train on X (m, n_in) and y; return the History.

        loss           name or Loss ("binary_crossentropy", "categorical_crossentropy", "mse")
        optimizer      name or Optimizer (``optim.Adam(lr=1e-4)``); its ``lr`` is the schedule's lr0
        batch_size     None or m: batch GD; 1: stochastic GD; otherwise mini-batch (last one partial)
        schedule       None (constant) or a Schedule (``schedules.InverseTimeDecay(1)``)
        shuffle_seed   epoch e is ordered by RandomState(shuffle_seed + e + 1); the document uses 10.
                       None draws a seed, recorded in ``history.params``
        verbose        N > 0 prints the document's log lines every N epochs
        initial_epoch  continue a run: epochs initial_epoch..epochs-1 are trained, with the
                       optimizer state of the previous fit
        noise_seed     seed of the random draws of stochastic layers (dropout, RReLU) in training;
                       defaults to the model's seed
        engine         "auto" (default: "jax" when the run is long enough to repay compiling it, else
                       "numpy"; see deepbasics.engines.auto), "numpy", or "jax" (the same math
                       compiled); recorded in ``history.params["engine"]`` as the one that ran
        dtype          "float64" (default, the document's numbers) or "float32" (faster; the
                       weights come back as float32). X is never copied whole to change its type:
                       batches are converted as they are gathered
        device         engine "jax" (or "auto", which it then means) only: "cpu" (default), "gpu", or
                       "auto" (a GPU for large steps)
        clip_norm      rescale each batch's gradient to global L2 norm <= clip_norm (PyTorch's
                       clip_grad_norm_); clip_value clamps every entry to [-clip_value, clip_value]
        diagnostics_every  N > 0 records ``diagnostics.inspect`` (activation statistics and gradient
                       norms per layer) before training and after every N-th epoch into
                       ``history.diagnostics``, on up to 512 training examples
        early_stopping None, an ``EarlyStopping`` or a dict of its settings ({"monitor": "val_loss",
                       "patience": 10, "min_delta": 0.0, "restore_best_weights": False}); stops
                       when the monitored metric stops improving; ``history.stopped`` says where and why
        drop_last      leave out each epoch's last, partial mini-batch (its examples are drawn
                       again in other epochs): every update sees batch_size examples, so BatchNorm
                       never normalises over a handful of examples; cost = sum of losses / examples used
        """
        X = as_features(X)
        for name, value in (("clip_norm", clip_norm), ("clip_value", clip_value)):
            if value is not None and (check_nonnegative(name, value) == 0):
                raise DeepBasicsError(f"{name} must be > 0 (or None for no clipping), got {value!r}")
        if isinstance(diagnostics_every, bool) or not isinstance(diagnostics_every, numbers.Integral) \
                or diagnostics_every < 0:
            raise DeepBasicsError(f"diagnostics_every must be a whole number >= 0, got {diagnostics_every!r}")
        early_stopping = EarlyStopping.get(early_stopping)
        if early_stopping is not None and early_stopping.monitor.startswith("val_") and validation_data is None:
            raise DeepBasicsError(f"early stopping monitors {early_stopping.monitor!r}, which needs validation_data "
                                  f"(or monitor 'cost', the training cost)")
        if not isinstance(drop_last, bool):
            raise DeepBasicsError(f"drop_last must be True or False, got {drop_last!r}")
        if self.params is None:
            self.build(X.shape[1])
        elif X.shape[1] != self.input_dim:
            raise DeepBasicsError(f"X has {X.shape[1]} features but the model expects {self.input_dim}")
        dtype = _float_dtype(dtype)
        if device is not None and engine not in ("jax", "auto"):
            raise DeepBasicsError(f"device= applies to engine='jax' only (engine is {engine!r})")
        loss = losses.get(loss)
        optimizer = optim.get(optimizer)
        schedule = schedules.get(schedule)
        Y = loss.targets(y, self.n_out).astype(dtype, copy=False)
        m = X.shape[0]
        if Y.shape[0] != m:
            raise DeepBasicsError(f"X has {m} examples but y has {Y.shape[0]}")
        epochs = check_positive_int("epochs", epochs)
        batch_size = m if batch_size is None else min(check_positive_int("batch_size", batch_size), m)
        if isinstance(initial_epoch, bool) or not isinstance(initial_epoch, numbers.Integral) \
                or not 0 <= initial_epoch <= epochs:
            raise DeepBasicsError(f"initial_epoch must lie in 0..epochs ({epochs}), got {initial_epoch!r}")
        if not isinstance(verbose, numbers.Integral) or verbose < 0:
            raise DeepBasicsError(f"verbose must be a whole number >= 0 (print every N epochs), got {verbose!r}")
        validation_freq = check_positive_int("validation_freq", validation_freq)
        if shuffle and shuffle_seed is None:
            shuffle_seed = _draw_seed() % (2**31)
        if shuffle_seed is not None and (not isinstance(shuffle_seed, numbers.Integral) or shuffle_seed < 0):
            raise DeepBasicsError(f"shuffle_seed must be a whole number >= 0, got {shuffle_seed!r}")
        validate = None
        if validation_data is not None:
            validate = self._validator(validation_data, loss)

        body, fit_loss = fuse_output(self.layers, loss)
        setup = Setup(body, fit_loss, optimizer, shapes_of(self.params[:len(body)]), clip_norm, clip_value)
        theta = flatten(self.params[:len(body)], np).astype(dtype, copy=False)
        resume = initial_epoch > 0 and self.opt_state is not None and self.optimizer == optimizer
        opt_state = type(self.opt_state)(*(_cast(a, dtype) for a in self.opt_state)) if resume \
            else optimizer.init(theta, np)
        layer_state = [tuple(_cast(a, dtype) for a in s) for s in self.state[:len(body)]]
        state = TrainState(theta, opt_state, layer_state)
        steps = m // batch_size if drop_last else -(-m // batch_size)
        order = Truncated(shuffle_seed if shuffle else None, m) if drop_last else (shuffle_seed if shuffle else None)
        rates = schedule.rates(optimizer.lr, epochs, steps)
        engines.get(engine)                      # an unknown name fails here, before anything runs
        engine = engine.strip().lower()
        work = batch_size * sum(int(np.prod(s)) for layer in setup.shapes for s in layer)
        engine = "jax" if device is not None else \
            engines.auto.resolve(engine, updates=(epochs - initial_epoch) * steps, work=work)
        self.engine_used = engine
        Engine = engines.get(engine)
        noise_seed = self.seed if noise_seed is None else int(noise_seed)
        # with drop_last the engine sees m_used = steps * batch_size examples an epoch: the first
        # m_used of each epoch's order of all m (batching.Truncated), so it just runs fewer steps
        runner = Engine(setup, batch_size=batch_size, rates=rates, shuffle_seed=order,
                        m=steps * batch_size if drop_last else m, noise_seed=noise_seed,
                        **({} if device is None else {"device": device}))
        history = History({"epochs": epochs, "initial_epoch": initial_epoch, "batch_size": batch_size,
                           "steps_per_epoch": steps, "m": m, "shuffle_seed": shuffle_seed if shuffle else None,
                           "seed": self.seed, "noise_seed": noise_seed, "init": self.init, "optimizer": repr(optimizer),
                           "schedule": repr(schedule), "loss": loss.name, "engine": engine,
                           "dtype": dtype.name, "drop_last": drop_last,
                           "early_stopping": None if early_stopping is None else vars(early_stopping).copy()})
        self.loss, self.optimizer = loss, optimizer
        if validate is not None and early_stopping is None and hasattr(runner, "set_validation"):
            self._validate_in_engine(runner, validation_data, loss, len(body) < len(self.layers))

        def keep(new_state: TrainState) -> None:
            self.params = unflatten(np.array(new_state.theta), setup.shapes) + self.params[len(body):]
            self.state = list(new_state.layer_state) + self.state[len(body):]
            self.opt_state = new_state.opt_state

        try:
            final = run_epochs(runner, state, X, Y, epochs=epochs, initial_epoch=initial_epoch, rates=rates,
                               lr_after=lambda e: schedule.rate_after_epoch(optimizer.lr, e, steps),
                               history=history, verbose=int(verbose),
                               print_lr=not isinstance(schedule, schedules.Constant),
                               validate=(lambda s: (keep(s), validate())[1]) if validate else None,
                               validation_freq=validation_freq, print_fn=print_fn,
                               on_epoch=self._with_diagnostics(on_epoch, diagnostics_every, history, setup,
                                                               X, Y, epochs, initial_epoch),
                               early_stopping=early_stopping)
        except Exception as err:
            if hasattr(err, "state"):
                keep(err.state)
                self.epochs_done = len(history.epoch) + initial_epoch
            raise
        keep(final)
        self.epochs_done = epochs if history.stopped is None else history.stopped["epoch"] + 1
        return history

    def _validator(self, validation_data, loss):
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise DeepBasicsError("validation_data must be a pair (X_val, y_val)")
        Xv = as_features(validation_data[0], "X_val")
        if Xv.shape[1] != self.input_dim:
            raise DeepBasicsError(f"X_val has {Xv.shape[1]} features but the model expects {self.input_dim}")
        yv = validation_data[1]
        loss.targets(yv, self.n_out)       # fail now, not after the first epoch

        def validate() -> dict:
            return {f"val_{k}": v for k, v in self.evaluate(Xv, yv, loss=loss).items()}
        return validate

    def _validate_in_engine(self, runner, validation_data, loss, fused: bool) -> None:
        """Let a compiled engine validate inside its program when it computes what ``evaluate``
        does: the loss on the body's output (a fused output layer, or a loss without one)."""
        task = self._task()
        if not fused and (loss.output_activation is not None or task != "regression"):
            return
        Yv = loss.targets(validation_data[1], self.n_out)
        runner.set_validation(as_features(validation_data[0], "X_val"), Yv, task,
                              type(self.layers[-1]) if fused else None)

    # -- inference -------------------------------------------------------------------------
    def _output(self, X, upto: int | None = None) -> np.ndarray:
        """The network output (m, n_out) in evaluation mode, in chunks of rows; with ``upto``,
        the output of the first ``upto`` layers (the logits when the last layer is dropped)."""
        self._require_built()
        X = as_features(X)
        if X.shape[1] != self.input_dim:
            raise DeepBasicsError(f"X has {X.shape[1]} features but the model expects {self.input_dim}")
        ctx = Context(xp=np, train=False)
        n = len(self.layers) if upto is None else upto
        outs = [forward(self.layers[:n], self.params[:n], self.state[:n], X[i:i + PREDICT_CHUNK], ctx)[0]
                for i in range(0, X.shape[0], PREDICT_CHUNK)]
        return np.concatenate(outs, axis=0)

    def _task(self) -> str:
        last = self.layers[-1]
        if isinstance(last, Sigmoid) or isinstance(self.loss, losses.BinaryCrossEntropy):
            return "binary"
        if isinstance(last, Softmax) or isinstance(self.loss, losses.CategoricalCrossEntropy):
            return "multiclass"
        return "regression"

    def _probabilities(self, out: np.ndarray) -> np.ndarray:
        if self._task() == "binary" and not isinstance(self.layers[-1], Sigmoid):
            out = Sigmoid().fn(out, np)      # a model whose output is a logit
        return out

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities: (m,) for a single sigmoid output, (m, k) for softmax."""
        p = self._probabilities(self._output(X))
        return p[:, 0] if p.shape[1] == 1 else p

    def _labels(self, out: np.ndarray) -> np.ndarray:
        task = self._task()
        if task == "binary":
            return (self._probabilities(out)[:, 0] > 0.5).astype(int)
        if task == "multiclass":
            return np.argmax(out, axis=1)
        return out[:, 0] if out.shape[1] == 1 else out

    def predict(self, X) -> np.ndarray:
        """Labels for classifiers (p > 0.5, or argmax), values for regression: (m,) or (m, k)."""
        return self._labels(self._output(X))

    def evaluate(self, X, y, loss=None) -> dict:
        """Mean loss and, for classifiers, accuracy: {'loss': ..., 'accuracy': ...}."""
        loss = losses.get(loss) if loss is not None else (self.loss or self._default_loss())
        self._require_built()
        Y = loss.targets(y, self.n_out)
        body, fused = fuse_output(self.layers, loss)
        if len(body) < len(self.layers):       # loss from the logits: exact, never log(0)
            logits = self._output(X, upto=len(body))
            out = self.layers[-1].forward((), (), logits, Context(xp=np, train=False))[0]
            value = fused.forward(logits, Y, np) if len(logits) == len(Y) else None
        else:
            out = self._output(X)
            if loss.output_activation is not None and not getattr(loss, "from_logits", False):
                loss = loss.from_logits_version()  # the model's output is a logit
            value = loss.forward(out, Y, np) if len(out) == len(Y) else None
        if value is None:
            raise DeepBasicsError(f"X has {out.shape[0]} examples but y has {Y.shape[0]}")
        result = {"loss": float(np.mean(value))}
        task = self._task()
        if task == "binary":
            result["accuracy"] = float(np.mean(self._labels(out) == Y[:, 0]))
        elif task == "multiclass":
            result["accuracy"] = float(np.mean(self._labels(out) == np.argmax(Y, axis=1)))
        return result

    def _default_loss(self):
        last = self.layers[-1]
        if isinstance(last, Sigmoid):
            return losses.BinaryCrossEntropy()
        if isinstance(last, Softmax):
            return losses.CategoricalCrossEntropy()
        return losses.MeanSquaredError()

    def __repr__(self) -> str:
        return f"Sequential({list(self.layers)!r}, input_dim={self.input_dim}, init={self.init!r}, seed={self.seed})"
