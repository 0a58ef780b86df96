"""Sequential: fit / predict / evaluate, weights, histories, and clear errors on bad input."""
import re
from pathlib import Path

import numpy as np
import pytest

import deepbasics as db


def small_model(seed=0, out=db.Sigmoid):
    return db.Sequential([db.Dense(4), db.Tanh(), db.Dense(1), out()], input_dim=2, seed=seed)


@pytest.fixture(scope="module")
def data():
    return db.datasets.moons(n_samples=200, noise=0.2, seed=1)


def test_fit_returns_history_with_document_cost_and_rates(data):
    X, y = data
    model = small_model()
    h = model.fit(X, y, optimizer=db.optim.GD(0.5), epochs=5, batch_size=32, shuffle_seed=3,
                  schedule=db.schedules.InverseTimeDecay(1.0))
    assert h.epoch == [0, 1, 2, 3, 4] and len(h.cost) == 5
    assert h.lr == [0.5, 0.5, 0.25, 0.5 / 3, 0.125]
    assert h["lr_after"] == [0.5, 0.25, 0.5 / 3, 0.125, 0.1]
    assert h.params["shuffle_seed"] == 3 and h.params["seed"] == 0
    assert h.cost[-1] < h.cost[0]
    assert set(h.to_dict()) == {"epoch", "history", "params"}


def test_cost_is_mean_of_per_example_losses_before_each_update(data):
    X, y = data
    model = small_model()
    start = model.get_weights()
    h = model.fit(X, y, optimizer=db.optim.GD(0.0), epochs=1, batch_size=16, shuffle_seed=0)
    model.set_weights(start)
    assert h.cost[0] == pytest.approx(model.evaluate(X, y)["loss"], rel=1e-12)   # lr 0: nothing moves


def test_batch_stochastic_and_minibatch_all_train(data):
    X, y = data
    for batch_size in (None, 1, 50, 1000):
        h = small_model().fit(X, y, optimizer=db.optim.Adam(0.01), epochs=3, batch_size=batch_size, shuffle_seed=1)
        assert h.params["batch_size"] == (200 if batch_size in (None, 1000) else batch_size)
        assert h.params["steps_per_epoch"] == -(-200 // h.params["batch_size"])


def test_predict_shapes_and_evaluate(data):
    X, y = data
    model = small_model()
    model.fit(X, y, optimizer=db.optim.Adam(0.05), epochs=30, batch_size=32, shuffle_seed=0)
    p = model.predict_proba(X)
    assert p.shape == (200,) and np.all((p > 0) & (p < 1))
    labels = model.predict(X)
    assert labels.shape == (200,) and set(np.unique(labels)) <= {0, 1}
    result = model.evaluate(X, y)
    assert set(result) == {"loss", "accuracy"} and result["accuracy"] == np.mean(labels == y) > 0.8


def test_continuing_a_run_equals_one_run(data):
    X, y = data
    a = small_model()
    a.fit(X, y, optimizer=db.optim.Adam(0.01), epochs=6, batch_size=32, shuffle_seed=4)
    b = small_model()
    opt = db.optim.Adam(0.01)
    b.fit(X, y, optimizer=opt, epochs=3, batch_size=32, shuffle_seed=4)
    h = b.fit(X, y, optimizer=opt, epochs=6, batch_size=32, shuffle_seed=4, initial_epoch=3)
    assert h.epoch == [3, 4, 5]
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)


def test_validation_metrics_recorded(data):
    X, y = data
    h = small_model().fit(X[:150], y[:150], optimizer=db.optim.Adam(0.01), epochs=4, batch_size=32,
                          shuffle_seed=0, validation_data=(X[150:], y[150:]), validation_freq=2)
    assert np.isnan(h["val_loss"][0]) and np.isfinite(h["val_loss"][1]) and np.isfinite(h["val_accuracy"][3])


def test_verbose_prints_the_documents_lines(data, capsys):
    X, y = data
    small_model().fit(X, y, optimizer=db.optim.GD(0.5), epochs=3, batch_size=64, shuffle_seed=0, verbose=2,
                      schedule=db.schedules.InverseTimeDecay(1, interval=1000))
    lines = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"Cost after epoch 0: \d\.\d{6}", lines[0])
    assert lines[1] == "learning rate after epoch 0: 0.500000"
    assert lines[2].startswith("Cost after epoch 2: ") and len(lines) == 4


def test_get_set_weights_layout():
    model = db.Sequential([db.Dense(5), db.ReLU(), db.Dense(1)], input_dim=3, seed=0)
    shapes = [w.shape for w in model.get_weights()]
    assert shapes == [(5, 3), (5,), (1, 5), (1,)]
    model.set_weights([np.zeros(s) for s in shapes])
    assert not any(w.any() for w in model.get_weights())
    with pytest.raises(db.DeepBasicsError, match="shape"):
        model.set_weights([np.zeros((3, 5)), np.zeros(5), np.zeros((1, 5)), np.zeros(1)])
    with pytest.raises(db.DeepBasicsError, match="expects 4 arrays"):
        model.set_weights([np.zeros((5, 3))])
    assert model.summary().splitlines()[-1].split() == ["total", "26"]


def test_divergence_stops_with_a_clear_message_and_keeps_good_weights():
    X = np.array([[1e3, -1e3], [2e3, 1e3], [-1e3, 5e2]])
    y = np.array([1.0, 2.0, 3.0])
    model = db.Sequential([db.Dense(8), db.ReLU(), db.Dense(1)], input_dim=2, seed=0)
    with np.errstate(all="ignore"), pytest.raises(db.DivergedError, match="diverged at epoch .*smaller learning rate"):
        model.fit(X, y, loss="mse", optimizer=db.optim.GD(10.0), epochs=50, batch_size=3, shuffle=False)
    assert all(np.all(np.isfinite(w)) for w in model.get_weights())


BAD_INPUTS = [
    (lambda m, X, y: m.fit(X[:, :1], y), "features but the model expects 2"),
    (lambda m, X, y: m.fit(X, y[:-1]), "200 examples but y has 199"),
    (lambda m, X, y: m.fit(np.where(X > 1, np.nan, X), y), "NaN or infinite"),
    (lambda m, X, y: m.fit(X, y + 1), "0 or 1"),
    (lambda m, X, y: m.fit(X, y, batch_size=0), "batch_size"),
    (lambda m, X, y: m.fit(X, y, epochs=-1), "epochs"),
    (lambda m, X, y: m.fit(X, y, optimizer=db.optim.GD(-0.1)), "learning rate"),
    (lambda m, X, y: m.fit(X, y, optimizer="adamw2"), "unknown optimizer"),
    (lambda m, X, y: m.fit(X, y, loss="hinge"), "unknown loss"),
    (lambda m, X, y: m.fit(X, y, engine="tpu"), "unknown engine"),
    (lambda m, X, y: m.fit(X[0], y), "2-D"),
    (lambda m, X, y: m.fit(np.empty((0, 2)), y[:0]), "empty"),
    (lambda m, X, y: m.fit([["a", "b"]], [1]), "numeric"),
    (lambda m, X, y: m.fit(X, y, validation_data=X), "validation_data"),
    (lambda m, X, y: m.predict(X[:, :1]), "features"),
]


@pytest.mark.parametrize("call,match", BAD_INPUTS)
def test_bad_input_gets_a_clear_error(data, call, match):
    X, y = data
    with pytest.raises(db.DeepBasicsError, match=match) as info:
        call(small_model(), X, y)
    assert "\n" not in str(info.value)


def test_constructor_errors():
    with pytest.raises(db.DeepBasicsError, match="at least one layer"):
        db.Sequential([])
    with pytest.raises(db.DeepBasicsError, match="not a deepbasics layer"):
        db.Sequential([db.Dense(2), "relu"])
    with pytest.raises(db.DeepBasicsError, match="no weights yet"):
        db.Sequential([db.Dense(2)]).get_weights()


def test_library_never_seeds_global_random_state():
    root = Path(db.__file__).parent
    for path in root.rglob("*.py"):
        text = path.read_text()
        assert "np.random.seed(" not in text and "numpy.random.seed(" not in text, path
        assert "allow_pickle=True" not in text and "pickle.load" not in text, path


def test_fit_leaves_global_random_state_alone(data):
    X, y = data
    state = np.random.get_state()[1].copy()
    small_model().fit(X, y, epochs=2, batch_size=32)
    np.testing.assert_array_equal(np.random.get_state()[1], state)


def test_rejected_fit_leaves_an_unbuilt_model_unbuilt(data):
    X, y = data
    model = db.Sequential([db.Dense(3), db.Dense(1), db.Sigmoid()], seed=0)
    with pytest.raises(db.DeepBasicsError, match="clip_norm"):
        model.fit(X, y, clip_norm=0)
    assert model.params is None


def test_summary_columns_fit_their_contents():
    """Each column is as wide as its longest entry: the widths, outputs and counts line up."""
    model = db.Sequential([db.Dense(100), db.BatchNorm(), db.ReLU(), db.Dense(1, l2=0.01), db.Sigmoid()],
                          input_dim=2, init="he", seed=0)
    head, *rows = model.summary().splitlines()
    assert head == "Sequential(input_dim=2, init='he', seed=0)"
    header, body, rule, total = rows[0], rows[1:-2], rows[-2], rows[-1]
    assert header.split() == ["#", "layer", "outputs", "params"]
    assert [r.split()[1] for r in body] == ["Dense(100)", "BatchNorm(momentum=0.1,", "ReLU()", "Dense(1,", "Sigmoid()"]
    assert {len(r) for r in [header, *body, total]} == {len(header)} and set(rule.strip()) == {"-"}
    end = header.index("outputs") + len("outputs")                          # outputs right-aligned under it
    assert [r[:end].split()[-1] for r in body] == ["100", "100", "100", "1", "1"]
    assert all(r[end] == " " and r[end - 1] != " " for r in body)
    assert [int(r.split()[-1]) for r in body] == [300, 200, 0, 101, 0] and total.split() == ["total", "601"]
