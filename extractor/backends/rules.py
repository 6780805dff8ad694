"""Rules extractor: deterministic, offline, milliseconds per letter.

It reads the normalized view of the letter (one line, single spaces, emphasis
and page furniture gone), so CRLF, hard wraps, reflowed paragraphs and the
markdown export all look alike. Every match is a `Claim` whose quote is the
letter's own text at that spot; the verifier decides what is kept. It never
guesses: a field with no matching phrase is simply not claimed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from extractor.core.dates import DATE, find_dates
from extractor.core.ingest import Document
from extractor.core.schema import Claim

# Section headings, upper case as printed (the prose says "clinical case
# summary" in lower case, which must not count).
CREDENTIALS = re.compile(r"HOW THE IMR FINAL DETERMINATION WAS MADE")
SUMMARY = re.compile(r"CLINICAL CASE SUMMARY|DOCUMENTS REVIEWED")
ISSUES = re.compile(r"IMR ISSUES,? DECISIONS,? AND RATIONALES|IMR DECISION\(S\) AND RATIONALE\(S\)")
LABELS = re.compile(r"Claims Administrator guideline:|MAXIMUS guideline:|Decision rationale:")


@dataclass
class View:
    """The letter's normalized text plus the doc, for turning spans into claims."""

    doc: Document
    norm: str
    claims: list[Claim]
    warnings: list[str]
    list_sizes: dict[str, int] = field(default_factory=dict)

    def claim(self, field: str, value, start: int, end: int) -> None:
        """Claim `value` for `field`, quoting norm[start:end] as the letter has it."""
        raw_s, raw_e = self.doc.index.span(start, end)
        # Quote the letter as stored, unless page furniture sits inside the
        # span: then quote the normalized text, which the verifier also finds.
        crosses = any(s < raw_e and raw_s < e for s, e in self.doc.furniture)
        quote = self.norm[start:end] if crosses else self.doc.text[raw_s:raw_e]
        self.claims.append(Claim(field=field, value=value, quote=quote, near=raw_s))

    def text(self, field: str, start: int, end: int) -> None:
        start, end = _trim(self.norm, start, end)
        if end > start:
            self.claim(field, self.norm[start:end], start, end)


def _trim(s: str, start: int, end: int) -> tuple[int, int]:
    while start < end and s[start] in " ,;":
        start += 1
    while end > start and s[end - 1] in " ,;":
        end -= 1
    return start, end


def extract(doc: Document) -> tuple[list[Claim], list[str]]:
    """All claims the rules can make for this letter, plus warnings."""
    view = View(doc=doc, norm=doc.index.norm, claims=[], warnings=[])
    bounds = _sections(view.norm)
    _header(view, bounds["header"])
    _reviewer(view, bounds["credentials"])
    _patient(view, bounds["summary"])
    _diagnoses(view, bounds["summary"])
    _items(view, bounds["issues"])
    return view.claims, view.warnings


def _sections(norm: str) -> dict[str, tuple[int, int]]:
    """Character ranges of header, credentials, summary and issues sections.

    A missing heading (garbled or unusual letter) widens the neighbouring
    ranges rather than losing the text."""
    cred = CREDENTIALS.search(norm)
    summ = SUMMARY.search(norm)
    issues = ISSUES.search(norm)
    first_label = LABELS.search(norm)
    n = len(norm)
    issues_start = issues.end() if issues else (_heading_before(norm, first_label.start())
                                                if first_label else n)
    summ_start = summ.end() if summ else (cred.end() if cred else 0)
    cred_start = cred.end() if cred else 0
    return {
        "header": (0, cred.start() if cred else min(n, 1500)),
        "credentials": (cred_start, summ.start() if summ else issues_start),
        "summary": (summ_start, issues.start() if issues else issues_start),
        "issues": (issues_start, n),
    }


def _heading_before(norm: str, label_at: int) -> int:
    """Without an ISSUES heading, items start after the sentence before the first label."""
    cut = max(norm.rfind(". ", 0, label_at), norm.rfind(": ", 0, label_at - 40))
    return cut + 2 if cut >= 0 else 0


# -- header block (newer export) ------------------------------------------
HEADER_DATES = {field: re.compile(label + r"\s*") for field, label in {
    "date_assigned": r"Date Assigned:",
    "decision_date": r"Decision Date:",
    "ur_denial_date": r"UR Denial Date:",
    "application_received": r"Application Received:",
    "patient.date_of_injury": r"Date of Injury:",
}.items()}
CASE_NUMBER = re.compile(r"Case (?:Number|No\.?):\s*(?P<v>[A-Z]{2}\d{2}-\d{5,8})")
PRIORITY = re.compile(r"Priority:\s*(?P<v>Standard|Expedited)\b", re.I)


def _header(view: View, bounds: tuple[int, int]) -> None:
    lo, hi = bounds
    seg = view.norm[:hi]
    m = CASE_NUMBER.search(seg, lo)
    if m:
        view.claim("case_number", m.group("v"), m.start("v"), m.end("v"))
    for field, label in HEADER_DATES.items():
        m = label.search(seg, lo)
        d = DATE.match(seg, m.end()) if m else None
        if d:
            iso = find_dates(d.group())
            if iso:
                view.claim(field, iso[0][0], m.start(), d.end())
    m = PRIORITY.search(seg, lo)
    if m:
        view.claim("priority", m.group("v").lower(), m.start(), m.end())


# -- reviewer credentials ---------------------------------------------------
_STOP = r"(?=,| and is\b| and has\b| who\b| with\b|\.(?:\s|$)|$)"
BOARD = re.compile(r"Board[ -]Certified(?: in)? (?P<v>[A-Z][^,.]*?)" + _STOP)
SUBSPECIALTY = re.compile(r"subspecialty in (?P<v>[A-Z][^,.]*?)" + _STOP)
LICENSED = re.compile(r"licensed to practice in (?P<v>[A-Z][A-Za-z]+(?: [A-Z][A-Za-z]+)*"
                      r"(?:(?:,| and|, and) [A-Z][A-Za-z]+(?: [A-Z][A-Za-z]+)*)*)")
LABELLED = {
    "reviewer.licensed_states": re.compile(r"State\(s\) of Licensure:\s*"),
    "reviewer.specialties": re.compile(r"Certification\(s\)/Specialty:\s*"),
}
_LABEL_END = re.compile(r" (?:State\(s\) of Licensure:|Certification\(s\)/Specialty:|"
                        r"CLINICAL CASE SUMMARY|DOCUMENTS REVIEWED|[A-Z][A-Z ]{12,})")
_SPLIT = re.compile(r",? and |, |; ")
_SPLIT_LIST = re.compile(r", |; ")


def _reviewer(view: View, bounds: tuple[int, int]) -> None:
    lo, hi = bounds
    for m in BOARD.finditer(view.norm, lo, hi):
        _list_claims(view, "reviewer.specialties", m.start("v"), m.end("v"), split=False)
    for m in SUBSPECIALTY.finditer(view.norm, lo, hi):
        _list_claims(view, "reviewer.subspecialties", m.start("v"), m.end("v"), split=False)
    for m in LICENSED.finditer(view.norm, lo, hi):
        _list_claims(view, "reviewer.licensed_states", m.start("v"), m.end("v"))
    for field, label in LABELLED.items():
        for m in label.finditer(view.norm, lo, hi):
            end = _label_value_end(view, m.end(), hi)
            _list_claims(view, field, m.end(), end, split_and=False)


def _label_value_end(view: View, start: int, hi: int) -> int:
    """A labelled value ends at the line break, the next label or a heading."""
    raw_start = view.doc.index.raw_start(start) if start < len(view.norm) else len(view.doc.text)
    newline = view.doc.text.find("\n", raw_start)
    end = hi if newline < 0 else min(hi, view.doc.index.norm_pos(newline))
    nxt = _LABEL_END.search(view.norm, start, end)
    return nxt.start() if nxt else end


def _list_claims(view: View, field: str, start: int, end: int, split: bool = True,
                 split_and: bool = True) -> None:
    if not split:
        view.text(f"{field}[{_count(view, field)}]", start, end)
        return
    pattern = _SPLIT if split_and else _SPLIT_LIST
    pos = start
    for sep in list(pattern.finditer(view.norm, start, end)) + [None]:
        stop = sep.start() if sep else end
        view.text(f"{field}[{_count(view, field)}]", pos, stop)
        pos = sep.end() if sep else end


def _count(view: View, field: str) -> int:
    """Next index for a list field: one more each call."""
    n = view.list_sizes.get(field, 0)
    view.list_sizes[field] = n + 1
    return n


# -- patient ------------------------------------------------------------------
AGE = re.compile(r"\b(?P<age>\d{1,3})[- ](?:years?|yrs?)\.?[- ]old,?(?: (?P<sex>male|female)\b)?",
                 re.I)
SEX = re.compile(r"\b(?:(?:is|was) an? |an? )(?P<sex>male|female) (?:patient|injured worker|worker|"
                 r"employee|applicant|claimant|individual)\b", re.I)
INJURY = re.compile(r"(?:date of injury|DOI)(?: of| on| was|:)? |injur(?:y|ed|ies) (?:on|of) ",
                    re.I)


def _patient(view: View, bounds: tuple[int, int]) -> None:
    lo, hi = bounds
    m = AGE.search(view.norm, lo, hi)
    if m:
        view.claim("patient.age", int(m.group("age")), m.start(), m.end())
        if m.group("sex"):
            view.claim("patient.sex", m.group("sex").lower(), m.start(), m.end())
    s = SEX.search(view.norm, lo, hi)
    if s and not (m and m.group("sex")):
        start = _sentence_start(view.norm, s.start(), lo)
        view.claim("patient.sex", s.group("sex").lower(), start, s.end())
    for inj in INJURY.finditer(view.norm, lo, hi):
        d = DATE.match(view.norm, inj.end())
        iso = find_dates(d.group()) if d else []
        if iso:
            view.claim("patient.date_of_injury", iso[0][0], inj.start(), d.end())
            break
    _ur_denial(view, lo, hi)


UR = re.compile(r"utilization review(?: \w+){0,3}? (?:dated |of |on |from )?(?P<date>"
                + DATE.pattern + ")", re.I)
DENIED = re.compile(r"non-?certif|denied|denial|deny|not certif|modif|not medically necessary", re.I)


def _ur_denial(view: View, lo: int, hi: int) -> None:
    for m in UR.finditer(view.norm, lo, hi):
        iso = find_dates(m.group("date"))
        if not iso:
            continue
        sentence_end = view.norm.find(". ", m.end())
        sentence = view.norm[m.start(): sentence_end if sentence_end > 0 else hi]
        if DENIED.search(sentence):
            view.claim("ur_denial_date", iso[0][0], m.start(), m.end())
            return


def _sentence_start(norm: str, pos: int, lo: int) -> int:
    cut = norm.rfind(". ", lo, pos)
    return cut + 2 if cut >= 0 else lo


# -- diagnoses -------------------------------------------------------------------
DIAGNOSES = re.compile(
    r"\bDiagnoses (?:include|included|are|were|of)\s*:?\s*(?P<a>[^.;]+?)(?=\.(?:\s|$)|;|$)"
    r"|\bdiagnosed with (?P<b>[^.;]+?)(?=\.(?:\s|$)|;| and (?:was|has|is|had)\b|$)"
    r"|\bdiagnos[ie]s of (?P<c>[^.;]+?)(?= as an? |\.(?:\s|$)|;| for | with | who |$)"
    r"|\bDiagnos[ie]s:\s*(?P<d>[^.;]+?)(?=\.(?:\s|$)|;|$)", re.I)


def _diagnoses(view: View, bounds: tuple[int, int]) -> None:
    lo, hi = bounds
    for m in DIAGNOSES.finditer(view.norm, lo, hi):
        group = next(g for g in "abcd" if m.group(g))
        _list_claims(view, "diagnoses", m.start(group), m.end(group))


# -- items --------------------------------------------------------------------------
HEADING = re.compile(r": ?(?P<d>Upheld|Overturned)\b(?= ?(?:Claims Administrator guideline|"
                     r"MAXIMUS guideline|Decision rationale)|\s*$)", re.I)
LEADING_COUNT = re.compile(r"(?P<n>\d{1,4}) (?!x\b|times\b|X\b)(?=\D)")
MEDICATION = re.compile(r"^(?:\d{1,4} )?(?P<name>[A-Za-z][A-Za-z-]*(?: [A-Za-z][A-Za-z-]*){0,3}?)"
                        r" (?P<strength>\d+(?:\.\d+)?(?:/\d+(?:\.\d+)?)* ?(?:mg|mcg|g|ml|%|units?)\b)",
                        re.I)
_BOUNDARY = re.compile(r"[.:?!] ")


def _items(view: View, bounds: tuple[int, int]) -> None:
    lo, hi = bounds
    norm = view.norm
    headings = list(HEADING.finditer(norm, lo, hi))
    starts = []
    floor = lo
    for h in headings:
        cut = max((b.end() for b in _BOUNDARY.finditer(norm, floor, h.start())), default=floor)
        starts.append(cut)
        floor = h.end()
    for i, h in enumerate(headings):
        region_end = starts[i + 1] if i + 1 < len(headings) else hi
        _item(view, i, starts[i], h, region_end)


def _item(view: View, i: int, start: int, heading: re.Match, end: int) -> None:
    norm = view.norm
    start, t_end = _trim(norm, start, heading.start())
    if t_end <= start:
        return
    field = f"items[{i}]"
    view.text(f"{field}.treatment", start, t_end)
    view.claim(f"{field}.decision", heading.group("d").lower(), start, heading.end())
    treatment = norm[start:t_end]
    count = LEADING_COUNT.match(treatment)
    if count:
        view.claim(f"{field}.quantity", int(count.group("n")), start, start + count.end("n"))
    med = MEDICATION.match(treatment)
    if med:
        view.text(f"{field}.medication.name", start + med.start("name"), start + med.end("name"))
        view.text(f"{field}.medication.strength", start + med.start("strength"),
                  start + med.end("strength"))
    _labels(view, field, heading.end(), end)


def _labels(view: View, field: str, lo: int, hi: int) -> None:
    found = list(LABELS.finditer(view.norm, lo, hi))
    names = {"Claims Administrator guideline:": "claims_administrator_guideline",
             "MAXIMUS guideline:": "maximus_guideline", "Decision rationale:": "rationale"}
    for j, m in enumerate(found):
        stop = found[j + 1].start() if j + 1 < len(found) else hi
        name = names[m.group()]
        if name == "rationale" and stop == len(view.norm) and _cut_off(view.norm[m.end():stop]):
            view.warnings.append(f"{field}.rationale: letter ends mid-sentence; "
                                 "rationale left out as incomplete")
            continue
        view.text(f"{field}.{name}", m.end(), stop)


def _cut_off(text: str) -> bool:
    return not _SENTENCE_END.search(text)


_SENTENCE_END = re.compile(r"[.!?\")\]]\s*$")
