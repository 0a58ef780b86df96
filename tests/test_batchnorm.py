"""BatchNorm: finite differences and torch.nn.BatchNorm1d, in training and evaluation, inside a network."""
import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

import deepbasics as db
from deepbasics.nn import losses, network
from deepbasics.nn.layer import Context
from gradcheck import assert_close_grad, numeric_grad

TRAIN, EVAL = Context(xp=np, train=True), Context(xp=np, train=False)


def bn_params(n, seed):
    rng = np.random.default_rng(seed)
    return (1 + 0.3 * rng.normal(size=n), 0.3 * rng.normal(size=n)), (rng.normal(size=n), 1 + rng.random(n))


@pytest.mark.parametrize("ctx", [TRAIN, EVAL], ids=["train", "eval"])
@given(m=st.integers(2, 7), n=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_backward_matches_finite_differences(ctx, m, n, seed):
    layer = db.BatchNorm()
    (gamma, beta), state = bn_params(n, seed)
    rng = np.random.default_rng(seed + 1)
    x, w = rng.normal(size=(m, n)) * 2 + 1, rng.normal(size=(m, n))

    def loss(g_, b_, x_):
        return np.sum(w * layer.forward((g_, b_), state, x_, ctx)[0])

    _, cache, _ = layer.forward((gamma, beta), state, x, ctx)
    dx, (dgamma, dbeta) = layer.backward((gamma, beta), cache, w, ctx)
    assert_close_grad(dx, numeric_grad(lambda x_: loss(gamma, beta, x_), x.copy()), rtol=1e-4, atol=1e-6)
    assert_close_grad(dgamma, numeric_grad(lambda g_: loss(g_, beta, x), gamma.copy()))
    assert_close_grad(dbeta, numeric_grad(lambda b_: loss(gamma, b_, x), beta.copy()))


def test_training_forward_is_the_documents_formula():
    x = np.array([[1.0, 2.0], [3.0, 6.0], [5.0, 10.0]])
    z, _, _ = db.BatchNorm(eps=1e-5).forward((np.ones(2), np.zeros(2)), (np.zeros(2), np.ones(2)), x, TRAIN)
    mu, var = x.mean(axis=0), ((x - x.mean(axis=0)) ** 2).mean(axis=0)
    np.testing.assert_allclose(z, (x - mu) / np.sqrt(var + 1e-5))
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-12)


def test_matches_torch_batchnorm1d_train_and_eval():
    rng = np.random.default_rng(0)
    n = 4
    (gamma, beta), _ = bn_params(n, 3)
    layer = db.BatchNorm(momentum=0.1, eps=1e-5)
    state = layer.build(n, None, None).state
    tbn = torch.nn.BatchNorm1d(n, momentum=0.1, eps=1e-5).double()
    with torch.no_grad():
        tbn.weight.copy_(torch.tensor(gamma))
        tbn.bias.copy_(torch.tensor(beta))
    for step in range(5):                       # running statistics over several batches
        x, w = rng.normal(size=(8, n)) * 3 + 2, rng.normal(size=(8, n))
        tx = torch.tensor(x, requires_grad=True)
        tbn.train()
        tbn.zero_grad()
        tz = tbn(tx)
        (tz * torch.tensor(w)).sum().backward()
        z, cache, state = layer.forward((gamma, beta), state, x, TRAIN)
        dx, (dgamma, dbeta) = layer.backward((gamma, beta), cache, w, TRAIN)
        np.testing.assert_allclose(z, tz.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(dgamma, tbn.weight.grad.numpy(), rtol=1e-10)
        np.testing.assert_allclose(dbeta, tbn.bias.grad.numpy(), rtol=1e-10)
        np.testing.assert_allclose(state[0], tbn.running_mean.numpy(), rtol=1e-12)
        np.testing.assert_allclose(state[1], tbn.running_var.numpy(), rtol=1e-12)
    tbn.eval()
    x = rng.normal(size=(5, n))
    z, _, _ = layer.forward((gamma, beta), state, x, EVAL)
    np.testing.assert_allclose(z, tbn(torch.tensor(x)).detach().numpy(), rtol=1e-10, atol=1e-12)


def test_keras_convention_mapping():
    """Keras: moving = k moving + (1 - k) batch with biased variance; ours with momentum = 1 - k, unbiased=False."""
    x = np.random.default_rng(1).normal(size=(6, 3))
    layer = db.BatchNorm(momentum=1 - 0.99, unbiased=False)
    _, _, (mean, var) = layer.forward((np.ones(3), np.zeros(3)), (np.zeros(3), np.ones(3)), x, TRAIN)
    np.testing.assert_allclose(mean, 0.99 * 0 + 0.01 * x.mean(axis=0))
    np.testing.assert_allclose(var, 0.99 * 1 + 0.01 * x.var(axis=0))


def test_inside_a_network_matches_torch_over_training_steps():
    rng = np.random.default_rng(2)
    X, labels = rng.normal(size=(32, 3)), rng.integers(0, 2, size=32)
    for placement in ("before", "after"):
        acts = [db.BatchNorm(), db.ReLU()] if placement == "before" else [db.ReLU(), db.BatchNorm()]
        model = db.Sequential([db.Dense(6), *acts, db.Dense(1), db.Sigmoid()], input_dim=3, seed=0)
        lin1, bn, lin2 = torch.nn.Linear(3, 6).double(), torch.nn.BatchNorm1d(6).double(), torch.nn.Linear(6, 1).double()
        W1, b1, g, b, W2, b2 = model.get_weights()
        with torch.no_grad():
            for t, a in ((lin1.weight, W1), (lin1.bias, b1), (bn.weight, g), (bn.bias, b), (lin2.weight, W2), (lin2.bias, b2)):
                t.copy_(torch.tensor(a))
        seq = [lin1, bn, torch.nn.ReLU(), lin2] if placement == "before" else [lin1, torch.nn.ReLU(), bn, lin2]
        tnet = torch.nn.Sequential(*seq)
        opt = torch.optim.SGD(tnet.parameters(), lr=0.1)
        for epoch in range(3):
            for k in range(0, 32, 8):
                opt.zero_grad()
                out = tnet(torch.tensor(X[k:k + 8]))
                torch.nn.functional.binary_cross_entropy_with_logits(
                    out, torch.tensor(labels[k:k + 8], dtype=torch.float64).reshape(-1, 1)).backward()
                opt.step()
        model.fit(X, labels, optimizer=db.optim.GD(0.1), epochs=3, batch_size=8, shuffle=False)
        ours = model.get_weights()
        theirs = [p.detach().numpy() for p in tnet.parameters()]
        for a, t in zip(ours, theirs):
            np.testing.assert_allclose(a, t, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(model.get_state()[1], bn.running_var.numpy(), rtol=1e-10)
        tnet.eval()
        np.testing.assert_allclose(model.predict_proba(X), torch.sigmoid(tnet(torch.tensor(X))).detach().numpy()[:, 0],
                                   rtol=1e-9)


def test_weights_and_state_layout():
    model = db.Sequential([db.Dense(4), db.BatchNorm(), db.ReLU(), db.Dense(1)], input_dim=2, seed=0)
    assert [w.shape for w in model.get_weights()] == [(4, 2), (4,), (4,), (4,), (1, 4), (1,)]
    assert [s.shape for s in model.get_state()] == [(4,), (4,)]
    model.set_state([np.full(4, 2.0), np.full(4, 3.0)])
    np.testing.assert_array_equal(model.get_state()[1], 3.0)
    with pytest.raises(db.DeepBasicsError, match="expects 2"):
        model.set_state([np.zeros(4)])


def test_batch_of_one_stays_finite():
    z, _, state = db.BatchNorm().forward((np.ones(2), np.zeros(2)), (np.zeros(2), np.ones(2)), np.ones((1, 2)), TRAIN)
    assert np.all(np.isfinite(z)) and np.all(np.isfinite(state[1]))


def test_bad_settings():
    with pytest.raises(db.DeepBasicsError, match="momentum"):
        db.BatchNorm(momentum=1.5)
    with pytest.raises(db.DeepBasicsError, match="eps"):
        db.BatchNorm(eps=0)
