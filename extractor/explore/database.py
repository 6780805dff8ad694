"""Opening a results database for reading: it must be one `batch` wrote."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from extractor.batch.migrations import MIGRATIONS
from extractor.batch.store import Store, StoreError


def open_results(path: str | Path) -> Store:
    """The store at `path`, upgraded to the current schema (so the views exist). A SQLite
    file that `batch` did not write (another tool's database, the model-call cache) is
    refused rather than given our tables."""
    try:
        with closing(sqlite3.connect(path)) as conn:  # the file exists: reading creates nothing
            found = conn.execute("select count(*) from sqlite_master where name = "
                                 "'_sqlite_migrations'").fetchone()[0] and conn.execute(
                "select count(*) from _sqlite_migrations where migration_set = ?",
                (MIGRATIONS.name,)).fetchone()[0]
    except sqlite3.Error as e:
        raise StoreError(f"{path}: cannot use as a results database: {e}") from None
    if not found:
        raise StoreError(f"{path}: not a results database (make one with "
                         "`imr-extract batch PATH... --db FILE`)")
    return Store(path)
