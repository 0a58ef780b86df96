"""``load_estimator``: a fitted estimator back from the file its ``save`` wrote (never pickled).

The file is a deepbasics checkpoint (``Sequential.save``) whose JSON metadata also holds the
estimator's class, settings and fitted attributes; the class is looked up by name in a table of
the two estimators, never imported or evaluated from the file.
"""
from __future__ import annotations

import numpy as np

from ..errors import DeepBasicsError
from ..learn import checkpoint
from ..learn.saving import load_model
from .estimators import DeepClassifier, DeepRegressor


def load_estimator(path):
    """The ``DeepClassifier`` or ``DeepRegressor`` that ``save`` wrote to ``path``, fitted:
    it predicts exactly as the one saved."""
    model = load_model(path)
    state = checkpoint.load(path).meta.get("estimator")
    table = {"DeepClassifier": DeepClassifier, "DeepRegressor": DeepRegressor}
    if not isinstance(state, dict) or state.get("class") not in table:
        raise DeepBasicsError(f"{path} holds a deepbasics model but no estimator; read it with deepbasics.load_model")
    params = dict(state["params"])
    for key in ("hidden", "activation"):
        if isinstance(params.get(key), list):
            params[key] = tuple(params[key])
    est = table[state["class"]](random_state=state.get("random_state"), **params)
    est.model_, est._loss_name = model, getattr(model.loss, "name", None)
    est.n_features_in_, est.loss_curve_, est.n_iter_ = state["n_features_in"], state["loss_curve"], state["n_iter"]
    est.history_ = state["history"]
    if "feature_names_in" in state:
        est.feature_names_in_ = np.asarray(state["feature_names_in"], dtype=object)
    if "classes" in state:
        est.classes_ = np.asarray(state["classes"]["values"], dtype=state["classes"]["dtype"])
    return est

