"""Rules extractor: deterministic, offline, milliseconds per letter.

It reads the normalized view of the letter (one line, single spaces, emphasis
and page furniture gone), so CRLF, hard wraps, reflowed paragraphs and the
markdown/HTML exports all look alike. Sections are found by their landmarks
(any order, any heading wording in `lexicon.LANDMARKS`); labels and words come
from the lexicon and the field table, so a new layout is a table row. Every
match is a `Claim` whose quote is the letter's own text at that spot; the
verifier decides what is kept. It never guesses: a field with no matching
phrase is simply not claimed.
"""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass, field

from extractor.backends import listed
from extractor.core import lexicon as lx
from extractor.core.dates import DATE, find_dates
from extractor.core.ingest import Document
from extractor.core.fields import Claim
from extractor.core.table import FIELDS

SECTION_OF = lx.landmark_pattern()[1]
# A header value, by the kind of its field: a date, a shaped text, a word.
_WORDS = {p: re.compile("|".join(f.words), re.IGNORECASE) for p, f in FIELDS.items() if f.words}
VALUE = {p: DATE if f.kind == "date" else (f.shape or _WORDS[p]) for p, f in FIELDS.items()
         if p in lx.HEADER_FIELDS}


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
        crosses = self._crosses_furniture(raw_s, raw_e)
        quote = self.norm[start:end] if crosses else self.doc.text[raw_s:raw_e]
        self.claims.append(Claim(field=field, value=value, quote=quote, near=raw_s))

    @functools.cached_property
    def folded(self) -> str | None:
        """The lower-cased text for the keyed patterns (lexicon.Keyed), once per letter."""
        return lx.ascii_folded(self.norm)

    def _crosses_furniture(self, raw_s: int, raw_e: int) -> bool:
        """Furniture spans are sorted and disjoint: one bisect finds the first that ends
        after raw_s (a scan of all of them per claim is quadratic in page breaks)."""
        furniture = self.doc.furniture
        i = bisect.bisect_right(self._furniture_ends, raw_s)
        return i < len(furniture) and furniture[i][0] < raw_e

    @functools.cached_property
    def _furniture_ends(self) -> list[int]:
        return [e for _, e in self.doc.furniture]

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
    bounds = _sections(view)
    _header(view, bounds["header"])
    _outcome(view, bounds["header"])
    _reviewer(view, bounds["credentials"])
    _patient(view, bounds["summary"])
    _diagnoses(view, bounds["summary"])
    _items(view, bounds["issues"])
    return view.claims, view.warnings


def _sections(view: View) -> dict[str, tuple[int, int]]:
    """Character ranges of header, credentials, summary and issues, by landmark.

    Each landmark is found once, wherever it is; a section runs to the next
    landmark. A missing one widens its neighbours rather than losing text: no
    credentials heading -> the reviewer is looked for before the summary; no
    summary heading -> the patient is looked for in everything before the items."""
    norm = view.norm
    found: dict[str, tuple[int, int]] = {}
    for m in view.doc.headings:  # found at ingest (core/landmarks.py)
        found.setdefault(SECTION_OF[m.group()], m.span())
    n = len(norm)
    starts = sorted(s for s, _ in found.values())

    def section(name: str, default: tuple[int, int]) -> tuple[int, int]:
        if name not in found:
            return default
        s, e = found[name]
        return e, next((x for x in starts if x > s), n)

    if "issues" in found:
        issues = section("issues", (n, n))
    else:
        labels = lx.ITEM_LABELS.find(norm, 0, n)
        issues = (_heading_before(norm, labels[0][1]), n) if labels else (n, n)
    first = starts[0] if starts else min(n, 1500)
    cred = section("credentials", (0, found.get("summary", (issues[0], 0))[0]))
    return {
        "header": (0, first),
        "credentials": cred,
        "summary": section("summary", (cred[1] if "credentials" in found else 0,
                                       found.get("issues", (issues[0],))[0])),
        "issues": issues,
    }


def _heading_before(norm: str, label_at: int) -> int:
    """Without an issues heading, items start after the sentence before the first label."""
    cut = max(norm.rfind(". ", 0, label_at), norm.rfind(": ", 0, label_at - 40))
    return cut + 2 if cut >= 0 else 0


# -- header: label/value pairs (any number to a line, tags, table cells) -------------
def _header(view: View, bounds: tuple[int, int]) -> None:
    lo, hi = bounds
    norm = view.norm
    for path, start, end in lx.HEADER_LABELS.find(norm, lo, hi):
        at = _skip_cell(norm, end)
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


def _skip_cell(norm: str, at: int) -> int:
    """Past the space and table bar between a label and its value ('Case Number: | CM1...')."""
    while at < len(norm) and norm[at] in " |":
        at += 1
    return at


def _outcome(view: View, bounds: tuple[int, int]) -> None:
    """The letter's own Final Determination sentence (a cover page), if it has one."""
    lo, hi = bounds
    norm = view.norm
    final = lx.FINAL_LABELS.find(norm, lo, hi)
    word = lx.OUTCOME_WORDS.match(norm, _skip_cell(norm, final[0][2])) if final else None
    if word:
        view.claim("outcome", lx.word_of(word), final[0][1], word.end())
    prose = lx.OUTCOME_PROSE.search(norm, view.folded, lo, hi)
    said = lx.OUTCOME_WORDS.match(norm, prose.start()) if prose else None
    if said:
        view.claim("outcome", lx.word_of(said), _sentence_start(norm, prose.start(), lo),
                   said.end())


# -- reviewer credentials ---------------------------------------------------
_STOP = r"(?=,| and is\b| and has\b| who\b| with\b|\.(?:\s|$)|$)"
# Values have bounded windows ({0,N}): with an open `*?`, each of many "Board Certified
# in" before a "x.y" (a period the stop does not accept) would rescan to it: quadratic.
NAME_MAX = 150        # longest specialty name read (the letters': 36 characters)
LIST_MAX = 600        # longest diagnosis list read (the letters': 61 characters)
BOARD = re.compile(rf"Board[ -]Certified(?: in)? (?P<v>[A-Z][^,.]{{0,{NAME_MAX}}}?)" + _STOP)
SUBSPECIALTY = re.compile(rf"subspecialty in (?P<v>[A-Z][^,.]{{0,{NAME_MAX}}}?)" + _STOP)
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
    for path, label in LABELLED.items():
        ends = _ValueEnds(view, hi)
        for m in label.finditer(view.norm, lo, hi):
            _list_claims(view, path, m.end(), ends.at(m.end()), split_and=False)


_NEWLINE = re.compile("\n")


class _ValueEnds:
    """Where a labelled value starting at norm offset `start` ends: at the line break,
    the next label or a heading. Asked for growing starts; each search runs ahead once
    (many labels on one long line would otherwise each scan to its end)."""

    def __init__(self, view: View, hi: int):
        self.view, self.hi = view, hi
        self.newlines = _Ahead(_NEWLINE, view.doc.text, len(view.doc.text))
        self.labels = _Ahead(_LABEL_END, view.norm, hi)

    def at(self, start: int) -> int:
        view, index = self.view, self.view.doc.index
        raw_start = index.raw_start(start) if start < len(view.norm) else len(view.doc.text)
        newline = self.newlines.at(raw_start)
        end = self.hi if newline is None else min(self.hi, index.norm_pos(newline.start()))
        nxt = self.labels.at(start)
        if nxt is None or nxt.start() >= end:
            return end
        # the next label or heading starts before the line ends: does it fit before it?
        nxt = _LABEL_END.search(view.norm, nxt.start(), end)
        return nxt.start() if nxt else end


def _list_claims(view: View, field: str, start: int, end: int, split: bool = True,
                 split_and: bool = True, keep: re.Pattern | None = None) -> None:
    """Claim each piece of a list; a piece that is all `keep` (a side: "..., bilateral")
    stays with the piece before it."""
    if not split:
        view.text(f"{field}[{_count(view, field)}]", start, end)
        return
    pattern = _SPLIT if split_and else _SPLIT_LIST
    pieces, pos = [], start
    for sep in list(pattern.finditer(view.norm, start, end)) + [None]:
        stop = sep.start() if sep else end
        if keep and pieces and keep.fullmatch(view.norm, pos, stop):
            pieces[-1] = (pieces[-1][0], stop)
        else:
            pieces.append((pos, stop))
        pos = sep.end() if sep else end
    for a, b in pieces:
        view.text(f"{field}[{_count(view, field)}]", a, b)


def _count(view: View, field: str) -> int:
    """Next index for a list field: one more each call."""
    n = view.list_sizes.get(field, 0)
    view.list_sizes[field] = n + 1
    return n


# -- patient ------------------------------------------------------------------
def _patient(view: View, bounds: tuple[int, int]) -> None:
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
        start = _sentence_start(view.norm, s.start(), lo)
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
DENIED = re.compile(r"non-?certif|denied|denial|deny|not certif|modif|not medically necessary", re.IGNORECASE)


_SENTENCE_STOP = re.compile(r"\. ")


def _ur_denial(view: View, lo: int, hi: int) -> None:
    """The first utilization review date whose sentence says the request was denied."""
    stops, denials = _Ahead(_SENTENCE_STOP, view.norm, hi), _Ahead(DENIED, view.norm, hi)
    for m in UR.finditer(view.norm, view.folded, lo, hi):
        iso = find_dates(m.group("date"))
        if not iso:
            continue
        stop, denied = stops.at(m.end()), denials.at(m.start())
        if denied and (stop is None or denied.start() < stop.start()):
            view.claim("ur_denial_date", iso[0][0], m.start(), m.end())
            return


class _Ahead:
    """The first match of `pattern` in text[pos:hi], asked for positions that only grow.
    The text is searched once however often it is asked: a fresh search (or slice) for
    each of many mentions, when the match is far ahead, is quadratic."""

    def __init__(self, pattern: re.Pattern, text: str, hi: int):
        self.pattern, self.text, self.hi = pattern, text, hi
        self.match: re.Match | None = None
        self.searched = False

    def at(self, pos: int) -> re.Match | None:
        if not self.searched or (self.match is not None and self.match.start() < pos):
            self.match, self.searched = self.pattern.search(self.text, pos, self.hi), True
        return self.match


def _sentence_start(norm: str, pos: int, lo: int) -> int:
    cut = norm.rfind(". ", lo, pos)
    return cut + 2 if cut >= 0 else lo


# -- diagnoses -------------------------------------------------------------------
def _form(label: str, inner: str | None, end: str, barrier: str) -> listed.Form:
    return listed.Form(re.compile(label, re.IGNORECASE),
                       re.compile(inner, re.IGNORECASE) if inner else None,
                       re.compile(end), barrier, LIST_MAX)


_SENTENCE_END = r"\.(?:\s|$)|;|$"
DIAGNOSES = listed.Listed("diagnos", (  # every form starts with it
    _form(r"\bDiagnoses (?:included|include|are|were|of)\b\s*:?\s*", None, _SENTENCE_END, ".;"),
    _form(r"\bdiagnosed with ", r" and (?:was|has|is|had)\b", _SENTENCE_END, ".;"),
    _form(r"\bdiagnos[ie]s of ", r" (?:as an? |for |with |who )", _SENTENCE_END, ".;"),
    _form(r"\bDiagnos[ie]s:\s*", None, r"\.(?:\s|$)|$", "."),
))
_SIDE = re.compile(r"(?:" + "|".join(lx.SIDES) + r")$", re.IGNORECASE)


def _diagnoses(view: View, bounds: tuple[int, int]) -> None:
    lo, hi = bounds
    for start, end in DIAGNOSES.finditer(view.norm, view.folded, lo, hi):
        _list_claims(view, "diagnoses", start, end, keep=_SIDE)


# -- items --------------------------------------------------------------------------
# Which labelled paragraph of an item a label opens, in the order letters print them; a
# label at or before the previous one's place starts the next item.
_ORDER = {path: i for i, path in enumerate(lx.ITEM_PARAGRAPHS)}
_DECISION = next(p for p in lx.ITEM_PARAGRAPHS if FIELDS[p].words)
# Where an item's text can start: after a sentence or a label ("below: "), not inside a
# treatment's own "QTY: 30".
_COUNT_LABEL = re.compile(r"(?:QTY|Qty|qty|Quantity|quantity)$")
HEADING_MAX = 400  # longest item heading or decision sentence, in characters


@dataclass
class Label:
    path: str      # field path of the paragraph it opens ('items.rationale')
    start: int
    end: int


@dataclass
class Heading:
    start: int             # where the item's text starts (its treatment)
    t_end: int             # end of the treatment
    end: int               # end of the heading (decision word / sentence included)
    decision: str | None = None
    begin: int = -1        # where the heading begins, its number included [default: start]
    said_at: int = -1      # where the decision's quote starts [default: start]

    def __post_init__(self):
        self.begin = self.start if self.begin < 0 else self.begin
        self.said_at = self.start if self.said_at < 0 else self.said_at


def _items(view: View, bounds: tuple[int, int]) -> None:
    """Segment the issues section into items, whatever form their headings take:
    'TREATMENT: Upheld', a numbered decision sentence, or a numbered (or plain)
    heading whose decision comes in its own 'Decision:' paragraph or an unlabelled one."""
    lo, hi = bounds
    labels = [Label(*found) for found in lx.ITEM_LABELS.find(view.norm, lo, hi)]
    heads: list[Heading] = []
    floor = lo
    for group in _cycles(labels):
        head = _heading(view.norm, floor, group[0].start, len(heads) + 1)
        if head is not None:
            heads.append(head)
        floor = group[-1].end
    starts = [x.start for x in labels]
    for i, head in enumerate(heads):
        end = heads[i + 1].begin if i + 1 < len(heads) else hi
        mine = labels[bisect.bisect_left(starts, head.end):bisect.bisect_left(starts, end)]
        _item(view, i, head, mine, end)
    if heads and hi == len(view.norm):
        _truncated(view, len(heads) - 1, labels, heads[-1], hi)


def _cycles(labels: list[Label]) -> list[list[Label]]:
    """Labels grouped by item: a new group when a paragraph label repeats or goes back
    (rationale, then claims administrator guideline). Decision labels join their group."""
    groups: list[list[Label]] = []
    last = None
    for x in labels:
        if x.path == _DECISION and groups:
            groups[-1].append(x)
            continue
        if last is None or _ORDER[x.path] <= last or not groups:
            groups.append([])
        groups[-1].append(x)
        last = _ORDER[x.path]
    return groups


def _heading(norm: str, floor: int, label_at: int, number: int) -> Heading | None:
    """The item heading in the text before its first label, norm[floor:label_at]."""
    end = label_at
    while end > floor and norm[end - 1] == " ":
        end -= 1
    d = lx.HEADING_DECISION.search(norm, max(floor, end - 40), end)
    if d:
        cut = _after_boundary(norm, max(floor, d.start() - HEADING_MAX), d.start(), floor)
        return Heading(cut, d.start(), d.end(), d.group("d"))
    begin, start = _numbered(norm, max(floor, end - HEADING_MAX), end, number)
    if start is None:
        begin = start = _after_boundary(norm, max(floor, end - HEADING_MAX), end - 1, floor)
    request = lx.REQUEST_FOR.match(norm, start, end)
    start = request.end() if request else start
    said = lx.DECISION_SENTENCE.search(norm, start, end)
    if said:  # the decision sentence is the heading, or a paragraph after it
        para = lx.DECISION_PARAGRAPH.search(norm, start, said.start())
        t_end, said_at = (para.start(), para.end()) if para else (said.start(), start)
        return Heading(start, t_end, said.end(), said.group("say"), begin, said_at)
    t_end = end - 1 if end > start and norm[end - 1] in ".:" else end
    return Heading(start, t_end, end, None, begin) if t_end > start else None


def _after_boundary(norm: str, lo: int, hi: int, default: int | None) -> int | None:
    """Where an item's text can start: just after the last sentence end or label colon
    ("below: ") in norm[lo:hi], not a treatment's own "QTY: 30"; else `default`."""
    cut = max(norm.rfind(". ", lo, hi), norm.rfind("? ", lo, hi), norm.rfind("! ", lo, hi))
    colon = norm.rfind(": ", lo, hi)
    while colon > cut and _COUNT_LABEL.search(norm, max(lo, colon - 8), colon):
        colon = norm.rfind(": ", lo, colon)
    cut = max(cut, colon)
    return cut + 2 if cut >= 0 else default


def _numbered(norm: str, lo: int, hi: int, number: int) -> tuple[int | None, int | None]:
    """(start, text start) of the last 'N. ' / 'N) ' in norm[lo:hi] that begins a heading:
    numbered as expected, or followed by no sentence break before the label."""
    best = (None, None)
    for m in lx.NUMBERED.finditer(norm, lo, hi):
        inner = _after_boundary(norm, m.end(), hi - 2, None)
        if int(m.group("n")) == number or inner is None:
            best = (m.start(), m.end())
    return best


def _item(view: View, i: int, head: Heading, labels: list[Label], end: int) -> None:
    norm = view.norm
    start, t_end = _trim(norm, head.start, head.t_end)
    if t_end <= start:
        return
    field = f"items[{i}]"
    view.text(f"{field}.treatment", start, t_end)
    if head.decision:
        view.claim(f"{field}.decision", _decision(head.decision), head.said_at, head.end)
    treatment = norm[start:t_end]
    _quantity(view, field, start, treatment)
    _medication(view, field, start, treatment)
    if not head.decision and all(x.path != _DECISION for x in labels):
        end = _closing_decision(view, f"{field}.decision", head.end, end)
    for j, x in enumerate(labels):
        stop = labels[j + 1].start if j + 1 < len(labels) else end
        local = FIELDS[x.path].local
        if x.path == _DECISION:
            said = _said(norm, x.end, stop)
            if said and not head.decision:
                view.claim(f"{field}.{local}", _decision(said.group()), x.start, said.end())
        else:
            view.text(f"{field}.{local}", x.end, stop)


def _closing_decision(view: View, field: str, lo: int, hi: int) -> int:
    """An item with no decision yet may close with one in its own paragraph ("The request
    for ... is not medically necessary and appropriate."): claim it, and return where it
    starts, so the paragraph before it (the rationale) ends there; else hi."""
    norm = view.norm
    while hi > lo and norm[hi - 1] == " ":
        hi -= 1
    at = norm.rfind(lx.CLOSING_DECISION, max(lo, hi - HEADING_MAX), hi)
    said = lx.DECISION_SENTENCE.search(norm, at, hi) if at >= 0 else None
    if not said or not said.group("say").lower().endswith("appropriate"):
        return hi
    view.claim(field, _decision(said.group("say")), at, said.end())
    return at


def _medication(view: View, field: str, start: int, treatment: str) -> None:
    """Name and strength ("Norco 10/325mg"), or a known drug's name alone ("Norco #120")."""
    med = lx.MEDICATION.match(treatment) or lx.BARE_MEDICATION.match(treatment)
    if not med:
        return
    name_end = med.start("name") + lx.drug_name_end(med.group("name"))
    view.text(f"{field}.medication.name", start + med.start("name"), start + name_end)
    if "strength" in med.re.groupindex:
        view.text(f"{field}.medication.strength", start + med.start("strength"),
                  start + med.end("strength"))


def _said(norm: str, lo: int, hi: int) -> re.Match | None:
    return lx.DECISION_WORDS.search(norm, lo, min(hi, lo + HEADING_MAX))


def _decision(said: str) -> str:
    return lx.word_of(lx.DECISION_WORDS.search(said))


def _quantity(view: View, field: str, start: int, treatment: str) -> None:
    q = lx.QUANTITY.search(treatment)
    if q:
        group = q.lastgroup
        view.claim(f"{field}.quantity", int(q.group(group)), start + q.start(),
                   start + q.end(group))


def _truncated(view: View, i: int, labels: list[Label], head: Heading, hi: int) -> None:
    """A letter that stops mid-sentence in its last item: warn, and drop the cut value."""
    last = next((x for x in reversed(labels) if x.start >= head.end), None)
    start = last.end if last else head.end
    if not _cut_off(view.norm[start:hi]):
        return
    where = f"items[{i}].{FIELDS[last.path].local}" if last else f"items[{i}]"
    view.warnings.append(f"letter appears truncated after {where}: it ends mid-sentence, "
                         "so that value is left out as incomplete")
    if last:
        local = FIELDS[last.path].local
        view.claims = [c for c in view.claims if c.field != f"items[{i}].{local}"]


def _cut_off(text: str) -> bool:
    return bool(text.strip()) and not _SENTENCE_END.search(text)


_SENTENCE_END = re.compile(r"[.!?\")\]]\s*$")
