"""Runs: one checked specification of an experiment, and everything that runs it.

    config       the schema (sections, defaults, meanings) and the one validator: TOML, ``--set``,
                 a playground message or an estimator's parameters become one checked ``Config``
    experiment   a run from a Config: data -> split -> standardise -> model -> fit -> metrics
    progress     progress bars and log lines
    runner       running several runs in worker processes, one per core (compare, demo, reproduce)
    configs/     the shipped example configs

May import: ``nn``, ``learn``, ``data`` and the files beside the face (errors, fileio, version).
"""
