"""``DeepClassifier`` and ``DeepRegressor``: the task-specific halves of ``base.DeepEstimator``."""
from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets

from ..errors import DeepBasicsError
from .base import DeepEstimator

HYPERPARAMETERS = """
    Hyperparameters (the config key each one sets, checked by ``deepbasics.config``):

    hidden            (32,)         model.hidden: widths of the hidden Dense layers
    activation        "relu"        model.activation: one name or one per hidden layer
    init              "he_normal"   model.init
    batch_norm        False         model.batch_norm: BatchNorm after each hidden Dense layer
    dropout           0.0           model.dropout: rate after each hidden activation
    l1, l2            0.0           model.l1, model.l2: weight penalties
    optimizer         "adam"        optimizer.name: gd momentum rmsprop adam adamw adagrad
    learning_rate     0.001         optimizer.lr
    optimizer_params  None          the optimizer's other settings, e.g. {"beta1": 0.8}
    schedule          "constant"    schedule.name: constant inverse_time exponential step
    schedule_params   None          the schedule's settings, e.g. {"decay_rate": 1.0}
    batch_size        32            train.batch_size ("full": batch gradient descent)
    epochs            200           train.epochs
    shuffle           True          train.shuffle
    drop_last         False         train.drop_last
    early_stopping    False         hold out validation_fraction of the training data (stratified
                                    for classes) and stop once more than n_iter_no_change epochs
                                    in a row missed falling below the best validation loss by tol;
                                    the best epoch's weights are kept (train.early_stopping with
                                    patience n_iter_no_change + 1, split.fractions). scikit-learn's
                                    MLP counts the same way but watches the validation score
    validation_fraction 0.1, n_iter_no_change 10, tol 1e-4   (scikit-learn's MLP's defaults)
    random_state      None          int: the seeds of the weights, the shuffles and the split
                                    are drawn from it (model.seed, train.shuffle_seed, split.seed)
    engine            "numpy"       train.engine ("jax": compiled)
    dtype             "float64"     train.dtype
    verbose           0             N > 0 prints the cost every N epochs

    Fitted attributes: ``model_`` (the ``Sequential``), ``n_features_in_``, ``feature_names_in_``
    (when X has column names), ``history_`` (``History.to_dict()``), ``loss_curve_`` (the cost per
    epoch), ``n_iter_`` (epochs trained).
"""


class DeepClassifier(ClassifierMixin, DeepEstimator):
    __doc__ = """A feed-forward network classifier: sigmoid output and binary cross-entropy for two
    classes, softmax and categorical cross-entropy for more. Labels may be any values
    scikit-learn accepts as classes (integers, strings); ``classes_`` holds them sorted.
    """ + HYPERPARAMETERS

    def __sklearn_tags__(self):
        """Two or more classes (one label per example, not multi-label)."""
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        tags.classifier_tags.multi_label = False
        return tags

    def _task(self) -> str:
        return "binary" if len(getattr(self, "classes_", ())) <= 2 else "multiclass"

    def _encode(self, y, *, fitting: bool):
        """Class indices into ``classes_`` (set from y when ``fitting``)."""
        check_classification_targets(y)
        if fitting:
            self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise DeepBasicsError(f"{type(self).__name__} needs at least 2 classes in y; got 1 class "
                                  f"({self.classes_[0]!r})")
        index = np.searchsorted(self.classes_, y)
        unknown = (index >= len(self.classes_)) | (self.classes_[np.minimum(index, len(self.classes_) - 1)] != y)
        if np.any(unknown):
            raise DeepBasicsError(f"y holds labels that are not in classes_: {np.unique(y[unknown])[:5].tolist()}")
        return index

    def partial_fit(self, X, y, classes=None):
        """One more epoch on (X, y). The first call builds the network: ``classes`` (all the
        labels the data will ever have) is needed then unless y already shows every class.
        As in scikit-learn's MLP, early stopping does not apply (there is no held-out part)."""
        return self._partial_fit(X, y, classes)

    def predict_proba(self, X):
        """Class probabilities (m, n_classes), columns in the order of ``classes_``."""
        X = self._features(X)
        p = self.model_.predict_proba(X)
        return np.column_stack([1 - p, p]) if p.ndim == 1 else p

    def predict(self, X):
        """The most probable class of each row (m,)."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


class DeepRegressor(RegressorMixin, DeepEstimator):
    __doc__ = """A feed-forward network regressor: linear output, mean squared error; y is (m,).
    """ + HYPERPARAMETERS

    def _task(self) -> str:
        return "regression"

    def _encode(self, y, *, fitting: bool):
        return np.asarray(y, dtype=np.float64)

    def partial_fit(self, X, y):
        """One more epoch on (X, y); the first call builds the network (no early stopping)."""
        return self._partial_fit(X, y)

    def predict(self, X):
        """Predicted values (m,)."""
        X = self._features(X)
        return np.asarray(self.model_.predict(X), dtype=np.float64).reshape(-1)
