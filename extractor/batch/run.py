"""Batch extraction: files, folders and globs -> the results database.

The main process finds the files, reads and hashes them, skips those already
done with the same configuration, and is the only writer. Extraction runs
elsewhere (`pool.py`), and finished letters are written a group at a time, one
transaction per group (every --commit-letters letters or --commit-seconds, see
group.py):
  rules        worker processes, one per core (the work is CPU bound)
  llm, hybrid  --concurrency threads (model calls are I/O bound)
A letter that takes longer than --letter-timeout, or whose worker dies, is
recorded as failed and the batch goes on.

A re-run skips what is done (key: sha256 + configuration fingerprint) and
retries what failed. Ctrl-C (or SIGTERM) stops at once: finished letters are
already committed, letters in flight are dropped and redone next time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import hashlib
import json
import os
import re
import signal
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
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

from extractor.batch import pool, store
from extractor.batch.group import Group, Limits
from extractor.batch.store import Letter, Store, StoreError
from extractor.config import Config
from extractor.core import ingest
from extractor.errors import ImrError, IngestError, UsageError
from extractor.pipeline import extract_data
from extractor.privacy import redact

SUFFIXES = frozenset(ingest.SUPPORTED)
DEFAULT_MODEL_CONCURRENCY = 4
LETTER_TIMEOUT = 60.0  # seconds per letter besides the model's own --timeout
RULES_CHUNK = 8  # letters per process-pool task: amortizes the pickling round trip
_GLOB = re.compile(r"[*?\[]")


# -- finding files ----------------------------------------------------------
def discover(paths: list[str] | tuple[str, ...]) -> list[str]:
    """Files to process, resolved, in order, each once. A folder is searched
    recursively and a glob expanded, keeping supported letter files; a path named
    explicitly is kept whatever it is, so a missing or odd one is reported. A glob
    that matches no letter file is a usage error, and so is finding no file at all."""
    found, seen = [], set()
    for arg in paths:
        for path in _expand(arg):
            real = os.path.realpath(path)  # stored resolved: ./x.txt and x.txt are one letter
            if real not in seen:
                seen.add(real)
                found.append(real)
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
        data = extract_data(doc, config)
    except Exception as e:  # noqa: BLE001
        # Bad input or a failed model call is recorded, and the batch goes on.
        letter.status, letter.error = "failed", _one_line(task.path, e)
        return Outcome(letter)
    usage = data["usage"] or {}
    return Outcome(letter, store.record_rows(data), len(data["rejected"]),
                   usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0),
                   bool(data["warnings"]))


def _format_of(path: str) -> str:
    return ingest.SUPPORTED.get(Path(path).suffix.lower(), "text")


def _one_line(path: str, e: Exception) -> str:
    """What `letters.error` says: our own errors' one line; for anything else only its
    type (its text may quote the letter). Redacted either way."""
    if isinstance(e, ImrError):
        return redact(str(e) if str(e).startswith(path) else f"{path}: {e}")
    return f"{path}: {type(e).__name__}"


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
                f"{self.warned} with warnings, {self.rejected} rejected values, {tokens} tokens "
                f"({self.prompt_tokens} prompt + {self.completion_tokens} completion) "
                f"in {self.seconds:.1f}s "
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
        progress: bool | None = None, letter_timeout: float = LETTER_TIMEOUT,
        group: Limits | None = None) -> Summary:
    """Extract every letter under `paths` into the database at `db_path`."""
    # A letter whose model call failed is `failed`, not done with the rules' part only,
    # so the next run asks again.
    config = dataclasses.replace(config, strict=True)
    rules = config.backend == "rules"
    if concurrency is None:
        concurrency = (os.cpu_count() or 1) if rules else DEFAULT_MODEL_CONCURRENCY
    limit = letter_timeout + (0 if rules else config.timeout)
    files = discover(paths)  # before the database: a usage error creates nothing
    try:
        with Store(db_path) as db, _Stop() as stop:
            return _run(paths, files, db, config, concurrency, progress, stop, limit,
                        group or Limits())
    except sqlite3.Error as e:  # disk full, locked for a minute...: finished letters are kept
        raise StoreError(f"{db_path}: {e}") from None


def _run(paths, files: list[str], db: Store, config: Config, concurrency: int,
         progress: bool | None, stop: _Stop, limit: float, limits: Limits) -> Summary:
    started = time.perf_counter()
    info = extractor_info(config)
    summary = Summary(letters=len(files))
    run_id = db.start_run(**info, fingerprint=fingerprint(info), concurrency=concurrency,
                          paths=json.dumps(list(paths)), letters=len(files))
    bar = _Bar(len(files), sys.stderr.isatty() if progress is None else progress)
    job = _Job(db, config, fingerprint(info), run_id, summary, bar, stop, limit, Group(limits))
    try:
        with bar:
            try:
                job.run(files, concurrency)
            finally:
                bar.erase = stop.signum is not None  # a stopped bar would be a stale line
    except BaseException:  # a full disk, a lost database...: the run says it failed
        with contextlib.suppress(sqlite3.Error):  # if the disk lets us
            _end(db, run_id, summary, stop, started, "failed")
        raise
    _end(db, run_id, summary, stop, started, "finished")
    return summary


def _end(db: Store, run_id: int, summary: Summary, stop: _Stop, started: float,
         status: str) -> None:
    summary.interrupted = stop.signum is not None
    summary.seconds = time.perf_counter() - started
    db.finish_run(run_id, status="interrupted" if summary.interrupted else status,
                  **summary.counts())


@dataclass
class _Job:
    db: Store
    config: Config
    fingerprint: str
    run_id: int
    summary: Summary
    bar: _Bar
    stop: _Stop
    letter_timeout: float
    group: Group

    def run(self, files: list[str], workers: int) -> None:
        rules = self.config.backend == "rules"
        chunk = RULES_CHUNK if rules else 1
        tasks = self._pending(files)
        kind = pool.Processes if rules else pool.Threads
        workers_ = kind(workers, extract_one, (self.config,), self.letter_timeout)
        try:
            while not self.stop.signum:
                self._feed(workers_, tasks, chunk)
                if not workers_.pending():
                    break
                results = workers_.collect(timeout=0.25)
                self._feed(workers_, tasks, chunk)  # before the writes: no worker waits for them
                for task, result in results:
                    self._write(_failed(task, result.reason) if isinstance(result, pool.Failed)
                                else result)
                self._write_group(due_only=True)  # a slow trickle is written too
        except BaseException:
            workers_.close(now=True)
            with contextlib.suppress(sqlite3.Error):  # finished letters kept, if the disk lets us
                self._write_group()
            raise
        # On a stop, letters in flight are dropped and redone next run.
        workers_.close(now=bool(self.stop.signum))
        self._write_group()  # finished letters are kept, also on a stop

    def _feed(self, workers, tasks: Iterator[Task], chunk: int) -> None:
        while workers.free() > 0 and not self.stop.signum:
            batch = list(islice(tasks, chunk))
            if not batch:
                return
            workers.submit(batch)

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
            for outcome, ok in zip(outcomes, written, strict=True):
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


def _failed(task: Task, reason: str) -> Outcome:
    """A letter that timed out or whose worker died: failed, retried by the next run."""
    return Outcome(Letter(task.path, task.sha256, _format_of(task.path), len(task.data),
                          "failed", f"{task.path}: {reason}"))


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
