"""Real data at real size: memory bounded by the data, batches from a memory map, BLAS on one
thread for small steps (see runs.prepare, learn.batching.release_pages, engines.numpy_engine)."""
import os
import subprocess
import sys

import numpy as np
import pytest

import deepbasics as db
from deepbasics.learn.engines import auto
from deepbasics.learn.engines.numpy_engine import NumpyEngine
from deepbasics.runs import config, experiment


def test_auto_runs_numpy_when_the_data_is_a_memory_map(tmp_path, monkeypatch):
    X = np.random.default_rng(0).normal(size=(512, 3)).astype(np.float32)
    np.save(tmp_path / "X.npy", X)
    mapped = np.load(tmp_path / "X.npy", mmap_mode="r")
    assert auto.resolve("auto", updates=10**7, work=10**6, mapped=True) == "numpy"
    assert auto.resolve("jax", updates=1, work=1, mapped=True) == "jax"        # asked for: as asked
    y = (X[:, 0] > 0).astype(int)
    model = db.Sequential([db.Dense(4), db.ReLU(), db.Dense(1), db.Sigmoid()], input_dim=3, seed=0)
    in_ram = db.Sequential([db.Dense(4), db.ReLU(), db.Dense(1), db.Sigmoid()], input_dim=3, seed=0)
    h = model.fit(mapped, y, epochs=2, batch_size=32, dtype="float32", shuffle_seed=1)
    h2 = in_ram.fit(X, y, epochs=2, batch_size=32, dtype="float32", shuffle_seed=1, engine="numpy")
    assert h.params["engine"] == "numpy" and h.cost == h2.cost
    seen, real = [], auto.resolve           # fit tells "auto" that its X (read as a plain view) is mapped
    monkeypatch.setattr(auto, "resolve", lambda *a, **k: seen.append(k["mapped"]) or real(*a, **k))
    model.fit(mapped, y, epochs=1, batch_size=32, dtype="float32", shuffle_seed=1)
    in_ram.fit(X, y, epochs=1, batch_size=32, dtype="float32", shuffle_seed=1)
    assert seen == [True, False]
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), in_ram.get_weights()))


def test_released_pages_leave_the_resident_set(tmp_path):
    """Reading a 200 MB memory map makes it resident; release_pages hands the pages back."""
    path = tmp_path / "big.npy"
    big = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(25_000_000 // 8 * 8 // 8, 8))
    big[:] = 1.0
    big.flush()
    del big
    code = ("import sys, numpy as np\n"
            "from deepbasics.learn.batching import release_pages\n"
            "def rss(): return int(open('/proc/self/statm').read().split()[1]) * 4096 / 2**20\n"
            f"X = np.load({str(path)!r}, mmap_mode='r')\n"
            "base = rss(); total = float(X[:].sum()); read = rss(); release_pages(X[10:]); after = rss()\n"
            "print(base, read, after, total)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    base, read, after = (float(v) for v in out[:3])
    assert read - base > 150 and after - base < 30, out


def test_small_steps_run_blas_on_one_thread():
    from deepbasics.learn.step import Setup
    from deepbasics.nn import losses
    from threadpoolctl import threadpool_info

    def engine(widths, batch):
        shapes = [[(o, i), (o,)] for i, o in zip(widths, widths[1:])]
        setup = Setup([], losses.get("mse"), db.optim.GD(), shapes, None, None)
        return NumpyEngine(setup, batch_size=batch, rates=np.zeros((1, 1)), shuffle_seed=None, m=batch)
    assert engine([20, 64, 32, 1], 256).one_thread                  # 256 x ~3,100: one thread
    assert not engine([2, 5, 2, 1], 64).one_thread                  # the document's: never threaded anyway
    assert not engine([784, 1024, 1024, 10], 256).one_thread        # large: every thread
    if any(lib["user_api"] == "blas" for lib in threadpool_info()):
        from deepbasics.learn.engines.numpy_engine import _one_blas_thread
        with _one_blas_thread():
            assert {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"} == {1}


def test_a_run_keeps_its_rows_once_in_the_training_dtype(tmp_path):
    """prepare: one array in split order, float32 when training is, the parts views of it, and
    the standardisation NumPy's mean and std of the training rows."""
    cfg = config.from_dict({"data": {"name": "blobs", "n_samples": 400, "centers": 3},
                            "train": {"dtype": "float32"}})
    p = experiment.prepare(cfg)
    assert p.X.dtype == np.float32 and p.X.shape == (400, 2)
    for part in (p.X_train, p.X_val, p.X_test):
        assert np.shares_memory(part, p.X)
    raw = db.datasets.load("blobs", n_samples=400, centers=3)
    order = np.concatenate([p.split.train, p.split.val, p.split.test])
    train = raw.X[p.split.train]
    assert np.array_equal(p.scaler.mean, train.mean(axis=0)) and np.array_equal(p.scaler.scale, train.std(axis=0))
    expected = ((raw.X[order] - train.mean(axis=0)) / train.std(axis=0)).astype(np.float32)
    assert np.array_equal(p.X, expected) and np.array_equal(p.y, raw.y[order])


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_mapped_run_gives_the_numbers_of_one_in_memory(tmp_path, monkeypatch, fmt):
    """data.memory = "map": the file converted into the cache, the rows in split order written
    beside it, batches read from the map; every number equals the in-memory run's, bit for bit."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    monkeypatch.setenv("DEEPBASICS_CACHE", str(tmp_path / "cache"))
    rng = np.random.default_rng(7)
    X = rng.normal(size=(3000, 5)) * [1, 10, 100, 0.1, 3] + [0, 5, -7, 1, 0]
    label = np.where(X[:, 0] + X[:, 1] / 10 > 0.3, "yes", "no")
    columns = {f"f{j}": X[:, j] for j in range(5)} | {"label": label}
    path = tmp_path / f"t.{fmt}"
    if fmt == "csv":
        lines = [",".join(columns)] + [",".join([*(repr(float(v)) for v in row), lab]) for row, lab in zip(X, label)]
        path.write_text("\n".join(lines) + "\n")
    else:
        pq.write_table(pa.table(columns), path, row_group_size=700)
    from deepbasics.data import readers
    from deepbasics.learn import paging
    for name, value in (("CHUNK_BYTES", 4096), ("GATHER_PIECE", 100), ("GATHER_ROWS", 37)):
        monkeypatch.setattr(paging, name, value)           # many chunks, pieces and spans
    monkeypatch.setattr(readers, "ENCODE_ROWS", 64)
    results = {}
    for memory in ("ram", "map"):
        cfg = config.from_dict({"data": {"name": fmt, "path": str(path), "target": "label", "memory": memory},
                                "model": {"hidden": [6]}, "train": {"epochs": 3, "batch_size": 64,
                                                                  "dtype": "float32", "engine": "numpy"}})
        prepared = experiment.prepare(cfg)
        assert isinstance(prepared.X, np.memmap) == (memory == "map")
        results[memory] = (prepared, experiment.run(memory, cfg, prepared))
    (ram, r_ram), (mapped, r_map) = results["ram"], results["map"]
    assert np.array_equal(np.asarray(mapped.X), ram.X) and np.array_equal(mapped.y, ram.y)
    assert mapped.fingerprint() == ram.fingerprint()
    assert r_map.history["history"]["cost"] == r_ram.history["history"]["cost"]
    assert r_map.metrics == r_ram.metrics
    assert list((tmp_path / "cache").iterdir())          # the converted file lives in the cache
    derived = list((tmp_path / "cache").glob("*/derived-*.npy"))
    assert len(derived) == 1 and derived[0].with_suffix(".json").is_file()
    stamp = derived[0].stat().st_mtime_ns
    again = experiment.prepare(cfg)                      # reopened, with its statistics, not rewritten
    assert derived[0].stat().st_mtime_ns == stamp and np.array_equal(np.asarray(again.X), ram.X)
    assert again.scaler.mean.tobytes() == ram.scaler.mean.tobytes()
    assert again.scaler.scale.tobytes() == ram.scaler.scale.tobytes()
    raw = config.from_dict({**cfg.to_dict(), "data": {**cfg.to_dict()["data"], "standardize": False}})
    kept, unscaled = experiment.prepare(raw), experiment.prepare(config.from_dict(
        {**raw.to_dict(), "data": {**raw.to_dict()["data"], "memory": "ram"}}))
    assert np.array_equal(np.asarray(kept.X), unscaled.X) and not np.array_equal(unscaled.X, ram.X)
