"""The check a worker runs before a sweep: its deepbasics version, and whether it can write
the checkpoint folder.

This module is sent to the workers by value (``cloudpickle.register_pickle_by_value``), not by
name, so it runs on a worker where deepbasics is missing or different — that is what it is
there to find out. It imports nothing from deepbasics at module level.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def folder_problem(folder) -> str | None:
    """Why checkpoints could not be written under ``folder`` (None: they can). Nothing is left
    behind: the folder is not created (the first checkpoint does that), a probe file is removed."""
    path = Path(folder).absolute()
    existing = next(p for p in [path, *path.parents] if p.exists())
    if not existing.is_dir():
        return f"{existing} is not a folder"
    try:
        fd, name = tempfile.mkstemp(dir=existing, prefix=".deepbasics-probe-")
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        return f"cannot write in {existing}: {exc.strerror or exc}"
    return None


def probe(folder: str | None) -> dict:
    """{"version": deepbasics.__version__, "folder": None or why ``folder`` is not writable (None:
    no folder to check)}."""
    import deepbasics          # whatever deepbasics the worker has, of any version: only its face is sure
    return {"version": deepbasics.__version__, "folder": None if folder is None else folder_problem(folder)}
