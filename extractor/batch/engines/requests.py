"""Writing a request file in the OpenAI batch input format, one letter at a time.

Each line: {"custom_id", "method": "POST", "url": "/v1/chat/completions", "body"}, the
body exactly what the live path would send for the letter (letter.py). The file holds
letters: it is written 0600 as FILE.partial and renamed to FILE when complete, so a
killed writer leaves no half file behind (its requests are written again next time).

Letters done with the same settings are skipped; in `hybrid`, a letter the rules leave
no gap in is done here, as a live run would do it, without a request; so is a letter
whose answer is already in the call cache.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field

from extractor.backends.model import cache as call_cache
from extractor.batch import run as live
from extractor.batch.engines import ledger
from extractor.batch.engines.letter import Job, Step
from extractor.batch.engines.settings import Settings
from extractor.batch.engines.steps import steps
from extractor.batch.engines.writer import Writer
from extractor.batch.migrations import writing
from extractor.batch.store import Letter
from extractor.core import ingest
from extractor.errors import IngestError
from extractor.privacy import open_private

URL = "/v1/chat/completions"


@dataclass
class Written:
    requests: int = 0
    bytes: int = 0
    stale: int = 0
    batch_ids: list[int] = field(default_factory=list)


def request_line(cid: str, body: dict) -> str:
    return json.dumps({"custom_id": cid, "method": "POST", "url": URL, "body": body},
                      ensure_ascii=False, separators=(",", ":")) + "\n"


class RequestFile:
    """FILE.partial, 0600, renamed to FILE by `close(complete=True)`."""

    def __init__(self, path: str):
        self.path, self.partial = path, f"{path}.partial"
        self.file = open_private(self.partial)

    def write(self, line: str) -> int:
        self.file.write(line)
        return len(line.encode())

    def close(self, complete: bool) -> None:
        self.file.close()
        if complete:
            os.replace(self.partial, self.path)
        else:
            os.unlink(self.partial)


@dataclass
class RequestWriter:
    writer: Writer
    out: RequestFile
    engine: str
    max_bytes: int
    cache_path: str | None = None   # where answers are looked up (None: --no-cache)
    workers: int = 1
    limit: float = 60.0             # seconds a letter may take in a worker
    written: Written = field(default_factory=Written)
    _batches: dict = field(default_factory=dict)    # settings key -> batch id

    def batch_id(self, settings: Settings) -> int:
        if settings.key not in self._batches:
            with writing(self.writer.db.conn) as conn:
                bid = ledger.new_batch(conn, self.engine, settings, self.out.path)
            self._batches[settings.key] = bid
            self.written.batch_ids.append(bid)
        return self._batches[settings.key]

    def letters(self, files: list[str], settings: Settings) -> None:
        """A request (or a record) for every letter in `files` not done yet."""
        self._run(self._new(files, settings))

    def queued(self) -> None:
        """The next round: a request for every queued re-ask."""
        self._run(self._queued())

    def _run(self, tasks) -> None:
        for ((fp, row_id), job), step in steps(tasks, self.workers, self.cache_path,
                                                self.limit):
            self.step(job, step, fp, row_id)

    def _new(self, files: list[str], settings: Settings):
        fp = settings.fingerprint
        db = self.writer.db
        for path, data, sha in _read(files, self.max_bytes, self.writer):
            if db.is_done(sha, fp) or ledger.in_flight(db.conn, settings.key, sha):
                self.writer.counts.skipped += 1
                continue
            answers, bodies = ledger.answers(db.conn, settings.key, sha)
            yield (fp, None), Job(path, sha, data, settings, answers, bodies, self.max_bytes)

    def _queued(self):
        db = self.writer.db
        for req in ledger.queued(db.conn, self.engine):
            fp = req.settings.fingerprint
            data = _read_same(req, self.max_bytes)
            if data is None:
                self.written.stale += 1
                self.writer.add(None, op=lambda c, r=req: ledger.settle(
                    c, r, "stale", error="the file changed since its last answer"))
                continue
            answers, bodies = ledger.answers(db.conn, req.settings.key, req.sha256, req.attempt)
            yield (fp, req.id), Job(req.path, req.sha256, data, req.settings, answers, bodies,
                                    self.max_bytes)

    def step(self, job: Job, step: Step, fp: str, row_id: int | None = None) -> None:
        letter = Letter(job.path, job.sha256, step.format or live._format_of(job.path),
                        len(job.data), "done")
        if step.kind == "request":
            self._request(job, step, row_id)
        elif step.kind == "record":
            self.writer.add(letter, fp, step.rows, entries=step.cache_entries, data=step.data,
                            op=_settle_row(row_id, "answered"))
        else:
            letter.status, letter.error = "failed", step.error
            self.writer.add(letter, fp, op=_settle_row(row_id, "failed", step.error))

    def _request(self, job: Job, step: Step, row_id: int | None) -> None:
        bid = self.batch_id(job.settings)
        cid = ledger.custom_id(job.sha256, step.attempt, bid)
        self.written.bytes += self.out.write(request_line(cid, step.body))
        self.written.requests += 1
        digest = call_cache.digest(step.body)
        self.writer.add(None, op=lambda c: ledger.add_pending(
            c, bid, job.settings, job.sha256, job.path, step.attempt, digest, row_id))


def _settle_row(row_id: int | None, status: str, error: str | None = None):
    if row_id is None:
        return None
    return lambda c: c.execute("update engine_requests set status = ?, error = ?, updated = ? "
                               "where id = ?", (status, error, ledger.now(), row_id))


def _read(files: list[str], max_bytes: int, writer: Writer) -> Iterator[tuple[str, bytes, str]]:
    """(path, bytes, sha256) of each readable file; an unreadable one is a failed letter."""
    seen: set[str] = set()
    for path in files:
        try:
            data = ingest.read(path, max_bytes)
        except IngestError as e:
            writer.add(Letter(path, None, live._format_of(path), None, "failed", str(e)))
            continue
        sha = hashlib.sha256(data).hexdigest()
        if sha not in seen:
            seen.add(sha)
            yield path, data, sha


def _read_same(req: ledger.Request, max_bytes: int) -> bytes | None:
    """The letter's bytes if the file still has the content the request was for."""
    try:
        data = ingest.read(req.path, max_bytes)
    except IngestError:
        return None
    return data if hashlib.sha256(data).hexdigest() == req.sha256 else None
