"""Is this document an IMR letter? Several independent landmarks must agree.

A news article or an appeal letter quotes "MAXIMUS Federal Services" or
"Independent Medical Review"; only a letter also has the letter's own layout.
The rule (also in the README, "Input"): the normalized text must name

  1. the reviewer organisation: MAXIMUS;
  2. the review: "Independent Medical Review" or "IMR";
  3. a determination written as the letter writes it: the heading HOW THE IMR
     FINAL DETERMINATION WAS MADE, a "Final Determination:" label, an item
     heading ending ": Upheld" / ": Overturned", or UPHOLD / OVERTURN in capitals;
  4. at least two landmarks of the letter's layout, of different kinds: its other
     section headings (CLINICAL CASE SUMMARY, DOCUMENTS REVIEWED, the items heading),
     its item labels (Claims Administrator guideline:, MAXIMUS guideline:, Decision
     rationale:), a header block (two of its labels: Case Number:, Date Assigned:...)
     and a case number shaped like one (CM14-0037910).

Every pattern is a literal or a bounded alternation anchored on a literal, so
each search is linear in the text.
"""

from __future__ import annotations

import re

ISSUER = re.compile(r"\bMAXIMUS\b", re.IGNORECASE)
REVIEW = re.compile(r"Independent Medical Review|\bIMR\b", re.IGNORECASE)
DETERMINATION = re.compile(
    r"HOW THE IMR FINAL DETERMINATION WAS MADE|Final Determination:|"
    r": ?(?:Upheld|Overturned)\b|\b(?:UPHOLD|OVERTURN)\b")

# kind -> pattern; each kind counts once however often it matches. Cheapest first
# (case-sensitive literals): most letters are settled by the first two.
LAYOUT = {
    "summary heading": re.compile(r"CLINICAL CASE SUMMARY|CASE SUMMARY:"),
    "items heading": re.compile(r"IMR ISSUES|DECISIONS?,? AND RATIONALES?|"
                                r"DECISION\(S\) AND RATIONALE\(S\)"),
    "documents heading": re.compile(r"DOCUMENTS REVIEWED"),
    "case number": re.compile(r"\b[A-Z]{2}\d{2}-\d{5,8}\b"),
    "item label": re.compile(r"Claims Administrator(?:'s)? guideline|MAXIMUS guideline|"
                             r"Decision rationale|Rationale for the decision", re.IGNORECASE),
}
# The header block counts as one kind when two different labels of it are present.
HEADER_LABELS = re.compile(r"(?:Case Number|Case No\.?|Date Assigned|Decision Date|"
                           r"UR Denial Date|Application Received|Date of Injury|Priority):",
                           re.IGNORECASE)
MIN_LAYOUT = 2


def missing(norm: str) -> list[str]:
    """What `norm` lacks to count as an IMR letter; empty when it is one."""
    lacks = [name for name, rx in (("MAXIMUS", ISSUER), ("Independent Medical Review", REVIEW),
                                   ("a determination", DETERMINATION)) if not rx.search(norm)]
    if layout_kinds(norm, MIN_LAYOUT) < MIN_LAYOUT:
        lacks.append("the letter's own section headings or labels")
    return lacks


def layout_kinds(norm: str, enough: int = len(LAYOUT) + 1) -> int:
    """How many kinds of layout landmark `norm` has, counting no further than `enough`."""
    kinds = 0
    for rx in LAYOUT.values():
        kinds += rx.search(norm) is not None
        if kinds >= enough:
            return kinds
    labels = set()
    for m in HEADER_LABELS.finditer(norm):
        labels.add(m.group().lower())
        if len(labels) == 2:
            return kinds + 1
    return kinds
