"""The reference normalizer: the original one-character-class-at-a-time builder.

Kept here, in the tests, as the oracle for `extractor.core.normalize.TextIndex.build`,
which produces the same normalized text and the same offset mapping in a few
C-speed passes. Slow and simple on purpose: it walks the letter spot by spot
and applies the matching rule (normalize.py's docstring) one case at a time.
"""

from __future__ import annotations

import re

from extractor.core.normalize import (
    _BLOCK_TAGS,
    _EMPHASIS,
    _ENTITIES,
    _ENTITY,
    _QUOTES,
    _SPECIALS,
    _TAG,
    _TYPO,
    TextIndex,
    _blank_out,
)

_MARKUP_CHAR = re.compile(f"[{_SPECIALS}]")

# Candidate spots where the text is not copied verbatim; single spaces are not.
_CANDIDATE = re.compile(r"[^\S ]\s*| \s+|[*_<&" + _QUOTES + "]")
_NEWLINES = frozenset("\n\r\f\v\x1c\x1d\x1e\x85\u2028\u2029")


def build(raw: str, ignore=()) -> TextIndex:
    """What TextIndex.build returned before it was rewritten in C-speed passes."""
    scan = _blank_out(raw, ignore) if ignore else raw
    b = _Builder(scan)
    if "<" in scan:
        _scan(b, scan, 0, len(scan))  # a tag may span lines: no line shortcut
    else:
        _scan_lines(b, scan)
    index = TextIndex(raw=raw, norm="".join(b.out))
    if b.segs:
        index._seg_norm, index._seg_raw, index._seg_rawlen, index._seg_copy = (
            list(col) for col in zip(*b.segs, strict=True))
    return index


def _scan(b: _Builder, scan: str, lo: int, hi: int) -> None:
    """Feed scan[lo:hi] to the builder, stopping only at candidate spots."""
    pos = lo
    for m in _CANDIDATE.finditer(scan, lo, hi):
        s = m.start()
        if s < pos:
            continue  # inside a tag already consumed
        c = scan[s]
        if c.isspace():
            b.copy(pos, s)
            b.whitespace(s, m.end(), not _NEWLINES.isdisjoint(m.group()))
            pos = m.end()
        elif c in "*_<&":
            pos = b.markup(pos, s, c)
        else:
            b.copy(pos, s)
            b.visible(_TYPO[c], s, 1, False)
            pos = s + 1
    b.copy(pos, hi)


def _scan_lines(b: _Builder, scan: str) -> None:
    """Line by line: most lines of a letter need no normalization inside, and
    str methods find that out far faster than the candidate regex (the PDF text
    format has a line break every ~90 characters)."""
    start, n = 0, len(scan)
    while start <= n:
        nl = scan.find("\n", start)
        end = n if nl < 0 else nl
        line = scan[start:end]
        body = line.strip()
        if body:
            lead = line.index(body[0])
            lo, hi = start + lead, start + lead + len(body)
            if lo > start:
                b.whitespace(start, lo, not _NEWLINES.isdisjoint(scan[start:lo]))
            if body.isprintable() and "  " not in body and not _MARKUP_CHAR.search(body):
                b.visible(body, lo, hi - lo, True)
            else:
                _scan(b, scan, lo, hi)
            if hi < end:
                b.whitespace(hi, end, not _NEWLINES.isdisjoint(scan[hi:end]))
        elif end > start:
            b.whitespace(start, end, not _NEWLINES.isdisjoint(line))
        if nl < 0:
            break
        b.whitespace(nl, nl + 1, True)
        start = nl + 1


class _Builder:
    """Accumulates norm text and segments. Whitespace is held back (`pending`)
    until the next visible character, so runs collapse, leading and trailing
    space vanish, and a line-end hyphen can join its word."""

    def __init__(self, scan: str):
        self.scan = scan
        self.out: list[str] = []
        self.segs: list[tuple[int, int, int, bool]] = []  # (norm start, raw start, raw len, copied)
        self.n = 0
        self.last = self.before_last = ""
        self.pending: list | None = None  # [raw start, raw end, saw a line break]

    def whitespace(self, s: int, e: int, newline: bool) -> None:
        if self.pending is None:
            self.pending = [s, e, newline]
        else:
            self.pending[1] = e
            self.pending[2] = self.pending[2] or newline

    def visible(self, piece: str, raw_start: int, raw_len: int, copied: bool) -> None:
        segs, out = self.segs, self.out
        if self.pending is not None:
            s, e, newline = self.pending
            self.pending = None
            joins = (newline and self.last == "-" and self.before_last.isalnum()
                     and piece[0].isalpha())
            if out and not joins:
                segs.append((self.n, s, e - s, False))
                out.append(" ")
                self.n += 1
                self.last = " "
        segs.append((self.n, raw_start, raw_len, copied))
        out.append(piece)
        self.n += len(piece)
        self.before_last = piece[-2] if len(piece) > 1 else self.last
        self.last = piece[-1]

    def copy(self, a: int, b: int) -> None:
        """Copy scan[a:b] (single spaces only inside) through verbatim."""
        if a >= b:
            return
        if self.scan[a] == " ":
            self.whitespace(a, a + 1, False)
            a += 1
        trailing = b > a and self.scan[b - 1] == " "
        if trailing:
            b -= 1
        if b > a:
            self.visible(self.scan[a:b], a, b - a, True)
        if trailing:
            self.whitespace(b, b + 1, False)

    def markup(self, pos: int, s: int, c: str) -> int:
        """Handle emphasis, a tag or an entity at s; returns the new copy position."""
        pattern = _EMPHASIS if c in "*_" else _TAG if c == "<" else _ENTITY
        m = pattern.match(self.scan, s)
        if m is None:
            return pos  # a plain "*", "<" or "&": stays in the text
        self.copy(pos, s)
        if c == "<":
            if m.group(1).lower() in _BLOCK_TAGS:
                self.whitespace(s, m.end(), True)
        elif c == "&":
            ch = _ENTITIES[m.group()]
            if ch == " ":
                self.whitespace(s, m.end(), False)
            else:
                self.visible(ch, s, m.end() - s, False)
        return m.end()
