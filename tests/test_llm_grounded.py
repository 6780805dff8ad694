"""Grounded decoding: the schema sent to the server only allows pieces of the letter."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from extractor.backends.model import answer, grounded
from extractor.core import ingest, verify
from extractor.core.schema import Claim

LETTERS = sorted((Path(__file__).resolve().parents[1] / "evals" / "fixtures" / "letters")
                 .glob("00*.txt"))


@pytest.mark.parametrize("path", LETTERS, ids=lambda p: p.name[:3])
def test_every_piece_is_letter_text_and_verifies_as_a_value(path):
    doc = ingest.load(path)
    short, long = grounded.segments(doc)
    assert len(short) > 50 and long
    for piece in short + long:
        claim = Claim(field="diagnoses[0]", value=piece, quote=piece)
        assert not isinstance(verify.check(doc, claim), str), piece
        assert '"' not in piece and "\\" not in piece  # see grounded._UNSAFE


@pytest.mark.parametrize("path", LETTERS, ids=lambda p: p.name[:3])
def test_gold_text_values_are_selectable(path):
    """Most gold text values are offered as a piece (what grounded decoding can reach)."""
    gold = json.loads((path.parent.parent / "gold" / f"{path.name}.json").read_text())
    short, long = grounded.segments(ingest.load(path))
    pieces = set(short) | set(long)
    values = [*gold["diagnoses"], *gold["reviewer"]["specialties"],
              *(item[f] for item in gold["items"]
                for f in ("treatment", "claims_administrator_guideline", "maximus_guideline")
                if item[f])]
    found = [v for v in values if v in pieces]
    assert len(found) >= 0.6 * len(values), set(values) - pieces


def test_text_slots_become_enums_and_typed_values_stay_typed():
    doc = ingest.load(LETTERS[4])
    schema = grounded.schema(answer.answer_model().model_json_schema(), doc)
    defs = schema["$defs"]
    assert defs["Fact"]["properties"] == {"value": {"$ref": "#/$defs/Short"}}
    item = defs["ItemAnswer"]["properties"]
    assert item["rationale"]["anyOf"][0] == {"$ref": "#/$defs/LongFact"}
    assert defs["DateFact"]["properties"]["quote"] == {"$ref": "#/$defs/Piece"}
    assert defs["CountFact"]["properties"]["value"]["anyOf"][0]["type"] == "integer"


@pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None, reason="llama_cpp missing")
@pytest.mark.parametrize("path", LETTERS, ids=lambda p: p.name[:3])
def test_llama_cpp_compiles_the_grounded_schema_into_a_grammar(path):
    """llama.cpp falls back to plain JSON (no grounding) if the grammar does not parse,
    and only says so in its log: check the parse, in a subprocess (it prints to fd 2)."""
    code = (
        "import json, sys\n"
        "from llama_cpp import llama_chat_format\n"
        "from extractor.backends.model import answer, grounded\n"
        "from extractor.core import ingest\n"
        f"doc = ingest.load({str(path)!r})\n"
        "schema = grounded.schema(answer.answer_model().model_json_schema(), doc)\n"
        "fmt = json.loads(json.dumps({'type': 'json_object', 'schema': schema}))\n"
        "g = llama_chat_format._grammar_for_json_schema(json.dumps(fmt['schema']),"
        " fallback_to_json=False)\n"
        "print('enum rules', g._grammar.count('\\n'))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=Path(__file__).resolve().parents[1])
    assert out.returncode == 0, out.stderr[-2000:]
    assert "error parsing" not in out.stderr and "failed to parse" not in out.stderr
