"""deepbasics: deep feed-forward networks from scratch, faithful to "Deep Learning Basics".

    import deepbasics as db
    X, y = db.datasets.moons(n_samples=900, noise=0.2, seed=3)
    model = db.Sequential([db.Dense(5), db.ReLU(), db.Dense(2), db.ReLU(), db.Dense(1), db.Sigmoid()],
                          input_dim=2, init="he", seed=3)
    history = model.fit(X, y, loss="binary_crossentropy", optimizer=db.optim.Adam(lr=1e-4),
                        batch_size=64, epochs=10000, shuffle_seed=10, verbose=1000)

This file is the package's face: the names a user imports. The rooms behind it, each a
subpackage whose docstring says what it holds and may import (imports point down this list):

    nn/        the model's math: layers, activations, losses, initialisers, the network, random streams
    learn/     learning: optimizers, schedules, the step, engines, the loop, Sequential, checkpoints
    data/      data sets and splits
    runs/      one checked run specification (config), experiments, progress
    studies/   the document's own code (classic), reproduce, the depth experiment, benchmarks
    report/    plots and reports (the only users of matplotlib)
    cli/ playground/ sklearn/ cluster/     the front ends, imported on demand

``errors`` (one-line errors and the checks every room shares), ``fileio`` (atomic writes) and
``version`` sit beside this file; every room may use them.
"""
import sys as _sys

from .data import datasets
from .errors import DeepBasicsError, DivergedError
from .learn import batching, checkpoint, optim, schedules
from .learn.history import History
from .learn.model import Sequential
from .learn.saving import load_model
from .nn import activations, diagnostics, initializers, losses
from .nn.activations import ELU, GELU, SELU, LeakyReLU, Linear, PReLU, ReLU, RReLU, Sigmoid, Softmax, Softplus, Tanh
from .nn.batchnorm import BatchNorm
from .nn.dense import Dense
from .nn.dropout import Dropout
from .nn.layer import Context, Layer
from .runs import config
from .studies import classic
from .version import __version__

# The modules users reach by their short names (``deepbasics.optim``, ``from deepbasics.config
# import load``): each is registered under that name too, so both spellings are one module object.
FACE_MODULES = {"activations": activations, "batching": batching, "checkpoint": checkpoint, "classic": classic,
                "config": config, "datasets": datasets, "diagnostics": diagnostics, "initializers": initializers,
                "losses": losses, "optim": optim, "schedules": schedules}
for _name, _module in FACE_MODULES.items():
    _sys.modules.setdefault(f"{__name__}.{_name}", _module)

__all__ = [
    "Sequential", "Dense", "BatchNorm", "Dropout",
    "Linear", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "Softmax", "ELU", "SELU", "GELU", "Softplus", "PReLU", "RReLU",
    "Layer", "Context", "History", "DeepBasicsError", "DivergedError", "load_model", "__version__",
    *FACE_MODULES,
]
