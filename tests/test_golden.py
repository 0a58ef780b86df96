"""The heart of the suite: every figure the document prints, reproduced by deepbasics.

The seven make_moons trainings run once per session on the NumPy engine, whose float64 numbers
are the reference (the JAX engine, which ``engine="auto"`` picks for these runs, is checked
against every figure in test_jax_engine.py and by ``deepbasics reproduce``), in one process per
core: about 45 s of work.
"""
import json
from pathlib import Path

import numpy as np
import pytest

import deepbasics as db
from deepbasics.studies import reproduce

FIGURES = reproduce.document_figures()
SHARED_TABLE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "seed_table.json"

# Typed in from the document's Adam run, independent of the shipped JSON.
ADAM_COSTS = [0.708704, 0.351748, 0.171266, 0.103406, 0.084691, 0.076711, 0.070845, 0.068257, 0.066774, 0.065833]


@pytest.fixture(scope="module")
def results():
    return reproduce.reproduce(engine="numpy", print_fn=lambda *_: None, jobs=None)


def test_every_figure_matches(results):
    mismatches = [row for row in results["rows"] if not row[3]]
    assert not mismatches, reproduce.format_table(mismatches)
    assert results["total"] == 138


@pytest.mark.parametrize("name", list(reproduce.RUNS))
def test_run_costs_rates_and_accuracy(results, name):
    run, doc = results["runs"][name], FIGURES["runs"][name]
    for epoch, cost in doc["costs"].items():
        assert "%f" % run["costs"][int(epoch)] == "%f" % cost, f"{name} cost at epoch {epoch}"
        assert abs(run["costs"][int(epoch)] - cost) <= 5e-7
    for epoch, rate in doc["lr_after_epoch"].items():
        assert "%f" % run["lr"][int(epoch)] == "%f" % rate, f"{name} rate after epoch {epoch}"
    assert run["accuracy"] == doc["accuracy"]


def test_adam_costs_typed_from_the_document(results):
    costs = results["runs"]["adam"]["costs"]
    assert ["%f" % costs[e] for e in range(0, 10000, 1000)] == ["%f" % c for c in ADAM_COSTS]
    assert results["runs"]["adam"]["accuracy"] == 0.9688888888888889


def test_a_mismatch_is_reported():
    figures = json.loads(json.dumps(FIGURES))
    figures["unit_cases"]["update_lr_0.5_epoch2_rate1"] = 0.2
    rows = reproduce.compare({"unit_cases": {"update_lr_0.5_epoch2_rate1": 1 / 6}}, figures)
    assert rows == [("unit update_lr_0.5_epoch2_rate1", "0.2", str(1 / 6), False)]


@pytest.mark.skipif(not SHARED_TABLE.exists(), reason="the reference table is not beside this checkout")
def test_shipped_figures_equal_the_reference_table():
    table = json.loads(SHARED_TABLE.read_text())
    for name, run in table["runs"].items():
        assert FIGURES["runs"][name]["costs"] == run["costs"]
        assert FIGURES["runs"][name]["lr_after_epoch"] == run["lr_after_epoch"]
        assert FIGURES["runs"][name]["accuracy"] == run["accuracy"]
    for key, value in table["unit_cases"].items():
        assert FIGURES["unit_cases"][key] == value


def test_document_example_verbatim(capsys):
    X, y = db.datasets.moons(n_samples=900, noise=0.2, seed=3)
    assert X.shape == (900, 2) and y.shape == (900,)
    model = db.Sequential([db.Dense(5), db.ReLU(), db.Dense(2), db.ReLU(), db.Dense(1), db.Sigmoid()],
                          input_dim=2, init="he", seed=3)
    history = model.fit(X, y, loss="binary_crossentropy", optimizer=db.optim.Adam(lr=1e-4),
                        batch_size=64, epochs=1001, shuffle_seed=10, verbose=1000)
    printed = capsys.readouterr().out.splitlines()
    assert printed == ["Cost after epoch 0: 0.708704", "Cost after epoch 1000: 0.351748"]
    assert len(history.cost) == 1001 and history.params["shuffle_seed"] == 10
