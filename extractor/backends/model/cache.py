"""SQLite cache of model calls: an identical request is answered without a call.

One row per letter extraction (all attempts of the verifier-driven retry loop):
the raw replies, token counts, latency and number of attempts. The letter text
is not stored: the row holds hashes of the letter and of the request; the full
request is stored only on opt-in (`log_requests`), for debugging.

Key: see `call_key`. The model is the name the user passed (use a stable alias
such as `smollm2-135m`, never a file path). The server is its scheme, host, port and
path, never its credentials: two servers on one machine (two ports) are two servers
and never share answers. Replaying offline with no `--base-url` accepts a recording
from any server (see `servers`), so a recording made against a local server on a
free port replays in CI (older files keyed every local server as "local").

Only complete answers are stored (the caller decides: see backend._ask_or_replay):
a transport fault or a reply nothing could be read from is never replayed.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from pathlib import Path
from urllib.parse import urlsplit

import sqlite_utils

from extractor.errors import CacheError
from extractor.privacy import private_file, redact

SCHEMA_VERSION = 1
KEY_VERSION = 1          # bump when the key's parts change meaning
DEFAULT_SERVER = "https://api.openai.com/v1"
DEFAULT_PORTS = {"http": 80, "https": 443}


def default_path() -> Path:
    env = os.environ.get("IMR_EXTRACT_CACHE")
    if env:
        return Path(env)
    import platformdirs
    return Path(platformdirs.user_cache_dir("imr-extract")) / "calls.db"


def server_id(base_url: str | None) -> str:
    """Normalized server identity for the key (see module docstring)."""
    parts = urlsplit((base_url or DEFAULT_SERVER).strip())
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    port = parts.port if parts.port else DEFAULT_PORTS.get(scheme)
    port = "" if port == DEFAULT_PORTS.get(scheme) else f":{port}"
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}{port}{parts.path.rstrip('/')}"


def digest(data) -> str:
    text = data if isinstance(data, str) else json.dumps(data, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def call_key(*, model: str, server: str, mode: str, prompt_version: str, schema_hash: str,
             params: dict, letter_sha256: str, request_hash: str) -> str:
    return digest({"v": KEY_VERSION, "model": model, "server": server, "mode": mode,
                   "prompt": prompt_version, "schema": schema_hash, "params": params,
                   "letter": letter_sha256, "request": request_hash})


# -- storage ------------------------------------------------------------------
def _v1(db: sqlite_utils.Database) -> None:
    db["calls"].create({
        "key": str, "created": float, "model": str, "server": str, "mode": str,
        "prompt_version": str, "schema_hash": str, "letter_sha256": str, "request_hash": str,
        "request": str, "replies": str, "prompt_tokens": int, "completion_tokens": int,
        "attempts": int, "latency_ms": int, "note": str,
    }, pk="key", not_null={"replies"})
    db["calls"].create_index(["letter_sha256"])




def _row(key: str, entry: dict) -> dict:
    row = {**entry, "key": key, "created": time.time(),
           "replies": json.dumps(entry["replies"], ensure_ascii=False),
           "note": redact(entry["note"]) if entry.get("note") else None}
    if row.get("request") is not None:
        row["request"] = json.dumps(row["request"], ensure_ascii=False)
    return row


MIGRATIONS = [_v1]  # MIGRATIONS[i] upgrades the file from version i to i + 1


class Cache:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        private_file(self.path)  # it holds model answers about medical records
        # several threads (batch --concurrency) may write: wait for the lock, do not fail
        self.db = sqlite_utils.Database(sqlite3.connect(self.path, timeout=30))
        try:
            self._migrate()
        except sqlite3.DatabaseError as e:
            self.close()
            raise CacheError(f"{self.path}: not a usable cache file ({e})") from None

    def close(self) -> None:
        self.db.conn.close()

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _migrate(self) -> None:
        meta = self.db["meta"]
        if not meta.exists():
            meta.create({"name": str, "value": str}, pk="name")
        row = next(meta.rows_where("name = ?", ["schema_version"]), None)
        version = int(row["value"]) if row else 0
        if version > SCHEMA_VERSION:
            raise CacheError(f"{self.path}: cache schema version {version} is newer than "
                             f"this program ({SCHEMA_VERSION}); upgrade imr-extract")
        if version == SCHEMA_VERSION:
            return  # no write: replaying the committed cache/calls.db leaves it untouched
        for step in MIGRATIONS[version:]:
            step(self.db)
        meta.upsert({"name": "schema_version", "value": str(SCHEMA_VERSION)}, pk="name")

    def get(self, key: str) -> dict | None:
        row = next(self.db["calls"].rows_where("key = ?", [key]), None)
        if row is None:
            return None
        row["replies"] = json.loads(row["replies"])
        return row

    def put(self, key: str, entry: dict) -> None:
        self.db["calls"].upsert(_row(key, entry), pk="key")

    def put_many(self, entries: list[tuple[str, dict]]) -> None:
        """Store many answers in one transaction (a batch engine's group of letters)."""
        rows = [_row(key, entry) for key, entry in entries]
        if not rows:
            return
        columns = list(rows[0])
        sql = (f"insert or replace into calls ({', '.join(columns)}) "
               f"values ({', '.join('?' * len(columns))})")
        with self.db.conn:
            self.db.conn.executemany(sql, [[row[c] for c in columns] for row in rows])

    def servers(self, model: str, letter_sha256: str) -> list[str]:
        """The servers with a recorded call of `model` for this letter."""
        if not self.db["calls"].exists():
            return []
        return [r[0] for r in self.db.execute(
            "select distinct server from calls where model = ? and letter_sha256 = ? "
            "order by server", [model, letter_sha256])]

    def stats(self) -> dict:
        calls = self.db["calls"]
        totals = next(self.db.query(
            "select count(*) n, coalesce(sum(prompt_tokens), 0) p, "
            "coalesce(sum(completion_tokens), 0) c, coalesce(sum(attempts), 0) a, "
            "count(request) logged from calls"))
        by_model = list(self.db.query(
            "select model, server, mode, count(*) calls from calls "
            "group by model, server, mode order by calls desc"))
        return {"path": str(self.path), "bytes": self.path.stat().st_size,
                "schema_version": SCHEMA_VERSION, "calls": totals["n"],
                "prompt_tokens": totals["p"], "completion_tokens": totals["c"],
                "attempts": totals["a"], "requests_logged": totals["logged"],
                "by_model": by_model if calls.exists() else []}

    def clear(self) -> int:
        n = self.db["calls"].count
        self.db["calls"].delete_where()
        self.db.vacuum()
        return n
