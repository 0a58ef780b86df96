"""Loss functions: per-example loss forward, gradient of the batch *mean* backward.

With network output ``out`` (m, k) and targets ``y`` (m, k):

    BinaryCrossEntropy       l_i = -[y log p + (1 - y) log(1 - p)]
        from logits z        l_i = max(z, 0) - z y + log(1 + exp(-|z|))   (never log 0)
                             dL/dz = (sigmoid(z) - y) / m                 (the document's dz3)
        from probabilities   log clamped at -100 as in PyTorch's BCELoss
    CategoricalCrossEntropy  l_i = -sum_j y_j log p_j, y one-hot (integer labels accepted)
        from logits z        l_i = logsumexp(z) - sum_j y_j z_j,  dL/dz = (softmax(z) - y) / m
    MeanSquaredError         l_i = mean_j (out_j - y_j)^2,  dL/dout = 2 (out - y) / (m k)
                             (PyTorch's MSELoss 'mean'; Keras averages the same way)

``forward`` returns the per-example losses (m,), so the document's epoch cost (the sum of
per-example losses over the epoch's batches divided by m) is a plain running sum.
A model ending in Sigmoid (Softmax) trained with binary (categorical) cross-entropy is fused
into the from-logits form by ``network.fuse_output``: stable, and the same gradient.
"""
from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from .activations import Sigmoid, Softmax
from ..errors import DeepBasicsError, choose

LOG_FLOOR = -100.0   # PyTorch's BCELoss clamp for log(p)


def _clamped_log(p, xp):
    """max(log p, -100) without ever evaluating log(0) (no warning, no -inf)."""
    return xp.maximum(xp.log(xp.maximum(p, 1e-44)), LOG_FLOOR)


class Loss(ABC):
    name = "loss"
    output_activation = None     # the activation class this loss can absorb when from_logits

    @abstractmethod
    def forward(self, out, y, xp):
        """Per-example losses, shape (m,)."""

    @abstractmethod
    def backward(self, out, y, xp):
        """d(mean over the batch of the losses) / d out, shape of ``out``."""

    @abstractmethod
    def targets(self, y, n_out: int) -> np.ndarray:
        """Check labels and shape them (m, n_out) as float64; raise a clear error otherwise."""

    def from_logits_version(self) -> "Loss":
        """The same loss taking logits (only for losses with an ``output_activation``)."""
        raise DeepBasicsError(f"{self.name} has no from-logits form")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(from_logits={getattr(self, 'from_logits', False)})"


def _column(y, name: str) -> np.ndarray:
    arr = np.asarray(y)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2:
        raise DeepBasicsError(f"y for {name} must be 1-D or 2-D, got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise DeepBasicsError("y is empty: it has no labels")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise DeepBasicsError(f"y for {name} must be numeric, got values of type {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise DeepBasicsError("y contains NaN or infinite values; clean them first")
    return arr


class BinaryCrossEntropy(Loss):
    name = "binary_crossentropy"
    output_activation = Sigmoid

    def __init__(self, from_logits: bool = False):
        self.from_logits = bool(from_logits)

    def forward(self, out, y, xp):
        if self.from_logits:
            z = out
            per = xp.maximum(z, 0) - z * y + xp.log1p(xp.exp(-xp.abs(z)))
        else:
            p = out
            per = -(y * _clamped_log(p, xp) + (1 - y) * _clamped_log(1 - p, xp))
        return per.sum(axis=1)           # the array method: half the call overhead of xp.sum

    def backward(self, out, y, xp):
        m = out.shape[0]
        if self.from_logits:
            return (1.0 / m) * (Sigmoid().fn(out, xp) - y)
        p = out
        return (1.0 / m) * (p - y) / xp.maximum(p * (1 - p), 1e-12)

    def targets(self, y, n_out: int) -> np.ndarray:
        arr = _column(y, self.name)
        if arr.shape[1] != n_out:
            raise DeepBasicsError(f"y has {arr.shape[1]} column(s) but the model has {n_out} output(s)")
        bad = np.unique(arr[(arr != 0) & (arr != 1)])
        if bad.size:
            raise DeepBasicsError(f"labels for binary_crossentropy must be 0 or 1; found {bad[:5].tolist()}")
        return arr

    def from_logits_version(self) -> "Loss":
        return BinaryCrossEntropy(from_logits=True)


class CategoricalCrossEntropy(Loss):
    name = "categorical_crossentropy"
    output_activation = Softmax

    def __init__(self, from_logits: bool = False):
        self.from_logits = bool(from_logits)

    def forward(self, out, y, xp):
        if self.from_logits:
            zmax = xp.max(out, axis=1, keepdims=True)
            lse = zmax[:, 0] + xp.log(xp.sum(xp.exp(out - zmax), axis=1))
            return lse - xp.sum(y * out, axis=1)
        return -xp.sum(y * _clamped_log(out, xp), axis=1)

    def backward(self, out, y, xp):
        m = out.shape[0]
        if self.from_logits:
            return (1.0 / m) * (Softmax().fn(out, xp) - y)
        return (-1.0 / m) * y / xp.maximum(out, 1e-44)

    def targets(self, y, n_out: int) -> np.ndarray:
        arr = np.asarray(y)
        if arr.ndim == 1 or (arr.ndim == 2 and arr.shape[1] == 1 and n_out > 1):
            labels = _column(arr, self.name)[:, 0]
            if np.any(labels != np.round(labels)) or labels.min() < 0 or labels.max() >= n_out:
                raise DeepBasicsError(f"integer labels for categorical_crossentropy must lie in 0..{n_out - 1} "
                                      f"(the model has {n_out} outputs)")
            return np.eye(n_out)[labels.astype(int)]
        arr = _column(arr, self.name)
        if arr.shape[1] != n_out:
            raise DeepBasicsError(f"one-hot y has {arr.shape[1]} columns but the model has {n_out} outputs")
        if np.any(arr < 0) or not np.allclose(arr.sum(axis=1), 1.0):
            raise DeepBasicsError("one-hot y for categorical_crossentropy must have non-negative rows summing to 1")
        return arr

    def from_logits_version(self) -> "Loss":
        return CategoricalCrossEntropy(from_logits=True)


class MeanSquaredError(Loss):
    name = "mean_squared_error"

    def forward(self, out, y, xp):
        d = out - y
        return xp.mean(d * d, axis=1)

    def backward(self, out, y, xp):
        m, k = out.shape
        return (2.0 / (m * k)) * (out - y)

    def targets(self, y, n_out: int) -> np.ndarray:
        arr = _column(y, self.name)
        if arr.shape[1] != n_out:
            raise DeepBasicsError(f"y has {arr.shape[1]} column(s) but the model has {n_out} output(s)")
        return arr

    def __repr__(self) -> str:
        return "MeanSquaredError()"


LOSSES = {
    "binary_crossentropy": BinaryCrossEntropy, "bce": BinaryCrossEntropy,
    "categorical_crossentropy": CategoricalCrossEntropy, "cross_entropy": CategoricalCrossEntropy,
    "sparse_categorical_crossentropy": CategoricalCrossEntropy,
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
}


def get(loss) -> Loss:
    """A loss from its name (see ``LOSSES``) or a ``Loss`` instance."""
    if isinstance(loss, Loss):
        return loss
    return choose("loss", loss, LOSSES)()
