"""The JAX engine against the NumPy engine: the same math, compiled.

Tolerances: in float64 the two engines differ only in how XLA and NumPy round exp, pow and
small matrix products (last-bit differences), so costs and weights agree to ~1e-13 after a few
hundred updates; we assert 1e-9. float32 is checked against float64 at 1e-4 relative.
"""
import numpy as np
import pytest

jax = pytest.importorskip("jax")

import deepbasics as db                                   # noqa: E402
from deepbasics.learn import batching, optim, schedules
from deepbasics.studies import reproduce
from deepbasics.errors import DeepBasicsError

X, y = db.datasets.moons(n_samples=300, noise=0.2, seed=3)


def small_model(extra=()):
    return db.Sequential([db.Dense(5), db.ReLU(), *extra, db.Dense(2), db.ReLU(), db.Dense(1), db.Sigmoid()],
                         input_dim=2, init="he", seed=3)


def fit_both(model_fn=small_model, **kw):
    out = {}
    for engine in ("numpy", "jax"):
        model = model_fn()
        history = model.fit(X, y, engine=engine, shuffle_seed=10, print_fn=lambda *_: None, **kw)
        out[engine] = (np.array(history.cost), model.get_weights())
    return out


def assert_same(out, tol=1e-9):
    (cn, wn), (cj, wj) = out["numpy"], out["jax"]
    np.testing.assert_allclose(cj, cn, rtol=tol, atol=tol)
    for a, b in zip(wj, wn):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


@pytest.mark.parametrize("optimizer", [
    optim.GD(lr=0.1), optim.Momentum(lr=0.05, beta=0.9), optim.Momentum(lr=0.01, form="nesterov"),
    optim.RMSProp(lr=0.005), optim.Adam(lr=0.01),
])
def test_optimizers_match_numpy_engine(optimizer):
    assert_same(fit_both(optimizer=optimizer, epochs=40, batch_size=64))   # 300 = 4*64 + 44


@pytest.mark.parametrize("batch_size", [None, 1, 50, 64, 299])
def test_batch_sizes_match_including_a_partial_last_batch(batch_size):
    epochs = 3 if batch_size == 1 else 20
    assert_same(fit_both(optimizer=optim.Adam(lr=0.01), epochs=epochs, batch_size=batch_size))


@pytest.mark.parametrize("schedule", [
    schedules.InverseTimeDecay(1), schedules.InverseTimeDecay(1, interval=7),
    schedules.ExponentialDecay(0.9, unit="step"), schedules.StepDecay(0.5, step_size=5, timing="immediate"),
])
def test_schedules_match(schedule):
    assert_same(fit_both(optimizer=optim.Momentum(lr=0.1), schedule=schedule, epochs=25, batch_size=64))


def test_log_blocks_do_not_change_the_numbers():
    # verbose=7 splits the run into blocks of 1, 7, 7, ... epochs (several compiled lengths)
    quiet = fit_both(optimizer=optim.Adam(lr=0.01), epochs=30, batch_size=64)
    chatty = fit_both(optimizer=optim.Adam(lr=0.01), epochs=30, batch_size=64, verbose=7)
    np.testing.assert_array_equal(quiet["jax"][0], chatty["jax"][0])
    assert_same(chatty)


def test_no_shuffle_and_validation():
    out = {}
    for engine in ("numpy", "jax"):
        model = small_model()
        h = model.fit(X, y, engine=engine, shuffle=False, optimizer=optim.Adam(lr=0.01), epochs=12,
                      batch_size=64, validation_data=(X[:50], y[:50]), validation_freq=5)
        out[engine] = (np.array(h.cost), np.array(h["val_loss"]))
    np.testing.assert_allclose(out["jax"][0], out["numpy"][0], rtol=1e-9)
    np.testing.assert_allclose(out["jax"][1], out["numpy"][1], rtol=1e-9, equal_nan=True)


def test_resume_equals_one_run_and_numpy_can_continue_a_jax_run():
    whole = small_model()
    whole.fit(X, y, engine="jax", optimizer=optim.Adam(lr=0.01), epochs=20, batch_size=64, shuffle_seed=10)
    split = small_model()
    split.fit(X, y, engine="jax", optimizer=optim.Adam(lr=0.01), epochs=8, batch_size=64, shuffle_seed=10)
    split.fit(X, y, engine="numpy", optimizer=optim.Adam(lr=0.01), epochs=20, batch_size=64, shuffle_seed=10,
              initial_epoch=8)
    for a, b in zip(whole.get_weights(), split.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    assert isinstance(split.opt_state.step, int) and split.opt_state.step == 20 * 5


def test_batchnorm_and_weight_penalty_match():
    def model():
        return db.Sequential([db.Dense(8, l2=1e-3), db.BatchNorm(), db.ReLU(), db.Dense(1), db.Sigmoid()],
                             input_dim=2, seed=1)
    out = fit_both(model, optimizer=optim.Adam(lr=0.01), epochs=15, batch_size=64)
    assert_same(out)


def test_dropout_draws_are_repeatable_and_follow_the_noise_seed():
    def model():
        return small_model(extra=(db.Dropout(0.3),))
    a = model().fit(X, y, engine="jax", optimizer=optim.Adam(lr=0.01), epochs=5, shuffle_seed=1, noise_seed=4)
    b = model().fit(X, y, engine="jax", optimizer=optim.Adam(lr=0.01), epochs=5, shuffle_seed=1, noise_seed=4)
    c = model().fit(X, y, engine="jax", optimizer=optim.Adam(lr=0.01), epochs=5, shuffle_seed=1, noise_seed=5)
    assert a.cost == b.cost and a.cost != c.cost and np.all(np.isfinite(a.cost))


@pytest.mark.parametrize("engine", ["numpy", "jax"])
def test_float32_trains_in_float32(engine):
    X32 = X.astype(np.float32)
    m64, m32 = small_model(), small_model()
    h64 = m64.fit(X, y, engine=engine, optimizer=optim.Adam(lr=0.01), epochs=20, shuffle_seed=10)
    h32 = m32.fit(X32, y, engine=engine, optimizer=optim.Adam(lr=0.01), epochs=20, shuffle_seed=10, dtype="float32")
    assert all(w.dtype == np.float32 for w in m32.get_weights())
    assert m32.opt_state.m.dtype == np.float32 and h32.params["dtype"] == "float32"
    np.testing.assert_allclose(h32.cost, h64.cost, rtol=1e-4)


def test_float32_from_a_float64_dataset_converts_batches():
    model = small_model()
    h = model.fit(X, y, engine="numpy", optimizer=optim.GD(lr=0.1), epochs=3, shuffle_seed=10, dtype=np.float32)
    assert model.get_weights()[0].dtype == np.float32 and np.all(np.isfinite(h.cost))


def test_bad_dtype_and_device_are_one_line_errors():
    with pytest.raises(DeepBasicsError, match="dtype must be"):
        small_model().fit(X, y, dtype="float16")
    with pytest.raises(DeepBasicsError, match="engine='jax' only"):
        small_model().fit(X, y, engine="numpy", device="cpu")
    with pytest.raises(DeepBasicsError, match="unknown device"):
        small_model().fit(X, y, engine="jax", device="tpu9")
    if not any(d.platform == "gpu" for d in jax.devices()):
        with pytest.raises(DeepBasicsError, match="no GPU"):
            small_model().fit(X, y, engine="jax", device="gpu")


def test_divergence_is_caught_under_jax():
    model = db.Sequential([db.Dense(5), db.ReLU(), db.Dense(1)], input_dim=2, seed=0)
    with pytest.raises(db.DivergedError) as err:
        model.fit(X, y * 1e3, loss="mse", engine="jax", optimizer=optim.GD(lr=1.0), epochs=50)
    assert all(np.all(np.isfinite(w)) for w in model.get_weights())     # the last finite state is kept
    assert err.value.epoch < 50


def test_epoch_orders_are_the_documents_permutations():
    rows = batching.epoch_orders(900, range(3, 6), 10)
    for i, e in enumerate(range(3, 6)):
        np.testing.assert_array_equal(rows[i], np.random.RandomState(10 + e + 1).permutation(900))


def test_jax_engine_reproduces_a_document_run():
    # adam_sched: 5000 epochs of the document's network; every logged figure must print the same
    figures = reproduce.document_figures()["runs"]["adam_sched"]
    run = reproduce.train_run("adam_sched", engine="jax", print_fn=lambda *_: None)
    for epoch, cost in figures["costs"].items():
        assert "%f" % run["costs"][int(epoch)] == "%f" % cost
    for epoch, lr in figures["lr_after_epoch"].items():
        assert "%f" % run["lr"][int(epoch)] == "%f" % lr
    assert run["accuracy"] == figures["accuracy"]


@pytest.mark.slow
def test_jax_engine_reproduces_every_figure():
    results = reproduce.reproduce(engine="jax", print_fn=lambda *_: None)
    assert results["matched"] == results["total"] == 138


def test_validation_inside_the_program_equals_evaluate_on_the_host():
    Xv, yv = db.datasets.moons(n_samples=77, noise=0.3, seed=9)
    runs = {}
    for engine in ("numpy", "jax"):
        model = small_model(extra=(db.BatchNorm(), db.Dropout(0.2)))
        runs[engine] = model.fit(X, y, engine=engine, optimizer=optim.Adam(lr=0.01), epochs=30, batch_size=64,
                                 shuffle_seed=10, validation_data=(Xv, yv), validation_freq=7)
    for key in ("val_loss", "val_accuracy"):
        a, b = np.array(runs["numpy"][key]), np.array(runs["jax"][key])
        assert np.isnan(a).sum() == np.isnan(b).sum() == 30 - 5        # epochs 6, 13, 20, 27 and the last
        np.testing.assert_allclose(b, a, rtol=1e-9, equal_nan=True)


def test_a_stop_request_inside_a_fused_block_takes_effect_at_its_end(tmp_path):
    from deepbasics.learn import checkpoint
    from deepbasics.runs import config, experiment

    class StopAt:
        def update(self, epoch, values):
            if epoch == 10:
                raise KeyboardInterrupt

        def close(self):
            pass
    cfg = config.load("moons_adam", ["train.epochs=300", "train.engine=jax", "model.dropout=0.1"])
    full = str(tmp_path / "full.npz")
    experiment.run("x", cfg, checkpoint=full)
    part = str(tmp_path / "part.npz")
    with pytest.raises(experiment.Interrupted) as stop:
        experiment.run("x", cfg, checkpoint=part, progress=StopAt())
    assert stop.value.epoch == 12                                  # blocks of 3 epochs: 9, 10, 11
    saved = checkpoint.load(part)
    assert saved.epoch == 12 and len(saved.meta["history"]["epoch"]) == 12
    experiment.run("x", cfg, checkpoint=part, resume=part)
    a, b = checkpoint.load(full), checkpoint.load(part)
    for p, q in zip(a.params, b.params):
        for u, v in zip(p, q):
            np.testing.assert_allclose(v, u, rtol=1e-12, atol=1e-14)
