"""Grounded decoding: text values can only be pieces of the letter.

The letter is cut into candidate segments (lines, sentences, the text between
labels, label/value halves, comma pieces, words with digits). The JSON schema
sent to the server replaces every free text slot with an `enum` of those
segments, and llama.cpp turns the schema into a grammar: the model selects
instead of writes. Two pools keep the grammar small: short pieces for names,
treatments and diagnoses (trailing '.' dropped), long pieces for guidelines and
rationales (kept as written); quotes may be any piece. Dates, numbers and
decision words stay typed values.
"""

from __future__ import annotations

import copy
import re
from itertools import pairwise

from extractor.core.ingest import Document
from extractor.core.lexicon import ITEM_LABELS
from extractor.core.schema import FIELDS
from extractor.core.verify import is_letter_text

LONG_FIELDS = tuple(f.answer for f in FIELDS.values() if f.spec.long)  # item answer keys
SHORT_WORDS = 12          # a short piece (names, treatments) has at most this many words
LONG_MIN_WORDS = 4        # a long piece (guidelines, rationales) has at least this many
MIN_CHARS = 2

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\"'])")
_ITEM_HEADING = re.compile(r":\s*(?:Upheld|Overturned)\b", re.IGNORECASE)
# (?<!\s): a try starts only where a whitespace run starts (else each space of a run
# would rescan the rest of it).
_PIECE_SPLIT = re.compile(
    r",\s+(?:and\s+|or\s+)?|;\s+|(?<!\s)\s+(?:and|with|of|in|for|includ\w*)\s+")
# A grounded request whose enum held pieces with double quotes made llama-cpp-python
# 0.3.36's server log "failed to parse grammar" at an escaped quote and silently fall back
# to plain JSON (no grounding at all); converting the same schema in-process parsed, so
# the cause is unknown. Pieces are cut at quotes and backslashes to stay clear of it.
_UNSAFE = re.compile(r'["\\]')
# Words with a digit: the rest of a run of [\w./-] from its first letter or digit, when
# the run holds a digit. Found per run: the regex `[A-Za-z0-9][\w./-]*\d[\w./-]*`
# says the same but retries from every letter of a long word without a digit.
_RUN = re.compile(r"[\w./-]+")
_DIGIT = re.compile(r"\d")
_WORD_START = re.compile(r"[A-Za-z0-9]|\d")


def segments(doc: Document) -> tuple[list[str], list[str]]:
    """(short, long) candidate pieces of the letter, in first-seen order."""
    norm = doc.index.norm
    lines = [_clean(line) for line in doc.text.splitlines()]
    blocks = _between_markers(doc)
    sentences = [s for block in blocks for s in _SENTENCE_END.split(block)]
    short, long = _Pool(doc, ".:"), _Pool(doc)
    for piece in [*lines, *blocks, *sentences]:
        for part in (h for q in _UNSAFE.split(piece) for h in _halves(q)):
            words = len(part.split())
            if words <= SHORT_WORDS:
                short.add(part)
            if words >= LONG_MIN_WORDS:
                long.add(part)
            for bit in _PIECE_SPLIT.split(part):
                if len(bit.split()) <= SHORT_WORDS:
                    short.add(bit)
    for word in _digit_words(_UNSAFE.sub(" ", norm)):
        short.add(word)
    return short.items, long.items


def _digit_words(text: str) -> list[str]:
    out = []
    for run in _RUN.finditer(text):
        word = run.group()
        if _DIGIT.search(word):  # then a start exists: the digit itself at the latest
            out.append(word[_WORD_START.search(word).start():])
    return out


class _Pool:
    """Distinct pieces that the verifier accepts as text values of this letter."""

    def __init__(self, doc: Document, strip: str = ""):
        self.doc = doc
        self.strip = strip  # short pieces also lose a trailing '.' or ':'
        self.items: list[str] = []
        self._seen: set[str] = set()

    def add(self, text: str) -> None:
        text = text.strip(" ,;" + self.strip)
        if len(text) < MIN_CHARS or text in self._seen:
            return
        self._seen.add(text)
        # a piece cut out of a word (a line break inside it) would never verify
        if is_letter_text(self.doc, text):
            self.items.append(text)


def _clean(line: str) -> str:
    from extractor.core.normalize import canonical
    return canonical(line)


def _between_markers(doc: Document) -> list[str]:
    """The normalized text cut at section headings, labels and item headings."""
    norm = doc.index.norm
    cuts = {0, len(norm)}
    for m in doc.headings + list(_ITEM_HEADING.finditer(norm)):
        cuts.update((m.start(), m.end()))
    for _, start, end in ITEM_LABELS.find(norm, 0, len(norm)):
        cuts.update((start, end))
    bounds = sorted(cuts)
    return [norm[a:b].strip() for a, b in pairwise(bounds) if norm[a:b].strip()]


def _halves(piece: str) -> list[str]:
    """The piece, and for 'Label: value' also each side (and the text after a 'Label:')."""
    out = [piece]
    if ":" in piece:
        head, _, tail = piece.partition(":")
        out += [head, tail]
    return out


def schema(base: dict, doc: Document) -> dict:
    """`base` (the answer's JSON schema) with free text replaced by letter segments."""
    short, long = segments(doc)
    out = copy.deepcopy(base)
    defs = out.setdefault("$defs", {})
    defs["Short"] = {"type": "string", "enum": short}
    defs["Long"] = {"type": "string", "enum": long or short}
    defs["Piece"] = {"anyOf": [{"$ref": "#/$defs/Short"}, {"$ref": "#/$defs/Long"}]}
    defs["LongFact"] = {"type": "object", "properties": {"value": {"$ref": "#/$defs/Long"}}}
    defs["Fact"] = {"type": "object", "properties": {"value": {"$ref": "#/$defs/Short"}}}
    for name, d in defs.items():
        if name.endswith("Fact") and name not in ("Fact", "LongFact"):
            d["properties"]["quote"] = {"$ref": "#/$defs/Piece"}
    item = defs.get("ItemAnswer")
    if item:
        for name in LONG_FIELDS:
            item["properties"][name] = {"anyOf": [{"$ref": "#/$defs/LongFact"}, {"type": "null"}]}
    return out
