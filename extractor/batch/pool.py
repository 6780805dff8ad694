"""Where batch extraction runs: worker processes (rules) or threads (model backends).

Both take chunks of tasks and give back `(task, result)` pairs one letter at a time, so
the main process always knows which letter each worker is on. A letter that runs past
the time limit, or whose worker dies, comes back as `(task, Failed(reason))`, and the
batch goes on. Only public `multiprocessing` / `concurrent.futures` APIs are used.

Processes: each worker has its own pipe and a chunk or two at a time. A worker that dies
(crash, out of memory, SIGKILL) fails only the letter it was on; the rest of its chunk
goes back to the queue and a new worker takes its place. A letter past the limit gets
its worker killed. A worker whose batch was SIGKILLed exits: it watches its parent's
sentinel (`multiprocessing.parent_process()`).

Threads: a thread cannot be killed; a letter past the limit is failed and its thread
left to finish (the model's own `--timeout` ends it), its result ignored.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait as wait_ready


@dataclass
class Failed:
    reason: str


DIED = "worker process died while this letter was in flight; re-run to retry"


def timed_out(limit: float) -> str:
    return f"timed out after {limit:g}s (--letter-timeout)"


# -- processes ------------------------------------------------------------------------
@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    conn: Connection
    chunk: deque = field(default_factory=deque)  # tasks sent, not yet answered
    since: float = 0.0                            # when its current letter started


class Processes:
    """`size` worker processes running `fn(task, *args)`."""

    def __init__(self, size: int, fn: Callable, args: tuple, limit: float, ahead: int = 8):
        self.size, self.fn, self.args, self.limit, self.ahead = size, fn, args, limit, ahead
        # forkserver: workers start from a clean, thread-free process with the
        # extractor already imported (plain fork is unsafe once threads exist).
        self.context = multiprocessing.get_context("forkserver")
        self.context.set_forkserver_preload(["extractor.batch.run"])
        self.workers: list[_Worker] = []
        self.backlog: deque[list] = deque()  # chunk rests handed back by a stopped worker

    def _room(self) -> int:
        """Chunks the workers can take now: each may have one queued behind the letters
        it is on, so it never waits for the main process between chunks."""
        return (sum(1 for w in self.workers if len(w.chunk) <= self.ahead)
                + self.size - len(self.workers))

    def free(self) -> int:
        """How many chunks can be submitted now."""
        return 0 if self.backlog else self._room()

    def submit(self, tasks: list) -> None:
        for w in [w for w in self.workers if not w.chunk and not w.process.is_alive()]:
            self._stop(w)  # died while idle
        ready = [w for w in self.workers if len(w.chunk) <= self.ahead]
        worker = min(ready, key=lambda w: len(w.chunk)) if ready else self._start()
        if not worker.chunk:
            worker.since = time.monotonic()
        worker.chunk.extend(tasks)
        try:
            worker.conn.send(tasks)
        except OSError:  # it died just now: its letters go back to the queue
            self._stop(worker)

    def _start(self) -> _Worker:
        if not self.workers:
            _start_forkserver()
        mine, theirs = self.context.Pipe()
        process = self.context.Process(target=_serve, args=(theirs, self.fn, self.args),
                                       daemon=True, name="imr-extract-worker")
        process.start()
        theirs.close()  # only the worker holds its end: its death is EOF here
        worker = _Worker(process, mine)
        self.workers.append(worker)
        return worker

    def collect(self, timeout: float) -> list[tuple]:
        """Results that arrived within `timeout` seconds, plus failed letters."""
        self._resubmit()
        busy = [w for w in self.workers if w.chunk]
        if not busy:
            return []
        ready = wait_ready([w.conn for w in busy], timeout)
        out = []
        for w in busy:
            if w.conn in ready:
                out += self._receive(w)
            elif time.monotonic() - w.since > self.limit:
                out.append((w.chunk.popleft(), Failed(timed_out(self.limit))))
                self._stop(w)
        return out

    def _receive(self, w: _Worker) -> list[tuple]:
        out = []
        try:
            while w.chunk and w.conn.poll():
                out.append((w.chunk[0], w.conn.recv()))
                w.chunk.popleft()
                w.since = time.monotonic()
        except (EOFError, OSError):  # it died, maybe half-way through sending
            out.append((w.chunk.popleft(), Failed(DIED)))
            self._stop(w)
        return out

    def _stop(self, w: _Worker) -> None:
        """Kill a worker; the letters of its chunk not yet started go to another."""
        w.process.kill()
        w.process.join()
        w.conn.close()
        if w.chunk:
            self.backlog.append(list(w.chunk))
        self.workers.remove(w)

    def _resubmit(self) -> None:
        while self.backlog and self._room():
            self.submit(self.backlog.popleft())

    def pending(self) -> bool:
        return bool(self.backlog) or any(w.chunk for w in self.workers)

    def close(self, now: bool = False) -> None:
        """End the workers: at once on a stop (letters in flight are redone next run),
        else by closing their pipes, which they read as the end of the work."""
        for w in self.workers:
            if now:
                w.process.kill()
            w.conn.close()
        for w in self.workers:
            w.process.join()
        self.workers.clear()


def _start_forkserver() -> None:
    """Start the fork server with Ctrl-C ignored, which it keeps across exec and hands
    to every worker: a Ctrl-C while it imports the extractor would otherwise kill it
    with a traceback and break the pool. (Ctrl-C is the main process's business.)"""
    from multiprocessing import forkserver

    if threading.current_thread() is not threading.main_thread():
        forkserver.ensure_running()
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        forkserver.ensure_running()
    finally:
        signal.signal(signal.SIGINT, old)


def _serve(conn: Connection, fn: Callable, args: tuple) -> None:
    """A worker: one result per task, in order, until the pipe closes.

    Chunks are received by a thread of their own into `inbox`: the main process sends a
    chunk while this worker may be blocked sending a result, and with large letters (PDFs
    of tens of KB, a few chunks ahead) both socket buffers filled and each side waited on
    the other forever. Draining the pipe here means the main process's send always ends."""
    # Ctrl-C and SIGTERM are the main process's business: it stops us itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    exit_with_parent()
    inbox: queue.SimpleQueue = queue.SimpleQueue()
    threading.Thread(target=_receive_into, args=(conn, inbox), name="imr-inbox",
                     daemon=True).start()
    try:
        while (tasks := inbox.get()) is not None:
            for task in tasks:
                conn.send(fn(task, *args))
    except OSError:  # the batch is gone: the work is over
        return


def _receive_into(conn: Connection, inbox: queue.SimpleQueue) -> None:
    try:
        while True:
            inbox.put(conn.recv())
    except (EOFError, OSError):  # the batch closed our pipe, or is gone: the work is over
        inbox.put(None)


def exit_with_parent() -> None:
    """In a worker process: end it when the process that started it ends. A SIGKILLed
    batch or server cannot stop its workers, so they watch for it (a `serve` pool worker
    would otherwise wait on its task queue forever: it holds both ends of it)."""
    sentinel = multiprocessing.parent_process().sentinel
    threading.Thread(target=_exit_with, args=(sentinel,), name="imr-parent-watch",
                     daemon=True).start()


def _exit_with(sentinel: int) -> None:
    wait_ready([sentinel])
    os._exit(0)


# -- threads --------------------------------------------------------------------------
class Threads:
    """`size` threads running `fn(task, *args)`, one letter per future."""

    def __init__(self, size: int, fn: Callable, args: tuple, limit: float):
        self.size, self.fn, self.args, self.limit = size, fn, args, limit
        self.executor = ThreadPoolExecutor(size, thread_name_prefix="imr-extract")
        self.inflight: dict[Future, tuple] = {}  # future -> (task, [start time or None])

    def free(self) -> int:
        return self.size * 2 - len(self.inflight)  # a few queued keep every thread busy

    def submit(self, tasks: list) -> None:
        for task in tasks:
            started: list = [None]
            self.inflight[self.executor.submit(self._timed, started, task)] = (task, started)

    def _timed(self, started: list, task):
        started[0] = time.monotonic()
        return self.fn(task, *self.args)

    def collect(self, timeout: float) -> list[tuple]:
        if not self.inflight:
            return []
        done, _ = wait(self.inflight, timeout=timeout, return_when=FIRST_COMPLETED)
        out = [(self.inflight.pop(f)[0], f.result()) for f in done]
        now = time.monotonic()
        for future, (task, started) in list(self.inflight.items()):
            if started[0] is not None and now - started[0] > self.limit:
                del self.inflight[future]  # its thread finishes on its own; ignored
                out.append((task, Failed(timed_out(self.limit))))
        return out

    def pending(self) -> bool:
        return bool(self.inflight)

    def close(self, now: bool = False) -> None:
        # On a stop, model calls in flight are not awaited (the process exits).
        self.executor.shutdown(wait=not now, cancel_futures=True)
