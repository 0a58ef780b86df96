"""MNIST-1D: generated offline by the optional mnist1d package, the global random state left alone,
registered as data.name = "mnist1d" in configs and datasets.load; a one-line error without the package."""
import random
import socket
import subprocess
import sys

import numpy as np
import pytest

from deepbasics.data import datasets
from deepbasics.errors import ConfigError, DeepBasicsError
from deepbasics.runs import config


def test_load_generates_the_data_offline_and_leaves_global_random_state_alone(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("mnist1d tried to open a network connection")
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    datasets._mnist1d_arrays.cache_clear()            # generate here, under the patched socket
    np.random.seed(123)
    random.seed(123)
    numpy_before, python_before = np.random.get_state()[1].copy(), random.getstate()
    data = datasets.load("mnist1d")
    assert np.array_equal(np.random.get_state()[1], numpy_before) and random.getstate() == python_before
    assert data.X.shape == (5000, 40) and data.X.dtype == np.float64 and data.y.dtype == np.int64
    assert data.task == "multiclass" and data.classes == tuple(str(c) for c in range(10))
    assert np.bincount(data.y).min() > 350                            # 10 balanced classes
    # the package's own generator and split, rows in its order: train part first, then test part
    from mnist1d.data import get_dataset_args, make_dataset
    state = np.random.get_state()
    expected = make_dataset(get_dataset_args())
    np.random.set_state(state)
    assert np.array_equal(data.X[:datasets.MNIST1D_TRAIN], expected["x"])
    assert np.array_equal(data.y[datasets.MNIST1D_TRAIN:], expected["y_test"])
    again = datasets.load("mnist1d")
    again.X[0, 0] = 99.0                                               # a copy: the cache is not changed
    assert datasets.load("mnist1d").X[0, 0] == data.X[0, 0]


def test_a_config_names_it_and_refuses_options_it_does_not_take():
    cfg = config.from_dict({"data": {"name": "mnist1d"}, "model": {"hidden": [8]}})
    assert cfg.data.name == "mnist1d" and cfg.data.options() == {}
    with pytest.raises(ConfigError, match="data.n_samples does not apply to data set 'mnist1d'"):
        config.from_dict({"data": {"name": "mnist1d", "n_samples": 100}})
    with pytest.raises(DeepBasicsError, match="does not take option 'seed'"):
        datasets.load("mnist1d", seed=1)


def test_without_the_package_a_one_line_error_says_what_to_install(tmp_path):
    toml = tmp_path / "m.toml"
    toml.write_text('[data]\nname = "mnist1d"\n[train]\nepochs = 1\n')
    code = ("import sys; sys.modules['mnist1d'] = None; sys.modules['mnist1d.data'] = None\n"
            "import importlib.util; importlib.util.find_spec = lambda name, *a: None\n"
            "from deepbasics.data import datasets\n"
            "try:\n    datasets.load('mnist1d')\nexcept Exception as e:\n    print(type(e).__name__, e)\n"
            "from deepbasics.cli import main\n"
            f"sys.exit(main(['train', {str(toml)!r}, '--out', {str(tmp_path / 'r')!r}]))\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.stdout.strip() == ("DeepBasicsError data set 'mnist1d' needs the mnist1d package: "
                                  "pip install 'deepbasics[mnist1d]'")
    assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1
    assert "data.name = 'mnist1d' needs the mnist1d package: pip install 'deepbasics[mnist1d]'" in run.stderr
