"""Rules extractor: deterministic, offline, milliseconds per letter.

It reads the normalized view of the letter (one line, single spaces, emphasis
and page furniture gone), so CRLF, hard wraps, reflowed paragraphs and the
markdown/HTML exports all look alike. Sections are found by their landmarks
(any order, any heading wording in `lexicon.LANDMARKS`); labels and words come
from the lexicon and the field table, so a new layout is a table row. Every
match is a `Claim` whose quote is the letter's own text at that spot; the
verifier decides what is kept. It never guesses: a field with no matching
phrase is simply not claimed.

One module per part of the letter, in reading order:
  sections.py  where the header, credentials, summary and issues sections lie
  header.py    the header block, the Final Determination sentence, the credentials
  summary.py   the worker (age, sex, date of injury), the UR denial date, diagnoses
  items.py     item segmentation: where each disputed item begins and ends
  blocks.py    the same for the earliest letters, which give each value in a block
  item.py      one item's values (treatment, modified request, decision, quantity,
               medication, its labelled paragraphs)
  view.py      what they share: the normalized text and claiming a span of it
"""

from __future__ import annotations

from extractor.backends.rules import blocks, header, items, sections, summary
from extractor.backends.rules.view import View
from extractor.core.fields import Claim
from extractor.core.ingest import Document


def extract(doc: Document) -> tuple[list[Claim], list[str]]:
    """All claims the rules can make for this letter, plus warnings."""
    view = View(doc=doc, norm=doc.index.norm, claims=[], warnings=[])
    bounds = sections.find(view)
    header.read_header(view, bounds["header"])
    header.read_filed(view, bounds["header"])
    header.read_outcome(view, bounds["header"])
    header.read_reviewer(view, bounds["credentials"])
    summary.read_patient(view, bounds["summary"])
    summary.read_diagnoses(view, bounds["summary"])
    if not blocks.read(view):
        items.read(view, bounds["issues"])
    return view.claims, view.warnings
