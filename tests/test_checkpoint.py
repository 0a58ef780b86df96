"""Checkpoints: no pickle, atomic, clear errors on damage, and a resume that is exact to the bit."""
import os
import zipfile

import numpy as np
import pytest

import deepbasics as db
from deepbasics.learn import checkpoint
from deepbasics.runs import config, experiment
from deepbasics.errors import DeepBasicsError


class StopAt:
    """A progress hook that presses Ctrl-C once ``epoch`` has finished."""

    def __init__(self, epoch):
        self.epoch = epoch

    def update(self, epoch, values):
        if epoch == self.epoch:
            raise KeyboardInterrupt

    def close(self):
        pass


def same_arrays(a, b) -> bool:
    return len(a) == len(b) and all(len(p) == len(q) and all(np.array_equal(x, y) for x, y in zip(p, q))
                                    for p, q in zip(a, b))


RESUMABLE = {
    "adam": ["optimizer.name=adam", "optimizer.lr=0.01"],
    "momentum, inverse-time decay": ["optimizer={name='momentum', lr=0.05, beta=0.9}",
                                     "schedule={name='inverse_time', decay_rate=0.5, interval=7}"],
    "rmsprop, batch norm, dropout": ["optimizer={name='rmsprop', lr=0.005}", "model.batch_norm=true",
                                     "model.dropout=0.2", "model.hidden=[8, 4]", "train.noise_seed=11"],
    "gd, full batch, step schedule": ["optimizer={name='gd', lr=0.5}", "train.batch_size='full'",
                                      "schedule={name='step', gamma=0.5, step_size=5}"],
}


@pytest.mark.parametrize("case", sorted(RESUMABLE))
def test_interrupted_and_resumed_run_equals_uninterrupted_bit_for_bit(tmp_path, case):
    cfg = config.load("moons_adam", ["train.epochs=30", *RESUMABLE[case]])
    full = experiment.run("x", cfg, checkpoint=str(tmp_path / "full.npz"))
    part = str(tmp_path / "part.npz")
    with pytest.raises(experiment.Interrupted) as stop:
        experiment.run("x", cfg, checkpoint=part, progress=StopAt(12))
    assert stop.value.epoch == 13
    saved = checkpoint.load(part)
    assert saved.epoch == 13 and saved.meta["status"] == "interrupted"
    resumed = experiment.run("x", cfg, checkpoint=part, resume=part)
    a, b = checkpoint.load(str(tmp_path / "full.npz")), checkpoint.load(part)
    assert a.epoch == b.epoch == 30
    assert same_arrays(a.params, b.params)                       # identical bits, not just close
    assert same_arrays(a.state, b.state)
    assert a.opt_arrays.keys() == b.opt_arrays.keys()
    assert all(np.array_equal(a.opt_arrays[k], b.opt_arrays[k]) for k in a.opt_arrays)
    assert a.meta["opt_state"]["step"] == b.meta["opt_state"]["step"]
    assert full.history["history"]["cost"] == resumed.history["history"]["cost"]
    assert full.history["epoch"] == resumed.history["epoch"] == list(range(30))
    assert full.metrics == resumed.metrics


def test_periodic_checkpoints(tmp_path):
    cfg = config.load("moons_adam", ["train.epochs=20"])
    path = tmp_path / "c.npz"
    seen = []

    class Peek(StopAt):
        def update(self, epoch, values):
            if epoch == self.epoch:
                seen.append(checkpoint.load(path).epoch)      # the last periodic one, after epoch 10
            super().update(epoch, values)

    with pytest.raises(experiment.Interrupted):
        experiment.run("x", cfg, checkpoint=str(path), checkpoint_every=5, progress=Peek(11))
    assert seen == [10]
    assert checkpoint.load(path).epoch == 12                  # then Ctrl-C saved the newest state


def test_model_level_save_restore_and_continue(tmp_path):
    X, y = db.datasets.moons(200, 0.2, 0)

    def model():
        return db.Sequential([db.Dense(6), db.ReLU(), db.Dense(1), db.Sigmoid()], input_dim=2, seed=4)

    opt = db.optim.Adam(lr=0.01)
    straight = model()
    straight.fit(X, y, optimizer=opt, epochs=12, shuffle_seed=3)
    first = model()
    first.fit(X, y, optimizer=opt, epochs=5, shuffle_seed=3)
    checkpoint.save_model(tmp_path / "m.npz", first)
    second = model()
    checkpoint.restore(second, checkpoint.load(tmp_path / "m.npz"), opt)
    assert second.epochs_done == 5
    second.fit(X, y, optimizer=opt, epochs=12, shuffle_seed=3, initial_epoch=5)
    assert same_arrays(straight.params, second.params)
    with pytest.raises(DeepBasicsError, match="same optimizer settings"):
        checkpoint.restore(model(), checkpoint.load(tmp_path / "m.npz"), db.optim.Adam(lr=0.02))
    wider = db.Sequential([db.Dense(7), db.ReLU(), db.Dense(1), db.Sigmoid()], input_dim=2, seed=4)
    with pytest.raises(DeepBasicsError, match="shapes"):
        checkpoint.restore(wider, checkpoint.load(tmp_path / "m.npz"), opt)


@pytest.fixture
def saved(tmp_path):
    cfg = config.load("moons_adam", ["train.epochs=3"])
    path = tmp_path / "ok.npz"
    experiment.run("x", cfg, checkpoint=str(path))
    return path


def test_loading_never_unpickles(saved, monkeypatch):
    calls = []
    real = np.load

    def spy(*args, **kwargs):
        calls.append(kwargs.get("allow_pickle"))
        return real(*args, **kwargs)
    monkeypatch.setattr(np, "load", spy)
    checkpoint.load(saved)
    assert calls == [False]
    with zipfile.ZipFile(saved) as z:                             # nothing but .npy arrays inside
        assert all(name.endswith(".npy") for name in z.namelist())


def test_a_pickled_npz_is_refused(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, meta=np.array([{"a": 1}], dtype=object))
    with pytest.raises(DeepBasicsError, match="pickled"):
        checkpoint.load(path)


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty", "garbage"])
def test_corrupted_or_truncated_checkpoints_give_a_clear_error(saved, damage):
    data = saved.read_bytes()
    if damage == "truncate":
        saved.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        middle = bytearray(data)
        for i in range(len(data) // 3, len(data) // 3 + 64):
            middle[i] ^= 0xFF
        saved.write_bytes(bytes(middle))
    elif damage == "empty":
        saved.write_bytes(b"")
    else:
        saved.write_bytes(b"\x00" * 1000)
    with pytest.raises(DeepBasicsError) as err:
        checkpoint.load(saved)
    assert "checkpoint" in str(err.value) and "\n" not in str(err.value)


def test_an_npz_that_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "data.npz"
    np.savez(path, X=np.ones(3))
    with pytest.raises(DeepBasicsError, match="not a deepbasics checkpoint"):
        checkpoint.load(path)
    with pytest.raises(DeepBasicsError, match="does not exist"):
        checkpoint.load(tmp_path / "missing.npz")


def test_writes_are_atomic(saved, monkeypatch):
    before = saved.read_bytes()

    def fail(*args):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "replace", fail)
    model = db.Sequential([db.Dense(2)], input_dim=2, seed=0)
    with pytest.raises(OSError):
        checkpoint.save_model(saved, model)
    assert saved.read_bytes() == before                           # the old file is untouched
    assert sorted(p.name for p in saved.parent.iterdir()) == ["ok.npz"]   # no temporary left behind


def test_resume_refuses_a_different_experiment(saved):
    other = config.load("moons_adam", ["train.epochs=6", "optimizer.lr=0.5"])
    with pytest.raises(DeepBasicsError, match=r"different \[optimizer\] section"):
        experiment.run("x", other, resume=str(saved))
    moved = config.load("moons_adam", ["train.epochs=6", "train.shuffle_seed=99"])
    with pytest.raises(DeepBasicsError, match="only train.epochs and train.engine may change"):
        experiment.run("x", moved, resume=str(saved))
    fewer = config.load("moons_adam", ["train.epochs=2"])
    with pytest.raises(DeepBasicsError, match="more than train.epochs"):
        experiment.run("x", fewer, resume=str(saved))


def test_metadata_records_seeds_schedule_and_history(saved):
    meta = checkpoint.load(saved).meta
    assert meta["seed"] == 3 and meta["shuffle_seed"] == 10 and meta["split_seed"] == 0
    assert meta["optimizer"]["class"] == "Adam" and meta["optimizer"]["settings"]["lr"] == 0.001
    assert meta["schedule_position"]["epoch"] == 3 and meta["schedule_position"]["lr_next"] == 0.001
    assert len(meta["history"]["epoch"]) == 3 and meta["config"]["train"]["epochs"] == 3
    assert len(meta["fingerprint"]) == 64
    assert len(meta["standardizer"]["mean"]) == len(meta["standardizer"]["scale"]) == 2


def test_checkpoint_records_the_engine_that_ran_and_resumes_on_the_other(tmp_path):
    pytest.importorskip("jax")
    cfg = config.load("moons_adam", ["train.epochs=20", *RESUMABLE["rmsprop, batch norm, dropout"]])
    assert cfg.train.engine == "auto"
    full = str(tmp_path / "full.npz")
    experiment.run("x", cfg, checkpoint=full)
    assert checkpoint.load(full).meta["engine"] == "numpy"         # 20 short epochs: "auto" keeps NumPy
    part = str(tmp_path / "part.npz")
    with pytest.raises(experiment.Interrupted):
        experiment.run("x", cfg, checkpoint=part, progress=StopAt(8))
    on_jax = config.load("moons_adam", ["train.epochs=20", "train.engine=jax", *RESUMABLE["rmsprop, batch norm, dropout"]])
    experiment.run("x", on_jax, checkpoint=part, resume=part)
    a, b = checkpoint.load(full), checkpoint.load(part)
    assert b.epoch == 20 and b.meta["engine"] == "jax"
    # dropout included: the same draws. (A Dense bias before BatchNorm has a zero gradient: its
    # values are rounding noise of ~1e-10, hence the absolute tolerance.)
    for p, q in zip(a.params, b.params):
        for x, y in zip(p, q):
            np.testing.assert_allclose(y, x, rtol=1e-8, atol=1e-8)
