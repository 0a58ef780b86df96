"""The training loop around an engine: epochs, the schedule, logs, validation, divergence.

The loop is the same for every engine. An engine advances the TrainState over a block of
epochs and returns each epoch's cost; the loop records the History, prints the document's log
lines, runs validation and stops cleanly if the cost stops being finite.

    run_epochs     the blocks: where each ends (_next_event), the engine's call, early stopping's end
    _record_block  one block's epochs, in order: divergence (_diverged), the epoch's values
                   (_epoch_values), the history, the log lines (_Log), the callback (_call_back)
                   and early stopping's rule
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from ..errors import DivergedError
from .early_stopping import EarlyStopping, Watch
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
    watch = early_stopping.watch(initial_epoch) if early_stopping is not None else None
    run = _Run(epochs, rates, lr_after, history, validate, validation_freq, _Log(verbose, print_lr, print_fn),
               on_epoch, watch)
    # Early stopping needs the state of every monitored epoch, so validation then ends blocks.
    in_program = validate is not None and watch is None and getattr(engine, "validates", False)
    # One epoch per call for an engine that cannot fuse, and for early stopping on the training cost.
    one_by_one = not getattr(engine, "fuses_epochs", False) or (
        watch is not None and not early_stopping.monitor.startswith("val_"))
    epoch = initial_epoch
    while epoch < epochs:
        stop = epoch + 1 if one_by_one else _next_event(
            epoch, epochs, initial_epoch, verbose, validate is not None and not in_program, validation_freq, on_epoch)
        new_state, costs = engine.run(state, X, Y, epoch, stop)
        stopped = _record_block(run, epoch, stop, state, new_state, costs, engine.validation if in_program else None)
        if stopped is not None:
            return stopped
        state, epoch = new_state, stop
    if watch is not None and watch.best_state is not None:
        return watch.best_state            # restore_best_weights: the fit ran to the end
    return state


class _Log(NamedTuple):
    """The document's log lines, every ``verbose`` epochs (none when it is 0)."""
    verbose: int
    print_lr: bool
    print_fn: Callable[[str], None]

    def epoch(self, e: int, values: dict) -> None:
        if not self.verbose or e % self.verbose:
            return
        self.print_fn("Cost after epoch %i: %f" % (e, values["cost"]))
        if self.print_lr:
            self.print_fn("learning rate after epoch %i: %f" % (e, values["lr_after"]))
        if "val_loss" in values:
            extra = "".join(f", {k}: {v:.6f}" for k, v in values.items() if k.startswith("val_"))
            self.print_fn("Validation after epoch %i%s" % (e, extra))


class _Run(NamedTuple):
    """What recording an epoch needs: the run's settings and where each epoch goes."""
    epochs: int
    rates: np.ndarray                               # (epochs, steps per epoch)
    lr_after: Callable[[int], float]
    history: History
    validate: Callable[[TrainState], dict] | None
    validation_freq: int
    log: _Log
    on_epoch: Callable | None
    watch: Watch | None                             # early stopping's bookkeeping


def _record_block(run: _Run, epoch: int, stop: int, state: TrainState, new_state: TrainState, costs,
                  vals) -> TrainState | None:
    """Record epochs epoch..stop-1, which one engine call took from ``state`` to ``new_state``
    (``vals``: their in-program validation rows, or None). Returns the state to end the fit with
    when early stopping stops it here, else None. A KeyboardInterrupt raised by a callback at an
    epoch before the block's last is raised once the whole block is recorded."""
    interrupted = None
    for i, cost in enumerate(np.asarray(costs, dtype=np.float64)):
        e, last = epoch + i, epoch + i == stop - 1
        if not np.isfinite(cost):
            raise _diverged(e, cost, epoch, state, run)
        values = _epoch_values(run, e, cost, None if vals is None else vals[i], new_state if last else None)
        run.history.append(e, values)
        run.log.epoch(e, values)
        caught = _call_back(run.on_epoch, e, new_state, values, last)
        interrupted = interrupted or caught
        if run.watch is not None and last and run.watch.update(e, values, new_state):
            run.history.stopped = run.watch.stopped(e)
            return run.watch.best_state if run.watch.best_state is not None else new_state
    if interrupted is not None:
        raise interrupted
    return None


def _diverged(e: int, cost: float, first: int, state: TrainState, run: _Run) -> DivergedError:
    """The error for a cost that is not finite at epoch ``e`` of a block that began at epoch
    ``first`` from ``state``, which the error carries (``err.state``) to be kept."""
    err = DivergedError(
        f"training diverged at epoch {e} (cost is {cost}); the weights from before epoch "
        f"{first} were kept; try a smaller learning rate (now {float(run.rates[e, 0]):g})", run.history)
    err.state = state
    err.epoch = e
    return err


def _epoch_values(run: _Run, e: int, cost, row, state: TrainState | None) -> dict:
    """Epoch e's history columns: its cost, its first update's rate, the rate after it and, on
    an epoch that validates (every validation_freq-th and the last), the validation metrics:
    the engine's in-program ``row`` if it has one, else validating ``state`` (given at a
    block's last epoch only, the one whose state the host holds)."""
    values = {"cost": cost, "lr": run.rates[e, 0], "lr_after": run.lr_after(e)}
    if run.validate is not None and ((e + 1) % run.validation_freq == 0 or e == run.epochs - 1):
        if row is not None:
            values.update(_validation_values(row))
        elif state is not None:
            values.update(run.validate(state))
    return values


def _call_back(on_epoch, e: int, state: TrainState, values: dict, last: bool) -> KeyboardInterrupt | None:
    """Call ``on_epoch`` for epoch e: at a block's last epoch with its state, and at the others,
    with None, only when it asks for every epoch (``state_every``). A KeyboardInterrupt at a
    block's last epoch propagates; at another epoch it is returned, for the block to raise."""
    if on_epoch is None or not (last or hasattr(on_epoch, "state_every")):
        return None
    try:
        on_epoch(e, state if last else None, values)
    except KeyboardInterrupt as stop_request:
        if last:
            raise
        return stop_request
    return None


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
