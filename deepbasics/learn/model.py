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

import numpy as np

from ..errors import DeepBasicsError, check_positive_int, check_whole
from ..nn import diagnostics, initializers, losses
from ..nn.activations import Sigmoid, Softmax
from ..nn.dense import Dense
from ..nn.layer import Context, Layer
from ..nn.network import build, forward, fuse_output
from .batching import as_features, draw_seed
from .paging import scan
from .fit import Batching, FitOptions, Monitoring, Objective, Placement, fit as run_fit
from .history import History

PREDICT_CHUNK = 8192       # rows per forward pass in predict/evaluate (bounds memory)


class Sequential:
    """A stack of layers applied in order."""

    def __init__(self, layers, input_dim: int | None = None, init="he_normal", seed: int | None = None):
        layers = list(layers)
        if not layers:
            raise DeepBasicsError("a Sequential model needs at least one layer")
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise DeepBasicsError(f"layer {i} is {layer!r}, not a deepbasics layer (e.g. Dense(5), ReLU())")
        if seed is not None:
            check_whole("seed", seed)
        self.layers = tuple(layers)
        self.initializer = initializers.get(init)
        self.init = init if isinstance(init, str) else getattr(init, "__name__", "custom")
        self.seed = draw_seed() if seed is None else int(seed)
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

    def _rows(self) -> list[tuple[int, str, int, int]]:
        """(index, short layer name, output width, parameters) per layer."""
        rows, n = [], self.input_dim
        for i, (layer, p) in enumerate(zip(self.layers, self.params)):
            n = p[0].shape[0] if p else n
            rows.append((i, _short_name(layer), n, sum(int(a.size) for a in p)))
        return rows

    def summary(self) -> str:
        """A table: one row per layer with its output width and parameter count, each column
        as wide as its longest entry."""
        self._require_built()
        table = [("#", "layer", "outputs", "params")]
        table += [(str(i), name, str(n), f"{k:,}") for i, name, n, k in self._rows()]
        table.append(("", "total", "", f"{self.count_params():,}"))
        widths = [max(len(row[c]) for row in table) for c in range(4)]
        lines = [f"Sequential(input_dim={self.input_dim}, init={self.init!r}, seed={self.seed})"]
        for i, row in enumerate(table):
            if i == len(table) - 1:
                lines.append("  " + "-" * (sum(widths) + 6))
            lines.append(f"  {row[0]:>{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:>{widths[2]}}  "
                         f"{row[3]:>{widths[3]}}".rstrip())
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """The summary as an HTML table, which Jupyter shows for a model at the end of a cell."""
        import html
        head = f"Sequential(input_dim={self.input_dim}, init={self.init!r}, seed={self.seed})"
        if self.params is None:
            return f"<p><code>{html.escape(head)}</code>: no weights yet (give input_dim or call fit)</p>"
        rows = [f"<tr><td>{i}</td><td><code>{html.escape(name)}</code></td><td>{n}</td><td>{k}</td></tr>"
                for i, name, n, k in self._rows()]
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

    # -- training --------------------------------------------------------------------------
    def fit(self, X, y, *, loss="binary_crossentropy", optimizer="adam", epochs: int = 100,
            batch_size: int | None = 64, schedule=None, shuffle: bool = True, shuffle_seed: int | None = None,
            validation_data=None, validation_freq: int = 1, verbose: int = 0, engine: str = "auto",
            initial_epoch: int = 0, noise_seed: int | None = None, print_fn=print, on_epoch=None,
            dtype="float64", device: str | None = None, clip_norm: float | None = None,
            clip_value: float | None = None, diagnostics_every: int = 0, early_stopping=None,
            drop_last: bool = False, on_batch=None) -> History:
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
        on_epoch       on_epoch(epoch, state, values) after every recorded epoch
        on_batch       on_batch(epoch, k) after the k-th update of an epoch, by the NumPy engine (a
                       compiled engine runs whole epochs): it may block, and the run resumes where it was

        The options are checked in groups and the fit runs as named steps: ``deepbasics.learn.fit``.
        """
        X = as_features(X)       # X's own errors first, then each option group's, then X and y with the model
        options = FitOptions(
            epochs=epochs, initial_epoch=initial_epoch, noise_seed=noise_seed,
            objective=Objective(loss, optimizer, schedule, clip_norm, clip_value),
            batching=Batching(batch_size, shuffle, shuffle_seed, drop_last),
            monitoring=Monitoring(validation_data, validation_freq, early_stopping, diagnostics_every, verbose,
                                  print_fn, on_epoch, on_batch),
            placement=Placement(engine, device, dtype))
        return run_fit(self, X, y, options)

    # -- inference -------------------------------------------------------------------------
    def _output(self, X, upto: int | None = None) -> np.ndarray:
        """The network output (m, n_out) in evaluation mode, in chunks of rows; with ``upto``,
        the output of the first ``upto`` layers (the logits when the last layer is dropped)."""
        self._require_built()
        X = as_features(X)
        if X.shape[1] != self.input_dim:
            raise DeepBasicsError(f"X has {X.shape[1]} features but the model expects {self.input_dim}")
        n = len(self.layers) if upto is None else upto
        return np.concatenate([self._forward_rows(block, n) for _, _, block in scan(X, PREDICT_CHUNK)], axis=0)

    def _forward_rows(self, X, upto: int) -> np.ndarray:
        """The output of the first ``upto`` layers for rows X, in evaluation mode."""
        return forward(self.layers[:upto], self.params[:upto], self.state[:upto], X, Context(xp=np, train=False))[0]

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
        """Mean loss and, for classifiers, accuracy: {'loss': ..., 'accuracy': ...}.

        Computed PREDICT_CHUNK rows at a time (memory: the per-example losses, (m,), and one
        chunk's activations; a memory-mapped X is read once, forwards); the mean is NumPy's over
        the (m,) losses, as if the whole X had gone through at once."""
        loss = losses.get(loss) if loss is not None else (self.loss or self._default_loss())
        self._require_built()
        Y = loss.targets(y, self.n_out)
        X = as_features(X)
        if X.shape[1] != self.input_dim:
            raise DeepBasicsError(f"X has {X.shape[1]} features but the model expects {self.input_dim}")
        if X.shape[0] != Y.shape[0]:
            raise DeepBasicsError(f"X has {X.shape[0]} examples but y has {Y.shape[0]}")
        task = self._task()
        values, right = np.empty(len(Y)), np.empty(len(Y), dtype=bool)
        for start, stop, block in scan(X, PREDICT_CHUNK):
            out, values[start:stop] = self._block_loss(block, Y[start:stop], loss)
            if task == "binary":
                right[start:stop] = self._labels(out) == Y[start:stop, 0]
            elif task == "multiclass":
                right[start:stop] = self._labels(out) == np.argmax(Y[start:stop], axis=1)
        result = {"loss": float(np.mean(values))}
        if task in ("binary", "multiclass"):
            result["accuracy"] = float(np.mean(right))
        return result

    def _block_loss(self, X, Y, loss):
        """(the model's output, the per-example losses (k,)) for rows X with targets Y."""
        body, fused = fuse_output(self.layers, loss)
        if len(body) < len(self.layers):       # loss from the logits: exact, never log(0)
            logits = self._forward_rows(X, len(body))
            out = self.layers[-1].forward((), (), logits, Context(xp=np, train=False))[0]
            return out, fused.forward(logits, Y, np)
        out = self._forward_rows(X, len(self.layers))
        if loss.output_activation is not None and not getattr(loss, "from_logits", False):
            loss = loss.from_logits_version()  # the model's output is a logit
        return out, loss.forward(out, Y, np)

    def _default_loss(self):
        last = self.layers[-1]
        if isinstance(last, Sigmoid):
            return losses.BinaryCrossEntropy()
        if isinstance(last, Softmax):
            return losses.CategoricalCrossEntropy()
        return losses.MeanSquaredError()

    def __repr__(self) -> str:
        return f"Sequential({list(self.layers)!r}, input_dim={self.input_dim}, init={self.init!r}, seed={self.seed})"


def _short_name(layer) -> str:
    """A layer as a summary shows it: ``Dense(10)`` and its settings that differ from the
    defaults (``Dense(10, l2=0.01)``); other layers as their repr."""
    if not isinstance(layer, Dense):
        return repr(layer)
    extra = [f"init={getattr(layer.init, '__name__', 'custom')!r}"] if layer.init is not None else []
    extra += ["use_bias=False"] if not layer.use_bias else []
    extra += [f"{k}={getattr(layer, k):g}" for k in ("l1", "l2") if getattr(layer, k)]
    return f"Dense({', '.join([str(layer.units), *extra])})"
