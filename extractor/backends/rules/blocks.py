"""The earliest layout ("MEDICAL PROFESSIONAL REVIEW", 2013): the disputed items are
listed under ISSUE AT DISPUTE, then the guidelines of every item in one block and the
rationales in another, each entry written "N) TREATMENT: ..." (a letter with one item
may ask its question instead, and write its blocks without the number)."""

from __future__ import annotations

import re

from extractor.backends.rules import item as reading
from extractor.backends.rules.item import Heading, Label
from extractor.backends.rules.view import View, trim
from extractor.core import lexicon as lx

SECTION_OF = lx.landmark_pattern()[1]
BLOCKS = {"guideline block": "items.maximus_guideline", "rationale block": "items.rationale"}
QUESTION = re.compile(r"Is the request for (?P<t>[^?]{1,400}?) medically necessary and "
                      r"appropriate\?", re.IGNORECASE)


def read(view: View) -> bool:
    """Read the items of a letter in this layout; False when it is not one."""
    spans = _spans(view)
    if "dispute" not in spans or not any(block in spans for block in BLOCKS):
        return False
    issues = _issues(view, *spans["dispute"])
    numbered = {block: _numbered(view, spans[block]) for block in BLOCKS if block in spans}
    for i, (start, end) in enumerate(issues):
        labels = []
        for block, path in BLOCKS.items():
            entry = _entry(view, spans.get(block), numbered.get(block), i + 1,
                           view.norm[start:end], len(issues))
            if entry:
                labels.append(Label(path, entry[0], entry[0], stop=entry[1]))
        last = max((x.stop for x in labels), default=end)
        reading.read(view, i, Heading(start, end, end), labels, last)
    return True


def _spans(view: View) -> dict[str, tuple[int, int]]:
    """Section -> (start, end) of its text, for each landmark heading the letter has."""
    heads = sorted(view.doc.headings, key=lambda m: m.start())
    spans = {}
    for j, m in enumerate(heads):
        end = heads[j + 1].start() if j + 1 < len(heads) else len(view.norm)
        spans.setdefault(SECTION_OF[m.group()], (_past_colon(view.norm, m.end()), end))
    return spans


def _past_colon(norm: str, at: int) -> int:
    return at + 1 if norm.startswith(":", at) else at


def _issues(view: View, lo: int, hi: int) -> list[tuple[int, int]]:
    """The treatments listed at dispute: numbered entries, or the question of a letter
    with one item."""
    norm = view.norm
    numbers = list(lx.NUMBERED.finditer(norm, lo, hi))
    if numbers:
        ends = [m.start() for m in numbers[1:]] + [hi]
        return [trim(norm, m.end(), e) for m, e in zip(numbers, ends, strict=True)]
    question = QUESTION.search(norm, lo, hi)
    return [question.span("t")] if question else []


def _numbered(view: View, span: tuple[int, int]) -> dict[int, tuple[int, int]]:
    """Entry number -> (where its number starts, where its text starts), first of each."""
    found: dict[int, tuple[int, int]] = {}
    for m in lx.NUMBERED.finditer(view.norm, *span):
        found.setdefault(int(m.group("n")), m.span())
    return found


def _entry(view: View, span: tuple[int, int] | None, numbered: dict | None, n: int,
           treatment: str, count: int) -> tuple[int, int] | None:
    """(start, end) of item n's entry in a block: the text after "n) TREATMENT:" up to
    entry n + 1; in a letter with one item and no numbers, the whole block."""
    if span is None:
        return None
    norm, (lo, hi) = view.norm, span
    if not numbered and count == 1:
        return trim(norm, lo, hi)
    if n not in numbered:
        return None
    at = numbered[n][1]
    named = norm[at:at + len(treatment)]
    if named.casefold() != treatment.casefold() or not norm.startswith(":", at + len(treatment)):
        return None
    end = numbered[n + 1][0] if n + 1 in numbered and numbered[n + 1][0] > at else hi
    return trim(norm, at + len(treatment) + 1, end)
