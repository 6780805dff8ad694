"""Substring fast paths give exactly what the regex scans they replace gave."""

import json
import re

import pytest
from conftest import ALL_LETTERS
from normalize_reference import _MARKUP_CHAR
from hypothesis import given, settings
from hypothesis import strategies as st

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
