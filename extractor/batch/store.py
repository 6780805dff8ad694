"""The results database: one SQLite file, letters written in groups, one transaction each.

Tables (full column list in docs/batch.md):
  letters         one row per input file content (sha256): path, format, size, status
                  ('done' | 'failed'), error, the configuration fingerprint that produced it
  determinations  one row per extracted letter: header values, outcome, tokens
  records         the exact Record JSON of each extracted letter, so `export` round-trips it
  items           one row per disputed item (decision, category, guidelines, rationale)
  evidence        one row per verified value: the quote and its offsets in the letter
  rejected        claims the verifier refused, with the reason
  specialties     reviewer specialties and subspecialties, one row each (canonical name
                  and the letter's own words)
  runs            one row per batch run: configuration, times, counts, tokens
Views for browsing (no hand-written join): item_decisions, letters_overview,
overturn_by_category, overturn_by_year, guideline_citations, decisions_by_specialty.

Safety: WAL journal, and letters are written a group at a time (`save_group`), each
group in one BEGIN IMMEDIATE transaction, so a batch killed at any moment leaves only
whole letters behind (it loses at most the group being written, redone on resume),
and two batches on one file take turns instead of corrupting it.

Full-text search (`items_fts`, external content on `items`) is kept by the writer,
not by triggers: a group's new items are indexed by one statement inside the group's
transaction, and a letter's old items are taken out of the index before they are
deleted. (In groups of 100, triggers made the whole write 14% dearer.)

The schema evolves by migrations (migrations.py); opening a database applies the
missing ones.
"""

from __future__ import annotations

import csv
import json
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Self

from sqlite_utils import Database

from extractor.batch.migrations import (
    MIGRATIONS,
    SCHEMA_VERSION,
    STEPS,
    m005_fts_by_writer,
    math_functions,
    migrate,
    writing,
)
from extractor.batch.runlock import RunLock
from extractor.batch.specialty_names import canonical
from extractor.core.fields import BOOL, DATE, INT, TEXT, WORD
from extractor.core.schema import FIELDS, Record, dump_json
from extractor.errors import StoreError
from extractor.privacy import private_file

BUSY_TIMEOUT_S = 60  # another batch's transaction is a few ms; a migration a few seconds


# -- rows -----------------------------------------------------------------
# Value columns come from the field table: every letter field is a column of
# `determinations` (lists as JSON), every item field a column of `items`.
LETTER_FIELDS = [f for f in FIELDS.values() if not f.item]
ITEM_FIELDS = [f for f in FIELDS.values() if f.item]
ROW_FIELDS = [f for f in FIELDS.values() if f.spec.rows]  # reviewer specialties, one row each
COLUMNS = {
    "determinations": (
        "sha256", *(f.column for f in LETTER_FIELDS), "items", "rejected", "warnings",
        "backend", "model", "prompt_version", "prompt_tokens", "completion_tokens"),
    "records": ("sha256", "record_json"),
    "items": ("sha256", "item", *(f.column for f in ITEM_FIELDS)),
    "evidence": ("sha256", "field", "item", "quote", "quote_start", "quote_end", "match_level"),
    "rejected": ("sha256", "field", "item", "value", "quote", "reason"),
    "specialties": ("sha256", "kind", "name", "as_written"),
}
INSERT = {table: f"insert into {table} ({', '.join(cols)}) values ({', '.join('?' * len(cols))})"
          for table, cols in COLUMNS.items()}
LETTER_COLUMNS = ("sha256", "path", "format", "size", "status", "error", "fingerprint",
                  "run_id", "updated")
UPSERT_LETTER = (
    f"insert into letters ({', '.join(LETTER_COLUMNS)}) "
    f"values ({', '.join('?' * len(LETTER_COLUMNS))}) on conflict(sha256) do update set "
    + ", ".join(f"{c} = excluded.{c}" for c in LETTER_COLUMNS[1:]))
_ITEM = re.compile(r"items\[(\d+)\]")
_SQL_TYPES = {TEXT: "TEXT", DATE: "TEXT", WORD: "TEXT", INT: "INTEGER", BOOL: "INTEGER"}


def value_at(data: dict, path: str):
    """data["patient"]["age"] for 'patient.age'; None anywhere along the way gives None."""
    for part in path.split("."):
        data = data.get(part) if data is not None else None
    return data


def _cell(f, data: dict):
    value = value_at(data, f.local)
    return _list(value) if f.is_list else value


def record_rows(record: Record | dict) -> dict[str, list[tuple]]:
    """Rows for every table of one extracted letter. Pure, so workers can build them.
    Read from the record's JSON form (`pipeline.extract_data`), also the stored record_json."""
    data = record if isinstance(record, dict) else record.model_dump(mode="json")
    key, usage, ext = data["source"]["sha256"], data["usage"], data["extractor"]
    det = (key, *(_cell(f, data) for f in LETTER_FIELDS), len(data["items"]),
           len(data["rejected"]), _list(data["warnings"]), ext["backend"], ext["model"],
           ext["prompt_version"], usage["prompt_tokens"] if usage else None,
           usage["completion_tokens"] if usage else None)
    items = [(key, i, *(_cell(f, it) for f in ITEM_FIELDS)) for i, it in enumerate(data["items"])]
    evidence = [(key, ev["field"], _item_of(ev["field"]), ev["quote"], ev["start"], ev["end"],
                 ev["match"]) for ev in data["evidence"]]
    rejected = [(key, r["field"], _item_of(r["field"]), json.dumps(r["value"], ensure_ascii=False),
                 r["quote"], r["reason"]) for r in data["rejected"]]
    specialties = [(key, f.spec.rows, canonical(name), name)
                   for f in ROW_FIELDS for name in value_at(data, f.path)]
    return {"determinations": [det], "records": [(key, dump_json(data))], "items": items,
            "evidence": evidence, "rejected": rejected, "specialties": specialties}


def _list(values: list[str]) -> str:
    return json.dumps(values, ensure_ascii=False)


def _item_of(field: str) -> int | None:
    m = _ITEM.match(field)
    return int(m.group(1)) if m else None


@dataclass
class Letter:
    """What `letters` says about one input file; `sha256` is None when it could not be read."""

    path: str
    sha256: str | None
    format: str | None
    size: int | None
    status: str  # 'done' | 'failed'
    error: str | None = None


# -- the store ------------------------------------------------------------
class Store:
    """An open results database. Only the process's main thread writes to it.

    `readonly`: for reading only (export): opened read-only, so a shared results file
    without write access (or in a read-only folder) works. Only a file written by an
    older imr-extract is opened for writing, to be upgraded first."""

    def __init__(self, path: str | Path, version: int = SCHEMA_VERSION, readonly: bool = False):
        self.path = str(path)
        self.run_lock: RunLock | None = None
        self._fts = None  # the full-text statements, once opened for writing
        if Path(self.path).is_dir():
            raise StoreError(f"{self.path}: is a directory, not a database file")
        if readonly and self._connect(self._open_readonly, self._check_current):
            return
        self._connect(self._open, lambda: self._prepare(version))

    def _connect(self, opener, prepare) -> bool:
        try:
            self.conn = opener()
            math_functions(self.conn)  # the rate views' sqrt, where SQLite lacks it
            self.db = Database(self.conn, execute_plugins=False)
        except (sqlite3.Error, OSError) as e:
            raise StoreError(f"{self.path}: cannot open: {e}") from None
        try:
            if prepare() is False:
                self.conn.close()
                return False
            return True
        except sqlite3.DatabaseError as e:
            self.conn.close()
            raise StoreError(f"{self.path}: cannot use as a results database: {e}") from None
        except BaseException:
            self.conn.close()
            raise

    def _check_current(self) -> bool:
        """Read-only use: the file must not be newer; False if it is older (to upgrade)."""
        self._check_known()
        return not MIGRATIONS.pending(self.db)

    def _open(self) -> sqlite3.Connection:
        private_file(self.path)  # medical records: 0600, and SQLite gives -wal/-shm the same
        return sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S)

    def _open_readonly(self) -> sqlite3.Connection:
        uri = Path(self.path).resolve().as_uri()
        conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
        try:
            conn.execute("select count(*) from sqlite_master").fetchone()
            return conn
        except sqlite3.OperationalError:
            # A WAL database in a folder we cannot write: SQLite cannot create the -shm
            # file it reads through. With no -wal file left over (the last batch closed
            # cleanly) the database file is the whole truth, so read it as immutable.
            conn.close()
            wal = Path(f"{self.path}-wal")
            if wal.exists() and wal.stat().st_size:
                raise
            return sqlite3.connect(f"{uri}?immutable=1", uri=True)

    def _prepare(self, version: int) -> None:
        self.db.enable_wal()
        # WAL + NORMAL: a commit is not fsynced (a power cut may lose the last
        # letters, never corrupt the file); fewer, larger checkpoints fsync less.
        self.conn.executescript("pragma synchronous = normal; pragma wal_autocheckpoint = 10000;"
                                "pragma journal_size_limit = 67108864;")
        self._check_known()
        migrate(self.db, version)
        self._fts = self._fts_statements(version)
        self._add_field_columns()  # the field table's columns, whatever the schema step

    def _add_field_columns(self) -> None:
        """A field added to the schema since this file was made gets its column (NULL for
        letters done before). Migrations above fix the tables; the field table extends them."""
        if not self._missing_columns():
            return  # the usual case: no write at all
        with writing(self.conn) as c:  # looked at again under the lock: another batch may race
            for table, f in self._missing_columns():
                c.execute(f"alter table {table} add column [{f.column}] {_SQL_TYPES[f.score]}")

    def _missing_columns(self) -> list:
        wanted = {"determinations": LETTER_FIELDS, "items": ITEM_FIELDS}
        return [(table, f) for table, fields in wanted.items()
                for f in fields if f.column not in self.db[table].columns_dict]

    def _check_known(self) -> None:
        known = {step.__name__ for step in STEPS}
        unknown = [m.name for m in MIGRATIONS.applied(self.db) if m.name not in known]
        if unknown:
            raise StoreError(f"{self.path}: written by a newer imr-extract (schema step "
                             f"{unknown[0]}); upgrade imr-extract to use it")

    def close(self) -> None:
        self.conn.close()
        if self.run_lock:
            self.run_lock.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- reading --
    def is_done(self, sha256: str, fingerprint: str) -> bool:
        row = self.conn.execute("select status, fingerprint from letters where sha256 = ?",
                                (sha256,)).fetchone()
        return row == ("done", fingerprint)

    # -- writing --
    def start_run(self, **fields) -> int:
        """A new `running` row, held alive by a lock (runlock.py); earlier runs still
        marked running whose process is gone (killed) are marked `interrupted`."""
        fields = {"started": _now(), "status": "running", **fields}
        self.run_lock = self.run_lock or RunLock(self.path)
        with writing(self.conn) as c:  # insert and lock in one transaction: never seen unlocked
            run_id = c.execute(f"insert into runs ({', '.join(fields)}) "
                               f"values ({', '.join('?' * len(fields))})",
                               list(fields.values())).lastrowid
            self.run_lock.hold(run_id)
            running = c.execute("select id from runs where status = 'running' and id != ?",
                                (run_id,)).fetchall()
            dead = [(rid,) for (rid,) in running if not self.run_lock.alive(rid)]
            c.executemany("update runs set status = 'interrupted' where id = ?", dead)
        return run_id

    def finish_run(self, run_id: int, **fields) -> None:
        fields = {"ended": _now(), **fields}
        with writing(self.conn) as c:
            c.execute(f"update runs set {', '.join(f'{k} = ?' for k in fields)} where id = ?",
                      [*fields.values(), run_id])

    def save(self, letter: Letter, rows: dict[str, list[tuple]] | None, fingerprint: str,
             run_id: int) -> bool:
        """Write one letter and its rows in one transaction (see `save_group`)."""
        return self.save_group([(letter, rows)], fingerprint, run_id)[0]

    def save_group(self, letters: list[tuple[Letter, dict[str, list[tuple]] | None]],
                   fingerprint: str, run_id: int, also=None) -> list[bool]:
        """Write letters and their rows in one transaction, and index their items for
        full-text search. A letter gets False, writing nothing, when it is already done
        with this fingerprint (another batch got there first) or when a failure would
        replace a result that is already done (a model outage must not lose work).
        `also(conn)`, if given, writes more in the same transaction (a batch engine's
        bookkeeping, which must land together with the letters or not at all)."""
        with writing(self.conn):
            written, waiting, keys = [], {}, set()
            for letter, rows in letters:
                if letter.sha256 in keys:  # one content twice in a group: its rows first
                    self._insert(waiting)
                    keys.clear()
                written.append(self._put(letter, fingerprint, run_id))
                if written[-1] and rows:
                    keys.add(letter.sha256)
                    for table, values in rows.items():
                        waiting.setdefault(table, []).extend(values)
            self._insert(waiting)
            self._index([letter.sha256 for (letter, rows), ok in zip(letters, written, strict=True)
                         if ok and rows])
            if also is not None:
                also(self.conn)
        return written

    def _put(self, letter: Letter, fingerprint: str, run_id: int) -> bool:
        if not self._replace_old(letter, fingerprint):
            return False
        self.conn.execute(UPSERT_LETTER, (letter.sha256, letter.path, letter.format,
                                          letter.size, letter.status, letter.error,
                                          fingerprint, run_id, _now()))
        return True

    def _insert(self, waiting: dict[str, list[tuple]]) -> None:
        """The rows of a group's letters, one statement a table (not one a letter)."""
        for table, values in waiting.items():
            if values:
                self.conn.executemany(INSERT[table], values)
        waiting.clear()

    def _replace_old(self, letter: Letter, fingerprint: str) -> bool:
        """Clear what an earlier run stored for this letter; False if it must be kept."""
        c = self.conn
        if letter.sha256 is None:  # unreadable: known by path only
            c.execute("delete from letters where sha256 is null and path = ?", (letter.path,))
            return True
        # The newest word on a path replaces the failures recorded for it before (the
        # file was missing, or had other content), so a later success leaves no failure.
        c.execute("delete from letters where path = ? and status = 'failed' and "
                  "(sha256 is null or sha256 != ?)", (letter.path, letter.sha256))
        old = c.execute("select status, fingerprint from letters where sha256 = ?",
                        (letter.sha256,)).fetchone()
        if old is None:
            return True
        if old[0] == "done" and (old[1] == fingerprint or letter.status == "failed"):
            return False
        self._unindex(letter.sha256)
        for table in ("specialties", "rejected", "evidence", "items", "records",
                      "determinations"):
            c.execute(f"delete from {table} where sha256 = ?", (letter.sha256,))
        return True

    # -- full-text search, kept by the writer (m005) --
    def _fts_statements(self, version: int) -> tuple[str, str] | None:
        """(index, unindex) for one letter's items, or None while triggers keep the index
        (a database opened at an older schema, as the migration tests do)."""
        if version <= STEPS.index(m005_fts_by_writer) or not self.db["items_fts"].exists():
            return None
        columns = ", ".join(f"[{c.name}]" for c in self.db["items_fts"].columns)
        index = (f"insert into items_fts (rowid, {columns}) "
                 f"select rowid, {columns} from items where sha256 = ?")
        unindex = (f"insert into items_fts (items_fts, rowid, {columns}) "
                   f"select 'delete', rowid, {columns} from items where sha256 = ?")
        return index, unindex

    def _index(self, keys: list[str]) -> None:
        """Index the items of letters just written. Each letter appears once in a
        group (the batch dedups by sha256), and indexing twice would count twice."""
        if self._fts and keys:
            self.conn.executemany(self._fts[0], ((k,) for k in dict.fromkeys(keys)))

    def _unindex(self, key: str) -> None:
        """Take a letter's items out of the index before they are deleted. They were
        indexed when committed: a letter is replaced only from an earlier transaction
        (within one group, the same letter again is already done with this fingerprint)."""
        if self._fts:
            self.conn.execute(self._fts[1], (key,))

    # -- export --
    def record_lines(self) -> Iterator[str]:
        """The Record JSON of every extracted letter, in path order."""
        sql = ("select r.record_json from records r join letters l using (sha256) "
               "where l.status = 'done' order by l.path, l.sha256")
        for (line,) in self.conn.execute(sql):
            yield line


# -- export ---------------------------------------------------------------
# CSV: letter scalars (shallow first), letter lists, the extractor, then the item's fields.
CSV_LETTER = sorted(LETTER_FIELDS, key=lambda f: (f.is_list, 0 if f.is_list else f.path.count(".")))
CSV_COLUMNS = ("sha256", "path", "format", *(f.flat for f in CSV_LETTER), "backend", "model",
               "prompt_version", "item", *(f.flat for f in ITEM_FIELDS))
LIST_SEPARATOR = "; "


def export_jsonl(store: Store, out: IO[str]) -> int:
    n = 0
    for line in store.record_lines():
        out.write(line + "\n")
        n += 1
    return n


def export_csv(store: Store, out: IO[str]) -> int:
    """One row per item, letter columns repeated; a letter with no item gets one row."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    n = 0
    for line in store.record_lines():
        writer.writerows(csv_rows(json.loads(line)))
        n += 1
    return n


def csv_rows(data: dict) -> list[list]:
    """The CSV rows of one stored record (its JSON, parsed)."""
    src, ext = data["source"], data["extractor"]
    head = [src["sha256"], src["path"], src["format"],
            *(_csv_cell(value_at(data, f.path), f.is_list) for f in CSV_LETTER),
            ext["backend"], ext["model"], ext["prompt_version"]]
    if not data["items"]:
        return [head + [None] * (len(CSV_COLUMNS) - len(head))]
    return [head + [i, *(value_at(it, f.local) for f in ITEM_FIELDS)]
            for i, it in enumerate(data["items"])]


def _csv_cell(value, is_list: bool):
    return LIST_SEPARATOR.join(value) if is_list else value


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
