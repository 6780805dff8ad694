"""Read-only questions to a results database (the service's GET /v1/letters).

The filters come from the field table (`Spec(filter=True)`): a word or text field is an
exact match, a date field a range (`<name>_from`, `<name>_to`, inclusive). A letter
matches an item filter when any of its items does. The file is opened read-only
(`mode=ro`): the service never writes to it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from extractor.batch.migrations import MIGRATIONS, STEPS
from extractor.core.fields import DATE
from extractor.core.schema import FIELDS
from extractor.errors import StoreError

MAX_PAGE = 500


@dataclass(frozen=True)
class Filter:
    name: str        # the query parameter
    field: object    # fields.Field
    op: str          # SQL comparison

    def condition(self) -> str:
        if not self.field.item:
            return f"d.[{self.field.column}] {self.op} ?"
        return (f"exists (select 1 from items i where i.sha256 = d.sha256 "
                f"and i.[{self.field.column}] {self.op} ?)")


def _filters() -> list[Filter]:
    out = []
    for f in FIELDS.values():
        if not f.spec.filter:
            continue
        if f.kind == DATE:
            out += [Filter(f"{f.flat}_from", f, ">="), Filter(f"{f.flat}_to", f, "<=")]
        else:
            out.append(Filter(f.flat, f, "="))
    return out


FILTERS = _filters()
# Summary columns of a letter: its single values (lists and items are in the record).
SUMMARY = [f for f in FIELDS.values() if not f.item and not f.is_list]


def connect(path: str | Path) -> sqlite3.Connection:
    """A read-only connection to a results database of the current schema. (Upgrading an
    older one writes; the service never does, so it asks the user to.)"""
    p = Path(path)
    if not p.is_file():
        raise StoreError(f"{p}: no such database file")
    conn = sqlite3.connect(f"file:{quote(str(p.resolve()))}?mode=ro", uri=True)
    try:
        applied = {name for (name,) in conn.execute(
            "select name from _sqlite_migrations where migration_set = ?", (MIGRATIONS.name,))}
    except sqlite3.Error:
        applied = set()
    problem = _schema_problem(applied)
    if problem:
        conn.close()
        raise StoreError(f"{p}: {problem}")
    return conn


def _schema_problem(applied: set[str]) -> str | None:
    known = {step.__name__ for step in STEPS}
    if not applied:
        return "not a results database (make one with `imr-extract batch PATH... --db FILE`)"
    if applied - known:
        return "written by a newer imr-extract; upgrade imr-extract"
    if known - applied:
        return ("an older schema: upgrade it once with `imr-extract summary --db FILE` "
                "(the service only reads)")
    return None


def letters(conn: sqlite3.Connection, given: dict, limit: int = 50, offset: int = 0) -> dict:
    """One page of extracted letters matching `given` ({parameter: value}), path order."""
    used = [f for f in FILTERS if given.get(f.name) is not None]
    where = " and ".join(["l.status = 'done'", *(f.condition() for f in used)])
    args = [given[f.name] for f in used]
    base = f"from determinations d join letters l using (sha256) where {where}"
    total = conn.execute(f"select count(*) {base}", args).fetchone()[0]
    columns = ", ".join(f"d.[{f.column}]" for f in SUMMARY)
    rows = conn.execute(f"select d.sha256, l.path, {columns}, d.items {base} "
                        "order by l.path, d.sha256 limit ? offset ?", [*args, limit, offset])
    names = ["sha256", "path", *(f.flat for f in SUMMARY), "items"]
    return {"total": total, "limit": limit, "offset": offset,
            "letters": [dict(zip(names, row, strict=True)) for row in rows]}


def record_json(conn: sqlite3.Connection, sha256: str) -> str | None:
    row = conn.execute("select r.record_json from records r join letters l "
                       "using (sha256) where r.sha256 = ? and l.status = 'done'",
                       (sha256,)).fetchone()
    return row[0] if row else None
