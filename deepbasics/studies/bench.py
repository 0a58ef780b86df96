"""Benchmarks: the engines side by side with the document's code, PyTorch and the machine's SGEMM.

    results = run(["S", "W"], quick=False)          # {"machine": ..., "rows": [...], "targets": [...]}
    print(format_table(results))

Workloads (each contender does the same work: same data, same initial weights, same batches):

    S        the document's seven make_moons trainings (2-5-2-1 ReLU/sigmoid, batch 64, 5000-10000
             epochs): NumPy engine, JAX engine with a cold and a warm compilation cache (each in a
             fresh process), the engine "auto" picks with a warm cache on every core (the wall
             time of ``reproduce``'s parallel trainings), and the document's own code when its
             file is at hand.
    demo     ``deepbasics demo``, the whole command (start-up, three runs, report) in a fresh
             process: engine auto (cold, then warm cache) against ``--set train.engine=numpy``.
    auto     where the JAX engine starts to pay: per-update seconds of both engines and JAX's
             start-up (import + compile, fresh processes, cold and warm cache) for 2-w-w-1
             networks, the break-even number of updates, and where ``engines.auto`` switches.
    vmap     K copies of the document's network (Adam at K learning rates) as one ``jax.vmap``
             program against K compiled runs one after another (not a feature: the measurement
             that decides whether vectorised runs would pay on this machine).
    W        wide: 784-1024-1024-10 ReLU, softmax cross-entropy, Adam 1e-3, batch 256, float32,
             60,000 synthetic examples labelled by a fixed random teacher; one epoch timed after a
             warm-up epoch. NumPy, JAX, PyTorch eager (when importable), and the SGEMM rate of a
             2048^3 float32 matmul measured in the same process as the ceiling.
    D        deep: 50 x (Dense 256 + BatchNorm + ReLU), batch 256, float32, one epoch after a warm-up.
    scaling  seconds per epoch (best of 3 after a warm-up) as m grows (the document's network, batch 64) and as depth grows
             (Dense 64 + ReLU blocks, batch 256); peak memory of a float32 fit on W with
             m = 500,000 (100,000 with ``quick``), each engine in a fresh process.
    L        large data: a 1,000,000 x 20 table with a 0/1 label (100,000 rows with ``quick``),
             written as CSV (~190 MB) and Parquet into a temporary folder. Reading it:
             ``datasets.load`` against pandas and pyarrow (each ending with X and y as NumPy
             arrays), each in a fresh process, with its peak resident memory beside a process
             that only imports the same modules; ratios against the faster of pandas and
             pyarrow. One float32 epoch of 20-64-32-1 (ReLU, sigmoid, binary cross-entropy,
             Adam, batch 256, shuffled) after a warm-up epoch: engine "auto", engine "numpy",
             "auto" on a read-only np.memmap of X, and a plain PyTorch loop, each in a fresh
             process. And the peak memory of a whole ``deepbasics train`` of the CSV, one epoch.

Times are wall-clock seconds (time.perf_counter). Ratios are the contenders' speed over the
baseline's (higher is faster). Nothing here is asserted: machines are noisy.
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from ..nn.activations import ReLU, Softmax
from ..learn.batching import batch_bounds, epoch_order
from ..nn.dense import Dense
from ..errors import DeepBasicsError
from ..learn.model import Sequential

WORKLOADS = ("S", "demo", "W", "D", "scaling", "auto", "vmap", "L", "XL")
DEFAULT_WORKLOADS = WORKLOADS[:-1]     # XL writes 8 GB and runs for many minutes: only when asked
AUTO_ALL_CORES = "deepbasics auto, warm cache, all cores"
REFERENCE_ENV = "DEEPBASICS_REFERENCE"
S_RUNS_QUICK = ("gd_update_lr", "adam_sched")


# -- the machine ----------------------------------------------------------------------------------
def machine() -> dict:
    """Cores, CPU model, BLAS and library versions: what a timing means depends on them."""
    info = {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "python": platform.python_version(),
            "platform": platform.platform(), "cores": os.cpu_count(), "numpy": np.__version__}
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu"] = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        info["cpu"] = platform.processor()
    try:
        from threadpoolctl import threadpool_info
        info["blas"] = [f"{p.get('internal_api')} {p.get('version')} ({p.get('architecture')}, "
                        f"{p.get('num_threads')} threads)" for p in threadpool_info() if p.get("user_api") == "blas"]
    except ImportError:
        info["blas"] = []
    for name in ("jax", "torch"):
        try:
            info[name] = __import__(name).__version__
        except ImportError:
            info[name] = None
    if os.environ.get("OPENBLAS_CORETYPE"):
        info["OPENBLAS_CORETYPE"] = os.environ["OPENBLAS_CORETYPE"]
    info["load_average_at_start"] = _load()
    return info


def _load():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def default_reference() -> Path | None:
    """The document's code when ``$DEEPBASICS_REFERENCE`` names its file; None otherwise (S is
    then timed without it)."""
    return Path(os.environ[REFERENCE_ENV]) if os.environ.get(REFERENCE_ENV) else None


def _row(workload, contender, seconds, *, ratio=None, vs=None, note="", **extra) -> dict:
    return {"workload": workload, "contender": contender, "seconds": seconds, "ratio": ratio, "vs": vs,
            "note": note, **extra}


def _child(task: str, args: dict, env: dict | None = None, timeout: float = 3600) -> dict:
    """Run ``task`` of this module in a fresh Python process; return the JSON it prints last."""
    proc = subprocess.run([sys.executable, "-m", "deepbasics.studies.bench", task, json.dumps(args)],
                          capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=timeout)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise DeepBasicsError(f"benchmark task {task} failed: {tail}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- S: the document's trainings ------------------------------------------------------------------
def _s_runs(engine: str, runs, jobs: int | None = 1) -> dict:
    """Train the document's runs with ``engine`` in ``jobs`` processes (None: every core); the
    seconds of each run, the wall time of all, and whether the figures match."""
    from . import reproduce
    start = time.perf_counter()
    results = {"runs": reproduce.train_runs(list(runs), engine=engine, print_fn=lambda *_: None, jobs=jobs)}
    wall = time.perf_counter() - start
    rows = reproduce.compare(results, reproduce.document_figures())
    return {"seconds": {name: r["seconds"] for name, r in results["runs"].items()}, "wall": wall,
            "jobs": min(jobs or os.cpu_count() or 1, len(runs)),
            "engines": sorted({r["engine"] for r in results["runs"].values()}),
            "matched": sum(r[3] for r in rows), "total": len(rows)}


def bench_s(quick: bool, reference: Path | None, say) -> list[dict]:
    from . import reproduce
    runs = S_RUNS_QUICK if quick else tuple(reproduce.RUNS)
    rows = []
    ref_seconds = None
    if reference is not None:
        if not Path(reference).exists():
            raise DeepBasicsError(f"reference file {reference} does not exist")
        say(f"S: the document's code ({len(runs)} runs) ...")
        proc = subprocess.run([sys.executable, str(reference), *runs], capture_output=True, text=True)
        if proc.returncode != 0:
            raise DeepBasicsError(f"the reference code failed: {(proc.stderr.strip().splitlines() or ['?'])[-1]}")
        per_run = {line.split(" ", 1)[0]: json.loads(line.split(" ", 1)[1])["seconds"]
                   for line in proc.stdout.splitlines() if line.strip()}
        ref_seconds = sum(per_run.values())
        rows.append(_row("S", "document's code", ref_seconds, ratio=1.0, vs="document's code", runs=per_run))

    def add(contender, out):
        total = sum(out["seconds"].values())
        rows.append(_row("S", contender, total, ratio=None if ref_seconds is None else ref_seconds / total,
                         vs=None if ref_seconds is None else "document's code",
                         note=f"figures {out['matched']}/{out['total']}", runs=out["seconds"]))

    say("S: NumPy engine ...")
    add("deepbasics numpy", _s_runs("numpy", runs))
    try:
        import jax  # noqa: F401
    except ImportError:
        rows.append(_row("S", "deepbasics jax", None, note="JAX not installed"))
        return rows
    with tempfile.TemporaryDirectory(prefix="deepbasics-jax-cache-") as cache:
        env = {"DEEPBASICS_JAX_CACHE": cache}
        say("S: JAX engine, cold compilation cache (fresh process) ...")
        add("deepbasics jax, cold cache", _child("s", {"engine": "jax", "runs": list(runs)}, env))
        say("S: JAX engine, warm compilation cache (fresh process) ...")
        add("deepbasics jax, warm cache", _child("s", {"engine": "jax", "runs": list(runs)}, env))
        say("S: engine auto, warm cache, every core (fresh process, as `deepbasics reproduce`) ...")
        out = _child("s", {"engine": "auto", "runs": list(runs), "jobs": None}, env)
        rows.append(_row("S", AUTO_ALL_CORES, out["wall"], ratio=None if ref_seconds is None else ref_seconds / out["wall"],
                         vs=None if ref_seconds is None else "document's code",
                         note=f"figures {out['matched']}/{out['total']}, wall time of the {len(runs)} runs on "
                              f"{out['jobs']} processes (engines: {', '.join(out['engines'])})", runs=out["seconds"]))
    return rows


# -- demo: the whole command -------------------------------------------------------------------
def _command_seconds(args, env: dict | None = None) -> float:
    """Wall seconds of ``python -m deepbasics ARGS`` in a fresh process (start-up included)."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "deepbasics", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})})
    if proc.returncode != 0:
        raise DeepBasicsError(f"deepbasics {args[0]} failed: {(proc.stderr.strip().splitlines() or ['?'])[-1]}")
    return time.perf_counter() - start


def bench_demo(quick: bool, say) -> list[dict]:
    """``deepbasics demo`` as a user runs it (report included), with the engine "auto" picks
    (cold, then warm compilation cache) and with ``--set train.engine=numpy``."""
    extra = ["--epochs", "2000"] if quick else []
    rows = []
    with tempfile.TemporaryDirectory(prefix="deepbasics-demo-") as tmp:
        env = {"DEEPBASICS_JAX_CACHE": str(Path(tmp) / "cache")}
        say("demo: --set train.engine=numpy ...")
        base = _command_seconds(["demo", "--quiet", "--out", str(Path(tmp) / "np"), *extra,
                                 "--set", "train.engine=numpy"], env)
        rows.append(_row("demo", "deepbasics demo --set train.engine=numpy", base, ratio=1.0, vs="numpy demo"))
        for label in ("cold", "warm"):
            say(f"demo: engine auto, {label} cache ...")
            sec = _command_seconds(["demo", "--quiet", "--out", str(Path(tmp) / label), *extra], env)
            rows.append(_row("demo", f"deepbasics demo (auto), {label} cache", sec, ratio=base / sec,
                             vs="numpy demo", note="whole command: start-up, 3 runs on every core, report"))
    return rows


# -- auto: where compiling pays --------------------------------------------------------------------
AUTO_WIDTHS = (5, 64, 256)


def _auto_net(width: int) -> Sequential:
    from ..nn.activations import Sigmoid
    return Sequential([Dense(width), ReLU(), Dense(width), ReLU(), Dense(1), Sigmoid()], input_dim=2, seed=0)


def _moons640():
    from ..data.datasets import moons
    return moons(n_samples=640, noise=0.2, seed=3)             # 10 mini-batches of 64


def update_seconds(width: int, engine: str, epochs: int) -> float:
    """Seconds per update of the 2-w-w-1 network (batch 64, Adam), after a warm-up fit."""
    X, y = _moons640()
    _auto_net(width).fit(X, y, epochs=1, shuffle_seed=1, engine=engine)
    start = time.perf_counter()
    _auto_net(width).fit(X, y, epochs=epochs, shuffle_seed=1, engine=engine)
    return (time.perf_counter() - start) / (epochs * 10)


def start_task(width: int, engine: str) -> dict:
    """In a fresh process: seconds to import the engine and run a first one-epoch fit."""
    start = time.perf_counter()
    from ..learn.engines import get
    get(engine)
    X, y = _moons640()
    _auto_net(width).fit(X, y, epochs=1, shuffle_seed=1, engine=engine)
    return {"seconds": time.perf_counter() - start}


def bench_auto(quick: bool, say) -> list[dict]:
    """The break-even of the JAX engine against NumPy for 2-w-w-1 networks: the start-up JAX adds
    (import + first compile, fresh processes, cold and warm cache) over the saving per update,
    beside what ``engines.auto`` assumes for the same run."""
    from ..learn.engines import auto
    if not _have("jax"):
        return [_row("auto", "crossover", None, note="JAX not installed")]
    rows = []
    for width in AUTO_WIDTHS[:2] if quick else AUTO_WIDTHS:
        say(f"auto: width {width} ...")
        params = 2 * width + width + width * width + width + width + 1
        work = 64 * params
        epochs = max(5, min(300, int(2e6 // work)))
        t_np = update_seconds(width, "numpy", epochs)
        t_jx = update_seconds(width, "jax", epochs)
        with tempfile.TemporaryDirectory(prefix="deepbasics-jax-cache-") as cache:
            env = {"DEEPBASICS_JAX_CACHE": cache}
            np_start = _child("start", {"width": width, "engine": "numpy"}, env)["seconds"]
            cold = _child("start", {"width": width, "engine": "jax"}, env)["seconds"] - np_start
            warm = _child("start", {"width": width, "engine": "jax"}, env)["seconds"] - np_start
        saving = t_np - t_jx
        even = {k: (v / saving if saving > 0 else float("inf")) for k, v in (("cold", cold), ("warm", warm))}
        rule = auto.crossover_updates(work)
        rows.append(_row("auto", f"2-{width}-{width}-1, batch 64", None, width=width, work=work,
                         numpy_us=t_np * 1e6, jax_us=t_jx * 1e6, start_cold_s=cold, start_warm_s=warm,
                         break_even_cold=even["cold"], break_even_warm=even["warm"], rule=rule,
                         note=f"per update numpy {t_np * 1e6:.1f} us, jax {t_jx * 1e6:.1f} us; JAX start-up "
                              f"+{cold:.2f} s cold / +{warm:.2f} s warm: pays from {even['cold']:,.0f} updates "
                              f"(cold) / {even['warm']:,.0f} (warm); auto switches at "
                              f"{'never' if rule is None else format(rule, ',')} (its measured costs)"))
    return rows


# -- vmap: K runs of one structure as one program --------------------------------------------------
def vmap_sweep_seconds(lrs, epochs: int) -> tuple[float, list]:
    """Seconds (compile or cache load included) and final costs of Adam runs of the document's
    network at the rates ``lrs``, trained as one program vectorised over the runs."""
    import jax
    import jax.numpy as jnp
    from jax import lax
    from ..nn import losses
    from ..learn import optim
    from . import reproduce
    from ..learn.batching import epoch_orders
    from ..data.datasets import moons
    from ..learn.engines import jax_engine
    from ..nn.network import flatten, fuse_output, shapes_of
    from ..learn.step import Setup, TrainState
    start = time.perf_counter()
    X, y = moons(n_samples=900, noise=0.2, seed=3)
    model, loss, opt = reproduce.document_model(), losses.get("binary_crossentropy"), optim.Adam(lr=1e-3)
    body, fit_loss = fuse_output(model.layers, loss)
    setup = Setup(body, fit_loss, opt, shapes_of(model.params[:len(body)]))
    steps = -(-900 // 64)
    program = jax_engine.Program(setup, 64, 900, steps, False, False)
    with jax.enable_x64(True):
        theta = flatten(model.params[:len(body)], np)
        state = TrainState(theta, opt.init(theta, np), [tuple(s) for s in model.state[:len(body)]])
        Xd, Yd = jnp.asarray(X), jnp.asarray(loss.targets(y, 1).astype(np.float64))
        orders = jnp.asarray(epoch_orders(900, range(epochs), 10).astype(np.int32))
        rates = jnp.asarray(np.broadcast_to(np.asarray(lrs)[:, None, None], (len(lrs), epochs, steps)).copy())
        states = jax.tree_util.tree_map(lambda a: jnp.broadcast_to(jnp.asarray(a), (len(lrs), *np.shape(a))), state)

        def one(state, rates):
            def body_fn(i, carry):
                s, costs = carry
                s, cost = program.epoch(s, Xd, Yd, orders[i], rates[i], i, 0)
                return s, costs.at[i].set(cost)
            return lax.fori_loop(0, epochs, body_fn, (state, jnp.zeros(epochs)))
        options = jax_engine.compiler_options(jax.devices("cpu")[0], 1)
        _, costs = jax.jit(jax.vmap(one), compiler_options=options)(states, rates)
        costs = np.asarray(costs)
    return time.perf_counter() - start, list(costs[:, -1])


def bench_vmap(quick: bool, say) -> list[dict]:
    from ..learn import optim
    from . import reproduce
    from ..data.datasets import moons
    if not _have("jax"):
        return [_row("vmap", "sweep", None, note="JAX not installed")]
    X, y = moons(n_samples=900, noise=0.2, seed=3)
    rows = []
    for k, epochs in ((8, 500), (32, 250)) if quick else ((8, 2000), (32, 1000)):
        lrs = np.geomspace(1e-4, 1e-2, k)
        say(f"vmap: {k} runs of {epochs} epochs ...")

        def sequential():
            start, costs = time.perf_counter(), []
            for lr in lrs:
                model = reproduce.document_model()
                costs.append(model.fit(X, y, optimizer=optim.Adam(lr=lr), epochs=epochs, batch_size=64,
                                       shuffle_seed=10, engine="jax").cost[-1])
            return time.perf_counter() - start, costs
        sequential()
        vmap_sweep_seconds(lrs, epochs)                     # both compiled (or cached) once before
        t_seq, c_seq = sequential()
        t_vec, c_vec = vmap_sweep_seconds(lrs, epochs)
        diff = float(np.max(np.abs(np.array(c_seq) - np.array(c_vec))))
        rows.append(_row("vmap", f"{k} runs sequential (jax)", t_seq, ratio=1.0, vs=f"{k} sequential"))
        rows.append(_row("vmap", f"{k} runs as one vmap program", t_vec, ratio=t_seq / t_vec, vs=f"{k} sequential",
                         note=f"{epochs} epochs each; final costs differ by at most {diff:.1e}"))
    return rows


# -- W and D: wide and deep, float32 ----------------------------------------------------------
def teacher_data(m: int, n_in: int, n_classes: int = 10, seed: int = 0, chunk: int = 8192):
    """X ~ N(0, 1) float32 (m, n_in) and labels argmax(tanh(X A) B) of a fixed random teacher
    network (n_in-64-n_classes); generated in chunks so that nothing but X itself is big."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n_in, 64), dtype=np.float32) / np.sqrt(n_in)
    B = rng.standard_normal((64, n_classes), dtype=np.float32)
    X = np.empty((m, n_in), dtype=np.float32)
    labels = np.empty(m, dtype=np.int64)
    for start in range(0, m, chunk):
        stop = min(start + chunk, m)
        X[start:stop] = rng.standard_normal((stop - start, n_in), dtype=np.float32)
        labels[start:stop] = np.argmax(np.tanh(X[start:stop] @ A) @ B, axis=1)
    return X, labels


def wide_model(n_in: int = 784, width: int = 1024, seed: int = 0) -> Sequential:
    return Sequential([Dense(width), ReLU(), Dense(width), ReLU(), Dense(10), Softmax()], input_dim=n_in, seed=seed)


def deep_model(depth: int = 50, width: int = 256, n_in: int = 256, seed: int = 0) -> Sequential:
    from ..nn.batchnorm import BatchNorm
    layers = []
    for _ in range(depth):
        layers += [Dense(width), BatchNorm(), ReLU()]
    return Sequential(layers + [Dense(10), Softmax()], input_dim=n_in, seed=seed)


def epoch_seconds(model: Sequential, X, y, *, engine: str, epochs: int = 2, batch_size: int = 256,
                  lr: float = 1e-3, loss="categorical_crossentropy", optimizer=None) -> tuple[list[float], list]:
    """Train ``epochs`` float32 epochs with Adam; return each epoch's seconds and cost."""
    from ..learn import optim
    stamps = [time.perf_counter()]
    history = model.fit(X, y, loss=loss, optimizer=optimizer or optim.Adam(lr=lr), epochs=epochs,
                        batch_size=batch_size, shuffle_seed=10, engine=engine, dtype="float32",
                        on_epoch=lambda *_: stamps.append(time.perf_counter()))
    return list(np.diff(stamps)), list(history.cost)


def torch_epoch_seconds(model: Sequential, X, labels, *, epochs: int = 2, batch_size: int = 256,
                        lr: float = 1e-3) -> tuple[list[float], list]:
    """The same network in PyTorch eager (same initial weights and batches), float32, Adam."""
    import torch
    from ..nn.batchnorm import BatchNorm
    modules, weights = [], iter(model.get_weights())
    n_in = model.input_dim
    for layer in model.layers:
        if isinstance(layer, Dense):
            lin = torch.nn.Linear(n_in, layer.units)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(next(weights)))
                lin.bias.copy_(torch.from_numpy(next(weights)))
            modules.append(lin)
            n_in = layer.units
        elif isinstance(layer, BatchNorm):
            bn = torch.nn.BatchNorm1d(n_in, eps=layer.eps, momentum=layer.momentum)
            with torch.no_grad():
                bn.weight.copy_(torch.from_numpy(next(weights)))
                bn.bias.copy_(torch.from_numpy(next(weights)))
            modules.append(bn)
        elif isinstance(layer, ReLU):
            modules.append(torch.nn.ReLU())
        # a final Softmax is folded into cross_entropy, as deepbasics fuses it into the loss
    net = torch.nn.Sequential(*modules).float()
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    Xt, yt = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)), torch.from_numpy(labels)
    m = X.shape[0]
    seconds, costs = [], []
    for epoch in range(epochs):
        start = time.perf_counter()
        order = torch.from_numpy(epoch_order(m, epoch, 10))
        total = 0.0
        for a, b in batch_bounds(m, batch_size):
            idx = order[a:b]
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(net(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            total += loss.item() * (b - a)
        seconds.append(time.perf_counter() - start)
        costs.append(total / m)
    return seconds, costs


def sgemm_gflops(n: int = 2048, repeat: int = 5) -> float:
    """Best float32 matmul rate of NumPy's BLAS, 2 n^3 flops per (n, n) @ (n, n)."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, n), dtype=np.float32), rng.standard_normal((n, n), dtype=np.float32)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeat))
    return 2 * n ** 3 / best / 1e9


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _have(module: str) -> bool:
    try:
        __import__(module)
        return True
    except ImportError:
        return False


def mlp_flops_per_example(sizes) -> float:
    """Forward + backward flops of a Dense stack per example: 2 * (3 sum n_in n_out - n_0 n_1)
    (forward, dW for every layer, dx for all but the first)."""
    macs = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    return 2 * (3 * macs - sizes[0] * sizes[1])


def _contenders(workload, make_model, X, labels, say, flops_per_epoch=None, sgemm=None):
    rows, base = [], None
    engines = ["numpy"] + (["jax"] if _have("jax") else [])
    results = {}
    if _have("torch"):
        import torch
        say(f"{workload}: PyTorch eager ({torch.get_num_threads()} threads) ...")
        secs, costs = torch_epoch_seconds(make_model(), X, labels)
        results["pytorch eager"] = (secs[-1], costs)
        base = secs[-1]
    for engine in engines:
        say(f"{workload}: deepbasics {engine} ...")
        secs, costs = epoch_seconds(make_model(), X, labels, engine=engine)
        results[f"deepbasics {engine}"] = (secs[-1], costs)
    for name, (sec, costs) in results.items():
        extra = {"warmup_cost": costs[0], "epoch_cost": costs[-1]}
        note = f"cost {costs[-1]:.4f}"
        if flops_per_epoch:
            gflops = flops_per_epoch / sec / 1e9
            extra["gflops"] = gflops
            note += f", {gflops:.0f} GFLOP/s"
            if sgemm:
                extra["of_sgemm"] = gflops / sgemm
                note += f" = {100 * gflops / sgemm:.0f}% of SGEMM"
        rows.append(_row(workload, name, sec, ratio=None if base is None else base / sec,
                         vs=None if base is None else "pytorch eager", note=note, **extra))
    return rows


def bench_w(quick: bool, say) -> list[dict]:
    m = 15000 if quick else 60000
    say(f"W: data ({m} x 784, teacher labels) and SGEMM ...")
    X, labels = teacher_data(m, 784)
    sgemm = sgemm_gflops()
    flops = mlp_flops_per_example([784, 1024, 1024, 10]) * m
    rows = [_row("W", "SGEMM ceiling (NumPy BLAS, 2048^3 float32)", None, note=f"{sgemm:.0f} GFLOP/s",
                 gflops=sgemm)]
    return rows + _contenders("W", wide_model, X, labels, say, flops, sgemm)


def bench_d(quick: bool, say) -> list[dict]:
    try:
        from ..nn.batchnorm import BatchNorm
    except ImportError:
        return [_row("D", "deepbasics", None, note="BatchNorm not available")]
    m = 4096 if quick else 16384
    say(f"D: data ({m} x 256) ...")
    X, labels = teacher_data(m, 256, seed=1)
    return _contenders("D", deep_model, X, labels, say)


# -- scaling ------------------------------------------------------------------------------------
def bench_scaling(quick: bool, say) -> list[dict]:
    from ..learn import optim
    from ..data.datasets import moons
    from .reproduce import document_model
    rows = []
    engines = ["numpy"] + (["jax"] if _have("jax") else [])
    sizes = [1000, 10000, 100000] + ([] if quick else [1000000])
    for engine in engines:
        for m in sizes:
            say(f"scaling: m = {m}, {engine} ...")
            X, y = moons(n_samples=m, noise=0.2, seed=3)
            # the best of 3 epochs after a warm-up one: short epochs are at the mercy of the machine
            secs, _ = epoch_seconds(document_model(), X, y, engine=engine, batch_size=64, loss="binary_crossentropy",
                                    optimizer=optim.Adam(lr=1e-3), epochs=4)
            rows.append(_row("scaling m", f"deepbasics {engine}, m={m}", min(secs[1:]), m=m, engine=engine,
                             note=f"{1e6 * min(secs[1:]) / m:.2f} us/example"))
    depths = [5, 10, 25, 50] + ([] if quick else [100])
    m = 8192
    X, labels = teacher_data(m, 64, seed=2)
    for engine in engines:
        for depth in depths:
            say(f"scaling: depth = {depth}, {engine} ...")
            layers = []
            for _ in range(depth):
                layers += [Dense(64), ReLU()]
            model = Sequential(layers + [Dense(10), Softmax()], input_dim=64, seed=0)
            secs, _ = epoch_seconds(model, X, labels, engine=engine, epochs=4)
            rows.append(_row("scaling depth", f"deepbasics {engine}, depth={depth}", min(secs[1:]), depth=depth,
                             engine=engine, note=f"{1e3 * min(secs[1:]) / depth:.2f} ms/layer"))
    m, limit = (100000, 15) if quick else (500000, 30)
    for engine in engines:
        say(f"scaling: peak memory of fit on W, m = {m}, {engine} (fresh process, {limit} s at most) ...")
        out = _child("memory", {"m": m, "engine": engine, "limit_s": limit})
        rows.append(_row("memory", f"deepbasics {engine}, W m={m}", out.pop("seconds"), engine=engine, **out,
                         note=f"peak RSS {out['peak_mb']:.0f} MB: before fit {out['rss_before_fit_mb']:.0f} "
                              f"(data {out['data_mb']:.0f}), fit adds {out['fit_growth_mb']:.0f} "
                              f"(params {out['params_mb']:.0f})" + (", epoch cut short" if out["cut_short"] else "")))
    return rows


def _status_mb(field: str) -> float | None:
    """A memory figure of this process from /proc/self/status (Linux), in MB."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    """Start a new high-water mark of resident memory (Linux >= 4.0), so that the peak measured
    is the fit's, not the data generation's."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def memory_task(m: int, engine: str, limit_s: float | None = None) -> dict:
    """A float32 epoch of W on m examples; resident memory beyond the dataset and parameters.

    With ``limit_s`` the epoch is cut short after that many seconds: the peak is reached within
    the first steps (data on the device, program compiled, every buffer allocated once), so a
    full epoch of 500,000 examples would only add minutes. The result is printed as JSON (this
    runs in a child process) and the process ends.
    """
    X, labels = teacher_data(m, 784)
    model = wide_model()
    if engine == "jax":
        import jax.numpy as jnp  # the library's own memory is not the fit's
        jnp.zeros(1).block_until_ready()
    if not _reset_peak() or _status_mb("VmRSS") is None:
        raise DeepBasicsError("measuring peak memory needs Linux's /proc/self (clear_refs, status)")
    before = _status_mb("VmRSS")
    params_mb = model.count_params() * 4 / 2**20
    start = time.perf_counter()
    lock = threading.Lock()

    def report(cut_short: bool) -> None:
        with lock:
            peak = _status_mb("VmHWM")
            print(json.dumps({"seconds": time.perf_counter() - start, "cut_short": cut_short, "peak_mb": peak,
                              "rss_before_fit_mb": before, "data_mb": (X.nbytes + labels.nbytes) / 2**20,
                              "params_mb": params_mb, "fit_growth_mb": peak - before,
                              "extra_mb": peak - before - params_mb}), flush=True)
            os._exit(0)

    if limit_s:
        threading.Timer(limit_s, report, args=(True,)).start()
    epoch_seconds(model, X, labels, engine=engine, epochs=1)
    report(False)


# -- L: large data, from the file to one epoch --------------------------------------------------
L_ROWS, L_ROWS_QUICK, L_FEATURES, L_SEED, L_TARGET = 1_000_000, 100_000, 20, 0, "label"
L_FILES = {"csv": "data.csv", "parquet": "data.parquet", "X": "X.npy", "y": "y.npy"}


def large_data(folder: Path, m: int, n: int = L_FEATURES, seed: int = L_SEED) -> dict:
    """Write one table four ways into ``folder`` and return the paths (keys of ``L_FILES``): n
    columns x0.. ~ N(0, 1) rounded to 6 decimals (about 190 bytes a CSV row) and a 0/1 ``label``
    (1 where X w + noise > 0, w fixed), as CSV and Parquet; X as float32 and the labels as .npy."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq
    rng = np.random.default_rng(seed)
    X = np.round(rng.standard_normal((m, n)), 6)
    y = (X @ rng.standard_normal(n) + rng.standard_normal(m) > 0).astype(np.int64)
    paths = {key: str(Path(folder) / name) for key, name in L_FILES.items()}
    table = pa.table({**{f"x{j}": X[:, j] for j in range(n)}, L_TARGET: y})
    pa_csv.write_csv(table, paths["csv"], pa_csv.WriteOptions(quoting_style="none"))
    pq.write_table(table, paths["parquet"])
    np.save(paths["X"], X.astype(np.float32))
    np.save(paths["y"], y)
    return paths


def _read_deepbasics(path: str, fmt: str, dtype: str = "float64"):
    from ..data import datasets
    data = datasets.load(fmt, path=path, target=L_TARGET, dtype=dtype)
    return data.X, data.y


def _read_pandas(path: str, fmt: str):
    import pandas as pd
    frame = pd.read_csv(path) if fmt == "csv" else pd.read_parquet(path)
    return frame.drop(columns=[L_TARGET]).to_numpy(np.float64), frame[L_TARGET].to_numpy()


def _read_pyarrow(path: str, fmt: str):
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq
    table = pa_csv.read_csv(path) if fmt == "csv" else pq.read_table(path)
    names = [name for name in table.column_names if name != L_TARGET]
    X = np.empty((table.num_rows, len(names)))
    for j, name in enumerate(names):                # one column's NumPy copy alive at a time
        X[:, j] = table.column(name).to_numpy()
    return X, table.column(L_TARGET).to_numpy()


# contender: (format, modules imported before the clock starts, reader, its options). pyarrow's
# to_numpy imports pandas on first use, so pandas is imported before its clock starts too.
_DB = ("deepbasics.data.readers",)
L_READERS = {
    'deepbasics load("csv")': ("csv", _DB, _read_deepbasics, {}),
    'deepbasics load("csv", dtype="float32")': ("csv", _DB, _read_deepbasics, {"dtype": "float32"}),
    "pandas.read_csv + to_numpy": ("csv", ("pandas",), _read_pandas, {}),
    "pyarrow.csv.read_csv + to_numpy": ("csv", ("pyarrow.csv", "pandas"), _read_pyarrow, {}),
    'deepbasics load("parquet")': ("parquet", _DB, _read_deepbasics, {}),
    'deepbasics load("parquet", dtype="float32")': ("parquet", _DB, _read_deepbasics, {"dtype": "float32"}),
    "pandas.read_parquet + to_numpy": ("parquet", ("pandas", "pyarrow.parquet"), _read_pandas, {}),
    "pyarrow.parquet.read_table + to_numpy": ("parquet", ("pyarrow.parquet", "pandas"), _read_pyarrow, {}),
}


def _peak_mb() -> float:
    """This process's peak resident memory so far, in MB. Linux's getrusage ru_maxrss of a fresh
    child starts at its parent's peak (exec keeps the high-water mark of the memory it replaces),
    so the high-water mark of this process's own memory (VmHWM) is read where there is one."""
    import resource
    hwm = _status_mb("VmHWM")
    if hwm is not None:
        return hwm
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (2**20 if sys.platform == "darwin" else 1024)


def read_task(contender: str | None, modules, path: str | None = None) -> dict:
    """In a fresh process: import ``modules``, then (unless ``contender`` is None: the baseline)
    read ``path`` with the contender; the read's seconds (imports excluded) and the peak memory."""
    import importlib
    for name in modules:
        importlib.import_module(name)
    out = {}
    if contender is not None:
        fmt, _, reader, options = L_READERS[contender]
        start = time.perf_counter()
        X, y = reader(path, fmt, **options)
        out = {"seconds": time.perf_counter() - start, "shape": list(X.shape), "dtype": X.dtype.name,
               "positives": int(np.count_nonzero(y))}
    return {**out, "peak_mb": _peak_mb()}


def bench_l_read(paths: dict, say) -> list[dict]:
    """Each reader in a fresh process, and a process per set of modules that only imports them."""
    rows, baselines = [], {}
    for fmt in ("csv", "parquet"):
        done = {}
        for name, (kind, modules, _, _) in L_READERS.items():
            if kind != fmt:
                continue
            if not all(_have(module.split(".")[0]) for module in modules):
                rows.append(_row(f"L read {fmt}", name, None, note=f"{modules[0].split('.')[0]} not installed"))
                continue
            say(f"L: {name} (fresh process) ...")
            if modules not in baselines:
                baselines[modules] = _child("read", {"contender": None, "modules": list(modules)})["peak_mb"]
            done[name] = _child("read", {"contender": name, "modules": list(modules), "path": paths[fmt]})
        others = [name for name in done if not name.startswith("deepbasics")]
        best = min(others, key=lambda name: done[name]["seconds"]) if others else None
        for name, out in done.items():
            imports = baselines[L_READERS[name][1]]
            rows.append(_row(f"L read {fmt}", name, out["seconds"], vs=best and best.split(".")[0],
                             ratio=best and done[best]["seconds"] / out["seconds"], peak_mb=out["peak_mb"],
                             imports_mb=imports, note=f"peak RSS {out['peak_mb']:.0f} MB = imports {imports:.0f} + "
                                                      f"{out['peak_mb'] - imports:.0f} (X {out['dtype']})"))
    return rows


def l_model(seed: int = 0) -> Sequential:
    """The L network: 20-64-32-1, ReLU, sigmoid output."""
    from ..nn.activations import Sigmoid
    return Sequential([Dense(64), ReLU(), Dense(32), ReLU(), Dense(1), Sigmoid()], input_dim=L_FEATURES, seed=seed)


def l_fit_epochs(X, y, engine: str, epochs: int = 2) -> dict:
    """``epochs`` float32 epochs of the L network (binary cross-entropy, Adam, batch 256, shuffled):
    each epoch's seconds and cost, the engine that ran, and the anonymous memory (RssAnon, MB)
    at the end of each epoch: what ``fit`` holds besides a memory-mapped X."""
    from ..learn import optim
    stamps, anon = [time.perf_counter()], []

    def on_epoch(*_):
        stamps.append(time.perf_counter())
        anon.append(_status_mb("RssAnon"))
    history = l_model().fit(X, y, loss="binary_crossentropy", optimizer=optim.Adam(lr=1e-3), epochs=epochs,
                            batch_size=256, shuffle_seed=10, engine=engine, dtype="float32", on_epoch=on_epoch)
    return {"seconds": list(np.diff(stamps)), "costs": list(history.cost), "engine": history.params["engine"],
            "anon_mb": anon}


def torch_l_epochs(X, y, epochs: int = 2, threads: int | None = None) -> dict:
    """The L network as a plain PyTorch loop: the same initial weights, torch.randperm each epoch,
    batches gathered by index, BCEWithLogitsLoss (the sigmoid fused into the loss, as deepbasics
    does), torch.optim.Adam, float32, on ``threads`` threads (default: every core the process may use)."""
    import torch
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    torch.set_num_threads(threads or cores)
    torch.manual_seed(0)
    weights, modules = iter(l_model().get_weights()), []
    for n_in, n_out in ((L_FEATURES, 64), (64, 32), (32, 1)):
        linear = torch.nn.Linear(n_in, n_out)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(next(weights)))
            linear.bias.copy_(torch.from_numpy(next(weights)))
        modules += [linear, torch.nn.ReLU()]
    net = torch.nn.Sequential(*modules[:-1]).float()
    opt, loss_fn = torch.optim.Adam(net.parameters(), lr=1e-3), torch.nn.BCEWithLogitsLoss()
    Xt = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
    yt = torch.from_numpy(np.asarray(y, dtype=np.float32).reshape(-1, 1))
    m, seconds, costs = len(Xt), [], []
    for _ in range(epochs):
        start, order, total = time.perf_counter(), torch.randperm(m), 0.0
        for a in range(0, m, 256):
            idx = order[a:a + 256]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        seconds.append(time.perf_counter() - start)
        costs.append(total / m)
    n = torch.get_num_threads()
    return {"seconds": seconds, "costs": costs, "engine": f"torch, {n} thread{'s' if n > 1 else ''}", "anon_mb": []}


# PyTorch twice: on every core (its default) and on one thread, which a small network's
# matrix products can prefer, and which suffers less when other processes hold the cores
L_TRAINERS = ("pytorch eager", "pytorch eager, 1 thread", "deepbasics auto", "deepbasics numpy",
              "deepbasics auto, X np.memmap")


def train_task(contender: str, x_path: str, y_path: str, epochs: int = 2) -> dict:
    """In a fresh process: ``epochs`` epochs of one L contender on the float32 X of ``x_path``
    (read into memory, or mapped read-only for the np.memmap contender); see ``l_fit_epochs``."""
    X = np.load(x_path, mmap_mode="r" if contender.endswith("np.memmap") else None)
    y = np.load(y_path)
    before = _status_mb("RssAnon")
    if contender.startswith("pytorch"):
        out = torch_l_epochs(X, y, epochs, 1 if contender.endswith("1 thread") else None)
    else:
        out = l_fit_epochs(X, y, contender.split(",")[0].split()[1], epochs)
    held = max(out.pop("anon_mb"), default=None)
    return {**out, "memmap": isinstance(X, np.memmap), "x_mb": X.nbytes / 2**20,
            "fit_anon_mb": None if held is None or before is None else held - before}


def bench_l_train(paths: dict, say) -> list[dict]:
    """One float32 epoch (the second: the first warms up) of each trainer, each in a fresh process."""
    rows, done = [], {}
    for name in L_TRAINERS:
        if name.startswith("pytorch") and not _have("torch"):
            rows.append(_row("L epoch", name, None, note="PyTorch not installed"))
            continue
        say(f"L: one epoch, {name} (fresh process) ...")
        done[name] = _child("train", {"contender": name, "x_path": paths["X"], "y_path": paths["y"]})
    torch_rows = [name for name in done if name.startswith("pytorch")]
    vs = min(torch_rows, key=lambda name: done[name]["seconds"][-1]) if torch_rows else None
    base = vs and done[vs]["seconds"][-1]
    for name, out in done.items():
        sec = out["seconds"][-1]
        note = f"{out['engine']}, cost {out['costs'][-1]:.4f}"
        if out["fit_anon_mb"] is not None and not name.startswith("pytorch"):
            note += f"; fit holds +{out['fit_anon_mb']:.0f} MB anonymous memory (X {out['x_mb']:.0f} MB"
            if out["memmap"]:
                note += ", mapped: not copied)" if out["fit_anon_mb"] < out["x_mb"] / 2 else ", mapped, yet held)"
            else:
                note += ")"
        rows.append(_row("L epoch", name, sec, ratio=base and base / sec, vs=vs, note=note,
                         engine=out["engine"], warmup_seconds=out["seconds"][0], costs=out["costs"],
                         fit_anon_mb=out["fit_anon_mb"], x_mb=out["x_mb"]))
    return rows


L_CONFIG = """name = "large"

[data]
name = "csv"
path = {path}
target = "{target}"

[model]
hidden = [64, 32]

[train]
epochs = 1
batch_size = 256
dtype = "float32"

[optimizer]
name = "adam"
"""


def command_task(config: str, out: str) -> dict:
    """In a fresh process: ``deepbasics train CONFIG --out OUT --quiet`` as a user runs it, in a
    process of its own; its wall seconds and peak resident memory (getrusage RUSAGE_CHILDREN: the
    largest of this process's children, and it has no other), and the engine the run used."""
    import resource
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "deepbasics", "train", config, "--out", out, "--quiet"],
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise DeepBasicsError(f"deepbasics train failed: {(proc.stderr.strip().splitlines() or ['?'])[-1]}")
    from ..learn import checkpoint          # the run's checkpoint records the engine that ran
    return {"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
            "engine": checkpoint.load(Path(out) / "checkpoint.npz").meta.get("engine")}


def bench_l_command(paths: dict, folder: Path, say) -> list[dict]:
    """The whole ``deepbasics train`` of the CSV for one epoch: peak memory beside a process that
    only imports the command line and the engine the run used."""
    config = Path(folder) / "large.toml"
    config.write_text(L_CONFIG.format(path=json.dumps(paths["csv"]), target=L_TARGET))
    say("L: deepbasics train, one epoch of the CSV (fresh process) ...")
    out = _child("command", {"config": str(config), "out": str(Path(folder) / "report")})
    engine = out["engine"] or "numpy"
    modules = ["deepbasics.cli", f"deepbasics.learn.engines.{engine}_engine"]
    imports = _child("read", {"contender": None, "modules": modules})["peak_mb"]
    return [_row("L train", "deepbasics train (CSV, 1 epoch, float32)", out["seconds"], peak_mb=out["peak_mb"],
                 imports_mb=imports, engine=out["engine"],
                 note=f"whole command, engine {out['engine'] or '?'}: peak RSS {out['peak_mb']:.0f} MB = "
                      f"imports {imports:.0f} + {out['peak_mb'] - imports:.0f}")]


def bench_l(quick: bool, say) -> list[dict]:
    m = L_ROWS_QUICK if quick else L_ROWS
    with tempfile.TemporaryDirectory(prefix="deepbasics-large-") as tmp:
        say(f"L: a {m:,} x {L_FEATURES} table and a binary label, as CSV, Parquet and .npy ...")
        paths = large_data(Path(tmp), m)
        sizes = {key: os.path.getsize(path) / 2**20 for key, path in paths.items()}
        rows = [_row("L", f"{m:,} x {L_FEATURES} + label", None, sizes_mb=sizes,
                     note=f"CSV {sizes['csv']:.0f} MB, Parquet {sizes['parquet']:.0f} MB, "
                          f"X float32 {sizes['X']:.0f} MB; read from the page cache")]
        rows += bench_l_read(paths, say) + bench_l_train(paths, say)
        return rows + bench_l_command(paths, Path(tmp), say)


# -- XL: a table bigger than memory, trained from the memory-mapped cache ---------------------------
XL_ROWS, XL_ROWS_QUICK, XL_BLOCK = 50_000_000, 2_000_000, 1_000_000

XL_CONFIG = """name = "xl"

[data]
name = "parquet"
path = {path}
target = "label"
memory = "map"

[model]
hidden = [64, 32]

[train]
epochs = 1
batch_size = 256
dtype = "float32"

[optimizer]
name = "adam"
"""


def xl_table(path: Path, m: int, n: int = L_FEATURES, seed: int = L_SEED) -> None:
    """An m x n float32 Parquet table (N(0, 1) columns f0.., a 0/1 int8 ``label`` from a fixed
    linear rule plus noise), written XL_BLOCK rows (one row group) at a time: memory stays a block."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(n)
    writer = None
    try:
        for start in range(0, m, XL_BLOCK):
            X = rng.standard_normal((min(XL_BLOCK, m - start), n)).astype(np.float32)
            label = (X @ w + rng.standard_normal(len(X)) > 0).astype(np.int8)
            table = pa.table({**{f"f{j}": X[:, j] for j in range(n)}, "label": label})
            writer = writer or pq.ParquetWriter(path, table.schema, compression="none")
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()


def bench_xl(quick: bool, say) -> list[dict]:
    """``deepbasics train`` of one epoch over a 50M x 20 float32 Parquet table with data.memory =
    "map", twice in fresh processes: the first converts the file into an empty cache, the second
    finds it there. Peak resident memory of each, beside a process that only imports."""
    m = XL_ROWS_QUICK if quick else XL_ROWS
    with tempfile.TemporaryDirectory(prefix="deepbasics-xl-") as tmp:
        folder = Path(tmp)
        say(f"XL: writing a {m:,} x {L_FEATURES} float32 Parquet table ...")
        xl_table(folder / "xl.parquet", m)
        config = folder / "xl.toml"
        config.write_text(XL_CONFIG.format(path=json.dumps(str(folder / "xl.parquet"))))
        env = {**os.environ, "DEEPBASICS_CACHE": str(folder / "cache")}
        imports = _child("read", {"contender": None, "modules": ["deepbasics.cli", "deepbasics.learn.engines.numpy_engine"]})
        rows = [_row("XL", f"{m:,} x {L_FEATURES} float32 + label", None,
                     note=f"Parquet {os.path.getsize(folder / 'xl.parquet') / 2**20:.0f} MB, "
                          f"X {m * L_FEATURES * 4 / 2**20:.0f} MB; data.memory = \"map\"")]
        for name in ("first run (converts)", "second run (cached)"):
            say(f"XL: deepbasics train, {name} (fresh process) ...")
            out = _child("command", {"config": str(config), "out": str(folder / "report")}, env=env, timeout=7200)
            rows.append(_row("XL train", f"deepbasics train, {name}", out["seconds"], peak_mb=out["peak_mb"],
                             imports_mb=imports["peak_mb"], engine=out["engine"],
                             note=f"whole command, 1 epoch: peak RSS {out['peak_mb']:.0f} MB "
                                  f"(imports {imports['peak_mb']:.0f})"))
        return rows


# -- targets and the table ------------------------------------------------------------------------
def targets(rows) -> list[dict]:
    """The ratios the project aims at, from the measured rows (None where not measured)."""
    def find(workload, contender):
        return next((r for r in rows if r["workload"] == workload and r["contender"] == contender), None)

    out = []

    def target(name, value, goal):
        out.append({"target": name, "value": value, "goal": goal,
                    "met": None if value is None else value >= goal})

    ref = find("S", "document's code")
    for contender, goal in ((AUTO_ALL_CORES, 25.0), ("deepbasics jax, warm cache", 15.0), ("deepbasics numpy", 3.0)):
        row = find("S", contender)
        target(f"S: {contender} vs document's code (x faster)",
               row["ratio"] if row and ref and row["seconds"] else None, goal)
    row = find("demo", "deepbasics demo (auto), warm cache")
    target("demo: whole command, auto vs --set train.engine=numpy (x faster)", row["ratio"] if row else None, 4.0)
    torch_row = find("W", "pytorch eager")
    for contender, goal in (("deepbasics numpy", 0.9), ("deepbasics jax", 1.2)):
        row = find("W", contender)
        target(f"W: {contender} throughput vs PyTorch eager (x)", row["ratio"] if row and torch_row else None, goal)
    row = find("W", "deepbasics jax")
    target("W: deepbasics jax share of SGEMM", row.get("of_sgemm") if row else None, 0.8)
    for key, label in (("m", "scaling m"), ("depth", "scaling depth")):
        for engine in ("numpy", "jax"):
            pts = sorted((r[key], r["seconds"]) for r in rows if r["workload"] == label and r.get("engine") == engine)
            if len(pts) >= 3:
                target(f"{label}: {engine} seconds per epoch a + b*{key} within 20% at every point "
                       f"(1 - worst relative residual)", 1 - linear_misfit(pts), 0.8)
    return out


def linear_misfit(points) -> float:
    """The worst relative residual of the line t = a + b*n fitted to (n, t) points, each point
    weighted by 1/t (so that a small size counts as much as a large one). A fixed cost per
    epoch (a) is allowed: "linear in m" means the cost of an example does not grow with m."""
    n, t = (np.array(v, dtype=float) for v in zip(*points))
    A = np.stack([np.ones_like(n), n], axis=1) / t[:, None]
    (a, b), *_ = np.linalg.lstsq(A, np.ones_like(t), rcond=None)
    return float(np.max(np.abs((a + b * n) / t - 1)))


def run(workloads, *, quick: bool = False, reference: Path | None = None, say=print) -> dict:
    unknown = [w for w in workloads if w not in WORKLOADS]
    if unknown:
        raise DeepBasicsError(f"unknown workload {unknown[0]!r}; choose from: {', '.join(WORKLOADS)}")
    results = {"machine": machine(), "quick": quick, "rows": []}
    benches = {"S": lambda: bench_s(quick, reference, say), "demo": lambda: bench_demo(quick, say),
               "auto": lambda: bench_auto(quick, say), "vmap": lambda: bench_vmap(quick, say),
               "W": lambda: bench_w(quick, say),
               "D": lambda: bench_d(quick, say), "scaling": lambda: bench_scaling(quick, say),
               "L": lambda: bench_l(quick, say), "XL": lambda: bench_xl(quick, say)}
    start = time.perf_counter()
    for w in workloads:
        results["rows"] += benches[w]()
    results["seconds"] = time.perf_counter() - start
    results["machine"]["load_average_at_end"] = _load()
    results["targets"] = targets(results["rows"])
    return results


def _fmt_seconds(s) -> str:
    return "-" if s is None else f"{s:.3f}" if s < 10 else f"{s:.1f}"


def format_table(results) -> str:
    """The rows as an aligned text table, then the targets."""
    head = ("workload", "contender", "seconds", "ratio", "vs", "note")
    body = [(r["workload"], r["contender"], _fmt_seconds(r["seconds"]),
             "-" if r["ratio"] is None else f"{r['ratio']:.2f}x", r["vs"] or "-", r["note"]) for r in results["rows"]]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(line, widths)).rstrip() for line in [head, *body]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if results.get("targets"):
        lines.append("")
        for t in results["targets"]:
            verdict = "not measured" if t["met"] is None else "met" if t["met"] else "MISSED"
            value = "-" if t["value"] is None else f"{t['value']:.2f}"
            lines.append(f"target {t['target']}: {value} (goal >= {t['goal']:g}) {verdict}")
    return "\n".join(lines)


def _main(argv) -> None:
    """Child-process entry: ``python -m deepbasics.studies.bench TASK JSON``; prints one JSON line."""
    task, args = argv[0], json.loads(argv[1])
    if task == "s":
        out = _s_runs(args["engine"], args["runs"], args.get("jobs", 1))
    elif task == "start":
        out = start_task(args["width"], args["engine"])
    elif task == "memory":
        memory_task(args["m"], args["engine"], args.get("limit_s"))     # prints and exits
    elif task == "read":
        out = read_task(args["contender"], args["modules"], args.get("path"))
    elif task == "train":
        out = train_task(args["contender"], args["x_path"], args["y_path"])
    elif task == "command":
        out = command_task(args["config"], args["out"])
    else:
        raise SystemExit(f"unknown task {task}")
    print(json.dumps(out))


if __name__ == "__main__":
    _main(sys.argv[1:])
