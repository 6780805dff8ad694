"""A guideline citation as source, part, edition and topic.

"Decision based on MTUS Low Back Complaints 2004, Section(s): Special Studies." is
source `mtus_acoem`, part "Low Back", edition "2004", topic "Special Studies". A
guideline value may cite several guidelines; these fields describe the first one
cited (the letters cite the MTUS first and other guidelines after it). Every
pattern here is anchored or starts at a word boundary: linear in the value's length.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

# source -> what it is (docs/fields.md); the order is the schema Literal's
SOURCES = {
    "mtus_chronic_pain": "MTUS Chronic Pain Medical Treatment Guidelines",
    "mtus_acoem": "MTUS chapters from ACOEM's Occupational Medicine Practice Guidelines",
    "mtus_acupuncture": "MTUS Acupuncture Medical Treatment Guidelines",
    "mtus_opioids": "MTUS Opioid Treatment Guidelines (2016)",
    "mtus_postsurgical": "MTUS Postsurgical Treatment Guidelines",
    "mtus_other": "another part of the MTUS",
    "odg": "Official Disability Guidelines (outside the MTUS)",
    "acoem": "ACOEM guidelines outside the MTUS",
    "other": "another citation outside the MTUS (a textbook, a paper, a web page)",
    "none": "the reviewer cited no medical evidence",
}
_TITLES = [  # (source, title pattern) of the MTUS parts and of the guidelines outside it
    ("mtus_chronic_pain", r"Chronic Pain (?:Medical )?Treatment(?: Guidelines)?"),
    ("mtus_acupuncture", r"Acupuncture (?:Medical )?Treatment(?: Guidelines)?"),
    ("mtus_opioids", r"Opioids? Treatment(?: Guidelines)?"),
    ("mtus_postsurgical", r"Post-?surgical (?:Medical )?Treatment(?: Guidelines)?"),
    ("odg", r"Official Disability Guidelines(?: \(ODG\))?|ODG"),
    ("acoem", r"(?:American College of Occupational and Environmental Medicine )?\(?ACOEM\)?"
              r"(?: Chapter \d+)?"),
    ("mtus_acoem", r"(?:Neck and Upper Back|Shoulder|Elbow|Forearm, Wrist,? and Hand|Low Back|"
                   r"Knee|Ankle and Foot|Stress Related Conditions)(?: Complaints)?|"
                   r"General Approach(?:es)?"),
]
_TITLE = re.compile("|".join(rf"\b(?P<{s}>{p})" for s, p in _TITLES), re.I)
# Parts (chapters), one spelling each, from the words of the chapter as written
_PARTS = [
    ("Neck and Upper Back", r"neck"), ("Shoulder", r"shoulder"), ("Elbow", r"elbow"),
    ("Forearm, Wrist and Hand", r"forearm|wrist|hand"), ("Low Back", r"low back|lumbar"),
    ("Knee", r"knee"), ("Ankle and Foot", r"ankle|foot"), ("Hip and Pelvis", r"hip|pelvis"),
    ("Pain", r"pain"), ("Head", r"head"), ("Hernia", r"hernia"),
    ("Mental Illness and Stress", r"mental|stress"), ("General Approaches", r"general approach"),
    ("Preface", r"preface"), ("Fitness for Duty", r"fitness for duty"),
]
_PART = re.compile("|".join(rf"\b(?P<p{i}>{p})" for i, (_, p) in enumerate(_PARTS)), re.I)
# An ODG chapter as written: up to a comma, slash, bracket or full stop, then an aside
# in brackets ("(Acute & Chronic)", "(updated 11/23/16)") and the word "Chapter"
_CHAPTER = re.compile(
    r"[\s,:-]*(?P<chapter>Forearm, Wrist,? (?:and|&) Hand|[^,/(.:]{0,60}?)\s*"
    r"(?:(?:chapter|section)\b\s*)?"
    r"(?:\([^()]{0,80}\)(?:\s*chapter\b)?[\s,/.:]*|[,/(.:]|$)", re.I)
# MTUS chapters from ACOEM (2nd edition, 2004) by number, where a letter gives no name
_ACOEM_CHAPTERS = {"7": "Independent Medical Examinations", "8": "Neck and Upper Back",
                   "9": "Shoulder", "10": "Elbow", "11": "Forearm, Wrist and Hand",
                   "12": "Low Back", "13": "Knee", "14": "Ankle and Foot"}
_CHAPTER_NUMBER = re.compile(r"\bChapter (\d+)\b", re.I)
_TOPIC = re.compile(
    r"[\s,:/-]*(?:\((?:\w+ )?\d{4}\)[\s,]*|\d{4}\b[\s,]*)?(?:\([^()]{0,80}\)\s*)?"
    r"(?:chapter\b[\s,]*)?(?:Section\(s\):\s*)?(?:\d+(?:\.\d+)*\s+)?"
    r"(?P<topic>[^,.;:]{0,120}?)\s*(?:\bpages?\b|\bPage\(s\)|[,.;:]|$)", re.I)
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
_EDITION = re.compile(r"\b\d(?:st|nd|rd|th) ed(?:ition|\.)?", re.I)
_NONE = re.compile(r"\bdid not cite\b", re.I)
_NON_MTUS = re.compile(r"\bNon-MTUS\b|\boutside (?:of )?the MTUS\b", re.I)
_MTUS = re.compile(r"\bMTUS\b|\b2nd Edition\b", re.I)
_CITATION = re.compile(r"\bDecision based on\b", re.I)


@dataclass(frozen=True)
class Citation:
    source: str
    part: str | None = None
    edition: str | None = None
    topic: str | None = None
    span: tuple[int, int] | None = None  # where in the value the cited title is


@lru_cache(maxsize=4096)  # letters repeat a handful of citations many times
def cited(value: str) -> Citation | None:
    """The first guideline the value cites, or None when it names no known source."""
    if _NONE.search(value):
        return Citation("none", span=_NONE.search(value).span())
    starts = [m.start() for m in _CITATION.finditer(value)] or [0]
    for start, end in zip(starts, [*starts[1:], len(value)], strict=True):
        found = _citation(value[start:end])
        if found:
            lo, hi = found.span
            return replace(found, span=(start + lo, start + hi))
    return None


def _citation(piece: str) -> Citation | None:
    m = _TITLE.search(piece)
    outside = _NON_MTUS.search(piece) is not None
    if m is None:
        if outside:
            return Citation("other", span=(0, len(piece)))
        mtus = _MTUS.search(piece)
        return Citation("mtus_other", span=mtus.span()) if mtus else None
    source = m.lastgroup
    if source in ("acoem", "mtus_acoem"):
        source = "acoem" if outside or not (_MTUS.search(piece) or source == "mtus_acoem") \
            else "mtus_acoem"
    rest = piece[m.end():]
    part = _part(m.group(), rest, source)
    chapter = _CHAPTER.match(rest) if source == "odg" else None
    if chapter:
        rest = rest[chapter.end():]
    return Citation(source, part, _edition(piece, source), _topic(rest, source), m.span())


def _part(title: str, rest: str, source: str) -> str | None:
    if source == "odg":
        chapter = _CHAPTER.match(rest)
        words = chapter.group("chapter") if chapter else ""
    elif source in ("acoem", "mtus_acoem"):
        words = title + " " + rest[:60]
    else:
        return None
    m = _PART.search(words)
    if m:
        return _PARTS[int(m.lastgroup[1:])][0]
    number = _CHAPTER_NUMBER.search(words)
    return _ACOEM_CHAPTERS.get(number.group(1)) if number and source != "odg" else None


def _edition(piece: str, source: str) -> str | None:
    if source in ("odg", "other", "none"):
        return None
    m = _YEAR.search(piece) or _EDITION.search(piece)
    return m.group() if m else None


def _topic(rest: str, source: str) -> str | None:
    if source == "acoem" or source == "mtus_acoem" and "Section(s)" not in rest:
        return None  # an ACOEM chapter cited by its pages names no topic
    m = _TOPIC.match(rest)  # no match: a topic longer than any real one
    return m and m.group("topic").strip() or None
