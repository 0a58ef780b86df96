"""Either engine, the same numbers: random networks with dropout, RReLU and BatchNorm train to the
same costs and weights on the NumPy and the JAX engine (float64, to rounding), because their random
draws are one counter-based function of (noise_seed, step, layer, position) (deepbasics.rand).

Tolerance: the engines differ only in the last-bit rounding of exp, pow and small matrix products
(see test_jax_engine.py); 1e-8 relative after a few hundred updates leaves room for that and none
for a different mask (one flipped unit moves the cost by ~1e-3).
"""
import numpy as np
import pytest

import deepbasics as db
from deepbasics.learn import optim
from deepbasics.nn import rand
from deepbasics.nn.layer import Context

jax = pytest.importorskip("jax")
jnp = jax.numpy

TOL = 1e-8
ACTIVATIONS = [db.ReLU, db.Tanh, db.LeakyReLU, db.ELU, db.RReLU, db.Sigmoid]


def random_config(seed: int) -> dict:
    """A network and a fit drawn from ``seed``: 1-3 hidden layers, each with an activation (RReLU
    among them), BatchNorm and/or dropout at random; every config has at least one stochastic layer."""
    rng = np.random.default_rng(seed)
    layers = []
    for i in range(int(rng.integers(1, 4))):
        layers.append(db.Dense(int(rng.integers(2, 9))))
        if rng.random() < 0.4:
            layers.append(db.BatchNorm())
        layers.append(ACTIVATIONS[int(rng.integers(len(ACTIVATIONS)))]())
        if rng.random() < 0.6:
            layers.append(db.Dropout(float(rng.choice([0.1, 0.3, 0.5]))))
    if not any(layer.stochastic for layer in layers):
        layers.insert(len(layers) - 1, db.RReLU() if seed % 2 else db.Dropout(0.2))
    return {"layers": layers, "batch_size": int(rng.choice([16, 50, 64])), "noise_seed": int(rng.integers(2**40)),
            "optimizer": [optim.Adam(lr=0.01), optim.Momentum(lr=0.05), optim.GD(lr=0.1)][seed % 3]}


X, y = db.datasets.moons(n_samples=150, noise=0.2, seed=1)


def train(config_seed: int, engine: str, epochs: int = 8, initial: "db.Sequential | None" = None, start: int = 0):
    cfg = random_config(config_seed)
    model = initial or db.Sequential([*cfg["layers"], db.Dense(1), db.Sigmoid()], input_dim=2, seed=config_seed)
    history = model.fit(X, y, optimizer=cfg["optimizer"], epochs=epochs, batch_size=cfg["batch_size"],
                        shuffle_seed=5, noise_seed=cfg["noise_seed"], engine=engine, initial_epoch=start)
    return model, np.array(history.cost)


@pytest.mark.parametrize("config_seed", range(8))
def test_random_networks_train_alike_on_both_engines(config_seed):
    m_np, c_np = train(config_seed, "numpy")
    m_jx, c_jx = train(config_seed, "jax")
    np.testing.assert_allclose(c_jx, c_np, rtol=TOL)
    for a, b in zip(m_jx.get_weights(), m_np.get_weights()):
        np.testing.assert_allclose(a, b, rtol=TOL, atol=TOL)
    np.testing.assert_allclose(m_jx.predict_proba(X), m_np.predict_proba(X), rtol=TOL, atol=1e-12)


@pytest.mark.parametrize("first, second", [("numpy", "jax"), ("jax", "numpy"), ("numpy", "numpy")])
def test_resume_is_exact_and_may_change_engine(first, second):
    whole, c_whole = train(3, "numpy", epochs=6)
    half, c_a = train(3, first, epochs=3)
    half, c_b = train(3, second, epochs=6, initial=half, start=3)
    tol = 0 if first == second == "numpy" else TOL        # one engine: bit for bit
    np.testing.assert_allclose(np.concatenate([c_a, c_b]), c_whole, rtol=tol)
    for a, b in zip(half.get_weights(), whole.get_weights()):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def test_draws_are_the_same_bits_under_numpy_jax_and_jit():
    key = rand.Key(2**40 + 7, 123_456_789_012, 3)
    want = rand.bits(key, (5, 7), np)
    with jax.enable_x64(True):
        eager = np.asarray(rand.bits(key, (5, 7), jnp))
        traced = np.asarray(jax.jit(lambda s, t: rand.bits(rand.Key(s, t, 3), (5, 7), jnp))(key.seed, key.step))
        u32 = np.asarray(rand.uniform(Context(xp=jnp, rng=key), (5, 7), np.float32))
    np.testing.assert_array_equal(eager, want)
    np.testing.assert_array_equal(traced, want)
    np.testing.assert_array_equal(u32, rand.uniform(Context(xp=np, rng=key), (5, 7), np.float32))


def test_fmix32_is_murmur3s_finaliser():
    # MurmurHash3_x86_32 of an empty input with seed s is fmix32(s): 0 -> 0, 1 -> 0x514E28B7
    # (the published test vectors: murmur3("", 1) = 0x514E28B7, murmur3("", 0xffffffff) = 0x81F16F39)
    got = rand.fmix32(np.array([0, 1, 0xFFFFFFFF], dtype=np.uint32), np)
    np.testing.assert_array_equal(got, np.array([0, 0x514E28B7, 0x81F16F39], dtype=np.uint32))


def test_uniforms_look_uniform_and_independent():
    draws = {(step, layer): rand.uniform(Context(rng=rand.Key(11, step, layer)), (200, 50))
             for step in range(4) for layer in range(3)}
    u = np.concatenate([d.ravel() for d in draws.values()])          # 120,000 values
    assert u.min() >= 0 and u.max() < 1
    counts = np.histogram(u, bins=20, range=(0, 1))[0]
    expected = len(u) / 20
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2 < 43.8                                                # chi^2(19) at p = 0.001
    assert abs(u.mean() - 0.5) < 4 * np.sqrt(1 / 12 / len(u))
    a = draws[(0, 0)].ravel()
    for other in (draws[(1, 0)], draws[(0, 1)], np.roll(draws[(0, 0)], 1)):   # next step, next layer, neighbour
        assert abs(np.corrcoef(a, other.ravel())[0, 1]) < 4 / np.sqrt(a.size)
    assert not np.array_equal(rand.bits(rand.Key(0, 0, 0), (8,), np), rand.bits(rand.Key(1, 0, 0), (8,), np))
