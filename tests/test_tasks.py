"""Beyond binary: multi-class (softmax + cross-entropy) and regression (linear + MSE) end to end."""
import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_digits

import deepbasics as db


def test_digits_multiclass_with_integer_and_one_hot_labels():
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    Xtr, ytr, Xte, yte = X[:1400], y[:1400], X[1400:], y[1400:]
    for labels in (ytr, np.eye(10)[ytr]):
        model = db.Sequential([db.Dense(64), db.ReLU(), db.Dense(10), db.Softmax()], input_dim=64, seed=0)
        h = model.fit(Xtr, labels, loss="categorical_crossentropy", optimizer=db.optim.Adam(1e-3), epochs=25,
                      batch_size=32, shuffle_seed=0, validation_data=(Xte, yte))
        assert h.cost[-1] < h.cost[0] / 5
        proba = model.predict_proba(Xte)
        assert proba.shape == (len(yte), 10)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
        assert model.predict(Xte).shape == (len(yte),)
        assert model.evaluate(Xtr, ytr)["accuracy"] > 0.98
        assert model.evaluate(Xte, yte)["accuracy"] > 0.88
        assert h["val_accuracy"][-1] == pytest.approx(model.evaluate(Xte, yte)["accuracy"])


def test_softmax_output_from_logits_model():
    X, y = load_digits(return_X_y=True)
    model = db.Sequential([db.Dense(32), db.Tanh(), db.Dense(10)], input_dim=64, seed=1)
    model.fit(X / 16, y, loss=db.losses.CategoricalCrossEntropy(from_logits=True), epochs=5, shuffle_seed=0)
    assert model.evaluate(X / 16, y)["accuracy"] > 0.85


def test_regression_on_diabetes():
    X, y = load_diabetes(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    t = (y - y.mean()) / y.std()
    model = db.Sequential([db.Dense(32), db.ReLU(), db.Dense(1)], input_dim=10, seed=0)
    h = model.fit(X, t, loss="mse", optimizer=db.optim.Adam(1e-2), epochs=60, batch_size=32, shuffle_seed=0)
    pred = model.predict(X)
    assert pred.shape == (len(t),)
    r2 = 1 - np.mean((pred - t) ** 2) / np.var(t)
    assert r2 > 0.5
    result = model.evaluate(X, t)
    assert set(result) == {"loss"} and result["loss"] == pytest.approx(np.mean((pred - t) ** 2))
    assert h.cost[-1] < 0.6


def test_multi_output_regression():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    Y = np.c_[X @ [1.0, -2.0, 0.5], np.sin(X[:, 0])]
    model = db.Sequential([db.Dense(32), db.Tanh(), db.Dense(2), db.Linear()], input_dim=3, seed=0)
    model.fit(X, Y, loss="mse", optimizer=db.optim.Adam(1e-2), epochs=100, batch_size=32, shuffle_seed=0)
    assert model.predict(X).shape == (300, 2)
    assert model.evaluate(X, Y)["loss"] < 0.05
