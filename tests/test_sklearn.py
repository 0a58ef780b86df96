"""deepbasics.sklearn: the scikit-learn estimator contract, and the tools built on it."""
import os
import subprocess
import sys

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_iris, make_regression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import deepbasics as db
from deepbasics.runs import config
from deepbasics.sklearn import DeepClassifier, DeepRegressor, load_estimator

# Small networks and few epochs keep the ~100 checks at a few seconds; the checks that score
# a fit (check_classifiers_train, check_regressors_train) pass with these settings too.
TINY = dict(hidden=(8,), epochs=30, learning_rate=0.01, batch_size=16)


def expected_failures(estimator) -> dict:
    """Checks that do not apply, with the reason. Every check of scikit-learn 1.9 applies and
    passes; check_array_api_input is skipped by scikit-learn unless SCIPY_ARRAY_API=1 was set
    before SciPy was imported, so it runs in its own process below."""
    return {}


@parametrize_with_checks([DeepClassifier(**TINY), DeepRegressor(**TINY)], expected_failed_checks=expected_failures)
def test_sklearn_contract(estimator, check):
    check(estimator)


def test_array_api_check_with_scipy_array_api_set():
    code = ("from sklearn.utils.estimator_checks import check_array_api_input as check\n"
            "from deepbasics.sklearn import DeepClassifier, DeepRegressor\n"
            "for est in (DeepClassifier(hidden=(8,), epochs=5), DeepRegressor(hidden=(8,), epochs=5)):\n"
            "    check(type(est).__name__, est, array_namespace='numpy')\n"
            "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "SCIPY_ARRAY_API": "1"},
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


def test_pipeline_in_grid_search_on_breast_cancer():
    X, y = load_breast_cancer(return_X_y=True)
    pipe = Pipeline([("scale", StandardScaler()), ("net", DeepClassifier(epochs=15, random_state=0))])
    grid = {"net__hidden": [(4,), (16, 8)], "net__learning_rate": [1e-4, 1e-2]}
    search = GridSearchCV(pipe, grid, cv=3).fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    scores = dict(zip(map(lambda p: (p["net__hidden"], p["net__learning_rate"]), search.cv_results_["params"]),
                      search.cv_results_["mean_test_score"]))
    assert scores[((16, 8), 1e-2)] > scores[((4,), 1e-4)]       # 15 epochs at 1e-4 barely move
    assert search.best_params_["net__learning_rate"] == 1e-2 and search.best_score_ > 0.95
    assert search.score(X, y) > 0.95 and search.predict_proba(X).shape == (len(y), 2)


def test_cross_val_score_and_clone_on_iris():
    X, y = load_iris(return_X_y=True)
    est = DeepClassifier(hidden=(16,), epochs=60, learning_rate=0.01, random_state=1)
    scores = cross_val_score(Pipeline([("s", StandardScaler()), ("net", est)]), X, y, cv=5)
    assert scores.mean() > 0.9
    twin = clone(est)
    assert twin.get_params() == est.get_params() and not hasattr(twin, "model_")
    est.fit(X, y)
    assert not hasattr(clone(est), "classes_")
    np.testing.assert_array_equal(clone(est).fit(X, y).predict_proba(X), est.predict_proba(X))


def test_string_and_integer_labels_give_the_same_network():
    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    as_int = DeepClassifier(**TINY, random_state=3).fit(X, y)
    as_str = DeepClassifier(**TINY, random_state=3).fit(X, names)
    assert as_str.classes_.tolist() == ["setosa", "versicolor", "virginica"]
    np.testing.assert_array_equal(as_str.predict_proba(X), as_int.predict_proba(X))
    np.testing.assert_array_equal(as_str.predict(X), as_str.classes_[as_int.predict(X)])
    binary = DeepClassifier(**TINY, random_state=3).fit(X[:100], np.where(y[:100] == 1, "yes", "no"))
    assert set(binary.predict(X[:100])) <= {"yes", "no"} and binary.model_.n_out == 1


def test_partial_fit_is_fit_one_epoch_at_a_time():
    X, y = load_iris(return_X_y=True)
    whole = DeepClassifier(**{**TINY, "epochs": 4}, random_state=5).fit(X, y)
    stepwise = DeepClassifier(**TINY, random_state=5)
    for _ in range(4):
        stepwise.partial_fit(X, y, classes=[0, 1, 2])
    assert stepwise.n_iter_ == 4 and stepwise.loss_curve_ == whole.loss_curve_
    np.testing.assert_array_equal(stepwise.predict_proba(X), whole.predict_proba(X))
    first = DeepClassifier(**TINY, random_state=5).partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])
    assert first.classes_.tolist() == [0, 1, 2] and first.predict_proba(X).shape == (150, 3)
    with pytest.raises(ValueError, match="not in classes_"):
        DeepClassifier(**TINY).partial_fit(X, y, classes=[0, 1])


def test_early_stopping_like_sklearns_mlp():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    est = DeepClassifier(hidden=(16,), epochs=500, learning_rate=0.01, early_stopping=True, n_iter_no_change=5,
                         validation_fraction=0.2, random_state=0).fit(X, y)
    stopped = est.history_["stopped"]
    assert est.n_iter_ == stopped["epoch"] + 1 < 500 and stopped["restored"]
    val = est.history_["history"]["val_loss"]
    assert min(val) == stopped["best"] == val[stopped["best_epoch"]]
    misses, best = 0, val[0]                      # scikit-learn's count: stop when misses > n_iter_no_change
    for e, v in enumerate(val[1:], start=1):
        misses, best = (0, v) if v < best - 1e-4 else (misses + 1, best)
        if misses > 5:
            break
    assert e == stopped["epoch"]
    assert est.history_["params"]["m"] == len(y) - round(0.2 * len(y))


def test_regressor_fits_and_scores():
    X, y = make_regression(n_samples=200, n_features=5, noise=1.0, random_state=0)
    est = DeepRegressor(hidden=(32,), epochs=100, learning_rate=0.01, random_state=0)
    model = Pipeline([("s", StandardScaler()), ("net", est)]).fit(X, y / y.std())
    assert model.score(X, y / y.std()) > 0.95
    assert DeepRegressor(**TINY).fit(X[:1], y[:1]).predict(X[:3]).shape == (3,)     # one example
    stepwise = DeepRegressor(**TINY, random_state=4)
    for _ in range(3):
        stepwise.partial_fit(X, y / y.std())
    whole = DeepRegressor(**{**TINY, "epochs": 3}, random_state=4).fit(X, y / y.std())
    np.testing.assert_array_equal(stepwise.predict(X), whole.predict(X))
    stopped = DeepRegressor(hidden=(16,), epochs=400, learning_rate=0.03, early_stopping=True, n_iter_no_change=3,
                            random_state=0).fit(X, y / y.std())
    assert stopped.n_iter_ < 400 and stopped.history_["stopped"]["restored"]


def test_bad_hyperparameters_give_the_config_files_message(tmp_path):
    X, y = load_iris(return_X_y=True)
    with pytest.raises(db.DeepBasicsError) as from_estimator:
        DeepClassifier(learning_rate=-0.5).fit(X, y)
    toml = tmp_path / "c.toml"
    toml.write_text("[optimizer]\nname = \"adam\"\nlr = -0.5\n")
    with pytest.raises(db.DeepBasicsError) as from_file:
        config.load(str(toml))
    assert str(from_estimator.value) == str(from_file.value).replace(str(toml), "DeepClassifier")
    for params, message in [({"activation": "swish"}, "model.activation is 'swish'; choose one of"),
                            ({"batch_size": 0}, "train.batch_size must be >= 1"),
                            ({"optimizer_params": {"beta9": 1}}, "optimizer.beta9 is not a setting"),
                            ({"early_stopping": True, "validation_fraction": 1.5}, "fractions"),
                            ({"engine": "torch"}, "train.engine is 'torch'")]:
        with pytest.raises(ValueError, match=message):
            DeepClassifier(**params).fit(X, y)
    with pytest.raises(ValueError, match="at least 2 classes in y; got 1 class"):
        DeepClassifier().fit(X[:10], y[:10])


def test_estimators_save_and_load(tmp_path):
    pd = pytest.importorskip("pandas")
    X, y = load_iris(return_X_y=True, as_frame=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y.to_numpy()]
    est = DeepClassifier(**TINY, batch_norm=True, random_state=2).fit(X, names)
    est.save(tmp_path / "clf.npz")
    back = load_estimator(tmp_path / "clf.npz")
    assert back.get_params() == est.get_params()
    assert back.classes_.tolist() == est.classes_.tolist() and back.n_features_in_ == 4
    assert list(back.feature_names_in_) == list(X.columns)
    np.testing.assert_array_equal(back.predict_proba(X), est.predict_proba(X))
    np.testing.assert_array_equal(back.predict(X), est.predict(X))
    assert isinstance(db.load_model(tmp_path / "clf.npz"), db.Sequential)
    est.partial_fit(X, names)                          # the optimizer state came back too
    back.partial_fit(X, names)
    np.testing.assert_array_equal(back.predict_proba(X), est.predict_proba(X))
    with pytest.raises(ValueError, match="feature names"):
        back.predict(pd.DataFrame(X.to_numpy(), columns=list("abcd")))
    reg = DeepRegressor(**TINY, random_state=0).fit(X.to_numpy(), y.to_numpy() * 1.0)
    reg.save(tmp_path / "reg.npz")
    np.testing.assert_array_equal(load_estimator(tmp_path / "reg.npz").predict(X.to_numpy()), reg.predict(X.to_numpy()))


def test_float32_and_memory_mapped_inputs_are_not_copied(tmp_path, monkeypatch):
    """fit reads a float32 X, or a read-only memory map of it, as it is: the array fit receives
    shares the caller's memory."""
    from deepbasics.learn.model import Sequential
    X, y = load_breast_cancer(return_X_y=True)
    X = ((X - X.mean(0)) / X.std(0)).astype(np.float32)
    np.save(tmp_path / "X.npy", X)
    mapped = np.load(tmp_path / "X.npy", mmap_mode="r")
    seen = []
    original = Sequential.fit

    def spy(self, X_fit, *args, **kwargs):
        seen.append(X_fit)
        return original(self, X_fit, *args, **kwargs)
    monkeypatch.setattr(Sequential, "fit", spy)
    for given in (X, mapped):
        clf = DeepClassifier(hidden=(4,), epochs=2, dtype="float32", random_state=0).fit(given, y)
        assert np.shares_memory(seen[-1], given) and seen[-1].dtype == np.float32
        assert clf.score(given, y) > 0.5
    assert np.array_equal(DeepClassifier(hidden=(4,), epochs=2, dtype="float32", random_state=0).fit(X, y)
                          .predict_proba(X), clf.predict_proba(X))
