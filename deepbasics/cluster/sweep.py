"""Submit every run of a sweep to a Dask cluster and gather the ``RunResult``s in grid order."""
from __future__ import annotations

import uuid
from pathlib import Path

from ..errors import DeepBasicsError
from . import connection
from .probe import folder_problem
from .tasks import train_run

CHECKPOINTS_PER_RUN = 20      # a run checkpoints every 1/20 of its epochs: a retry loses at most that


def checkpoint_every(epochs: int) -> int:
    return max(1, epochs // CHECKPOINTS_PER_RUN)


def check_folder(folder) -> Path:
    """The checkpoint folder as an absolute path, if checkpoints can be written there (one line if not)."""
    problem = folder_problem(folder)
    if problem:
        raise DeepBasicsError(f"--checkpoint-dir {folder} is not writable ({problem}); "
                              f"give a folder every worker can write")
    return Path(folder).absolute()


def run_all(runs, paths: dict, *, spec: str, retries: int = 2, resume: bool = False, emit=print,
            on_result=None, on_submit=None, engines: dict | None = None) -> list:
    """Train every (label, cfg) of ``runs`` on the cluster ``spec``; each run checkpoints to
    ``paths[label]`` (a checkpoint left there is resumed when ``resume`` is set, and always by
    a retried task). ``emit`` prints the cluster's description (None: quiet),
    ``on_result(result)`` is called as each run finishes, ``on_submit(client, futures)`` once
    the tasks are submitted; ``engines`` holds what "auto" chose for the runs together
    (``experiment.choose_engines``), as a local comparison would."""
    client, cluster = connection.connect(spec)
    try:
        folder = str(Path(next(iter(paths.values()))).parent)
        n = connection.check_workers(client, folder)
        if emit is not None:
            emit(f"Dask: {n} worker(s) at {client.scheduler.address}{_dashboard(client)}")
        if not resume:             # a fresh sweep: a retried task must not find an older sweep's file
            for path in paths.values():
                Path(path).unlink(missing_ok=True)
        sweep = uuid.uuid4().hex[:8]
        futures = [client.submit(train_run, label, cfg.to_dict(), cfg.base_dir, paths[label],
                                 checkpoint_every(cfg.train.epochs), (engines or {}).get(label),
                                 key=f"deepbasics-{sweep}-{i}", retries=retries, pure=False)
                   for i, (label, cfg) in enumerate(runs)]
        if on_submit is not None:
            on_submit(client, futures)
        return _gather(futures, on_result)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def map_tasks(function, arguments, *, spec: str, retries: int = 2, emit=print, on_result=None) -> list:
    """``function(*args)`` for every ``args`` of ``arguments`` as Dask tasks on the cluster ``spec``;
    the results in the arguments' order, each handed to ``on_result(result)`` as it arrives. For
    tasks that take and return plain data and keep no state (``deepbasics deep``'s runs): a retried
    task starts again. ``function`` must be importable by name on the workers (a deepbasics function)."""
    client, cluster = connection.connect(spec)
    try:
        n = connection.check_workers(client, None)
        if emit is not None:
            emit(f"Dask: {n} worker(s) at {client.scheduler.address}{_dashboard(client)}")
        batch = uuid.uuid4().hex[:8]
        futures = [client.submit(function, *args, key=f"deepbasics-{batch}-{i}", retries=retries, pure=False)
                   for i, args in enumerate(arguments)]
        return _gather(futures, on_result)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _gather(futures, on_result) -> list:
    """The results in submission order, reported as they arrive."""
    from distributed import as_completed
    index = {f.key: i for i, f in enumerate(futures)}
    results = [None] * len(futures)
    for future in as_completed(futures):
        i = index[future.key]
        results[i] = future.result()      # a task's DeepBasicsError is raised here
        if on_result is not None:
            on_result(results[i])
    return results


def _dashboard(client) -> str:
    """'; dashboard <link>' when the scheduler serves one (Dask draws it with bokeh)."""
    if not _has_dashboard(client):
        return ""
    try:
        import bokeh  # noqa: F401
        return f"; dashboard {client.dashboard_link}"
    except ImportError:
        return f"; dashboard {client.dashboard_link} (pip install bokeh to draw it)"


def _has_dashboard(client) -> bool:
    try:
        return bool(client.scheduler_info().get("services", {}).get("dashboard"))
    except Exception:           # an old scheduler without service information: say nothing
        return False
