"""Diagnostics and the deep experiment: the document's claims, visible in numbers."""
import json

import numpy as np
import pytest

import deepbasics as db
from deepbasics.studies import deep
from deepbasics.nn import diagnostics
from deepbasics.cli import main

X, Y = db.datasets.moons(n_samples=900, noise=0.2, seed=3)


def test_naive_sigmoid_gradients_vanish_towards_the_input_and_cures_keep_them_level():
    bad = deep.build(deep.RECIPES["N(0,1)+sigmoid"], depth=20, width=30, seed=0).diagnose(X[:256], Y[:256])
    cure = deep.build(deep.RECIPES["He+ReLU+BatchNorm"], depth=20, width=30, seed=0).diagnose(X[:256], Y[:256])
    assert diagnostics.orders_of_magnitude(bad) > 2.5           # first layer's gradient >300x smaller
    assert abs(diagnostics.orders_of_magnitude(cure)) < 1.5
    norms = diagnostics.dense_gradient_norms(bad)
    assert len(norms) == 21 and norms[0] < norms[10] < norms[-1]
    preact = [r["out_var"] for r in bad if r["layer"].startswith("Dense")][:-1]
    assert preact[-1] > 5 * preact[0]                           # variance grows layer by layer


def test_saturation_and_dead_units_are_counted():
    model = db.Sequential([db.Dense(50, init="standard_normal"), db.Sigmoid(), db.Dense(50), db.ReLU(), db.Dense(1)],
                          input_dim=2, seed=0)
    W = model.get_weights()
    W[0] = W[0] * 100                                           # huge pre-activations: saturated sigmoids
    W[3] = np.full(50, -1e6)                                    # hugely negative biases: every ReLU dead
    model.set_weights(W)
    rows = model.diagnose(X[:100], Y[:100], loss="mse")
    by_layer = {r["layer"]: r for r in rows}
    assert by_layer["Sigmoid"]["saturated"] > 0.9
    assert by_layer["ReLU"]["dead"] == 1.0
    assert rows[0]["grad_norm"] < 1e-3 and rows[-1]["grad_norm"] == 0      # nothing flows through dead units


def test_fit_records_diagnostics_every_n_epochs():
    model = deep.build(deep.RECIPES["He+ReLU"], depth=3, width=8, seed=0)
    h = model.fit(X, Y, epochs=5, batch_size=100, shuffle_seed=0, diagnostics_every=2)
    assert [d["epoch"] for d in h.diagnostics] == [-1, 1, 3, 4]
    assert {"grad_norm", "out_var", "input_grad_norm"} <= set(h.diagnostics[0]["layers"][0])
    assert "diagnostics" in h.to_dict()
    with pytest.raises(db.DeepBasicsError, match="diagnostics_every"):
        model.fit(X, Y, epochs=1, diagnostics_every=-1)


def test_deep_he_relu_batchnorm_trains_at_depth_20():
    model = deep.build(deep.RECIPES["He+ReLU+BatchNorm"], depth=20, width=100, seed=0)
    model.fit(X, Y, optimizer=db.optim.Adam(1e-3), epochs=30, batch_size=60, shuffle_seed=10)
    assert model.evaluate(X, Y)["accuracy"] >= 0.95


def test_deep_command_quick_run(tmp_path, capsys):
    out = tmp_path / "deep"
    code = main(["deep", "--depths", "2", "6", "--width", "8", "--epochs", "2", "--engine", "numpy", "--out", str(out),
                 "--quiet", "--jobs", "1", "--grid", "gd=0.1", "--grid", "adam=0.01"])
    assert code == 0
    text = capsys.readouterr().out
    assert "He+ReLU+BatchNorm" in text and "Depth 6, N(0,1)+sigmoid" in text
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(["heldout_accuracy.png", "gradient_norm.png", "weight_change.png", "training_curves.png",
                            "learning_rates.png", "activation_percentiles.png", "summary.md", "results.json"])
    results = json.loads((out / "results.json").read_text())
    assert len(results["runs"]) == 16 and results["settings"]["width"] == 8       # 2 depths, 4 recipes, GD and Adam
    run = results["runs"][0]
    assert len(run["init"]["grad_norm"]) == 3 and len(run["weight_change"]) == 3 and len(run["costs"]) == 2
    summary = (out / "summary.md").read_text()
    assert "## Findings at each recipe's best rate" in summary and "![gradient_norm](gradient_norm.png)" in summary
    assert "![activation_percentiles](activation_percentiles.png)" in summary and len(results["best"]) == 16


def test_deep_command_bad_input(capsys):
    assert main(["deep", "--recipes", "He+Sigmoid", "--depths", "2", "--no-plots"]) == 2
    assert "unknown recipe 'He+Sigmoid'" in capsys.readouterr().err
    assert main(["deep", "--depths", "0"]) == 2


def test_percentiles_of_each_activations_input_match_a_forward_pass_by_hand():
    """in_percentiles: the 15th, 50th and 85th percentiles of the pre-activation (after BatchNorm
    where there is one), computed here from the layers' own forward pass."""
    model = deep.build(deep.RECIPES["He+ReLU+BatchNorm"], depth=3, width=8, seed=0)
    rows = model.diagnose(X[:64], Y[:64])
    from deepbasics.nn.layer import Context
    ctx, x, expected = Context(xp=np, train=True), X[:64], []
    for layer, p, s in zip(model.layers[:-1], model.params, model.state):
        if isinstance(layer, db.ReLU):
            expected.append(np.percentile(x, [15, 50, 85]))
        x, _, _ = layer.forward(p, s, x, ctx)
    got = [r["in_percentiles"] for r in rows if "in_percentiles" in r]
    assert len(got) == 3 and np.allclose(got, expected, rtol=0, atol=1e-12)
    assert [r["layer"] for r in rows if "in_percentiles" in r] == ["ReLU"] * 3
    assert all(abs(p[1]) < 0.5 and p[0] < -0.5 < 0.5 < p[2] for p in got)    # BatchNorm: about N(0, 1)
