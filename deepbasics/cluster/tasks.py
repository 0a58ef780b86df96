"""What runs on a Dask worker for a sweep: one run, from plain data to a ``RunResult``.

It takes and returns plain data (strings, a config dict, ``RunResult``), never a model, so a
worker needs nothing but deepbasics installed at the caller's version (``probe`` checks that).
"""
from __future__ import annotations

from pathlib import Path

RESUME_TOPIC = "deepbasics-resume"      # the event a task logs when it resumes from a checkpoint


def train_run(label: str, raw: dict, base_dir: str, checkpoint: str, checkpoint_every: int, engine=None):
    """Train the run ``label`` of config ``raw`` (``Config.to_dict()``) and return its
    ``RunResult``; continue from ``checkpoint`` when a previous attempt left one. ``engine``: what
    "auto" chose for the sweep's runs together (plain data), or None."""
    from ..runs import config, experiment
    from ..learn import checkpoint as ckpt_io
    cfg = config.from_dict(raw, source=raw.get("name", label), base_dir=base_dir)
    resume = checkpoint if Path(checkpoint).is_file() else None
    if resume:
        _log_resume(label, ckpt_io.load(resume).epoch)
    return experiment.run(label, cfg, experiment.prepare(cfg), checkpoint=checkpoint,
                          checkpoint_every=checkpoint_every, resume=resume, engine=engine)


def _log_resume(label: str, epoch: int) -> None:
    """Tell the scheduler (``client.get_events(RESUME_TOPIC)``) that ``label`` resumed at ``epoch``."""
    try:
        from distributed import get_worker
        get_worker().log_event(RESUME_TOPIC, {"label": label, "epoch": epoch})
    except (ImportError, ValueError):
        pass                         # not on a worker (called directly): nothing to tell
