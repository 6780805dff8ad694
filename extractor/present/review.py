"""The service page's view of one letter: the highlighted letter and the panel beside it
(rejected values, then every extracted value), with the warnings above both."""

from __future__ import annotations

from typing import Any

from extractor.core.ingest import Document
from extractor.core.schema import Record
from extractor.present.highlight import esc, field_kind, letter_html, rejected_list, swatch

# Parts of the record that are about the extraction, not values of the letter.
_NOT_VALUES = ("schema_version", "source", "extractor", "evidence", "rejected", "warnings",
               "usage")


def values(data: Any, path: str = "") -> list[tuple[str, Any]]:
    """(path, value) for every value of the record: 'patient.age', 'items[0].treatment'.
    A list of plain values is one row; a list of objects (items) is walked."""
    if isinstance(data, dict):
        return [row for k, v in data.items() if not (not path and k in _NOT_VALUES)
                for row in values(v, f"{path}.{k}" if path else k)]
    if isinstance(data, list) and any(isinstance(x, dict) for x in data):
        return [row for i, v in enumerate(data) for row in values(v, f"{path}[{i}]")]
    return [(path, data)]


def value_table(record: Record) -> str:
    rows = [f'<tr data-p="{esc(p)}"><td>{swatch(field_kind(p))}{esc(p)}</td>'
            f'<td class="v">{esc(v)}</td></tr>'
            for p, v in values(record.model_dump(mode="json")) if v not in (None, [])]
    return ('<table class="rec"><tr><th>field</th><th>value</th></tr>' + "".join(rows)
            + "</table>")


def panel(record: Record, doc: Document) -> str:
    return ("<h3>Rejected</h3>" + rejected_list(record, doc)
            + "<h3>Record</h3>" + value_table(record))


def fragments(record: Record, doc: Document) -> dict[str, str]:
    """What the page shows: warnings (on top), the letter, and the panel beside it."""
    return {"warnings_html": "".join(f'<p class="warn">warning: {esc(w)}</p>'
                                     for w in record.warnings),
            "letter_html": letter_html(record, doc), "panel_html": panel(record, doc)}
