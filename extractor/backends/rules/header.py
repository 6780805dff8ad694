"""The letter's header block, its Final Determination sentence and the reviewer's
credentials: label/value pairs and the sentences that state them."""

from __future__ import annotations

import re

from extractor.backends.rules.view import Ahead, View, list_claims, sentence_start, skip_cell
from extractor.core import lexicon as lx
from extractor.core.dates import DATE, find_dates
from extractor.core.table import FIELDS

# A header value, by the kind of its field: a date, a shaped text, a word.
_WORDS = {p: re.compile("|".join(f.words), re.IGNORECASE) for p, f in FIELDS.items() if f.words}
VALUE = {p: DATE if f.kind == "date" else (f.shape or _WORDS[p]) for p, f in FIELDS.items()
         if p in lx.HEADER_FIELDS}


def read_header(view: View, bounds: tuple[int, int]) -> None:
    lo, hi = bounds
    norm = view.norm
    for path, start, end in lx.HEADER_LABELS.find(norm, lo, hi):
        at = skip_cell(norm, end)
        value = VALUE[path].match(norm, at, hi)
        if not value:
            continue
        if VALUE[path] is not DATE:  # a shaped text or a word: the value alone is its quote
            said = value.group().lower() if FIELDS[path].words else value.group()
            view.claim(path, said, at, value.end())
            continue
        iso = find_dates(value.group())
        if iso:
            view.claim(path, iso[0][0], start, value.end())


def read_filed(view: View, bounds: tuple[int, int]) -> None:
    """The application's date where a 2013 notice says it in prose ("the application for
    Independent Medical Review was filed on 9/5/2013")."""
    lo, hi = bounds
    m = lx.APPLICATION_FILED.search(view.norm, lo, hi)
    date = DATE.match(view.norm, m.end()) if m else None
    iso = find_dates(date.group()) if date else []
    if iso:
        view.claim("application_received", iso[0][0], m.start(), date.end())


def read_outcome(view: View, bounds: tuple[int, int]) -> None:
    """The letter's own Final Determination sentence (a cover page), if it has one."""
    lo, hi = bounds
    norm = view.norm
    final = lx.FINAL_LABELS.find(norm, lo, hi)
    word = lx.OUTCOME_WORDS.match(norm, skip_cell(norm, final[0][2])) if final else None
    if word:
        view.claim("outcome", lx.word_of(word), final[0][1], word.end())
    prose = lx.OUTCOME_PROSE.search(norm, view.folded, lo, hi)
    said = lx.OUTCOME_WORDS.match(norm, prose.start()) if prose else None
    if said:
        view.claim("outcome", lx.word_of(said), sentence_start(norm, prose.start(), lo),
                   said.end())


# -- reviewer credentials ---------------------------------------------------
_STOP = r"(?=,| and is\b| and has\b| who\b| with\b|\.(?:\s|$)|$)"
# Values have bounded windows ({0,N}): with an open `*?`, each of many "Board Certified
# in" before a "x.y" (a period the stop does not accept) would rescan to it: quadratic.
NAME_MAX = 150        # longest specialty name read (the letters': 36 characters)
BOARD = re.compile(rf"Board[ -]Certified(?: in)? (?P<v>[A-Z][^,.]{{0,{NAME_MAX}}}?)" + _STOP)
SUBSPECIALTY = re.compile(rf"subspecialty in (?P<v>[A-Z][^,.]{{0,{NAME_MAX}}}?)" + _STOP)
LICENSED = re.compile(r"licensed to practice in (?P<v>[A-Z][A-Za-z]+(?: [A-Z][A-Za-z]+)*"
                      r"(?:(?:,| and|, and) [A-Z][A-Za-z]+(?: [A-Z][A-Za-z]+)*)*)")
LABELLED = {
    "reviewer.licensed_states": re.compile(r"State\(s\) of Licensure:\s*"),
    "reviewer.specialties": re.compile(r"Certification\(s\)/Specialty:\s*"),
    "reviewer.subspecialties": re.compile(r"Subspecialt(?:y|ies):\s*"),
}
_LABEL_END = re.compile(r" (?:State\(s\) of Licensure:|Certification\(s\)/Specialty:|"
                        r"Subspecialt(?:y|ies):|"
                        r"CLINICAL CASE SUMMARY|DOCUMENTS REVIEWED|[A-Z][A-Z ]{12,})")


def read_reviewer(view: View, bounds: tuple[int, int]) -> None:
    lo, hi = bounds
    for m in BOARD.finditer(view.norm, lo, hi):
        list_claims(view, "reviewer.specialties", m.start("v"), m.end("v"), split=False)
    for m in SUBSPECIALTY.finditer(view.norm, lo, hi):
        list_claims(view, "reviewer.subspecialties", m.start("v"), m.end("v"), split=False)
    for m in LICENSED.finditer(view.norm, lo, hi):
        list_claims(view, "reviewer.licensed_states", m.start("v"), m.end("v"))
    for path, label in LABELLED.items():
        ends = _ValueEnds(view, hi)
        for m in label.finditer(view.norm, lo, hi):
            list_claims(view, path, m.end(), ends.at(m.end()), split_and=False)


_NEWLINE = re.compile("\n")


class _ValueEnds:
    """Where a labelled value starting at norm offset `start` ends: at the line break,
    the next label or a heading. A value wraps onto the next line when its line ends
    mid-entry ("Public Health &" / "General Preventive Medicine"), or when the next line
    is a short fragment with a heading right after it ("Occupational" / "Medicine" /
    "CLINICAL CASE SUMMARY"). Asked for growing starts; each search runs ahead once
    (many labels on one long line would otherwise each scan to its end)."""

    def __init__(self, view: View, hi: int):
        self.view, self.hi = view, hi
        self.newlines = Ahead(_NEWLINE, view.doc.text, len(view.doc.text))
        self.next_lines = Ahead(_NEWLINE, view.doc.text, len(view.doc.text))
        self.labels = Ahead(_LABEL_END, view.norm, hi)

    def at(self, start: int) -> int:
        view, index = self.view, self.view.doc.index
        raw_start = index.raw_start(start) if start < len(view.norm) else len(view.doc.text)
        newline = self.newlines.at(raw_start)
        end = self.hi if newline is None else min(self.hi, index.norm_pos(newline.start()))
        nxt = self.labels.at(start)
        if nxt is not None and nxt.start() < end:
            # the next label or heading starts before the line ends: does it fit before it?
            nxt = _LABEL_END.search(view.norm, nxt.start(), end)
            return nxt.start() if nxt else end
        if newline is None or end >= self.hi:
            return end
        return self._wrapped(start, end, newline.end(), nxt)

    def _wrapped(self, start: int, end: int, raw_next: int, nxt: re.Match | None) -> int:
        """The end of a value whose line ends at `end`, if it wraps onto the next line."""
        view, index = self.view, self.view.doc.index
        following = self.next_lines.at(raw_next)
        next_end = self.hi if following is None else min(self.hi, index.norm_pos(
            following.start()))
        stop = nxt.start() if nxt is not None and nxt.start() <= next_end else None
        if stop is None and next_end >= self.hi - 1:  # the section ends at a heading too
            stop = self.hi                             # (after the line break's space)
        if _OPEN_END.search(view.norm, start, end):
            return stop if stop is not None else next_end
        if stop is not None and _FRAGMENT.fullmatch(view.norm, end, stop):
            return stop
        return end


# A line that ends mid-entry, and a short line of words that finishes one.
_OPEN_END = re.compile(r"(?:&|,| and| of)\s*$")
_FRAGMENT = re.compile(r" ?[A-Za-z][A-Za-z&/ -]{0,40}")
