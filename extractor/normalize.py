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
             "&apos;": "'", "&nbsp;": " "}
_BLOCK_TAGS = {"br", "p", "div", "li", "ul", "ol", "tr", "td", "th", "table", "h1", "h2",
               "h3", "h4", "h5", "h6", "hr", "section", "body", "html", "head", "title"}

# Anything that is not copied through verbatim. A single space is copied, so
# ordinary prose produces no match at all.
_SPECIAL = re.compile(
    r"""(?P<mark>\s*(?:\*+|__+|</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]{0,200})?/?>)\s*)
      | (?P<ws>\s{2,}|[^\S ])
      | (?P<ent>&(?:amp|lt|gt|quot|apos|nbsp|\#39);)
      | (?P<typo>[\u2018\u2019\u201a\u201b\u2032\u201c\u201d\u201e\u201f\u2033])""",
    re.VERBOSE,
)
_TAG_NAME = re.compile(r"</?([A-Za-z][A-Za-z0-9]*)")


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
        index = cls(raw=raw)
        out: list[str] = []
        length = 0  # len of "".join(out), kept by hand to avoid rejoining

        def emit(piece: str, raw_start: int, raw_len: int, copy: bool) -> None:
            nonlocal length
            index._seg_norm.append(length)
            index._seg_raw.append(raw_start)
            index._seg_rawlen.append(raw_len)
            index._seg_copy.append(copy)
            out.append(piece)
            length += len(piece)

        def last_char() -> str:
            return out[-1][-1] if out else ""

        def space(raw_start: int, raw_len: int) -> None:
            if out and last_char() != " ":
                emit(" ", raw_start, raw_len, False)

        pos = 0
        for m in _SPECIAL.finditer(scan):
            if m.start() > pos:
                chunk = scan[pos:m.start()]
                if chunk.startswith(" ") and (not out or last_char() == " "):
                    chunk, pos = chunk[1:], pos + 1
                if chunk:
                    emit(chunk, pos, len(chunk), True)
            s, e = m.span()
            kind = m.lastgroup
            if kind == "ws":
                if _joins_hyphen(scan, s, e, last_char(), out):
                    pass
                else:
                    space(s, e - s)
            elif kind == "mark":
                tag = _TAG_NAME.match(m.group().strip())
                block = bool(tag) and tag.group(1).lower() in _BLOCK_TAGS
                if block or m.group()[:1].isspace() or m.group()[-1:].isspace():
                    space(s, e - s)
            elif kind == "ent":
                ch = _ENTITIES[m.group()]
                if ch == " ":
                    space(s, e - s)
                else:
                    emit(ch, s, e - s, False)
            else:
                emit(_TYPO[m.group()], s, 1, False)
            pos = e
        if pos < len(scan):
            chunk = scan[pos:]
            if chunk.startswith(" ") and (not out or last_char() == " "):
                chunk, pos = chunk[1:], pos + 1
            if chunk:
                emit(chunk, pos, len(chunk), True)
        index.norm = "".join(out)
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

    def count(self, quote: str) -> int:
        q = canonical(quote)
        return self.norm.count(q) if q else 0


def _joins_hyphen(scan: str, s: int, e: int, last: str, out: list[str]) -> bool:
    """A hyphen at a line end followed by a word continues that word."""
    if last != "-" or e >= len(scan) or not scan[e].isalpha():
        return False
    if not any(c in "\n\r\f\v" for c in scan[s:e]):
        return False
    prev = out[-1]
    before = prev[-2] if len(prev) >= 2 else (out[-2][-1] if len(out) >= 2 else "")
    return before.isalnum()


def _blank_out(raw: str, spans) -> str:
    parts, pos = [], 0
    for s, e in sorted(spans):
        parts.append(raw[pos:s])
        parts.append(" " * (e - s))
        pos = e
    parts.append(raw[pos:])
    return "".join(parts)


_NEEDS_WORK = re.compile(r"\s{2,}|[^\S ]|[*_<&\u2018\u2019\u201a\u201b\u2032\u201c\u201d\u201e\u201f\u2033]")


def canonical(text: str) -> str:
    """The normalized form of a value or quote (see module docstring)."""
    if not _NEEDS_WORK.search(text):
        return text.strip()
    return TextIndex.build(text).norm.strip()
