#!/usr/bin/env python
"""Validate the gold fixtures (no extractor code involved).

Usage:  /work/venv/bin/python evals/check_gold.py

For every ``evals/fixtures/gold/*.json``:

1. shape: exact key sets, types and enum values of the documented gold contract;
2. consistency: ``outcome`` and ``medically_necessary`` agree with the decisions;
3. grounding: every text value (diagnoses, treatment, both guidelines, rationale) occurs,
   in order, in the canonicalised text of its letter, and a modified request's
   ``original_request`` / ``authorized`` text anywhere in it (after the known fixture page
   furniture is dropped; PDFs are read with PDFium).  This catches typos in hand labels.

Exits non-zero on the first file with problems listed.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

FIX = Path(__file__).resolve().parent / "fixtures"
LETTERS, GOLD = FIX / "letters", FIX / "gold"

TOP = ["case_number", "date_assigned", "decision_date", "ur_denial_date", "application_received",
       "priority", "reviewer", "patient", "diagnoses", "items", "outcome", "_notes"]
ITEM = ["treatment", "original_request", "authorized", "decision", "medically_necessary",
        "category", "quantity", "medication", "claims_administrator_guideline",
        "maximus_guideline", "rationale"]
CATEGORIES = {"medication", "injection", "imaging", "physical_therapy", "acupuncture",
              "chiropractic", "surgery", "durable_medical_equipment", "diagnostic_test",
              "consultation", "program", "other"}
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
FURNITURE = re.compile(r"^\f?(Page \d+ of \d+|CM15-0123456)[ \t]*$", re.MULTILINE)


def canon(s: str) -> str:
    s = s.replace("<b>", "").replace("</b>", "").replace("**", "")
    s = s.translate({0x201C: '"', 0x201D: '"', 0x2018: "'", 0x2019: "'", 0xFEFF: None})
    s = re.sub(r"-[ \t]*\r?\n\s*", "-", s)
    return re.sub(r"\s+", " ", s).strip()


def letter_text(path: Path) -> str:
    raw = path.read_bytes()
    if path.suffix == ".pdf":
        import pypdfium2

        doc = pypdfium2.PdfDocument(raw)
        try:
            pages = []
            for page in doc:
                textpage = page.get_textpage()
                pages.append(textpage.get_text_range())
                textpage.close()
                page.close()
        finally:
            doc.close()
        # U+FFFE: PDFium's mark for a hyphen at a line end
        return "\n".join(pages).replace("\r\n", "\n").replace("\ufffe", "-")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")
    if path.suffix in (".html", ".htm"):  # an HTML export: tags are markup, entities text
        import html
        text = html.unescape(re.sub(r"<[^<>]{1,200}>", " ", text))
    return FURNITURE.sub("", text.replace("\r\n", "\n"))


def is_str_or_none(v) -> bool:
    return v is None or (isinstance(v, str) and v == v.strip() and v != "")


def check(path: Path) -> list[str]:
    errs: list[str] = []
    try:
        g = json.loads(path.read_text(encoding="utf-8"))
    except Exception as e:  # noqa: BLE001
        return [f"does not parse: {e}"]
    if list(g) != TOP:
        errs.append(f"top-level keys {list(g)} != {TOP}")
        return errs
    if not (g["case_number"] is None or re.fullmatch(r"CM\d{2}-\d{7}", g["case_number"])):
        errs.append("case_number")
    for k in ("date_assigned", "decision_date", "ur_denial_date", "application_received"):
        if not (g[k] is None or (isinstance(g[k], str) and DATE.fullmatch(g[k]))):
            errs.append(k)
    if g["priority"] not in (None, "standard", "expedited"):
        errs.append("priority")
    r = g["reviewer"]
    if not (isinstance(r, dict) and list(r) == ["specialties", "subspecialties", "licensed_states"]
            and all(isinstance(r[k], list) and all(isinstance(x, str) and x for x in r[k])
                    for k in r)):
        errs.append("reviewer")
    p = g["patient"]
    if not (isinstance(p, dict) and list(p) == ["age", "sex", "date_of_injury"]
            and (p["age"] is None or (type(p["age"]) is int and 0 < p["age"] < 120))
            and p["sex"] in (None, "male", "female")
            and (p["date_of_injury"] is None or DATE.fullmatch(p["date_of_injury"]))):
        errs.append("patient")
    if not (isinstance(g["diagnoses"], list) and all(isinstance(d, str) and d
                                                     for d in g["diagnoses"])):
        errs.append("diagnoses")
    if not isinstance(g["items"], list):
        return errs + ["items"]
    for n, it in enumerate(g["items"], 1):
        if list(it) != ITEM:
            errs.append(f"item {n} keys {list(it)}")
            continue
        if not (isinstance(it["treatment"], str) and it["treatment"]):
            errs.append(f"item {n} treatment")
        if it["decision"] not in ("upheld", "overturned"):
            errs.append(f"item {n} decision")
        if it["medically_necessary"] is not (it["decision"] == "overturned"):
            errs.append(f"item {n} medically_necessary")
        if it["category"] not in CATEGORIES:
            errs.append(f"item {n} category")
        if not (it["quantity"] is None or (type(it["quantity"]) is int and it["quantity"] > 0)):
            errs.append(f"item {n} quantity")
        m = it["medication"]
        if not (m is None or (isinstance(m, dict) and list(m) == ["name", "strength"]
                              and isinstance(m["name"], str) and m["name"]
                              and is_str_or_none(m["strength"]))):
            errs.append(f"item {n} medication")
        for k in ("original_request", "authorized", "claims_administrator_guideline",
                  "maximus_guideline", "rationale"):
            if not is_str_or_none(it[k]):
                errs.append(f"item {n} {k}")
        # both null unless utilization review modified the request; what was authorized
        # is only given for a modified request, whose original request is then known
        if it["authorized"] is not None and it["original_request"] is None:
            errs.append(f"item {n} authorized without original_request")
    ds = {it.get("decision") for it in g["items"]}
    want = (None if not ds else "upheld" if ds == {"upheld"} else
            "overturned" if ds == {"overturned"} else "partially_overturned")
    if g["outcome"] != want:
        errs.append(f"outcome {g['outcome']} != {want}")
    if not (isinstance(g["_notes"], str) and g["_notes"]):
        errs.append("_notes")
    if errs:
        return errs

    # grounding: text values occur, in order, in the canonical letter text
    letter = LETTERS / path.name[: -len(".json")]
    if not letter.exists():
        return [f"no letter {letter.name}"]
    text = canon(letter_text(letter))
    for d in g["diagnoses"]:
        if d not in text:
            errs.append(f"diagnosis not in letter: {d!r}")
    # The earliest layout (MEDICAL PROFESSIONAL REVIEW) prints the guidelines of all items
    # in one block and their rationales in the next: there an item's values follow its own
    # treatment (listed under ISSUE AT DISPUTE), and the treatments follow each other.
    grouped = "medical treatment guideline(s) relied upon by professional reviewer" in text.lower()
    pos = 0
    for n, it in enumerate(g["items"], 1):
        after_treatment = pos
        # a modified request's original and authorized text may be written anywhere (the
        # case summary often says what utilization review modified): present, not in order
        for k in ("original_request", "authorized"):
            if it[k] is not None and it[k] not in text:
                errs.append(f"item {n} {k} not in letter: {it[k][:60]!r}")
        for k in ITEM:
            v = it[k]
            if k in ("treatment", "claims_administrator_guideline", "maximus_guideline",
                     "rationale") and v is not None:
                i = _find_item_text(text, k, v, it["decision"], pos)
                if i < 0:
                    errs.append(f"item {n} {k} not found (in order) in letter: {v[:60]!r}...")
                else:
                    pos = i + len(v)
                    if k == "treatment":
                        after_treatment = pos
        if grouped:
            pos = after_treatment
    return errs


def _find_item_text(text: str, key: str, value: str, decision: str, pos: int) -> int:
    """Where an item's text value is, in order. A treatment is its heading: either
    'TREATMENT: Decision' or a numbered one ('1. TREATMENT', '2) TREATMENT', '1) Regarding
    the request for TREATMENT:'), the part of a modified request that went to IMR
    ('The original request, TREATMENT is: Upheld'), or the question of a one-item
    'ISSUE AT DISPUTE:' ('Is the request for TREATMENT medically necessary ...?')."""
    if key != "treatment":
        return text.find(value, pos)
    i = text.find(f"{value}: {decision.capitalize()}", pos)
    if i < 0:  # a modified request: "The original request, TREATMENT is: Upheld"
        m = re.compile(re.escape(value) + r",? (?:is|are): " + decision.capitalize()).search(
            text, pos)
        i = m.start() if m else -1
    numbered = re.compile(r"(?<!\S)\d{1,2}[.)] (?:Regarding the request for )?" + re.escape(value)
                          + r"|ISSUE AT DISPUTE: Is the request for " + re.escape(value))
    m = numbered.search(text, pos)
    if m and (i < 0 or m.start() < i):
        return m.end() - len(value)
    return i


def main() -> int:
    files = sorted(GOLD.glob("*.json"))
    bad = 0
    for f in files:
        errs = check(f)
        if errs:
            bad += 1
            print(f"FAIL {f.name}")
            for e in errs:
                print(f"   - {e}")
    orphans = [p.name for p in LETTERS.iterdir() if not (GOLD / f"{p.name}.json").exists()]
    if orphans:
        bad += 1
        print("letters without gold:", orphans)
    print(f"{len(files)} gold files checked, {bad} with problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
