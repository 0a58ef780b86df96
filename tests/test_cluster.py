"""compare --cluster on a real Dask LocalCluster: the same numbers as the serial run, a worker
killed mid-run, GridSearchCV through joblib's dask backend, and one-line errors."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

from deepbasics.learn import checkpoint
from deepbasics.cli import main
from deepbasics.cluster import connection
from deepbasics.cluster.tasks import RESUME_TOPIC

GRID = """name = "sweep"
[data]
name = "moons"
n_samples = 600
noise = 0.25
seed = 1
[model]
hidden = [16, 16]
seed = 2
[train]
epochs = {epochs}
batch_size = 16
engine = "numpy"        # one engine for every part of a resumed run: its numbers then equal the serial run's
[optimizer]
name = "adam"
lr = 0.003
[grid]
optimizer = [{{name = "adam", lr = 0.003}}, {{name = "momentum", lr = 0.01, beta = 0.9}}]
"""


@pytest.fixture(scope="module")
def cluster():
    """One LocalCluster of 2 worker processes for the module (starting one takes seconds)."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  silence_logs=40) as lc, distributed.Client(lc) as client:
        client.wait_for_workers(2)
        yield lc, client


def _numbers(path) -> dict:
    """A results.json without what may differ between two executions of the same runs
    (seconds, the command line, the output folder, how many processes engine "auto" counted on)."""
    def strip(d):
        if isinstance(d, dict):
            return {k: strip(v) for k, v in d.items()
                    if k not in ("seconds", "wall_seconds", "command", "output", "engine_auto")}
        if isinstance(d, list):
            return [strip(v) for v in d]
        return d
    return strip(json.loads(Path(path).read_text()))


def _serial(tmp_path, config, capsys, extra=()):
    code = main(["compare", str(config), "--jobs", "1", "--quiet", "--no-report", "--out", str(tmp_path / "serial"),
                 "--json", str(tmp_path / "serial.json"), *extra])
    capsys.readouterr()
    assert code == 0
    return _numbers(tmp_path / "serial.json")


def test_shipped_grid_on_two_workers_equals_the_serial_run(cluster, tmp_path, capsys):
    address = cluster[0].scheduler_address
    code = main(["compare", "spirals_init", "--epochs", "30", "--cluster", address, "--out", str(tmp_path / "r"),
                 "--json", str(tmp_path / "cluster.json")])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"Dask: 2 worker(s) at {address}; dashboard http://" in out and "4 runs in" in out
    assert (tmp_path / "r" / "report.html").is_file()
    assert sorted(p.name for p in (tmp_path / "r" / "checkpoints").iterdir()) == [
        "glorot_normal-relu.npz", "glorot_normal-tanh.npz", "he_normal-relu.npz", "he_normal-tanh.npz"]
    serial = _serial(tmp_path, "spirals_init", capsys, ["--epochs", "30"])
    assert _numbers(tmp_path / "cluster.json") == serial          # every number, bit for bit
    assert len(serial["runs"]) == 4 and all(len(r["history"]["history"]["cost"]) == 30 for r in serial["runs"])


def test_a_killed_worker_is_retried_and_resumes_from_its_checkpoint(cluster, tmp_path, capsys):
    lc, client = cluster
    config = tmp_path / "sweep.toml"
    config.write_text(GRID.format(epochs=400))
    ckpt = tmp_path / "ckpt"
    proc = subprocess.Popen([sys.executable, "-m", "deepbasics", "compare", str(config), "--cluster",
                             lc.scheduler_address, "--checkpoint-dir", str(ckpt), "--out", str(tmp_path / "r"),
                             "--quiet", "--no-report", "--json", str(tmp_path / "cluster.json")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        label, epoch, worker = _wait_for_a_checkpoint(client, ckpt, proc)
        pid = client.run(os.getpid)[worker]
        os.kill(pid, signal.SIGKILL)                 # the worker process dies mid-run
        out, err = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    resumed = [msg for _, msg in client.get_events(RESUME_TOPIC) if msg["label"] == label]
    assert resumed and resumed[-1]["epoch"] >= epoch > 0        # picked up where its checkpoint was
    assert _numbers(tmp_path / "cluster.json") == _serial(tmp_path, config, capsys)


def _wait_for_a_checkpoint(client, folder: Path, proc, timeout: float = 120.0):
    """(label, epoch, worker address) of a run that has written a checkpoint mid-run and is
    still running on that worker."""
    labels = {"adam.npz": ("adam", 0), "momentum.npz": ("momentum", 1)}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        for name, (label, index) in labels.items():
            path = folder / name
            if not path.is_file():
                continue
            epoch = checkpoint.load(path).epoch
            if not 0 < epoch < 300:
                continue
            for worker, keys in client.processing().items():
                if any(str(k).endswith(f"-{index}") for k in keys):
                    return label, epoch, worker
        time.sleep(0.02)
    raise AssertionError("no run wrote a checkpoint in time")


def test_grid_search_through_joblibs_dask_backend(cluster):
    from joblib import parallel_config
    from sklearn.datasets import load_iris
    from sklearn.model_selection import GridSearchCV

    from deepbasics.sklearn import DeepClassifier
    _, client = cluster
    X, y = load_iris(return_X_y=True)
    grid = {"hidden": [(4,), (8,)], "learning_rate": [0.003, 0.03]}
    est = DeepClassifier(epochs=20, random_state=0)
    here = GridSearchCV(est, grid, cv=3).fit(X, y)
    with client.as_current(), distributed.get_task_stream(client) as tasks, parallel_config(backend="dask"):
        there = GridSearchCV(est, grid, cv=3, n_jobs=-1).fit(X, y)
    workers = {t["worker"] for t in tasks.data}      # joblib may batch several fits into one task
    assert tasks.data and workers <= set(client.scheduler_info()["workers"])
    np.testing.assert_array_equal(there.cv_results_["mean_test_score"], here.cv_results_["mean_test_score"])
    assert there.best_params_ == here.best_params_


# -- errors -----------------------------------------------------------------------------------------
def _one_line_error(capsys, argv, must_not_exist):
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1 and err.startswith("deepbasics: error: ") and "Traceback" not in err
    assert not Path(must_not_exist).exists()         # nothing written
    return err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_deep_on_the_cluster_has_the_numbers_of_the_local_run(cluster, tmp_path, capsys):
    """deepbasics deep --cluster: each network a Dask task; every number but the seconds equals the
    run in this process."""
    lc, _ = cluster
    args = ["deep", "--depths", "2", "--width", "8", "--epochs", "3", "--recipes", "He+ReLU", "He+ReLU+BatchNorm",
            "--engine", "numpy", "--grid", "gd=0.1", "--grid", "adam=0.01", "--target", "0.5", "--no-plots", "--quiet"]
    assert main(args + ["--jobs", "1", "--out", str(tmp_path / "local")]) == 0
    assert main(args + ["--cluster", lc.scheduler_address, "--out", str(tmp_path / "dask")]) == 0
    capsys.readouterr()

    def numbers(path):
        def strip(d):
            if isinstance(d, dict):
                return {k: strip(v) for k, v in d.items() if "seconds" not in k}
            return [strip(v) for v in d] if isinstance(d, list) else d
        return strip(json.loads(Path(path).read_text()))
    local, dask = numbers(tmp_path / "local" / "results.json"), numbers(tmp_path / "dask" / "results.json")
    assert len(local["grid_runs"]) == 8 and len(local["best"]) == 4
    assert local == dask


def test_unreachable_scheduler_and_unwritable_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(connection, "CONNECT_TIMEOUT_S", 1)
    out = tmp_path / "r"
    err = _one_line_error(capsys, ["compare", "spirals_init", "--epochs", "2", "--out", str(out), "--cluster",
                                   f"tcp://127.0.0.1:{_free_port()}"], out)
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:" in err
    (tmp_path / "file").write_text("x")
    err = _one_line_error(capsys, ["compare", "spirals_init", "--out", str(out), "--cluster", "local:1",
                                   "--checkpoint-dir", str(tmp_path / "file" / "ckpt")], out)
    assert "--checkpoint-dir" in err and "is not a folder" in err
    err = _one_line_error(capsys, ["compare", "spirals_init", "--out", str(out), "--cluster", "local:0"], out)
    assert "local:N needs a whole number N >= 1" in err


def test_a_scheduler_without_workers(tmp_path, capsys):
    with distributed.LocalCluster(n_workers=0, processes=True, dashboard_address=":0", silence_logs=40) as lc:
        out = tmp_path / "r"
        err = _one_line_error(capsys, ["compare", "iris", "--out", str(out), "--cluster", lc.scheduler_address], out)
        assert f"the Dask scheduler at {lc.scheduler_address} has no workers" in err


@pytest.mark.parametrize("shadow,message", [
    ("__version__ = '0.0.1'\n", "has deepbasics 0.0.1, this is "),
    ("raise ModuleNotFoundError(\"No module named 'deepbasics'\")\n", "cannot run deepbasics (ModuleNotFoundError"),
])
def test_workers_without_deepbasics_or_at_another_version(tmp_path, capsys, shadow, message):
    """A real worker process whose Python finds another deepbasics (or none) first."""
    (tmp_path / "shadow" / "deepbasics").mkdir(parents=True)
    (tmp_path / "shadow" / "deepbasics" / "__init__.py").write_text(shadow)
    with distributed.LocalCluster(n_workers=0, processes=True, dashboard_address=":0", silence_logs=40) as lc:
        env = {**os.environ, "PYTHONPATH": str(tmp_path / "shadow")}
        worker = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", lc.scheduler_address,
                                   "--nthreads", "1", "--no-dashboard"], env=env, cwd=tmp_path,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            with distributed.Client(lc) as client:
                client.wait_for_workers(1, timeout=60)
            out = tmp_path / "r"
            err = _one_line_error(capsys, ["compare", "spirals_init", "--out", str(out), "--cluster",
                                           lc.scheduler_address], out)
            assert message in err and "every worker" in err
        finally:
            worker.terminate()
            worker.wait(timeout=30)


def test_without_dask_cluster_says_what_to_install(tmp_path):
    code = ("import sys; sys.modules['distributed'] = None\n"
            "from deepbasics.cli import main\n"
            f"sys.exit(main(['compare', 'spirals_init', '--cluster', 'local:2', '--out', {str(tmp_path / 'r')!r}]))\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and not (tmp_path / "r").exists()
    assert run.stderr.strip().splitlines() == [
        "deepbasics: error: --cluster needs Dask's distributed scheduler: pip install 'deepbasics[dask]'"]


@pytest.mark.slow
def test_the_sweep_benchmark_prints_its_table(capsys):
    from deepbasics.cluster import bench
    bench.run("iris", 20, 2)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "iris --epochs 20: 2 runs" and len(out) == 5
    assert all(line.endswith("True") for line in out[2:])       # every contender: the serial numbers
