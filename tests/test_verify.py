"""The verifier decides what is emitted: quote must be in the letter, value must
agree with its quote, failures land in `rejected` with a reason."""

import pytest
from conftest import LETTERS

from extractor.core import ingest
from extractor.core.schema import Claim, ExtractorInfo
from extractor.core.verify import verify

LETTER_000 = LETTERS / "000_5af06fd8d99aadee.txt"
LETTER_001 = LETTERS / "001_86ba345343cd3771.txt"
LETTER_002 = LETTERS / "002_f7fec690ca28e43d.txt"
LETTER_004 = LETTERS / "004_fc97f7610c159615.txt"
RULES = ExtractorInfo(backend="rules")


def run(path, *claims):
    return verify(ingest.load(path), list(claims), RULES)


@pytest.mark.parametrize("path,quote,value", [
    (LETTER_000, "industrial injury on 05-16-2008", "2008-05-16"),
    (LETTER_001, "date of injury of 9/26/12", "2012-09-26"),
    (LETTER_002, "industrial injury of July 17, 2012", "2012-07-17"),
    (LETTER_004, "injury on 3/9/09", "2009-03-09"),
])
def test_date_value_is_the_date_written_in_its_quote(path, quote, value):
    record = run(path, Claim(field="patient.date_of_injury", value=value, quote=quote))
    assert record.patient.date_of_injury == value
    assert record.rejected == []
    ev = record.evidence[0]
    assert ingest.load(path).text[ev.start:ev.end] == quote


def test_wrong_date_is_rejected_with_reason():
    record = run(LETTER_000, Claim(field="patient.date_of_injury", value="2008-06-16",
                                   quote="industrial injury on 05-16-2008"))
    assert record.patient.date_of_injury is None
    assert record.rejected[0].reason == "quote says 2008-05-16, not 2008-06-16"


def test_invented_quote_is_rejected():
    record = run(LETTER_000, Claim(field="patient.age", value=30, quote="a 30 year old male"))
    assert record.patient.age is None
    assert record.rejected[0].reason == "quote not found in the letter"


def test_number_must_be_the_quotes_digits():
    ok = run(LETTER_000, Claim(field="patient.age", value=49, quote="49 year old male"))
    bad = run(LETTER_000, Claim(field="patient.age", value=50, quote="49 year old male"))
    assert ok.patient.age == 49
    assert bad.patient.age is None and "quote says 49" in bad.rejected[0].reason


def test_decision_must_be_its_word_and_drives_derived_fields():
    heading = "MRI of the thoracic spine without contrast:  Upheld"
    record = run(LETTER_001,
                 Claim(field="items[0].treatment",
                       value="MRI of the thoracic spine without contrast", quote=heading),
                 Claim(field="items[0].decision", value="overturned", quote=heading))
    item = record.items[0]
    assert item.decision is None and item.medically_necessary is None
    assert "quote says upheld" in record.rejected[0].reason
    assert item.category == "imaging"


def test_text_value_must_be_whole_words_inside_its_quote():
    quote = "licensed to practice in California"
    field = "reviewer.licensed_states[0]"
    ok = run(LETTER_001, Claim(field=field, value="California", quote=quote))
    partial = run(LETTER_001, Claim(field=field, value="Califor", quote=quote))
    assert ok.reviewer.licensed_states == ["California"]
    assert ok.evidence[0].quote == "California"
    assert partial.reviewer.licensed_states == []
    assert partial.rejected[0].reason == "value is not the letter's words in its quote"


def test_item_without_verified_treatment_rejects_its_other_fields():
    record = run(LETTER_001,
                 Claim(field="items[0].treatment", value="Chiropractic care",
                       quote="Chiropractic care"),
                 Claim(field="items[0].decision", value="upheld", quote="Upheld"))
    assert record.items == []
    reasons = {r.field: r.reason for r in record.rejected}
    assert reasons["items[0].treatment"] == "quote not found in the letter"
    assert reasons["items[0].decision"] == "item has no verified treatment"


def test_first_verified_value_wins_and_disagreement_is_a_warning():
    record = run(LETTER_004,
                 Claim(field="patient.date_of_injury", value="2009-03-09",
                       quote="Date of Injury:</b>\t03/09/2009"),
                 Claim(field="decision_date", value="2014-08-12", quote="08/12/2014"),
                 Claim(field="patient.date_of_injury", value="2014-08-12", quote="08/12/2014"))
    assert record.patient.date_of_injury == "2009-03-09"
    assert record.warnings == ["patient.date_of_injury: kept '2009-03-09', also found '2014-08-12'",
                               "no disputed items found"]


@pytest.mark.parametrize("field,value,reason", [
    ("items[0].category", "surgery", "category is derived by the verifier"),
    ("items[0].medically_necessary", True, "medically_necessary is derived by the verifier"),
    ("outcome", "overturned", "quote has none of the words upheld, overturned"),
    ("patient.height", 170, "unknown field"),
    ("patient.sex", "male", "no quote"),
])
def test_claims_that_cannot_be_accepted(field, value, reason):
    record = run(LETTER_000, Claim(field=field, value=value, quote=None if field == "patient.sex"
                                   else "49 year old male"))
    assert record.rejected and record.rejected[0].reason.startswith(reason)


def test_outcome_partially_overturned_from_mixed_decisions():
    text = LETTER_001.read_text().replace("for 4 weeks:  Upheld", "for 4 weeks:  Overturned")
    doc = ingest.from_text(text, "x.txt", "text", "0" * 64)
    from extractor.backends import rules
    claims, _ = rules.extract(doc)
    record = verify(doc, claims, RULES)
    assert [i.decision for i in record.items] == ["upheld", "overturned", "upheld"]
    assert [i.medically_necessary for i in record.items] == [False, True, False]
    assert record.outcome == "partially_overturned"
    assert sum(ev.field == "outcome" for ev in record.evidence) == 3


def test_case_number_must_look_like_one_even_when_it_is_letter_text():
    heading = "LUMBAR TP1 L5"
    record = run(LETTER_004, Claim(field="case_number", value=heading, quote=heading),
                 Claim(field="case_number", value="CM14-0037910", quote="CM14-0037910"))
    assert record.case_number == "CM14-0037910"
    assert record.rejected[0].reason.startswith("not shaped like a case number")


@pytest.mark.parametrize("quote,value", [
    ("Final Determination: UPHOLD", "upheld"),
    ("Final Determination: OVERTURN", "overturned"),
    ("Final Determination: PARTIAL OVERTURN", "partially_overturned"),
])
def test_an_outcome_verifies_against_the_words_a_final_determination_uses(tmp_path, quote, value):
    letter = tmp_path / "cover.txt"
    letter.write_text(LETTER_000.read_text() + f"\n{quote}.\n")
    record = run(letter, Claim(field="outcome", value=value, quote=quote))
    assert record.outcome == value and not record.rejected
    wrong = "upheld" if value != "upheld" else "overturned"
    assert run(letter, Claim(field="outcome", value=wrong, quote=quote)).rejected[0].reason == \
        f"quote says {value}, not {wrong}"
