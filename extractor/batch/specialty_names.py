"""One spelling per reviewer specialty, for counting and faceting.

Letters spell a board two ways ("Physical Medicine & Rehabilitation" and "...and
Rehabilitation") or by its board's initials ("ABFP"). The store keeps the canonical
name in `specialties.name` and the letter's own words in `specialties.as_written`
(and, with offsets, in `evidence`).
"""

from __future__ import annotations

import re

# folded spelling -> the one spelling. Unknown names keep their words (see canonical()).
CANONICAL = {
    "physical medicine and rehabilitation": "Physical Medicine and Rehabilitation",
    "pm and r": "Physical Medicine and Rehabilitation",
    "abpmr": "Physical Medicine and Rehabilitation",
    "abfp": "Family Medicine",  # American Board of Family Practice
    "abfm": "Family Medicine",
    "family practice": "Family Medicine",
    "orthopaedic surgery": "Orthopedic Surgery",
    "occupational medicine": "Occupational Medicine",
    "anesthesiology": "Anesthesiology",
    "pain medicine": "Pain Medicine",
    "pain management": "Pain Medicine",
    "sports medicinea": "Sports Medicine",  # a misprint of published letters (CM16-0238035)
}
_NOT_WORD = re.compile(r"[^a-z0-9]+")
_SPACES = re.compile(r"\s+")
_AMPERSAND = re.compile(r"\s*&\s*")


def fold(name: str) -> str:
    """Lower case, '&' as 'and', punctuation and runs of spaces as one space."""
    return _NOT_WORD.sub(" ", _AMPERSAND.sub(" and ", name.lower())).strip()


def canonical(name: str) -> str:
    """The one spelling of a specialty; a name not in the table gets '&' spelled 'and'
    and its spaces collapsed, so two spellings of it still meet."""
    known = CANONICAL.get(fold(name))
    if known:
        return known
    return _AMPERSAND.sub(" and ", _SPACES.sub(" ", name).strip())
