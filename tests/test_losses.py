"""Losses: finite differences, PyTorch, stability at the extremes, label checks."""
import numpy as np
import pytest
import torch
from hypothesis import example, given, strategies as st

import deepbasics as db
from deepbasics.nn import losses
from gradcheck import assert_close_grad, numeric_grad


def cases(seed, m, k):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(m, k)) * 3
    return rng, z


@given(seed=st.integers(0, 2**16), m=st.integers(1, 6))
def test_bce_from_logits_gradient(seed, m):
    rng, z = cases(seed, m, 1)
    y = rng.integers(0, 2, size=(m, 1)).astype(float)
    loss = losses.BinaryCrossEntropy(from_logits=True)
    mean = lambda zz: np.mean(loss.forward(zz, y, np))
    assert_close_grad(loss.backward(z, y, np), numeric_grad(mean, z.copy()))


@given(seed=st.integers(0, 2**16), m=st.integers(1, 6))
def test_bce_from_probabilities_gradient(seed, m):
    rng, z = cases(seed, m, 1)
    p = 1 / (1 + np.exp(-z / 3))
    y = rng.integers(0, 2, size=(m, 1)).astype(float)
    loss = losses.BinaryCrossEntropy()
    mean = lambda pp: np.mean(loss.forward(pp, y, np))
    assert_close_grad(loss.backward(p, y, np), numeric_grad(mean, p.copy(), eps=1e-7), rtol=1e-4)


@given(seed=st.integers(0, 2**16), m=st.integers(1, 6), k=st.integers(2, 5))
def test_categorical_from_logits_gradient(seed, m, k):
    rng, z = cases(seed, m, k)
    y = np.eye(k)[rng.integers(0, k, size=m)]
    loss = losses.CategoricalCrossEntropy(from_logits=True)
    assert_close_grad(loss.backward(z, y, np), numeric_grad(lambda zz: np.mean(loss.forward(zz, y, np)), z.copy()))


@example(seed=541, m=6, k=5)
@given(seed=st.integers(0, 2**16), m=st.integers(1, 6), k=st.integers(2, 5))
def test_categorical_from_probabilities_gradient(seed, m, k):
    rng, z = cases(seed, m, k)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    y = np.eye(k)[rng.integers(0, k, size=m)]
    loss = losses.CategoricalCrossEntropy()
    # -log p curves sharply for small p: a step of 1e-4 * p keeps the central difference accurate
    # (a fixed 1e-8 missed by 4.5e-4 relative at p = 2.7e-7, seed=541, m=6, k=5).
    assert_close_grad(loss.backward(p, y, np),
                      numeric_grad(lambda pp: np.mean(loss.forward(pp, y, np)), p.copy(), eps=1e-4 * p), rtol=1e-5)


@given(seed=st.integers(0, 2**16), m=st.integers(1, 6), k=st.integers(1, 4))
def test_mse_gradient(seed, m, k):
    rng, z = cases(seed, m, k)
    y = rng.normal(size=(m, k))
    loss = losses.MeanSquaredError()
    assert_close_grad(loss.backward(z, y, np), numeric_grad(lambda zz: np.mean(loss.forward(zz, y, np)), z.copy()))


def torch_value_and_grad(fn, z):
    t = torch.tensor(z, requires_grad=True)
    out = fn(t)
    out.backward()
    return out.item(), t.grad.numpy()


def test_losses_match_torch():
    rng = np.random.default_rng(3)
    z = rng.normal(size=(8, 1)) * 4
    y = rng.integers(0, 2, size=(8, 1)).astype(float)
    loss = losses.BinaryCrossEntropy(from_logits=True)
    value, grad = torch_value_and_grad(
        lambda t: torch.nn.functional.binary_cross_entropy_with_logits(t, torch.tensor(y)), z)
    assert np.mean(loss.forward(z, y, np)) == pytest.approx(value, rel=1e-13)
    np.testing.assert_allclose(loss.backward(z, y, np), grad, rtol=1e-12)

    p = 1 / (1 + np.exp(-z))
    loss = losses.BinaryCrossEntropy()
    value, grad = torch_value_and_grad(lambda t: torch.nn.functional.binary_cross_entropy(t, torch.tensor(y)), p)
    assert np.mean(loss.forward(p, y, np)) == pytest.approx(value, rel=1e-13)
    np.testing.assert_allclose(loss.backward(p, y, np), grad, rtol=1e-10)

    z = rng.normal(size=(8, 4)) * 2
    labels = rng.integers(0, 4, size=8)
    loss = losses.CategoricalCrossEntropy(from_logits=True)
    value, grad = torch_value_and_grad(
        lambda t: torch.nn.functional.cross_entropy(t, torch.tensor(labels)), z)
    assert np.mean(loss.forward(z, np.eye(4)[labels], np)) == pytest.approx(value, rel=1e-13)
    np.testing.assert_allclose(loss.backward(z, np.eye(4)[labels], np), grad, rtol=1e-12)

    y = rng.normal(size=(8, 4))
    loss = losses.MeanSquaredError()
    value, grad = torch_value_and_grad(lambda t: torch.nn.functional.mse_loss(t, torch.tensor(y)), z)
    assert np.mean(loss.forward(z, y, np)) == pytest.approx(value, rel=1e-13)
    np.testing.assert_allclose(loss.backward(z, y, np), grad, rtol=1e-12)


def test_bce_never_takes_log_of_zero():
    y = np.array([[1.0], [0.0]])
    with np.errstate(divide="raise", over="raise", invalid="raise"):
        assert np.all(np.isfinite(losses.BinaryCrossEntropy(from_logits=True).forward(np.array([[-800.0], [800.0]]), y, np)))
    with np.errstate(divide="ignore"):
        value = losses.BinaryCrossEntropy().forward(np.array([[0.0], [1.0]]), y, np)
    np.testing.assert_array_equal(value, [100.0, 100.0])          # PyTorch's clamp at log = -100


def test_fused_and_unfused_bce_agree():
    z = np.linspace(-5, 5, 11).reshape(-1, 1)
    y = (z > 0.3).astype(float)
    p = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(losses.BinaryCrossEntropy(from_logits=True).forward(z, y, np),
                               losses.BinaryCrossEntropy().forward(p, y, np), rtol=1e-12)


def test_label_checks():
    bce = losses.BinaryCrossEntropy()
    with pytest.raises(db.DeepBasicsError, match="0 or 1"):
        bce.targets([0, 1, 2], 1)
    with pytest.raises(db.DeepBasicsError, match="NaN"):
        bce.targets([0, np.nan], 1)
    cce = losses.CategoricalCrossEntropy()
    np.testing.assert_array_equal(cce.targets([2, 0], 3), [[0, 0, 1], [1, 0, 0]])
    with pytest.raises(db.DeepBasicsError, match="0..2"):
        cce.targets([3], 3)
    with pytest.raises(db.DeepBasicsError, match="columns"):
        cce.targets(np.eye(4), 3)
    with pytest.raises(db.DeepBasicsError, match="column"):
        losses.MeanSquaredError().targets(np.ones((3, 2)), 1)
    with pytest.raises(db.DeepBasicsError, match="unknown loss 'hinge'"):
        losses.get("hinge")
