"""engine="auto": NumPy for short runs, JAX once its start-up pays on this machine's measured
costs, NumPy with a notice without JAX; the costs measured once and kept."""
import json
import os
import stat
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, strategies as st

import deepbasics as db
from deepbasics.runs import config
from deepbasics.learn.engines import auto, calibrate

X, y = db.datasets.moons(n_samples=64, noise=0.2, seed=3)

# Costs of a made-up machine: NumPy 200 us + 1 ns per unit of work, JAX 10 us + 0.1 ns, 2 s to
# start (5 s cold). For the chapter's network (work 1,920) JAX saves 190 us + 1,728 ns per update.
MACHINE = auto.Costs(works=(1920, 1_001_920), numpy_s=(201.92e-6, 1201.92e-6), jax_s=(10.192e-6, 110.192e-6),
                     start_warm_s=2.0, start_cold_s=5.0, import_s=1.5)


@pytest.fixture
def costs():
    """This process runs on MACHINE's costs, then on the measured ones again."""
    auto.set_costs(MACHINE)
    yield MACHINE
    auto.set_costs(None)


def chapter_net():
    return db.Sequential([db.Dense(5), db.ReLU(), db.Dense(2), db.ReLU(), db.Dense(1), db.Sigmoid()],
                         input_dim=2, init="he", seed=3)


def test_the_rule_is_the_break_even_of_the_measured_costs(costs):
    work = 64 * 30                                              # the chapter's network, batch 64
    saving = (201.92e-6 - 10.192e-6)
    assert costs.saving(work) == pytest.approx(saving, rel=1e-12)
    n = auto.crossover_updates(work)
    assert n == int(np.ceil(2.0 / saving)) == 10_432
    assert auto.prefers_jax(n, work) and not auto.prefers_jax(n - 1, work)
    assert auto.resolve("auto", updates=n, work=work) == "jax"
    assert auto.resolve("auto", updates=n - 1, work=work) == "numpy"
    assert auto.resolve("auto", updates=10**9, work=work, mapped=True) == "numpy"     # a memory map stays
    assert auto.resolve("numpy", updates=10**9, work=10**9) == "numpy"
    assert auto.resolve("jax", updates=1, work=1) == "jax"
    assert auto.crossover_updates(501_920) < n                  # more work per update: JAX pays sooner
    assert "JAX from 10,432 updates" in auto.describe(costs)


def test_runs_of_one_command_share_the_import_of_their_process(costs):
    """Three runs in two processes import JAX twice and load three programs: 2 x 1.5 + 3 x 0.5 s."""
    saving = 201.92e-6 - 10.192e-6                              # per update of the chapter's network
    three = lambda updates: auto.together([(updates, 1920)] * 3, processes=2)      # noqa: E731
    assert three(1000) == {"engine": "numpy", "runs": 3, "processes": 2, "saving_s": round(3 * 1000 * saving, 3),
                           "start_s": 4.5}
    flip = int(np.ceil(4.5 / (3 * saving)))                     # 7,824 updates a run, against 10,432 alone
    assert three(flip)["engine"] == "jax" and three(flip - 1)["engine"] == "numpy"
    assert flip < auto.crossover_updates(1920)
    decisions = [three(u)["engine"] for u in range(0, 20_000, 97)]     # longer runs never go back to NumPy
    assert decisions == sorted(decisions, key=lambda e: e == "jax")
    one = auto.together([(auto.crossover_updates(1920), 1920)], processes=4)
    assert one["engine"] == "jax" and one["start_s"] == 2.0    # one run in one process: the single rule


def test_a_command_decides_for_its_runs_together(costs, tmp_path):
    """deepbasics demo: the three runs on one engine, and why, in results.json."""
    import json as json_
    from deepbasics.cli import main
    assert main(["demo", "--epochs", "3", "--jobs", "1", "--quiet", "--no-report", "--out", str(tmp_path),
                 "--json", str(tmp_path / "r.json")]) == 0
    runs = json_.loads((tmp_path / "r.json").read_text())["runs"]
    why = [r["history"]["params"]["engine_auto"] for r in runs]
    assert [r["engine"] for r in runs] == ["numpy"] * 3
    assert [r["history"]["params"]["engine_asked"] for r in runs] == ["auto"] * 3
    assert why[0] == {"updates": 30, "engine": "numpy", "runs": 3, "processes": 1, "start_s": 3.0,
                      "saving_s": round(3 * 30 * (201.92e-6 - 10.192e-6), 3)}


def test_the_cold_start_counts_when_the_compilation_cache_is_off(costs, monkeypatch):
    monkeypatch.setenv("DEEPBASICS_JAX_CACHE", "off")
    assert costs.start_s == 5.0 and auto.crossover_updates(1920) == int(np.ceil(5.0 / (201.92e-6 - 10.192e-6)))


def test_costs_between_and_beyond_the_measured_points():
    c = auto.Costs((100, 200, 400), (1.0, 2.0, 6.0), (0.5, 0.5, 0.5), 1.0, 1.0)
    assert [c.numpy_update_s(w) for w in (100, 150, 200, 300, 400, 600)] == [1.0, 1.5, 2.0, 4.0, 6.0, 10.0]
    assert c.numpy_update_s(0) == 0.0                            # the first piece, continued down to zero
    falling = auto.Costs((100, 200), (2.0, 1.0), (1.0, 1.0), 1.0, 1.0)
    assert falling.numpy_update_s(1000) == 2.0                   # never cheaper with more work
    assert auto.crossover_updates(1000, falling) == 1


positive = st.floats(min_value=1e-7, max_value=1e-2)


@given(a=positive, b=positive, c=positive, d=positive, warm=st.floats(0.01, 10), extra=st.floats(0, 10),
       work=st.integers(1, 10**7))
def test_a_shorter_run_is_never_slower_than_a_longer_one(a, b, c, d, warm, extra, work):
    """Whatever the machine's costs: the time of the engine "auto" picks, start-up included,
    never falls as the run gets longer, with the program in the compilation cache or not."""
    costs = auto.Costs((1000, 10**6), (a, a + b), (c, c + d), warm, warm + extra)
    n = auto.crossover_updates(work, costs)
    lengths = sorted({1, 10, 1000, 10**5, 10**7} | ({n - 1, n, n + 1} if n else set()) - {0})
    for start in (costs.start_warm_s, costs.start_cold_s):          # what the run actually meets
        times = [start + u * costs.jax_update_s(work) if auto.prefers_jax(u, work, costs)
                 else u * costs.numpy_update_s(work) for u in lengths]
        assert all(t1 <= t2 * (1 + 1e-12) for t1, t2 in zip(times, times[1:])), (start, lengths, times)


def test_fit_defaults_to_auto_and_records_the_engine_that_ran(costs):
    model = chapter_net()
    history = model.fit(X, y, optimizer=db.optim.Adam(lr=0.01), epochs=3, shuffle_seed=1)
    assert history.params["engine"] == model.engine_used == "numpy"
    assert history.params["engine_asked"] == "auto"          # and why it picked NumPy, for results.json
    assert history.params["engine_auto"] == {"updates": 3, "jax_from_updates": 10_432}
    assert model.fit(X, y, epochs=1, engine="numpy").params["engine_auto"] is None
    assert config.load("moons_adam").train.engine == "auto"


def test_a_run_past_the_break_even_picks_jax(costs):
    pytest.importorskip("jax")
    cheap = auto.Costs(costs.works, costs.numpy_s, costs.jax_s, 0.02, 0.02)     # JAX pays from 105 updates
    auto.set_costs(cheap)
    n = auto.crossover_updates(64 * 30)
    assert n == 105
    long = chapter_net()
    h = long.fit(X, y, optimizer=db.optim.Adam(lr=1e-4), epochs=n, batch_size=64, shuffle_seed=10)
    assert h.params["engine"] == long.engine_used == "jax" and np.isfinite(h.cost[-1])
    # resuming near the end leaves too few updates to repay compiling: NumPy finishes it
    h2 = long.fit(X, y, optimizer=db.optim.Adam(lr=1e-4), epochs=n + 5, batch_size=64, shuffle_seed=10,
                  initial_epoch=n)
    assert h2.params["engine"] == "numpy" and len(h2.cost) == 5


MEASURED = {"works": [1920, 620608, 4276288], "numpy_update_s": [2e-4, 5e-4, 4e-3],
            "jax": {"update_s": [1e-5, 2e-4, 1e-3], "start_cold_s": 4.0, "start_warm_s": 2.5, "import_s": 1.9}}


def test_the_costs_are_measured_once_and_kept(tmp_path, monkeypatch, capsys):
    path = tmp_path / "engine-costs.json"
    monkeypatch.setenv("DEEPBASICS_ENGINE_COSTS", str(path))
    calls = []
    monkeypatch.setattr(auto, "_run_calibration", lambda: calls.append(1) or MEASURED)
    auto.set_costs(None)
    try:
        first = auto.get_costs()
        auto.set_costs(None)                     # a new process: reads the file, measures nothing
        again = auto.get_costs()
    finally:
        auto.set_costs(None)
    assert calls == [1] and first == again == auto.from_measurement(MEASURED)
    assert first.start_s == 2.5 and first.numpy_update_s(1920) == 2e-4 and first.jax_update_s(620608) == 2e-4
    kept = json.loads(path.read_text())
    assert kept["key"] == auto.machine_key() and kept["measured"] == MEASURED
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~_umask()
    err = capsys.readouterr().err
    assert "measuring" in err and f"JAX from {auto.crossover_updates(1920, first):,} updates" in err
    assert str(path) in err


def test_another_machine_or_version_measures_again(tmp_path, monkeypatch):
    path = tmp_path / "engine-costs.json"
    monkeypatch.setenv("DEEPBASICS_ENGINE_COSTS", str(path))
    path.write_text(json.dumps({"key": {**auto.machine_key(), "cpu": "another"}, "measured": MEASURED}))
    calls = []
    monkeypatch.setattr(auto, "_run_calibration", lambda: calls.append(1) or MEASURED)
    auto.set_costs(None)
    try:
        auto.get_costs()
    finally:
        auto.set_costs(None)
    assert calls == [1] and json.loads(path.read_text())["key"]["cpu"] == auto.machine_key()["cpu"]


def test_a_failed_measurement_falls_back_to_the_reference_machine(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DEEPBASICS_ENGINE_COSTS", str(tmp_path / "engine-costs.json"))

    def broken():
        raise db.DeepBasicsError("engine 'auto' could not measure the engines on this machine (boom)")
    monkeypatch.setattr(auto, "_run_calibration", broken)
    auto.set_costs(None)
    try:
        assert auto.get_costs() == auto.ASSUMED
    finally:
        auto.set_costs(None)
    assert "boom" in capsys.readouterr().err and not (tmp_path / "engine-costs.json").exists()


def test_update_seconds_measures_the_difference_of_two_fit_lengths(monkeypatch):
    """calibrate's per-update timing on a fake clock: what every fit costs once cancels."""
    def fake_fit(width, engine, epochs):           # 0.3 s of set-up + 50 us per update
        return 0.3 + epochs * (calibrate.ROWS // calibrate.BATCH) * 50e-6
    monkeypatch.setattr(calibrate, "_fit_seconds", fake_fit)
    assert calibrate.update_seconds(5, "numpy") == pytest.approx(50e-6, rel=1e-9)


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.mark.slow
def test_the_measurement_itself(tmp_path):
    """The real calibration, in its own process: positive costs, JAX faster per update on the
    chapter's network, a warm start below the cold one."""
    done = subprocess.run([sys.executable, "-m", "deepbasics.learn.engines.calibrate"], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    measured = json.loads(done.stdout.splitlines()[-1])
    c = auto.from_measurement(measured)
    assert all(s > 0 for s in c.numpy_s) and list(c.works) == [calibrate.work_of(w) for w in calibrate.SIZES]
    if measured["jax"]:
        assert c.jax_update_s(1920) < c.numpy_update_s(1920) and 0 < c.start_warm_s < c.start_cold_s


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
