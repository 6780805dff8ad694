"""Planted-span oracle tests of the aligner (normalize.TextIndex).

A letter is rebuilt from its words with random layout (hard wraps, blank
lines, CRLF, hyphenated line breaks, emphasis markers), while recording where
each word lands in the raw text. A quote made of words k..l must then be found
at exactly those raw offsets, however it is itself wrapped; a word sequence
that does not occur in the letter must never be found.
"""

import re

import normalize_reference
import pytest
from conftest import ALL_LETTERS, ORIGINALS
from hypothesis import assume, given, settings, strategies as st

from extractor.core import ingest
from extractor.core.normalize import TextIndex, canonical

WORDS = [w for p in ORIGINALS for w in re.sub(r"[*<>]|b>", " ", p.read_text()).split()][:1500]
SEPARATORS = [" ", "\n", " \n\n", "\r\n", " \r\n\r\n", "\n \n", "\t", "  "]


def separator(seps, i, previous):
    # A word ending in "-" was hyphenated at a line end: keep the line break,
    # since "X- Y" on one line is different text from "X-Y".
    return " \n\n" if previous.endswith("-") else seps[i % len(seps)]


def build(words, seps, marks):
    """Raw text from words; returns (raw, [(start, end)] per word)."""
    parts, spans, pos = [], [], 0
    for i, word in enumerate(words):
        mark = marks[i % len(marks)]
        close = mark.replace("<", "</") if mark.startswith("<") else mark
        piece = (separator(seps, i, words[i - 1]) if i else "") + mark
        spans.append((pos + len(piece), pos + len(piece) + len(word)))
        parts.append(piece + word + close)
        pos += len(parts[-1])
    return "".join(parts), spans


def rewrap(words, seps):
    return "".join(w if i == 0 else separator(seps, i, words[i - 1]) + w
                   for i, w in enumerate(words))


layouts = st.lists(st.sampled_from(SEPARATORS), min_size=1, max_size=12)
emphasis = st.lists(st.sampled_from(["", "", "", "**", "<b>"]), min_size=1, max_size=6)


@settings(max_examples=300, deadline=None)
@given(start=st.integers(0, 400), length=st.integers(1, 40), seps=layouts, qseps=layouts,
       marks=emphasis, size=st.integers(50, 500))
def test_planted_quote_found_at_its_raw_offsets(start, length, seps, qseps, marks, size):
    words = WORDS[start:start + size]
    assume(length <= len(words))
    raw, spans = build(words, seps, marks)
    index = TextIndex.build(raw)
    k = start % (len(words) - length + 1)
    last = k + length - 1
    quote = rewrap(words[k:last + 1], qseps)
    found = index.find(quote, near=spans[k][0])
    assert found is not None
    s, e = found
    # Emphasis markers around the first/last word sit outside the word spans.
    assert s == spans[k][0]
    assert e == spans[last][1]
    assert canonical(raw[s:e]) == canonical(quote)


@settings(max_examples=200, deadline=None)
@given(start=st.integers(0, 600), length=st.integers(2, 12), seps=layouts, marks=emphasis,
       swap=st.integers(0, 11), stranger=st.sampled_from(["zebra", "Overturned", "1999", "MRI"]))
def test_text_absent_from_letter_is_never_found(start, length, seps, marks, swap, stranger):
    words = WORDS[start:start + 300]
    raw, _ = build(words, seps, marks)
    quote_words = list(words[:length])
    quote_words[swap % length] = stranger
    # Oracle independent of the aligner: the word sequence does not occur.
    occurs = any(words[i:i + length] == quote_words for i in range(len(words)))
    assume(not occurs)
    assert TextIndex.build(raw).find(" ".join(quote_words)) is None


def test_hyphen_across_line_break_joins_but_same_line_hyphen_stays():
    raw = "recommended for non- \n\nresolving trigger points. TRIGGER POINT INJECTIONS- RIGHT HIP"
    index = TextIndex.build(raw)
    assert index.find("non-resolving trigger") == (raw.index("non-"), raw.index(" points"))
    assert index.find("INJECTIONS- RIGHT HIP") is not None
    assert index.find("INJECTIONS-RIGHT HIP") is None
    assert canonical("Anti- \r\n\r\nInflammatory") == "Anti-Inflammatory"


def test_typographic_quotes_entities_and_markup_are_ignored():
    raw = ("<b>Case Number:</b>\tCM14-0037910\n"
           "**LUMBAR TP1 L5:** Upheld \u201cRecommended\u201d &amp; more")
    index = TextIndex.build(raw)
    assert index.norm == 'Case Number: CM14-0037910 LUMBAR TP1 L5: Upheld "Recommended" & more'
    s, e = index.find("LUMBAR TP1 L5: Upheld")
    assert raw[s:e] == "LUMBAR TP1 L5:** Upheld"
    assert index.find('"Recommended" & more') is not None


def test_ignored_spans_act_as_whitespace():
    raw = "the request is not\n\fPage 2 of 3\nCM15-0123456\nmedically necessary."
    start = raw.index("\f")
    end = raw.index("\nmedically")
    index = TextIndex.build(raw, [(start, end)])
    s, e = index.find("not medically necessary")
    assert (s, e) == (raw.index("not"), raw.index("."))


def test_near_picks_the_occurrence_at_or_after_it():
    raw = "Upheld here. Then Upheld again."
    index = TextIndex.build(raw)
    assert index.find("Upheld") == (0, 6)
    assert index.find("Upheld", near=5) == (18, 24)


def test_hyphenated_line_break_between_emphasised_words_joins():
    assert canonical("**non-** \n\n**resolving**") == "non-resolving"
    assert canonical("<b>non-</b> \n\n<b>resolving</b>") == "non-resolving"
    assert canonical("a<br>b **x** y<b>z</b>") == "a b x yz"


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(list("ab- *_<>&;\n\r\t\f\u00a0\u201c\u2019.x")
                                + ["<b>", "**", "&amp;", "word"]), max_size=30))
def test_fast_path_of_canonical_agrees_with_the_index(pieces):
    text = "".join(pieces)
    assert canonical(text) == TextIndex.build(text).norm


# -- the C-speed build against the reference builder (tests/normalize_reference.py) --
PIECES = (list("ab- *_<>&;.x1\u00e9\u00b2\n\r\t\f\v\x1c\u0085\u2028\u00a0\u3000\u201c\u2019")
          + ["  ", " \n\n", "\r\n", "word-", "- \n", "**", "__", "<b>", "</b>", "<br>", "<i>",
             "<p class='x'\n>", "&amp;", "&nbsp;", "&lt;", "&#39;", "word"])


def assert_same_index(raw: str, ignore=()) -> None:
    """Same norm text and the same offset mapping at every offset."""
    fast, slow = TextIndex.build(raw, ignore), normalize_reference.build(raw, ignore)
    assert fast.norm == slow.norm
    if not slow.norm:
        return
    for n in range(len(slow.norm)):
        assert (fast.raw_start(n), fast.raw_end(n + 1)) == (slow.raw_start(n), slow.raw_end(n + 1))
    assert [fast.norm_pos(r) for r in range(len(raw) + 1)] == \
        [slow.norm_pos(r) for r in range(len(raw) + 1)]


@pytest.mark.parametrize("letter", ALL_LETTERS, ids=lambda p: p.name)
def test_fast_index_equals_the_reference_on_every_fixture(letter):
    doc = ingest.load(letter)
    assert_same_index(doc.text, doc.furniture)


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=40), st.data())
def test_fast_index_equals_the_reference_on_generated_text(pieces, data):
    raw = "".join(pieces)
    ignore = []
    if raw and data.draw(st.booleans()):  # a span of page furniture to ignore
        s = data.draw(st.integers(0, len(raw) - 1))
        ignore = [(s, data.draw(st.integers(s, len(raw))))]
    assert_same_index(raw, ignore)
