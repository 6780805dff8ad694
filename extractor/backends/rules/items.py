"""Item segmentation: where each disputed item of the issues section begins and ends,
whatever form its heading takes (`TREATMENT: Upheld`, a numbered decision sentence, a
numbered heading with its decision in a later paragraph)."""

from __future__ import annotations

import bisect
import re

from extractor.backends.rules import item as reading
from extractor.backends.rules.item import DECISION, HEADING_MAX, Heading, Label
from extractor.backends.rules.view import View
from extractor.core import lexicon as lx

# Which labelled paragraph of an item a label opens, in the order letters print them; a
# label at or before the previous one's place starts the next item.
_ORDER = {path: i for i, path in enumerate(lx.ITEM_PARAGRAPHS)}
# Where an item's text can start: after a sentence or a label ("below: "), not inside a
# treatment's own "QTY: 30".
_IN_HEADING = re.compile(r"(?:" + "|".join(lx.IN_HEADING) + r")$", re.IGNORECASE)
_IN_HEADING_MAX = max(map(len, lx.IN_HEADING))


def read(view: View, bounds: tuple[int, int]) -> None:
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
    treatments = {}
    for i, head in enumerate(heads):
        end = heads[i + 1].begin if i + 1 < len(heads) else hi
        mine = labels[bisect.bisect_left(starts, head.end):bisect.bisect_left(starts, end)]
        treatments[i] = reading.read(view, i, head, mine, end)
    if view.undecided:
        reading.listed_decisions(view, treatments, 0, lo)
        reading.cut_short(view, len(heads) - 1)
    if heads and hi == len(view.norm):
        reading.truncated(view, len(heads) - 1, labels, heads[-1], hi)


def _cycles(labels: list[Label]) -> list[list[Label]]:
    """Labels grouped by item: a new group when a paragraph label repeats or goes back
    (rationale, then claims administrator guideline). Decision labels join their group."""
    groups: list[list[Label]] = []
    last = None
    for x in labels:
        if x.path == DECISION and groups:
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
        original = _original_request(norm, floor, cut, d.start())
        return Heading(cut, d.start(), d.end(), d.group("d"), original, original=original)
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


def _original_request(norm: str, floor: int, start: int, t_end: int) -> int:
    """Where a modified request's heading begins: at its "X was the original request."
    sentence, before the authorization and the treatment reviewed (lexicon.AUTHORIZED);
    -1 for any other heading."""
    if not norm.startswith(lx.MODIFIED_LEAD, start) or not lx.MODIFIED_TREATMENT.match(
            norm, start, t_end):  # (startswith first: a regex call per item costs ~5%)
        return -1
    at = norm.rfind(lx.ORIGINAL_REQUEST, max(floor, start - 2 * HEADING_MAX), start)
    if at < 0:
        return -1
    lo = max(floor, at - HEADING_MAX)
    cut = max(norm.rfind(". ", lo, at), norm.rfind(lx.ITEMS_INTRO, lo, at))
    return norm.find(" ", cut + 1) + 1 if cut >= 0 else floor


def _after_boundary(norm: str, lo: int, hi: int, default: int | None) -> int | None:
    """Where an item's text can start: just after the last sentence end or label colon
    ("below: ") in norm[lo:hi], not a heading's own "QTY: 30" (lexicon.IN_HEADING);
    else `default`."""
    cut = max(norm.rfind(". ", lo, hi), norm.rfind("? ", lo, hi), norm.rfind("! ", lo, hi))
    colon = norm.rfind(": ", lo, hi)
    while colon > cut and _IN_HEADING.search(norm, max(lo, colon - _IN_HEADING_MAX), colon):
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


