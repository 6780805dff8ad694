"""A list after a label ("diagnosed with A, B and C."), found in linear time.

A regex like `diagnosed with (?P<v>[^.;]{1,600}?)(?=stop)` is linear but slow on hostile
text: from every label it walks up to 600 characters, trying the stop at each one in the
regex engine's inner loop (a letter that is "diagnosed with a " over and over cost ~20x
a normal letter of its size). Here the walk is done by C-speed scans: `str.find` for the
characters a list cannot contain, and a search for the stops that can fall inside one,
which all begin with a literal space.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from extractor.core import lexicon as lx

PEEK = 32  # past the last place a stop may begin, enough text for the stop to be read


@dataclass(frozen=True)
class Form:
    """One way a list is introduced. Its value is the text from the label's end to the
    first place where `inner` begins or, at the first character of `barrier` (or at
    `most` characters), `end` matches; a value has at least one character and none of
    `barrier`. The label is not backtracked into. `inner` must begin with a literal
    space, so that its search skips from space to space, and be shorter than PEEK; `end`
    may match only at a barrier character or the end of the text. That is the lazy regex
    `(?>label)(?P<v>[^barrier]{1,most}?)(?=inner|end)`, which tests hold it to."""

    label: re.Pattern
    inner: re.Pattern | None
    end: re.Pattern
    barrier: str
    most: int

    def value(self, text: str, at: int, hi: int) -> tuple[int, int] | None:
        m = self.label.match(text, at, hi)
        if not m:
            return None
        start = m.end()
        cut = min(hi, start + self.most)
        for ch in self.barrier:
            found = text.find(ch, start, cut)
            cut = found if found >= 0 else cut
        if cut == start:
            return None
        if self.inner is not None:
            stop = self.inner.search(text, start + 1, min(hi, cut + PEEK))
            if stop and stop.start() <= cut:
                return start, stop.start()
        return (start, cut) if self.end.match(text, cut, hi) else None


class Listed:
    """Lists in any of several forms, each tried in order where the text has `key` in
    any case (every form's label starts with it); the (start, end) of each value, in
    order, not overlapping."""

    def __init__(self, key: str, forms: tuple[Form, ...]):
        self.key, self.forms = key, forms
        self._key = re.compile(re.escape(key), re.IGNORECASE)

    def finditer(self, text: str, folded: str | None, lo: int, hi: int
                 ) -> Iterator[tuple[int, int]]:
        """`folded`: the lower-cased text if it is ASCII (lexicon.ascii_folded), where
        str.find finds the key; otherwise None, and the engine's case folding does."""
        end = lo
        for at in self._keys(text, folded, lo, hi):
            span = None if at < end else self._first(text, at, hi)
            if span:
                end = span[1]
                yield span

    def _keys(self, text: str, folded: str | None, lo: int, hi: int) -> Iterator[int]:
        if folded is None:
            return (m.start() for m in self._key.finditer(text, lo, hi))
        return lx.occurrences(folded, self.key, lo, hi)

    def _first(self, text: str, at: int, hi: int) -> tuple[int, int] | None:
        return next((s for s in (f.value(text, at, hi) for f in self.forms) if s), None)
