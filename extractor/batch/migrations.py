"""The results database's schema, step by step: its migrations and the machinery that
applies them.

The schema evolves by migrations (sqlite-utils `Migrations`, recorded in
`_sqlite_migrations`); opening a database (`store.Store`) applies the missing ones, in
one write transaction. A migration, once released, is never edited: later changes are
new migrations.

To add one: write `def m009_what_it_does(db: Database) -> None` below the last one
(docstring: what changes and why), append it to `STEPS`, and test the upgrade from the
previous version in tests/test_store.py (`Store(path, version=...)` opens at an older
step). `SCHEMA_VERSION` follows from `STEPS`.
"""

from __future__ import annotations

import json
import math
import sqlite3
from contextlib import contextmanager

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from extractor.batch.specialty_names import canonical
from extractor.core.vocab import normalise


def m001_initial(db: Database) -> None:
    db["runs"].create({
        "id": int, "started": str, "ended": str, "status": str, "backend": str, "model": str,
        "prompt_version": str, "fingerprint": str, "concurrency": int, "paths": str,
        "letters": int, "done": int, "skipped": int, "failed": int, "rejected": int,
        "prompt_tokens": int, "completion_tokens": int,
    }, pk="id")
    db["letters"].create({
        "id": int, "sha256": str, "path": str, "format": str, "size": int, "status": str,
        "error": str, "fingerprint": str, "run_id": int, "updated": str,
    }, pk="id", not_null=["path", "status"], foreign_keys=[("run_id", "runs", "id")])
    db["letters"].create_index(["sha256"], unique=True)
    db["letters"].create_index(["path"])
    db["letters"].create_index(["status"])
    db["determinations"].create({
        "sha256": str, "case_number": str, "date_assigned": str, "decision_date": str,
        "ur_denial_date": str, "application_received": str, "priority": str,
        "patient_age": int, "patient_sex": str, "date_of_injury": str,
        "reviewer_specialties": str, "reviewer_subspecialties": str, "licensed_states": str,
        "diagnoses": str, "outcome": str, "items": int, "rejected": int, "warnings": str,
        "backend": str, "model": str, "prompt_version": str,
        "prompt_tokens": int, "completion_tokens": int, "record_json": str,
    }, pk="sha256", not_null=["record_json"], foreign_keys=[("sha256", "letters", "sha256")])
    for column in ("case_number", "decision_date", "date_assigned", "ur_denial_date",
                   "date_of_injury", "outcome"):
        db["determinations"].create_index([column])
    db["items"].create({
        "sha256": str, "item": int, "treatment": str, "decision": str,
        "medically_necessary": int, "category": str, "quantity": int, "medication_name": str,
        "medication_strength": str, "claims_administrator_guideline": str,
        "maximus_guideline": str, "rationale": str,
    }, pk=("sha256", "item"), foreign_keys=[("sha256", "determinations", "sha256")])
    for columns in (["decision"], ["category", "decision"], ["maximus_guideline"]):
        db["items"].create_index(columns)
    for table in ("evidence", "rejected"):
        db[table].create({
            "sha256": str, "field": str, "item": int,
            **({"quote": str, "quote_start": int, "quote_end": int, "match_level": str}
               if table == "evidence" else {"value": str, "quote": str, "reason": str}),
        }, foreign_keys=[("sha256", "determinations", "sha256")])
        db[table].create_index(["sha256"])  # no index on field: it would touch ~30 pages a letter


def m002_specialties_fts(db: Database) -> None:
    """Reviewer specialties as rows (indexed) and full-text search on items."""
    db["specialties"].create({"sha256": str, "kind": str, "name": str},
                             foreign_keys=[("sha256", "determinations", "sha256")])
    db["specialties"].create_index(["name"])
    db["specialties"].create_index(["sha256"])
    # Backfill from the stored records: a v1 database keeps every answer it had.
    for kind, path in (("specialty", "$.reviewer.specialties"),
                       ("subspecialty", "$.reviewer.subspecialties")):
        db.execute("insert into specialties (sha256, kind, name) select d.sha256, ?, j.value "
                   "from determinations d, json_each(d.record_json, ?) j", [kind, path])
    db["items"].enable_fts(["treatment", "rationale"], create_triggers=True)


def m003_runs_warned(db: Database) -> None:
    """Each run counts the letters whose record carries a warning (no items, truncated...)."""
    db["runs"].add_column("warned", int)



def m004_browse(db: Database) -> None:
    """Made for browsing (issue 14): whole records move to `records`, specialty names get
    one spelling (the letter's words stay in `as_written`), and views answer the usual
    questions without a hand-written join. Views name their columns, so a later migration
    that rebuilds a table drops and re-creates them."""
    db["records"].create({"sha256": str, "record_json": str}, pk="sha256",
                         not_null=["record_json"],
                         foreign_keys=[("sha256", "determinations", "sha256")])
    db.execute("insert into records (sha256, record_json) "
               "select sha256, record_json from determinations")
    db.execute("alter table determinations drop column record_json")  # SQLite >= 3.35
    db.execute("alter table specialties add column as_written text")
    db.execute("update specialties set as_written = name")
    for rowid, name in db.execute("select rowid, name from specialties").fetchall():
        db.execute("update specialties set name = ? where rowid = ?", [canonical(name), rowid])
    specialty = ("(select group_concat(s.name, '; ') from specialties s "
                 "where s.sha256 = d.sha256 and s.kind = 'specialty')")
    db.create_view("item_decisions", f"""
        select l.path, d.case_number, d.decision_date,
               substr(d.decision_date, 1, 4) as decision_year, d.outcome, i.item, i.treatment,
               i.decision, i.category, i.quantity, i.medication_name, i.maximus_guideline,
               {specialty} as specialty, i.sha256
        from items i join determinations d on d.sha256 = i.sha256
        join letters l on l.sha256 = i.sha256""")
    db.create_view("letters_overview", f"""
        select l.path, l.status, l.error, d.case_number, d.decision_date, d.outcome,
               d.items, d.rejected, json_array_length(d.warnings) as warnings,
               {specialty} as specialty, l.format, l.size, l.sha256
        from letters l left join determinations d on d.sha256 = l.sha256""")
    rate = ("count(*) as items, sum(decision = 'upheld') as upheld, "
            "sum(decision = 'overturned') as overturned, "
            "round(100.0 * sum(decision = 'overturned') / count(decision), 1) as overturn_pct")
    db.create_view("overturn_by_category", f"""
        select category, {rate} from item_decisions
        group by category order by items desc, category""")
    db.create_view("overturn_by_year", f"""
        select decision_year as year, {rate} from item_decisions
        group by decision_year order by decision_year""")
    db.create_view("guideline_citations", """
        select maximus_guideline as guideline, count(*) as items,
               count(distinct sha256) as letters
        from item_decisions where maximus_guideline is not null
        group by maximus_guideline order by items desc, guideline""")
    db.create_view("decisions_by_specialty", f"""
        select s.name as specialty, {rate.replace('decision', 'i.decision')}
        from specialties s join items i on i.sha256 = s.sha256
        where s.kind = 'specialty' group by s.name order by items desc, specialty""")


def m005_fts_by_writer(db: Database) -> None:
    """Full-text search is kept by the writer, a group of letters at a time (issue 12):
    the per-row triggers on `items` go. The index itself is unchanged."""
    for (name,) in db.execute("select name from sqlite_master where type = 'trigger' "
                              "and tbl_name = 'items'").fetchall():
        db.execute(f"drop trigger [{name}]")


def m006_modified_requests(db: Database) -> None:
    """A request utilization review modified: the original request and what was
    authorized, beside the treatment that went to IMR. Made here, in the migration's
    transaction, so that two batches creating one database do not race to add them."""
    for column in ("original_request", "authorized"):
        if column not in db["items"].columns_dict:
            db.execute(f"alter table items add column [{column}] text")


# -- applying them ---------------------------------------------------------
# Every migration, in order: a new one goes at the end (and nowhere else).
def m007_normalised(db: Database) -> None:
    """Normalised columns beside the values they are read from (core/vocab): body
    region, a medication's ingredients, class and DrugBank ids, the cited guideline's
    source, part, edition and topic. Items stored before get them from their stored
    treatment and guideline (their record_json stays as it was extracted). The views
    gain them, and every rate view its decided count and a 95% Wilson interval."""
    columns = ("body_region", "ingredients", "drug_class", "drug_ids", "guideline_source",
               "guideline_part", "guideline_edition", "guideline_topic")
    for column in columns:
        if column not in db["items"].columns_dict:
            db.execute(f"alter table items add column [{column}] text")
    rows = db.execute("select sha256, item, treatment, category, maximus_guideline from items "
                      "where treatment is not null").fetchall()
    for sha256, item, treatment, category, guideline in rows:
        found = {k: v[0] for k, v in normalise(treatment, category, guideline).items()}
        found = {"ingredients": [], "drug_ids": []} | found  # lists: "[]", as a save writes
        values = [json.dumps(v, ensure_ascii=False) if isinstance(v, list) else v
                  for v in map(found.get, columns)]
        db.execute(f"update items set {', '.join(f'[{c}] = ?' for c in columns)} "
                   "where sha256 = ? and item = ?", [*values, sha256, item])
    for column in ("body_region", "drug_class", "guideline_source"):
        db["items"].create_index([column, "decision"], if_not_exists=True)
    specialty = ("(select group_concat(s.name, '; ') from specialties s "
                 "where s.sha256 = d.sha256 and s.kind = 'specialty')")
    db.create_view("item_decisions", f"""
        select l.path, d.case_number, d.decision_date,
               substr(d.decision_date, 1, 4) as decision_year, d.outcome, i.item, i.treatment,
               i.decision, i.category, i.body_region, i.quantity, i.medication_name,
               i.ingredients, i.drug_class,
               case when i.original_request is null then 'as requested' else 'modified' end
                   as request,
               i.maximus_guideline, i.guideline_source, i.guideline_part, i.guideline_topic,
               {specialty} as specialty, i.sha256
        from items i join determinations d on d.sha256 = i.sha256
        join letters l on l.sha256 = i.sha256""", replace=True)
    views = {
        "overturn_by_category": ("category", "item_decisions", "category"),
        "overturn_by_year": ("decision_year as year", "item_decisions", "decision_year"),
        "overturn_by_drug_class": ("drug_class", "item_decisions where drug_class is not null",
                                   "drug_class"),
        "overturn_by_ingredient": ("j.value as ingredient",
                                   "item_decisions i, json_each(i.ingredients) j", "j.value"),
        "overturn_by_guideline": ("guideline_source as source, guideline_part as part",
                                  "item_decisions where guideline_source is not null",
                                  "guideline_source, guideline_part"),
        "overturn_by_body_region": ("body_region", "item_decisions where body_region is not "
                                    "null", "body_region"),
        "overturn_by_request": ("request", "item_decisions", "request"),
        "decisions_by_specialty": ("s.name as specialty", "specialties s join items i on "
                                   "i.sha256 = s.sha256 where s.kind = 'specialty'", "s.name"),
    }
    for name, (label, source, group) in views.items():
        order = "year" if name == "overturn_by_year" else "items desc, 1"
        db.create_view(name, _rated(label, source, group, order), replace=True)


def math_functions(conn: sqlite3.Connection) -> None:
    """The rate views take a square root (Wilson's interval). SQLite has `sqrt` only when
    built with its math functions (Debian's is; some Python builds' are not): give the
    connection Python's where it is missing."""
    try:
        conn.execute("select sqrt(4)").fetchone()
    except sqlite3.OperationalError:
        conn.create_function("sqrt", 1, _sqrt, deterministic=True)


def _sqrt(x):
    return None if x is None or x < 0 else math.sqrt(x)


def _rated(label: str, source: str, group: str, order: str) -> str:
    """Counts, and the overturn rate with its 95% Wilson interval where at least 10 items
    are decided (fewer: the rate is NULL, the counts say all there is)."""
    z, n, k = 1.959963984540054, "decided", "overturned"
    centre = f"(({k} * 1.0 / {n} + {z * z / 2!r} / {n}) / (1 + {z * z!r} / {n}))"
    half = (f"({z!r} * sqrt({k} * 1.0 / {n} * (1 - {k} * 1.0 / {n}) / {n} + {z * z / 4!r} "
            f"/ ({n} * {n})) / (1 + {z * z!r} / {n}))")
    shown = "case when decided >= 10 then round(100 * {}, 1) end"
    return f"""
        select *, items - decided as undecided,
               {shown.format(f"{k} * 1.0 / {n}")} as overturn_pct,
               {shown.format(f"max(0, {centre} - {half})")} as ci_low,
               {shown.format(f"min(1, {centre} + {half})")} as ci_high
        from (select {label}, count(*) as items,
                     coalesce(sum(decision = 'upheld'), 0) as upheld,
                     coalesce(sum(decision = 'overturned'), 0) as overturned,
                     count(decision) as decided
              from {source} group by {group})
        order by {order}"""


def m008_engine_requests(db: Database) -> None:
    """Batch engines (issue 23): each request file or provider batch, and each request in
    it (letter sha256, attempt, status, the engine's answer), so that importing resumes,
    never stores an answer twice and builds the next round. See batch/engines/ledger.py."""
    db["engine_batches"].create({
        "id": int, "created": str, "engine": str, "settings_key": str, "settings": str,
        "requests_path": str, "requests": int, "remote_id": str, "input_file_id": str,
        "output_file_id": str, "error_file_id": str, "status": str, "remote_status": str,
        "error": str, "ended": str,
    }, pk="id", not_null=["engine", "settings_key", "settings", "status"])
    db["engine_requests"].create({
        "id": int, "custom_id": str, "batch_id": int, "settings_key": str, "sha256": str,
        "path": str, "attempt": int, "status": str, "body_sha256": str, "response": str,
        "error": str, "updated": str,
    }, pk="id", not_null=["settings_key", "sha256", "path", "attempt", "status"],
        foreign_keys=[("batch_id", "engine_batches", "id")])
    db["engine_requests"].create_index(["custom_id"], unique=True)
    db["engine_requests"].create_index(["settings_key", "sha256", "attempt"])
    db["engine_requests"].create_index(["status"])
    db["engine_requests"].create_index(["batch_id"])


STEPS = (m001_initial, m002_specialties_fts, m003_runs_warned, m004_browse,
         m005_fts_by_writer, m006_modified_requests, m007_normalised,
         m008_engine_requests)
SCHEMA_VERSION = len(STEPS)
MIGRATIONS = Migrations("imr-extract")
for _step in STEPS:
    MIGRATIONS()(_step)


def migrate(db: Database, version: int = SCHEMA_VERSION) -> None:
    """Bring `db` to schema `version`, in one write transaction (safe when racing)."""
    if not MIGRATIONS.pending(db):
        return
    with writing(db.conn):
        stop = STEPS[version].__name__ if version < len(STEPS) else None
        MIGRATIONS.apply(db, stop_before=stop)


@contextmanager
def writing(conn: sqlite3.Connection):
    """One write transaction. IMMEDIATE takes the write lock up front, so a second
    writer waits its turn (busy timeout) instead of failing half-way."""
    conn.execute("begin immediate")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:
            conn.execute("rollback")
        raise
    conn.execute("commit")


def schema_version(db: Database) -> int:
    """How many migrations `db` has applied."""
    return len(MIGRATIONS.applied(db))
