"""Early stopping (Keras's rule) and drop_last, on both engines."""
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

import deepbasics as db
from deepbasics.runs import config
from deepbasics.learn.batching import Truncated, epoch_order
from deepbasics.learn.early_stopping import EarlyStopping


def _data():
    X, y = db.datasets.moons(n_samples=300, noise=0.25, seed=5)
    return X[:200], y[:200], X[200:], y[200:]


def _model(seed=2, bn=False):
    layers = [db.Dense(8)] + ([db.BatchNorm()] if bn else []) + [db.ReLU(), db.Dense(1), db.Sigmoid()]
    return db.Sequential(layers, input_dim=2, seed=seed)


def _keras_stop(values, patience, min_delta, maximize=False):
    """Keras's EarlyStopping replayed on a recorded curve: (stop epoch or None, best epoch)."""
    best, best_epoch, wait = None, None, 0
    for e, v in enumerate(values):
        wait += 1
        better = best is None or (v > best + min_delta if maximize else v < best - min_delta)
        if better:
            best, best_epoch, wait = v, e, 0
        elif wait >= patience and e > 0:
            return e, best_epoch
    return None, best_epoch


FIT = dict(optimizer=db.optim.Adam(lr=0.05), batch_size=32, shuffle_seed=1)


@pytest.mark.parametrize("monitor,patience,min_delta", [("val_loss", 3, 0.0), ("val_loss", 2, 1e-3),
                                                        ("val_accuracy", 4, 0.0), ("cost", 2, 5e-3)])
def test_stops_where_the_recorded_curve_says(monitor, patience, min_delta):
    X, y, Xv, yv = _data()
    full = _model().fit(X, y, epochs=60, validation_data=(Xv, yv), **FIT)
    stop, best = _keras_stop(full[monitor], patience, min_delta, maximize="accuracy" in monitor)
    assert stop is not None and stop < 59          # the case actually stops early
    model = _model()
    h = model.fit(X, y, epochs=60, validation_data=(Xv, yv), **FIT,
                  early_stopping={"monitor": monitor, "patience": patience, "min_delta": min_delta})
    assert h.epoch == list(range(stop + 1)) and model.epochs_done == stop + 1
    assert h.cost == full.cost[:stop + 1]           # the same run, cut short
    assert h.stopped["epoch"] == stop and h.stopped["best_epoch"] == best
    assert h.stopped["best"] == full[monitor][best] and monitor in h.stopped["reason"]
    assert h.to_dict()["stopped"]["epoch"] == stop


def test_restore_best_weights_gives_the_best_epochs_model():
    X, y, Xv, yv = _data()
    rule = EarlyStopping(patience=3, restore_best_weights=True)
    model = _model()
    h = model.fit(X, y, epochs=60, validation_data=(Xv, yv), early_stopping=rule, **FIT)
    best = h.stopped["best_epoch"]
    assert h.stopped["restored"] and best < h.stopped["epoch"]
    reference = _model()
    reference.fit(X, y, epochs=best + 1, **FIT)
    for a, b in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert model.evaluate(Xv, yv)["loss"] == pytest.approx(h["val_loss"][best], abs=1e-15)


@pytest.mark.parametrize("rule", [{"patience": 2}, {"monitor": "cost", "patience": 2, "min_delta": 5e-3}])
def test_jax_engine_stops_at_the_same_epoch(rule):
    pytest.importorskip("jax")
    X, y, Xv, yv = _data()
    runs = [_model().fit(X, y, epochs=60, validation_data=(Xv, yv), engine=engine, validation_freq=2,
                         early_stopping=rule, **FIT) for engine in ("numpy", "jax")]
    assert runs[0].stopped["epoch"] == runs[1].stopped["epoch"] < 59
    np.testing.assert_allclose(runs[0].cost, runs[1].cost, rtol=1e-11)


def test_bad_settings_are_one_line_errors():
    X, y, _, _ = _data()
    with pytest.raises(db.DeepBasicsError, match="needs validation_data"):
        _model().fit(X, y, epochs=2, early_stopping={"monitor": "val_loss"})
    with pytest.raises(db.DeepBasicsError, match="patience must be a whole number >= 1"):
        EarlyStopping(patience=0)
    with pytest.raises(db.DeepBasicsError, match="no setting 'patiance'"):
        _model().fit(X, y, epochs=2, early_stopping={"patiance": 3})
    with pytest.raises(db.DeepBasicsError, match="drop_last must be True or False"):
        _model().fit(X, y, epochs=2, drop_last="yes")
    unbuilt = db.Sequential([db.Dense(1), db.Sigmoid()])
    with pytest.raises(db.DeepBasicsError):
        unbuilt.fit(X, y, epochs=2, early_stopping={"patience": 0})
    assert unbuilt.params is None                     # a rejected call leaves the model as it was


def test_config_checks_early_stopping_and_drop_last():
    cfg = config.from_dict({"train": {"drop_last": True, "early_stopping": {"monitor": "val_accuracy",
                                                                            "patience": 4}}}, "c.toml")
    assert cfg.train.drop_last and cfg.train.early_stopping == EarlyStopping(monitor="val_accuracy", patience=4)
    assert "early_stopping = {monitor = " in config.to_toml(cfg.to_dict())
    for bad, message in [({"patience": "3"}, "train.early_stopping.patience must be a whole number"),
                         ({"monitor": "loss"}, "monitor must be one of"),
                         ({"wait": 3}, "train.early_stopping.wait is not a setting"),
                         (5, "must be a table")]:
        with pytest.raises(db.DeepBasicsError, match=message):
            config.from_dict({"train": {"early_stopping": bad}}, "c.toml")


# -- drop_last ----------------------------------------------------------------------------------
def test_truncated_order_is_the_head_of_the_full_order():
    np.testing.assert_array_equal(epoch_order(96, 4, Truncated(7, 100)), epoch_order(100, 4, 7)[:96])
    np.testing.assert_array_equal(epoch_order(96, 4, Truncated(None, 100)), np.arange(96))


@given(m=st.integers(1, 300), batch=st.integers(1, 64), seed=st.one_of(st.none(), st.integers(0, 1000)),
       epoch=st.integers(0, 50))
def test_truncated_orders_use_whole_batches_of_distinct_examples(m, batch, seed, epoch):
    used = (m // min(batch, m)) * min(batch, m)
    order = epoch_order(used, epoch, Truncated(seed, m))
    assert len(order) == used == len(set(order.tolist())) and order.min() >= 0 and order.max() < m


def test_drop_last_matches_a_hand_written_epoch():
    """Logistic regression, one epoch of GD on 100 examples in batches of 32: three updates on
    the first 96 examples of the epoch's permutation; the cost is their loss sum / 96."""
    rng = np.random.RandomState(0)
    X, y = rng.randn(100, 3), (rng.rand(100) < 0.5).astype(float)
    model = db.Sequential([db.Dense(1), db.Sigmoid()], input_dim=3, seed=4)
    W, b = (a.copy() for a in model.get_weights())
    h = model.fit(X, y, optimizer=db.optim.GD(lr=0.5), epochs=1, batch_size=32, shuffle_seed=9, drop_last=True)
    order, total = np.random.RandomState(9 + 0 + 1).permutation(100), 0.0
    for k in range(3):
        idx = order[32 * k:32 * (k + 1)]
        a = 1 / (1 + np.exp(-(X[idx] @ W.T + b)))[:, 0]
        total -= np.sum(y[idx] * np.log(a) + (1 - y[idx]) * np.log(1 - a))
        dz = (a - y[idx]) / 32
        W, b = W - 0.5 * (dz @ X[idx])[None, :], b - 0.5 * np.array([dz.sum()])
    np.testing.assert_allclose(model.get_weights()[0], W, rtol=1e-12)
    np.testing.assert_allclose(model.get_weights()[1], b, rtol=1e-12)
    assert h.params["steps_per_epoch"] == 3 and h.cost[0] == pytest.approx(total / 96, rel=1e-12)


def test_drop_last_without_a_partial_batch_changes_nothing():
    X, y, _, _ = _data()
    a = _model(bn=True).fit(X, y, epochs=3, batch_size=40, shuffle_seed=2, drop_last=True)
    b = _model(bn=True).fit(X, y, epochs=3, batch_size=40, shuffle_seed=2)
    assert a.cost == b.cost


@pytest.mark.parametrize("shuffle", [True, False])
def test_drop_last_engines_agree(shuffle):
    pytest.importorskip("jax")
    X, y, _, _ = _data()
    fits = []
    for engine in ("numpy", "jax"):
        model = _model(bn=True)
        h = model.fit(X, y, epochs=4, batch_size=64, shuffle=shuffle, shuffle_seed=3, drop_last=True, engine=engine)
        fits.append((h, model))
    (h0, m0), (h1, m1) = fits
    assert h0.params["steps_per_epoch"] == h1.params["steps_per_epoch"] == 3
    np.testing.assert_allclose(h0.cost, h1.cost, rtol=1e-11)
    for a, b in zip(m0.get_weights() + m0.get_state(), m1.get_weights() + m1.get_state()):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)   # biases before BatchNorm stay ~1e-12
    assert not math.isclose(h0.cost[0], _model(bn=True).fit(X, y, epochs=1, batch_size=64, shuffle=shuffle,
                                                            shuffle_seed=3).cost[0])


def test_resuming_an_early_stopping_run_gives_the_uninterrupted_result(tmp_path):
    """A checkpoint of a run that stopped early is complete; one from mid-fit is not resumed (the
    stopping counters are not stored), so the run starts over: the same numbers either way."""
    from deepbasics.runs import experiment
    raw = {"data": {"name": "moons", "n_samples": 300, "seed": 1}, "model": {"hidden": [8]},
           "train": {"epochs": 300, "early_stopping": {"patience": 3}}, "optimizer": {"name": "adam", "lr": 0.05}}
    cfg = config.from_dict(raw)
    whole = experiment.run("a", cfg, checkpoint=str(tmp_path / "a.npz"))
    assert whole.history["stopped"]["epoch"] + 1 == whole.epochs_done < 300
    again = experiment.run("a", cfg, resume=str(tmp_path / "a.npz"))            # nothing left to train
    short = config.from_dict({**raw, "train": {**raw["train"], "epochs": 2}})
    experiment.run("a", short, checkpoint=str(tmp_path / "b.npz"))                # stopped by epochs, not the rule
    over = experiment.run("a", cfg, resume=str(tmp_path / "b.npz"))
    for r in (again, over):
        assert (r.history, r.metrics, r.epochs_done) == (whole.history, whole.metrics, whole.epochs_done)
