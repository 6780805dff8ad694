"""Normalized view of a letter with a map back to raw offsets.

The verifier's matching rule lives here. Two strings match at level
`normalized` when they are equal after:
  * whitespace runs (line breaks, blank lines, tabs, form feeds, NBSP) -> one space,
  * a word hyphenated across a line break is joined (`non- \\n\\nresolving` -> `non-resolving`),
  * typographic quotes -> ASCII, a few HTML entities decoded,
  * markdown/HTML emphasis (`**`, `__`, `<b>`...) and other tags ignored,
  * page furniture found at ingest (form feeds, `Page N of M`, a repeated case id) ignored.

The view is built in a few passes that run at C speed (one `re.split` on
whitespace runs, `itertools.accumulate` for the offsets); Python only looks at
the rare spots that need a decision (markup, a hyphen before a line break).
Linear in the letter's length.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate, compress, count, repeat
from operator import add, contains, not_, or_, sub

_TYPO = {"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
         "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"'}
_ENTITIES = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'",
             "&apos;": "'", "&#x27;": "'", "&nbsp;": " "}
_BLOCK_TAGS = {"br", "p", "div", "li", "ul", "ol", "tr", "td", "th", "table", "h1", "h2",
               "h3", "h4", "h5", "h6", "hr", "section", "body", "html", "head", "title"}

_QUOTES = "".join(_TYPO)
_TAG = re.compile(r"</?([A-Za-z][A-Za-z0-9]*)(?:\s[^<>]{0,200})?/?>")
_ENTITY = re.compile(r"&(?:amp|lt|gt|quot|apos|nbsp|#39|#x27);")
_EMPHASIS = re.compile(r"\*+|__+")
_SPECIALS = "*_<&" + _QUOTES  # where markup can start
# Whitespace other than a lone space: a lone space is copied with its words.
_RUN = re.compile(r"([^\S ]\s*| \s+)")
_NEWLINE = re.compile("[\n\r\f\v\x1c\x1d\x1e\x85\u2028\u2029]")
_HYPHEN_SPACE = re.compile(r"-(?=\s)")


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
    def build(cls, raw: str, ignore: list[tuple[int, int]] = ()) -> TextIndex:
        scan = _blank_out(raw, ignore) if ignore else raw
        markup = _Markup.strip(scan) if has_markup(scan) else None
        index = cls(raw=raw)
        _collapse(index, markup.clean if markup else scan)
        if markup and index._seg_norm:
            markup.map_back(index)
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


def _collapse(index: TextIndex, text: str) -> None:
    """Fill `index` with the normalized `text`: whitespace runs collapsed, a word
    hyphenated across a line break joined. Offsets are into `text`.

    `text` is cut into tokens (words with single spaces between them) and the
    whitespace runs between tokens; each token is one copied segment, each run
    one replacement space. A line's stripped body is a token unless it holds a
    run itself (a tab, two spaces...); only such lines are split further."""
    tokens, tok_at = _tokens(text)
    if not tokens:
        return
    tok_len = list(map(len, tokens))
    run_at = list(map(add, tok_at[:-1], tok_len[:-1]))
    run_len = list(map(sub, tok_at[1:], run_at))
    joins = _joins(text, tokens, run_at, run_len)
    width = [1] * len(run_at)  # norm width of each run: one space, none where a word joins
    seps = [" "] * len(run_at)
    for j in joins:
        width[j], seps[j] = 0, ""
    starts = list(accumulate(map(add, tok_len[:-1], width), initial=0))
    out = [""] * (2 * len(tokens) - 1)
    out[0::2], out[1::2] = tokens, seps
    index.norm = "".join(out)
    n = len(out)
    seg_norm, seg_raw, seg_len = [0] * n, [0] * n, [0] * n
    seg_norm[0::2], seg_norm[1::2] = starts, list(map(add, starts[:-1], tok_len[:-1]))
    seg_raw[0::2], seg_raw[1::2] = tok_at, run_at
    seg_len[0::2], seg_len[1::2] = tok_len, run_len
    seg_copy = [True, False] * len(tokens)
    del seg_copy[-1]
    for j in reversed(joins):  # a joined line break stands for no norm character
        for col in (seg_norm, seg_raw, seg_len, seg_copy):
            del col[2 * j + 1]
    index._seg_norm, index._seg_raw, index._seg_rawlen, index._seg_copy = (
        seg_norm, seg_raw, seg_len, seg_copy)


def _tokens(text: str) -> tuple[list[str], list[int]]:
    """The tokens of `text` and their offsets, by str methods over its lines
    (any line boundary: they are all whitespace, so all end a token)."""
    lines = text.splitlines(keepends=True)
    line_at = accumulate(map(len, lines), initial=0)
    bodies = list(map(str.strip, lines))
    keep = list(map(bool, bodies))
    tokens = list(compress(bodies, keep))
    lead = map(sub, map(len, lines), map(len, map(str.lstrip, lines)))
    tok_at = list(compress(map(add, line_at, lead), keep))
    # A body that is printable and has no double space is one token; split the others.
    inner = list(compress(count(), map(or_, map(not_, map(str.isprintable, tokens)),
                                       map(contains, tokens, repeat("  ")))))
    for i in reversed(inner):
        parts = _RUN.split(tokens[i])
        at = accumulate(map(len, parts), initial=tok_at[i])
        tokens[i:i + 1] = parts[0::2]
        tok_at[i:i + 1] = list(at)[0:-1:2]
    return tokens, tok_at


def _joins(text: str, tokens: list[str], run_at: list[int], run_len: list[int]) -> list[int]:
    """Indices of the runs that join a word hyphenated across a line break: the
    token before ends in letter-or-digit + "-", the run holds a line break and
    the token after starts with a letter. Only the spots where "-" comes before
    whitespace are looked at, found by a literal search."""
    joins = []
    for m in _HYPHEN_SPACE.finditer(text):
        j = bisect.bisect_left(run_at, m.end())
        if j == len(run_at) or run_at[j] != m.end():
            continue
        if not _NEWLINE.search(text, run_at[j], run_at[j] + run_len[j]):
            continue
        before = tokens[j][-2] if len(tokens[j]) > 1 else (
            tokens[j - 1][-1] if joins and joins[-1] == j - 1 else "")
        if before.isalnum() and tokens[j + 1][0].isalpha():
            joins.append(j)
    return joins


def _spots(scan: str) -> list[int]:
    """Offsets of every markup character, found by str.find (a regex scan of
    the whole letter costs more than the rest of the build)."""
    found = []
    for ch in _SPECIALS if not scan.isascii() else _SPECIALS[:4]:
        i = scan.find(ch)
        while i >= 0:
            found.append(i)
            i = scan.find(ch, i + 1)
    found.sort()
    return found


def _markup(scan: str):
    """(start, end, replacement) of each piece of markup, left to right. The
    candidate characters are found by str.find; each is then matched by its own
    pattern (a "<" that opens no tag, a lone "_", a stray "&" stay text)."""
    pos = 0
    for s in _spots(scan):
        if s < pos:
            continue  # inside a tag or emphasis run already taken
        ch = scan[s]
        if ch in _TYPO:
            yield s, s + 1, _TYPO[ch]
            continue
        m = (_TAG if ch == "<" else _ENTITY if ch == "&" else _EMPHASIS).match(scan, s)
        if m is None:
            continue
        pos = m.end()
        if ch == "<":
            block = m.group(1).lower() in _BLOCK_TAGS
            yield s, pos, "\n" + " " * (pos - s - 1) if block else ""
        elif ch == "&":
            keep = _ENTITIES[m.group()]
            yield s, pos, " " * (pos - s) if keep == " " else keep
        else:
            yield s, pos, ""


@dataclass
class _Markup:
    """Markup taken out of a text before whitespace is collapsed.

    `clean` is the text with emphasis and inline tags removed, block tags
    turned into a line break padded with spaces, `&nbsp;` into spaces, other
    entities and typographic quotes into their ASCII character (each its own
    segment); `gaps` are the clean offsets where
    raw characters were removed (with how many, cumulated), and `entities`
    the clean offsets of decoded entities with their raw length."""

    clean: str
    gap_at: list[int]
    gap_shift: list[int]
    entities: dict[int, int]

    @classmethod
    def strip(cls, scan: str) -> _Markup | None:
        parts, gap_at, gap_shift, entities = [], [], [], {}
        pos = removed = 0
        for s, e, keep in _markup(scan):
            parts.append(scan[pos:s])
            parts.append(keep)
            if len(keep) == 1:
                entities[s - removed] = e - s
            if len(keep) < e - s:
                gap_at.append(s - removed + len(keep))  # clean offset just after what was kept
                removed += e - s - len(keep)
                gap_shift.append(removed)
            pos = e
        if not parts:
            return None  # a plain "*", "_", "<" or "&": nothing to take out
        parts.append(scan[pos:])
        return cls("".join(parts), gap_at, gap_shift, entities)

    def map_back(self, index: TextIndex) -> None:
        """Turn the clean offsets of `index` into raw ones: split a copied
        segment where markup was removed inside it, give each decoded entity or
        quote its own segment, then shift every offset past removed markup."""
        cuts = sorted({*self.gap_at, *self.entities, *(e + 1 for e in self.entities)})
        cols = [index._seg_norm, index._seg_raw, index._seg_rawlen, index._seg_copy]
        # New columns built front to back: replacing each cut segment in place moves
        # the whole tail of the lists each time (quadratic in the number of cuts).
        out, prev = [[], [], [], []], 0
        for k in _cut_segments(cols, cuts):
            pieces = self._pieces(cols[0][k], cols[1][k], cols[2][k], cuts)
            for new, old, values in zip(out, cols, zip(*pieces, strict=True), strict=True):
                new += old[prev:k]
                new += values
            prev = k + 1
        for new, old in zip(out, cols, strict=True):
            new += old[prev:]
        cols = out
        clean_at = cols[1]
        raw_at = self._shifted(clean_at, at_start=True)
        raw_end = self._shifted(list(map(add, clean_at, cols[2])), at_start=False)
        raw_len = list(map(sub, raw_end, raw_at))
        for a, length in self.entities.items():
            k = bisect.bisect_left(clean_at, a)
            raw_len[k], cols[3][k] = length, False
        index._seg_norm, index._seg_raw, index._seg_rawlen, index._seg_copy = (
            cols[0], raw_at, raw_len, cols[3])

    def _pieces(self, n: int, c: int, length: int, cuts: list[int]) -> list[tuple]:
        """A copied segment cut at the cuts inside it. A lone space at the edge
        of a piece (next to removed markup) stands for itself, as a run does."""
        inside = cuts[bisect.bisect_right(cuts, c):bisect.bisect_left(cuts, c + length)]
        out = []
        for a, b in zip([c, *inside], [*inside, c + length], strict=True):
            lead = self.clean[a] == " "
            trail = b - a > 1 and self.clean[b - 1] == " "
            if lead:
                out.append((n + a - c, a, 1, False))
            if b - trail > a + lead:
                out.append((n + a - c + lead, a + lead, b - trail - a - lead, True))
            if trail:
                out.append((n + b - 1 - c, b - 1, 1, False))
        return out

    def _shifted(self, offsets: list[int], at_start: bool) -> list[int]:
        """Clean offsets (ascending) to raw ones. A segment starting where markup
        was removed starts after it; one ending there ends before it."""
        find = bisect.bisect_left if at_start else bisect.bisect_right
        shift = [0] * len(offsets)
        bounds = [find(offsets, g) for g in self.gap_at] + [len(offsets)]
        for k, removed in enumerate(self.gap_shift):
            shift[bounds[k]:bounds[k + 1]] = repeat(removed, bounds[k + 1] - bounds[k])
        return list(map(add, offsets, shift))


def _cut_segments(cols: list[list], cuts: list[int]) -> list[int]:
    """Indices of the copied segments with a cut strictly inside them."""
    seg_at, seg_len, seg_copy = cols[1], cols[2], cols[3]
    found = []
    for cut in cuts:
        k = bisect.bisect_right(seg_at, cut) - 1
        if k >= 0 and seg_copy[k] and seg_at[k] < cut < seg_at[k] + seg_len[k] and (
                not found or found[-1] != k):
            found.append(k)
    return found


def _blank_out(raw: str, spans) -> str:
    parts, pos = [], 0
    for s, e in sorted(spans):
        parts.append(raw[pos:s])
        parts.append(" " * (e - s))
        pos = e
    parts.append(raw[pos:])
    return "".join(parts)




def has_markup(text: str) -> bool:
    """Any emphasis, tag, entity or typographic quote character in `text`?
    Substring tests, far faster than a regex scan; quotes only in non-ASCII
    text (known in O(1))."""
    if "*" in text or "_" in text or "<" in text or "&" in text:
        return True
    return not text.isascii() and any(q in text for q in _QUOTES)


def canonical(text: str) -> str:
    """The normalized form of a value or quote (see module docstring)."""
    # Fast path, all C-speed scans: no line breaks, tabs or NBSP (isprintable),
    # no double space, no markup or typographic quote -> nothing to normalize.
    if text.isprintable() and "  " not in text and not has_markup(text):
        return text.strip()
    if len(text) <= _REMEMBERED:
        return _built(text)
    return TextIndex.build(text).norm


# A model's answer is checked three times (instructor's validator, the best reply, the
# record), each normalizing the same quotes: the second and third are looked up here.
_REMEMBERED = 20_000  # characters; a longer text is normalized each time, not kept


@lru_cache(maxsize=256)  # a letter's answer has a few dozen such quotes
def _built(text: str) -> str:
    return TextIndex.build(text).norm
