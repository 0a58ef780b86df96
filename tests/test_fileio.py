"""Atomic writes: whole files only, with the mode the umask gives (as any other tool's files)."""
import json
import os
import stat
import subprocess
import sys

import pytest

from deepbasics import fileio

# A report, a checkpoint and the JSON of a run, written under a given umask in a fresh process
# (the umask is per process: setting it here would change it for the rest of the test session).
WRITE_UNDER_UMASK = """
import json, os, sys
os.umask(int(sys.argv[1], 8))
from deepbasics import fileio
import deepbasics as db
from deepbasics.learn import checkpoint
fileio.atomic_write_text("report.html", "<html></html>")
fileio.atomic_write_bytes("plots/cost.png", b"png")
model = db.Sequential([db.Dense(2), db.Sigmoid()], input_dim=2, seed=0)
model.build(2)
model.save("net.npz")
print(json.dumps({"umask": oct(fileio.current_umask())}))
"""


@pytest.mark.skipif(os.name != "posix", reason="file modes and umasks are POSIX")
@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_get_the_mode_the_umask_gives(tmp_path, umask, mode):
    done = subprocess.run([sys.executable, "-c", WRITE_UNDER_UMASK, oct(umask)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1])["umask"] == oct(umask)
    for name in ("report.html", "plots/cost.png", "net.npz"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode, name
    assert not [p for p in tmp_path.rglob(".*.tmp")], "no temporary file is left behind"


def test_current_umask_reads_without_changing_it():
    before = os.umask(0o027)
    try:
        assert fileio.current_umask() == 0o027
        assert fileio.current_umask() == 0o027            # reading it left it as it was
    finally:
        os.umask(before)


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "summary.md"
    fileio.atomic_write_text(target, "old")

    def broken_replace(*_):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        fileio.atomic_write_text(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.md"]
