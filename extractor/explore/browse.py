"""`imr-extract browse`: the results database in Datasette, with metadata.

The metadata (titles, column descriptions, facets, the example queries as canned
queries) is built here: column descriptions of field columns come from the field
table, so a field added to the schema is described without an edit here.
"""

from __future__ import annotations

import json
import signal
import socket
import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path

from extractor.batch.store import ITEM_FIELDS, LETTER_FIELDS
from extractor.errors import Interrupted, UsageError
from extractor.explore import queries
from extractor.privacy import write_private

TABLES = {
    "item_decisions": ("Item decisions", ("One row per disputed item, with its letter's "
                       "path, case number, decision date and reviewer specialty: filter and "
                       "facet here, no join needed.")),
    "letters_overview": ("Letters", ("One row per input file: status, header values, counts "
                         "of items, rejected values and warnings.")),
    "overturn_by_category": ("Overturn rate by category", "Items per treatment category."),
    "overturn_by_year": ("Overturn rate by decision year", "Items per year of the decision."),
    "guideline_citations": ("Cited MAXIMUS guidelines", "How often each citation, as written, "
                            "is cited."),
    "overturn_by_drug_class": ("Overturn rate by drug class", "Medication items per class."),
    "overturn_by_ingredient": ("Overturn rate by drug", "Medication items per ingredient (a "
                               "combination counts for each of its ingredients)."),
    "overturn_by_guideline": ("Overturn rate by guideline", "Items per cited guideline: its "
                              "source and part (chapter)."),
    "overturn_by_body_region": ("Overturn rate by body region", "Items per body region."),
    "overturn_by_request": ("Modified requests apart", "Requests utilization review modified, "
                            "against those reviewed as made."),
    "decisions_by_specialty": ("Decisions by reviewer specialty", "One spelling per specialty."),
    "letters": ("Input files", "One row per file content; failed ones carry their error."),
    "determinations": ("Determinations", "One row per extracted letter (header values)."),
    "items": ("Items", "One row per disputed item."),
    "records": ("Whole records", "The Record JSON of each letter, exactly as extracted."),
    "evidence": ("Evidence", "The verbatim quote and offsets behind every value."),
    "rejected": ("Rejected values", "Claims the verifier refused, with the reason."),
    "specialties": ("Reviewer specialties", ("One row per specialty; `name` is canonical, "
                    "`as_written` the letter's words.")),
    "runs": ("Batch runs", "Configuration, times and counts of each batch."),
}
# Columns that are not fields of the record (those are described by the field table).
COLUMNS = {
    "sha256": "SHA-256 of the letter file: the key that joins every table",
    "path": "The letter file as the batch found it",
    "item": "Position of the item in its letter (0-based)",
    "decision_year": "Year of the decision date",
    "specialty": "Reviewer board specialty, one spelling (several joined by '; ')",
    "as_written": "The specialty in the letter's own words",
    "kind": "specialty or subspecialty",
    "status": "done or failed",
    "error": "Why the letter failed, in one line",
    "warnings": "Warnings (JSON array in determinations, a count in letters_overview)",
    "rejected": "Number of values the verifier rejected",
    "items": "Number of disputed items",
    "request": "'modified' when utilization review modified the request, else 'as requested'",
    "upheld": "Items upheld", "overturned": "Items overturned",
    "decided": "Items with a decision (upheld or overturned)",
    "undecided": "Items whose decision the letter does not give",
    "overturn_pct": "Overturned, % of decided items; empty below 10 decided items",
    "ci_low": "Lower bound of the 95% Wilson interval of overturn_pct",
    "ci_high": "Upper bound of the 95% Wilson interval of overturn_pct",
    "ingredient": "An active ingredient (generic name)",
    "source": "Source of the cited guideline (MTUS Chronic Pain, an MTUS chapter, ODG...)",
    "part": "Its chapter or part (Low Back, Pain, Shoulder...)",
}
_ITEM_FACETS = [f.column for f in ITEM_FIELDS if f.spec.filter]  # decision, category, ...
FACETS = {
    "item_decisions": [*_ITEM_FACETS, "request", "outcome", "specialty", "decision_year"],
    "letters_overview": ["status", "outcome", "specialty"],
    "items": _ITEM_FACETS,
    "determinations": ["outcome"],
    "specialties": ["kind", "name"],
    "letters": ["status", "format"],
}
VIEW_SOURCES = {"item_decisions": ("determinations", "items"),
                "letters_overview": ("determinations",)}


def _field_descriptions() -> dict[str, dict[str, str]]:
    return {"determinations": {f.column: f.spec.description for f in LETTER_FIELDS},
            "items": {f.column: f.spec.description for f in ITEM_FIELDS}}


def _columns_of(db_path: str | Path) -> dict[str, list[str]]:
    """Every table's and view's columns, as the database has them."""
    with closing(sqlite3.connect(db_path)) as conn:
        names = [n for (n,) in conn.execute(
            "select name from sqlite_master where type in ('table', 'view')")]
        return {n: [row[1] for row in conn.execute(f"pragma table_info([{n}])")]
                for n in names}


def metadata(db_path: str | Path) -> dict:
    """Datasette metadata for one results database (its columns only are described)."""
    fields = _field_descriptions()
    present = _columns_of(db_path)
    tables = {}
    for table, (title, description) in TABLES.items():
        known = dict(COLUMNS)
        for source in VIEW_SOURCES.get(table, (table,)):
            known.update(fields.get(source, {}))
        described = {c: known[c] for c in present.get(table, []) if c in known}
        tables[table] = {"title": title, "description": description, "columns": described}
        if table in FACETS:
            tables[table]["facets"] = FACETS[table]
    canned = {q.name: {"title": q.title, "description": q.description, "sql": q.sql}
              for q in queries.load()}
    return {
        "title": "IMR determinations",
        "description": "California workers' compensation Independent Medical Review final "
                       "determinations, extracted and verified by imr-extract.",
        "databases": {Path(db_path).stem: {"tables": tables, "queries": canned}},
    }


# Datasette's connections get the rate views' sqrt where SQLite lacks it (as the store's do)
SQRT_PLUGIN = """from datasette import hookimpl
from extractor.batch.migrations import math_functions


@hookimpl
def prepare_connection(conn):
    math_functions(conn)
"""


def serve(db_path: str, host: str, port: int, open_browser: bool) -> int:
    """Run Datasette on the database, in this process, until it is stopped (Ctrl-C or
    SIGTERM: uvicorn shuts down and the metadata file goes with us)."""
    try:
        from datasette.cli import serve as datasette_serve
    except ImportError:
        raise UsageError("browse needs Datasette: pip install 'imr-extract[browse]'") from None
    _check_port(host, port)
    with tempfile.TemporaryDirectory(prefix="imr-extract-") as tmp:
        meta = Path(tmp) / "metadata.json"
        write_private(meta, json.dumps(metadata(db_path), indent=2))
        plugins = Path(tmp) / "plugins"
        plugins.mkdir()
        write_private(plugins / "imr_extract_sqrt.py", SQRT_PLUGIN)
        argv = [str(db_path), "--metadata", str(meta), "--plugins-dir", str(plugins),
                "--host", host, "--port", str(port),
                "--setting", "default_facet_size", "20", *(["--open"] if open_browser else [])]
        # uvicorn shuts down on SIGINT/SIGTERM, then raises the signal again: make that
        # an exception, so this block still removes the metadata file.
        old = signal.signal(signal.SIGTERM, _terminated)
        try:
            datasette_serve.main(argv, prog_name="imr-extract browse", standalone_mode=False)
        except (KeyboardInterrupt, Interrupted):
            return 130
        finally:
            signal.signal(signal.SIGTERM, old)
    return 0


def _check_port(host: str, port: int) -> None:
    """One clear line for a port in use, before Datasette starts (it would print a
    server log and exit 3)."""
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as e:
        raise UsageError(f"cannot serve on {host}:{port}: {e.strerror or e}; choose another "
                         "--port (0: any free port) or --host") from None


def _terminated(signum, frame):
    raise SystemExit(128 + signum)
