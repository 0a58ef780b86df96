"""model.save / deepbasics.load_model: every layer type round-trips and predicts identically."""
import numpy as np
import pytest

import deepbasics as db
from deepbasics.learn import checkpoint


def _every_layer():
    """One of each layer type, with settings that differ from the defaults."""
    return [db.Dense(12, init="glorot_uniform", l1=1e-4, l2=1e-3), db.BatchNorm(momentum=0.2, eps=1e-3, unbiased=False),
            db.PReLU(init=0.1, per_unit=True), db.Dense(10), db.RReLU(lower=0.05, upper=0.4), db.Dropout(0.3),
            db.Dense(10), db.LeakyReLU(0.2), db.Dense(10), db.ELU(0.5), db.Dense(10), db.GELU("tanh"),
            db.Dense(10), db.SELU(), db.Dense(10), db.Softplus(), db.Dense(10), db.Tanh(), db.Dense(10),
            db.Sigmoid(), db.Dense(10), db.ReLU(), db.Dense(10), db.PReLU(), db.Dense(10, use_bias=False),
            db.Linear(), db.Dense(3), db.Softmax()]


def _data(k=3):
    rng = np.random.RandomState(0)
    X = rng.randn(120, 4)
    return X, (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.5) * (k - 2)


def test_every_layer_type_round_trips(tmp_path):
    X, y = _data()
    model = db.Sequential(_every_layer(), input_dim=4, init="lecun_normal", seed=7)
    model.fit(X, y, loss="categorical_crossentropy", optimizer=db.optim.Adam(lr=0.01), epochs=5, batch_size=32,
              shuffle_seed=1)
    assert not np.allclose(model.params[2][0], 0.1)            # PReLU's slopes were learned
    model.save(tmp_path / "m.npz")
    loaded = db.load_model(tmp_path / "m.npz")
    assert repr(loaded.layers) == repr(model.layers) and loaded.layers[0].init is model.layers[0].init
    assert (loaded.input_dim, loaded.init, loaded.seed, loaded.epochs_done) == (4, "lecun_normal", 7, 5)
    for a, b in zip(loaded.get_weights() + loaded.get_state(), model.get_weights() + model.get_state()):
        np.testing.assert_array_equal(a, b)                     # BatchNorm's running statistics too
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.evaluate(X, y) == model.evaluate(X, y)


def test_a_loaded_model_trains_on_exactly_as_the_original(tmp_path):
    X, y = _data(2)
    layers = lambda: [db.Dense(6), db.BatchNorm(), db.RReLU(), db.Dropout(0.2), db.Dense(1), db.Sigmoid()]
    fit = dict(optimizer=db.optim.Adam(lr=0.01), batch_size=16, shuffle_seed=4)
    straight = db.Sequential(layers(), input_dim=4, seed=2)
    straight.fit(X, y, epochs=6, **fit)
    first = db.Sequential(layers(), input_dim=4, seed=2)
    first.fit(X, y, epochs=3, **fit)
    first.save(tmp_path / "half.npz")
    resumed = db.load_model(tmp_path / "half.npz")
    resumed.fit(X, y, epochs=6, initial_epoch=resumed.epochs_done, **fit)
    for a, b in zip(resumed.get_weights(), straight.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_float32_model_and_unfitted_model(tmp_path):
    X, y = _data(2)
    model = db.Sequential([db.Dense(5), db.ReLU(), db.Dense(1), db.Sigmoid()], input_dim=4, seed=1)
    model.save(tmp_path / "fresh.npz")                         # before any fit: no optimizer, no loss
    fresh = db.load_model(tmp_path / "fresh.npz")
    np.testing.assert_array_equal(fresh.predict_proba(X), model.predict_proba(X))
    model.fit(X, y, epochs=3, dtype="float32", shuffle_seed=0)
    model.save(tmp_path / "f32.npz")
    loaded = db.load_model(tmp_path / "f32.npz")
    assert loaded.get_weights()[0].dtype == np.float32
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_run_checkpoints_load_as_models(tmp_path):
    from deepbasics.runs import config, experiment
    cfg = config.from_dict({"data": {"name": "iris"}, "model": {"hidden": [6], "batch_norm": True},
                            "train": {"epochs": 3}})
    prepared = experiment.prepare(cfg)
    result = experiment.run("adam", cfg, prepared, checkpoint=str(tmp_path / "run.npz"))
    model = db.load_model(tmp_path / "run.npz")
    assert model.evaluate(prepared.X_test, prepared.y_test) == result.metrics["test"]


def test_bad_files_and_layers_are_one_line_errors(tmp_path):
    class Custom(db.ReLU):
        pass
    model = db.Sequential([db.Dense(2), Custom()], input_dim=2, seed=0)
    with pytest.raises(db.DeepBasicsError, match="cannot save a Custom layer"):
        model.save(tmp_path / "c.npz")
    assert not (tmp_path / "c.npz").exists()
    ok = db.Sequential([db.Dense(2), db.ReLU()], input_dim=2, seed=0)
    meta = checkpoint.model_meta(ok, None)
    meta["architecture"][1] = {"class": "os.system", "settings": {}}
    checkpoint.save(tmp_path / "evil.npz", params=ok.params, state=ok.state, opt_state=None, epoch=0, meta=meta)
    with pytest.raises(db.DeepBasicsError, match="unknown layer"):
        db.load_model(tmp_path / "evil.npz")
    checkpoint.save(tmp_path / "bare.npz", params=ok.params, state=ok.state, opt_state=None, epoch=0)
    with pytest.raises(db.DeepBasicsError, match="not the model's layers"):
        db.load_model(tmp_path / "bare.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(db.DeepBasicsError, match="not a readable checkpoint"):
        db.load_model(tmp_path / "junk.npz")
