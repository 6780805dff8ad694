"""One item's values: treatment, decision, quantity, medication and its labelled
paragraphs."""

from __future__ import annotations

import re
from dataclasses import dataclass

from extractor.backends.rules.view import View, trim
from extractor.core import lexicon as lx
from extractor.core.table import FIELDS

DECISION = next(p for p in lx.ITEM_PARAGRAPHS if FIELDS[p].words)
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
    original: int = -1     # a modified request: where "X was the original request" starts

    def __post_init__(self):
        self.begin = self.start if self.begin < 0 else self.begin
        self.said_at = self.start if self.said_at < 0 else self.said_at


def read(view: View, i: int, head: Heading, labels: list[Label], end: int) -> None:
    norm = view.norm
    start, t_end = trim(norm, head.start, head.t_end)
    if t_end <= start:
        return
    field = f"items[{i}]"
    if head.original >= 0:
        start, t_end = _modified(view, field, head, start, t_end)
    view.text(f"{field}.treatment", start, t_end)
    if head.decision:
        view.claim(f"{field}.decision", _decision(head.decision), head.said_at, head.end)
    treatment = norm[start:t_end]
    _quantity(view, field, start, treatment)
    _medication(view, field, start, treatment)
    if not head.decision and all(x.path != DECISION for x in labels):
        end = _closing_decision(view, f"{field}.decision", head.end, end)
    for j, x in enumerate(labels):
        stop = labels[j + 1].start if j + 1 < len(labels) else end
        local = FIELDS[x.path].local
        if x.path == DECISION:
            said = _said(norm, x.end, stop)
            if said and not head.decision:
                view.claim(f"{field}.{local}", _decision(said.group()), x.start, said.end())
        else:
            view.text(f"{field}.{local}", x.end, stop)


def _modified(view: View, field: str, head: Heading, start: int, t_end: int) -> tuple[int, int]:
    """A request utilization review modified: claim the original request and what was
    authorized, and return the span of the treatment reviewed inside its wrapper."""
    norm = view.norm
    wrapper = lx.MODIFIED_TREATMENT.match(norm, start, t_end)
    at = norm.find(lx.ORIGINAL_REQUEST, head.original, start)
    if not wrapper or at < 0:
        return start, t_end
    view.text(f"{field}.original_request", head.original, at)
    said = lx.AUTHORIZED.match(norm, at + len(lx.ORIGINAL_REQUEST), start)
    if said:
        group = "first" if said.group("first") is not None else "second"
        view.text(f"{field}.authorized", said.start(group), said.end(group))
    return wrapper.span("t")


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
    """The treatment's count, when it states one; two different counts are no quantity."""
    first = lx.QUANTITY.search(treatment)
    if first is None:
        return
    found = [(m, m.lastgroup) for m in lx.QUANTITY.finditer(treatment, first.start())]
    counts = {lx.count_value(m.group(group)) for m, group in found}
    if len(counts) == 1:
        q, group = found[0]
        view.claim(f"{field}.quantity", counts.pop(), start + q.start(group),
                   start + q.end(group))


def truncated(view: View, i: int, labels: list[Label], head: Heading, hi: int) -> None:
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
