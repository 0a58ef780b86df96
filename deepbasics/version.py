"""The package's version: recorded in reports, checkpoints and the cluster's worker check."""
__version__ = "0.1.0"
