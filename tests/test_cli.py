"""The command line as a user meets it: help, train/compare/demo, JSON, Ctrl-C and resume, and a
battery of bad inputs that must each give one line on stderr and exit code 2, never a traceback."""
import json
import signal
import subprocess
import sys

import numpy as np
import pytest

from deepbasics.learn import checkpoint
from deepbasics.cli import main


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("command", ["demo", "train", "compare"])
def test_help_has_examples(capsys, command):
    with pytest.raises(SystemExit) as stop:
        main([command, "--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and f"deepbasics {command}" in out and "--quiet" in out and "--json" in out


def test_train_a_shipped_config_writes_report_and_checkpoint(capsys, tmp_path):
    code, out, err = run_cli(capsys, "train", "moons_adam", "--epochs", "30", "--out", str(tmp_path), "--quiet")
    assert code == 0 and err == ""
    assert "adam" in out and "test acc" in out
    for name in ("report.html", "summary.md", "results.json", "config.toml", "checkpoint.npz",
                 "plots/cost.png", "plots/decision_boundary.png"):
        assert (tmp_path / name).is_file(), name
    assert checkpoint.load(tmp_path / "checkpoint.npz").epoch == 30


def test_train_a_user_csv(capsys, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    label = np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")
    lines = ["height,weight,age,sick"] + [f"{a:.4f},{b:.4f},{c:.4f},{s}" for (a, b, c), s in zip(X, label)]
    (tmp_path / "patients.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "exp.toml").write_text('name = "patients"\n[data]\nname = "csv"\npath = "patients.csv"\n'
                                       'target = "sick"\n[model]\nhidden = [8]\n[train]\nepochs = 40\n'
                                       '[optimizer]\nname = "adam"\nlr = 0.02\n')
    code, out, err = run_cli(capsys, "train", str(tmp_path / "exp.toml"), "--out", str(tmp_path / "r"),
                             "--json", "-", "--quiet")
    assert code == 0, err
    data = json.loads(out[out.index("{"):])
    run = data["runs"][0]
    assert run["classes"] == ["no", "yes"] and run["split"]["train"] == 84
    assert run["metrics"]["test"]["accuracy"] > 0.8
    # The config saved beside the report runs again from anywhere: the data path was made absolute.
    code, _, err = run_cli(capsys, "train", str(tmp_path / "r" / "config.toml"), "--epochs", "2",
                           "--out", str(tmp_path / "again"), "--quiet")
    assert code == 0, err


def test_compare_in_parallel_and_json_file(capsys, tmp_path):
    out_json = tmp_path / "r.json"
    code, out, err = run_cli(capsys, "compare", "iris", "--epochs", "15", "--jobs", "2", "--out",
                             str(tmp_path / "rep"), "--json", str(out_json), "--quiet")
    assert code == 0, err
    data = json.loads(out_json.read_text())
    assert [r["label"] for r in data["runs"]] == ["momentum", "adam"]
    assert all(r["epochs_done"] == 15 for r in data["runs"])
    assert (tmp_path / "rep" / "plots" / "confusion.png").is_file()


def test_demo_runs_the_documents_comparison(capsys, tmp_path):
    code, out, err = run_cli(capsys, "demo", "--epochs", "20", "--jobs", "1", "--out", str(tmp_path), "--quiet")
    assert code == 0, err
    assert [line.split()[0] for line in out.splitlines()[:3]] == ["gd", "momentum", "adam"]
    page = (tmp_path / "report.html").read_text()
    assert "moons-optimizers" in page and "data:image/png;base64," in page


def test_train_refuses_a_grid(capsys):
    code, _, err = run_cli(capsys, "train", "moons_optimizers", "--quiet")
    assert code == 2 and "deepbasics compare" in err


def test_list_and_defaults(capsys):
    code, out, _ = run_cli(capsys, "train", "--list")
    assert code == 0 and "moons_optimizers" in out and "chapter" in out
    code, out, _ = run_cli(capsys, "train", "--defaults")
    assert code == 0 and "[optimizer]" in out


# -- bad input: one line, exit 2, nothing half-written ----------------------------------------------
def write_config(tmp_path, text: str, name: str = "c.toml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


BAD_CONFIGS = {
    "unknown data set": ('[data]\nname = "moon"\n', "data.name is 'moon'; choose one of"),
    "unknown optimizer": ('[optimizer]\nname = "adamw2"\n', "optimizer.name is 'adamw2'"),
    "unknown activation": ('[model]\nactivation = "relu6"\n', "model.activation is 'relu6'"),
    "unknown initialiser": ('[model]\ninit = "orthogonal"\n', "model.init is 'orthogonal'"),
    "unknown loss": ('[train]\nloss = "hinge"\n', "train.loss is 'hinge'"),
    "negative learning rate": ('[optimizer]\nlr = -1.0\n', "learning rate must be a finite number >= 0, got -1.0"),
    "beta out of range": ('[optimizer]\nname = "momentum"\nbeta = 1.0\n', "beta must satisfy 0 <= beta < 1"),
    "zero epochs": ('[train]\nepochs = 0\n', "train.epochs must be >= 1, got 0"),
    "zero batch": ('[train]\nbatch_size = 0\n', "train.batch_size must be >= 1, got 0"),
    "bad fractions": ('[split]\nfractions = [0.9, 0.2, 0.1]\n', "split.fractions must be three numbers"),
    "typo in a key": ('[train]\nepoch = 5\n', "train.epoch is not a setting of [train]"),
    "not TOML": ('[train\nepochs = 5\n', "is not valid TOML"),
    "labels the loss can't take": ('[data]\nname = "iris"\n[train]\nloss = "binary_crossentropy"\n',
                                   "takes labels 0 and 1, but iris has 3 classes"),
    "sigmoid output for three classes": ('[data]\nname = "wine"\n[model]\noutput = "sigmoid"\n',
                                         "model.output = 'sigmoid' gives one output"),
    "missing csv file": ('[data]\nname = "csv"\npath = "nope.csv"\ntarget = "y"\n', "does not exist"),
    "too few examples": ('[data]\nname = "moons"\nn_samples = 3\n', "too few"),
}


def assert_clean_failure(code, out, err, message, tmp_path):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("deepbasics: error: ") and message in lines[0]
    assert "Traceback" not in err + out
    assert not (tmp_path / "out").exists()                      # no report, not even half of one


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_bad_configs(capsys, tmp_path, case):
    text, message = BAD_CONFIGS[case]
    code, out, err = run_cli(capsys, "train", write_config(tmp_path, text), "--out", str(tmp_path / "out"),
                             "--quiet")
    assert_clean_failure(code, out, err, message, tmp_path)


BAD_CSV = {
    "non-numeric column": ("a,b,y\n1,x,0\n2,3,1\n", "y", "column 'b' is not numeric (data row 1: 'x')"),
    "missing value": ("a,b,y\n1,,0\n2,3,1\n", "y", "column 'b' has a missing value (data row 1)"),
    "NaN": ("a,b,y\n1,nan,0\n2,3,1\n", "y", "column 'b' has a missing value"),
    "infinity": ("a,b,y\n1,inf,0\n2,3,1\n", "y", "column 'b' has an infinite value"),
    "missing target column": ("a,b,y\n1,2,0\n2,3,1\n", "label", "target column 'label' not found"),
    "empty file": ("", "y", "is empty"),
    "header only": ("a,b,y\n", "y", "has a header but no data rows"),
    "ragged row": ("a,b,y\n1,2,0\n2,3\n", "y", "data row 2 has 2 fields but the header has 3"),
}


@pytest.mark.parametrize("case", sorted(BAD_CSV))
def test_bad_csv(capsys, tmp_path, case):
    text, target, message = BAD_CSV[case]
    (tmp_path / "d.csv").write_text(text)
    cfg = write_config(tmp_path, f'[data]\nname = "csv"\npath = "d.csv"\ntarget = "{target}"\n')
    code, out, err = run_cli(capsys, "train", cfg, "--out", str(tmp_path / "out"), "--quiet")
    assert_clean_failure(code, out, err, message, tmp_path)


BAD_NPZ = {
    "NaN in X": (np.array([[1.0, np.nan], [2.0, 3.0]]), np.array([0, 1]), "NaN or infinite"),
    "inf in X": (np.array([[1.0, np.inf], [2.0, 3.0]]), np.array([0, 1]), "NaN or infinite"),
    "X not 2-D": (np.arange(6.0), np.arange(6) % 2, "must be 2-D"),
    "lengths differ": (np.ones((6, 2)), np.arange(5) % 2, "has 6 rows but 'y' has 5 values"),
    "empty": (np.ones((0, 2)), np.zeros(0), "empty"),
    "pickled objects": (np.array([[1, 2], [3, 4]], dtype=object), np.array([0, 1]), "Python objects"),
}


@pytest.mark.parametrize("case", sorted(BAD_NPZ))
def test_bad_npz(capsys, tmp_path, case):
    X, y, message = BAD_NPZ[case]
    np.savez(tmp_path / "d.npz", X=X, y=y)
    cfg = write_config(tmp_path, '[data]\nname = "npz"\npath = "d.npz"\n')
    code, out, err = run_cli(capsys, "train", cfg, "--out", str(tmp_path / "out"), "--quiet")
    assert_clean_failure(code, out, err, message, tmp_path)


@pytest.mark.parametrize("argv,message", [
    (["train", "no_such_config"], "neither a file nor a shipped config"),
    (["train", "moons_adam", "--set", "optimizer.lr=fast"], "optimizer.lr must be a number, got 'fast'"),
    (["train", "moons_adam", "--set", "model.hidden=[5, -2]"], "model.hidden must be >= 1, got -2"),
    (["train", "moons_adam", "--set", "nonsense"], "--set takes key=value"),
    (["train"], "give a CONFIG"),
    (["compare", "moons_optimizers", "--set", "grid.optimizer=[]"], "grid.optimizer must be a non-empty list"),
])
def test_bad_command_lines(capsys, tmp_path, argv, message):
    code, out, err = run_cli(capsys, *argv, "--out", str(tmp_path / "out"), "--quiet")
    assert_clean_failure(code, out, err, message, tmp_path)


def test_bad_checkpoints(capsys, tmp_path):
    (tmp_path / "trunc.npz").write_bytes(b"PK\x03\x04 truncated")
    code, out, err = run_cli(capsys, "train", "--resume", str(tmp_path / "trunc.npz"), "--out",
                             str(tmp_path / "out"), "--quiet")
    assert_clean_failure(code, out, err, "not a readable checkpoint", tmp_path)
    code, out, err = run_cli(capsys, "train", "--resume", str(tmp_path / "none.npz"), "--out",
                             str(tmp_path / "out"), "--quiet")
    assert_clean_failure(code, out, err, "does not exist", tmp_path)


def test_argparse_errors_exit_2_without_traceback(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["train", "moons_adam", "--epochs", "0"])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "Traceback" not in err
    assert err.strip().splitlines() == ["deepbasics: error: argument --epochs: expected a whole number >= 1, "
                                        "got '0' (see 'deepbasics train --help')"]


def test_divergence_names_the_epoch_and_keeps_the_last_good_weights(capsys, tmp_path):
    code, out, err = run_cli(capsys, "train", "moons_adam", "--set", "optimizer={name='gd', lr=1e6}",
                             "--set", "train.loss='mse'", "--set", "model.output='linear'", "--epochs", "100",
                             "--out", str(tmp_path), "--quiet")
    assert code == 2 and "Traceback" not in err
    line, = err.strip().splitlines()
    assert "training diverged at epoch" in line and "try a smaller learning rate" in line
    saved = checkpoint.load(tmp_path / "checkpoint.npz")
    assert saved.meta["status"] == "diverged"
    assert all(np.all(np.isfinite(a)) for p in saved.params for a in p)
    assert saved.epoch == len(saved.meta["history"]["epoch"]) < 100


# -- Ctrl-C ---------------------------------------------------------------------------------------
# A process started in the background of a non-interactive shell (as CI may start the suite)
# inherits SIGINT ignored, and Python then never raises KeyboardInterrupt. The child restores
# Python's own handler first, so it behaves as under a terminal's Ctrl-C (done in the child's
# code rather than with preexec_fn, which would fork a process that has JAX's threads).
_WITH_CTRL_C = ("import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
                "runpy.run_module('deepbasics', run_name='__main__', alter_sys=True)")


def deepbasics(*argv, **kw):
    return subprocess.Popen([sys.executable, "-c", _WITH_CTRL_C, *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def test_ctrl_c_saves_a_checkpoint_and_resume_is_bit_identical(tmp_path):
    epochs, numpy = "3000", ("--set", "train.engine='numpy'")     # one engine: "auto" may pick another
    full = deepbasics("train", "moons_adam", "--epochs", epochs, *numpy, "--out", str(tmp_path / "full"), "--quiet")
    assert full.wait(timeout=120) == 0, full.stderr.read()                          # for the shorter rest
    part = deepbasics("train", "moons_adam", "--epochs", epochs, *numpy, "--out", str(tmp_path / "part"))
    line = part.stderr.readline()                       # the first progress line: training is under way
    assert "epoch" in line, line
    part.send_signal(signal.SIGINT)
    _, err = part.communicate(timeout=60)
    assert part.returncode == 130, err
    assert "Traceback" not in err and "checkpoint saved to" in err and "--resume" in err
    ckpt = tmp_path / "part" / "checkpoint.npz"
    stopped = checkpoint.load(ckpt)
    assert stopped.meta["status"] == "interrupted" and 0 < stopped.epoch < int(epochs)
    resumed = deepbasics("train", "--resume", str(ckpt), "--quiet")
    assert resumed.wait(timeout=120) == 0, resumed.stderr.read()
    a, b = checkpoint.load(tmp_path / "full" / "checkpoint.npz"), checkpoint.load(ckpt)
    assert a.epoch == b.epoch == int(epochs)
    assert all(np.array_equal(x, y) for p, q in zip(a.params, b.params) for x, y in zip(p, q))
    assert all(np.array_equal(a.opt_arrays[k], b.opt_arrays[k]) for k in a.opt_arrays)
    assert a.meta["history"]["history"]["cost"] == b.meta["history"]["history"]["cost"]


@pytest.mark.slow          # three command lines with two worker processes each: ~20 s on two cores
def test_ctrl_c_during_a_parallel_comparison_and_resume(tmp_path):
    argv = ["compare", "iris", "--epochs", "2000", "--jobs", "2", "--set", "train.engine='numpy'"]
    full = deepbasics(*argv, "--out", str(tmp_path / "full"), "--quiet")
    assert full.wait(timeout=120) == 0, full.stderr.read()
    part = deepbasics(*argv, "--out", str(tmp_path / "part"))
    line = part.stderr.readline()                       # the first progress line: the runs are under way
    assert "epochs" in line, line
    part.send_signal(signal.SIGINT)
    _, err = part.communicate(timeout=120)
    assert part.returncode == 130, err
    assert "Traceback" not in err and "saved their state" in err and "--resume" in err
    assert not (tmp_path / "part" / "report.html").exists()
    resumed = deepbasics(*argv, "--out", str(tmp_path / "part"), "--resume", "--quiet")
    assert resumed.wait(timeout=120) == 0, resumed.stderr.read()
    for label in ("momentum", "adam"):
        a = checkpoint.load(tmp_path / "full" / "checkpoints" / f"{label}.npz")
        b = checkpoint.load(tmp_path / "part" / "checkpoints" / f"{label}.npz")
        assert a.epoch == b.epoch == 2000
        assert all(np.array_equal(x, y) for p, q in zip(a.params, b.params) for x, y in zip(p, q))
        assert a.meta["history"]["history"]["cost"] == b.meta["history"]["history"]["cost"]


def test_the_compare_header_says_what_the_grid_varies(capsys, tmp_path):
    """The header describes every run, not the first: values the grid varies are listed."""
    cfg = write_config(tmp_path, '[data]\nname = "moons"\nn_samples = 100\n[model]\nhidden = [4]\n'
                                 '[train]\nepochs = 1\n[grid]\n"model.activation" = ["relu", "tanh"]\n'
                                 '"model.init" = ["he_normal", "glorot_normal"]\n"model.hidden" = [[4], [4, 3]]\n')
    code, out, _ = run_cli(capsys, "compare", cfg, "--no-report", "--jobs", "1")
    assert code == 0
    header = next(line for line in out.splitlines() if line.startswith("data: "))
    assert header == ("data: moons (100 examples, 2 features, binary, 2 classes): network 2-4-1 or 2-4-3-1, "
                      "relu or tanh + sigmoid, he_normal or glorot_normal init")
    code, out, _ = run_cli(capsys, "compare", "moons_optimizers", "--epochs", "1", "--no-report", "--jobs", "1")
    assert ("data: moons (900 examples, 2 features, binary, 2 classes): network 2-5-2-1, relu + sigmoid, "
            "he_normal init") in out


def test_no_help_text_points_into_a_repository(capsys):
    """--help speaks of what every user has: no relative paths into a source tree."""
    from deepbasics.cli import COMMANDS
    for command in [None, *COMMANDS]:
        with pytest.raises(SystemExit):
            main(([command] if command else []) + ["--help"])
        out = capsys.readouterr().out
        assert "../" not in out and "reference/" not in out, command


def test_the_shipped_initialisation_comparison_shows_initialisation_matter(capsys, tmp_path):
    """spirals_init exists to show that the starting weights matter: its runs must end apart (He ahead
    of Glorot with either activation), not all at accuracy 1."""
    code, _, _ = run_cli(capsys, "compare", "spirals_init", "--quiet", "--no-report", "--out", str(tmp_path),
                         "--json", str(tmp_path / "r.json"))
    assert code == 0
    runs = {r["label"]: r for r in json.loads((tmp_path / "r.json").read_text())["runs"]}
    assert sorted(runs) == ["glorot_normal · relu", "glorot_normal · tanh", "he_normal · relu", "he_normal · tanh"]
    accuracy = {label: r["metrics"]["val"]["accuracy"] for label, r in runs.items()}
    for activation in ("tanh", "relu"):
        assert accuracy[f"he_normal · {activation}"] - accuracy[f"glorot_normal · {activation}"] >= 0.05, accuracy
    assert max(accuracy.values()) - min(accuracy.values()) >= 0.08
    cost = {label: r["history"]["history"]["cost"][-1] for label, r in runs.items()}
    assert max(cost["he_normal · tanh"], cost["he_normal · relu"]) < 0.5 * min(cost["glorot_normal · tanh"],
                                                                              cost["glorot_normal · relu"])
