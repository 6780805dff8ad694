"""The rules path emits the record's JSON form without pydantic (table.record_data).

What it emits must be exactly what pydantic would: the validated Record's
`model_dump(mode="json")`, the same keys in the same order (compared as JSON text).
"""

import json
import sys

import pytest
from conftest import ORIGINALS, ROOT
from hypothesis import HealthCheck, given, settings
from test_layouts import letters

from extractor.backends import rules
from extractor.core import ingest
from extractor.core.schema import Claim, Record
from extractor.core.table import record_data
from extractor.core.verify import verify_data
from extractor.pipeline import extract_data

sys.path.insert(0, str(ROOT / "evals"))
import make_layouts  # noqa: E402

LETTERS = sorted((ROOT / "evals" / "fixtures" / "letters").iterdir())


def as_pydantic_gives_it(data: dict) -> str:
    return json.dumps(Record.model_validate(data).model_dump(mode="json"))


@pytest.mark.parametrize("path", [*LETTERS, *ORIGINALS], ids=lambda p: p.name)
def test_every_letter_is_emitted_as_pydantic_would(path):
    data = extract_data(ingest.load(path))
    assert json.dumps(data) == as_pydantic_gives_it(data)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(letters())
def test_every_generated_layout_is_emitted_as_pydantic_would(choices):
    suffix, data = make_layouts.render(choices)
    record = extract_data(ingest.from_bytes(data, f"generated{suffix}"))
    assert json.dumps(record) == as_pydantic_gives_it(record)


def test_a_letter_with_rejections_and_warnings_too():
    text = (ROOT / "evals" / "fixtures" / "letters" / "004_fc97f7610c159615.txt").read_text()
    # No decision anywhere: a warning and an empty outcome.
    doc = ingest.from_bytes(text.replace("Upheld", "Pending").encode(), "x.txt")
    claims, warnings = rules.extract(doc)
    claims += [Claim("patient.age", 99, "not in the letter"),
               Claim("items[7].quantity", 3, "Pending")]  # an item with no treatment
    data = verify_data(doc, claims, {"backend": "rules"}, warnings=warnings)
    assert data["warnings"] and data["outcome"] is None
    assert [r["field"] for r in data["rejected"]] == ["patient.age", "items[7].quantity"]
    assert json.dumps(data) == as_pydantic_gives_it(data)


def test_defaults_are_filled_in_schema_order():
    tree = {"extractor": {"backend": "rules"},
            "source": {"format": "text", "chars": 1, "sha256": "ab", "path": None}}
    data = record_data(tree)
    assert list(data) == list(Record.model_fields)
    assert data["reviewer"] == {"specialties": [], "subspecialties": [], "licensed_states": []}
    assert json.dumps(data) == as_pydantic_gives_it(tree)
    # Each record gets its own lists, not a shared default.
    data["warnings"].append("x")
    assert record_data(tree)["warnings"] == []


def test_what_pydantic_would_refuse_is_refused():
    source = {"format": "text", "chars": 1, "sha256": "ab", "path": None}
    with pytest.raises(ValueError, match="unexpected"):
        record_data({"extractor": {"backend": "rules"}, "source": source, "weight": 3})
    with pytest.raises(ValueError, match="sha256 is required"):
        record_data({"extractor": {"backend": "rules"},
                     "source": {k: v for k, v in source.items() if k != "sha256"}})
