"""One item's values: treatment (and, for a modified request, what was asked and what was
authorized), decision, quantity, medication and its labelled paragraphs; and the checks
made once every item is read (a decision list to take decisions from, a lost last page)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from extractor.backends.rules.view import View, trim
from extractor.core import lexicon as lx
from extractor.core.normalize import canonical
from extractor.core.table import FIELDS

DECISION = next(p for p in lx.ITEM_PARAGRAPHS if FIELDS[p].words)
HEADING_MAX = 400  # longest item heading or decision sentence, in characters


@dataclass
class Label:
    path: str      # field path of the paragraph it opens ('items.rationale')
    start: int
    end: int
    stop: int = -1  # where its paragraph ends [default: at the next label, or the item's end]


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


def read(view: View, i: int, head: Heading, labels: list[Label], end: int) -> str | None:
    """Claim the item's values. Returns its treatment as written, or None when it has no
    treatment; `view.undecided` gets the item when its own text states no decision."""
    norm = view.norm
    start, t_end = trim(norm, head.start, head.t_end)
    if t_end <= start:
        return None
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
        end = _closing(view, i, head, end)
    for j, x in enumerate(labels):
        stop = x.stop if x.stop >= 0 else labels[j + 1].start if j + 1 < len(labels) else end
        local = FIELDS[x.path].local
        if x.path == DECISION:
            said = _said(norm, x.end, stop)
            if said and not head.decision:
                view.claim(f"{field}.{local}", _decision(said.group()), x.start, said.end())
        else:
            view.text(f"{field}.{local}", x.end, stop)
    return norm[start:t_end]


def _closing(view: View, i: int, head: Heading, end: int) -> int:
    """An item with no decision in its heading or labels: its closing sentence's, where it
    has one (else `view.undecided` gets it). Returns where its last paragraph ends."""
    closing = _closing_decision(view, f"items[{i}].decision", head.end, end)
    if closing is None:
        view.undecided.add(i)
    elif _own_paragraph(view, closing):  # else it is the rationale's last sentence
        return closing
    return end


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


def _closing_decision(view: View, field: str, lo: int, hi: int) -> int | None:
    """An item with no decision yet may close with one ("The request for ... is not
    medically necessary and appropriate."): claim it, and return where it starts."""
    norm = view.norm
    while hi > lo and norm[hi - 1] == " ":
        hi -= 1
    at = norm.rfind(lx.CLOSING_DECISION, max(lo, hi - HEADING_MAX), hi)
    said = lx.DECISION_SENTENCE.search(norm, at, hi) if at >= 0 else None
    if not said or not said.group("say").lower().endswith("appropriate"):
        return None
    view.claim(field, _decision(said.group("say")), at, said.end())
    return at


def _own_paragraph(view: View, at: int) -> bool:
    """Whether norm offset `at` starts a paragraph of the letter: after a blank line, or
    a paragraph tag of an export. A closing decision in a paragraph of its own is not
    part of the rationale before it; one at the end of the rationale's paragraph is."""
    text = view.doc.text
    i = view.doc.index.raw_start(at)
    lo = max(0, i - 200)
    lo = max(text.rfind(".", lo, i), text.rfind(":", lo, i), lo)
    if view.doc.format == "pdf":  # a PDF's text keeps no blank lines: a new line after a
        return "\n" in text[lo:i]  # sentence's end is where its paragraphs break
    return _PARAGRAPH_BREAK.search(text, lo, i) is not None


_PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f]*\n|</?(?:p|div|br|h\d|li|tr|td)\b", re.IGNORECASE)


def listed_decisions(view: View, decided: dict[int, str], lo: int, hi: int) -> None:
    """Items whose own text states no decision take it from the numbered decision list
    of a 2013 notice (lexicon.DECISION_LIST) in norm[lo:hi], where the list names the
    same treatment under the same number."""
    norm = view.norm
    for m in lx.DECISION_LIST.finditer(norm, lo, hi):
        i = int(m.group("n")) - 1
        if i in view.undecided and canonical(m.group("t")).casefold() == canonical(
                decided.get(i, "")).casefold():
            view.claim(f"items[{i}].decision", _decision(m.group("say")), m.start(), m.end())
            view.undecided.discard(i)
            view.from_list.add(i)


def cut_short(view: View, last: int) -> None:
    """The last item states no decision while the items before it close with one: its
    page with the decision was lost. Warn, and leave its rationale out as incomplete."""
    without = view.from_list | view.undecided  # items whose own text states no decision
    if last < 1 or without != {last}:
        return
    field = f"items[{last}].rationale"
    view.warnings.append(f"letter appears truncated after {field}: it ends without the "
                         "sentence that states the decision, so that value is left out as "
                         "incomplete")
    view.claims = [c for c in view.claims if c.field != field]


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
