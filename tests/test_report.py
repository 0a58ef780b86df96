"""Plots and the report: the right figures for the task, a self-contained page, strict JSON."""
import base64
import json
import re
import subprocess
import sys

import numpy as np
import pytest

from deepbasics.runs import config, experiment
from deepbasics.report import plots, writer as report

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def moons_results():
    cfg = config.load("moons_optimizers", ["train.epochs=40", "train.diagnostics_every=10"])
    return cfg, [experiment.run(label, c) for label, c in config.expand(cfg)]


@pytest.fixture(scope="module")
def iris_result():
    cfg = config.load("iris", ["train.epochs=30", "optimizer={name='adam', lr=0.01}"])
    return cfg, [experiment.run("adam", config.expand(cfg)[0][1])]


def test_binary_2d_figures(moons_results):
    _, results = moons_results
    images = report.figures(results, log_scale=True)
    assert set(images) == {"cost", "accuracy", "learning_rate", "decision_boundary", "gradient_flow"}
    assert all(png.startswith(PNG) for png in images.values())
    assert results[0].boundary["z"].shape == (experiment.BOUNDARY_GRID, experiment.BOUNDARY_GRID)


def test_multiclass_gets_a_confusion_matrix_and_no_boundary(iris_result):
    _, results = iris_result
    r = results[0]
    assert r.boundary is None and len(r.confusion) == 3
    assert sum(map(sum, r.confusion)) == r.split["test"]
    images = report.figures(results)
    assert "confusion" in images and "decision_boundary" not in images and "gradient_flow" not in images


def test_gradient_flow_reads_recorded_diagnostics(moons_results):
    _, results = moons_results
    series = plots.gradient_series(results[0])
    assert len(series) == 3                                     # one curve per Dense layer
    epochs, norms = next(iter(series.values()))
    assert epochs.tolist() == [0, 10, 20, 30, 40] and (norms > 0).all()


def test_html_is_self_contained_and_complete(moons_results, tmp_path):
    cfg, results = moons_results
    files = report.write(results, cfg, tmp_path, wall_seconds=1.5, command="deepbasics demo")
    names = sorted(str(p.relative_to(tmp_path)) for p in files)
    assert names == ["config.toml", "plots/accuracy.png", "plots/cost.png", "plots/decision_boundary.png",
                     "plots/gradient_flow.png", "plots/learning_rate.png", "report.html", "results.json",
                     "summary.md"]
    page = (tmp_path / "report.html").read_text()
    assert not re.search(r'(src|href)="(?!data:)', page)        # nothing fetched from elsewhere
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 5 and all(base64.b64decode(i).startswith(PNG) for i in images)
    for text in ("moons-optimizers", "<table>", "gd", "momentum", "adam", "train 630 / validation 135 / test 135",
                 "[optimizer]", "Decision boundaries", "Gradient flow"):
        assert text in page
    summary = (tmp_path / "summary.md").read_text()
    assert "| run |" in summary and "![Cost](plots/cost.png)" in summary
    data = json.loads((tmp_path / "results.json").read_text())      # strict JSON: no NaN
    assert [r["label"] for r in data["runs"]] == ["gd", "momentum", "adam"]
    assert len(data["runs"][0]["history"]["history"]["cost"]) == 40
    assert config.from_dict(config.tomllib.loads((tmp_path / "config.toml").read_text())).name == cfg.name


def test_a_diverged_run_is_reported_not_fatal(tmp_path):
    cfg = config.load("moons_adam", ["train.epochs=60", "optimizer={name='gd', lr=1e6}", "train.loss='mse'",
                                     "model.output='linear'"])
    r = experiment.run("wild", cfg)
    assert r.status == "diverged" and "smaller learning rate" in r.message and "epoch" in r.message
    report.write([r], cfg, tmp_path, wall_seconds=0.1)
    page = (tmp_path / "report.html").read_text()
    assert "diverged" in page and "smaller learning rate" in page


def test_every_run_says_which_engine_and_dtype_trained_it(moons_results, tmp_path):
    cfg, results = moons_results
    report.write(results, cfg, tmp_path, wall_seconds=1.5)
    data = json.loads((tmp_path / "results.json").read_text())
    for run in data["runs"]:
        params = run["history"]["params"]
        assert run["engine"] == params["engine"] in ("numpy", "jax")
        assert run["dtype"] == params["dtype"] == "float64"
        assert params["epochs"] == 40 and params["batch_size"] == 64 and params["shuffle_seed"] == 10
    summary = (tmp_path / "summary.md").read_text()
    assert next(line for line in summary.splitlines() if line.startswith("| run |")).endswith("| engine |")
    assert f"| {results[0].engine}, float64 |" in summary
    assert f"<td>{results[0].engine}, float64</td>" in (tmp_path / "report.html").read_text()
    from deepbasics.learn.engines import auto
    pays = auto.crossover_updates(64 * 30)                   # the chapter's network, batch 64
    line = report.engine_line(results)
    where = "JAX would not pay at any length" if pays is None else f"JAX pays from {pays:,} updates"
    assert line == (f'Engine "auto" chose from this machine\'s measured costs: for this network {where}; '
                    f"the runs had 400 each.")                      # 40 epochs of 10 mini-batches
    assert line in summary and data["runs"][0]["history"]["params"]["engine_auto"] == {
        "updates": 400, "jax_from_updates": pays}


def test_early_stopping_is_said_in_the_line_the_summary_and_the_report(tmp_path):
    from deepbasics.cli.common import result_line
    cfg = config.load("moons_adam", ["train.epochs=300", "optimizer.lr=0.05",
                                     "train.early_stopping={monitor='val_loss', patience=5, restore_best_weights=true}"])
    r = experiment.run("adam", cfg)
    stopped = r.history["stopped"]
    assert r.status == "ok" and r.epochs_done == stopped["epoch"] + 1 < 300
    note = (f"stopped early after {r.epochs_done} of 300 epochs: val_loss did not improve for 5 epochs "
            f"(best {stopped['best']:.6g} at epoch {stopped['best_epoch'] + 1}, whose weights were restored)")
    assert r.stop_note() == note
    first, second = result_line(r).splitlines()
    assert f"epochs {r.epochs_done} " in first and second.strip() == note
    report.write([r], cfg, tmp_path, wall_seconds=0.1)
    summary = (tmp_path / "summary.md").read_text()
    assert "| stopped early |" in summary and f"- adam: {note}" in summary
    page = (tmp_path / "report.html").read_text()
    assert "stopped early</span>" in page and f'<p class="note stopped">adam: {note}</p>' in page


def test_a_run_that_did_not_stop_early_says_nothing_of_it(moons_results):
    _, results = moons_results
    assert all(r.stop_note() == "" and len(common_lines(r)) == 1 for r in results)
    assert [row["status"] for row in report.rows(results)] == ["ok"] * 3


def common_lines(r):
    from deepbasics.cli.common import result_line
    return result_line(r).splitlines()


def test_rows_and_best_run(moons_results):
    _, results = moons_results
    table = report.rows(results)
    assert [row["run"] for row in table] == ["gd", "momentum", "adam"]
    assert all(0 <= row["test accuracy"] <= 1 for row in table)
    assert report._best(results, table) in (0, 1, 2)


def test_the_core_never_imports_matplotlib_or_tqdm():
    code = ("import sys, deepbasics, deepbasics.runs.experiment, deepbasics.learn.checkpoint, deepbasics.runs.config;"
            "print(any(m.split('.')[0] in ('matplotlib', 'tqdm') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_confusion_matrices_write_every_count_zeros_included(iris_result):
    _, results = iris_result
    r = results[0]
    r3 = experiment.RunResult(**{**vars(r), "confusion": [[5, 0, 0], [0, 4, 1], [0, 0, 5]]})
    ax = plots.confusion_figure([r3]).axes[0]
    assert sorted(t.get_text() for t in ax.texts) == sorted(["5", "0", "0", "0", "4", "1", "0", "0", "5"])


def test_a_line_lying_on_another_is_drawn_apart_and_named():
    """Two runs with the same learning rate (gd and adam at 1e-4): the second is dashed, shifted a
    few points on the page and labelled '(same as gd)', so neither hides the other."""
    from matplotlib.figure import Figure
    ax = Figure().add_subplot()
    drawn, x = [], np.arange(1.0, 11.0)
    plots._plot_distinct(ax, x, np.full(10, 1e-4), "gd", drawn)
    plots._plot_distinct(ax, x, np.full(10, 1e-3), "momentum", drawn)
    plots._plot_distinct(ax, x, np.full(10, 1e-4), "adam", drawn)
    plots._plot_distinct(ax, x, np.full(10, 1e-4), "rmsprop", drawn)
    gd, momentum, adam, rmsprop = ax.get_lines()
    assert [line.get_label() for line in ax.get_lines()] == ["gd", "momentum", "adam (same as gd)",
                                                             "rmsprop (same as gd)"]
    assert gd.get_linestyle() == momentum.get_linestyle() == "-" and adam.get_linestyle() == "--"
    ax.figure.canvas.draw()                                # where each lands on the page, in pixels
    y_gd, y_adam, y_rms = (line.get_transform().transform([[5.0, 1e-4]])[0, 1] for line in (gd, adam, rmsprop))
    assert y_gd > y_adam > y_rms and y_gd - y_adam >= 2


def test_a_resumed_run_keeps_the_settings_it_started_with():
    """A resume changes epochs and maybe the engine: results.json shows the run's own settings, and
    'jax then numpy' when the rest ran elsewhere; a mid-fit checkpoint (no settings yet) counts
    from its first epoch."""
    started = {"epochs": 300, "initial_epoch": 0, "engine": "jax", "shuffle_seed": 10}
    rest = {"epochs": 400, "initial_epoch": 120, "engine": "numpy", "shuffle_seed": 10}
    previous = {"params": started, "epoch": list(range(120))}
    assert experiment._merged_params(previous, rest) == {"epochs": 400, "initial_epoch": 0,
                                                         "engine": "jax then numpy", "shuffle_seed": 10}
    again = experiment._merged_params({"params": {**started, "engine": "jax then numpy"}}, rest)
    assert again["engine"] == "jax then numpy"
    assert experiment._merged_params({"params": {}, "epoch": [0, 1, 2]}, rest)["initial_epoch"] == 0
    assert experiment._merged_params(previous, {}) == started
