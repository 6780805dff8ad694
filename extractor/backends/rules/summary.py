"""The case summary: the worker's age, sex and date of injury, the UR denial date and
the diagnoses."""

from __future__ import annotations

import re

from extractor.backends import listed
from extractor.backends.rules.view import Ahead, View, list_claims, sentence_start
from extractor.core import lexicon as lx
from extractor.core.dates import DATE, find_dates
from extractor.core.table import FIELDS

LIST_MAX = 600  # longest diagnosis list read (the letters': 61 characters)


def read_patient(view: View, bounds: tuple[int, int]) -> None:
    lo, hi = bounds
    m = lx.AGE.search(view.norm, lo, hi)
    sex = None
    if m:
        view.claim("patient.age", int(m.group("age") or m.group("age2")), m.start(), m.end())
        sex = m.group("sex") or m.group("sex2")
        if sex:
            view.claim("patient.sex", _sex(sex), m.start(), m.end())
    s = lx.SEX.search(view.norm, lo, hi)
    if s and not sex:
        start = sentence_start(view.norm, s.start(), lo)
        view.claim("patient.sex", _sex(s.group("sex")), start, s.end())
    for inj in lx.INJURY.finditer(view.norm, view.folded, lo, hi):
        d = DATE.match(view.norm, inj.end())
        iso = find_dates(d.group()) if d else []
        if iso:
            view.claim("patient.date_of_injury", iso[0][0], inj.start(), d.end())
            break
    _ur_denial(view, lo, hi)


_SEX = lx.words_pattern(FIELDS["patient.sex"].words)


def _sex(said: str) -> str:
    return lx.word_of(_SEX.match(said))


UR = lx.Keyed(re.compile(r"utilization review(?: \w+){0,3}? (?:dated |of |on |from )?(?P<date>"
                         + DATE.pattern + ")", re.IGNORECASE), ("utilization review",))
DENIED = re.compile(r"non-?certif|denied|denial|deny|not certif|modif|not medically necessary",
                    re.IGNORECASE)


_SENTENCE_STOP = re.compile(r"\. ")


def _ur_denial(view: View, lo: int, hi: int) -> None:
    """The first utilization review date whose sentence says the request was denied."""
    stops, denials = Ahead(_SENTENCE_STOP, view.norm, hi), Ahead(DENIED, view.norm, hi)
    for m in UR.finditer(view.norm, view.folded, lo, hi):
        iso = find_dates(m.group("date"))
        if not iso:
            continue
        stop, denied = stops.at(m.end()), denials.at(m.start())
        if denied and (stop is None or denied.start() < stop.start()):
            view.claim("ur_denial_date", iso[0][0], m.start(), m.end())
            return


# -- diagnoses -------------------------------------------------------------------
def _form(label: str, inner: str | None, end: str, barrier: str) -> listed.Form:
    return listed.Form(re.compile(label, re.IGNORECASE),
                       re.compile(inner, re.IGNORECASE) if inner else None,
                       re.compile(end), barrier, LIST_MAX)


_SENTENCE_END = r"\.(?:\s|$)|;|$"
_LIST_END = r"\.(?:\s|$)|$"  # a list whose entries a semicolon separates ("A; B; and C.")
DIAGNOSES = listed.Listed("diagnos", (  # every form starts with it
    _form(r"\bdiagnos[ie]s (?:is|are|was|were) (?:documented|noted|listed|reported) (?:as|is)"
          r":?\s*", None, _LIST_END, "."),
    _form(r"\bdiagnos[ie]s (?:that |which )?(?:included|includes|include)\b:?\s*", None,
          _LIST_END, "."),
    _form(r"\bDiagnoses (?:are|were|of)\b\s*:?\s*", None, _SENTENCE_END, ".;"),
    _form(r"\bdiagnosed with ", r" and (?:was|has|is|had)\b", _SENTENCE_END, ".;"),
    _form(r"\bdiagnosed as having ", None, _LIST_END, "."),
    _form(r"\bdiagnos[ie]s of ", r" (?:as an? |for |with |who )", _SENTENCE_END, ".;"),
    _form(r"\bDiagnos[ie]s:\s*", None, r"\.(?:\s|$)|$", "."),
))
# "The injured worker is undergoing treatment for A, B and C." ("being treated for the
# diagnoses of" is a DIAGNOSES form.)
TREATED_FOR = listed.Listed("treat", (
    _form(r"(?<=undergoing )treatments? for (?!the diagnos)|(?<=being )treated for "
          r"(?!the diagnos)", None, _LIST_END, "."),
))
_SIDE = re.compile(r"(?:" + "|".join(lx.SIDES) + r")$", re.IGNORECASE)


def read_diagnoses(view: View, bounds: tuple[int, int]) -> None:
    """Every list of diagnoses in the summary, in text order."""
    lo, hi = bounds
    spans = sorted([*DIAGNOSES.finditer(view.norm, view.folded, lo, hi),
                    *TREATED_FOR.finditer(view.norm, view.folded, lo, hi)])
    end = lo
    for start, stop in spans:
        if start >= end:
            list_claims(view, "diagnoses", start, stop, keep=_SIDE, last_and=True)
            end = stop
