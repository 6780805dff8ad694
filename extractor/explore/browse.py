"""`imr-extract browse`: the results database in Datasette, with metadata.

The metadata (titles, column descriptions, facets, the example queries as canned
queries) is built here: column descriptions of field columns come from the field
table, so a field added to the schema is described without an edit here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from extractor.batch.store import ITEM_FIELDS, LETTER_FIELDS
from extractor.errors import UsageError
from extractor.explore import queries

TABLES = {
    "item_decisions": ("Item decisions", ("One row per disputed item, with its letter's "
                       "path, case number, decision date and reviewer specialty: filter and "
                       "facet here, no join needed.")),
    "letters_overview": ("Letters", ("One row per input file: status, header values, counts "
                         "of items, rejected values and warnings.")),
    "overturn_by_category": ("Overturn rate by category", "Items per treatment category."),
    "overturn_by_year": ("Overturn rate by decision year", "Items per year of the decision."),
    "guideline_citations": ("Cited MAXIMUS guidelines", "How often each guideline is cited."),
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
}
FACETS = {
    "item_decisions": ["decision", "category", "outcome", "specialty", "decision_year"],
    "letters_overview": ["status", "outcome", "specialty"],
    "items": ["decision", "category"],
    "determinations": ["outcome"],
    "specialties": ["kind", "name"],
    "letters": ["status", "format"],
}
VIEW_SOURCES = {"item_decisions": ("determinations", "items"),
                "letters_overview": ("determinations",)}


def _field_descriptions() -> dict[str, dict[str, str]]:
    return {"determinations": {f.column: f.spec.description for f in LETTER_FIELDS},
            "items": {f.column: f.spec.description for f in ITEM_FIELDS}}


def metadata(db_path: str | Path) -> dict:
    """Datasette metadata for one results database."""
    fields = _field_descriptions()
    tables = {}
    for table, (title, description) in TABLES.items():
        described = dict(COLUMNS)
        for source in VIEW_SOURCES.get(table, (table,)):
            described.update(fields.get(source, {}))
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


def serve(db_path: str, host: str, port: int, open_browser: bool) -> int:
    """Run Datasette on the database until it is stopped; its exit code."""
    try:
        import datasette  # noqa: F401  (only to say clearly what is missing)
    except ImportError:
        raise UsageError("browse needs Datasette: pip install 'imr-extract[browse]'") from None
    with tempfile.TemporaryDirectory(prefix="imr-extract-") as tmp:
        meta = Path(tmp) / "metadata.json"
        meta.write_text(json.dumps(metadata(db_path), indent=2), encoding="utf-8")
        os.chmod(meta, 0o600)
        argv = [sys.executable, "-m", "datasette", "serve", str(db_path), "--metadata",
                str(meta), "--host", host, "--port", str(port),
                "--setting", "default_facet_size", "20"]
        if open_browser:
            argv.append("--open")
        try:
            return subprocess.call(argv)
        except KeyboardInterrupt:  # Datasette got the Ctrl-C too and stops by itself
            return 130
