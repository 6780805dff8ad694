"""Importing an output file in the OpenAI batch output format, one line at a time.

A line: {"custom_id", "response": {"status_code", "body": <chat completion>}, "error"}.
It is matched to its pending request by custom_id; the letter's file is read again
and must still have the sha256 the request was for. The answer then goes through the
live path (letter.py): parsed, verified, re-asked when it fails verification (the next
round's request is queued), stored as a live run stores it, and put in the call cache
under the live call's key.

An error line, a non-200 response, or an answer cut off at the token limit
(finish_reason "length") fails the letter with the engine's reason; nothing of it is
cached. A line that is not JSON, or names no pending request of this database, is
counted and reported in one line, and the import goes on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from extractor.batch import run as live
from extractor.batch.engines import ledger
from extractor.batch.engines.letter import Job
from extractor.batch.engines.requests import _read_same
from extractor.batch.engines.steps import steps
from extractor.batch.engines.writer import Writer
from extractor.batch.store import Letter
from extractor.errors import UsageError

CUT_OFF = "answer cut off at the token limit (finish_reason: length)"
_WORD = re.compile(r"[A-Za-z0-9_.-]{1,60}")
SHOWN = 5  # malformed or unknown lines named one by one; the rest are counted


@dataclass
class Imported:
    lines: int = 0
    answers: int = 0
    again: int = 0          # already imported (the same file twice, or a line twice)
    unknown: int = 0        # no request of this database has that custom_id
    malformed: int = 0
    stale: int = 0          # the letter's file changed since its request
    engine_errors: int = 0
    next_round: int = 0     # answers that failed verification: re-asked in the next round
    problems: list[str] = field(default_factory=list)

    def note(self, line: str) -> None:
        self.problems.append(line)


@dataclass
class Importer:
    writer: Writer
    max_bytes: int
    workers: int = 1
    limit: float = 60.0                       # seconds a letter may take in a worker
    seen: set = field(default_factory=set)    # (settings key, sha256, attempt) taken now
    out: Imported = field(default_factory=Imported)

    def file(self, path: str, say=print) -> Imported:
        try:
            f = open(path, "rb")  # noqa: SIM115 (closed below)
        except OSError as e:
            raise UsageError(f"{path}: cannot read the results file ({e.strerror})") from None
        with f:
            tasks = (t for n, raw in enumerate(f, 1) if raw.strip()
                     for t in self.line(n, raw, say))
            for ((req, body, size), _job), step in steps(tasks, self.workers, None,
                                                         self.limit):
                self._store(req, body, size, step)
        self.writer.flush()
        return self.out

    def line(self, n: int, raw: bytes, say) -> Iterator[tuple]:
        """The letter to verify for this line, if any (a task for steps.steps)."""
        self.out.lines += 1
        try:
            obj = json.loads(raw)
            cid = obj["custom_id"] if isinstance(obj, dict) else None
        except (ValueError, KeyError):
            obj, cid = None, None
        if not isinstance(cid, str):
            self.out.malformed += 1
            self._say(say, self.out.malformed, f"line {n}: not a batch output line (JSON with "
                                               "a custom_id); skipped")
            return
        req = ledger.by_custom_id(self.writer.db.conn, cid)
        if req is None:
            self.out.unknown += 1
            self._say(say, self.out.unknown, f"line {n}: custom_id not requested from this "
                                             "database; skipped")
            return
        yield from self.answer(req, obj)

    def _say(self, say, count: int, text: str) -> None:
        if count <= SHOWN:
            say(f"imr-extract: {text}")

    def answer(self, req: ledger.Request, obj: dict) -> Iterator[tuple]:
        attempt = (req.settings.key, req.sha256, req.attempt)
        conn = self.writer.db.conn
        if req.status != "pending" or attempt in self.seen:
            self.out.again += 1
            return
        self.seen.add(attempt)
        if ledger.attempt_answered(conn, req):
            self.out.again += 1
            self.writer.add(None, op=lambda c: ledger.settle(c, req, "superseded"))
            return
        body, reason = completion(obj)
        if reason:
            self.out.engine_errors += 1
            self.fail(req, reason)
            return
        data = _read_same(req, self.max_bytes)
        if data is None:
            self.out.stale += 1
            self.writer.add(None, op=lambda c: ledger.settle(
                c, req, "stale", error="the file changed since its request"))
            return
        answers, bodies = ledger.answers(conn, req.settings.key, req.sha256, req.attempt)
        job = Job(req.path, req.sha256, data, req.settings, [*answers, body],
                  [*bodies, _body_sha(conn, req)], self.max_bytes)
        yield (req, body, len(data)), job

    def _store(self, req: ledger.Request, body: dict, size: int, step) -> None:
        self.out.answers += 1
        letter = Letter(req.path, req.sha256, step.format, size, "done")
        fp = req.settings.fingerprint
        if step.kind == "request":
            self.out.next_round += 1
            self.writer.add(None, op=lambda c: (ledger.settle(c, req, "answered", body),
                                                ledger.queue(c, req)))
        elif step.kind == "record":
            self.writer.add(letter, fp, step.rows, entries=step.cache_entries, data=step.data,
                            op=lambda c: ledger.settle(c, req, "answered", body))
        else:
            letter.status, letter.error = "failed", step.error
            self.writer.add(letter, fp, op=lambda c: ledger.settle(c, req, "answered", body,
                                                                   step.error))

    def fail(self, req: ledger.Request, reason: str) -> None:
        letter = Letter(req.path, req.sha256, live._format_of(req.path), None, "failed",
                        f"{req.path}: batch engine: {reason}")
        self.writer.add(letter, req.settings.fingerprint,
                        op=lambda c: ledger.settle(c, req, "failed", error=reason))


def completion(obj: dict) -> tuple[dict | None, str | None]:
    """(the chat completion, None) or (None, the engine's reason, in a few safe words:
    status code and error code, never the message, which may echo the letter)."""
    response = obj.get("response") if isinstance(obj.get("response"), dict) else {}
    status = response.get("status_code")
    body = response.get("body") if isinstance(response.get("body"), dict) else None
    error = obj.get("error") or (body or {}).get("error")
    if error or status != 200 or body is None:
        return None, _reason(status, error)
    choices = body.get("choices") or [{}]
    if not isinstance(choices[0], dict):
        return None, "answer without a choice"
    if choices[0].get("finish_reason") == "length":
        return None, CUT_OFF
    return body, None


def _reason(status, error) -> str:
    code = None
    if isinstance(error, dict):
        code = error.get("code") or error.get("type")
    elif isinstance(error, str):
        code = error
    code = str(code) if code is not None else ""
    code = code if _WORD.fullmatch(code) else "no error code"
    return f"HTTP {status} ({code})" if isinstance(status, int) else code


def _body_sha(conn, req: ledger.Request) -> str:
    return conn.execute("select body_sha256 from engine_requests where id = ?",
                        (req.id,)).fetchone()[0]
