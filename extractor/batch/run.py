"""Batch extraction: files, folders and globs -> the results database.

The main process finds the files, reads and hashes them, skips those already
done with the same configuration, and is the only writer. Extraction runs
elsewhere, and finished letters are written a group at a time, one transaction
per group (every --commit-letters letters or --commit-seconds, see group.py):
  rules        a process pool, one worker per core (the work is CPU bound)
  llm, hybrid  a pool of --concurrency threads (model calls are I/O bound)

A re-run skips what is done (key: sha256 + configuration fingerprint) and
retries what failed. Ctrl-C (or SIGTERM) stops at once: finished letters are
committed, letters in flight are dropped and redone next time. A kill loses at
most the group not yet written, redone next time.
"""

from __future__ import annotations

import glob
import hashlib
import json
import multiprocessing
import os
import re
import signal
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import (
    FIRST_COMPLETED,
    BrokenExecutor,
    Executor,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Self

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from extractor.core import ingest
from extractor.batch import store
from extractor.batch.group import Group, Limits
from extractor.core.ingest import IngestError
from extractor.config import Config
from extractor.errors import UsageError
from extractor.pipeline import extract_document
from extractor.batch.store import Letter, Store, StoreError

SUFFIXES = frozenset(ingest.SUPPORTED)
DEFAULT_MODEL_CONCURRENCY = 4
RULES_CHUNK = 8  # letters per process-pool task: amortizes the pickling round trip
_GLOB = re.compile(r"[*?\[]")


# -- finding files ----------------------------------------------------------
def discover(paths: list[str] | tuple[str, ...]) -> list[str]:
    """Files to process, in order, each once. A folder is searched recursively and
    a glob expanded, keeping supported letter files; a path named explicitly is
    kept whatever it is, so a missing or odd one is reported, not ignored. A glob
    that matches no letter file is a usage error, and so is finding no file at all."""
    found, seen = [], set()
    for arg in paths:
        for path in _expand(arg):
            real = os.path.realpath(path)
            if real not in seen:
                seen.add(real)
                found.append(path)
    if not found:
        raise UsageError("no letter files (" + " ".join(sorted(SUFFIXES)) + ") found in "
                         + " ".join(paths))
    return found


def _expand(arg: str) -> Iterator[str]:
    if os.path.isdir(arg):
        yield from _walk(arg)
    elif _GLOB.search(arg) and not os.path.exists(arg):
        matches = sorted(glob.glob(arg, recursive=True))
        for match in matches:
            if os.path.isdir(match):
                yield from _walk(match)
            elif _is_letter_file(match):
                yield match
        if not any(os.path.isdir(m) or _is_letter_file(m) for m in matches):
            raise UsageError(f"{arg}: the pattern matches no letter file")
    else:
        yield arg


def _walk(folder: str) -> Iterator[str]:
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if _is_letter_file(name):
                yield os.path.join(root, name)


def _is_letter_file(name: str) -> bool:
    base = os.path.basename(name)
    return not base.startswith(".") and Path(base).suffix.lower() in SUFFIXES


# -- one letter (runs in a worker) ------------------------------------------
@dataclass
class Task:
    path: str
    data: bytes
    sha256: str


@dataclass
class Outcome:
    letter: Letter
    rows: dict | None = None
    rejected: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    warned: bool = False   # the record carries a warning


def extract_one(task: Task, config: Config) -> Outcome:
    letter = Letter(task.path, task.sha256, _format_of(task.path), len(task.data), "done")
    try:
        doc = ingest.from_bytes(task.data, task.path, config.max_bytes)
        letter.format = doc.format
        record = extract_document(doc, config)
    except Exception as e:  # noqa: BLE001
        # Bad input or a failed model call is recorded, and the batch goes on.
        letter.status, letter.error = "failed", _one_line(task.path, e)
        return Outcome(letter)
    usage = record.usage
    return Outcome(letter, store.record_rows(record), len(record.rejected),
                   usage.prompt_tokens if usage else 0, usage.completion_tokens if usage else 0,
                   bool(record.warnings))


def extract_chunk(tasks: list[Task], config: Config) -> list[Outcome]:
    return [extract_one(task, config) for task in tasks]


def _format_of(path: str) -> str:
    return ingest.SUPPORTED.get(Path(path).suffix.lower(), "text")


def _one_line(path: str, e: Exception) -> str:
    if isinstance(e, IngestError):
        return str(e)
    detail = (str(e).strip().splitlines() or [""])[0][:200]
    return f"{path}: {type(e).__name__}" + (f": {detail}" if detail else "")


# -- the run ----------------------------------------------------------------
@dataclass
class Summary:
    letters: int = 0
    done: int = 0
    skipped: int = 0
    failed: int = 0
    rejected: int = 0
    warned: int = 0         # letters done whose record carries a warning
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    interrupted: bool = False

    def counts(self) -> dict:
        return {k: getattr(self, k) for k in ("letters", "done", "skipped", "failed",
                                              "rejected", "warned", "prompt_tokens",
                                              "completion_tokens")}

    def line(self) -> str:
        tokens = self.prompt_tokens + self.completion_tokens
        rate = (self.done + self.failed) / self.seconds if self.seconds else 0.0
        return (f"{self.done} done, {self.skipped} skipped, {self.failed} failed, "
                f"{self.warned} with warnings, {self.rejected} rejected values, {tokens} tokens ({self.prompt_tokens} prompt "
                f"+ {self.completion_tokens} completion) in {self.seconds:.1f}s "
                f"({rate:.1f} letters/s)")


def extractor_info(config: Config) -> dict:
    """backend/model/prompt_version: what a stored result depends on."""
    if config.backend == "rules":
        return {"backend": "rules", "model": None, "prompt_version": None}
    from extractor.backends.model import prompts  # only model backends have a prompt

    return {"backend": config.backend, "model": config.model,
            "prompt_version": prompts.load().version}


def fingerprint(info: dict) -> str:
    key = json.dumps([info["backend"], info["model"], info["prompt_version"]])
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def run(paths, db_path: str, config: Config, concurrency: int | None = None,
        progress: bool | None = None, group: Limits | None = None) -> Summary:
    """Extract every letter under `paths` into the database at `db_path`."""
    if concurrency is None:
        rules = config.backend == "rules"
        concurrency = (os.cpu_count() or 1) if rules else DEFAULT_MODEL_CONCURRENCY
    files = discover(paths)  # before the database: a usage error creates nothing
    try:
        with Store(db_path) as db, _Stop() as stop:
            return _run(paths, files, db, config, concurrency, progress, stop, group or Limits())
    except sqlite3.Error as e:  # disk full, locked for a minute...: finished letters are kept
        raise StoreError(f"{db_path}: {e}") from None


def _run(paths, files: list[str], db: Store, config: Config, concurrency: int,
         progress: bool | None, stop: _Stop, limits: Limits) -> Summary:
    started = time.perf_counter()
    info = extractor_info(config)
    summary = Summary(letters=len(files))
    run_id = db.start_run(**info, fingerprint=fingerprint(info), concurrency=concurrency,
                          paths=json.dumps(list(paths)), letters=len(files))
    bar = _Bar(len(files), sys.stderr.isatty() if progress is None else progress)
    try:
        with bar:
            try:
                _Job(db, config, fingerprint(info), run_id, summary, bar, stop,
                     Group(limits)).run(files, concurrency)
            finally:
                bar.erase = stop.signum is not None  # a stopped bar would be a stale line
    finally:
        summary.interrupted = stop.signum is not None
        summary.seconds = time.perf_counter() - started
        db.finish_run(run_id, status="interrupted" if summary.interrupted else "finished",
                      **summary.counts())
    return summary


@dataclass
class _Job:
    db: Store
    config: Config
    fingerprint: str
    run_id: int
    summary: Summary
    bar: _Bar
    stop: _Stop
    group: Group

    def run(self, files: list[str], workers: int) -> None:
        rules = self.config.backend == "rules"
        chunk, window = (RULES_CHUNK, workers * 3) if rules else (1, workers * 2)
        tasks = self._pending(files)
        pool, inflight = _executor(rules, workers), {}
        try:
            while not self.stop.signum:
                while len(inflight) < window and not self.stop.signum:
                    batch = list(islice(tasks, chunk))
                    if not batch:
                        break
                    try:
                        future = pool.submit(extract_chunk, batch, self.config)
                    except BrokenExecutor:  # a worker died earlier: carry on with a new pool
                        _discard(pool)
                        pool = _executor(rules, workers)
                        future = pool.submit(extract_chunk, batch, self.config)
                    inflight[future] = batch
                if not inflight:
                    break
                finished, _ = wait(inflight, timeout=0.25, return_when=FIRST_COMPLETED)
                for future in finished:
                    for outcome in _results(future, inflight.pop(future)):
                        self._write(outcome)
                self._write_group(due_only=True)  # a slow trickle is written too
                if not finished and _stuck(pool):
                    # A broken pool that never settles its futures: fail what is
                    # in flight (redone next run) and go on with a new pool.
                    for future in list(inflight):
                        for outcome in _died(inflight.pop(future)):
                            self._write(outcome)
                    _discard(pool)
                    pool = _executor(rules, workers)
        finally:
            # On a stop, drop queued work; letters in flight are redone next run.
            # Worker processes finish their chunk (milliseconds) and exit with us;
            # model calls in flight are not awaited.
            if getattr(pool, "_broken", False):
                _discard(pool)
            else:
                pool.shutdown(wait=rules or not self.stop.signum, cancel_futures=True)
            self._write_group()  # finished letters are kept, also on a stop

    def _pending(self, files: list[str]) -> Iterator[Task]:
        """Read and hash each file; yield those still to do. Runs lazily, so a
        letter another batch finished meanwhile is seen as done."""
        seen: set[str] = set()
        for path in files:
            try:  # a FIFO, a device or a file over --max-bytes is refused unread
                data = ingest.read(path, self.config.max_bytes)
            except IngestError as e:
                self._write(Outcome(Letter(path, None, _format_of(path), None, "failed",
                                           str(e))))
                continue
            sha = hashlib.sha256(data).hexdigest()
            if sha in seen or self.db.is_done(sha, self.fingerprint):
                self._skip()
            else:
                seen.add(sha)
                yield Task(path, data, sha)

    def _write(self, outcome: Outcome) -> None:
        self.group.add(outcome)
        self._write_group(due_only=True)

    def _write_group(self, due_only: bool = False) -> None:
        if due_only and not self.group.due():
            return
        outcomes = self.group.take()
        if outcomes:
            written = self.db.save_group([(o.letter, o.rows) for o in outcomes],
                                         self.fingerprint, self.run_id)
            for outcome, ok in zip(outcomes, written):
                self._count(outcome, ok)

    def _count(self, outcome: Outcome, written: bool) -> None:
        s, letter = self.summary, outcome.letter
        if letter.status == "failed":
            s.failed += 1
            self.bar.say(f"imr-extract: failed: {letter.error}")
        elif not written:  # another batch stored it first
            s.skipped += 1
        else:
            s.done += 1
            s.rejected += outcome.rejected
            s.warned += outcome.warned
            s.prompt_tokens += outcome.prompt_tokens
            s.completion_tokens += outcome.completion_tokens
        self.bar.advance(s.failed)

    def _skip(self) -> None:
        self.summary.skipped += 1
        self.bar.advance(self.summary.failed)


def _results(future, tasks: list[Task]) -> list[Outcome]:
    try:
        return future.result()
    except BrokenExecutor:
        return _died(tasks)


def _died(tasks: list[Task]) -> list[Outcome]:
    """A worker process died (crash, out of memory), which fails every letter in
    flight. They are retried by the next run; the batch goes on."""
    error = "worker process died while this letter was in flight; re-run to retry"
    return [Outcome(Letter(t.path, t.sha256, _format_of(t.path), len(t.data), "failed",
                           f"{t.path}: {error}")) for t in tasks]


_BROKEN_GRACE = 5.0  # seconds a broken pool gets to fail its own futures


def _stuck(pool: Executor) -> bool:
    """True once a pool has had a dead worker for longer than the grace period.
    (A worker killed while writing its result leaves the pool's reader thread
    waiting for the rest of the message: the pool never notices by itself.)"""
    processes = (getattr(pool, "_processes", None) or {}).values()
    if not (getattr(pool, "_broken", False) or any(p.exitcode is not None for p in processes)):
        return False
    since = getattr(pool, "_imr_broken_since", None)
    if since is None:
        pool._imr_broken_since = since = time.monotonic()
    return time.monotonic() - since > _BROKEN_GRACE


def _discard(pool: Executor) -> None:
    """Let a broken process pool go. Its surviving workers are killed first: the
    one that died may have held the task queue's lock, leaving the others blocked
    for ever, and the interpreter would wait for them at exit. (Python 3.11 has no
    public call for this; `_processes` is the pool's own table of workers.)"""
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.kill()
        process.join(1)
    # With every writer gone, closing our own end of the result pipe gives a
    # reader thread stuck on a half-written result EOF, so it can end.
    result_queue = getattr(pool, "_result_queue", None)
    if result_queue is not None:
        result_queue._writer.close()
    pool.shutdown(wait=False, cancel_futures=True)


# -- workers ------------------------------------------------------------------
def _executor(rules: bool, workers: int) -> Executor:
    if not rules:
        return ThreadPoolExecutor(workers, thread_name_prefix="imr-extract")
    # forkserver: workers start from a clean, thread-free process with the
    # extractor already imported (plain fork is unsafe once threads exist).
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["extractor.batch.run"])
    _start_forkserver()
    return ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker,
                               initargs=(os.getpid(),))


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


def _init_worker(main_pid: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's business
    threading.Thread(target=_exit_when_orphaned, args=(main_pid,), daemon=True).start()


def _exit_when_orphaned(main_pid: int) -> None:
    """A SIGKILLed batch cannot stop its workers, so they watch for it. (Their
    parent is the fork server, which itself waits for them: no help there.)"""
    while not _gone(main_pid):
        time.sleep(0.5)
    os._exit(0)


def _gone(pid: int) -> bool:
    try:  # a killed process stays a zombie until reaped: that counts as gone
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()[0]
        return state in ("Z", "X")
    except FileNotFoundError:
        return True
    except OSError:  # no /proc here
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False


class _Stop:
    """SIGINT/SIGTERM set a flag the main loop checks between letters, so a
    stop never lands in the middle of a write."""

    def __init__(self):
        self.signum: int | None = None
        self._old: dict = {}

    def __enter__(self) -> Self:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        self.signum = signum

    def __exit__(self, *exc) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)


# -- progress -----------------------------------------------------------------
class _Rate(ProgressColumn):
    def render(self, task) -> Text:
        return Text(f"{task.speed or 0:,.1f} letters/s", style="progress.data.speed")


class _Bar:
    """A rich progress bar on stderr when it is a terminal; otherwise silent."""

    def __init__(self, total: int, enabled: bool):
        self.progress = None
        self.erase = False  # on exit, clear the bar instead of leaving its last state
        if enabled:
            self.progress = Progress(
                TextColumn("[progress.description]letters"), BarColumn(), MofNCompleteColumn(),
                _Rate(), TextColumn("ETA"), TimeRemainingColumn(),
                TextColumn("{task.fields[failed]} failed"),
                console=Console(stderr=True), speed_estimate_period=10)
            self.task = self.progress.add_task("batch", total=total, failed=0)

    def __enter__(self) -> Self:
        if self.progress:
            self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.progress:
            self.progress.live.transient = self.erase or exc[0] is not None
            self.progress.stop()

    def advance(self, failed: int) -> None:
        if self.progress:
            self.progress.update(self.task, advance=1, failed=failed)

    def say(self, line: str) -> None:
        if self.progress:
            self.progress.console.print(line, markup=False, highlight=False, soft_wrap=True)
        else:
            print(line, file=sys.stderr, flush=True)
