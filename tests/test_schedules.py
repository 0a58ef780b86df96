"""Schedules: golden tables, the document's timing, units."""
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

import deepbasics as db
from deepbasics.learn import schedules


def test_inverse_time_decay_is_the_documents_update_lr():
    f = schedules.InverseTimeDecay(decay_rate=1)
    assert f(0.5, 2) == 0.16666666666666666                # printed by the document
    assert [f(0.5, e) for e in (0, 1000, 2000)] == [0.5, 0.5 / 1001, 0.5 / 2001]


def test_fixed_interval_is_the_documents_schedule_lr_decay():
    f = schedules.InverseTimeDecay(decay_rate=0.3, interval=100)
    assert f(0.5, 10) == 0.5 and f(0.5, 100) == 0.3846153846153846    # printed by the document
    g = schedules.InverseTimeDecay(decay_rate=1, interval=1000)
    table = {0: 0.01, 999: 0.01, 1000: 0.005, 1999: 0.005, 2000: 0.01 / 3, 9000: 0.001}
    for epoch, rate in table.items():
        assert g(0.01, epoch) == pytest.approx(rate, rel=1e-15)


def test_exponential_and_step_decay_tables():
    e = schedules.ExponentialDecay(rate=0.5, decay_every=10)
    assert [e(1.0, t) for t in (0, 10, 20, 5)] == [1.0, 0.5, 0.25, 0.5 ** 0.5]
    es = schedules.ExponentialDecay(rate=0.5, decay_every=10, staircase=True)
    assert [es(1.0, t) for t in (0, 9, 10, 25)] == [1.0, 1.0, 0.5, 0.25]
    s = schedules.StepDecay(gamma=0.1, step_size=30)
    assert [s(1.0, t) for t in (0, 29, 30, 60)] == pytest.approx([1.0, 1.0, 0.1, 0.01])


def test_document_timing_lags_one_epoch():
    f = schedules.InverseTimeDecay(decay_rate=1)
    rates = f.rates(0.5, 4, 3)
    assert rates.shape == (4, 3)
    # epoch 0 and 1 train with f(0) = lr0, epoch 2 with f(1), epoch 3 with f(2)
    np.testing.assert_array_equal(rates[:, 0], [0.5, 0.5, 0.25, 0.5 / 3])
    assert np.all(rates == rates[:, :1])
    # what the document prints as 'learning rate after epoch N' is f(N)
    assert f.rate_after_epoch(0.5, 1000, 15) == 0.5 / 1001
    g = schedules.InverseTimeDecay(decay_rate=1, timing="immediate")
    np.testing.assert_array_equal(g.rates(0.5, 3, 1)[:, 0], [0.5, 0.25, 0.5 / 3])
    assert g.rate_after_epoch(0.5, 1, 15) == 0.5 / 3


def test_step_unit_counts_updates():
    f = schedules.InverseTimeDecay(decay_rate=1, unit="step")
    rates = f.rates(1.0, 2, 3)
    np.testing.assert_allclose(rates, [[1, 1 / 2, 1 / 3], [1 / 4, 1 / 5, 1 / 6]])
    assert f.rate_after_epoch(1.0, 0, 3) == 1 / 4


@given(lr0=st.floats(1e-6, 10), k=st.floats(0, 5), interval=st.integers(1, 50), t=st.integers(0, 10**6))
def test_inverse_time_decay_properties(lr0, k, interval, t):
    f = schedules.InverseTimeDecay(decay_rate=k, interval=interval)
    assert 0 < f(lr0, t) <= lr0
    assert f(lr0, t + interval) <= f(lr0, t)
    assert f(lr0, t) == f(lr0, (t // interval) * interval)        # piecewise constant


@pytest.mark.parametrize("make,match", [
    (lambda: schedules.InverseTimeDecay(decay_rate=-1), "decay_rate"),
    (lambda: schedules.InverseTimeDecay(interval=0), "interval"),
    (lambda: schedules.Constant(unit="batch"), "unit"),
    (lambda: schedules.StepDecay(timing="later"), "timing"),
    (lambda: schedules.get("cosine"), "unknown schedule 'cosine'"),
])
def test_bad_schedules_are_named(make, match):
    with pytest.raises(db.DeepBasicsError, match=match):
        make()


@pytest.mark.parametrize("schedule", [
    schedules.InverseTimeDecay(1.0), schedules.InverseTimeDecay(1.0, interval=3, timing="immediate"),
    schedules.ExponentialDecay(0.9, decay_every=2, unit="step"), schedules.StepDecay(0.5, step_size=4),
])
def test_rates_of_epochs_are_the_rows_of_rates(schedule):
    whole = schedule.rates(0.1, 12, 5)
    for start, stop in ((0, 12), (3, 7), (11, 12), (5, 5)):
        assert np.array_equal(schedule.rates_of_epochs(0.1, start, stop, 5), whole[start:stop])
