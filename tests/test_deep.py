"""deepbasics deep: epochs to a held-out target per recipe, depth and optimizer, and what the findings claim."""
import json
import subprocess
import sys

import numpy as np
import pytest

from deepbasics.report import deep_summary
from deepbasics.studies import deep
from deepbasics.errors import DeepBasicsError

RUN_KEYS = {"recipe": str, "depth": int, "optimizer": str, "seconds": float, "final_accuracy": float}


SMALL_GRID = {"gd": [0.1], "adam": [0.01]}


@pytest.fixture(scope="module")
def small():
    """Depth 5, width 32, 8 epochs: the problem case against He+ReLU under GD and Adam, at the
    shared rates and one more rate each (a few seconds, in this process)."""
    return deep.run(depths=[5], recipes=["N(0,1)+sigmoid", "He+ReLU"], width=32, epochs=8, target=0.9,
                    engine="numpy", grid=SMALL_GRID, execute=deep.local_execute(1), print_fn=lambda *_: None)


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
    assert lines[0].startswith("Depth 5, at the shared rate: the document's claim") and " held on this run" in lines[0]


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
    with pytest.raises(DeepBasicsError, match="learning rates of the gd grid must be numbers > 0"):
        deep.run(grid={"gd": [0.1, -1]})
    with pytest.raises(DeepBasicsError, match="unknown data set 'mnist2d'"):
        deep.run(data="mnist2d")
    for args, message in ((["--grid", "gd=0.1,-2"], "--grid gd=...: give an optimizer"),
                          (["--grid", "gd=0.1", "--no-grid"], "--grid and --no-grid contradict"),
                          (["--cluster", "local:2", "--jobs", "2"], "--jobs is for the local process pool"),
                          (["--cluster", "local:x"], "--cluster local:N needs a whole number")):
        from deepbasics.cli import main
        assert main(["deep", "--depths", "2", "--no-plots", *args]) == 2
    done = subprocess.run([sys.executable, "-m", "deepbasics", "deep", "--grid", "gd=0.1,x"], capture_output=True,
                          text=True)
    assert done.returncode == 2 and "expected OPTIMIZER=RATE,RATE" in done.stderr


def test_cli_writes_results_json_with_runs(tmp_path):
    out = tmp_path / "deep"
    done = subprocess.run([sys.executable, "-m", "deepbasics", "deep", "--depths", "2", "--width", "16",
                           "--epochs", "2", "--recipes", "N(0,1)+sigmoid", "He+ReLU", "--engine", "numpy",
                           "--grid", "gd=0.1,1", "--grid", "adam=0.01", "--jobs", "1",
                           "--no-plots", "--quiet", "--out", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    results = json.loads((out / "results.json").read_text())
    assert [(r["recipe"], r["optimizer"], r["lr"]) for r in results["runs"]] == \
        [("N(0,1)+sigmoid", "gd", 0.01), ("N(0,1)+sigmoid", "adam", 0.001), ("He+ReLU", "gd", 0.01),
         ("He+ReLU", "adam", 0.001)]
    assert results["settings"]["grid"] == {"gd": [0.01, 0.1, 1.0], "adam": [0.001, 0.01]}
    assert len(results["grid_runs"]) == 10
    assert [(b["recipe"], b["optimizer"], [r["lr"] for r in b["by_rate"]]) for b in results["best"]] == \
        [("N(0,1)+sigmoid", "gd", [0.01, 0.1, 1.0]), ("N(0,1)+sigmoid", "adam", [0.001, 0.01]),
         ("He+ReLU", "gd", [0.01, 0.1, 1.0]), ("He+ReLU", "adam", [0.001, 0.01])]
    summary = (out / "summary.md").read_text()
    assert "## Findings at each recipe's best rate\n\n- Depth 2, at each recipe's best rate of the grid: " in summary
    assert "## Findings at the shared rate\n\n- Depth 2, at the shared rate: the document's claim" in summary
    assert "The grid: GD 0.01, 0.1, 1; Adam 0.001, 0.01 (10 runs" in summary and "epochs to 95%" in summary
    assert done.stdout.splitlines()[0].startswith("recipe")


def test_a_grid_run_stops_at_the_target_with_the_numbers_of_a_full_run(small):
    """A grid run ends at the epoch it reaches the target; up to there it is the same training
    as a full-length run at that rate (stopping changes nothing before it)."""
    full = deep.run(depths=[5], recipes=["N(0,1)+sigmoid", "He+ReLU"], width=32, epochs=8, target=0.9,
                    engine="numpy", lr={"gd": 0.1, "adam": 0.01}, grid={"gd": [], "adam": []},
                    execute=deep.local_execute(1), print_fn=lambda *_: None)
    assert len(full["grid_runs"]) == 4 and all(len(b["by_rate"]) == 1 for b in full["best"])
    reached = 0
    for g in small["grid_runs"]:
        if (g["optimizer"], g["lr"]) not in (("gd", 0.1), ("adam", 0.01)):
            continue
        whole = deep.find(full, g["recipe"], 5, g["optimizer"])
        assert whole["lr"] == g["lr"] and whole["epochs_to_target"] == g["epochs_to_target"]
        n = g["epochs_to_target"] or 8
        assert len(g["heldout_accuracy"]) == n and g["heldout_accuracy"] == whole["heldout_accuracy"][:n]
        reached += g["epochs_to_target"] is not None
    assert reached >= 2                                 # He+ReLU at the higher rates reaches 90% in 8 epochs


def test_best_rate_of_each_recipe_is_the_fastest_and_edges_are_flagged(small):
    assert len(small["best"]) == 4
    for b in small["best"]:
        tried = [g for g in small["grid_runs"]
                 if (g["recipe"], g["depth"], g["optimizer"]) == (b["recipe"], b["depth"], b["optimizer"])]
        assert sorted(r["lr"] for r in b["by_rate"]) == sorted(g["lr"] for g in tried) and len(tried) == 2
        assert b["lr"] == min(tried, key=deep.rate_key)["lr"]
        assert all(deep.rate_key(min(tried, key=deep.rate_key)) <= deep.rate_key(g) for g in tried)
        assert b["edge"] == ("lowest" if b["lr"] == min(g["lr"] for g in tried) else "highest")   # two rates: an end
    runs = [dict(recipe="A", depth=3, optimizer="gd", lr=lr, epochs_to_target=e, seconds_to_target=e,
                 accuracy_at_target=acc if e else None, best_accuracy=acc, heldout_accuracy=[], diverged=None)
            for lr, e, acc in ((0.01, None, 0.80), (0.1, 7, 0.91), (0.3, 7, 0.93), (1.0, None, 0.5))]
    settings = {"depths": [3], "recipes": ["A"], "optimizers": ["gd"], "lr": {"gd": 0.01}}
    (best,) = deep.best_rates(runs, settings)
    assert (best["lr"], best["epochs_to_target"], best["edge"]) == (0.3, 7, None)   # a tie: the higher accuracy
    runs[3]["epochs_to_target"], runs[3]["accuracy_at_target"] = 5, 0.9
    assert deep.best_rates(runs, settings)[0]["edge"] == "highest"
    for r in runs:
        r["epochs_to_target"] = r["accuracy_at_target"] = None
    best = deep.best_rates(runs, settings)[0]                 # none reached it: the best accuracy
    assert (best["lr"], best["epochs_to_target"]) == (0.3, None)


def test_percentiles_of_each_hidden_layer_over_training(small):
    for r in small["runs"]:
        p = r["percentiles"]
        assert p["epochs"] == list(range(9)) and len(p["layers"]) == 5       # initialisation + 8 epochs, 5 layers
        for layer in p["layers"]:
            assert len(layer) == 9 and all(a <= b <= c for a, b, c in layer)
    model = deep.build(deep.RECIPES["He+ReLU"], 5, 32, 0, n_in=64, n_out=10)
    X = deep.task()[0][np.random.RandomState(0).permutation(1258)[:deep.PROBE]]
    first = [row["in_percentiles"] for row in model.diagnose(X, deep.task()[1][:len(X)], "categorical_crossentropy")
             if "in_percentiles" in row]
    assert np.allclose(deep.find(small, "He+ReLU", 5, "gd")["percentiles"]["layers"][0][0], first[0], atol=1e-5)


def _fair(bn, plain, sigmoid, edge=None):
    """Best-rate entries at depth 10 with GD: (epochs, lr) of each recipe."""
    def entry(name, e, lr, edge=None):
        return {"recipe": name, "depth": 10, "optimizer": "gd", "lr": lr, "epochs_to_target": e,
                "seconds_to_target": None if e is None else e / 10, "accuracy_at_target": 0.96 if e else None,
                "best_accuracy": 0.96 if e else 0.5, "edge": edge, "shared_lr": 0.01,
                "by_rate": [{"lr": 0.01, "epochs_to_target": None, "diverged": False},
                            {"lr": lr, "epochs_to_target": e, "diverged": False}]}
    return {"settings": {"depths": [10], "recipes": ["N(0,1)+sigmoid", "He+ReLU", "He+ReLU+BatchNorm"],
                         "optimizers": ["gd"], "target": 0.95, "epochs": 30, "lr": {"gd": 0.01}},
            "best": [entry("N(0,1)+sigmoid", *sigmoid), entry("He+ReLU", *plain),
                     entry("He+ReLU+BatchNorm", *bn, edge=edge)]}


def test_fair_findings_say_what_the_best_rates_show():
    held = deep_summary.fair_findings(_fair(bn=(4, 1.0), plain=(9, 0.1), sigmoid=(None, 0.3), edge="highest"))
    assert any("He+ReLU+BatchNorm reached the target faster than He+ReLU at depth 10 (epochs to target, with "
               "BatchNorm vs without: depth 10 4 at lr 1 vs 9 at lr 0.1); its best rate was higher than He+ReLU's "
               "at depth 10." in line for line in held)
    assert any(line.startswith("N(0,1)+sigmoid was still last at its best rate at every depth") for line in held)
    assert any("1 of the 2 best rates that reached the target lies at an end of the grid" in line and
               "He+ReLU+BatchNorm depth 10 GD at its highest rate 1" in line for line in held)
    failed = deep_summary.fair_findings(_fair(bn=(12, 0.1), plain=(9, 0.1), sigmoid=(5, 0.3)))
    assert any("He+ReLU+BatchNorm did not reach the target faster than He+ReLU at depth 10" in line and
               "its best rate was at no depth higher" in line for line in failed)
    assert any(line.startswith("N(0,1)+sigmoid was last at its best rate in 0 of 1 depth-optimizer pairs, not "
                               "everywhere") for line in failed)
    assert any("Grid edges: none of the 3 best rates" in line for line in failed)
    assert "did not hold on this run" in failed[0]
    table = deep_summary.best_table(_fair(bn=(4, 1.0), plain=(9, 0.1), sigmoid=(None, 0.3), edge="highest"))
    row = next(line for line in table.splitlines() if line.startswith("He+ReLU+BatchNorm"))
    assert row.split() == ["He+ReLU+BatchNorm", "10", "GD", "1>", "4", "0.4", "0.01", "-", "0.01:-", "1:4*"]


@pytest.mark.slow
def test_default_run_headline():
    """The default `deepbasics deep` (several minutes): the problem case ranks last at every
    depth under both optimizers, and the headline says the claim held."""
    results = deep.run(print_fn=lambda *_: None)
    for depth in results["settings"]["depths"]:
        for o in ("gd", "adam"):
            assert deep.ranking(results, depth, o)[-1] == "N(0,1)+sigmoid"
            assert deep.ranking(results, depth, o, "best")[-1] == "N(0,1)+sigmoid"     # at every recipe's best rate
    assert " held on this run" in deep_summary.findings(results)[0]
