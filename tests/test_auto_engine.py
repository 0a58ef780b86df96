"""engine="auto": NumPy for short runs, JAX once compiling pays, NumPy with a notice without JAX."""
import json
import subprocess
import sys

import numpy as np
import pytest

import deepbasics as db
from deepbasics.runs import config
from deepbasics.learn.engines import auto

X, y = db.datasets.moons(n_samples=64, noise=0.2, seed=3)


def chapter_net():
    return db.Sequential([db.Dense(5), db.ReLU(), db.Dense(2), db.ReLU(), db.Dense(1), db.Sigmoid()],
                         input_dim=2, init="he", seed=3)


def test_the_rule_is_the_documented_break_even():
    work = 64 * (5 * 2 + 5 + 2 * 5 + 2 + 2 + 1)                 # the document's network (30 parameters), batch 64
    n = auto.crossover_updates(work)
    assert auto.prefers_jax(n, work) and not auto.prefers_jax(n - 1, work)
    assert n * (auto.UPDATE_SAVING_S + work * auto.MADD_SAVING_S) == pytest.approx(auto.START_S, rel=1e-3)
    assert 10_000 < n < 75_000            # the document's shortest run (5,000 epochs x 15) is past it
    assert auto.crossover_updates(256 * 1_000_000) < n // 10      # wide layers repay compiling sooner
    assert auto.resolve("numpy", updates=10**9, work=10**9) == "numpy"
    assert auto.resolve("jax", updates=1, work=1) == "jax"
    assert auto.resolve("auto", updates=n - 1, work=work) == "numpy"


def test_fit_defaults_to_auto_and_records_the_engine_that_ran():
    model = chapter_net()
    history = model.fit(X, y, optimizer=db.optim.Adam(lr=0.01), epochs=3, shuffle_seed=1)
    assert history.params["engine"] == model.engine_used == "numpy"
    assert config.load("moons_adam").train.engine == "auto"


def test_a_run_past_the_break_even_picks_jax():
    pytest.importorskip("jax")
    n = auto.crossover_updates(64 * 30)
    long = chapter_net()
    h = long.fit(X, y, optimizer=db.optim.Adam(lr=1e-4), epochs=n, batch_size=64, shuffle_seed=10)
    assert h.params["engine"] == long.engine_used == "jax" and np.isfinite(h.cost[-1])
    # resuming near the end leaves too few updates to repay compiling: NumPy finishes it
    h2 = long.fit(X, y, optimizer=db.optim.Adam(lr=1e-4), epochs=n + 5, batch_size=64, shuffle_seed=10,
                  initial_epoch=n)
    assert h2.params["engine"] == "numpy" and len(h2.cost) == 5


WITHOUT_JAX = """
import sys, json
sys.modules["jax"] = None                     # as if JAX were not installed: "import jax" fails
import deepbasics as db
from deepbasics.learn.engines import auto
X, y = db.datasets.moons(n_samples=64, noise=0.2, seed=3)
picked = [auto.resolve("auto", updates=10**7, work=10**4) for _ in range(2)]
model = db.Sequential([db.Dense(3), db.Tanh(), db.Dropout(0.2), db.Dense(1), db.Sigmoid()], input_dim=2, seed=0)
h = model.fit(X, y, epochs=2, shuffle_seed=0)
try:
    db.Sequential([db.Dense(1)], input_dim=2).fit(X, y, loss="mse", epochs=1, engine="jax")
    error = None
except db.DeepBasicsError as err:
    error = str(err)
print(json.dumps({"picked": picked, "engine": h.params["engine"], "error": error,
                  "jax_loaded": sys.modules["jax"] is not None}))
"""


def test_without_jax_auto_falls_back_to_numpy_with_one_notice():
    proc = subprocess.run([sys.executable, "-c", WITHOUT_JAX], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["picked"] == ["numpy", "numpy"] and out["engine"] == "numpy" and not out["jax_loaded"]
    notices = [line for line in proc.stderr.splitlines() if "JAX is not installed" in line]
    assert len(notices) == 1 and "NumPy engine" in notices[0]
    assert "pip install jax" in out["error"] and "\n" not in out["error"]
