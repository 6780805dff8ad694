"""The results database on real SQLite files: schema, migrations, writes, export."""

import csv
import io
import json
import re
import sqlite3

import pytest
from conftest import LETTERS, ORIGINALS

from extractor.batch import migrations, store
from extractor.batch.store import Letter, Store, StoreError
from extractor.core.schema import Record, record_json
from extractor.pipeline import extract_path

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
        assert migrations.schema_version(db.db) == migrations.SCHEMA_VERSION == 8
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
    assert line == record_json(record)
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


def _save_before_v3(db: Store, record: Record) -> None:
    """Write a letter as imr-extract with schema v1/v2 did: the Record JSON in
    determinations.record_json, specialties (v2) as spelled in the letter."""
    rows = store.record_rows(record)
    old = {table: [dict(zip(store.COLUMNS[table], row, strict=True)) for row in rows[table]]
           for table in ("determinations", "items", "evidence", "rejected")}
    old["determinations"][0]["record_json"] = rows["records"][0][1]
    if db.db["specialties"].exists():
        old["specialties"] = [{"sha256": sha, "kind": kind, "name": spelled}
                              for sha, kind, _, spelled in rows["specialties"]]
    db.db["letters"].insert({"sha256": record.source.sha256, "path": record.source.path,
                             "format": record.source.format, "size": record.source.chars,
                             "status": "done", "fingerprint": "fp-rules"})
    for table, values in old.items():  # the columns that version had (fields added since
        columns = db.db[table].columns_dict  # get theirs on upgrade)
        db.db[table].insert_all([{k: v for k, v in row.items() if k in columns}
                                 for row in values])


def test_a_v1_database_is_upgraded_keeping_its_data(tmp_path):
    path = tmp_path / "old.db"
    record = extract_path(ONE)
    with Store(path, version=1) as db:  # what imr-extract with schema v1 wrote
        _save_before_v3(db, record)
        assert not db.db["specialties"].exists() and not db.db["items_fts"].exists()
        assert migrations.schema_version(db.db) == 1
    with Store(path) as db:
        assert migrations.schema_version(db.db) == migrations.SCHEMA_VERSION
        assert db.is_done(record.source.sha256, "fp-rules")
        assert _save(db, extract_path(MULTI))  # and the new version writes to it
    with sqlite3.connect(path) as c:
        names = c.execute("select kind, as_written from specialties where sha256 = ? "
                          "order by rowid", (record.source.sha256,)).fetchall()
        hits = c.execute("select count(*) from items_fts where items_fts match 'acupuncture'"
                         ).fetchone()[0]
    assert names == ([("specialty", s) for s in record.reviewer.specialties]
                     + [("subspecialty", s) for s in record.reviewer.subspecialties])
    assert record.reviewer.subspecialties  # the letter exercises both kinds
    assert hits == sum("acupuncture" in (i.treatment + " " + (i.rationale or "")).lower()
                       for i in record.items) > 0


NORMALISED = ("body_region", "ingredients", "drug_class", "drug_ids", "guideline_source",
              "guideline_part", "guideline_edition", "guideline_topic")


def test_items_stored_before_normalising_get_their_normalised_columns(tmp_path):
    """A database from before m007: its items have no normalised values (here: made
    NULL by hand). Opening it fills them from the stored treatment and guideline, equal
    to what a new extraction stores, and makes the rate views."""
    path = tmp_path / "v6.db"
    record = extract_path(MULTI)
    with Store(path, version=migrations.STEPS.index(migrations.m007_normalised)) as db:
        assert _save(db, record)
        db.conn.execute(f"update items set {', '.join(f'{c} = null' for c in NORMALISED)}")
        db.conn.commit()
    with Store(path) as db:
        rows = db.conn.execute(f"select {', '.join(NORMALISED)} from items order by item")
        got = [dict(zip(NORMALISED, row, strict=True)) for row in rows]
        views = {n for (n,) in db.conn.execute("select name from sqlite_master where "
                                               "type = 'view' and name like 'overturn_by_%'")}
    want = [{c: store._cell(store.FIELDS[f"items.{c}"], item) for c in NORMALISED}
            for item in record.model_dump(mode="json")["items"]]
    assert got == want
    assert [g["drug_class"] for g in got] != [None] * len(got)  # the letter has medications
    assert {"overturn_by_drug_class", "overturn_by_guideline", "overturn_by_ingredient",
            "overturn_by_request", "overturn_by_body_region"} <= views


def test_a_database_from_before_browsing_moves_records_out_and_unifies_specialties(tmp_path):
    """Letters 001 and 003 spell one board two ways ('and', '&'); 004 names it by initials."""
    path = tmp_path / "v2.db"
    records = [extract_path(p) for p in ORIGINALS]
    # the schema just before the browsing step (other steps may come before or after it)
    with Store(path, version=migrations.STEPS.index(migrations.m004_browse)) as db:
        for record in records:
            _save_before_v3(db, record)
        indexes = {tuple(ix.columns) for ix in db.db["determinations"].indexes}
    with Store(path) as db:
        assert migrations.schema_version(db.db) == migrations.SCHEMA_VERSION
        assert "record_json" not in db.db["determinations"].columns_dict
        assert {tuple(ix.columns) for ix in db.db["determinations"].indexes} == indexes
        lines = sorted(db.record_lines())
        assert all(len(str(v)) < 2000 for table in ("letters", "determinations", "items")
                   for row in db.db[table].rows for v in row.values())
    assert lines == sorted(record_json(r) for r in records)  # byte for byte
    with sqlite3.connect(path) as c:
        spelled = dict(c.execute("select as_written, name from specialties "
                                 "where kind = 'specialty'").fetchall())
        by_specialty = dict(c.execute("select specialty, items from decisions_by_specialty"))
        item_rows = c.execute("select count(*), count(distinct path) from item_decisions"
                              ).fetchone()
    assert spelled == {"Orthopedic Surgery": "Orthopedic Surgery",
                       "Physical Medicine and Rehabilitation":
                           "Physical Medicine and Rehabilitation",
                       "Physical Medicine & Rehabilitation": "Physical Medicine and Rehabilitation",
                       "Occupational Medicine": "Occupational Medicine",
                       "ABFP": "Family Medicine"}
    assert by_specialty == {"Physical Medicine and Rehabilitation": 3 + 4,
                            "Orthopedic Surgery": 1, "Occupational Medicine": 1,
                            "Family Medicine": 1}
    assert item_rows == (sum(len(r.items) for r in records), len(records))


@pytest.mark.parametrize("spelled,one", [
    ("Physical Medicine & Rehabilitation", "Physical Medicine and Rehabilitation"),
    ("physical  medicine and rehabilitation", "Physical Medicine and Rehabilitation"),
    ("PM&R", "Physical Medicine and Rehabilitation"),
    ("Orthopaedic Surgery", "Orthopedic Surgery"),
    ("Neurology &  Psychiatry", "Neurology and Psychiatry"),  # not in the table: tidied only
])
def test_specialty_spellings_meet(spelled, one):
    from extractor.batch.specialty_names import canonical

    assert canonical(spelled) == one


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
    for table, n in [("letters", 1), ("determinations", 1), ("records", 1),
                     ("items", len(record.items)),
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


# -- full-text search kept by the writer (issue 12) ---------------------------------
def _matches(path, words: list[str]) -> dict[str, list[tuple]]:
    """For each word, the (letter, item) rows `items_fts match` finds, in order."""
    with sqlite3.connect(path) as c:
        return {w: c.execute("select i.sha256, i.item from items_fts f join items i "
                             "on i.rowid = f.rowid where items_fts match ? order by 1, 2",
                             (f'"{w}"',)).fetchall() for w in words}


def _words(records: list[Record]) -> list[str]:
    text = " ".join(f"{i.treatment} {i.rationale or ''}" for r in records for i in r.items)
    return sorted(set(re.findall(r"[a-z]{4,}", text.lower())))


def _fts_consistent(path) -> None:
    """FTS5's own check, rank 1: the index holds exactly the content table's rows."""
    with sqlite3.connect(path) as c:
        c.execute("insert into items_fts (items_fts, rank) values ('integrity-check', 1)")


def test_search_kept_by_the_writer_answers_as_the_triggers_did(tmp_path):
    records = [extract_path(p) for p in ORIGINALS]
    before = migrations.STEPS.index(migrations.m005_fts_by_writer)
    with Store(tmp_path / "triggers.db", version=before) as db:  # as imr-extract kept it
        for record in records:
            _save(db, record)
    with Store(tmp_path / "writer.db") as db:
        db.save_group([(_letter(r), store.record_rows(r)) for r in records], "fp-rules",
                      db.start_run(backend="rules"))
    words = _words(records)
    assert len(words) > 100
    want = _matches(tmp_path / "triggers.db", words)
    assert sum(map(bool, want.values())) == len(words)  # every word is found somewhere
    assert _matches(tmp_path / "writer.db", words) == want
    _fts_consistent(tmp_path / "writer.db")


def test_the_migration_drops_the_triggers_and_the_index_stays_right(tmp_path):
    path = tmp_path / "r.db"
    one, multi, third = (extract_path(p) for p in ORIGINALS[:3])
    with Store(path, version=migrations.STEPS.index(migrations.m005_fts_by_writer)) as db:
        assert _save(db, one) and _save(db, multi, "fp-a")
        assert db.db["items"].triggers  # the index was kept by triggers
    with Store(path) as db:
        assert migrations.schema_version(db.db) == migrations.SCHEMA_VERSION
        assert not db.db["items"].triggers
        assert _save(db, multi, "fp-b")  # replaces the letter: its old items leave the index
        assert _save(db, third)
    _fts_consistent(path)
    records = [one, multi, third]
    with sqlite3.connect(path) as c:
        c.execute("create virtual table ref using fts5 (treatment, rationale, content=items)")
        c.execute("insert into ref (ref) values ('rebuild')")  # from scratch, for reference
        for word in _words(records):
            rows = [c.execute(f"select rowid from {t} where {t} match ? order by 1",
                              (f'"{word}"',)).fetchall() for t in ("items_fts", "ref")]
            assert rows[0] == rows[1] and rows[0], word


def test_a_check_that_can_fail_fails_on_a_missing_index_entry(tmp_path):
    """The consistency check used above does catch an index that misses rows."""
    path = tmp_path / "r.db"
    with Store(path) as db:
        _save(db, extract_path(ONE))
    with sqlite3.connect(path) as c:
        c.execute("insert into items (sha256, item, treatment) values ('x', 0, 'unindexed')")
    with pytest.raises(sqlite3.DatabaseError):
        _fts_consistent(path)


def test_the_rate_views_work_where_sqlite_has_no_sqrt(tmp_path):
    """Some SQLite builds lack the math functions: the store gives its connections
    Python's sqrt, and the views' Wilson intervals come out the same."""
    path = tmp_path / "r.db"
    with Store(path) as db:
        assert _save(db, extract_path(MULTI))
    with sqlite3.connect(path) as c:
        want = c.execute("select * from overturn_by_category").fetchall()

    def missing(x):
        raise sqlite3.OperationalError("no such function: sqrt")

    with sqlite3.connect(path) as c:
        c.create_function("sqrt", 1, missing)  # as a build without it would answer
        with pytest.raises(sqlite3.OperationalError):
            c.execute("select sqrt(4)").fetchone()
        migrations.math_functions(c)
        assert c.execute("select sqrt(4)").fetchone() == (2.0,)
        assert c.execute("select * from overturn_by_category").fetchall() == want
