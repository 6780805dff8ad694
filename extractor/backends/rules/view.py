"""The rules' view of a letter: its normalized text, and the claims made from it.

Helpers every reader shares: claiming a span, trimming it, splitting a list, and the
forward-only searches that keep the readers linear.
"""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass, field

from extractor.core import lexicon as lx
from extractor.core.fields import Claim
from extractor.core.ingest import Document

_SPLIT = re.compile(r",? and |, |; ")
_SPLIT_LIST = re.compile(r", ?|; ")  # "California,North Carolina": two states

@dataclass
class View:
    """The letter's normalized text plus the doc, for turning spans into claims."""

    doc: Document
    norm: str
    claims: list[Claim]
    warnings: list[str]
    list_sizes: dict[str, int] = field(default_factory=dict)
    undecided: set[int] = field(default_factory=set)  # items whose text states no decision
    from_list: set[int] = field(default_factory=set)  # ... that took it from a decision list

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
        start, end = trim(self.norm, start, end)
        if end > start:
            self.claim(field, self.norm[start:end], start, end)


def trim(s: str, start: int, end: int) -> tuple[int, int]:
    while start < end and s[start] in " ,;":
        start += 1
    while end > start and s[end - 1] in " ,;":
        end -= 1
    return start, end


def skip_cell(norm: str, at: int) -> int:
    """Past the space and table bar between a label and its value ('Case Number: | CM1...')."""
    while at < len(norm) and norm[at] in " |":
        at += 1
    return at



def list_claims(view: View, field: str, start: int, end: int, split: bool = True,
                split_and: bool = True, keep: re.Pattern | None = None,
                last_and: bool = False) -> None:
    """Claim each piece of a list; a piece that is all `keep` (a side: "..., bilateral")
    stays with the piece before it. `last_and`: a list as prose writes it, split at
    commas and at the first "and" of the last piece only ("cervical and lumbar strain,
    and neck pain"), or at semicolons alone when it has them; a leading "and" or article
    is not part of a piece."""
    if not split:
        view.text(f"{field}[{count(view, field)}]", start, end)
        return
    norm = view.norm
    if last_and:
        pattern = _SEMICOLONS if norm.find("; ", start, end) >= 0 else _COMMAS
    else:
        pattern = _SPLIT if split_and else _SPLIT_LIST
    pieces, pos = [], start
    names = [m.span() for m in lx.ONE_NAME.finditer(norm, start, end)] if last_and else []
    for sep in [*_outside(pattern.finditer(norm, start, end), names), None]:
        stop = sep.start() if sep else end
        if keep and pieces and keep.fullmatch(norm, pos, stop):
            pieces[-1] = (pieces[-1][0], stop)
        else:
            pieces.append((pos, stop))
        pos = sep.end() if sep else end
    if last_and and pattern is _COMMAS:
        a, b = pieces[-1]
        a = _LEAD.match(norm, a, b).end()
        at = next((m.start() for m in _outside(_AND.finditer(norm, a, b), names)), -1)
        pieces[-1:] = [(a, at), (at + 5, b)] if at >= 0 else [(a, b)]
    for a, b in pieces:
        a = _LEAD.match(norm, a, b).end() if last_and else a
        view.text(f"{field}[{count(view, field)}]", a, b)


def _outside(separators, names: list[tuple[int, int]]):
    """The separators that fall inside none of the (sorted) name spans: one walk of both."""
    j = 0
    for sep in separators:
        while j < len(names) and names[j][1] <= sep.start():
            j += 1
        if j == len(names) or sep.start() < names[j][0]:
            yield sep


_COMMAS, _SEMICOLONS, _AND = re.compile(r", "), re.compile(r"; "), re.compile(" and ")
_LEAD = re.compile(r"(?:and |an? |the )?", re.IGNORECASE)


def count(view: View, field: str) -> int:
    """Next index for a list field: one more each call."""
    n = view.list_sizes.get(field, 0)
    view.list_sizes[field] = n + 1
    return n


class Ahead:
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


def sentence_start(norm: str, pos: int, lo: int) -> int:
    cut = norm.rfind(". ", lo, pos)
    return cut + 2 if cut >= 0 else lo


