"""The normalised fields (core/vocab): drugs, guideline citations, body regions.

Expected values are written by reading the citation or the drug name (and, for the
drugs, from the products' labelling), never by running the normaliser. Every row of
drugs.toml has a test of its own.
"""

import json
import os
import subprocess
import sys
import typing

import pytest
from conftest import ROOT

from extractor.core.schema import DrugClass, GuidelineSource, Region
from extractor.core.vocab import drugs, guidelines, regions, vocabulary

TABLE = drugs.table()


@pytest.mark.parametrize("name", sorted(TABLE["names"]))
def test_each_name_of_our_table_resolves_to_its_ingredients(name):
    assert drugs.resolve(name).ingredients == TABLE["names"][name]


@pytest.mark.parametrize("ingredient", sorted(TABLE["classes"]))
def test_each_ingredient_of_our_table_resolves_to_itself_and_its_class(ingredient):
    drug = drugs.resolve(ingredient)
    assert drug.ingredients == [ingredient]
    assert drug.drug_class == TABLE["classes"][ingredient]


@pytest.mark.parametrize("name", TABLE["topical"]["names"])
def test_each_topical_name_is_a_drug(name):
    assert drugs.resolve(name).ingredients


def test_every_class_is_a_word_of_the_schema():
    assert set(TABLE["classes"].values()) <= set(typing.get_args(DrugClass))


@pytest.mark.parametrize("text, ingredients, drug_class", [
    # the library alone (DrugBank/MeSH synonyms)
    ("Restoril 30mg #30", ["temazepam"], "benzodiazepine"),
    ("Ultram 50mg #60", ["tramadol"], "opioid"),
    ("Meloxicam (Mobic) 7.5mg #30", ["meloxicam"], "nsaid"),
    ("Prevacid 15mg #30", ["lansoprazole"], "proton_pump_inhibitor"),
    ("Hydrocodone/APAP 10/325 #90", ["hydrocodone", "acetaminophen"], "opioid"),
    ("Nortriptyline HCL 25mg, #30", ["nortriptyline"], "antidepressant"),
    ("Butrans 10mcg/hr patch #4", ["buprenorphine"], "opioid"),
    ("Diclofenac/misoprostol 75-0.2mg #60", ["diclofenac", "misoprostol"], "nsaid"),
    # our table
    ("NORCO 10/325MG", ["hydrocodone", "acetaminophen"], "opioid"),
    ("Norco 10/325mg #60", ["hydrocodone", "acetaminophen"], "opioid"),
    ("Fexmid 7.5mg #60", ["cyclobenzaprine"], "muscle_relaxant"),
    ("Terocin patches #30", ["methyl salicylate", "capsaicin", "menthol", "lidocaine"],
     "topical_compound"),
    ("Retrospective Lidopro 4%-27.5%-0.0325% 121gm #1", ["capsaicin", "lidocaine", "menthol",
                                                         "methyl salicylate"], "topical_compound"),
    # a compound written out: one class whatever is in it
    ("Flurbiprofen 20%, Baclofen 5%, Menthol 2% in cream base",
     ["flurbiprofen", "baclofen", "menthol"], "topical_compound"),
    ("Lidoderm 5% patch #30", ["lidocaine"], "local_anesthetic"),
])
def test_drugs_as_the_letters_write_them(text, ingredients, drug_class):
    drug = drugs.resolve(text)
    assert (drug.ingredients, drug.drug_class) == (ingredients, drug_class)


def test_drugbank_ids_come_from_the_vocabulary():
    assert drugs.resolve("Norco 10/325mg").ids == ["DB00956", "DB00316"]
    assert drugs.resolve("Menthol 2%").ids == []  # the vocabulary has no menthol


def test_the_two_sources_can_be_measured_apart():
    assert drugs.resolve("Norco 10/325", own=False).ingredients == []
    assert drugs.resolve("Restoril 30mg", library=False).ingredients == []
    assert drugs.resolve("Norco 10/325", library=False).ingredients == [
        "hydrocodone", "acetaminophen"]


def test_words_that_are_not_drugs_resolve_to_nothing():
    for text in ("Retrospective request, three refills per 12/07/2016 order",
                 "Physical therapy 2 times a week", "cream base pad gel tablet"):
        assert drugs.resolve(text).ingredients == [], text


def test_the_vocabulary_is_not_loaded_until_a_medication_is_read(tmp_path):
    probe = ("import sys, json; from extractor.cli import main; from extractor.core.vocab "
             "import drugs; sys.argv = ['imr-extract', 'extract', sys.argv[1]]\n"
             "try: main()\nexcept SystemExit: pass\n"
             "print(json.dumps(drugs.Vocabulary._opened is not None), file=sys.stderr)")
    letters = ROOT / "evals" / "fixtures" / "letters"
    loaded = {}
    for name in ("004_fc97f7610c159615.txt", "003_a451431fba358ec9.txt"):
        run = subprocess.run([sys.executable, "-c", probe, str(letters / name)],
                             capture_output=True, text=True, cwd=ROOT, check=True)
        record = json.loads(run.stdout)
        medication = any(it["category"] == "medication" for it in record["items"])
        loaded[medication] = json.loads(run.stderr.strip().splitlines()[-1])
    assert loaded == {False: False, True: True}


def test_the_vocabulary_index_is_built_once_private_and_read_back(tmp_path, monkeypatch):
    monkeypatch.setenv(vocabulary.INDEX_ENV, str(tmp_path))
    path = vocabulary.index_path()
    vocabulary.build(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary left behind
    index = vocabulary.Vocabulary(path)
    assert index.canonicals("restoril") == ["temazepam"]
    assert index.entry("temazepam") == ("Temazepam", "DB00231")
    assert index.canonicals("norco") == [] and index.entry("norco") == (None, None)


def test_without_a_writable_cache_the_vocabulary_is_read_into_memory(tmp_path, monkeypatch):
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    monkeypatch.setenv(vocabulary.INDEX_ENV, str(blocked))
    monkeypatch.setattr(vocabulary.Vocabulary, "_opened", None)
    index = vocabulary.Vocabulary.open()
    assert index.path is None and index.canonicals("ultram") == ["tramadol"]
    monkeypatch.setattr(vocabulary.Vocabulary, "_opened", None)


# -- guidelines: (value as letters write it, source, part, edition, topic) ----------------
CITATIONS = [
    ("Decision based on MTUS Chronic Pain Medical Treatment 2016, Section(s): Physical "
     "medicine treatment.", "mtus_chronic_pain", None, "2016", "Physical medicine treatment"),
    ("Decision based on MTUS Neck and Upper Back Complaints 2004, Section(s): Special Studies.",
     "mtus_acoem", "Neck and Upper Back", "2004", "Special Studies"),
    ("Decision based on MTUS Opioid Treatment 2016, Section(s): 3.3.9 Opioids for Chronic Pain "
     "and Chronic Opioid Treatment: Maintenance of Chronic Opioid Treatment.", "mtus_opioids",
     None, "2016", "Opioids for Chronic Pain and Chronic Opioid Treatment"),
    ("Decision based on MTUS Acupuncture Treatment 2007.", "mtus_acupuncture", None, "2007",
     None),
    ("The Expert Reviewer based their decision on recommendation(s) outside of the MTUS "
     "Guidelines. Decision based on Non-MTUS Citation Official Disability Guidelines (ODG) Low "
     "Back Chapter, Preoperative lab testing.", "odg", "Low Back", None,
     "Preoperative lab testing"),
    ("Decision based on Non-MTUS Citation Official Disability Guidelines (ODG) Low Back "
     "(Thoracic and Lumbar, Acute and Chronic) Chapter, Epidural Steroid Injection (ESI)",
     "odg", "Low Back", None, "Epidural Steroid Injection (ESI)"),
    ("Decision based on Non-MTUS Citation Official Disability Guidelines (ODG) Forearm, Wrist "
     "and Hand Chapter (updated 11/23/16) Electrodiagnostic studies (EDS).", "odg",
     "Forearm, Wrist and Hand", None, "Electrodiagnostic studies (EDS)"),
    ("Decision based on Non-MTUS Citation Official Disability Guidelines, Pain (Chronic).",
     "odg", "Pain", None, None),
    ("The Expert Reviewer based their decision on recommendation(s) outside of the MTUS "
     "Guidelines. Decision based on Non-MTUS Citation ACOEM: Low back disorders, diagnostic "
     "and treatment recommendations", "acoem", "Low Back", None, None),
    ("The Expert Reviewer based their decision on recommendation(s) outside of the MTUS "
     "Guidelines. Decision based on Non-MTUS Citation What is an electrocardiogram? National "
     "Heart, Lung, and Blood Institute.", "other", None, None, None),
    ("The Expert Reviewer did not cite any medical evidence for its decision.", "none", None,
     None, None),
    ("Decision based on MTUS ACOEM Chapter 12 Low Back Complaints, pages 303-305.",
     "mtus_acoem", "Low Back", None, None),
    ("Decision based on MTUS ACOEM Chapter 11, page 264.", "mtus_acoem",
     "Forearm, Wrist and Hand", None, None),
    ("Decision based on MTUS Chronic Pain Medical Treatment Guidelines, Opioids, pages 74-96.",
     "mtus_chronic_pain", None, None, "Opioids"),
    ("Decision based on MTUS Chronic Pain Treatment Guidelines Trigger Point injections "
     "Page(s): 122.", "mtus_chronic_pain", None, None, "Trigger Point injections"),
    ("Chronic Pain Medical Treatment Guidelines (May 2009), Muscle relaxants (for pain), pages "
     "63-66, which is part of the MTUS.", "mtus_chronic_pain", None, "2009",
     "Muscle relaxants (for pain)"),
    ("American College of Occupational and Environmental Medicine (ACOEM), 2nd Edition, "
     "(2004), Chapter 12, Low Back Complaints, page 301, which is part of the MTUS.",
     "mtus_acoem", "Low Back", "2004", None),
    ("Postsurgical Treatment Guidelines, Knee, meniscectomy, which is part of the MTUS.",
     "mtus_postsurgical", None, None, "Knee"),
    ("Decision based on MTUS.", "mtus_other", None, None, None),
]


@pytest.mark.parametrize("value, source, part, edition, topic", CITATIONS)
def test_guideline_citations(value, source, part, edition, topic):
    c = guidelines.cited(value)
    assert (c.source, c.part, c.edition, c.topic) == (source, part, edition, topic)


def test_every_source_is_a_word_of_the_schema_and_each_is_tested():
    assert set(guidelines.SOURCES) == set(typing.get_args(GuidelineSource))
    assert {row[1] for row in CITATIONS} == set(guidelines.SOURCES)


def test_a_value_that_cites_no_known_source_has_none():
    assert guidelines.cited("See the attached notes.") is None


@pytest.mark.parametrize("treatment, region", [
    ("MRI of the lumbar spine without contrast", "lumbar_spine"),
    ("Right L5 transforaminal epidural steroid injection", "lumbar_spine"),
    ("Open MRI of the lumbosacral spine", "lumbar_spine"),
    ("Retrospective CT scan of the cervical spine (DOS 11/18/16)", "cervical_spine"),
    ("Eight physical therapy sessions for the neck", "cervical_spine"),
    ("MRI of the thoracic spine without contrast, #1", "thoracic_spine"),
    ("Right shoulder arthroscopy RCR (rotator cuff repair)", "shoulder"),
    ("Right elbow MRI", "elbow"),
    ("with open carpal tunnel release", "wrist_hand"),
    ("Consult with hip replacement specialist", "hip"),
    ("Right knee arthroscopy with evaluation of ACL", "knee"),
    ("MRI of the right foot", "ankle_foot"),
    ("EMG of the bilateral lower extremities", "lower_extremity"),
    ("NCS/EMG RUE", "upper_extremity"),
    ("CT scan of the head", "head"),
    ("CT scan of abdomen and pelvis with contrast", "trunk"),
    ("Chiropractic for the left hip and left knee", "hip"),  # the first region named
    ("Facet injection", None),  # "face" is a word of its own
    ("Headache medication", None),
    ("Physical therapy two times a week", None),
])
def test_body_regions(treatment, region):
    found = regions.region(treatment)
    assert (found[0] if found else None) == region
    if found:
        start, end = found[1]
        assert regions.region(treatment[start:end])[0] == region


def test_every_region_is_a_word_of_the_schema():
    assert regions.REGIONS == typing.get_args(Region)


def test_a_forked_process_opens_its_own_connection_to_the_index():
    """A worker forked after the vocabulary was opened must not share its connection."""
    index = vocabulary.Vocabulary.open()
    assert index.canonicals("ultram") == ["tramadol"]
    parent = getattr(index.local, "db", None)
    pid = os.fork()
    if pid == 0:  # the child: a fresh connection, and the right answer
        code = 1
        try:
            right = index.canonicals("restoril") == ["temazepam"]
            code = 0 if right and index.local.db is not parent else 1
        finally:
            os._exit(code)  # never back into pytest from a forked child
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
