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

A heading counts only where it is written in capitals or stands on its own line
(`headings`), the same rule the rules extractor reads sections by: the words of a
heading inside a sentence ("the following clinical case summary ...") are prose.

Every pattern is a literal alternation or a bounded one anchored on a literal,
so each search is linear in the text; kinds are counted cheapest first and only
until there are enough.
"""

from __future__ import annotations

import re

from extractor.core import lexicon as lx
from extractor.core.normalize import TextIndex

ISSUER = re.compile(r"\bMAXIMUS\b", re.IGNORECASE)
REVIEW = re.compile(r"Independent Medical Review|\bIMR\b", re.IGNORECASE)
DETERMINATION = re.compile(
    r"HOW THE IMR FINAL DETERMINATION WAS MADE|Final Determination:|"
    r": ?(?:Upheld|Overturned)\b|\b(?:UPHOLD|OVERTURN)\b|"
    r"\b(?:is|are) (?:not ?)?medically necessary and appropriate")
HEADINGS, SECTION_OF = lx.landmark_pattern()
MIN_LAYOUT = 2


def missing(norm: str, found: list[re.Match]) -> list[str]:
    """What `norm` lacks to count as an IMR letter, given its `headings`; empty when
    it is one."""
    checks = (("MAXIMUS", ISSUER), ("Independent Medical Review", REVIEW),
              ("a determination", DETERMINATION))
    if norm.lstrip()[:60].upper().startswith(lx.OWN_TITLES):  # the title names the review
        checks = checks[2:]
    lacks = [name for name, rx in checks if not rx.search(norm)]
    if layout_kinds(norm, found, MIN_LAYOUT) < MIN_LAYOUT:
        lacks.append("the letter's own section headings or labels")
    return lacks


def layout_kinds(norm: str, found: list[re.Match], enough: int) -> int:
    """How many kinds of layout landmark `norm` has, counting no further than `enough`.
    The letter's body must be one of them (a section heading or an item label): a
    case number and a header block alone are what an appeal letter's "Re:" has too."""
    kinds = len({SECTION_OF[m.group()] for m in found})
    if kinds >= enough:
        return kinds
    kinds += bool(lx.ITEM_LABELS.find(norm, 0, len(norm)))
    if kinds == 0:
        return 0
    for present in (lambda: lx.CASE_NUMBER.search(norm) is not None,
                    lambda: _header_block(norm)):
        if kinds >= enough:
            break
        kinds += present()
    return kinds


def _header_block(norm: str) -> bool:
    """Two different header fields labelled ('Case Number:', 'Date Assigned:'...)."""
    return len({path for path, _, _ in lx.HEADER_LABELS.find(norm, 0, len(norm))}) >= 2


# -- section headings -------------------------------------------------------------
HEADING_LINE = 200  # how far to look for the line breaks around a heading, in characters
_MARKUP = re.compile(r"<[^<>]{0,200}>|[#*_|>\s]")


def headings(text: str, index: TextIndex) -> list[re.Match]:
    """The section landmarks of the letter that are headings (matched lower-cased).
    Found once, at ingest: the IMR check counts them, the rules cut sections at them."""
    return [m for m in HEADINGS.finditer(index.norm) if _is_heading(text, index, m)]


def _is_heading(text: str, index: TextIndex, m: re.Match) -> bool:
    """A landmark counts where it begins its line written in capitals (text may run
    on after it: a reflowed letter), or in any case where it stands on its own line,
    a colon after it allowed (bar markup: '### ', '<h3>'). The same words inside a
    sentence ("the following clinical case summary based on ...", an article that
    quotes "ISSUE AT DISPUTE:") are prose."""
    raw_s, raw_e = index.span(*m.span())
    line_s = max(text.rfind("\n", max(0, raw_s - HEADING_LINE), raw_s),
                 text.rfind("\f", max(0, raw_s - HEADING_LINE), raw_s))
    before = text[line_s + 1:raw_s] if line_s >= 0 or raw_s < HEADING_LINE else "x"
    if _MARKUP.sub("", before):
        return False
    if index.norm[m.start():m.end()].isupper():
        return True
    line_e = text.find("\n", raw_e, raw_e + HEADING_LINE)
    after = text[raw_e:line_e] if line_e >= 0 else text[raw_e:raw_e + HEADING_LINE + 1]
    return not _MARKUP.sub("", after).removeprefix(":")
