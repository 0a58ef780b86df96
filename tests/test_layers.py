"""Dense and activations: finite differences and PyTorch, forward and backward."""
import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

import deepbasics as db
from deepbasics.nn.layer import Context
from gradcheck import assert_close_grad, numeric_grad

CTX = Context(xp=np, train=True)
ACTS = [db.Linear(), db.Sigmoid(), db.Tanh(), db.ReLU(), db.LeakyReLU(), db.LeakyReLU(0.2), db.Softmax()]
TORCH = {
    "Linear": lambda z: z, "Sigmoid": torch.sigmoid, "Tanh": torch.tanh, "ReLU": torch.relu,
    "Softmax": lambda z: torch.softmax(z, dim=1),
}


def away_from_kinks(z):
    """Move values off 0 so ReLU-style kinks don't spoil finite differences."""
    return np.where(np.abs(z) < 1e-3, 0.1, z)


@pytest.mark.parametrize("act", ACTS, ids=repr)
@given(m=st.integers(1, 6), n=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_activation_backward_matches_finite_differences(act, m, n, seed):
    rng = np.random.default_rng(seed)
    z = away_from_kinks(rng.normal(size=(m, n)) * 2)
    w = rng.normal(size=(m, n))                    # L = sum(w * f(z)) has dL/da = w
    _, cache, _ = act.forward((), (), z, CTX)
    dz, grads = act.backward((), cache, w, CTX)
    assert grads == ()
    assert_close_grad(dz, numeric_grad(lambda zz: np.sum(w * act.forward((), (), zz, CTX)[0]), z.copy()))


@pytest.mark.parametrize("act", ACTS, ids=repr)
def test_activation_matches_torch(act):
    rng = np.random.default_rng(0)
    z = rng.normal(size=(7, 4)) * 3
    w = rng.normal(size=(7, 4))
    name = type(act).__name__
    tz = torch.tensor(z, requires_grad=True)
    fn = (lambda t: torch.nn.functional.leaky_relu(t, act.alpha)) if name == "LeakyReLU" else TORCH[name]
    ta = fn(tz)
    (ta * torch.tensor(w)).sum().backward()
    a, cache, _ = act.forward((), (), z, CTX)
    dz, _ = act.backward((), cache, w, CTX)
    np.testing.assert_allclose(a, ta.detach().numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(dz, tz.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_sigmoid_never_overflows():
    a = db.Sigmoid().fn(np.array([-1e6, -800.0, 0.0, 800.0, 1e6]), np)
    assert np.all(np.isfinite(a)) and 0 <= a[0] < 1e-200 and a[2] == 0.5 and a[-1] == 1


def test_leaky_relu_default_slope_is_document_value():
    assert db.LeakyReLU().alpha == 0.01
    np.testing.assert_array_equal(db.LeakyReLU().fn(np.array([-2.0, 3.0]), np), [-0.02, 3.0])


@given(m=st.integers(1, 6), n_in=st.integers(1, 5), n_out=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_dense_backward_matches_finite_differences(m, n_in, n_out, seed):
    rng = np.random.default_rng(seed)
    layer = db.Dense(n_out)
    W, b = layer.build(n_in, np.random.RandomState(seed), db.initializers.he_normal).params
    b = rng.normal(size=b.shape)
    x = rng.normal(size=(m, n_in))
    w = rng.normal(size=(m, n_out))

    def loss(W_, b_, x_):
        return np.sum(w * layer.forward((W_, b_), (), x_, CTX)[0])

    _, cache, _ = layer.forward((W, b), (), x, CTX)
    dx, (dW, db_) = layer.backward((W, b), cache, w, CTX)
    assert dW.shape == (n_out, n_in) and db_.shape == (n_out,) and dx.shape == (m, n_in)
    assert_close_grad(dW, numeric_grad(lambda W_: loss(W_, b, x), W.copy()))
    assert_close_grad(db_, numeric_grad(lambda b_: loss(W, b_, x), b.copy()))
    assert_close_grad(dx, numeric_grad(lambda x_: loss(W, b, x_), x.copy()))


def test_dense_matches_torch_linear():
    rng = np.random.default_rng(1)
    W, b, x, w = rng.normal(size=(3, 4)), rng.normal(size=3), rng.normal(size=(5, 4)), rng.normal(size=(5, 3))
    lin = torch.nn.Linear(4, 3).double()
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(W))
        lin.bias.copy_(torch.tensor(b))
    tx = torch.tensor(x, requires_grad=True)
    (lin(tx) * torch.tensor(w)).sum().backward()
    layer = db.Dense(3)
    z, cache, _ = layer.forward((W, b), (), x, CTX)
    dx, (dW, db_) = layer.backward((W, b), cache, w, CTX)
    np.testing.assert_allclose(z, lin(tx).detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(dW, lin.weight.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(db_, lin.bias.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-12)


def test_dense_rejects_bad_units():
    for bad in (0, -3, 2.5, "5"):
        with pytest.raises(db.DeepBasicsError, match="units"):
            db.Dense(bad)


def test_dense_without_input_grad_skips_it():
    layer = db.Dense(2)
    params = layer.build(3, np.random.RandomState(0), db.initializers.he_normal).params
    _, cache, _ = layer.forward(params, (), np.ones((4, 3)), CTX)
    dx, grads = layer.backward(params, cache, np.ones((4, 2)), CTX, need_dx=False)
    assert dx is None and len(grads) == 2
