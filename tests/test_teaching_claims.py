"""What the walkthrough (docs/walkthrough.md) and the notebooks say about their outputs holds.

Each test recomputes, with the pages' own settings, the numbers a sentence of the text describes,
and checks the sentence: if a change to the library moves them, the text has to change too.
"""
import numpy as np
import pytest

import deepbasics as db

X, y = db.datasets.moons(n_samples=900, noise=0.2, seed=3)


def deep_net(init, activation, depth=20, width=100):
    layers = [layer for _ in range(depth) for layer in (db.Dense(width), activation())]
    return db.Sequential(layers + [db.Dense(1), db.Sigmoid()], input_dim=2, init=init, seed=0)


def per_weight_gradients(model):
    dense = [row for row in model.diagnose(X, y) if "grad_norm" in row]
    return [row["grad_norm"] / np.sqrt(w.size) for row, w in zip(dense, model.get_weights()[0::2])]


def test_vanishing_gradients_as_the_walkthrough_tells_them():
    """'a third of the sigmoids saturate, yet the first layer's gradient is only about ten times
    smaller than the last one's'; Glorot + sigmoid: 'nothing saturates', 'about 10^12'."""
    naive = deep_net("standard_normal", db.Sigmoid).diagnose(X, y)
    grads = [r["grad_norm"] for r in naive if "grad_norm" in r]
    assert 0.28 <= np.mean([r["saturated"] for r in naive if "saturated" in r]) <= 0.38
    assert 5 <= grads[-1] / grads[0] <= 20
    small = deep_net("glorot_normal", db.Sigmoid).diagnose(X, y)
    grads = [r["grad_norm"] for r in small if "grad_norm" in r]
    assert max(r["saturated"] for r in small if "saturated" in r) == 0
    assert 1e11 <= grads[-1] / grads[0] <= 1e13


def test_the_initialisation_figure_as_the_walkthrough_reads_it():
    """'Glorot + tanh and He + ReLU keep the gradient within a small factor from the first layer to
    the last'; 'N(0, 1) + sigmoid grows towards the output by a factor of about twenty, and Glorot +
    sigmoid falls through twelve orders of magnitude'."""
    ratio = {}
    for name, init, act in [("naive", "standard_normal", db.Sigmoid), ("glorot_sigmoid", "glorot_normal", db.Sigmoid),
                            ("tanh", "glorot_normal", db.Tanh), ("relu", "he_normal", db.ReLU)]:
        g = per_weight_gradients(deep_net(init, act))
        ratio[name] = g[-1] / g[0]
    assert 1 / 5 <= ratio["tanh"] <= 5 and 1 / 5 <= ratio["relu"] <= 5
    assert 10 <= ratio["naive"] <= 40
    assert 1e11 <= ratio["glorot_sigmoid"] <= 1e13


@pytest.fixture(scope="module")
def optimizer_runs():
    """The walkthrough's (and the optimizers notebook's) four runs: 2,000 epochs on the moons."""
    out = {}
    for name, optimizer in [("gd", db.optim.GD(lr=0.0007)), ("momentum", db.optim.Momentum(lr=0.0007, beta=0.9)),
                            ("heavy_ball", db.optim.Momentum(lr=0.0007, beta=0.9, form="heavy_ball")),
                            ("adam", db.optim.Adam(lr=0.0007))]:
        model = db.Sequential([db.Dense(5), db.ReLU(), db.Dense(2), db.ReLU(), db.Dense(1), db.Sigmoid()],
                              input_dim=2, init="he", seed=3)
        history = model.fit(X, y, optimizer=optimizer, batch_size=64, epochs=2000, shuffle_seed=10)
        out[name] = (np.array(history.cost), model.evaluate(X, y)["accuracy"])
    return out


def test_gradient_descent_and_momentum_coincide_and_heavy_ball_does_not(optimizer_runs):
    """'their costs after 2,000 epochs agree to three decimals, and so do their accuracies'; heavy
    ball 'gets much further'; Adam 'ends lowest'."""
    (gd, gd_acc), (mom, mom_acc) = optimizer_runs["gd"], optimizer_runs["momentum"]
    assert round(gd[-1], 3) == round(mom[-1], 3) and round(gd_acc, 3) == round(mom_acc, 3)
    assert np.max(np.abs(gd - mom)) < 1e-3                       # one line in the figure, all along
    heavy, adam = optimizer_runs["heavy_ball"][0][-1], optimizer_runs["adam"][0][-1]
    assert heavy < 0.5 * gd[-1] and adam < heavy
    assert optimizer_runs["heavy_ball"][1] > gd_acc + 0.1


def test_the_vanishing_gradients_notebook_training_claims():
    """After 10 epochs of GD: 'N(0, 1) + sigmoid's hidden layers moved several times less than those
    of Glorot + tanh and He + ReLU', Glorot + sigmoid 'learned nothing' (accuracy 0.5) and its lower
    layers did not move to the eye, and N(0, 1) + sigmoid fits 'as well as the others or better'."""
    moved, accuracy = {}, {}
    for name, init, act in [("naive", "standard_normal", db.Sigmoid), ("glorot_sigmoid", "glorot_normal", db.Sigmoid),
                            ("tanh", "glorot_normal", db.Tanh), ("relu", "he_normal", db.ReLU)]:
        model = deep_net(init, act)
        before = model.get_weights()[0::2]
        model.fit(X, y, optimizer=db.optim.GD(lr=0.01), batch_size=60, epochs=10, shuffle_seed=10)
        after = model.get_weights()[0::2]
        moved[name] = [np.linalg.norm(b - a) / np.linalg.norm(a) for a, b in zip(before, after)][1:-1]
        accuracy[name] = model.evaluate(X, y)["accuracy"]
    assert max(moved["naive"]) * 2 < min(min(moved["tanh"]), min(moved["relu"]))
    assert max(moved["glorot_sigmoid"][:5]) < 1e-8 and accuracy["glorot_sigmoid"] == 0.5
    assert accuracy["naive"] >= max(accuracy["tanh"], accuracy["relu"]) - 0.01


def test_the_activation_variance_as_the_notebook_reads_it():
    """'He + ReLU keeps it level, Glorot + tanh lets it fall slowly', the N(0, 1) sigmoids 'climb close
    to that bound [1/4] within two layers and stay there'."""
    def variance(init, act):
        rows = deep_net(init, act).diagnose(X, y)
        return [r["out_var"] for r in rows if r["layer"] == act.__name__][:20]
    relu, tanh, naive = variance("he_normal", db.ReLU), variance("glorot_normal", db.Tanh), \
        variance("standard_normal", db.Sigmoid)
    assert 0.5 <= relu[-1] / relu[0] <= 2
    assert 0.1 <= tanh[-1] / tanh[0] <= 0.6 and tanh[-1] < tanh[0]
    assert all(0.15 <= v <= 0.25 for v in naive[2:])


def test_the_batch_norm_notebook_claims():
    """'With BatchNorm the cost falls faster in the first epochs; later its curve ... ends above
    the other one'; 'Both networks fit the spirals' training points'."""
    Xs, ys = db.datasets.spirals(n_samples=900, noise=0.2, seed=0)
    runs = {}
    for batch_norm in (False, True):
        layers = []
        for _ in range(10):
            layers += [db.Dense(64)] + ([db.BatchNorm()] if batch_norm else []) + [db.ReLU()]
        model = db.Sequential(layers + [db.Dense(1), db.Sigmoid()], input_dim=2, init="he", seed=0)
        history = model.fit(Xs, ys, optimizer=db.optim.GD(lr=0.01), batch_size=60, epochs=30, shuffle_seed=10)
        runs[batch_norm] = (history.cost, model.evaluate(Xs, ys)["accuracy"])
    (plain, plain_acc), (bn, bn_acc) = runs[False], runs[True]
    assert all(b < p for b, p in zip(bn[:5], plain[:5])) and bn[-1] > plain[-1]
    assert plain_acc >= 0.99 and bn_acc >= 0.99


def test_the_schedules_notebook_claims():
    """'The two runs are one run until the first decay, after INTERVAL epochs'; after it 'the cost's
    spikes ... become fewer and smaller; the final accuracies are close'."""
    decay = db.schedules.InverseTimeDecay(decay_rate=1.0, interval=500)
    costs, accuracy = {}, {}
    for name, schedule in [("constant", None), ("decay", decay)]:
        model = db.Sequential([db.Dense(5), db.ReLU(), db.Dense(2), db.ReLU(), db.Dense(1), db.Sigmoid()],
                              input_dim=2, init="he", seed=3)
        history = model.fit(X, y, optimizer=db.optim.GD(lr=0.1), schedule=schedule, batch_size=64, epochs=2000,
                            shuffle_seed=10)
        costs[name], accuracy[name] = np.array(history.cost), model.evaluate(X, y)["accuracy"]
    assert np.array_equal(costs["constant"][:501], costs["decay"][:501])
    assert not np.array_equal(costs["constant"][501:], costs["decay"][501:])

    def spikes(c):                  # epochs whose cost jumps 50% above the best of the 100 before
        late = c[1000:]
        floor = np.array([c[1000 + i - 100:1000 + i].min() for i in range(len(late))])
        return late[late > 1.5 * floor], late.max()
    (n_const, top_const), (n_decay, top_decay) = [(len(s), top) for s, top in map(spikes, costs.values())]
    assert n_decay < n_const and top_decay < top_const
    assert abs(accuracy["constant"] - accuracy["decay"]) <= 0.01
