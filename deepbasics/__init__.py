"""deepbasics: deep feed-forward networks from scratch, faithful to "Deep Learning Basics".

    import deepbasics as db
    X, y = db.datasets.moons(n_samples=900, noise=0.2, seed=3)
    model = db.Sequential([db.Dense(5), db.ReLU(), db.Dense(2), db.ReLU(), db.Dense(1), db.Sigmoid()],
                          input_dim=2, init="he", seed=3)
    history = model.fit(X, y, loss="binary_crossentropy", optimizer=db.optim.Adam(lr=1e-4),
                        batch_size=64, epochs=10000, shuffle_seed=10, verbose=1000)

Modules, from the math outward: initializers, layer, dense, activations, losses, network
(model); optim, schedules, batching, step, engines, train, model (learning); datasets,
classic (the document's own function API), reproduce, cli (edges). Two edges are subpackages
imported only on demand: ``deepbasics.sklearn`` (scikit-learn estimators) and
``deepbasics.cluster`` (compare sweeps on Dask).
"""
__version__ = "0.1.0"

from . import activations, batching, classic, datasets, diagnostics, initializers, losses, optim, schedules
from .activations import ELU, GELU, SELU, LeakyReLU, Linear, PReLU, ReLU, RReLU, Sigmoid, Softmax, Softplus, Tanh
from .batchnorm import BatchNorm
from .checkpoint import load_model
from .dense import Dense
from .dropout import Dropout
from .errors import DeepBasicsError, DivergedError
from .layer import Context, Layer
from .model import Sequential
from .train import History

__all__ = [
    "Sequential", "Dense", "BatchNorm", "Dropout",
    "Linear", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "Softmax", "ELU", "SELU", "GELU", "Softplus", "PReLU", "RReLU",
    "Layer", "Context", "History", "DeepBasicsError", "DivergedError", "load_model",
    "activations", "batching", "classic", "datasets", "diagnostics", "initializers", "losses", "optim", "schedules",
]
