"""The process runner (deepbasics.runs.runner): results in the arguments' order, a task's error in
the parent, one worker per core, warm-up, progress, and Ctrl-C with and without a grace period.

The tasks are this module's functions, which the spawned workers import by name; what a worker
shares with the parent (an event, a barrier) travels in its warm-up arguments."""
from __future__ import annotations

import multiprocessing
import os
import signal
import time

import pytest

from deepbasics.runs import runner

_SHARED = ()            # in a worker: what the warm-up gave it


def _keep(*shared) -> None:
    global _SHARED
    _SHARED = shared


def square(x):
    return x * x


def fail_on(x, bad):
    if x == bad:
        raise ValueError(f"task {x} failed")
    time.sleep(0.05)
    return x


def worker_facts(x):
    """(x, this worker's pid, whether it ignores Ctrl-C, what its warm-up kept)."""
    return x, os.getpid(), signal.getsignal(signal.SIGINT) == signal.SIG_IGN, _SHARED


def wait_for_parent(x):
    """Task 0 waits until the parent sets the event, and a little more; the others report their
    end and return."""
    if x == 0:
        assert _SHARED[0].wait(timeout=60)
        time.sleep(0.5)
    else:
        runner.report(1)
    return x


def meet(x):
    """Returns once ``parties`` workers are in this function together: its pid."""
    _SHARED[0].wait(timeout=60)
    return os.getpid()


def count_starts(x):
    """The order this worker started its tasks in."""
    global _SHARED
    _SHARED = (*_SHARED, x)
    return _SHARED


def save_when_stopped(name):
    """Reports its start, then runs until the parent asks it to stop; returns the 'checkpoint' it saved."""
    runner.report(1)
    while not runner.stop_requested():
        time.sleep(0.01)
    return f"{name}.npz"


def sleep_on(_):
    runner.report(1)
    time.sleep(60)


@pytest.fixture
def ctrl_c_raises():
    """Python's own SIGINT handler, even when the suite was started with SIGINT ignored."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


def press_ctrl_c(*_):
    signal.raise_signal(signal.SIGINT)


def test_results_follow_the_arguments_whatever_order_they_finish_in():
    event, seen, helped = multiprocessing.get_context("spawn").Event(), [], []

    def on_result(i, result):
        seen.append(i)
        if len(seen) == 3:
            event.set()                     # task 0 returns only now, after all the others
    results = runner.run_tasks(wait_for_parent, [(x,) for x in range(4)], jobs=2, warm_up=(_keep, event),
                               on_result=on_result, meanwhile=lambda: helped.append(True))
    assert results == [0, 1, 2, 3]
    assert sorted(seen[:3]) == [1, 2, 3] and seen[3] == 0       # as they finished
    assert helped == [True]         # ran once the first result was in, and had finished on return


def test_in_order_delivery_holds_back_the_results_after_a_slow_one():
    event, seen = multiprocessing.get_context("spawn").Event(), []
    results = runner.run_tasks(wait_for_parent, [(x,) for x in range(4)], jobs=2, warm_up=(_keep, event),
                               on_result=lambda i, result: seen.append((i, result)), in_order=True,
                               on_progress=lambda total: total == 3 and event.set())
    assert results == [0, 1, 2, 3]
    assert seen == [(0, 0), (1, 1), (2, 2), (3, 3)]


def test_start_order_and_warm_up_once_per_worker():
    results = runner.run_tasks(count_starts, [(x,) for x in range(4)], jobs=1, warm_up=(_keep, "warm"),
                               start_order=[2, 0, 3, 1])
    assert results[1] == ("warm", 2, 0, 3, 1)   # one worker: warmed once, then the tasks in start order
    assert results == [("warm", 2, 0), ("warm", 2, 0, 3, 1), ("warm", 2), ("warm", 2, 0, 3)]


def test_workers_ignore_ctrl_c_and_get_their_warm_up():
    facts = runner.run_tasks(worker_facts, [(x,) for x in range(3)], jobs=2, warm_up=(_keep, "jax", 1))
    assert [f[0] for f in facts] == [0, 1, 2]
    assert all(ignores and shared == ("jax", 1) for _, pid, ignores, shared in facts)
    assert os.getpid() not in {pid for _, pid, _, _ in facts}


def test_one_worker_per_core_by_default(monkeypatch):
    monkeypatch.setattr(runner.os, "cpu_count", lambda: 3)
    assert runner.worker_count(None, 10) == 3
    assert runner.worker_count(None, 2) == 2          # never more workers than tasks
    assert runner.worker_count(5, 10) == 5
    barrier = multiprocessing.get_context("spawn").Barrier(3)
    pids = runner.run_tasks(meet, [(x,) for x in range(6)], warm_up=(_keep, barrier))
    assert len(set(pids)) == 3                        # three at once, and no more


def test_a_task_that_raises_raises_in_the_parent():
    start = time.monotonic()
    with pytest.raises(ValueError, match="task 3 failed"):
        runner.run_tasks(fail_on, [(x, 3) for x in range(6)], jobs=2)
    with pytest.raises(ValueError, match="task 0 failed"):
        runner.run_tasks(fail_on, [(0, 0), (1, 0)], jobs=2, stop_grace_s=5)
    assert time.monotonic() - start < 60


def test_progress_adds_up_the_reports(ctrl_c_raises):
    totals = []
    with pytest.raises(KeyboardInterrupt):          # no grace: the workers are ended, not asked
        runner.run_tasks(sleep_on, [(x,) for x in range(2)], jobs=2,
                         on_progress=lambda total: totals.append(total) or (total == 2 and press_ctrl_c()))
    assert totals[-1] == 2 and totals == sorted(totals)


def test_ctrl_c_asks_the_tasks_to_stop_and_collects_what_they_saved(ctrl_c_raises):
    start = time.monotonic()
    # both workers busy: the third task has not started when Ctrl-C comes, and never starts
    with pytest.raises(runner.Stopped) as stopped:
        runner.run_tasks(save_when_stopped, [("a",), ("b",), ("c",)], jobs=2, stop_grace_s=30,
                         on_progress=lambda total: total == 2 and press_ctrl_c())
    assert stopped.value.outcomes == ["a.npz", "b.npz"]
    assert isinstance(stopped.value, KeyboardInterrupt)
    assert time.monotonic() - start < 30


def test_ctrl_c_without_grace_ends_the_workers_at_once(ctrl_c_raises):
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt) as stopped:
        runner.run_tasks(sleep_on, [(x,) for x in range(2)], jobs=2,
                         on_progress=lambda total: total == 2 and press_ctrl_c())
    assert not isinstance(stopped.value, runner.Stopped)
    assert time.monotonic() - start < 30                # not the tasks' 60 s


def test_a_task_that_ignores_the_stop_is_given_up_after_the_grace_period(ctrl_c_raises):
    start = time.monotonic()
    with pytest.raises(runner.Stopped) as stopped:
        runner.run_tasks(sleep_on, [(x,) for x in range(2)], jobs=2, stop_grace_s=0.5,
                         on_progress=lambda total: total == 2 and press_ctrl_c())
    assert stopped.value.outcomes == []
    assert time.monotonic() - start < 30
