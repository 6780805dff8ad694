"""The batch engines' bookkeeping in the results database (schema step m008).

engine_batches   one row per request file written or provider batch created: the
                 settings its requests were made with (settings.py; no secret), the
                 provider's batch and file ids, its status
engine_requests  one row per request: letter (sha256, path), attempt, status, a digest
                 of the request body, and the engine's answer once imported

A request's status: queued (the next round's, not written yet) -> pending (in a file or
a provider batch) -> answered (its answer imported) | failed (the engine's error, an
expired batch, a cut-off answer) | stale (the file changed since) | superseded (the
same attempt was answered through another request). An answer is taken only for a
pending request, in the transaction that stores its letter: importing twice stores
nothing twice, and a kill loses nothing.

custom_id = "<sha256>-a<attempt>-b<batch id>": the letter, its attempt, and the batch.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime

from extractor.batch.engines.settings import Settings

# engine_batches.status: written (a request file) -> uploaded -> submitted (batch-api:
# the provider's status is in remote_status) -> imported -> closed (remote files deleted,
# or kept); abandoned: never submitted (a kill came first), its requests failed.
OPEN = ("written", "uploaded", "submitted")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def custom_id(sha256: str, attempt: int, batch_id: int) -> str:
    return f"{sha256}-a{attempt}-b{batch_id}"


@dataclass
class Request:
    id: int
    custom_id: str | None
    batch_id: int | None
    settings: Settings
    sha256: str
    path: str
    attempt: int
    status: str


_SELECT = ("select r.id, r.custom_id, r.batch_id, s.settings, r.sha256, r.path, r.attempt, "
           "r.status from engine_requests r join engine_batches s on s.id = "
           "(select min(id) from engine_batches where settings_key = r.settings_key) ")


def _request(row) -> Request:
    return Request(row[0], row[1], row[2], Settings.from_json(row[3]), *row[4:])


def new_batch(conn: sqlite3.Connection, engine: str, settings: Settings,
              requests_path: str | None) -> int:
    return conn.execute(
        "insert into engine_batches (created, engine, settings_key, settings, "
        "requests_path, requests, status) values (?, ?, ?, ?, ?, 0, 'written')",
        (now(), engine, settings.key, settings.to_json(), requests_path)).lastrowid


def update_batch(conn: sqlite3.Connection, batch_id: int, **fields) -> None:
    conn.execute(f"update engine_batches set {', '.join(f'{k} = ?' for k in fields)} "
                 "where id = ?", [*fields.values(), batch_id])


def batches(conn: sqlite3.Connection, where: str = "1", args=()) -> list[dict]:
    cur = conn.execute(f"select * from engine_batches where {where} order by id", args)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def by_custom_id(conn: sqlite3.Connection, cid: str) -> Request | None:
    row = conn.execute(_SELECT + "where r.custom_id = ?", (cid,)).fetchone()
    return _request(row) if row else None


def queued(conn: sqlite3.Connection, engine: str) -> list[Request]:
    """Re-asks waiting for a request, of letters whose last answer came from `engine`."""
    return [_request(r) for r in conn.execute(
        _SELECT + "join engine_batches b on b.id = r.batch_id where r.status = 'queued' "
        "and b.engine = ? order by r.id", (engine,))]


def in_flight(conn: sqlite3.Connection, settings_key: str, sha256: str) -> bool:
    """A request for this letter is waiting in an open provider batch, or queued."""
    return conn.execute(
        "select 1 from engine_requests r left join engine_batches b on b.id = r.batch_id "
        "where r.settings_key = ? and r.sha256 = ? and (r.status = 'queued' or "
        "(r.status = 'pending' and b.engine = 'batch-api' and b.status in "
        f"({', '.join('?' * len(OPEN))})))", (settings_key, sha256, *OPEN)).fetchone() is not None


def answers(conn: sqlite3.Connection, settings_key: str, sha256: str,
            before: int | None = None) -> tuple[list[dict], list[str]]:
    """The answers imported so far for this letter (attempt order) and the digests of
    the requests they answer."""
    rows = conn.execute(
        "select response, body_sha256 from engine_requests where settings_key = ? and "
        "sha256 = ? and status = 'answered' and attempt < ? order by attempt",
        (settings_key, sha256, before or 1 << 30)).fetchall()
    return [json.loads(r[0]) for r in rows], [r[1] for r in rows]


def attempt_answered(conn: sqlite3.Connection, req: Request) -> bool:
    return conn.execute(
        "select 1 from engine_requests where settings_key = ? and sha256 = ? and attempt = ? "
        "and status = 'answered'",
        (req.settings.key, req.sha256, req.attempt)).fetchone() is not None


def add_pending(conn: sqlite3.Connection, batch_id: int, settings: Settings, sha256: str,
                path: str, attempt: int, body_sha256: str, row_id: int | None = None) -> str:
    """A request written into batch `batch_id`: a queued row becomes pending, or a new one."""
    cid = custom_id(sha256, attempt, batch_id)
    if row_id is not None:
        conn.execute("update engine_requests set custom_id = ?, batch_id = ?, status = "
                     "'pending', body_sha256 = ?, updated = ? where id = ?",
                     (cid, batch_id, body_sha256, now(), row_id))
    else:
        conn.execute(
            "insert into engine_requests (custom_id, batch_id, settings_key, sha256, path, "
            "attempt, status, body_sha256, updated) values (?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
            (cid, batch_id, settings.key, sha256, path, attempt, body_sha256, now()))
    conn.execute("update engine_batches set requests = requests + 1 where id = ?", (batch_id,))
    return cid


def queue(conn: sqlite3.Connection, answered: Request) -> None:
    """The re-ask after `answered`, to be written with the next round (its batch_id
    stays the answered one's until then: it says which engine the round goes to)."""
    conn.execute(
        "insert into engine_requests (batch_id, settings_key, sha256, path, attempt, status, "
        "updated) values (?, ?, ?, ?, ?, 'queued', ?)",
        (answered.batch_id, answered.settings.key, answered.sha256, answered.path,
         answered.attempt + 1, now()))


def settle(conn: sqlite3.Connection, req: Request, status: str, response: dict | None = None,
           error: str | None = None) -> None:
    conn.execute("update engine_requests set status = ?, response = ?, error = ?, updated = ? "
                 "where id = ?", (status, json.dumps(response) if response is not None else None,
                                  error, now(), req.id))


def pending_of(conn: sqlite3.Connection, batch_id: int) -> list[Request]:
    return [_request(r) for r in conn.execute(
        _SELECT + "where r.batch_id = ? and r.status = 'pending' order by r.id", (batch_id,))]
