"""Sweeps on a Dask cluster: every run of a config's grid as one ``dask.distributed`` task.

    deepbasics compare spirals_init --cluster local:2             # a LocalCluster of 2 processes
    deepbasics compare my.toml --cluster tcp://10.0.0.5:8786 --checkpoint-dir /shared/ckpt

Dask schedules; deepbasics only says what a task is. A task receives plain data — the run's
label, its config as a dict, the path of its checkpoint — trains the run exactly as the process
pool would (``experiment.run``) and returns the same ``RunResult``, so the report is the same and
every number equals the serial run's bit for bit. Runs checkpoint into the checkpoint folder
(one every worker can reach); a task whose worker dies is retried by Dask on another worker and
resumes from its last checkpoint.

Modules: ``connection`` (start or reach a cluster, check its workers), ``tasks`` (what runs on a
worker), ``sweep`` (submit the runs, gather the results).

What this package may import: ``dask.distributed`` (optional: the ``deepbasics[dask]`` extra,
imported only when a cluster is asked for), and deepbasics' config, experiment and checkpoint
modules. ``deepbasics compare`` runs a config's grid with ``run_all``; ``deepbasics deep`` runs
its experiment's networks with ``map_tasks`` (plain-data tasks without checkpoints).
"""
from .connection import DASK_MISSING, connect
from .sweep import map_tasks, run_all

__all__ = ["connect", "run_all", "map_tasks", "DASK_MISSING"]
