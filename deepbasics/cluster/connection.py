"""Start or reach a Dask cluster and check that its workers can run deepbasics.

``--cluster`` takes ``local`` (a LocalCluster with one worker process per CPU core), ``local:N``
(N worker processes) or ``tcp://HOST:PORT`` (a running scheduler). Every problem is a one-line
``DeepBasicsError``, raised before anything is written.
"""
from __future__ import annotations

import logging

from ..version import __version__
from ..errors import DeepBasicsError

DASK_MISSING = "--cluster needs Dask's distributed scheduler: pip install 'deepbasics[dask]'"
CONNECT_TIMEOUT_S = 5


def _distributed():
    try:
        import distributed
    except ImportError:
        raise DeepBasicsError(DASK_MISSING) from None
    return distributed


def parse(spec: str) -> tuple[str, int | None]:
    """("local", N or None) or ("tcp", address) from a --cluster value."""
    if spec == "local":
        return "local", None
    if spec.startswith("local:"):
        n = spec[len("local:"):]
        if not n.isdigit() or int(n) < 1:
            raise DeepBasicsError(f"--cluster local:N needs a whole number N >= 1 of worker processes, got {spec!r}")
        return "local", int(n)
    if spec.startswith(("tcp://", "tls://")) and spec.rsplit(":", 1)[-1].isdigit():
        return "tcp", spec
    raise DeepBasicsError(f"--cluster takes local, local:N or tcp://HOST:PORT, got {spec!r}")


def connect(spec: str):
    """(client, cluster or None) for ``spec``; the caller closes both."""
    kind, arg = parse(spec)
    distributed = _distributed()
    if kind == "local":
        import os
        n = arg or os.cpu_count() or 1
        # a free port for the scheduler's web server: 8787 may be taken by another cluster
        cluster = distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                           dashboard_address=":0", silence_logs=logging.ERROR)
        client = distributed.Client(cluster)
        client.wait_for_workers(n)
        return client, cluster
    try:
        client = distributed.Client(arg, timeout=f"{CONNECT_TIMEOUT_S}s")
    except (OSError, TimeoutError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DeepBasicsError(f"cannot reach the Dask scheduler at {arg} ({reason}); start one with "
                              f"'dask scheduler' and 'dask worker {arg}', or use --cluster local:2") from None
    return client, None


def check_workers(client, folder: str | None) -> int:
    """Every worker imports deepbasics at this version and can write ``folder`` (None: no folder
    to check); returns their number."""
    import cloudpickle
    from . import probe
    cloudpickle.register_pickle_by_value(probe)    # runs even where deepbasics is missing
    answers = client.run(probe.probe, folder, on_error="return")
    if not answers:
        raise DeepBasicsError(f"the Dask scheduler at {client.scheduler.address} has no workers; start some with "
                              f"'dask worker {client.scheduler.address}'")
    for worker, answer in sorted(answers.items()):
        if isinstance(answer, BaseException):
            raise DeepBasicsError(f"Dask worker {worker} cannot run deepbasics ({type(answer).__name__}: "
                                  f"{str(answer).splitlines()[0] if str(answer) else ''}); install deepbasics "
                                  f"{__version__} on every worker")
        if answer.get("version") != __version__:
            raise DeepBasicsError(f"Dask worker {worker} has deepbasics {answer.get('version')}, this is "
                                  f"{__version__}; install the same version on every worker (runs must match "
                                  f"bit for bit)")
        if answer.get("folder"):
            raise DeepBasicsError(f"--checkpoint-dir {folder} is not writable on Dask worker {worker} "
                                  f"({answer['folder']}); give a folder every worker can write")
    return len(answers)
