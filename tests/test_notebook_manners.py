"""What a model, a history and a progress bar do in Jupyter: HTML summary, a cost figure, tqdm.auto."""
import re
import subprocess
import sys

import numpy as np
import pytest

import deepbasics as db
from deepbasics.runs import progress


def small_model():
    return db.Sequential([db.Dense(4), db.ReLU(), db.Dense(3), db.Tanh(), db.Dense(1), db.Sigmoid()],
                         input_dim=2, init="he", seed=3)


def test_repr_html_is_the_summary_as_a_table():
    model = small_model()
    page = model._repr_html_()
    rows = re.findall(r"<tr><td>(\d+)</td><td><code>(.*?)</code></td><td>(\d+)</td><td>(\d+)</td></tr>", page)
    assert [int(r[0]) for r in rows] == list(range(6))
    assert [int(r[3]) for r in rows] == [12, 0, 15, 0, 4, 0]          # 4*2+4, 3*4+3, 1*3+1
    assert [int(r[2]) for r in rows] == [4, 4, 3, 3, 1, 1]
    assert [r[1] for r in rows] == ["Dense(4)", "ReLU()", "Dense(3)", "Tanh()", "Dense(1)", "Sigmoid()"]
    assert f"<td>{model.count_params()}</td>" in page and model.count_params() == 31
    assert "seed=3" in page and "init=&#x27;he&#x27;" in page       # escaped, not raw quotes


def test_repr_html_before_weights_exist():
    page = db.Sequential([db.Dense(2), db.Sigmoid()])._repr_html_()
    assert "no weights yet" in page and "<table" not in page


def test_history_plot_draws_cost_and_validation_loss():
    from matplotlib.figure import Figure
    X, y = db.datasets.moons(n_samples=200, noise=0.2, seed=3)
    model = small_model()
    h = model.fit(X[:150], y[:150], optimizer=db.optim.Adam(lr=0.01), epochs=6, batch_size=50, shuffle_seed=1,
                  validation_data=(X[150:], y[150:]), validation_freq=2)
    fig = h.plot()
    assert isinstance(fig, Figure)
    cost, val = fig.axes[0].get_lines()
    np.testing.assert_array_equal(cost.get_ydata(), h.cost)
    np.testing.assert_array_equal(val.get_xdata(), [1, 3, 5])        # measured every 2nd epoch
    np.testing.assert_allclose(val.get_ydata(), [h["val_loss"][e] for e in (1, 3, 5)])
    assert fig.axes[0].get_xlabel() == "epoch"


def test_history_plot_without_validation_and_into_given_axes():
    from matplotlib.figure import Figure
    X, y = db.datasets.moons(n_samples=100, noise=0.2, seed=3)
    h = small_model().fit(X, y, epochs=3, batch_size=50, shuffle_seed=1)
    ax = Figure().add_subplot()
    assert h.plot(ax=ax, log_scale=True) is ax.figure
    assert len(ax.get_lines()) == 1 and ax.get_yscale() == "log"


def test_the_core_does_not_import_matplotlib_or_tqdm():
    code = ("import sys, deepbasics as db\n"
            "X, y = db.datasets.moons(n_samples=60, seed=3)\n"
            "m = db.Sequential([db.Dense(3), db.ReLU(), db.Dense(1), db.Sigmoid()], input_dim=2, seed=0)\n"
            "h = m.fit(X, y, epochs=2, batch_size=30, shuffle_seed=0); m._repr_html_()\n"
            "print(sorted(k for k in ('matplotlib', 'tqdm') if k in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_progress_bar_is_tqdm_auto_and_not_a_notebook_here():
    assert not progress.in_notebook()                 # pytest is no Jupyter kernel
    import io
    p = progress.Progress(5, mode="bar", stream=io.StringIO())
    from tqdm.auto import tqdm
    assert isinstance(p.bar, tqdm)
    p.close()


def test_in_a_jupyter_kernel_progress_is_a_bar_and_a_model_is_a_table():
    """A real kernel (nbclient): Progress picks the bar there, and a model's cell output is HTML."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("from deepbasics.runs.progress import Progress, in_notebook\n"
                                  "print(in_notebook(), Progress(3).mode)"),
        nbformat.v4.new_code_cell("import deepbasics as db\n"
                                  "db.Sequential([db.Dense(2), db.Sigmoid()], input_dim=3, seed=0)")])
    nbclient.NotebookClient(notebook, timeout=60, kernel_name="python3").execute()
    printed = [o["text"] for o in notebook.cells[0].outputs if o.get("name") == "stdout"]
    assert "".join(printed).strip() == "True bar"       # (stderr may hold tqdm's note when ipywidgets is absent)
    shown = notebook.cells[1].outputs[0]["data"]
    assert "<table>" in shown["text/html"] and "<td>8</td>" in shown["text/html"]      # 2*3 + 2 parameters
