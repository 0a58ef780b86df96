"""fit's option groups (learn.fit) and the one rule for steps per epoch (batching.steps_per_epoch).

Each group rejects a bad value with the one-line message Sequential.fit gives for it, before the
model is touched; fit through the groups is Sequential.fit; steps_per_epoch counts the updates
both engines run.
"""
import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import deepbasics as db
from deepbasics.learn import batching, fit as fit_steps
from deepbasics.learn.early_stopping import EarlyStopping
from deepbasics.learn.fit import Batching, FitOptions, Monitoring, Objective, Placement

BAD = [   # (group, its keywords, the same through Sequential.fit, the whole message)
    (Objective, {"clip_norm": 0}, {"clip_norm": 0}, "clip_norm must be > 0 (or None for no clipping), got 0"),
    (Objective, {"clip_value": -1.0}, {"clip_value": -1.0}, "clip_value must be a finite number >= 0, got -1.0"),
    (Objective, {"loss": "hinge"}, {"loss": "hinge"}, "unknown loss 'hinge'; choose one of: bce, binary_crossentropy, "
     "categorical_crossentropy, cross_entropy, mean_squared_error, mse, sparse_categorical_crossentropy"),
    (Objective, {"optimizer": "adamw2"}, {"optimizer": "adamw2"},
     "unknown optimizer 'adamw2'; choose one of: adagrad, adam, adamw, gd, momentum, rmsprop, sgd"),
    (Batching, {"batch_size": 0}, {"batch_size": 0}, "batch_size must be a whole number >= 1, got 0"),
    (Batching, {"batch_size": True}, {"batch_size": True}, "batch_size must be a whole number >= 1, got True"),
    (Batching, {"shuffle_seed": -3}, {"shuffle_seed": -3}, "shuffle_seed must be a whole number >= 0, got -3"),
    (Batching, {"shuffle": False, "shuffle_seed": 1.5}, {"shuffle": False, "shuffle_seed": 1.5},
     "shuffle_seed must be a whole number >= 0, got 1.5"),
    (Batching, {"drop_last": "yes"}, {"drop_last": "yes"}, "drop_last must be True or False, got 'yes'"),
    (Monitoring, {"diagnostics_every": -1}, {"diagnostics_every": -1},
     "diagnostics_every must be a whole number >= 0, got -1"),
    (Monitoring, {"early_stopping": {"monitor": "val_loss"}}, {"early_stopping": {"monitor": "val_loss"}},
     "early stopping monitors 'val_loss', which needs validation_data (or monitor 'cost', the training cost)"),
    (Monitoring, {"early_stopping": {"patiance": 3}}, {"early_stopping": {"patiance": 3}},
     "early_stopping has no setting 'patiance'; it takes: monitor, patience, min_delta, restore_best_weights, mode"),
    (Monitoring, {"verbose": 1.5}, {"verbose": 1.5},
     "verbose must be a whole number >= 0 (print every N epochs), got 1.5"),
    (Monitoring, {"validation_freq": 0}, {"validation_freq": 0}, "validation_freq must be a whole number >= 1, got 0"),
    (Monitoring, {"validation_data": np.zeros((3, 2))}, {"validation_data": np.zeros((3, 2))},
     "validation_data must be a pair (X_val, y_val)"),
    (Placement, {"dtype": "float16"}, {"dtype": "float16"}, "dtype must be 'float64' or 'float32', got 'float16'"),
    (Placement, {"engine": "numpy", "device": "cpu"}, {"engine": "numpy", "device": "cpu"},
     "device= applies to engine='jax' only (engine is 'numpy')"),
    (Placement, {"engine": "tpu"}, {"engine": "tpu"}, "unknown engine 'tpu'; choose one of: auto, jax, numpy"),
    (FitOptions, {"epochs": 0}, {"epochs": 0}, "epochs must be a whole number >= 1, got 0"),
    (FitOptions, {"epochs": 3, "initial_epoch": 4}, {"epochs": 3, "initial_epoch": 4},
     "initial_epoch must lie in 0..epochs (3), got 4"),
    (FitOptions, {"initial_epoch": True}, {"initial_epoch": True}, "initial_epoch must lie in 0..epochs (100), got True"),
]


@pytest.fixture(scope="module")
def data():
    return db.datasets.moons(n_samples=120, noise=0.2, seed=1)


def unbuilt():
    return db.Sequential([db.Dense(3), db.ReLU(), db.Dense(1), db.Sigmoid()], seed=0)


@pytest.mark.parametrize("group,kw,fit_kw,message", BAD, ids=lambda v: getattr(v, "__name__", None))
def test_each_group_rejects_a_bad_value_with_fits_one_line_message(data, group, kw, fit_kw, message):
    with pytest.raises(db.DeepBasicsError) as in_group:
        group(**kw)
    assert str(in_group.value) == message and "\n" not in message
    model = unbuilt()
    with pytest.raises(db.DeepBasicsError) as in_fit:
        model.fit(*data, **fit_kw)
    assert str(in_fit.value) == message
    assert model.params is None and model.loss is None       # rejected before the model was touched


def test_groups_hold_checked_values():
    objective = Objective("mse", "gd", None)
    assert isinstance(objective.loss, db.losses.MeanSquaredError) and isinstance(objective.optimizer, db.optim.GD)
    assert isinstance(objective.schedule, db.schedules.Constant)
    drawn = Batching(None)
    assert isinstance(drawn.shuffle_seed, int) and 0 <= drawn.shuffle_seed < 2**31 and drawn.seed == drawn.shuffle_seed
    assert drawn.size(50) == 50 and Batching(64).size(50) == 50 and Batching(8).size(50) == 8
    unshuffled = Batching(8, shuffle=False, shuffle_seed=5)
    assert unshuffled.seed is None and unshuffled.order(50) is None
    assert Batching(8, shuffle_seed=np.int64(3), drop_last=True).order(50) == batching.Truncated(3, 50)
    assert Monitoring(verbose=True).verbose == 1 and Monitoring(early_stopping={"monitor": "cost"}).early_stopping \
        == EarlyStopping(monitor="cost")
    placement = Placement(" JAX", dtype=np.float32)
    assert placement.engine == "jax" and placement.dtype == np.dtype(np.float32)
    with pytest.raises(dataclasses.FrozenInstanceError):
        placement.engine = "numpy"


def test_fit_through_the_groups_is_sequential_fit(data):
    X, y = data
    kw = dict(loss="binary_crossentropy", optimizer=db.optim.Adam(lr=0.01), schedule=db.schedules.InverseTimeDecay(1),
              epochs=6, batch_size=32, shuffle_seed=4, drop_last=True, validation_data=(X[:30], y[:30]),
              validation_freq=2, engine="numpy", clip_norm=1.0)
    front = db.Sequential([db.Dense(4), db.Tanh(), db.Dense(1), db.Sigmoid()], seed=2)
    h_front = front.fit(X, y, **kw)
    options = FitOptions(epochs=6, objective=Objective(kw["loss"], kw["optimizer"], kw["schedule"], clip_norm=1.0),
                         batching=Batching(32, shuffle_seed=4, drop_last=True),
                         monitoring=Monitoring(validation_data=kw["validation_data"], validation_freq=2),
                         placement=Placement("numpy"))
    steps = db.Sequential([db.Dense(4), db.Tanh(), db.Dense(1), db.Sigmoid()], seed=2)
    h_steps = fit_steps.fit(steps, np.asarray(X, dtype=np.float64), y, options)
    assert h_steps.to_dict() == h_front.to_dict()
    for a, b in zip(front.get_weights(), steps.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert h_front.params["steps_per_epoch"] == batching.steps_per_epoch(len(X), 32, True) == 3


sizes = st.one_of(st.none(), st.integers(1, 600))


@given(m=st.integers(1, 500), batch_size=sizes, drop_last=st.booleans())
def test_steps_per_epoch_counts_the_batch_bounds(m, batch_size, drop_last):
    steps = batching.steps_per_epoch(m, batch_size, drop_last)
    b = m if batch_size is None else min(batch_size, m)
    m_used = steps * b if drop_last else m                    # what the engines are told under drop_last
    bounds = batching.batch_bounds(m_used, b)
    assert steps == len(bounds) >= 1
    if drop_last:                                             # only the partial batch is left out
        assert all(stop - start == b for start, stop in bounds) and 0 <= m - m_used < b
    else:
        assert bounds[-1][1] == m


def _updates_in_one_epoch(engine, m, batch_size, drop_last):
    """The updates an engine runs in one epoch, counted by the optimizer (GDState.step)."""
    rng = np.random.RandomState(m)
    X, y = rng.randn(m, 2), rng.randint(0, 2, m)
    model = db.Sequential([db.Dense(2), db.Dense(1), db.Sigmoid()], seed=0)
    h = model.fit(X, y, optimizer=db.optim.GD(0.01), epochs=1, batch_size=batch_size, shuffle_seed=1,
                  drop_last=drop_last, engine=engine)
    return int(np.asarray(model.opt_state.step)), h.params["steps_per_epoch"]


@given(m=st.integers(1, 300), batch_size=sizes, drop_last=st.booleans())
def test_the_numpy_engine_runs_steps_per_epoch_updates(m, batch_size, drop_last):
    expected = batching.steps_per_epoch(m, batch_size, drop_last)
    assert _updates_in_one_epoch("numpy", m, batch_size, drop_last) == (expected, expected)


@settings(max_examples=8)
@given(m=st.integers(1, 80), batch_size=st.one_of(st.none(), st.integers(1, 100)), drop_last=st.booleans())
def test_the_jax_engine_runs_steps_per_epoch_updates(m, batch_size, drop_last):
    pytest.importorskip("jax")
    expected = batching.steps_per_epoch(m, batch_size, drop_last)
    assert _updates_in_one_epoch("jax", m, batch_size, drop_last) == (expected, expected)


# -- on_batch: a front end's look between two updates ----------------------------------------------
def _moons_model():
    X, y = db.datasets.moons(n_samples=200, noise=0.2, seed=3)
    model = db.Sequential([db.Dense(4), db.ReLU(), db.Dense(1), db.Sigmoid()], input_dim=2, seed=3)
    return model, X, y


def test_on_batch_sees_every_update_and_changes_no_number():
    calls = []
    model, X, y = _moons_model()
    args = dict(loss="binary_crossentropy", optimizer="adam", epochs=3, batch_size=64, shuffle_seed=10, engine="numpy")
    with_hook = model.fit(X, y, on_batch=lambda e, k: calls.append((e, k)), **args)
    plain, _, _ = _moons_model()
    without = plain.fit(X, y, **args)
    assert calls == [(e, k) for e in range(3) for k in range(1, 5)]        # 200 examples: 4 updates an epoch
    assert with_hook.history["cost"] == without.history["cost"]
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), plain.get_weights()))


def test_on_batch_may_hold_the_run_or_end_it():
    import time
    model, X, y = _moons_model()
    before = model.get_weights()

    class Stop(Exception):
        pass

    def stop(e, k):
        if (e, k) == (1, 2):
            raise Stop()
    with pytest.raises(Stop):
        model.fit(X, y, epochs=3, batch_size=64, shuffle_seed=10, engine="numpy", on_batch=stop)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), before))   # nothing kept of it
    held, _, _ = _moons_model()
    slept = held.fit(X, y, epochs=3, batch_size=64, shuffle_seed=10, engine="numpy",
                     on_batch=lambda e, k: time.sleep(0.01) if k == 2 else None)
    plain, _, _ = _moons_model()
    assert slept.history["cost"] == plain.fit(X, y, epochs=3, batch_size=64, shuffle_seed=10,
                                              engine="numpy").history["cost"]
