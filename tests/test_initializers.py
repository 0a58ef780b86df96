"""Initialisers: the document's draws, the variances they promise, names."""
import numpy as np
import pytest

import deepbasics as db
from deepbasics.nn import initializers


def test_he_normal_is_the_documents_initialize_parameters():
    # The document: np.random.seed(3); W_l = randn(n_l, n_{l-1}) * sqrt(2 / n_{l-1}), layer by layer.
    dims = [2, 5, 2, 1]
    rng = np.random.RandomState(3)
    expected = [rng.randn(dims[l], dims[l - 1]) * np.sqrt(2 / dims[l - 1]) for l in range(1, 4)]
    model = db.Sequential([db.Dense(5), db.ReLU(), db.Dense(2), db.ReLU(), db.Dense(1), db.Sigmoid()],
                          input_dim=2, init="he", seed=3)
    weights = model.get_weights()
    for l in range(3):
        np.testing.assert_array_equal(weights[2 * l], expected[l])
        np.testing.assert_array_equal(weights[2 * l + 1], np.zeros(dims[l + 1]))


@pytest.mark.parametrize("name,var", [
    ("standard_normal", lambda i, o: 1.0), ("glorot_normal", lambda i, o: 2 / (i + o)),
    ("glorot_uniform", lambda i, o: 2 / (i + o)), ("he_normal", lambda i, o: 2 / i),
    ("he_uniform", lambda i, o: 2 / i), ("lecun_normal", lambda i, o: 1 / i)])
def test_variances(name, var):
    n_in, n_out = 400, 300
    W = initializers.get(name)(np.random.default_rng(0), n_out, n_in)
    assert W.shape == (n_out, n_in)
    assert abs(W.mean()) < 0.01 * np.sqrt(var(n_in, n_out)) * 10
    assert W.var() == pytest.approx(var(n_in, n_out), rel=0.02)


def test_uniform_bounds_and_zeros():
    W = initializers.he_uniform(np.random.default_rng(1), 50, 6)
    assert np.all(np.abs(W) <= 1.0)                     # sqrt(6 / 6)
    assert not initializers.zeros(None, 2, 3).any()


def test_per_layer_override_and_unknown_names():
    model = db.Sequential([db.Dense(3, init="zeros"), db.Tanh(), db.Dense(1)], input_dim=2, init="glorot", seed=0)
    assert not model.get_weights()[0].any() and model.get_weights()[2].any()
    with pytest.raises(db.DeepBasicsError, match="unknown initialiser 'hee'.*he_normal"):
        db.Sequential([db.Dense(1)], init="hee")


def test_seeded_models_are_reproducible_and_unseeded_record_their_seed():
    a = db.Sequential([db.Dense(4), db.Dense(1)], input_dim=3, seed=11)
    b = db.Sequential([db.Dense(4), db.Dense(1)], input_dim=3, seed=11)
    for x, y in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(x, y)
    c = db.Sequential([db.Dense(4), db.Dense(1)], input_dim=3)
    d = db.Sequential([db.Dense(4), db.Dense(1)], input_dim=3, seed=c.seed)
    np.testing.assert_array_equal(c.get_weights()[0], d.get_weights()[0])
