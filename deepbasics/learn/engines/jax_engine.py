"""The JAX engine: the same ``step.train_step``, traced once under ``jax.numpy`` and compiled.

A block of epochs runs as one XLA program:

    for i in range(n):                           # lax.fori_loop over the block's epochs
        order = orders[i]                        # the epoch's permutation, drawn on the host
        for k, idx in enumerate(order[:full].reshape(-1, batch_size)):   # lax.scan
            state, loss_k = train_step(setup, state, X[idx], Y[idx], rates[i, k], ctx)
        if m % batch_size:                       # the partial last batch: one more step,
            state, loss_k = train_step(...)      # compiled for its own shape
        costs[i] = sum_k loss_k / m

There is no second copy of the math: layers, loss, optimizer and schedule are the NumPy code,
run with ``ctx.xp = jax.numpy``. A network with at least SMALL_STEP_WORK multiply-adds per step
runs ``train_step_split``, the same update with one buffer per weight array instead of one flat
buffer (see ``Program.block``). The permutations come from ``batching.epoch_orders`` (the
same ``RandomState`` draws as the NumPy engine) and are passed in as index arrays; examples are
gathered per batch inside the program, so the dataset is put on the device once and never
copied per epoch. (On the CPU, JAX uses a C-contiguous array of the run's dtype in place when
its buffer is 64-byte aligned, and copies it once per fit otherwise.) The rates come from the
``rates`` array the schedule computed up front.

Precision. The engine computes in the dtype of ``state.theta``. JAX's 64-bit mode is a
global flag; rather than setting it for the whole process, the engine turns it on only
around its own tracing and calls (``jax.enable_x64``), so other JAX code in the process is
unaffected. In float64 the costs equal the NumPy engine's to ~1e-13 relative, not to the bit:
XLA's exp, pow and small matrix products round differently from NumPy's in the last bit. Every
figure of the document prints identically. Epoch costs are summed in float64 in both precisions.

Compilation. Block lengths are padded (the loop runs only the real epochs): to MAX_BLOCK when
that is cheap, else to a power of two, so a run compiles one or a handful of programs. They
are kept for later fits of the same structure (``_PROGRAMS``) and in JAX's persistent
compilation cache on disk (``~/.cache/deepbasics/jax``; ``DEEPBASICS_JAX_CACHE`` names another
folder, or ``off``). JAX has one such cache per process: if the user has not configured one,
importing this engine sets it (and lets it keep programs that compile fast, as these do).
Tiny CPU programs run their kernels inline rather than through XLA's thread pools
(``compiler_options``).

Device. The CPU by default: a small network is dominated by per-step latency, which a GPU
only adds to. ``device="gpu"`` runs on the first GPU (an error if JAX sees none);
``device="auto"`` takes the GPU when JAX sees one and a step has at least
``AUTO_GPU_FLOPS`` multiply-adds (a guess, not measured here: no GPU was at hand).
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .. import optim
from ..batching import epoch_orders
from ...errors import DeepBasicsError
from ...nn.layer import Context
from ...nn.rand import step_key
from ...nn.network import forward, unflatten
from ..step import Setup, TrainState, join_state, split_state, train_step, train_step_split

try:
    import jax
    import jax.numpy as jnp
    from jax import lax
except ImportError:  # pragma: no cover - depends on the environment
    raise DeepBasicsError("engine 'jax' needs JAX, a dependency of deepbasics that is missing here: "
                          "pip install jax (or use engine 'numpy')") from None

CACHE_ENV = "DEEPBASICS_JAX_CACHE"
ORDERS_BUDGET = 64 * 2**20      # bytes of permutation indices sent to the device per call
MAX_BLOCK = 1024                # epochs per compiled call at most
ONE_SHAPE_BYTES = 8 * 2**20     # below this, every block is padded to MAX_BLOCK epochs
AUTO_GPU_FLOPS = 2**24          # multiply-adds per step above which device="auto" picks a GPU
SMALL_STEP_WORK = 2**20         # multiply-adds per step below which a CPU program runs single-threaded
DEVICES = ("cpu", "gpu", "auto")

_PROGRAMS: dict = {}            # structural key -> jitted block function (reused across fits)


def _enable_compilation_cache() -> None:
    """Point JAX's persistent compilation cache at a user cache folder, unless the user did."""
    setting = os.environ.get(CACHE_ENV, "")
    if setting.lower() in ("off", "0", "none") or jax.config.jax_compilation_cache_dir:
        return
    folder = Path(setting) if setting else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) \
        / "deepbasics" / "jax"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return                   # a read-only home: run without the disk cache
    jax.config.update("jax_compilation_cache_dir", str(folder))
    # The programs here compile in well under a second; JAX's defaults would never store them.
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


_enable_compilation_cache()


def pick_device(device: str | None, work: int):
    """The JAX device for ``device`` (None = "cpu"), given ``work`` multiply-adds per step."""
    device = "cpu" if device is None else str(device).lower()
    if device == "cuda":
        device = "gpu"
    if device not in DEVICES:
        raise DeepBasicsError(f"unknown device {device!r}; choose one of: {', '.join(DEVICES)}")
    try:
        gpus = jax.devices("gpu")
    except RuntimeError:
        gpus = []
    if device == "gpu" and not gpus:
        raise DeepBasicsError("device 'gpu' asked for, but JAX sees no GPU (install jax[cuda12], "
                              "or use device='cpu')")
    if device == "gpu" or (device == "auto" and gpus and work >= AUTO_GPU_FLOPS):
        return gpus[0]
    return jax.devices("cpu")[0]


_UNHASHABLE = object()


def state_dtype(params):
    """The floating dtype of a parameter tree (flat buffer or per-layer tuples)."""
    return jax.tree_util.tree_leaves(params)[0].dtype


def _freeze(value):
    """A hashable stand-in for a setting, or _UNHASHABLE."""
    if isinstance(value, (list, tuple)):
        parts = tuple(_freeze(v) for v in value)
        return _UNHASHABLE if any(p is _UNHASHABLE for p in parts) else parts
    try:
        hash(value)
    except TypeError:
        return _UNHASHABLE
    return value


def _structure_key(setup: Setup):
    """What a compiled program depends on: each layer's and the loss's type and settings, the
    optimizer (a frozen dataclass), the shapes and the other settings of ``setup`` (clipping).
    None when something is not hashable (then the program is not shared)."""
    parts = [(type(obj), _freeze(sorted(vars(obj).items()))) for obj in (*setup.layers, setup.loss)]
    optimizer = setup.optimizer
    if type(optimizer).__module__ == optim.__name__:
        # deepbasics' optimizers take the rate as an argument and never read their own ``lr``
        # (the schedule's lr0), so runs that differ only in lr share one program
        optimizer = dataclasses.replace(optimizer, lr=0.0)
    key = _freeze((tuple(parts), optimizer, *setup[3:]))
    return None if key is _UNHASHABLE else key


def _to_host(tree):
    """Device arrays back to NumPy; 0-d integer counters back to Python ints."""
    def host(a):
        a = np.asarray(a)
        return int(a) if a.ndim == 0 and np.issubdtype(a.dtype, np.integer) else a
    return jax.tree_util.tree_map(host, jax.device_get(tree))


class Program(NamedTuple):
    """What the traced code depends on besides its arguments (and nothing else: a cached
    program must not keep a dataset alive)."""
    setup: Setup
    batch_size: int
    m: int
    steps: int                   # updates per epoch
    stochastic: bool             # whether a step needs a random key
    split: bool                  # run step.train_step_split (one buffer per array) inside
    val_task: str | None = None  # "binary", "multiclass" or "regression": validate every epoch inside
    val_output: type | None = None   # the output layer's class, applied to the logits for the labels

    def ctx(self, noise_seed, global_step) -> Context:
        """Context of one step: its key is the noise seed and the step number (``rand.step_key``),
        so the draws are the NumPy engine's, bit for bit."""
        return Context(xp=jnp, train=True, rng=step_key(noise_seed, global_step) if self.stochastic else None)

    def epoch(self, state: TrainState, X, Y, order, rates, epoch, noise_seed):
        """One epoch: scan the complete batches, then the partial one; return (state, cost)."""
        setup, bs = self.setup, self.batch_size
        full = self.m // bs                      # complete batches (>= 1 since bs <= m)
        batches = order[:full * bs].reshape(full, bs)

        def step(carry, xs):
            state, total = carry
            idx, lr, k = xs
            ctx = self.ctx(noise_seed, epoch * self.steps + k)
            state, loss_sum = self.step(setup, state, X[idx], Y[idx], lr, ctx)
            return (state, total + loss_sum.astype(jnp.float64)), None

        (state, total), _ = lax.scan(step, (state, jnp.float64(0.0)),
                                     (batches, rates[:full], jnp.arange(full)))
        if full * bs < self.m:                   # the partial last batch, a shape of its own
            idx = order[full * bs:]
            ctx = self.ctx(noise_seed, epoch * self.steps + full)
            state, loss_sum = self.step(setup, state, X[idx], Y[idx], rates[full], ctx)
            total = total + loss_sum.astype(jnp.float64)
        return state, total / self.m

    def block(self, state: TrainState, X, Y, orders, rates, first_epoch, n, noise_seed, Xv, Yv):
        """Epochs first_epoch .. first_epoch + n - 1; ``orders`` and ``rates`` are padded to a
        power of two rows so that blocks of similar length share one compiled program. Returns
        (state, costs, val) with val[i] = (loss, accuracy) on (Xv, Yv) after epoch i (see
        ``validation``; zeros when the program does not validate)."""
        rows = orders.shape[0]

        def body(i, carry):
            state, costs, val = carry
            state, cost = self.epoch(state, X, Y, orders[i], rates[i], first_epoch + i, noise_seed)
            if self.val_task is not None:
                params = state.theta if self.split else unflatten(state.theta, self.setup.shapes)
                val = val.at[i].set(self.validation(params, state.layer_state, Xv, Yv))
            return state, costs.at[i].set(cost), val

        carry = (jnp.full(rows, jnp.nan, dtype=jnp.float64), jnp.zeros((rows, 2), dtype=jnp.float64))
        if not self.split:
            state, costs, val = lax.fori_loop(0, n, body, (state, *carry))
            return state, costs, val
        # A wide network keeps its parameters and optimizer state as one buffer per array inside
        # the program (step.train_step_split): packing its gradients into one flat buffer at every
        # step compiles to code that costs about as much as the matrix products (W: 2.0 s per
        # epoch split, 4.4 s flat). A tiny network is faster flat (fewer kernels per update).
        state, costs, val = lax.fori_loop(0, n, body, (split_state(state, self.setup.shapes), *carry))
        return join_state(state, jnp), costs, val

    def validation(self, params, layer_state, Xv, Yv):
        """(mean loss, accuracy) on the validation set in evaluation mode, as ``Sequential.evaluate``
        computes them: the loss from the logits, the labels from the output layer's probabilities."""
        ctx = Context(xp=jnp, train=False)
        out, _, _ = forward(self.setup.layers, params, layer_state, Xv.astype(state_dtype(params)), ctx)
        loss = jnp.mean(self.setup.loss.forward(out, Yv, jnp)).astype(jnp.float64)
        if self.val_task == "regression":
            return jnp.stack([loss, jnp.float64(jnp.nan)])
        if self.val_output is not None:
            out = self.val_output().forward((), (), out, ctx)[0]
        if self.val_task == "binary":
            hit = (out[:, 0] > 0.5) == (Yv[:, 0] > 0.5)
        else:
            hit = jnp.argmax(out, axis=1) == jnp.argmax(Yv, axis=1)
        return jnp.stack([loss, jnp.mean(hit.astype(jnp.float64))])

    def step(self, *args):
        return train_step_split(*args) if self.split else train_step(*args)


def compiler_options(device, work: int) -> dict:
    """XLA options for a program on ``device`` with ``work`` multiply-adds per step.

    A tiny network's step is a chain of ~25 small kernels; on the CPU, handing each to a thread
    pool (Eigen's, or XNNPACK/YNNPACK's for the matrix products) costs more than the kernel
    itself. Below SMALL_STEP_WORK they run inline on the calling thread: ~30% faster per step
    on the document's network (measured on 2 cores; see BENCHMARKS.md). Larger steps keep the
    defaults, whose multithreaded matrix products they need.
    """
    if device.platform != "cpu" or work >= SMALL_STEP_WORK:
        return {}
    return {"xla_cpu_multi_thread_eigen": False, "xla_cpu_experimental_ynn_fusion_type": ""}


def compiled(program: Program, options: dict):
    """The jitted ``program.block``, shared by every fit of the same structure and options."""
    # An empty dict is not the same as no options: it compiles without JAX's default XLA
    # settings for the CPU, twice as slow on a wide network. Pass None then.
    opts = options or None
    # The state is donated: XLA updates theta and the optimizer's moments in place instead of
    # copying them at every step of the loop (half the time of a wide network's update).
    key = _structure_key(program.setup)
    if key is None:
        return jax.jit(program.block, compiler_options=opts, donate_argnums=0)
    key = (key, *program[1:], tuple(sorted(options.items())))
    if key not in _PROGRAMS:
        _PROGRAMS[key] = jax.jit(program.block, compiler_options=opts, donate_argnums=0)
    return _PROGRAMS[key]


class JaxEngine:
    """Runs blocks of epochs as compiled XLA programs (see the module docstring)."""

    name = "jax"
    fuses_epochs = True          # the training loop hands over several epochs at once

    def __init__(self, setup: Setup, *, batch_size: int, rates: np.ndarray, shuffle_seed, m: int,
                 noise_seed: int | None = None, device: str | None = None):
        self.m = int(m)
        self.rates = np.asarray(rates)               # (epochs, steps_per_epoch)
        self.shuffle_seed = shuffle_seed
        stochastic = any(layer.stochastic for layer in setup.layers)
        self.noise_seed = int(noise_seed or 0) if stochastic else 0
        work = int(batch_size) * sum(int(np.prod(s)) for shapes in setup.shapes for s in shapes)
        self.program = Program(setup, int(batch_size), self.m, self.rates.shape[1], stochastic,
                               split=work >= SMALL_STEP_WORK)
        self.device = pick_device(device, work)
        self.options = compiler_options(self.device, work)
        self.max_block = max(1, min(MAX_BLOCK, ORDERS_BUDGET // (4 * self.m)))
        self._data = None            # (X, Y) as given, and their device copies
        self._val = None             # (Xv, Yv) on the device, when the program validates
        self.validation = None       # per-epoch (loss, accuracy) of the last run, when it validates

    @property
    def validates(self) -> bool:
        """Whether ``run`` validates after every epoch inside the program (``set_validation``)."""
        return self._val is not None

    def set_validation(self, Xv, Yv, task: str, output) -> None:
        """Compute the validation loss and accuracy on (Xv, Yv) (targets as the loss takes them)
        after every epoch inside the program, so that validating does not end a block. ``task``
        is "binary", "multiclass" or "regression"; ``output`` the output layer's class or None."""
        self.program = self.program._replace(val_task=task, val_output=output)
        self._val = (np.asarray(Xv), np.asarray(Yv))

    # -- running ---------------------------------------------------------------------------
    def rows(self, n: int) -> int:
        """Rows the block's orders are padded to: every block alike when that is at most
        ONE_SHAPE_BYTES of indices (one program to compile), else n up to a power of two."""
        if self.max_block * self.m * 4 <= ONE_SHAPE_BYTES:
            return self.max_block
        return min(self.max_block, 1 << (n - 1).bit_length())

    def _device_data(self, X, Y, dtype):
        """X and Y on the device in the run's dtype, put there once per dataset."""
        if self._data is None or self._data[0] is not X or self._data[1] is not Y:
            self._data = (X, Y, jax.device_put(np.asarray(X, dtype=dtype), self.device),
                          jax.device_put(np.asarray(Y, dtype=dtype), self.device))
        return self._data[2], self._data[3]

    def run(self, state: TrainState, X, Y, epoch_start: int, epoch_stop: int):
        """Advance ``state`` over epochs epoch_start .. epoch_stop - 1; return (state, costs).

        ``state`` comes back as NumPy arrays, so the model and the NumPy engine can use it.
        """
        with jax.enable_x64(True):
            dtype = np.asarray(state.theta).dtype
            Xd, Yd = self._device_data(X, Y, dtype)
            # fresh buffers of our own: the program is free to overwrite them (donation), and
            # must never write into the caller's NumPy arrays (which a zero-copy put could alias)
            dev_state = jax.device_put(jax.tree_util.tree_map(lambda a: jnp.array(a, copy=True), state),
                                       self.device)
            program = compiled(self.program, self.options)
            if self._val is None:
                Xv = Yv = jnp.zeros((1, 1), dtype=dtype)
            else:
                Xv, Yv = (jax.device_put(np.asarray(a, dtype=dtype), self.device) for a in self._val)
            costs, vals = [], []
            epoch = epoch_start
            while epoch < epoch_stop:
                n = min(self.max_block, epoch_stop - epoch)
                rows = self.rows(n)
                orders = np.zeros((rows, self.m), dtype=np.int32)
                orders[:n] = epoch_orders(self.m, range(epoch, epoch + n), self.shuffle_seed)
                rates = np.zeros((rows, self.rates.shape[1]), dtype=dtype)
                rates[:n] = self.rates[epoch:epoch + n]
                dev_state, block_costs, block_vals = program(
                    dev_state, Xd, Yd, jax.device_put(orders, self.device), jax.device_put(rates, self.device),
                    epoch, n, self.noise_seed, Xv, Yv)
                costs.append(np.asarray(block_costs)[:n])
                vals.append(np.asarray(block_vals)[:n])
                epoch += n
            self.validation = None if self._val is None else np.concatenate(vals)
            return _to_host(dev_state), np.concatenate(costs).astype(np.float64)
