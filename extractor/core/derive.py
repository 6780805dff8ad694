"""Derived fields: values the verifier computes from verified ones, never claimed.

Each derived value carries the evidence of what it was derived from, so it is
as grounded as the values behind it. This module is where the derived fields
of the schema (Spec with no `verify` kind) are "parsed".
"""

from __future__ import annotations

from extractor.core import vocab
from extractor.core.categories import classify

# The verifier builds the record as plain data (an item a dict of its values, each
# evidence entry a dict of Evidence's fields) and validates it once at the end.


def item_values(j: int, item: dict, fields: dict, tree: dict) -> None:
    decision = fields.get("items.decision")
    if decision is not None:
        item["medically_necessary"] = item["decision"] == "overturned"
        tree["evidence"].append({**decision.evidence, "field": f"items[{j}].medically_necessary"})
    treatment = fields["items.treatment"].evidence
    medication = item.get("medication") is not None
    category, span = classify(item["treatment"], medication)
    item["category"] = category
    ev = treatment
    if span is not None:
        ev = _locate(treatment, item["treatment"][span[0]:span[1]])
    elif medication:
        ev = fields["items.medication.name"].evidence
    tree["evidence"].append({**ev, "field": f"items[{j}].category"})
    normalised(j, item, fields, tree)


def normalised(j: int, item: dict, fields: dict, tree: dict) -> None:
    """The vocab fields (core/vocab/), each with the evidence of the verified value it
    was read from, narrowed to the words that name it where there are such words."""
    found = vocab.normalise(item["treatment"], item["category"], item.get("maximus_guideline"))
    for key, (value, source, span) in found.items():
        ev = fields[f"items.{source}"].evidence
        if span is not None:
            ev = _locate(ev, item[source][span[0]:span[1]])
        item[key] = value
        tree["evidence"].append({**ev, "field": f"items[{j}].{key}"})


def _locate(outer: dict, words: str) -> dict:
    """Evidence narrowed to `words` inside an exact span; else the whole span."""
    i = outer["quote"].find(words)
    if i < 0 or outer["match"] != "exact":
        return outer
    return {**outer, "quote": words, "start": outer["start"] + i,
            "end": outer["start"] + i + len(words)}


def letter_values(tree: dict) -> None:
    """The outcome from the item decisions, unless the letter's own Final Determination
    sentence gave it (then a disagreement with the items is a warning)."""
    decisions = [item.get("decision") for item in tree["items"]]
    if not decisions:
        tree["warnings"].append("no disputed items found")
        return
    if None in decisions:
        if tree.get("outcome") is None:
            tree["warnings"].append("outcome left empty: not every item has a verified decision")
        return
    derived = _from_decisions(decisions)
    if tree.get("outcome") is not None:
        if tree["outcome"] != derived:
            tree["warnings"].append(f"outcome: the letter says {tree['outcome']}, "
                                    f"its item decisions say {derived}")
        return
    tree["outcome"] = derived
    for ev in list(tree["evidence"]):
        if ev["field"].endswith(".decision"):
            tree["evidence"].append({**ev, "field": "outcome"})


def _from_decisions(decisions: list[str]) -> str:
    if all(d == "upheld" for d in decisions):
        return "upheld"
    if all(d == "overturned" for d in decisions):
        return "overturned"
    return "partially_overturned"
