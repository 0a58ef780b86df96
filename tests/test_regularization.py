"""Weight penalties, dropout, AdamW, AdaGrad and gradient clipping, against PyTorch and by hand."""
import numpy as np
import pytest
import torch

import deepbasics as db
from deepbasics.nn import losses, network
from deepbasics.learn import optim
from deepbasics.nn.layer import Context
from deepbasics.nn.rand import step_key
from deepbasics.learn.step import Setup, clip_gradients, loss_and_grads
from gradcheck import assert_close_grad, numeric_grad

CTX = Context(xp=np, train=True)


def test_penalty_gradients_match_finite_differences():
    layers = (db.Dense(4, l2=0.3, l1=0.05), db.Tanh(), db.Dense(2, l2=0.1))
    params, state, _ = network.build(layers, 3, np.random.RandomState(0), db.initializers.glorot_normal)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    setup = Setup(layers, losses.MeanSquaredError(), None, network.shapes_of(params))
    theta = network.flatten(params, np)
    loss_sum, g, _ = loss_and_grads(setup, theta, state, x, y, CTX)
    objective = lambda th: float(loss_and_grads(setup, th, state, x, y, CTX)[0]) / 5
    assert_close_grad(g, numeric_grad(objective, theta.copy()), rtol=1e-5)
    W1, W2 = params[0][0], params[2][0]
    plain = Setup((db.Dense(4), db.Tanh(), db.Dense(2)), losses.MeanSquaredError(), None, setup.shapes)
    base = float(loss_and_grads(plain, theta, state, x, y, CTX)[0])
    penalty = 0.15 * np.sum(W1 ** 2) + 0.05 * np.sum(np.abs(W1)) + 0.05 * np.sum(W2 ** 2)
    assert float(loss_sum) == pytest.approx(base + 5 * penalty, rel=1e-12)     # stated scaling


def test_l2_is_torch_sgd_weight_decay_on_weights():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(16, 3)), rng.normal(size=16)
    model = db.Sequential([db.Dense(1, l2=0.2)], input_dim=3, seed=0)
    W, b = model.get_weights()
    lin = torch.nn.Linear(3, 1).double()
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(W))
        lin.bias.copy_(torch.tensor(b))
    opt = torch.optim.SGD([{"params": [lin.weight], "weight_decay": 0.2}, {"params": [lin.bias]}], lr=0.05)
    for _ in range(10):
        opt.zero_grad()
        torch.nn.functional.mse_loss(lin(torch.tensor(X))[:, 0], torch.tensor(y)).backward()
        opt.step()
    model.fit(X, y, loss="mse", optimizer=optim.GD(0.05), epochs=10, batch_size=None, shuffle=False)
    np.testing.assert_allclose(model.get_weights()[0], lin.weight.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(model.get_weights()[1], lin.bias.detach().numpy(), rtol=1e-12)


def test_inverted_dropout():
    layer = db.Dropout(0.25)
    x = np.ones((400, 50))
    ctx = CTX._replace(rng=step_key(3, 0))
    a, mask, _ = layer.forward((), (), x, ctx)
    assert set(np.unique(a)) == {0.0, 1 / 0.75}
    assert np.mean(a == 0) == pytest.approx(0.25, abs=0.02) and a.mean() == pytest.approx(1.0, abs=0.03)
    dx, _ = layer.backward((), mask, np.ones_like(x), ctx)
    np.testing.assert_array_equal(dx, a)                   # the same units pass the gradient back
    out, _, _ = layer.forward((), (), x, Context(xp=np, train=False))
    np.testing.assert_array_equal(out, x)                  # identity in evaluation
    with pytest.raises(db.DeepBasicsError, match="rate"):
        db.Dropout(1.0)


def test_dropout_draws_are_seeded_and_recorded():
    X, y = db.datasets.moons(n_samples=64, noise=0.2, seed=0)
    run = lambda noise: db.Sequential([db.Dense(16), db.ReLU(), db.Dropout(0.5), db.Dense(1), db.Sigmoid()],
                                      input_dim=2, seed=0).fit(X, y, epochs=2, shuffle_seed=0, noise_seed=noise)
    assert run(1).cost == run(1).cost and run(1).cost != run(2).cost
    assert run(1).params["noise_seed"] == 1


def steps(opt, make, n=25):
    rng = np.random.default_rng(0)
    theta = rng.normal(size=6)
    grads = [rng.normal(size=6) for _ in range(n)]
    state = opt.init(theta)
    ours = theta.copy()
    for g in grads:
        u, state = opt.update(g, state, opt.lr, np, params=ours)
        ours = ours + u
    p = torch.nn.Parameter(torch.tensor(theta))
    o = make([p])
    for g in grads:
        p.grad = torch.tensor(g)
        o.step()
    return ours, p.detach().numpy()


def test_adamw_matches_torch():
    ours, theirs = steps(optim.AdamW(lr=0.01, weight_decay=0.1),
                         lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1))
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    with pytest.raises(db.DeepBasicsError, match="needs the parameters"):
        optim.AdamW().update(np.ones(2), optim.AdamW().init(np.ones(2)), 0.1)


def test_adagrad_matches_torch():
    ours, theirs = steps(optim.AdaGrad(lr=0.1), lambda p: torch.optim.Adagrad(p, lr=0.1))
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_clipping_matches_torch():
    g = np.array([3.0, -4.0, 12.0])
    for max_norm in (1.0, 100.0):
        t = torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))
        t.grad = torch.tensor(g)
        torch.nn.utils.clip_grad_norm_([t], max_norm)
        ours, = clip_gradients([g], Setup((), None, None, (), clip_norm=max_norm), np)
        np.testing.assert_allclose(ours, t.grad.numpy(), rtol=1e-15)
        parts = clip_gradients([g[:1], g[1:]], Setup((), None, None, (), clip_norm=max_norm), np)
        np.testing.assert_allclose(np.concatenate(parts), ours, rtol=1e-15)   # one norm over all arrays
    t.grad = torch.tensor(g)
    torch.nn.utils.clip_grad_value_([t], 3.5)
    np.testing.assert_array_equal(clip_gradients([g], Setup((), None, None, (), clip_value=3.5), np)[0], t.grad.numpy())


def test_fit_clips_and_rejects_bad_limits():
    X, y = db.datasets.moons(n_samples=64, noise=0.2, seed=0)
    model = db.Sequential([db.Dense(4), db.ReLU(), db.Dense(1), db.Sigmoid()], input_dim=2, seed=0)
    before = model.get_weights()
    model.fit(X, y, optimizer=optim.GD(1.0), epochs=1, batch_size=None, clip_norm=1e-3)
    moved = np.sqrt(sum(np.sum((a - b) ** 2) for a, b in zip(model.get_weights(), before)))
    assert moved <= 1e-3 * (1 + 1e-9)                       # one step of lr 1 with ||g|| <= 1e-3
    for bad in ({"clip_norm": 0}, {"clip_value": -1}):
        with pytest.raises(db.DeepBasicsError, match="clip"):
            model.fit(X, y, epochs=1, **bad)
