"""The document's function API: its unit cases to 8 decimals, and one implementation per rule."""
import numpy as np
import pytest

import deepbasics as db
from deepbasics.studies import classic, reproduce

FIGURES = reproduce.document_figures()["unit_cases"]


def eight_decimals(a):
    return np.round(np.asarray(a, dtype=float), 8)


@pytest.fixture(scope="module")
def ours():
    return reproduce.unit_cases(print_fn=lambda *_: None)


@pytest.mark.parametrize("case", ["gd", "momentum", "adam_t2_lr0.02_b0.8_b0.888_eps1e-2"])
def test_update_unit_cases_match_the_document(ours, case):
    for key, expected in FIGURES[case].items():
        np.testing.assert_array_equal(eight_decimals(ours[case][key]), np.asarray(expected), err_msg=key)


def test_schedule_unit_cases(ours):
    assert ours["update_lr_0.5_epoch2_rate1"] == 0.16666666666666666
    assert ours["schedule_lr_decay_0.5_rate0.3_interval100"] == {"10": 0.5, "100": 0.3846153846153846}


def test_hard_coded_document_values():
    """A few figures typed in from the document, independent of the shipped JSON."""
    rng = np.random.RandomState(1)
    params = {"W1": rng.randn(2, 3), "b1": rng.randn(2, 1), "W2": rng.randn(3, 3), "b2": rng.randn(3, 1)}
    grads = {"dW1": rng.randn(2, 3), "db1": rng.randn(2, 1), "dW2": rng.randn(3, 3), "db2": rng.randn(3, 1)}
    out = classic.update_parameters_with_gd(params, grads, 0.01)
    np.testing.assert_array_equal(eight_decimals(out["W1"]), [[1.63535156, -0.62320365, -0.53718766],
                                                              [-1.07799357, 0.85639907, -2.29470142]])
    np.testing.assert_array_equal(eight_decimals(out["b2"]), [[-0.88020257], [0.02561572], [0.57539477]])


def test_adam_returns_corrected_moments_and_counts_from_one():
    params = classic.initialize_parameters([3, 2, 1])
    grads = {"dW1": np.ones((2, 3)), "db1": np.ones((2, 1)), "dW2": np.ones((1, 2)), "db2": np.ones((1, 1))}
    v, s = classic.initialize_adam(params)
    params, v, s, vc, sc = classic.update_parameters_with_adam(params, grads, v, s, 1, 0.01)
    np.testing.assert_allclose(v["dW1"], 0.1)
    np.testing.assert_allclose(vc["dW1"], 1.0)          # bias correction undoes the first EMA step
    np.testing.assert_allclose(sc["db2"], 1.0)
    with pytest.raises(db.DeepBasicsError, match="t counts"):
        classic.update_parameters_with_adam(params, grads, v, s, 0)


def test_rmsprop_wrapper_is_the_core_rule():
    rng = np.random.RandomState(0)
    params = {"W1": rng.randn(2, 2), "b1": rng.randn(2, 1)}
    grads = {"dW1": rng.randn(2, 2), "db1": rng.randn(2, 1)}
    s = classic.initialize_rmsprop(params)
    W_before = params["W1"].copy()
    params, s = classic.update_parameters_with_rmsprop(params, grads, s, 0.9, 0.01, 1e-8)
    expected_s = 0.1 * grads["dW1"] ** 2
    np.testing.assert_allclose(s["dW1"], expected_s)
    np.testing.assert_allclose(params["W1"], W_before - 0.01 * grads["dW1"] / (np.sqrt(expected_s) + 1e-8))


def test_wrappers_update_the_given_dicts_like_the_document():
    params = classic.initialize_parameters([2, 3, 1])
    v = classic.initialize_velocity(params)
    grads = {k.replace("W", "dW").replace("b", "db"): np.ones_like(a) for k, a in params.items()}
    new_params, new_v = classic.update_parameters_with_momentum(params, grads, v, 0.9, 0.1)
    assert new_params is params and new_v is v
    np.testing.assert_allclose(v["db2"], 0.1)


def test_initialize_parameters_shapes():
    p = classic.initialize_parameters([2, 5, 2, 1])
    assert [p[k].shape for k in ("W1", "b1", "W2", "b2", "W3", "b3")] == [(5, 2), (5, 1), (2, 5), (2, 1), (1, 2), (1, 1)]
    with pytest.raises(db.DeepBasicsError, match="pairs"):
        classic.update_parameters_with_gd({"W1": np.ones(1)}, {}, 0.1)
