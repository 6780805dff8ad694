"""The letters as users have them: the Final Determination Letter PDFs the DWC publishes.

Every PDF in ../shared/real-letters (the 64 published letters beside the checkout) goes
through the real CLI; the 27 copied into evals/fixtures (p-dwc--*, labelled by reading)
are scored by test_rules_gold and `imr-extract eval`. The decisions are checked against
an oracle that knows nothing of the rules: the letters' own decision lines
("TREATMENT: Upheld", the word sometimes alone on the next line).
"""

import json
import re

import pytest
from conftest import LETTERS, ROOT

from extractor.core import ingest

SHARED = ROOT.parent / "shared" / "real-letters"
PUBLISHED = sorted(SHARED.glob("*.pdf")) if SHARED.is_dir() else []
COPIES = sorted(LETTERS.glob("p-dwc--*.pdf"))
DECISION_LINE = re.compile(r":[ \t]*\n?[ \t]*(Upheld|Overturned)[ \t]*$", re.MULTILINE)
WRAPPERS = ("the original request", "the remaining imr eligible portion")


def records(cli, paths) -> list[dict]:
    result = cli("extract", "--compact", *paths)
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == len(paths)
    return out


def check_letter(path, record: dict) -> None:
    text = ingest.load(path).text  # the text `extract --text` prints: offsets refer to it
    assert record["source"]["format"] == "pdf"
    assert record["items"] and record["outcome"], path.name
    assert [it["decision"] for it in record["items"]] == [
        d.lower() for d in DECISION_LINE.findall(text)], path.name
    for ev in record["evidence"]:
        if ev["match"] == "exact":
            assert text[ev["start"]:ev["end"]] == ev["quote"], (path.name, ev["field"])
    assert not any("," in s for s in record["reviewer"]["licensed_states"]), path.name
    assert not any(it["treatment"].lower().startswith(WRAPPERS) for it in record["items"])
    assert record["rejected"] == [], (path.name, record["rejected"])


@pytest.mark.skipif(not PUBLISHED, reason=f"no published letters at {SHARED}")
def test_every_published_pdf_gives_a_record_that_agrees_with_its_decision_lines(cli):
    assert len(PUBLISHED) >= 64
    for path, record in zip(PUBLISHED, records(cli, PUBLISHED), strict=True):
        check_letter(path, record)


def test_the_published_copies_in_the_fixtures_read_the_same_way(cli):
    assert len(COPIES) >= 24
    for path, record in zip(COPIES, records(cli, COPIES), strict=True):
        check_letter(path, record)


def test_a_modified_request_keeps_what_was_reviewed_and_what_was_authorized(cli):
    """CM16-0229336: 'X was the original request. The Claims Administrator authorized Y,
    leaving the original request IMR eligible. The original request, X is: Overturned'."""
    record = records(cli, [LETTERS / "p-dwc--CM16-0229336.pdf"])[0]
    item = record["items"][0]
    assert item["treatment"].startswith("Acute inpatient rehabilitation physical therapy")
    assert item["original_request"] == item["treatment"]
    assert item["authorized"].startswith("Skilled nursing facility for 7 days")
    assert item["decision"] == "overturned" and item["category"] == "program"


def check_normalised(path, record: dict) -> None:
    """Every medication item has an ingredient and a class; every cited guideline has a
    source; a body region comes with the words that name it."""
    for it in record["items"]:
        if it["category"] == "medication":
            assert it["ingredients"] and it["drug_class"], (path.name, it["treatment"])
        if it["maximus_guideline"]:
            assert it["guideline_source"], (path.name, it["maximus_guideline"])
    named = {ev["field"]: ev["quote"] for ev in record["evidence"]}
    for j, it in enumerate(record["items"]):
        if it["body_region"]:
            assert named[f"items[{j}].body_region"] in it["treatment"]


@pytest.mark.skipif(not PUBLISHED, reason=f"no published letters at {SHARED}")
def test_every_published_letter_has_its_drugs_and_guidelines_normalised(cli):
    found = records(cli, PUBLISHED)
    for path, record in zip(PUBLISHED, found, strict=True):
        check_normalised(path, record)
    # the summary's chart of the ten most cited guidelines: no bar is one citation string
    strings: dict[tuple, set] = {}
    for it in (it for r in found for it in r["items"]):
        if it["guideline_source"] not in (None, "none"):
            group = (it["guideline_source"], it["guideline_part"])
            strings.setdefault(group, set()).add(it["maximus_guideline"])
    top = sorted(strings, key=lambda g: -sum(
        1 for r in found for it in r["items"]
        if (it["guideline_source"], it["guideline_part"]) == g))[:10]
    assert all(len(strings[g]) >= 2 for g in top), {g: len(strings[g]) for g in top}


def test_the_published_copies_have_their_drugs_and_guidelines_normalised(cli):
    found = records(cli, COPIES)
    for path, record in zip(COPIES, found, strict=True):
        check_normalised(path, record)
    items = [it for r in found for it in r["items"]]
    assert sum(it["category"] == "medication" for it in items) >= 10  # the check has teeth
    # the guideline groups merge citations: many distinct strings, far fewer groups
    strings = {it["maximus_guideline"] for it in items if it["maximus_guideline"]}
    groups = {(it["guideline_source"], it["guideline_part"]) for it in items
              if it["guideline_source"]}
    assert len(groups) < len(strings) / 2
