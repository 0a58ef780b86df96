"""The README's "In scikit-learn" section runs as written: its Python, and its compare --cluster."""
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("## In scikit-learn")
    return text[start:text.index("\n## ", start + 1)]


def _blocks(kind: str) -> list[str]:
    """The section's fenced blocks whose info string is ``kind`` ("" for plain ones)."""
    blocks, current = [], None
    for line in _section().splitlines():
        if line.startswith("```"):
            if current is None:
                current = (line[3:].strip(), [])
            else:
                if current[0] == kind:
                    blocks.append("\n".join(current[1]) + "\n")
                current = None
        elif current is not None:
            current[1].append(line)
    return blocks


def test_the_python_examples_run_as_written(tmp_path):
    pytest.importorskip("distributed")
    code = "\n".join(_blocks("python")) + "\nprint('done', search.best_score_)\n"
    # one program, as pasted into Python: the search, then the same search on a Dask cluster
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "deepclassifier__hidden" in run.stdout and "done 0.9" in run.stdout
    assert (tmp_path / "cancer.npz").is_file()


def test_the_local_cluster_command_runs_as_written(tmp_path):
    pytest.importorskip("distributed")
    lines = [line.split("#")[0].strip() for block in _blocks("") for line in block.splitlines()]
    commands = [line for line in lines if line.startswith("deepbasics compare") and "--cluster local" in line]
    assert commands == ["deepbasics compare spirals_init --cluster local:2 --epochs 100"]
    argv = shlex.split(commands[0])
    run = subprocess.run([sys.executable, "-m", "deepbasics", *argv[1:]], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Dask: 2 worker(s)" in run.stdout and "4 runs in" in run.stdout
    assert (tmp_path / "reports" / "spirals-init" / "report.html").is_file()
