"""What ``DeepClassifier`` and ``DeepRegressor`` share: hyperparameters, the config they map
onto, training through ``Sequential.fit``, ``partial_fit``, and saving to a checkpoint."""
from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from ..learn import checkpoint
from ..runs import config, experiment
from ..data import datasets, splits
from ..errors import DeepBasicsError, check_whole, is_whole

SEED_BOUND = 2**31 - 1
FLOATS = (np.float64, np.float32)      # X kept as it is in either (a float32 or memory-mapped X is not copied)


def _listed(value, kind):
    """A tuple (or a lone ``kind`` value for a list setting) as the list a config holds; anything
    else unchanged, for the config to reject with its own message."""
    if isinstance(value, tuple):
        return list(value)
    if kind is int and is_whole(value):
        return [int(value)]
    return value


class DeepEstimator(BaseEstimator):
    """A feed-forward network trained by ``Sequential.fit``; see ``DeepClassifier`` for the
    hyperparameters. Subclasses say how targets are encoded and predictions decoded."""

    def __init__(self, hidden=(32,), activation="relu", init="he_normal", batch_norm=False, dropout=0.0,
                 l1=0.0, l2=0.0, optimizer="adam", learning_rate=0.001, optimizer_params=None,
                 schedule="constant", schedule_params=None, batch_size=32, epochs=200, shuffle=True,
                 drop_last=False, early_stopping=False, validation_fraction=0.1, n_iter_no_change=10, tol=1e-4,
                 random_state=None, engine="numpy", dtype="float64", verbose=0):
        self.hidden = hidden
        self.activation = activation
        self.init = init
        self.batch_norm = batch_norm
        self.dropout = dropout
        self.l1 = l1
        self.l2 = l2
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.optimizer_params = optimizer_params
        self.schedule = schedule
        self.schedule_params = schedule_params
        self.batch_size = batch_size
        self.epochs = epochs
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state
        self.engine = engine
        self.dtype = dtype
        self.verbose = verbose

    def __sklearn_tags__(self):
        """Dense, finite float input (no NaN, no sparse matrices); a fixed ``random_state``
        gives the same network every time; one target column."""
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = False
        tags.target_tags.multi_output = False
        return tags

    # -- hyperparameters -> config ---------------------------------------------------------
    def _raw_config(self, seeds) -> dict:
        """The estimator's settings as a raw config (what a TOML file would hold)."""
        train = {"epochs": self.epochs, "batch_size": self.batch_size, "shuffle": self.shuffle,
                 "shuffle_seed": seeds[1], "engine": self.engine, "dtype": self.dtype, "drop_last": self.drop_last}
        raw = {"model": {"hidden": _listed(self.hidden, int), "activation": _listed(self.activation, str),
                         "init": self.init, "batch_norm": self.batch_norm, "dropout": self.dropout,
                         "l1": self.l1, "l2": self.l2, "seed": seeds[0]},
               "train": train,
               "optimizer": {"name": self.optimizer, "lr": self.learning_rate, **dict(self.optimizer_params or {})},
               "schedule": {"name": self.schedule, **dict(self.schedule_params or {})}}
        if self.early_stopping:
            # scikit-learn's MLP stops once MORE than n_iter_no_change epochs in a row missed tol
            patience = self.n_iter_no_change + 1 if is_whole(self.n_iter_no_change) else self.n_iter_no_change
            train["early_stopping"] = {"monitor": "val_loss", "patience": patience,
                                       "min_delta": self.tol, "restore_best_weights": True}
            vf = self.validation_fraction
            fractions = [1 - vf, vf, 0.0] if isinstance(vf, numbers.Real) and not isinstance(vf, bool) else vf
            raw["split"] = {"fractions": fractions, "seed": seeds[2]}
        return raw

    def _config(self) -> config.Config:
        """The checked config, and the seeds drawn from ``random_state`` (weights, shuffle, split)."""
        seeds = [int(s) for s in check_random_state(self.random_state).randint(0, SEED_BOUND, size=3)]
        check_whole(f"{type(self).__name__}: verbose", self.verbose)
        if not isinstance(self.early_stopping, bool):
            raise DeepBasicsError(f"{type(self).__name__}: early_stopping must be True or False, "
                                  f"got {self.early_stopping!r}")
        for key in ("optimizer_params", "schedule_params"):
            if getattr(self, key) is not None and not isinstance(getattr(self, key), dict):
                raise DeepBasicsError(f"{type(self).__name__}: {key} must be a dict of settings or None, "
                                      f"got {getattr(self, key)!r}")
        return config.from_dict(self._raw_config(seeds), source=type(self).__name__)

    # -- training --------------------------------------------------------------------------
    def _build(self, cfg: config.Config, n_features: int) -> None:
        """The network for ``n_features`` inputs and this task, with its initial weights."""
        data = datasets.Dataset(np.zeros((0, n_features)), np.zeros(0), self._task(), (),
                                tuple(str(c) for c in getattr(self, "classes_", ())), type(self).__name__)
        self.model_, self._loss_name = experiment.build_model(cfg, data, n_features)

    def _fit_options(self, cfg: config.Config, validation=None) -> dict:
        """``fit``'s arguments: the config's (``experiment.fit_arguments``, as every front end
        trains) and the estimator's verbosity."""
        return {**experiment.fit_arguments(cfg, self._loss_name, validation), "verbose": int(self.verbose)}

    def _validation_split(self, cfg, X, Y):
        """(X_train, Y_train, validation_data): the held-out part when early stopping is on
        (stratified for classes, as scikit-learn's MLP does)."""
        if cfg.train.early_stopping is None:
            return X, Y, None
        parts = splits.split(Y, cfg.split.fractions, seed=cfg.split.seed,
                             stratify=self._task() != "regression")
        if len(parts.val) == 0 or len(parts.train) == 0:
            raise DeepBasicsError(f"{type(self).__name__}: early_stopping holds out validation_fraction = "
                                  f"{self.validation_fraction} of {len(X)} examples, which leaves no validation "
                                  f"or no training example; use more data or early_stopping=False")
        return X[parts.train], Y[parts.train], (X[parts.val], Y[parts.val])

    def fit(self, X, y):
        """Train a new network on X (m, n_features) and y for ``epochs`` epochs (fewer with
        early stopping); returns self."""
        X, y = self._check_data(X, y, reset=True)
        cfg = self._config()
        Y = self._encode(y, fitting=True)
        self._build(cfg, X.shape[1])
        Xt, Yt, validation = self._validation_split(cfg, X, Y)
        history = self.model_.fit(Xt, Yt, epochs=cfg.train.epochs, **self._fit_options(cfg, validation))
        self.history_ = history.to_dict()
        self.loss_curve_ = list(history.cost)
        self.n_iter_ = self.model_.epochs_done
        return self

    def _partial_fit(self, X, y, classes=None):
        first = not hasattr(self, "model_")
        X, y = self._check_data(X, y, reset=first)
        cfg = self._config()
        if first:
            if classes is not None:
                self.classes_ = np.unique(np.asarray(classes))
            Y = self._encode(y, fitting=classes is None)
            self._build(cfg, X.shape[1])
            self.loss_curve_, self.history_ = [], {"epoch": [], "history": {}, "params": {}}
        else:
            Y = self._encode(y, fitting=False)
        # one more epoch of the same fit (the optimizer state carries on); scikit-learn's MLP
        # does not stop early in partial_fit either
        options = {**self._fit_options(cfg), "optimizer": self.model_.optimizer or cfg.optimizer,
                   "early_stopping": None}
        done = self.model_.epochs_done
        history = self.model_.fit(X, Y, epochs=done + 1, initial_epoch=done, **options)
        self.loss_curve_.append(history.cost[-1])
        self.history_["epoch"].append(done)
        for key, values in history.history.items():
            self.history_["history"].setdefault(key, []).append(values[-1])
        self.history_["params"] = history.params
        self.n_iter_ = self.model_.epochs_done
        return self

    def _check_data(self, X, y, *, reset: bool):
        return validate_data(self, X, y, reset=reset, dtype=FLOATS, y_numeric=self._task() == "regression")

    def _features(self, X):
        check_is_fitted(self)
        return validate_data(self, X, reset=False, dtype=FLOATS)

    # -- saving ----------------------------------------------------------------------------
    def save(self, path):
        """Write the fitted estimator to ``path``: the network as ``model.save`` writes it, plus
        the estimator's settings and fitted attributes as JSON (never pickled).
        ``deepbasics.sklearn.load_estimator(path)`` reads it back."""
        check_is_fitted(self)
        params = {k: v for k, v in self.get_params().items() if k != "random_state"}
        state = {"class": type(self).__name__, "params": checkpoint._json_safe(params),
                 "random_state": self.random_state if isinstance(self.random_state, int) else None,
                 "n_features_in": int(self.n_features_in_), "loss_curve": list(self.loss_curve_),
                 "n_iter": int(self.n_iter_), "history": self.history_}
        if hasattr(self, "feature_names_in_"):
            state["feature_names_in"] = [str(f) for f in self.feature_names_in_]
        if hasattr(self, "classes_"):
            state["classes"] = {"values": self.classes_.tolist(), "dtype": self.classes_.dtype.str
                                if self.classes_.dtype.kind != "O" else "object"}
        return self.model_.save(path, estimator=state)
