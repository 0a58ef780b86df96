"""A training session: one worker process per browser tab, and the server's handle on it.

The server never trains: each tab gets a ``Session``, which starts a worker process (the
"spawn" start method: a fresh interpreter, so no JAX state is ever forked) running ``Worker``.
Commands go to the worker over a Pipe as checked dicts; the worker answers with encoded JSON
messages, which a reader thread hands to the server's event loop through an asyncio queue. A
worker that dies shows up as the end of that queue (``None``), never as a crash of the server.

The worker trains in chunks of epochs sized so that a chunk takes about 45 ms, sending a frame
after each: about 20 frames a second, at least 10 while the runs advance, unless a frame's own
statistics take so long (deep networks) that a chunk must be three times as long to keep training
at three quarters of the time or more. The boundary grid (and the accuracy on the whole training
split) goes with a frame at most every 0.2 s and never takes more than about a ninth of the time.

Commands are answered within a fraction of a second, even mid-epoch. Between chunks the worker
reads them as they come. While a chunk trains, the NumPy engine calls ``Worker.between_batches``
after every update, which looks at the Pipe every LOOK_EVERY seconds: when a command waits, the
chunk is cut at the end of the epoch in progress (the other run of compare mode then trains to
the same epoch) and, if that epoch would take more than SOON seconds more, the command is
answered right there: pause holds the run between two updates, its whole state on the stack, so
that play resumes it exactly (the same numbers as never pausing); a step finishes the epoch in
progress; a new configuration or reset abandons it. (The JAX engine runs whole epochs as one
program, so it answers at the end of the epoch.)
"""
from __future__ import annotations

import asyncio
import dataclasses
import multiprocessing
import os
import signal
import sys
import threading
import time

from ..errors import DeepBasicsError
from . import protocol
from .trainer import Trainer

CHUNK_SECONDS = 0.045       # training time per frame
BOUNDARY_EVERY = 0.2        # seconds between frames that carry the boundary grid, at least
BOUNDARY_SHARE = 8          # ... and at least this many times the grid's own cost
FRAME_SHARE = 3             # a chunk trains at least 3x as long as its frame takes (deep networks)
MAX_FRAMES_PER_SECOND = 20  # with a speed cap: chunks of rate / 20 epochs
LOOK_EVERY = 0.01           # seconds of training between two looks for a command, mid-epoch
SOON = 0.05                 # an epoch that ends within this many seconds is not held mid-way
# One BLAS thread per worker: up to four sessions share the machine, and for the playground's
# small matrices a second thread only adds contention (measured 10x slower on a busy 2-core box).
WORKER_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


# -- the worker (runs in its own process) -----------------------------------------------------------
def worker_main(conn) -> None:
    """Entry point of the worker process: serve commands from ``conn`` until "stop" or EOF."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)     # Ctrl-C in the terminal is the server's to handle
    try:
        Worker(conn).loop()
    except (EOFError, OSError, BrokenPipeError):     # the server went away
        pass


class Abandoned(BaseException):
    """A new configuration (or reset) replaced the trainer mid-epoch: the old fit is left as it is.
    A BaseException, so that no ``except Exception`` on the way keeps anything of it."""


class Stopped(BaseException):
    """The server asked the worker to stop mid-epoch."""


class Worker:
    """The commands of PROTOCOL.md applied to a Trainer; every reply sent as encoded JSON."""

    def __init__(self, conn):
        self.conn = conn
        self.trainer: Trainer | None = None
        self.configs = None               # (Config, Config or None) of the current trainer
        self.playing = False
        self.rate: float | None = None    # epochs per second cap (None: as fast as possible)
        self.chunk = 1
        self.due = 0.0                    # with a cap: when the next chunk may start
        self.last_boundary, self.boundary_cost = 0.0, 0.0
        self.frame_cost = 0.0             # seconds a frame without the boundary took, the last time
        self.reported: set[str] = set()   # labels of diverged runs already announced
        self.cut_at: int | None = None    # the chunk in progress ends once its first run has this many epochs
        self.stepping = False             # a step asked for mid-epoch: pause once the epoch is done
        self.looked = 0.0                 # when between_batches last looked at the Pipe
        self.epoch_began = (None, 0.0)    # (epoch, when between_batches first saw it)
        self.within = None                # {"update": k, "of": steps} while answering mid-epoch

    def send(self, message: dict) -> None:
        self.conn.send(protocol.encode(message))

    def loop(self) -> None:
        while True:
            try:
                if not self.playing:
                    wait = None
                else:
                    wait = max(0.0, self.due - time.perf_counter()) if self.rate else 0.0
                if self.conn.poll(wait):
                    command = self.conn.recv()
                    if command.get("type") == "stop":
                        return
                    self.handle(command)
                elif self.playing:
                    self.train_chunk()
            except Abandoned:             # a new trainer took the place of the one training
                continue
            except Stopped:
                return

    def handle(self, command: dict) -> None:
        """Apply one command; a bad one is answered with an error and changes nothing."""
        try:
            getattr(self, "on_" + command["type"])(command)
        except DeepBasicsError as err:
            self.send(protocol.error_of(err))
        except Exception as err:          # a bug must not end the session; the page hears what, not where
            print(f"deepbasics playground: error in a session's {command.get('type')!r}: {type(err).__name__}: "
                  f"{err}".splitlines()[0], file=sys.stderr, flush=True)
            self.send(protocol.error(f"the server could not do {command.get('type')!r} ({type(err).__name__}); "
                                     f"try another configuration, or reload the page"))

    # -- commands ----------------------------------------------------------------------------
    def on_configure(self, command: dict) -> None:
        """Train the checked configurations the server sends (``protocol.check_config`` ran there).
        Configurations that differ from the current ones in data.plane alone change the view only:
        the runs train on."""
        cfg, cfg_b = command["config"], command.get("compare")
        if self.trainer is not None and _same_but_plane((cfg, cfg_b), self.configs):
            self.trainer.view(cfg.data.plane)
            self.configs = (cfg, cfg_b)
            self.trainer.cfg, self.trainer.compare_cfg = cfg, cfg_b
            self.send(self.trainer.data_message(continued=True))
            self.send_frame(boundary=True)
            return
        kept = self.trainer if self.trainer is not None and _same_data(cfg, self.configs[0]) else None
        # built completely before it replaces the old one; the data as read when they are the same
        self.trainer = Trainer(cfg, cfg_b, **({} if kept is None else {"prepared": kept.prepared,
                                                                         "columns": kept.columns}))
        self.configs, self.reported, self.chunk = (cfg, cfg_b), set(), 1
        self.send(self.trainer.data_message(points=kept is None))   # the page keeps points that did not change
        self.send_frame(boundary=True)
        self.send_status()

    def require(self) -> Trainer:
        if self.trainer is None:
            raise protocol.ProtocolError("nothing to train yet: send a configuration first")
        return self.trainer

    def on_play(self, command: dict) -> None:
        trainer = self.require()
        if trainer.all_diverged:
            self.send_status()
            return
        self.playing, self.chunk, self.due = True, 1, time.perf_counter()
        self.send_status()

    def on_pause(self, command: dict) -> None:
        self.playing = False
        self.send_status()

    def on_step(self, command: dict) -> None:
        trainer = self.require()
        self.playing = False
        self.advance(trainer, 1)
        self.stepping = False
        self.send_frame(boundary=True)
        self.send_status()

    def on_reset(self, command: dict) -> None:
        self.trainer = self.require().restarted()
        self.playing, self.reported, self.chunk = False, set(), 1
        self.send_frame(boundary=True)
        self.send_status()

    def on_speed(self, command: dict) -> None:
        self.rate = command.get("epochs_per_second")
        self.due = time.perf_counter()

    def on_export(self, command: dict) -> None:
        self.send(self.require().export())

    # -- training ----------------------------------------------------------------------------
    def advance(self, trainer: Trainer, n: int) -> float:
        """``n`` epochs of the trainer's runs, answering commands that arrive meanwhile."""
        self.cut_at, self.epoch_began = None, (None, 0.0)
        try:
            return trainer.advance(n, on_batch=self.between_batches, cut=lambda: self.cut_at)
        finally:
            self.cut_at = None

    def train_chunk(self) -> None:
        trainer = self.trainer
        started = time.perf_counter()
        n, before = self.chunk, trainer.epoch
        seconds = self.advance(trainer, n)
        done = max(trainer.epoch - before, 1)
        if self.rate:
            self.chunk = max(1, round(self.rate / MAX_FRAMES_PER_SECOND))
            self.due = started + self.chunk / self.rate
        else:                              # aim at CHUNK_SECONDS, growing at most 2x per chunk
            per_epoch = seconds / done if seconds > 0 else CHUNK_SECONDS
            target = max(CHUNK_SECONDS, FRAME_SHARE * self.frame_cost)
            self.chunk = max(1, min(2 * n, round(target / per_epoch)))
        now = time.perf_counter()
        boundary = self.stepping or now - self.last_boundary >= max(BOUNDARY_EVERY, BOUNDARY_SHARE * self.boundary_cost)
        self.send_frame(boundary)
        if not boundary:
            self.frame_cost = time.perf_counter() - now
        if self.stepping:                  # a step asked for mid-epoch: that epoch is done, pause
            self.stepping, self.playing = False, False
            self.send_status()
        elif trainer.all_diverged or any(r.diverged and r.label not in self.reported for r in trainer.runs):
            self.playing = False           # a run diverged in this chunk: pause and say where
            self.send_status()

    # -- mid-epoch -----------------------------------------------------------------------------
    def between_batches(self, epoch: int, k: int, steps: int) -> None:
        """After update k (of ``steps``) of ``epoch`` (the NumPy engine's ``on_batch``): every
        LOOK_EVERY seconds, a look for a command. One that waits cuts the chunk at the end of this
        epoch, and is answered here when the epoch would take more than SOON seconds more."""
        now = time.perf_counter()
        if k == 1 or self.epoch_began[0] != epoch:
            self.epoch_began = (epoch, now)
        if now - self.looked < LOOK_EVERY:
            return
        self.looked = now
        if not self.conn.poll(0):
            return
        self.cut_at = epoch + 1 if self.cut_at is None else min(self.cut_at, epoch + 1)
        # The rest of this epoch, at the pace of its updates since the first (unknown at the
        # first: then the next look decides).
        left = (now - self.epoch_began[1]) / (k - 1) * (steps - k) if k > 1 else 0.0
        if left > SOON:
            self.within = {"update": k, "of": steps}
            try:
                self.answer_mid_epoch()
            finally:
                self.within = None

    def answer_mid_epoch(self) -> None:
        """Answer the commands that wait, between two updates. Pause holds the run here, waiting
        for the next command; play or a step let it go on (a step to the end of this epoch)."""
        hold = False
        while hold or self.conn.poll(0):
            command = self.conn.recv()
            kind = command.get("type")
            if kind == "stop":
                raise Stopped()
            if kind == "pause":
                hold, self.playing, self.stepping = True, False, False
                self.send_status()
                if any(r.points["epoch"] for r in self.trainer.runs):
                    self.send_frame(boundary=False)             # the epochs this chunk finished so far
            elif kind == "play":
                hold = False
                if not self.playing:
                    self.playing = True
                    self.send_status()
            elif kind == "step":
                hold, self.playing, self.stepping = False, False, True
            elif kind in ("configure", "reset"):
                self.replace(command)
            else:                                              # speed, export: answered on the spot
                self.handle(command)

    def replace(self, command: dict) -> None:
        """A new configuration or reset mid-epoch: if it is accepted, the epoch in progress is
        abandoned (Abandoned unwinds it); a refused one changes nothing."""
        old = self.trainer
        self.handle(command)
        if self.trainer is not old:
            self.stepping = False
            self.due, self.chunk = time.perf_counter(), 1
            raise Abandoned()

    def send_frame(self, boundary: bool) -> None:
        start = time.perf_counter()
        self.send(self.trainer.frame(boundary))
        if boundary:
            self.last_boundary, self.boundary_cost = start, time.perf_counter() - start

    def send_status(self) -> None:
        trainer = self.trainer
        epoch = trainer.epoch if trainer else 0
        fresh = [r for r in trainer.runs if r.diverged and r.label not in self.reported] if trainer else []
        if fresh or (trainer and trainer.all_diverged and not self.playing):
            runs = fresh or [r for r in trainer.runs if r.diverged]
            self.reported.update(r.label for r in runs)
            many = len(trainer.runs) > 1
            text = "; ".join((f"run {r.label}: " if many else "") + r.diverged for r in runs)
            self.send({"type": "status", "state": "diverged", "epoch": epoch, "message": text, "within": None})
            return
        self.send({"type": "status", "state": "running" if self.playing else "paused", "epoch": epoch,
                   "message": None, "within": None if self.playing else self.within})


def _same_data(new, old) -> bool:
    """Whether two configurations read, split and standardise the same data (a file is its
    upload, which never changes): the prepared data of one serve the other."""
    return new.data == old.data and new.split == old.split and new.train.dtype == old.train.dtype


def _same_but_plane(new, old) -> bool:
    """Whether two (config, compare) pairs differ in data.plane and in nothing else."""
    if old is None or new[0].data.plane == old[0].data.plane:
        return False
    def plain(cfg):
        return None if cfg is None else dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, plane=None))
    return all(plain(a) == plain(b) for a, b in zip(new, old))


# -- the server's handle ---------------------------------------------------------------------------
def _start_ignoring_sigint(process) -> None:
    """Start ``process`` with SIGINT ignored (the disposition survives exec, and Python keeps an
    ignored SIGINT ignored): Ctrl-C in the terminal reaches the whole process group, and a worker
    still importing must not die of it with a traceback; the server ends its workers itself.
    Only the main thread may change a signal's handler; elsewhere (tests) it starts as it is."""
    if threading.current_thread() is not threading.main_thread():
        process.start()
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        process.start()
    finally:
        signal.signal(signal.SIGINT, previous)

class Session:
    """A worker process and the queue its messages arrive on (in the server's event loop)."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.queue: asyncio.Queue = asyncio.Queue()
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        for key, value in WORKER_ENV.items():
            os.environ.setdefault(key, value)          # read by the worker's NumPy when it starts
        self.process = context.Process(target=worker_main, args=(child,), daemon=True, name="deepbasics-playground")
        _start_ignoring_sigint(self.process)
        child.close()
        self.dead = False
        self._send_lock, self._reap_lock = threading.Lock(), threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        """Hand every message of the worker to the event loop; None when it is gone."""
        try:
            while True:
                text = self.conn.recv()
                self.loop.call_soon_threadsafe(self.queue.put_nowait, text)
        except (EOFError, OSError):
            pass
        except RuntimeError:               # the event loop closed first
            return
        try:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, None)
        except RuntimeError:
            pass

    def _send(self, command: dict) -> None:
        with self._send_lock:
            self.conn.send(command)

    async def send(self, command: dict) -> None:
        """Pass a checked command to the worker (off the event loop: a full pipe may block)."""
        await asyncio.to_thread(self._send, command)

    async def receive(self) -> str | None:
        """The next encoded message of the worker; None once it has stopped."""
        return await self.queue.get()

    def exit_code(self) -> int | None:
        with self._reap_lock:
            self.process.join(timeout=1.0)
            return self.process.exitcode

    def close(self) -> None:
        """End the worker: ask it to stop, then terminate and kill if it does not (blocking)."""
        with self._reap_lock:     # one waitpid at a time: a second one would see ECHILD and lose the code
            try:
                if self.process.is_alive():
                    self._send({"type": "stop"})
            except (OSError, ValueError):
                pass
            self.process.join(timeout=1.0)
            if self.process.is_alive():
                self.process.terminate()
                self.process.join(timeout=1.0)
            if self.process.is_alive():
                self.process.kill()
                self.process.join(timeout=1.0)
        try:
            self.conn.close()
        except OSError:
            pass
