"""Normalized view of a letter with a map back to raw offsets.

The verifier's matching rule lives here. Two strings match at level
`normalized` when they are equal after:
  * whitespace runs (line breaks, blank lines, tabs, form feeds, NBSP) -> one space,
  * a word hyphenated across a line break is joined (`non- \\n\\nresolving` -> `non-resolving`),
  * typographic quotes -> ASCII, a few HTML entities decoded,
  * markdown/HTML emphasis (`**`, `__`, `<b>`...) and other tags ignored,
  * page furniture found at ingest (form feeds, `Page N of M`, a repeated case id) ignored.

The view is built with one regex pass that only stops at "special" spots, so
ordinary text is copied in chunks: linear in the letter's length and fast.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

_TYPO = {"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
         "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"'}
_ENTITIES = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'",
             "&apos;": "'", "&#x27;": "'", "&nbsp;": " "}
_BLOCK_TAGS = {"br", "p", "div", "li", "ul", "ol", "tr", "td", "th", "table", "h1", "h2",
               "h3", "h4", "h5", "h6", "hr", "section", "body", "html", "head", "title"}

# Candidate spots where the text is not copied verbatim. Single spaces are not
# candidates, so ordinary prose is skipped at C speed; each candidate is then
# classified in Python (there are about a hundred per letter).
_QUOTES = "".join(_TYPO)
_CANDIDATE = re.compile(r"[^\S ]\s*| \s+|[*_<&" + _QUOTES + "]")
_TAG = re.compile(r"</?([A-Za-z][A-Za-z0-9]*)(?:\s[^<>]{0,200})?/?>")
_ENTITY = re.compile(r"&(?:amp|lt|gt|quot|apos|nbsp|#39|#x27);")
_EMPHASIS = re.compile(r"\*+|__+")
_MARKUP_CHAR = re.compile(r"[*_<&" + _QUOTES + "]")
_NEWLINES = frozenset("\n\r\f\v\x1c\x1d\x1e\x85\u2028\u2029")


@dataclass
class TextIndex:
    """`norm` is the normalized text; `_seg_*` map norm offsets to raw ones.

    Each segment is a run of norm characters: either copied verbatim from raw
    (`_seg_copy` True, so offsets advance together) or one replacement
    character standing for raw[start:start+len].
    """

    raw: str
    norm: str = ""
    _seg_norm: list[int] = field(default_factory=list)
    _seg_raw: list[int] = field(default_factory=list)
    _seg_rawlen: list[int] = field(default_factory=list)
    _seg_copy: list[bool] = field(default_factory=list)

    @classmethod
    def build(cls, raw: str, ignore: list[tuple[int, int]] = ()) -> "TextIndex":
        scan = _blank_out(raw, ignore) if ignore else raw
        b = _Builder(scan)
        if "<" in scan:
            _scan(b, scan, 0, len(scan))  # a tag may span lines: no line shortcut
        else:
            _scan_lines(b, scan)
        index = cls(raw=raw, norm="".join(b.out))
        if b.segs:
            index._seg_norm, index._seg_raw, index._seg_rawlen, index._seg_copy = (
                list(col) for col in zip(*b.segs))
        return index

    # -- offset mapping -------------------------------------------------
    def raw_start(self, n: int) -> int:
        i = bisect.bisect_right(self._seg_norm, n) - 1
        if self._seg_copy[i]:
            return self._seg_raw[i] + (n - self._seg_norm[i])
        return self._seg_raw[i]

    def raw_end(self, n_end: int) -> int:
        """Raw offset just past the norm character at n_end - 1."""
        n = n_end - 1
        i = bisect.bisect_right(self._seg_norm, n) - 1
        if self._seg_copy[i]:
            return self._seg_raw[i] + (n - self._seg_norm[i]) + 1
        return self._seg_raw[i] + self._seg_rawlen[i]

    def norm_pos(self, raw_offset: int) -> int:
        """First norm offset whose raw position is at or after raw_offset."""
        i = bisect.bisect_right(self._seg_raw, raw_offset) - 1
        if i < 0:
            return 0
        if self._seg_copy[i]:
            return self._seg_norm[i] + min(raw_offset - self._seg_raw[i], self._seg_rawlen[i])
        return self._seg_norm[i]

    def span(self, n_start: int, n_end: int) -> tuple[int, int]:
        return self.raw_start(n_start), self.raw_end(n_end)

    # -- search ---------------------------------------------------------
    def find(self, quote: str, near: int | None = None) -> tuple[int, int] | None:
        """Raw (start, end) of `quote` after normalization, or None.

        With `near`, the first occurrence at or after that raw offset wins,
        falling back to the first occurrence anywhere.
        """
        if near is not None and quote and self.raw.startswith(quote, near):
            return near, near + len(quote)  # verbatim at the hinted spot: no work
        q = canonical(quote)
        if not q:
            return None
        n = -1
        if near is not None:
            n = self.norm.find(q, self.norm_pos(near))
        if n < 0:
            n = self.norm.find(q)
        if n < 0:
            return None
        return self.span(n, n + len(q))


def _scan(b: "_Builder", scan: str, lo: int, hi: int) -> None:
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


def _scan_lines(b: "_Builder", scan: str) -> None:
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


def _blank_out(raw: str, spans) -> str:
    parts, pos = [], 0
    for s, e in sorted(spans):
        parts.append(raw[pos:s])
        parts.append(" " * (e - s))
        pos = e
    parts.append(raw[pos:])
    return "".join(parts)




def canonical(text: str) -> str:
    """The normalized form of a value or quote (see module docstring)."""
    # Fast path, all C-speed scans: no line breaks, tabs or NBSP (isprintable),
    # no double space, no markup or typographic quote -> nothing to normalize.
    if text.isprintable() and "  " not in text and not _MARKUP_CHAR.search(text):
        return text.strip()
    return TextIndex.build(text).norm
