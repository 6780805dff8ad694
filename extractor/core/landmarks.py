"""Is this document an IMR letter? Several independent landmarks must agree.

A news article or an appeal letter quotes "MAXIMUS Federal Services" or
"Independent Medical Review"; only a letter also has the letter's own layout.
The rule (also in the README, "What counts as an IMR letter"): the normalized
text must name

  1. the reviewer organisation: MAXIMUS;
  2. the review: "Independent Medical Review" or "IMR";
  3. a determination written as the letter writes it: the heading HOW THE IMR
     FINAL DETERMINATION WAS MADE, a "Final Determination:" label, an item
     heading ending ": Upheld" / ": Overturned", UPHOLD / OVERTURN in capitals,
     or "is (not) medically necessary and appropriate";
  4. at least two landmarks of the letter's layout, of different kinds: its
     section headings (each section of `lexicon.LANDMARKS` is a kind), an item
     paragraph label, a header block (two different header labels) and a case
     number shaped like one. The headings and labels are the lexicon's, so a new
     layout added there is recognised here too.

Every pattern is a literal alternation or a bounded one anchored on a literal,
so each search is linear in the text; kinds are counted cheapest first and only
until there are enough.
"""

from __future__ import annotations

import re

from extractor.core import lexicon as lx

ISSUER = re.compile(r"\bMAXIMUS\b", re.IGNORECASE)
REVIEW = re.compile(r"Independent Medical Review|\bIMR\b", re.IGNORECASE)
DETERMINATION = re.compile(
    r"HOW THE IMR FINAL DETERMINATION WAS MADE|Final Determination:|"
    r": ?(?:Upheld|Overturned)\b|\b(?:UPHOLD|OVERTURN)\b|"
    r"\b(?:is|are) (?:not )?medically necessary and appropriate")
HEADINGS, SECTION_OF = lx.landmark_pattern()
MIN_LAYOUT = 2


def missing(norm: str) -> list[str]:
    """What `norm` lacks to count as an IMR letter; empty when it is one."""
    lacks = [name for name, rx in (("MAXIMUS", ISSUER), ("Independent Medical Review", REVIEW),
                                   ("a determination", DETERMINATION)) if not rx.search(norm)]
    if layout_kinds(norm, MIN_LAYOUT) < MIN_LAYOUT:
        lacks.append("the letter's own section headings or labels")
    return lacks


def layout_kinds(norm: str, enough: int) -> int:
    """How many kinds of layout landmark `norm` has, counting no further than `enough`."""
    sections: set[str] = set()
    for m in HEADINGS.finditer(norm):
        sections.add(SECTION_OF[m.group()])
        if len(sections) >= enough:
            return len(sections)
    kinds = len(sections)
    for present in (lambda: lx.CASE_NUMBER.search(norm) is not None,
                    lambda: bool(lx.ITEM_LABELS.find(norm, 0, len(norm))),
                    lambda: _header_block(norm)):
        if kinds >= enough:
            break
        kinds += present()
    return kinds


def _header_block(norm: str) -> bool:
    """Two different header fields labelled ('Case Number:', 'Date Assigned:'...)."""
    return len({path for path, _, _ in lx.HEADER_LABELS.find(norm, 0, len(norm))}) >= 2
