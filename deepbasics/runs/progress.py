"""Progress of a training run: a tqdm bar on a terminal, plain lines otherwise, or nothing.

    progress = Progress(total=10000, initial=0, desc="adam")
    ... on every epoch: progress.update(epoch, {"cost": ..., "val_accuracy": ...})
    progress.close()

The bar shows epoch, cost, the validation metric and the time left (ETA). It is tqdm's
notebook-aware bar (``tqdm.auto``): in Jupyter it is drawn as a widget (as text when ipywidgets
is missing), on a terminal as text. Off a terminal and outside Jupyter (a log file, CI) it prints
one line every tenth of the run instead, so logs stay readable. Everything goes to stderr,
leaving stdout for results (``--json -``).
"""
from __future__ import annotations

import math
import sys
import time

LINES_PER_RUN = 10


def _fmt_seconds(s: float) -> str:
    s = int(round(s))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where stderr is no terminal, yet a bar is what a reader wants)."""
    shell = sys.modules.get("IPython")
    get = getattr(shell, "get_ipython", None)
    return "ipykernel" in sys.modules and get is not None and type(get()).__name__ == "ZMQInteractiveShell"


def summary(values: dict) -> str:
    """'cost 0.081234  val_acc 0.9630' from an epoch's values (validation when it was measured)."""
    parts = [f"cost {values['cost']:.6f}"]
    for key, short in (("val_accuracy", "val_acc"), ("val_loss", "val_loss")):
        v = values.get(key)
        if v is not None and not (isinstance(v, float) and math.isnan(v)):
            parts.append(f"{short} {v:.4f}")
            break
    return "  ".join(parts)


class Progress:
    """mode: "auto" (bar on a terminal, else lines), "bar", "lines" or "off"."""

    def __init__(self, total: int, initial: int = 0, desc: str = "", mode: str = "auto", stream=None):
        self.stream = stream or sys.stderr
        self.total, self.initial, self.desc = total, initial, desc
        if mode == "auto":
            mode = "bar" if getattr(self.stream, "isatty", lambda: False)() or in_notebook() else "lines"
        self.mode = mode
        self.every = max(1, (total - initial) // LINES_PER_RUN)
        self.start = time.perf_counter()
        self.last_val = {}
        self._tenths = 0                 # advance_to: tenths of the total already printed
        self.bar = None
        if mode == "bar":
            from tqdm.auto import tqdm
            self.bar = tqdm(total=total, initial=initial, desc=desc, unit="epoch", file=self.stream,
                            dynamic_ncols=True, mininterval=0.2, leave=True,
                            bar_format="{desc} {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} epochs "
                                       "[{elapsed}<{remaining}{postfix}]")

    def update(self, epoch: int, values: dict) -> None:
        """Epoch ``epoch`` (from 0) has finished with these values (cost, lr, val_*)."""
        # Validation runs every validation_freq epochs; show the latest measured value between.
        self.last_val.update({k: v for k, v in values.items() if k.startswith("val_") and not math.isnan(v)})
        shown = {**values, **self.last_val}
        if self.bar is not None:
            self.bar.set_postfix_str(summary(shown), refresh=False)
            self.bar.update(1)
        elif self.mode == "lines":
            done = epoch + 1
            if (done - self.initial) % self.every == 0 or done == self.total:
                elapsed = time.perf_counter() - self.start
                rate = (done - self.initial) / elapsed if elapsed > 0 else 0
                eta = (self.total - done) / rate if rate > 0 else 0
                label = f"{self.desc}  " if self.desc else ""
                print(f"{label}epoch {done}/{self.total}  {summary(shown)}  lr {values['lr']:.6g}  "
                      f"elapsed {_fmt_seconds(elapsed)}  eta {_fmt_seconds(eta)}", file=self.stream, flush=True)

    def advance_to(self, done: int) -> None:
        """Several runs' overall progress: ``done`` epochs of ``total`` are finished (a line per
        tenth when there is no bar)."""
        if self.bar is not None:
            self.bar.update(done - self.bar.n)
        elif self.mode == "lines" and done // max(1, self.total // 10) > self._tenths:
            self._tenths = done // max(1, self.total // 10)
            elapsed = time.perf_counter() - self.start
            eta = elapsed * (self.total - done) / done if done else 0
            print(f"{self.desc}: {done}/{self.total} epochs  elapsed {elapsed:.0f}s  eta {eta:.0f}s",
                  file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
