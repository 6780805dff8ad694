"""The results database on real SQLite files: schema, migrations, writes, export."""

import csv
import io
import json
import sqlite3

import pytest
from conftest import LETTERS, ORIGINALS

from extractor.batch import store
from extractor.pipeline import extract_path
from extractor.core.schema import Record
from extractor.batch.store import Letter, Store, StoreError

MULTI = LETTERS / "003_a451431fba358ec9.txt"  # 4 items, medications, subspecialty-free
ONE = LETTERS / "001_86ba345343cd3771.txt"    # 3 items, a subspecialty


def _letter(record: Record, status="done", error=None) -> Letter:
    return Letter(record.source.path, record.source.sha256, record.source.format,
                  record.source.chars, status, error)


def _save(db: Store, record: Record, fingerprint="fp-rules", run_id=None, tables=None) -> bool:
    rows = store.record_rows(record)
    if tables is not None:
        rows = {t: v for t, v in rows.items() if t in tables}
    return db.save(_letter(record), rows, fingerprint, run_id or db.start_run(backend="rules"))


def _count(path, sql, *args) -> int:
    with sqlite3.connect(path) as c:
        return c.execute(sql, args).fetchone()[0]


def test_new_database_is_wal_at_the_latest_schema_with_filter_indexes(tmp_path):
    path = tmp_path / "r.db"
    with Store(path) as db:
        assert store.schema_version(db.db) == store.SCHEMA_VERSION == 3
        assert db.db.journal_mode == "wal"
        indexed = {(t, tuple(ix.columns)) for t in ("determinations", "items", "specialties")
                   for ix in db.db[t].indexes}
        assert db.db["items_fts"].exists()
    for wanted in [("determinations", ("case_number",)), ("determinations", ("decision_date",)),
                   ("determinations", ("outcome",)), ("items", ("decision",)),
                   ("items", ("category", "decision")), ("items", ("maximus_guideline",)),
                   ("specialties", ("name",))]:
        assert wanted in indexed


def test_a_letter_fills_every_table_and_its_record_json_round_trips(tmp_path):
    record = extract_path(MULTI)
    path = tmp_path / "r.db"
    with Store(path) as db:
        assert _save(db, record)
        assert db.is_done(record.source.sha256, "fp-rules")
        assert not db.is_done(record.source.sha256, "fp-other")
        [line] = list(db.record_lines())
    assert Record.model_validate_json(line) == record
    assert line == store.record_json(record)
    sha = record.source.sha256
    for table, rows in (("items", record.items), ("evidence", record.evidence)):
        assert _count(path, f"select count(*) from {table} where sha256 = ?", sha) == len(rows)
    assert _count(path, "select count(*) from items where medication_name is not null") == \
        sum(1 for i in record.items if i.medication)
    with sqlite3.connect(path) as c:
        case, outcome, items = c.execute(
            "select case_number, outcome, items from determinations").fetchone()
        quote, start, end = c.execute(
            "select quote, quote_start, quote_end from evidence where field = 'items[1].treatment'"
        ).fetchone()
    assert (case, outcome, items) == (record.case_number, record.outcome, len(record.items))
    text = MULTI.read_text()
    assert text[start:end] == quote


def test_a_v1_database_is_upgraded_keeping_its_data(tmp_path):
    path = tmp_path / "old.db"
    record = extract_path(ONE)
    with Store(path, version=1) as db:  # what imr-extract with schema v1 wrote
        assert _save(db, record, tables={"determinations", "items", "evidence", "rejected"})
        assert not db.db["specialties"].exists() and not db.db["items_fts"].exists()
        assert store.schema_version(db.db) == 1
    with Store(path) as db:
        assert store.schema_version(db.db) == store.SCHEMA_VERSION
        assert db.is_done(record.source.sha256, "fp-rules")
        assert _save(db, extract_path(MULTI))  # and the new version writes to it
    with sqlite3.connect(path) as c:
        names = c.execute("select kind, name from specialties where sha256 = ? order by rowid",
                          (record.source.sha256,)).fetchall()
        hits = c.execute("select count(*) from items_fts where items_fts match 'acupuncture'"
                         ).fetchone()[0]
    assert names == ([("specialty", s) for s in record.reviewer.specialties]
                     + [("subspecialty", s) for s in record.reviewer.subspecialties])
    assert record.reviewer.subspecialties  # the letter exercises both kinds
    assert hits == sum("acupuncture" in (i.treatment + " " + (i.rationale or "")).lower()
                       for i in record.items) > 0


def test_a_database_from_a_newer_version_is_refused(tmp_path):
    path = tmp_path / "new.db"
    Store(path).close()
    with sqlite3.connect(path) as c:
        c.execute("insert into _sqlite_migrations (migration_set, name, applied_at) "
                  "values ('imr-extract', 'm003_from_the_future', '2030-01-01')")
    with pytest.raises(StoreError, match="newer imr-extract"):
        Store(path)


@pytest.mark.parametrize("content", [b"not a database, just text\n" * 50, b"\x00\x01" * 600])
def test_a_file_that_is_not_a_database_is_refused_in_one_line(tmp_path, content):
    path = tmp_path / "notes.db"
    path.write_bytes(content)
    with pytest.raises(StoreError) as e:
        Store(path)
    assert "\n" not in str(e.value) and str(path) in str(e.value)


def test_a_new_configuration_replaces_the_old_rows_without_duplicates(tmp_path):
    path = tmp_path / "r.db"
    record = extract_path(MULTI)
    with Store(path) as db:
        assert _save(db, record, "fp-a")
        assert not _save(db, record, "fp-a")  # done with this configuration: untouched
        assert _save(db, record, "fp-b")
        assert db.is_done(record.source.sha256, "fp-b")
    for table, n in [("letters", 1), ("determinations", 1), ("items", len(record.items)),
                     ("evidence", len(record.evidence)), ("items_fts", len(record.items))]:
        assert _count(path, f"select count(*) from {table}") == n, table


def test_a_failure_never_replaces_a_done_result(tmp_path):
    path = tmp_path / "r.db"
    record = extract_path(MULTI)
    with Store(path) as db:
        run = db.start_run(backend="llm")
        assert _save(db, record, "fp-rules")
        failed = _letter(record, "failed", "server down")
        assert not db.save(failed, None, "fp-llm", run)
        assert [json.loads(line) for line in db.record_lines()] == [record.model_dump(mode="json")]
    assert _count(path, "select count(*) from letters where status = 'done'") == 1


def test_a_letter_is_all_or_nothing(tmp_path):
    path = tmp_path / "r.db"
    record = extract_path(MULTI)
    rows = store.record_rows(record)
    rows["evidence"][-1] = rows["evidence"][-1][:-1]  # the last insert of the letter fails
    with Store(path) as db:
        with pytest.raises(sqlite3.ProgrammingError):
            db.save(_letter(record), rows, "fp", db.start_run(backend="rules"))
        assert _save(db, extract_path(ONE))  # the connection is usable afterwards
    for table in ("letters", "determinations", "items", "evidence"):
        assert _count(path, f"select count(*) from {table} where sha256 = ?",
                      record.source.sha256) == 0, table


def test_unreadable_files_are_kept_once_by_path(tmp_path):
    path = tmp_path / "r.db"
    with Store(path) as db:
        run = db.start_run(backend="rules")
        for _ in range(2):
            db.save(Letter("gone.txt", None, "text", None, "failed", "gone.txt: no such file"),
                    None, "fp", run)
    assert _count(path, "select count(*) from letters where path = 'gone.txt'") == 1


def test_csv_export_has_one_row_per_item_and_the_documented_columns(tmp_path):
    path = tmp_path / "r.db"
    records = [extract_path(p) for p in ORIGINALS]
    with Store(path) as db:
        run = db.start_run(backend="rules")
        for r in records:
            db.save(_letter(r), store.record_rows(r), "fp", run)
        out = io.StringIO()
        assert store.export_csv(db, out) == len(records)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert tuple(rows[0]) == store.CSV_COLUMNS
    assert len(rows) == sum(len(r.items) for r in records)
    by_item = {(row["sha256"], int(row["item"])): row for row in rows}
    for r in records:
        for i, item in enumerate(r.items):
            row = by_item[(r.source.sha256, i)]
            assert (row["treatment"], row["decision"], row["category"]) == \
                (item.treatment, item.decision, item.category)
            assert row["reviewer_specialties"] == "; ".join(r.reviewer.specialties)
            assert row["case_number"] == (r.case_number or "")
    documented = (LETTERS.parent.parent.parent / "docs" / "batch.md").read_text()
    for column in store.CSV_COLUMNS:
        assert f"`{column}`" in documented, column
