"""The training loop around an engine: epochs, the schedule, logs, validation, divergence.

The loop is the same for every engine. An engine advances the TrainState over a block of
epochs and returns each epoch's cost; the loop records the History, prints the document's log
lines, runs validation and stops cleanly if the cost stops being finite.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..errors import DivergedError
from .early_stopping import EarlyStopping
from .history import History
from .step import TrainState


def run_epochs(engine, state: TrainState, X, Y, *, epochs: int, initial_epoch: int = 0,
               rates: np.ndarray, lr_after: Callable[[int], float], history: History,
               verbose: int = 0, print_lr: bool = False,
               validate: Callable[[TrainState], dict] | None = None, validation_freq: int = 1,
               print_fn: Callable[[str], None] = print, on_epoch: Callable | None = None,
               early_stopping: EarlyStopping | None = None):
    """Advance ``state`` from ``initial_epoch`` to ``epochs``; fill ``history``; return the state.

    ``verbose`` = N > 0 prints every N epochs in the document's format:
        Cost after epoch 1000: 0.351748
        learning rate after epoch 1000: 0.000500      (when ``print_lr``)
    ``on_epoch(epoch, state, values)`` is called after every recorded epoch (progress, checkpoints).
    An engine that fuses epochs runs one block per call up to the next epoch that needs the host:
    a log line, a validation (unless the engine validates inside its program: ``engine.validation``
    then holds each epoch's (loss, accuracy)), or a callback. A callback with a ``state_every``
    attribute (N >= 0) does not end blocks but every N-th epoch (and at least 100 times a run): it
    is called for every epoch of a block, with ``state`` None but at the block's last epoch, and a
    KeyboardInterrupt it raises takes effect after that last epoch, so that the epoch and the
    state it has seen last always belong together.
    On a NaN or infinite cost, raises DivergedError; the state returned by the last block that
    stayed finite is kept in ``err.state``. With ``early_stopping`` the loop may end early: then
    ``history.stopped`` says where and why, and the state returned is the best epoch's when the
    rule restores it.
    """
    fuses = getattr(engine, "fuses_epochs", False)
    watch = early_stopping.watch(initial_epoch) if early_stopping is not None else None
    every_epoch = watch is not None and not early_stopping.monitor.startswith("val_")
    # Early stopping needs the state of every monitored epoch, so validation then ends blocks.
    in_program = validate is not None and watch is None and getattr(engine, "validates", False)
    epoch = initial_epoch
    while epoch < epochs:
        stop = _next_event(epoch, epochs, initial_epoch, verbose, validate is not None and not in_program,
                           validation_freq, on_epoch) if fuses and not every_epoch else epoch + 1
        new_state, costs = engine.run(state, X, Y, epoch, stop)
        vals = engine.validation if in_program else None
        interrupted = None
        for i, cost in enumerate(np.asarray(costs, dtype=np.float64)):
            e = epoch + i
            if not np.isfinite(cost):
                err = DivergedError(
                    f"training diverged at epoch {e} (cost is {cost}); the weights from before epoch "
                    f"{epoch} were kept; try a smaller learning rate (now {float(rates[e, 0]):g})", history)
                err.state = state
                err.epoch = e
                raise err
            values = {"cost": cost, "lr": rates[e, 0], "lr_after": lr_after(e)}
            last = e == stop - 1
            if validate is not None and ((e + 1) % validation_freq == 0 or e == epochs - 1):
                if vals is not None:
                    values.update(_validation_values(vals[i]))
                elif last:
                    values.update(validate(new_state))
            history.append(e, values)
            if verbose and e % verbose == 0:
                print_fn("Cost after epoch %i: %f" % (e, cost))
                if print_lr:
                    print_fn("learning rate after epoch %i: %f" % (e, values["lr_after"]))
                if "val_loss" in values:
                    extra = "".join(f", {k}: {v:.6f}" for k, v in values.items() if k.startswith("val_"))
                    print_fn("Validation after epoch %i%s" % (e, extra))
            if on_epoch is not None and (last or hasattr(on_epoch, "state_every")):
                try:
                    on_epoch(e, new_state if last else None, values)
                except KeyboardInterrupt as stop_request:
                    if last:
                        raise
                    interrupted = interrupted or stop_request
            if watch is not None and last and watch.update(e, values, new_state):
                history.stopped = watch.stopped(e)
                return watch.best_state if watch.best_state is not None else new_state
        state = new_state
        epoch = stop
        if interrupted is not None:
            raise interrupted
    if watch is not None and watch.best_state is not None:
        return watch.best_state            # restore_best_weights: the fit ran to the end
    return state


def _validation_values(row) -> dict:
    """An engine's in-program (loss, accuracy) as the history's validation columns."""
    loss, accuracy = (float(v) for v in row)
    return {"val_loss": loss} if np.isnan(accuracy) else {"val_loss": loss, "val_accuracy": accuracy}


def _next_event(epoch: int, epochs: int, initial_epoch: int, verbose: int, validating: bool, freq: int,
                on_epoch) -> int:
    """The epoch after the next one that needs the host (a log line, validation, a callback)."""
    candidates = [epochs]
    if on_epoch is not None:
        every = getattr(on_epoch, "state_every", None)
        if every is None:
            return epoch + 1
        candidates.append(epoch + max(1, (epochs - initial_epoch) // 100))
        if every:
            candidates.append((epoch // every + 1) * every)
    if verbose:
        candidates.append((epoch // verbose + (epoch % verbose != 0)) * verbose + 1)
    if validating:
        candidates.append((epoch // freq + 1) * freq)
    return max(epoch + 1, min(candidates))
