"""Running several tasks at once in worker processes, one per CPU core: the one process runner of
``compare`` and ``demo`` (``cli.common.run_all``) and ``reproduce`` (``studies.reproduce.train_runs``).

    results = runner.run_tasks(train, [("gd", 100), ("adam", 100)], jobs=None,
                               on_result=lambda i, result: print(result))

In this process, ``run_tasks``
    starts ``jobs`` workers (None: one per CPU core, never more than the tasks), spawned: each a
    fresh interpreter that inherits no threads; each ignores Ctrl-C (the parent's business) and
    first calls the ``warm_up`` it was given, e.g. importing JAX once for all its tasks;
    calls ``task(*args)`` for every ``args`` in a worker, started in ``start_order`` (e.g. the
    longest first) and returned in the order of the arguments;
    hands each result to ``on_result`` as it arrives (or in the arguments' order), and the progress
    the tasks report to ``on_progress``;
    ends the workers, idle or not, once every result is in (no waiting while they unload).
In a worker, a task calls ``report(amount)`` to add to the progress the parent sees, and
``stop_requested()`` to learn of a Ctrl-C in the parent.

Ctrl-C in the parent: without a grace period the workers end at once and the KeyboardInterrupt
goes on. With ``stop_grace_s`` the tasks are asked to stop (``stop_requested()`` turns true; tasks
not yet started never start), given that long to return, and ``Stopped`` carries what they
returned (a checkpoint's path, say). A second Ctrl-C cuts the wait short.

A task's exception is raised here, in the parent, and ends the workers. The runner knows nothing
of what a task is: configs, results and progress bars belong to its callers.
"""
from __future__ import annotations

import multiprocessing
import os
import queue as queue_mod
import signal
import threading
import time

POLL_S = 0.1            # how long the parent waits for progress before it looks for finished tasks

_QUEUE = None           # in a worker: progress to the parent, amounts of work done
_STOP = None            # in a worker: set by the parent on Ctrl-C, when the tasks may stop gracefully


class Stopped(KeyboardInterrupt):
    """Ctrl-C stopped the tasks; ``outcomes`` holds what those that returned in the grace period
    returned, in the arguments' order."""

    def __init__(self, outcomes: list):
        super().__init__(outcomes)
        self.outcomes = outcomes


def worker_count(jobs: int | None, tasks: int) -> int:
    """Workers for ``tasks`` tasks: ``jobs``, or one per CPU core when None; never more than the tasks."""
    return min(jobs or os.cpu_count() or 1, tasks)


# -- in a worker ---------------------------------------------------------------------------------
def report(amount: int) -> None:
    """From a task: ``amount`` more work is done (the parent's ``on_progress`` sees the running total)."""
    _QUEUE.put(amount)


def stop_requested() -> bool:
    """From a task: whether Ctrl-C in the parent asks the tasks to stop (save and return)."""
    return _STOP is not None and _STOP.is_set()


def _start_worker(progress, stop, warm_up) -> None:
    """A worker's start, once per process: Ctrl-C is the parent's business; then the warm-up."""
    global _QUEUE, _STOP
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _QUEUE, _STOP = progress, stop
    if warm_up is not None:
        function, *args = warm_up
        function(*args)


def _call(task, args):
    """A task in its worker: (True, what it returned), or (False, None) when a stop came before it started."""
    if stop_requested():
        return False, None
    return True, task(*args)


# -- in the parent -------------------------------------------------------------------------------
def run_tasks(task, arguments, *, jobs: int | None = None, warm_up: tuple | None = None, start_order=None,
              on_result=None, in_order: bool = False, on_progress=None, meanwhile=None,
              stop_grace_s: float | None = None) -> list:
    """``task(*args)`` for every ``args`` of ``arguments``, in worker processes; their results, in
    the arguments' order.

    jobs          worker processes (None: one per CPU core); never more than the tasks
    warm_up       (function, *args) that each worker calls once when it starts
    start_order   the arguments' indices in the order to start them (default: as given)
    on_result     on_result(index, result), here, as each task returns; with ``in_order`` only
                  once every task before it has returned, so that the calls follow the arguments
    on_progress   on_progress(total), here, as tasks ``report``: the total reported so far
    meanwhile     a function to run on a thread of this process once the first task has returned
                  while others still run (a core is free then); it has finished when this returns
    stop_grace_s  on Ctrl-C: None ends the workers at once and re-raises the KeyboardInterrupt; a
                  number of seconds asks the tasks to stop, waits that long and raises ``Stopped``
    """
    batch = _Batch(list(arguments), on_result, in_order, on_progress, meanwhile)
    if not batch.arguments:
        return []
    context = multiprocessing.get_context("spawn")     # a fresh interpreter per worker: no inherited threads
    progress, stop = context.Queue(), context.Event()
    pool = context.Pool(worker_count(jobs, len(batch.arguments)), initializer=_start_worker,
                        initargs=(progress, stop, warm_up))
    try:
        batch.submit(pool, task, start_order)
        while batch.pending:
            batch.take_progress(progress)
            batch.take_results()
        pool.terminate()        # every result is in: no need to wait while the idle workers unload
    except KeyboardInterrupt:
        outcomes = None if stop_grace_s is None else batch.stop(stop, stop_grace_s)
        pool.terminate()
        if outcomes is None:
            raise
        raise Stopped(outcomes) from None
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()
        batch.join_helper()
    return batch.results


class _Batch:
    """The parent's view of one ``run_tasks`` call: the tasks still pending, the results in, the
    progress reported so far, the ``meanwhile`` thread."""

    def __init__(self, arguments: list, on_result, in_order: bool, on_progress, meanwhile):
        self.arguments, self.on_result, self.in_order = arguments, on_result, in_order
        self.on_progress, self.meanwhile = on_progress, meanwhile
        self.results = [None] * len(arguments)
        self.pending, self.returned, self.delivered = {}, set(), 0
        self.done, self.helper = 0, None

    def submit(self, pool, task, start_order) -> None:
        for i in (range(len(self.arguments)) if start_order is None else start_order):
            self.pending[i] = pool.apply_async(_call, (task, self.arguments[i]))

    def take_progress(self, progress) -> None:
        """Pass on what the workers reported, waiting up to POLL_S for each report."""
        try:
            while True:
                self.done += progress.get(timeout=POLL_S)
                if self.on_progress is not None:
                    self.on_progress(self.done)
        except queue_mod.Empty:
            pass

    def take_results(self) -> None:
        """Collect the tasks that have returned (a task's exception is raised here) and hand them on."""
        for i in [i for i, job in self.pending.items() if job.ready()]:
            _, self.results[i] = self.pending.pop(i).get()
            self.returned.add(i)
            self._deliver(i)
            if self.meanwhile is not None and self.helper is None and self.pending:
                self.helper = threading.Thread(target=self.meanwhile, daemon=True)
                self.helper.start()

    def _deliver(self, i: int) -> None:
        if self.on_result is None:
            return
        if not self.in_order:
            self.on_result(i, self.results[i])
            return
        while self.delivered in self.returned:
            self.on_result(self.delivered, self.results[self.delivered])
            self.delivered += 1

    def stop(self, stop, grace_s: float) -> list:
        """Ask the tasks to stop; what those that return within ``grace_s`` seconds returned."""
        stop.set()
        outcomes = {}
        try:
            deadline = time.monotonic() + grace_s
            for i, job in self.pending.items():
                job.wait(timeout=max(0.1, deadline - time.monotonic()))
                if not job.ready():
                    break           # too slow: stop now
                if job.successful() and job.get()[0]:
                    outcomes[i] = job.get()[1]
        except KeyboardInterrupt:
            pass                    # a second Ctrl-C: stop now
        return [outcomes[i] for i in sorted(outcomes)]

    def join_helper(self) -> None:
        if self.helper is not None:
            self.helper.join()
