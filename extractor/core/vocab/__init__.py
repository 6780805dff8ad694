"""Normalised forms of verified values, stored beside them: the body region a treatment
names, a medication's ingredients, class and DrugBank ids, and the source, part, edition
and topic of the guideline the reviewer cites. The fields are declared in the schema
(Spec.vocab names the module here that reads them); derive.py puts them in the record.
"""

from __future__ import annotations

from extractor.core.vocab import drugs, guidelines, regions


def normalise(treatment: str, category: str, guideline: str | None) -> dict[str, tuple]:
    """field -> (value, the verified field it was read from, span of the words in that
    value or None for all of it), for every normalised field that has a value."""
    found: dict[str, tuple] = {}
    named = regions.region(treatment)
    if named:
        found["body_region"] = (named[0], "treatment", named[1])
    if category == "medication":
        drug = drugs.resolve(treatment)
        found |= {"ingredients": (drug.ingredients, "treatment", None),
                  "drug_class": (drug.drug_class, "treatment", None),
                  "drug_ids": (drug.ids, "treatment", None)}
    citation = guidelines.cited(guideline) if guideline else None
    if citation:
        for key in ("source", "part", "edition", "topic"):
            found[f"guideline_{key}"] = (getattr(citation, key), "maximus_guideline", None)
    return {key: found_ for key, found_ in found.items() if found_[0]}
