"""scikit-learn estimators: ``DeepClassifier`` and ``DeepRegressor`` wrap ``Sequential.fit``.

    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from deepbasics.sklearn import DeepClassifier

    search = GridSearchCV(make_pipeline(StandardScaler(), DeepClassifier(epochs=50, random_state=0)),
                          {"deepclassifier__hidden": [(8,), (16, 8)], "deepclassifier__learning_rate": [1e-3, 1e-2]})
    search.fit(X, y)

They follow scikit-learn's estimator contract (nothing happens in ``__init__``; ``fit``,
``partial_fit``, ``predict``, ``predict_proba``, ``score``; fitted attributes end in ``_``) and
pass ``sklearn.utils.estimator_checks``. Their hyperparameters are the settings of a deepbasics
config (``[model]``, ``[train]``, ``[optimizer]``, ``[schedule]``), checked at ``fit`` by
``deepbasics.config`` — the one validator — so a bad value gives the message a TOML file would.

What this package may import: scikit-learn, and deepbasics' model, config, experiment (to
build the network a config describes), splits and checkpoint modules. Nothing else in
deepbasics imports it, so scikit-learn stays an edge.
"""
from .estimators import DeepClassifier, DeepRegressor
from .saving import load_estimator

__all__ = ["DeepClassifier", "DeepRegressor", "load_estimator"]
