"""Progress: plain lines off a terminal (every tenth of the run), nothing when off."""
import io

from deepbasics.runs.progress import Progress, summary


def feed(progress, epochs, start=0):
    for e in range(start, epochs):
        values = {"cost": 1.0 / (e + 1), "lr": 0.01, "lr_after": 0.01}
        if e % 5 == 4:
            values.update(val_loss=0.5, val_accuracy=0.75)
        progress.update(e, values)
    progress.close()


def test_lines_off_a_terminal():
    stream = io.StringIO()                      # not a tty: auto picks plain lines
    p = Progress(100, desc="adam", stream=stream)
    assert p.mode == "lines"
    feed(p, 100)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 10
    assert lines[0].startswith("adam  epoch 10/100  cost 0.100000  val_acc 0.7500  lr 0.01")
    assert "eta" in lines[0] and lines[-1].startswith("adam  epoch 100/100")


def test_resumed_runs_count_from_where_they_stopped():
    stream = io.StringIO()
    feed(Progress(100, initial=60, stream=stream), 100, start=60)
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("epoch 64/100") and lines[-1].startswith("epoch 100/100")


def test_bar_and_off():
    stream = io.StringIO()
    p = Progress(50, desc="gd", mode="bar", stream=stream)
    feed(p, 50)
    text = stream.getvalue()
    assert "gd" in text and "50/50 epochs" in text and "cost 0.020000" in text and "val_acc 0.7500" in text
    quiet = io.StringIO()
    feed(Progress(50, mode="off", stream=quiet), 50)
    assert quiet.getvalue() == ""


def test_summary_skips_missing_validation():
    assert summary({"cost": 0.5, "val_accuracy": float("nan")}) == "cost 0.500000"
