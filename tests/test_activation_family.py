"""The ReLU family beyond the document: ELU, SELU, GELU, Softplus, PReLU, RReLU."""
import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

import deepbasics as db
from deepbasics.nn.layer import Context
from deepbasics.nn.rand import step_key
from gradcheck import assert_close_grad, numeric_grad

TRAIN, EVAL = Context(xp=np, train=True), Context(xp=np, train=False)
F = torch.nn.functional
CASES = [
    (db.ELU(), lambda t: F.elu(t)), (db.ELU(0.5), lambda t: F.elu(t, 0.5)), (db.SELU(), F.selu),
    (db.GELU(), F.gelu), (db.GELU("tanh"), lambda t: F.gelu(t, approximate="tanh")),
    (db.Softplus(), lambda t: F.softplus(t, threshold=1000)),
]


@pytest.mark.parametrize("act,ref", CASES, ids=lambda c: repr(c) if isinstance(c, db.Layer) else "")
def test_matches_torch_value_and_gradient(act, ref):
    rng = np.random.default_rng(0)
    z, w = rng.normal(size=(9, 5)) * 3, rng.normal(size=(9, 5))
    tz = torch.tensor(z, requires_grad=True)
    (ref(tz) * torch.tensor(w)).sum().backward()
    a, cache, _ = act.forward((), (), z, TRAIN)
    dz, _ = act.backward((), cache, w, TRAIN)
    np.testing.assert_allclose(a, ref(torch.tensor(z)).numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dz, tz.grad.numpy(), rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("act", [c[0] for c in CASES] + [db.PReLU()], ids=repr)
@given(seed=st.integers(0, 2**16))
def test_finite_differences(act, seed):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(4, 3)) * 2
    z = np.where(np.abs(z) < 1e-3, 0.5, z)
    w = rng.normal(size=z.shape)
    params = act.build(3, None, None).params
    _, cache, _ = act.forward(params, (), z, TRAIN)
    dz, _ = act.backward(params, cache, w, TRAIN)
    assert_close_grad(dz, numeric_grad(lambda zz: np.sum(w * act.forward(params, (), zz, TRAIN)[0]), z.copy()))


@pytest.mark.parametrize("per_unit", [False, True])
def test_prelu_slope_gradient_matches_torch(per_unit):
    rng = np.random.default_rng(1)
    z, w = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    layer = db.PReLU(per_unit=per_unit)
    params = layer.build(3, None, None).params
    assert params[0].shape == ((3,) if per_unit else (1,)) and params[0][0] == 0.25
    tp = torch.nn.PReLU(3 if per_unit else 1, init=0.25).double()
    tz = torch.tensor(z, requires_grad=True)
    (tp(tz) * torch.tensor(w)).sum().backward()
    a, cache, _ = layer.forward(params, (), z, TRAIN)
    dz, (dalpha,) = layer.backward(params, cache, w, TRAIN)
    np.testing.assert_allclose(a, tp(torch.tensor(z)).detach().numpy(), rtol=1e-13)
    np.testing.assert_allclose(dz, tz.grad.numpy(), rtol=1e-13)
    np.testing.assert_allclose(dalpha, tp.weight.grad.numpy(), rtol=1e-12)
    dalpha_fd = numeric_grad(lambda al: np.sum(w * layer.forward((al,), (), z, TRAIN)[0]), params[0].copy())
    assert_close_grad(dalpha, dalpha_fd)


def test_rrelu_random_in_training_mean_in_evaluation():
    layer = db.RReLU()
    z = -np.ones((2000, 3))
    ctx = TRAIN._replace(rng=step_key(0, 0))
    a, cache, _ = layer.forward((), (), z, ctx)
    slopes = -a
    assert np.all((slopes >= 1 / 8) & (slopes <= 1 / 3)) and slopes.std() > 0.05
    assert slopes.mean() == pytest.approx((1 / 8 + 1 / 3) / 2, abs=0.01)
    dz, _ = layer.backward((), cache, np.ones_like(z), ctx)
    np.testing.assert_array_equal(dz, slopes)
    a_eval, _, _ = layer.forward((), (), z, EVAL)
    np.testing.assert_allclose(a_eval, -(1 / 8 + 1 / 3) / 2)
    m = torch.nn.RReLU().eval()
    np.testing.assert_allclose(m(torch.tensor(z[:2])).numpy(), a_eval[:2])


def test_models_with_the_family_train_and_resume_identically():
    X, y = db.datasets.moons(n_samples=120, noise=0.2, seed=0)
    layers = lambda: [db.Dense(8), db.PReLU(), db.Dense(8), db.RReLU(), db.Dropout(0.2), db.Dense(8), db.SELU(),
                      db.Dense(1), db.Sigmoid()]
    a = db.Sequential(layers(), input_dim=2, seed=1)
    a.fit(X, y, optimizer=db.optim.Adam(0.01), epochs=4, batch_size=32, shuffle_seed=0)
    b = db.Sequential(layers(), input_dim=2, seed=1)
    opt = db.optim.Adam(0.01)
    b.fit(X, y, optimizer=opt, epochs=2, batch_size=32, shuffle_seed=0)
    b.fit(X, y, optimizer=opt, epochs=4, batch_size=32, shuffle_seed=0, initial_epoch=2)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    assert a.evaluate(X, y)["accuracy"] > 0.7
