"""deepbasics deep: epochs to a held-out target per recipe, depth and optimizer, and what the findings claim."""
import json
import subprocess
import sys

import pytest

from deepbasics.report import deep_summary
from deepbasics.studies import deep
from deepbasics.errors import DeepBasicsError

RUN_KEYS = {"recipe": str, "depth": int, "optimizer": str, "seconds": float, "final_accuracy": float}


@pytest.fixture(scope="module")
def small():
    """Depth 5, width 32, 8 epochs: the problem case against He+ReLU under GD and Adam (a few seconds)."""
    return deep.run(depths=[5], recipes=["N(0,1)+sigmoid", "He+ReLU"], width=32, epochs=8, target=0.9,
                    engine="numpy", print_fn=lambda *_: None)


def test_runs_have_the_promised_fields(small):
    assert len(small["runs"]) == 4
    for r in small["runs"]:
        for key, kind in RUN_KEYS.items():
            assert isinstance(r[key], kind), key
        assert r["epochs_to_target"] is None or 1 <= r["epochs_to_target"] <= 8
        assert len(r["heldout_accuracy"]) == 8 and r["final_accuracy"] == r["heldout_accuracy"][-1]
        assert len(r["weight_change"]) == 6 and all(v > 0 for v in r["weight_change"])   # 5 hidden + output
    assert {(r["recipe"], r["optimizer"]) for r in small["runs"]} == \
        {(n, o) for n in ("N(0,1)+sigmoid", "He+ReLU") for o in ("gd", "adam")}


def test_epochs_to_target_is_the_first_epoch_at_or_over_it(small):
    for r in small["runs"]:
        hits = [e + 1 for e, acc in enumerate(r["heldout_accuracy"]) if acc >= 0.9]
        assert r["epochs_to_target"] == (hits[0] if hits else None)
        assert (r["seconds_to_target"] is None) == (r["epochs_to_target"] is None)
        if r["seconds_to_target"] is not None:
            assert 0 < r["seconds_to_target"] <= r["seconds"]


def test_the_ranking_the_findings_claim(small):
    """The headline says the document's claim held; that means the problem recipe ranks last
    under both optimizers. Both must be true of the run."""
    for o in ("gd", "adam"):
        assert deep.ranking(small, 5, o) == ["He+ReLU", "N(0,1)+sigmoid"]
    assert deep.faster(deep.find(small, "He+ReLU", 5, "adam"), deep.find(small, "N(0,1)+sigmoid", 5, "adam"))
    lines = deep_summary.findings(small)
    assert lines[0].startswith("Depth 5: the document's claim") and " held on this run" in lines[0]


def fake(problem_epochs, cure_epochs):
    runs = []
    for name, e in (("N(0,1)+sigmoid", problem_epochs), ("He+ReLU", cure_epochs)):
        runs.append({"recipe": name, "depth": 10, "optimizer": "gd", "epochs_to_target": e,
                     "seconds_to_target": None if e is None else e / 10, "final_accuracy": 0.96 if e else 0.5,
                     "train_accuracy": 1.0, "weight_change": [0.01, 0.1], "init": {"orders": 1.0, "dead": None},
                     "trained": {"dead": None}})
    return {"settings": {"depths": [10], "recipes": ["N(0,1)+sigmoid", "He+ReLU"], "optimizers": ["gd"],
                         "target": 0.95, "epochs": 30}, "runs": runs}


def test_the_headline_says_so_when_the_claim_fails():
    held = deep_summary.headline(fake(None, 12))
    assert " held on this run" in held and "He+ReLU reached it in 12 epochs" in held
    failed = deep_summary.headline(fake(5, 12))
    assert "did not hold on this run" in failed and "(He+ReLU not ahead of N(0,1)+sigmoid)" in failed


def test_bad_settings_are_one_line_errors():
    with pytest.raises(DeepBasicsError, match="unknown recipe"):
        deep.run(recipes=["He+Tanh"])
    with pytest.raises(DeepBasicsError, match="target is a held-out accuracy"):
        deep.run(target=1.5)
    done = subprocess.run([sys.executable, "-m", "deepbasics", "deep", "--lr", "sgdx=0.1"], capture_output=True,
                          text=True)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "--lr sgdx=0.1" in done.stderr


def test_cli_writes_results_json_with_runs(tmp_path):
    out = tmp_path / "deep"
    done = subprocess.run([sys.executable, "-m", "deepbasics", "deep", "--depths", "2", "--width", "16",
                           "--epochs", "2", "--recipes", "N(0,1)+sigmoid", "He+ReLU", "--engine", "numpy",
                           "--no-plots", "--quiet", "--out", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    results = json.loads((out / "results.json").read_text())
    assert [(r["recipe"], r["optimizer"]) for r in results["runs"]] == \
        [("N(0,1)+sigmoid", "gd"), ("N(0,1)+sigmoid", "adam"), ("He+ReLU", "gd"), ("He+ReLU", "adam")]
    summary = (out / "summary.md").read_text()
    assert "## Findings\n\n- Depth 2: the document's claim" in summary and "epochs to 95%" in summary
    assert done.stdout.splitlines()[0].startswith("recipe")


@pytest.mark.slow
def test_default_run_headline():
    """The default `deepbasics deep` (several minutes): the problem case ranks last at every
    depth under both optimizers, and the headline says the claim held."""
    results = deep.run(print_fn=lambda *_: None)
    for depth in results["settings"]["depths"]:
        for o in ("gd", "adam"):
            assert deep.ranking(results, depth, o)[-1] == "N(0,1)+sigmoid"
    assert " held on this run" in deep_summary.findings(results)[0]
