"""`deepbasics reproduce` as a user runs it: exit codes, the summary line, the JSON file."""
import json
import subprocess
import sys

from deepbasics.cli import main


def test_reproduce_one_run_writes_json(tmp_path, capsys):
    out = tmp_path / "sub" / "r.json"
    assert main(["reproduce", "--runs", "gd_update_lr", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Cost after epoch 1000: 0.298565" in text
    assert "learning rate after epoch 1000: 0.000500" in text
    assert "Accuracy: 0.8733333333333333" in text
    assert text.strip().splitlines()[-1].startswith("reproduced 32/32 figures of the document: all match")
    data = json.loads(out.read_text())
    run = data["runs"]["gd_update_lr"]
    assert set(run) == {"costs", "lr", "accuracy", "seconds", "engine"} and run["engine"] == "jax"
    assert sorted(run["costs"], key=int) == ["0", "1000", "2000", "3000", "4000"]
    assert round(run["costs"]["4000"], 6) == 0.288443 and round(run["lr"]["3000"], 6) == 0.000167
    assert data["unit_cases"]["minibatch_shapes_12288x148_bs64"] == [[12288, 64], [12288, 64], [12288, 20]]
    assert data["figures"] == {"matched": 32, "total": 32, "mismatches": []}
    assert not list(out.parent.glob(".*tmp"))


def test_bad_arguments_exit_2_with_one_line(capsys):
    assert main(["reproduce", "--runs", "sgd"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown run 'sgd'" in err and "Traceback" not in err


def test_module_entry_point_and_usage_errors():
    done = subprocess.run([sys.executable, "-m", "deepbasics", "reproduce", "--engine", "cuda"],
                          capture_output=True, text=True)
    assert done.returncode == 2 and "unknown engine 'cuda'" in done.stderr and "Traceback" not in done.stderr
    done = subprocess.run([sys.executable, "-m", "deepbasics", "nonsense"], capture_output=True, text=True)
    assert done.returncode == 2 and "Traceback" not in done.stderr


def test_parallel_trainings_print_in_the_sequential_order(capsys):
    runs = ["gd_update_lr", "adam_sched"]
    outputs = []
    for jobs in ("1", "2"):
        assert main(["reproduce", "--runs", *runs, "--jobs", jobs]) == 0
        outputs.append(capsys.readouterr().out.strip().splitlines())
    sequential, parallel = outputs
    assert parallel[:-1] == sequential[:-1]                    # every log line and figure, in order
    assert parallel[-1].startswith("reproduced 43/43 figures of the document: all match (engine auto: jax")
    # gd_update_lr's lines come first, though adam_sched (same length) may finish first
    assert sequential.index("Accuracy: 0.8733333333333333") < \
        [i for i, line in enumerate(sequential) if line.startswith("== adam_sched")][0]
