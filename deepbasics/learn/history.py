"""``History``: what a ``fit`` records, epoch by epoch (costs, rates, validation, diagnostics)."""
from __future__ import annotations

import math


class History:
    """Per-epoch records of a ``fit``.

    epoch:    epoch numbers (from 0)
    history:  {"cost": [...], "lr": [...], "lr_after": [...], "val_loss": [...], ...}
              cost      the document's epoch cost: sum of per-example losses over the epoch's
                        mini-batches, each taken before its update, divided by m
              lr        the rate of the epoch's first update
              lr_after  the rate in force after the epoch (the document's
                        'learning rate after epoch N')
              val_*     validation metrics, NaN on epochs without validation
    params:   settings of the run (seeds, batch size, optimizer, ...)
    diagnostics: [{"epoch": e, "layers": [per-layer statistics]}, ...] when recorded
              (epoch -1 is the state before the first update; see ``deepbasics.diagnostics``)
    stopped:  None, or where and why early stopping ended the fit: {"epoch", "reason",
              "monitor", "best_epoch", "best", "restored"} (see ``EarlyStopping``)
    """

    def __init__(self, params: dict | None = None):
        self.epoch: list[int] = []
        self.history: dict[str, list[float]] = {"cost": [], "lr": [], "lr_after": []}
        self.params = dict(params or {})
        self.diagnostics: list[dict] = []
        self.stopped: dict | None = None

    def append(self, epoch: int, values: dict) -> None:
        n = len(self.epoch)
        self.epoch.append(int(epoch))
        for key, value in values.items():
            column = self.history.get(key)
            if column is None:               # a new column: NaN for the epochs before (not built
                column = self.history[key] = [math.nan] * n     # on every call: O(n) each)
            column.append(float(value))
        for column in self.history.values():
            if len(column) < n + 1:
                column.append(math.nan)

    @property
    def cost(self) -> list[float]:
        return self.history["cost"]

    @property
    def lr(self) -> list[float]:
        return self.history["lr"]

    def __getitem__(self, key: str) -> list[float]:
        return self.history[key]

    def to_dict(self) -> dict:
        out = {"epoch": list(self.epoch), "history": {k: list(v) for k, v in self.history.items()},
               "params": dict(self.params)}
        if self.diagnostics:
            out["diagnostics"] = [dict(d) for d in self.diagnostics]
        if self.stopped:
            out["stopped"] = dict(self.stopped)
        return out

    def plot(self, ax=None, log_scale: bool = False):
        """The cost per epoch (solid) and, when validation ran, the validation loss (dashed);
        returns the matplotlib Figure (``ax``: draw into an existing Axes). The drawing is
        ``deepbasics.report.plots.history_figure``, imported here when called: the one import
        from the core into the report room, made lazily so that the core never loads matplotlib."""
        from ..report.plots import history_figure
        return history_figure(self, ax=ax, log_scale=log_scale)

    def __repr__(self) -> str:
        last = f", last cost {self.cost[-1]:.6f}" if self.cost else ""
        return f"History({len(self.epoch)} epochs{last})"
