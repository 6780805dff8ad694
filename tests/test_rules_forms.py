"""Forms the published letters write, each in a small letter built here: the value the
rules must read is known by construction."""

import pytest

from extractor.config import Config
from extractor.core import ingest
from extractor.pipeline import extract_document

HEAD = """Case Number: CM16-0000001
Date Assigned: 11/09/2016 Date of Injury: 10/13/2016
Decision Date: 12/09/2016 UR Denial Date: 11/03/2016
HOW THE IMR FINAL DETERMINATION WAS MADE
MAXIMUS Federal Services sent the complete case file to an expert reviewer.
The Expert Reviewer has the following credentials:
State(s) of Licensure: {states}
Certification(s)/Specialty: {specialty}
CLINICAL CASE SUMMARY
The injured worker is a 48 year old male who sustained an industrial injury on 10-13-16.
IMR ISSUES, DECISIONS AND RATIONALES
The Final Determination was based on decisions for the disputed items/services set forth below:
{items}"""
ITEM = """{heading}: Upheld
Claims Administrator guideline: Decision based on MTUS.
MAXIMUS guideline: Decision based on MTUS.
Decision rationale: The request is not medically necessary.
"""


def record(items=("MRI of the right shoulder",), states="California",
           specialty="Family Practice"):
    text = HEAD.format(states=states, specialty=specialty,
                       items="".join(ITEM.format(heading=h) for h in items))
    doc = ingest.from_text(text, "built.txt", "text", "0" * 64)
    return extract_document(doc, Config()).model_dump(mode="json")


def test_states_written_without_a_space_after_the_comma_are_separate():
    assert record(states="California,North Carolina")["reviewer"]["licensed_states"] == [
        "California", "North Carolina"]


@pytest.mark.parametrize("written, specialties", [
    ("Occupational Medicine, Preventive Medicine, Public Health &\nGeneral Preventive Medicine",
     ["Occupational Medicine", "Preventive Medicine",
      "Public Health & General Preventive Medicine"]),
    ("Physical Medicine & Rehabilitation, Pain Management, Occupational \nMedicine",
     ["Physical Medicine & Rehabilitation", "Pain Management", "Occupational Medicine"]),
])
def test_a_specialty_that_wraps_onto_the_next_line_is_one_specialty(written, specialties):
    assert record(specialty=written)["reviewer"]["specialties"] == specialties


@pytest.mark.parametrize("heading, quantity", [
    ("Twelve physical therapy visits", 12),
    ("Occupational therapy for six sessions", 6),
    ("Four sessions of physical therapy two times a week times 2 weeks", 4),
    ("Follow up office visit times 2", 2),
    ("NCV of the bilateral lower extremities, 2", 2),
    ("Three refills of Voltaren 75mg #60", 60),
    ("Physical therapy 2 times a week for 6 weeks", None),
    # two counts for two parts of the request: no single quantity
    ("two physical therapy sessions for the neck and eight physical therapy sessions for "
     "the back", None),
])
def test_counts_in_digits_and_words(heading, quantity):
    assert record(items=[heading])["items"][0]["quantity"] == quantity


@pytest.mark.parametrize("heading, name, strength", [
    ("Ultram (tramadol) 50mg #60", "Ultram", "50mg"),
    ("Meloxicam (Mobic) 7.5mg #30", "Meloxicam", "7.5mg"),
    ("Retrospective Famotidine 20mg #60, per 12/07/2016 order", "Famotidine", "20mg"),
    ("Lidopro 4%-27.5%-0.0325% 121gm #1", "Lidopro", "4%-27.5%-0.0325%"),
    ("Diclofenac/misoprostol 75-0.2mg #60 with 2 refills", "Diclofenac/misoprostol", "75-0.2mg"),
    ("Synapryn 10mg/1ml oral suspension 500ml", "Synapryn", "10mg/1ml"),
    ("Tabradol 1mg/ml oral suspension 250ml", "Tabradol", "1mg/ml"),
    ("Salonpas pad #60", "Salonpas", None),
    ("Trezix #60", "Trezix", None),
])
def test_brand_compound_and_parenthesised_drugs(heading, name, strength):
    item = record(items=[heading])["items"][0]
    assert item["medication"] == {"name": name, "strength": strength}
    assert item["category"] == "medication"


@pytest.mark.parametrize("heading, category", [
    ("Associated surgical service: Cold therapy unit", "durable_medical_equipment"),
    ("Labs to include: EKG", "diagnostic_test"),
    ("Pre-operative PT/PTT", "diagnostic_test"),
    ("Assistant PA", "surgery"),
    ("Chiropractic evaluation, lumbar spine", "consultation"),
    ("Right knee arthroscopy with evaluation of ACL", "surgery"),
    ("Partial Hospitalization day treatment", "program"),
    ("Pulsed Ultrasound 2 times a week for 4 weeks", "physical_therapy"),
    ("Chirophysio therapy for the cervical spine", "chiropractic"),
])
def test_categories_of_the_published_letters_treatments(heading, category):
    item = record(items=[heading])["items"][0]
    assert item["treatment"] == heading and item["category"] == category


def test_an_item_without_a_decision_sentence_takes_it_from_the_notice_list():
    """The 2013 notice lists the decisions first; f-cutshort's last item lost the page
    with its own. A treatment with a decimal point ("1.3%") is still found in the list."""
    from conftest import LETTERS

    text = (LETTERS / "f-cutshort--1.txt").read_text().replace(
        "a lumbar support brace", "Flector 1.3% patch #30")
    doc = ingest.from_text(text, "notice.txt", "text", "0" * 64)
    got = extract_document(doc, Config()).model_dump(mode="json")
    assert [it["decision"] for it in got["items"]] == ["overturned", "upheld"]
    assert got["items"][1]["treatment"] == "Flector 1.3% patch #30"
    assert got["items"][1]["rationale"] is None  # its page was lost: left out, with a warning
    assert any("without the sentence that states the decision" in w for w in got["warnings"])
