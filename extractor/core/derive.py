"""Derived fields: values the verifier computes from verified ones, never claimed.

Each derived value carries the evidence of what it was derived from, so it is
as grounded as the values behind it. This module is where the derived fields
of the schema (Spec with no `verify` kind) are "parsed".
"""

from __future__ import annotations

from extractor.core.categories import classify
from extractor.core.schema import Evidence, Item, Record


def item_values(j: int, item: Item, fields: dict, record: Record) -> None:
    decision = fields.get("items.decision")
    if decision is not None:
        item.medically_necessary = item.decision == "overturned"
        record.evidence.append(decision.evidence.model_copy(
            update={"field": f"items[{j}].medically_necessary"}))
    treatment = fields["items.treatment"].evidence
    category, span = classify(item.treatment, item.medication is not None)
    item.category = category
    ev = treatment
    if span is not None:
        ev = _locate(treatment, item.treatment[span[0]:span[1]])
    elif item.medication is not None:
        ev = fields["items.medication.name"].evidence
    record.evidence.append(ev.model_copy(update={"field": f"items[{j}].category"}))


def _locate(outer: Evidence, words: str) -> Evidence:
    """Evidence narrowed to `words` inside an exact span; else the whole span."""
    i = outer.quote.find(words)
    if i < 0 or outer.match != "exact":
        return outer
    return Evidence(field=outer.field, quote=words, start=outer.start + i,
                    end=outer.start + i + len(words), match="exact")


def letter_values(record: Record) -> None:
    decisions = [item.decision for item in record.items]
    if not decisions:
        return
    if None in decisions:
        record.warnings.append("outcome left empty: not every item has a verified decision")
        return
    if all(d == "upheld" for d in decisions):
        record.outcome = "upheld"
    elif all(d == "overturned" for d in decisions):
        record.outcome = "overturned"
    else:
        record.outcome = "partially_overturned"
    for ev in list(record.evidence):
        if ev.field.endswith(".decision"):
            record.evidence.append(ev.model_copy(update={"field": "outcome"}))
