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
    """The outcome from the item decisions, unless the letter's own Final Determination
    sentence gave it (then a disagreement with the items is a warning)."""
    decisions = [item.decision for item in record.items]
    if not decisions:
        record.warnings.append("no disputed items found")
        return
    if None in decisions:
        if record.outcome is None:
            record.warnings.append("outcome left empty: not every item has a verified decision")
        return
    derived = _from_decisions(decisions)
    if record.outcome is not None:
        if record.outcome != derived:
            record.warnings.append(f"outcome: the letter says {record.outcome}, "
                                   f"its item decisions say {derived}")
        return
    record.outcome = derived
    for ev in list(record.evidence):
        if ev.field.endswith(".decision"):
            record.evidence.append(ev.model_copy(update={"field": "outcome"}))


def _from_decisions(decisions: list[str]) -> str:
    if all(d == "upheld" for d in decisions):
        return "upheld"
    if all(d == "overturned" for d in decisions):
        return "overturned"
    return "partially_overturned"
