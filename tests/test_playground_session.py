"""A playground session: the Trainer's runs and frames, the exported config reproduced exactly by a
real ``deepbasics train`` run, compare mode, divergence, and the worker process driven over a real
Pipe (spawned as the server spawns it)."""
import copy
import json
import multiprocessing
import subprocess
import sys
import time

import numpy as np
import pytest

from deepbasics.data import datasets
from deepbasics.runs import experiment
from deepbasics.errors import DeepBasicsError
from deepbasics.playground import presets, protocol, session
from deepbasics.playground.trainer import BOUNDARY_N, UNIT_N, Trainer
from deepbasics.playground.uploads import Uploads, read_upload


def preset(pid: str) -> dict:
    return next(p for p in presets.presets() if p["id"] == pid)


def configure(raw: dict, raw_b: dict | None = None) -> dict:
    """The configure command as the server hands it to the worker: the checked Config(s)."""
    return {"type": "configure", "config": protocol.check_config(raw),
            "compare": None if raw_b is None else protocol.check_config(raw_b, "compare")}


def small(**changes) -> dict:
    raw = copy.deepcopy(preset("chapter-adam")["config"])
    raw["data"]["n_samples"] = 300
    for dotted, value in changes.items():
        section, key = dotted.split("__")
        raw[section][key] = value
    return raw


def trainer_of(raw, raw_b=None) -> Trainer:
    cfg_b = None if raw_b is None else protocol.compare_config(raw, raw_b)[0]
    return Trainer(protocol.check_config(raw), cfg_b)


def costs_of(frames, run=0, key="cost"):
    out = []
    for f in frames:
        out += f["runs"][run]["points"][key]
    return out


# -- frames ----------------------------------------------------------------------------------------
def test_a_frame_carries_the_new_epochs_layers_boundary_and_network():
    t = trainer_of(small())
    first = t.frame(boundary=True)
    assert first["epoch"] == 0 and first["runs"][0]["points"]["epoch"] == []
    t.advance(3)
    t.advance(2)
    f = json.loads(protocol.encode(t.frame(boundary=True)))
    run = f["runs"][0]
    assert f["epoch"] == run["epoch"] == 5 and run["label"] == "A"
    p = run["points"]
    assert p["epoch"] == [1, 2, 3, 4, 5]
    assert all(len(v) == 5 for v in p.values())
    assert all(c > 0 for c in p["cost"]) and p["lr"] == [1e-4] * 5
    assert all(0 <= a <= 1 for a in p["test_accuracy"]) and all(c > 0 for c in p["test_cost"])
    assert p["accuracy"][:4] == [None] * 4 and 0 <= p["accuracy"][4] <= 1
    assert [layer["name"] for layer in run["layers"]] == ["Dense 1", "Dense 2", "Dense 3"]
    assert run["layers"][0]["dead"] is not None and run["layers"][0]["saturated"] is None
    assert all(layer["grad_norm"] > 0 for layer in run["layers"])
    values = run["boundary"]["values"]
    assert run["boundary"]["n"] == BOUNDARY_N and len(values) == BOUNDARY_N ** 2 and all(0 <= v <= 1 for v in values)
    units = run["network"]["units"]
    assert [len(layer) for layer in units] == [5, 2] and all(len(u["grid"]) == UNIT_N ** 2 for u in units[0])
    assert [np.shape(w) for w in run["network"]["weights"]] == [(5, 2), (2, 5), (1, 2)]
    assert np.allclose(run["network"]["weights"][0], t.runs[0].model.params[0][0], atol=1e-5)
    later = t.frame(boundary=False)["runs"][0]
    assert later["points"]["epoch"] == [] and later["boundary"] is None and later["network"] is None


def test_the_boundary_is_the_models_own_prediction_over_the_plane():
    t = trainer_of(small())
    t.advance(2)
    values = np.array(t.frame(boundary=True)["runs"][0]["boundary"]["values"]).reshape(BOUNDARY_N, BOUNDARY_N)
    x0, x1, y0, y1 = t.extent
    # row-major from x2_min, x1 varying fastest: [i, j] is the point (x1_j, x2_i)
    corner = np.array([[x1, y0]])
    want = t.runs[0].model.predict_proba(t.prepared.scaler.transform(corner))[0]
    assert values[0, -1] == pytest.approx(want, abs=1e-4)


def test_data_message_gives_the_raw_plane_of_both_splits():
    raw = small(data__features=["x1", "x2", "x1*x2", "sin(x1)"], data__standardize=True)
    t = trainer_of(raw)
    d = json.loads(protocol.encode(t.data_message()))
    assert d["task"] == "binary" and d["classes"] == [0, 1]
    assert len(d["train"]["x"]) == 210 and len(d["test"]["x"]) == 90 and len(d["train"]["x"][0]) == 2
    assert t.prepared.X_train.shape == (210, 4)
    X = np.array(d["train"]["x"])
    assert d["extent"][0] < X[:, 0].min() and X[:, 0].max() < d["extent"][1]


def test_deep_networks_are_not_drawn():
    t = trainer_of(small(model__hidden=[9, 3]))
    assert t.frame(boundary=True)["runs"][0]["network"] is None


# -- tables, more than two classes, regression -----------------------------------------------------
def test_a_table_is_drawn_over_two_features_with_the_others_at_their_mean():
    raw = small()
    raw["data"] = {"name": "iris", "plane": ["petal length (cm)", "petal width (cm)"]}
    t = trainer_of(raw)
    iris = datasets.load("iris")
    d = json.loads(protocol.encode(t.data_message()))
    assert d["task"] == "multiclass" and d["classes"] == ["setosa", "versicolor", "virginica"]
    assert d["axes"] == ["petal length (cm)", "petal width (cm)"] and d["held"] == 2
    assert d["features"] == d["columns"] == list(iris.feature_names) and d["name"] == "iris"
    train = t.prepared.split.train
    assert np.allclose(d["train"]["x"], iris.X[train][:, [2, 3]], atol=1e-5) and d["train"]["y"] == iris.y[train].tolist()
    t.advance(3)
    run = t.frame(boundary=True)["runs"][0]
    n = run["boundary"]["n"]
    values = np.array(run["boundary"]["values"]).reshape(n, n)
    assert set(np.unique(values)) <= {0.0, 1.0, 2.0}
    # grid [i, j] is the point (a_j, b_i); the row predicted holds the other features at their training mean
    row = iris.X[train].mean(axis=0)
    row[2], row[3] = t.extent[1], t.extent[2]
    want = t.runs[0].model.predict(t.prepared.scaler.transform(row[None, :]))[0]
    assert values[0, -1] == want
    assert type(t.runs[0].model.layers[-1]).__name__ == "Softmax" and t.runs[0].model.n_out == 3
    assert [np.shape(w) for w in run["network"]["weights"]] == [(5, 4), (2, 5), (3, 2)]


def test_a_regression_set_draws_its_surface_and_measures_mse():
    t = trainer_of(small(data__name="plane", data__noise=0.05, data__features=["x1", "x2"]))
    t.advance(4)
    frame = json.loads(protocol.encode(t.frame(boundary=True)))
    run = frame["runs"][0]
    p = run["points"]
    assert p["accuracy"] == [None] * 4 and p["test_accuracy"] == [None] * 4
    model, prep = t.runs[0].model, t.prepared
    assert p["test_cost"][-1] == pytest.approx(np.mean((model.predict(prep.X_test) - prep.y_test) ** 2), rel=1e-12)
    values = np.array(run["boundary"]["values"])
    assert np.allclose(values, model.predict(t.boundary_inputs), atol=1e-4)
    assert json.loads(protocol.encode(t.data_message()))["task"] == "regression"


def uploaded(tmp_path, text: str, name="three.csv"):
    uploads = Uploads(tmp_path / "session")
    entry = read_upload(uploads.root, name, text.encode())
    uploads.keep(entry)
    return uploads, entry


THREE = "p,q,r,kind\n" + "".join(f"{(i * 7) % 11 / 3:.4f},{(i * 5) % 13 / 4:.4f},{i % 4},{'abc'[i % 3]}\n"
                                   for i in range(240))


def test_an_uploaded_files_export_trains_beside_it_to_the_same_cost(tmp_path):
    """A three-class CSV trained in uneven chunks, exported, and run by the real deepbasics train
    with the file beside the TOML: the same cost at every epoch; a changed file is refused."""
    uploads, entry = uploaded(tmp_path, THREE)
    raw = small()
    raw["data"] = {"name": "csv", "path": "three.csv", "fingerprint": entry["fingerprint"], "target": "kind",
                   "features": ["p", "q", "r"], "plane": ["q", "r"]}
    t = Trainer(protocol.check_config(raw, uploads=uploads))
    assert t.prepared.dataset.task == "multiclass" and t.data_message()["classes"] == ["a", "b", "c"]
    frames = []
    for n in (1, 3, 2):
        t.advance(n)
        frames.append(t.frame(boundary=False))
    exported = t.export()
    assert exported["data_file"] == "three.csv"
    assert 'path = "three.csv"' in exported["toml"] and f'fingerprint = "{entry["fingerprint"]}"' in exported["toml"]
    beside = tmp_path / "elsewhere"
    beside.mkdir()
    (beside / "three.csv").write_text(THREE)
    assert _train_costs(beside, {"three": exported["toml"]})["three"] == costs_of(frames)
    (beside / "three.csv").write_text(THREE + "1,1,1,a\n")
    out = subprocess.run([sys.executable, "-m", "deepbasics", "train", str(beside / "three.toml"), "--quiet",
                          "--no-report", "--out", str(beside / "again")], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "data.fingerprint" in out.stderr


def test_a_files_errors_name_it_by_its_name_not_the_session_folder(tmp_path):
    uploads, entry = uploaded(tmp_path, "a,b,t\n1,2,x\n3,,y\n5,6,x\n7,8,y\n", name="gaps.csv")
    raw = small()
    raw["data"] = {"name": "csv", "path": "gaps.csv", "fingerprint": entry["fingerprint"], "target": "t"}
    with pytest.raises(DeepBasicsError) as info:
        Trainer(protocol.check_config(raw, uploads=uploads))
    assert "gaps.csv" in str(info.value) and "missing value" in str(info.value) and str(tmp_path) not in str(info.value)


# -- the same numbers as deepbasics train ----------------------------------------------------------
def _train_costs(tmp_path, tomls: dict) -> dict:
    """{name: cost history} of real ``deepbasics train`` runs of the TOML texts, side by side."""
    procs = {}
    for name, text in tomls.items():
        path = tmp_path / f"{name}.toml"
        path.write_text(text)
        procs[name] = subprocess.Popen([sys.executable, "-m", "deepbasics", "train", str(path), "--out",
                                        str(tmp_path / name), "--quiet", "--no-report", "--json",
                                        str(tmp_path / f"{name}.json")],
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    costs = {}
    for name, proc in procs.items():
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        costs[name] = json.loads((tmp_path / f"{name}.json").read_text())["runs"][0]["history"]["history"]["cost"]
    return costs


def test_an_exported_config_run_by_deepbasics_train_gives_the_same_cost_at_every_epoch(tmp_path):
    """Trained in uneven chunks (as the worker trains), exported, run by the real command line:
    the cost histories are equal to the last bit, for a plain run and for one with derived
    features, BatchNorm after the activation, dropout, L2, Nesterov momentum and a decaying rate
    (compare mode)."""
    a = small()
    b = small(data__features=["x1", "x2", "x1^2", "x1*x2"], model__batch_norm=True,
              model__batch_norm_position="after", model__hidden=[6, 3], model__dropout=0.2, model__l2=0.01)
    b["optimizer"] = {"name": "momentum", "lr": 0.01, "beta": 0.9, "form": "nesterov"}
    b["schedule"] = {"name": "inverse_time", "decay_rate": 0.5, "interval": 3}
    b["train"]["batch_size"] = 32
    t = trainer_of(a, b)
    frames = []
    for n in (1, 4, 2, 9, 1):
        t.advance(n)
        frames.append(t.frame(boundary=False))
    exported = t.export()
    assert exported["filename"] == "playground.toml" and "epochs = 17" in exported["toml"]
    costs = _train_costs(tmp_path, {"a": exported["toml"], "b": exported["compare"]["toml"]})
    cost_a, cost_b = costs["a"], costs["b"]
    assert len(cost_a) == len(cost_b) == 17
    assert costs_of(frames, 0) == cost_a
    assert costs_of(frames, 1) == cost_b
    assert costs_of(frames, 0) != costs_of(frames, 1)


@pytest.mark.slow
def test_the_jax_engine_exports_the_same_numbers_too(tmp_path):
    pytest.importorskip("jax")
    raw = small(train__engine="jax")
    t = trainer_of(raw)
    frames = []
    for n in (1, 4, 2, 9, 1):
        t.advance(n)
        frames.append(t.frame(boundary=False))
    assert costs_of(frames) == _train_costs(tmp_path, {"jax": t.export()["toml"]})["jax"]


def test_chunked_training_equals_one_fit_with_the_test_curve_from_the_test_split():
    raw = small()
    t = trainer_of(raw)
    for n in (3, 1, 6):
        t.advance(n)
    points = t.runs[0].take_points()
    cfg = protocol.check_config(raw)
    prep = experiment.prepare(cfg)
    model, loss = experiment.build_model(cfg, prep.dataset, 2)
    args = experiment.fit_arguments(cfg, loss, (prep.X_test, prep.y_test))
    history = model.fit(prep.X_train, prep.y_train, epochs=10, **args)
    assert points["cost"] == history["cost"]
    assert points["test_cost"] == history["val_loss"] and points["test_accuracy"] == history["val_accuracy"]
    assert np.array_equal(t.runs[0].model.get_weights()[0], model.get_weights()[0])


# -- compare mode ----------------------------------------------------------------------------------
def test_compare_runs_start_from_the_same_weights_and_shuffles():
    a = small()
    b = small()
    b["optimizer"] = {"name": "gd", "lr": 0.0001}
    t = trainer_of(a, b)
    wa, wb = t.runs[0].model.get_weights(), t.runs[1].model.get_weights()
    assert all(np.array_equal(x, y) for x, y in zip(wa, wb))
    same = trainer_of(a, copy.deepcopy(a))
    same.advance(4)
    f = same.frame(boundary=True)
    assert [r["label"] for r in f["runs"]] == ["A", "B"]
    assert f["runs"][0]["points"] == f["runs"][1]["points"]
    assert f["runs"][0]["boundary"] == f["runs"][1]["boundary"]


# -- divergence ------------------------------------------------------------------------------------
def diverging() -> dict:
    raw = small(model__init="standard_normal", model__activation="linear")
    raw["optimizer"] = {"name": "gd", "lr": 10.0}       # a linear network's weights blow up within epochs
    return raw


def test_a_diverged_run_stops_at_its_last_good_epoch_with_a_message():
    t = trainer_of(diverging())
    t.advance(50)
    run = t.runs[0]
    assert run.diverged and t.all_diverged
    assert f"epoch {run.epoch}" in run.diverged and "smaller learning rate" in run.diverged
    assert run.epoch < 50 and len(run.points["cost"]) == run.epoch
    assert all(np.isfinite(w).all() for w in run.model.get_weights())
    before = run.epoch
    t.advance(5)
    assert run.epoch == before


# -- the worker process ------------------------------------------------------------------------------
class Worker:
    """A worker spawned exactly as the server spawns it, driven over its Pipe."""

    def __init__(self):
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=session.worker_main, args=(child,), daemon=True)
        self.process.start()
        child.close()

    def send(self, command: dict) -> None:
        self.conn.send(command)

    seen: list = []           # every message received, oldest first

    def until(self, kind: str, timeout: float = 30.0, where=lambda m: True) -> dict:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.conn.poll(max(0.0, end - time.monotonic())):
                msg = json.loads(self.conn.recv())
                self.seen.append(msg)
                if msg["type"] == kind and where(msg):
                    return msg
        raise AssertionError(f"no {kind!r} message within {timeout} s")

    def drain(self, seconds: float = 0.3) -> list:
        out, end = [], time.monotonic() + seconds
        while self.conn.poll(max(0.0, end - time.monotonic())):
            out.append(json.loads(self.conn.recv()))
        self.seen.extend(out)
        return out

    def stop(self):
        self.send({"type": "stop"})
        self.process.join(timeout=10)


@pytest.fixture(scope="module")
def spawned():
    w = Worker()
    yield w
    if w.process.is_alive():
        w.process.kill()
        w.process.join(timeout=5)


@pytest.fixture
def worker(spawned):
    """One spawned worker for the module (starting one costs seconds), paused and uncapped."""
    assert spawned.process.is_alive()
    spawned.send({"type": "speed", "epochs_per_second": None})
    spawned.send({"type": "pause"})
    spawned.drain()
    return spawned


def test_a_fresh_worker_needs_a_configuration_first(worker):
    worker.send({"type": "play"})
    assert "configuration first" in worker.until("error")["message"]


def test_the_worker_plays_pauses_steps_resets_and_exports(worker):
    worker.send(configure(small()))
    assert worker.until("data")["task"] == "binary"
    assert worker.until("frame")["epoch"] == 0
    assert worker.until("status")["state"] == "paused"
    worker.send({"type": "play"})
    assert worker.until("status")["state"] == "running"
    frames, end = [], time.monotonic() + 0.8
    while time.monotonic() < end:
        frames.append(worker.until("frame"))
    epochs = [f["epoch"] for f in frames]
    assert epochs == sorted(epochs) and epochs[-1] > epochs[0] > 0
    assert any(f["runs"][0]["boundary"] for f in frames[1:])
    worker.send({"type": "pause"})
    paused = worker.until("status", where=lambda m: m["state"] == "paused")
    tail = worker.drain()
    assert all(m["type"] != "frame" or m["epoch"] <= paused["epoch"] for m in tail)
    worker.send({"type": "step"})
    stepped = worker.until("frame")
    assert stepped["epoch"] == paused["epoch"] + 1 and stepped["runs"][0]["points"]["epoch"] == [stepped["epoch"]]
    assert worker.until("status")["state"] == "paused"
    worker.send({"type": "export"})
    assert f"epochs = {stepped['epoch']}" in worker.until("export")["toml"]
    worker.send({"type": "reset"})
    assert worker.until("frame")["epoch"] == 0
    assert worker.until("status") == {"type": "status", "state": "paused", "epoch": 0, "message": None, "within": None}


def test_a_bad_configuration_changes_nothing_and_the_speed_cap_holds(worker):
    worker.send(configure(small()))
    worker.until("status")
    bad = small(model__output="sigmoid")          # settings that pass the check, but three classes
    bad["data"] = {"name": "blobs", "n_samples": 300, "centers": 3}
    worker.send(configure(bad))
    err = worker.until("error")
    assert err["key"] == "model.output"
    worker.send({"type": "speed", "epochs_per_second": 20})
    worker.send({"type": "play"})
    first = worker.until("frame", where=lambda m: m["epoch"] > 0)
    time.sleep(1.0)
    worker.send({"type": "pause"})
    last = worker.until("status", where=lambda m: m["state"] == "paused")
    rate = (last["epoch"] - first["epoch"]) / 1.0
    assert 5 <= rate <= 40, rate                        # capped near 20 epochs/s, not hundreds
    worker.send({"type": "export"})
    assert "hidden = [5, 2]" in worker.until("export")["toml"]      # the bad one never replaced it


def test_a_diverging_run_pauses_with_the_epoch_and_advice(worker):
    worker.send(configure(diverging()))
    worker.until("status")
    worker.send({"type": "play"})
    status = worker.until("status", where=lambda m: m["state"] == "diverged")
    assert f"epoch {status['epoch']}" in status["message"] and "smaller learning rate" in status["message"]
    worker.send({"type": "play"})
    again = worker.until("status")
    assert again["state"] == "diverged" and again["epoch"] == status["epoch"]
    # compare mode: the run that diverged stays where it stopped, play trains the other one on
    worker.send(configure(diverging(), small()))
    worker.until("status")
    worker.send({"type": "play"})
    status = worker.until("status", where=lambda m: m["state"] == "diverged")
    assert status["message"].startswith("run A: training diverged at epoch")
    worker.send({"type": "play"})
    assert worker.until("status")["state"] == "running"
    frame = worker.until("frame", where=lambda m: m["runs"][1]["epoch"] > status["epoch"] + 10)
    assert frame["runs"][0]["epoch"] <= status["epoch"] and frame["runs"][0]["points"]["epoch"] == []


def long_epochs() -> dict:
    """Epochs of about 4,000 single-example updates (a few tenths of a second): pause lands mid-epoch."""
    return small(data__n_samples=6000, model__hidden=[16, 16], train__batch_size=1)


def costs_seen(messages, since: int) -> dict:
    """{epoch: run A's cost} from the frames among ``messages[since:]``."""
    out = {}
    for m in messages[since:]:
        if m["type"] == "frame":
            p = m["runs"][0]["points"]
            out.update(zip(p["epoch"], p["cost"]))
    return out


def test_pause_holds_mid_epoch_and_resuming_gives_the_numbers_of_never_pausing(worker):
    raw = long_epochs()
    worker.send(configure(raw))
    worker.until("status")
    start = len(worker.seen)
    worker.send({"type": "play"})
    worker.until("status", where=lambda m: m["state"] == "running")
    held, latencies = [], []
    for i in range(4):
        time.sleep(0.1 + 0.07 * i)
        sent = time.perf_counter()
        worker.send({"type": "pause"})
        status = worker.until("status", where=lambda m: m["state"] == "paused")
        latencies.append(time.perf_counter() - sent)
        if status["within"]:
            held.append(status["within"])
        quiet = worker.drain(0.25)                     # held: no epoch finishes while paused
        assert all(m["type"] != "frame" or m["epoch"] <= status["epoch"] for m in quiet)
        worker.send({"type": "play"})
        worker.until("status", where=lambda m: m["state"] == "running")
    worker.send({"type": "pause"})
    worker.until("status", where=lambda m: m["state"] == "paused")
    worker.send({"type": "step"})                      # from mid-epoch: to the end of that epoch
    last = worker.until("status", where=lambda m: m["state"] == "paused")
    assert last["within"] is None
    costs = costs_seen(worker.seen, start)
    epochs = last["epoch"]
    assert sorted(costs) == list(range(1, epochs + 1)) and epochs >= 1
    plain = trainer_of(raw)
    plain.advance(epochs)
    assert [costs[e] for e in range(1, epochs + 1)] == plain.runs[0].take_points()["cost"]     # bit for bit
    assert len(held) >= 2 and all(1 <= w["update"] < w["of"] == 4200 for w in held)
    assert max(latencies) < 0.5, latencies


def test_a_step_and_a_new_configuration_take_effect_mid_epoch(worker):
    worker.send(configure(long_epochs()))
    worker.until("status")
    worker.send({"type": "play"})
    worker.until("status", where=lambda m: m["state"] == "running")
    time.sleep(0.15)
    worker.send({"type": "step"})                     # while running: finish this epoch, then pause
    status = worker.until("status", where=lambda m: m["state"] == "paused")
    frame = next(m for m in reversed(worker.seen) if m["type"] == "frame")
    assert frame["epoch"] == status["epoch"] and frame["runs"][0]["boundary"] is not None
    worker.send({"type": "play"})
    worker.until("status", where=lambda m: m["state"] == "running")
    time.sleep(0.15)
    sent = time.perf_counter()
    worker.send(configure(small(model__hidden=[3])))
    data = worker.until("data")
    assert time.perf_counter() - sent < 1.0
    assert worker.until("frame")["epoch"] == 0
    assert worker.until("status")["state"] == "running"           # the play state is kept
    later = worker.until("frame", where=lambda m: m["epoch"] >= 20)
    assert [len(layer) for layer in later["runs"][0]["layers"][:1]] and data["task"] == "binary"
    worker.send({"type": "export"})
    assert "hidden = [3]" in worker.until("export")["toml"]
    worker.send({"type": "pause"})
    worker.until("status", where=lambda m: m["state"] == "paused")


def test_another_plane_changes_the_view_and_training_goes_on(worker):
    raw = small()
    raw["data"] = {"name": "wine"}
    worker.send(configure(raw))
    first = worker.until("data")
    assert first["axes"] == ["alcohol", "malic_acid"] and first["held"] == 11 and not first["continued"]
    worker.until("status")
    for _ in range(3):
        worker.send({"type": "step"})
        worker.until("status")
    raw["data"]["plane"] = ["proline", "hue"]
    worker.send(configure(raw))
    again = worker.until("data")
    assert again["axes"] == ["proline", "hue"] and again["continued"]
    frame = worker.until("frame")
    assert frame["epoch"] == 3 and frame["runs"][0]["boundary"] is not None       # the runs kept their epochs
    worker.send(configure(raw))                      # the same configuration again: a new start
    assert not worker.until("data")["continued"] and worker.until("frame")["epoch"] == 0


def test_the_worker_stops_when_asked(worker):
    worker.stop()
    assert worker.process.exitcode == 0


@pytest.mark.parametrize("data, fractions", [({"name": "moons", "n_samples": 2}, [0.7, 0.0, 0.3]),
                                             ({"name": "xor", "n_samples": 20}, [0.01, 0.0, 0.99])])
def test_too_few_points_per_class_for_the_split_is_an_error_not_a_hang(data, fractions):
    """A stratified split that cannot hold out enough (every class keeps one example for training)
    used to loop forever in the split, freezing the session."""
    raw = small()
    raw["data"], raw["split"]["fractions"] = data, fractions
    cfg = protocol.check_config(raw)
    with pytest.raises(DeepBasicsError, match="too few examples per class"):
        Trainer(cfg)
    raw["split"]["stratify"] = False
    assert len(Trainer(protocol.check_config(raw)).prepared.y_test) > 0
