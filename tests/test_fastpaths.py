"""Substring fast paths give exactly what the regex scans they replace gave."""

import dataclasses
import json
import re

import pytest
from conftest import ALL_LETTERS
from hypothesis import example, given, settings, strategies as st
from normalize_reference import _MARKUP_CHAR

from extractor.core import ingest
from extractor.core.normalize import has_markup
from extractor.core.schema import record_json
from extractor.pipeline import extract_path

HEAD_PIECES = ["#", "##", "####### ", " ", "\n", "\r\n", "<b>", "<B>", "*", "**", "x", "# ",
               "\t#", "\u2019"]


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.sampled_from(HEAD_PIECES), max_size=25))
def test_markdown_sniffing_agrees_with_the_regex(pieces):
    head = "".join(pieces)
    expected = re.search(r"<b>|^#{1,6} |\*\*", head, re.MULTILINE) is not None
    assert ingest._looks_like_markdown(head) is expected


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet="ab *_<&;\n\u00e9\u201c\u2019\u2033", max_size=30))
def test_has_markup_agrees_with_the_regex(text):
    assert has_markup(text) is (_MARKUP_CHAR.search(text) is not None)


@pytest.mark.parametrize("letter", ALL_LETTERS, ids=lambda p: p.name)
def test_record_json_is_what_json_dumps_prints(letter):
    record = extract_path(letter)
    data = record.model_dump(mode="json")
    assert record_json(record) == json.dumps(data, ensure_ascii=False)
    assert record_json(record, pretty=True) == json.dumps(data, ensure_ascii=False, indent=2)


# Pieces of the keyed patterns' phrases in mixed case, with near-misses and edges.
KEYED_PIECES = ["Diagnoses include ", "diagnosed with ", "DIAGNOSIS of ", "Diagnoses: ",
                "diagnos", "Utilization Review dated ", "utilization review of ",
                "date of injury ", "DOI: ", "injured on ", "Injuries of ", "injur",
                "partially overturns the ", "Overturns the decision", "UPHOLDS the UR",
                "01/02/2014", "lumbar strain", ", ", "; ", ". ", " and was ", "x", " "]


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(KEYED_PIECES), max_size=14), st.integers(0, 40),
       st.integers(0, 40))
def test_keyed_patterns_find_what_their_regex_scan_finds(pieces, cut_lo, cut_hi):
    """Trying a pattern only at its key words gives finditer's matches, in any section."""
    from extractor.backends.rules import summary as rules
    from extractor.core import lexicon as lx

    text = "".join(pieces)
    lo, hi = min(cut_lo, len(text)), max(len(text) - cut_hi, 0)
    for keyed in (rules.UR, lx.INJURY, lx.OUTCOME_PROSE):
        want = [(m.span(), m.groups()) for m in keyed.pattern.finditer(text, lo, hi)]
        got = [(m.span(), m.groups()) for m in
               keyed.finditer(text, lx.ascii_folded(text), lo, hi)]
        assert got == want


def _lazy_regex(listed) -> re.Pattern:
    """The slow regex a Listed stands for: its forms as alternatives, each label atomic,
    its value the shortest run of non-barrier characters that a stop follows."""
    forms = []
    for i, f in enumerate(listed.forms):
        stop = f"{f.inner.pattern}|{f.end.pattern}" if f.inner else f.end.pattern
        forms.append(f"(?>{f.label.pattern})(?P<v{i}>[^{re.escape(f.barrier)}]"
                     f"{{1,{f.most}}}?)(?={stop})")
    return re.compile("|".join(forms), re.IGNORECASE)


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(KEYED_PIECES + ["Diagnoses included: ", "a;b", "x.y",
                                                "DIAGNOSES OF: ", " who ", " as a ", " for ",
                                                " with ", "\u017f"]),
                max_size=14),
       st.integers(0, 40), st.integers(0, 40), st.sampled_from([1, 3, 12, 600]))
@example(["diagnosed with ", "x", " and was "], 0, 0, 1)  # a stop just at the limit
@example(["Diagnoses: ", "lumbar strain", ". "], 0, 0, 600)
def test_listed_finds_what_its_lazy_regex_finds(pieces, cut_lo, cut_hi, most):
    """The diagnoses finder gives the lazy regex's values, in any section and at any
    length limit (small ones included, so values are cut by it), ASCII or not."""
    from extractor.backends.rules import summary as rules
    from extractor.core import lexicon as lx

    listed = type(rules.DIAGNOSES)(rules.DIAGNOSES.key, tuple(
        dataclasses.replace(f, most=most) for f in rules.DIAGNOSES.forms))
    text = "".join(pieces)
    lo, hi = min(cut_lo, len(text)), max(len(text) - cut_hi, 0)
    want = [next(m.span(g) for g in m.groupdict() if m.group(g) is not None)
            for m in _lazy_regex(listed).finditer(text, lo, hi)]
    assert list(listed.finditer(text, lx.ascii_folded(text), lo, hi)) == want


def test_a_diagnosis_list_after_included_keeps_its_first_word():
    """The old alternation tried "include" before "included" and read "d: lumbar
    strain"."""
    from extractor.backends.rules import summary as rules

    text = "Diagnoses included: lumbar strain, cervical strain. Next"
    assert [text[a:b] for a, b in rules.DIAGNOSES.finditer(text, text.lower(), 0, len(text))] \
        == ["lumbar strain, cervical strain"]
