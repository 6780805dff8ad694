#!/usr/bin/env python
"""Synthetic IMR letters in every layout family, with gold known by construction.

A letter is drawn as a combination of header style x item form x label spelling x
worker term x date form x file format (text, markdown, HTML, PDF), filled with
content written here (treatments with their counts and strengths, guidelines,
rationales, diagnoses). The gold record is built from the same choices, never
from an extractor. `tests/test_layouts.py` draws many letters with hypothesis
and checks the rules against the constructed gold; this script writes a dozen of
them as `g-*` fixtures (fixed seed) with their gold, and two more in each layout of 2013
(`LAYOUTS`: the 'Notice of Independent Medical Review Determination', the 'Independent
Medical Review' label block, the 'MEDICAL PROFESSIONAL REVIEW'):

    python evals/make_layouts.py            # writes evals/fixtures/{letters,gold}/g-*
    python evals/make_layouts.py --pdf-only # rebuilds f-pdfwrap--1.pdf from its text

Only the standard library and fpdf2 (PDF) are needed; `draw` is any function that
picks one element of a sequence (random.Random.choice, or hypothesis' draw).
"""

from __future__ import annotations

import html
import json
import random
import sys
import textwrap
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIX = HERE / "fixtures"
sys.path.insert(0, str(HERE))
from make_variants import build_pdf

Draw = Callable[[Sequence], object]

# (treatment as written, category, count of units, drug name, strength)
TREATMENTS = [
    ("Norco 10/325mg #120", "medication", 120, "Norco", "10/325mg"),
    ("Tramadol ER 150mg #30", "medication", 30, "Tramadol ER", "150mg"),
    ("Lidoderm 5% patches QTY: 60", "medication", 60, "Lidoderm", "5%"),
    ("Butrans patch 10mcg/hr #4", "medication", 4, "Butrans", "10mcg/hr"),
    ("Cyclobenzaprine 7.5mg", "medication", None, "Cyclobenzaprine", "7.5mg"),
    # medications written with no strength: a name (and a count), strength null
    ("Norco #120", "medication", 120, "Norco", None),
    ("Tramadol QTY 60", "medication", 60, "Tramadol", None),
    ("Lidoderm patches", "medication", None, "Lidoderm", None),
    ("Gabapentin capsules #90", "medication", 90, "Gabapentin", None),
    ("Physical therapy 12 sessions for the lumbar spine", "physical_therapy", 12, None, None),
    ("Physical therapy 2x6 for the left knee", "physical_therapy", None, None, None),
    ("Acupuncture 6 visits", "acupuncture", 6, None, None),
    ("Chiropractic manipulation x 2 weeks", "chiropractic", None, None, None),
    ("1 MRI of the cervical spine", "imaging", 1, None, None),
    ("MRI of the right shoulder without contrast", "imaging", None, None, None),
    ("Lumbar epidural steroid injection at L4-L5", "injection", None, None, None),
    ("EMG/NCV of the bilateral lower extremities", "diagnostic_test", None, None, None),
    ("TENS unit, 30 day rental", "durable_medical_equipment", None, None, None),
    ("Functional restoration program, 80 hours", "program", None, None, None),
    ("Pain management consultation", "consultation", None, None, None),
    ("Right shoulder arthroscopy", "surgery", None, None, None),
]
GUIDELINES = [
    "Decision based on MTUS Chronic Pain Medical Treatment Guidelines, Opioids, pages 74-96.",
    "Decision based on MTUS Chronic Pain Medical Treatment Guidelines, Physical Medicine, page 99.",
    "Decision based on MTUS ACOEM Chapter 12 Low Back Complaints, pages 303-305.",
    "Decision based on Non-MTUS Citation Official Disability Guidelines, Pain (Chronic).",
    "Decision based on MTUS Acupuncture Medical Treatment Guidelines.",
]
REASONS = [
    "The records document the response to prior care.",
    "The guidelines set out when this treatment is indicated.",
    "There is no documented functional improvement from earlier treatment.",
    "The examination findings were reviewed against the criteria.",
    "The treating physician described the goals of the request.",
]
DIAGNOSES = ["lumbar radiculopathy", "cervical strain", "chronic pain syndrome",
             "right shoulder impingement syndrome", "left knee sprain", "myofascial pain"]
SPECIALTIES = ["Internal Medicine", "Anesthesiology", "Orthopedic Surgery", "Family Practice"]
STATES = [["California"], ["California", "Nevada"]]
WORKERS = ["injured worker", "employee", "applicant", "patient", "claimant"]

# Label spellings, as letters of different years print them.
CA_LABELS = ["Claims Administrator guideline", "Claims Administrator's guideline",
             "Guideline used by the Claims Administrator"]
MX_LABELS = ["MAXIMUS guideline", "Expert Reviewer guideline",
             "Guideline relied on by the Expert Reviewer", "Guidelines relied on by MAXIMUS"]
RATIONALE_LABELS = ["Decision rationale", "Rationale for the decision",
                    "Rationale for the Decision"]
SUMMARY_HEADINGS = ["CLINICAL CASE SUMMARY", "CASE SUMMARY", "EXPERT REVIEWER CASE SUMMARY",
                    "SUMMARY OF RECORDS"]
ISSUES_HEADINGS = ["IMR ISSUES, DECISIONS AND RATIONALES", "IMR DECISION(S) AND RATIONALE(S)"]
HEADER_STYLES = ["none", "plain", "bold", "table", "cover"]
# paragraph: a numbered heading naming the request, the decision in a plain paragraph after
# it; closing: "1) Regarding the request for X:", the labels, then the decision paragraph
ITEM_FORMS = ["heading", "sentence", "numbered", "paragraph", "closing"]
# How labels and section headings are capitalised: as printed, or in another case.
LABEL_CASES = ["printed", "lower", "upper", "sentence", "mixed"]
FORMATS = ["text", "markdown", "html", "pdf"]
# The layouts of 2013 and early 2014, each with its own header, sections and item form
# (drawn after everything above, so the committed g-* letters of the current layout keep
# their draws): "notice" is the 'Notice of Independent Medical Review Determination'
# (items "regarding": a numbered list of 'MAXIMUS Federal Services, Inc. has determined the
# request for X is (not) medically necessary and appropriate.' sentences, then '1) Regarding
# the request for X:' sections); "imr2013" the 'Independent Medical Review' label block
# with any current item form; "mpr" the 'MEDICAL PROFESSIONAL REVIEW' (items "blocks": the
# guidelines and rationales of all items in shared capitalised blocks). Only as text or PDF.
LAYOUTS = ["current", "notice", "imr2013", "mpr"]
LAYOUT_FORMS = {"notice": "regarding", "mpr": "blocks"}
OLD_HEADERS = ["notice", "imr2013", "mpr"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
# Dates the letter mentions, as (year, month, day) ranges that are always valid.
DATE_FORMS = ["mm/dd/yyyy", "m/d/yy", "month d, yyyy", "yyyy-mm-dd"]


def write_date(iso: str, form: str) -> str:
    y, m, d = (int(x) for x in iso.split("-"))
    return {"mm/dd/yyyy": f"{m:02d}/{d:02d}/{y}", "m/d/yy": f"{m}/{d}/{y % 100:02d}",
            "month d, yyyy": f"{MONTHS[m - 1]} {d}, {y}", "yyyy-mm-dd": iso}[form]


def _date(draw: Draw, year: int) -> str:
    return f"{year}-{draw(range(1, 13)):02d}-{draw(range(1, 29)):02d}"


# -- one letter ------------------------------------------------------------------
def letter(draw: Draw, layouts: Sequence[str] = LAYOUTS) -> dict:
    """Every choice of one letter, and its gold. `layouts` limits the layout drawn (a
    single one is not drawn at all)."""
    c = {k: draw(v) for k, v in (("header", HEADER_STYLES), ("form", ITEM_FORMS),
                                 ("format", FORMATS), ("dates", DATE_FORMS),
                                 ("worker", WORKERS), ("ca", CA_LABELS), ("mx", MX_LABELS),
                                 ("rat", RATIONALE_LABELS), ("summary", SUMMARY_HEADINGS),
                                 ("issues", ISSUES_HEADINGS), ("age_form", range(4)),
                                 ("case", LABEL_CASES))}
    picked = []
    for _ in range(draw(range(1, 4))):
        t = draw(TREATMENTS)
        if t not in picked:
            picked.append(t)
    c["items"] = [(t, draw(["upheld", "overturned"]), draw(GUIDELINES), draw(GUIDELINES),
                   [draw(REASONS), draw(REASONS)]) for t in picked]
    c["age"], c["sex"] = draw(range(22, 70)), draw(["male", "female"])
    c["doi"], c["ur"] = _date(draw, draw(range(2005, 2013))), _date(draw, 2014)
    c["received"], c["assigned"], c["decided"] = (_date(draw, 2015), _date(draw, 2015),
                                                  _date(draw, 2016))
    c["number"] = f"CM{draw(range(13, 17))}-{draw(range(10000, 99999)):05d}{draw(range(10, 99))}"
    c["priority"] = draw(["standard", "expedited"])
    c["diagnoses"] = [d for d in dict.fromkeys([draw(DIAGNOSES), draw(DIAGNOSES)])]
    c["dx_form"] = draw(range(3))
    c["specialty"], c["states"] = draw(SPECIALTIES), draw(STATES)
    layout = layouts[0] if len(layouts) == 1 else draw(layouts)
    if layout != "current":
        c["header"] = layout
        c["form"] = LAYOUT_FORMS.get(layout, c["form"])
        c["format"] = {"markdown": "text", "html": "pdf"}.get(c["format"], c["format"])
        c["joined"] = draw([False, True])  # PDF text lost the space in 'notmedically'
        c["pairs"] = draw([False, True])   # imr2013: two labels to a line
    return c


def dates(c: dict) -> dict:
    """The letter's dates: those drawn, or in the layouts of 2013 moved to that time in
    their order (UR decision, application a month later, assignment a month after that,
    decision early in 2014), keeping the drawn days."""
    d = {k: c[k] for k in ("doi", "ur", "received", "assigned", "decided")}
    if c["header"] in OLD_HEADERS:
        m = (int(d["ur"][5:7]) - 1) % 9 + 1
        d.update(ur=f"2013-{m:02d}{d['ur'][7:]}", received=f"2013-{m + 1:02d}{d['received'][7:]}",
                 assigned=f"2013-{m + 2:02d}{d['assigned'][7:]}",
                 decided=f"2014-{int(d['decided'][5:7]) % 3 + 1:02d}{d['decided'][7:]}")
    return d


def case_number(c: dict) -> str:
    return "CM13" + c["number"][4:] if c["header"] in OLD_HEADERS else c["number"]


def gold(c: dict) -> dict:
    if c["header"] in OLD_HEADERS:
        return _gold_2013(c)
    has_header = c["header"] != "none"
    cover = c["header"] == "cover"
    # no generated request was modified by utilization review: original_request and
    # authorized are null
    items = [{"treatment": t[0], "original_request": None, "authorized": None, "decision": d,
              "medically_necessary": d == "overturned", "category": t[1], "quantity": t[2],
              "medication": {"name": t[3], "strength": t[4]} if t[3] else None,
              "claims_administrator_guideline": ca, "maximus_guideline": mx,
              "rationale": _rationale(reasons, d)} for t, d, ca, mx, reasons in c["items"]]
    return {
        "case_number": c["number"] if has_header else None,
        "date_assigned": c["assigned"] if has_header and not cover else None,
        "decision_date": c["decided"] if has_header and not cover else None,
        "ur_denial_date": c["ur"],
        "application_received": c["received"] if has_header else None,
        "priority": c["priority"] if has_header else None,
        "reviewer": {"specialties": [c["specialty"]], "subspecialties": [],
                     "licensed_states": c["states"]},
        "patient": {"age": c["age"], "sex": c["sex"], "date_of_injury": c["doi"]},
        "diagnoses": c["diagnoses"], "items": items, "outcome": outcome(c),
        "_notes": "generated by evals/make_layouts.py: " + describe(c),
    }


def _gold_2013(c: dict) -> dict:
    """The 2013 layouts' gold: what each one's header states, in the fields it maps to
    ('IMR Case Number' -> case_number, 'Dated:' -> decision_date, 'Date of UR Decision' ->
    ur_denial_date, 'filed on' -> application_received); no Claims Administrator guideline
    in the notice and MPR layouts."""
    d, layout = dates(c), c["header"]
    ca_given = layout == "imr2013"
    items = [{"treatment": t[0], "original_request": None, "authorized": None, "decision": dd,
              "medically_necessary": dd == "overturned", "category": t[1], "quantity": t[2],
              "medication": {"name": t[3], "strength": t[4]} if t[3] else None,
              "claims_administrator_guideline": ca if ca_given else None,
              "maximus_guideline": mx, "rationale": _rationale_for(c, t[0], reasons, dd)}
             for t, dd, ca, mx, reasons in c["items"]]
    return {
        "case_number": case_number(c),
        "date_assigned": d["assigned"] if layout == "imr2013" else None,
        "decision_date": d["decided"] if layout in ("notice", "imr2013") else None,
        "ur_denial_date": d["ur"],
        "application_received": d["received"] if layout == "notice" else None,
        "priority": None,
        "reviewer": {"specialties": [c["specialty"]], "subspecialties": [],
                     "licensed_states": c["states"]},
        "patient": {"age": c["age"], "sex": c["sex"], "date_of_injury": d["doi"]},
        "diagnoses": c["diagnoses"], "items": items, "outcome": outcome(c),
        "_notes": "generated by evals/make_layouts.py: " + describe(c),
    }


def outcome(c: dict) -> str:
    ds = {d for _, d, *_ in c["items"]}
    return "partially_overturned" if len(ds) > 1 else ds.pop()


def describe(c: dict) -> str:
    if c["header"] in OLD_HEADERS:
        title = {"notice": "2013 'Notice of Independent Medical Review Determination'",
                 "imr2013": "late-2013 'Independent Medical Review' label block"
                            + (" (two labels to a line)" if c["pairs"] else ""),
                 "mpr": "2013 'MEDICAL PROFESSIONAL REVIEW'"}[c["header"]]
        upheld = any(d == "upheld" for _, d, *_ in c["items"])
        lost = (", PDF lost space 'notmedically'"
                if c["joined"] and upheld and c["header"] != "imr2013" else "")
        return (f"layout {title}, items as {c['form']}, format {c['format']}, dates "
                f"{c['dates']}, worker '{c['worker']}'"
                + (f", labels '{c['ca']}' / '{c['mx']}' / '{c['rat']}'"
                   if c["header"] == "imr2013" else "") + f" in {c['case']} case{lost}")
    return (f"header {c['header']}, items as {c['form']}, format {c['format']}, dates "
            f"{c['dates']}, worker '{c['worker']}', labels '{c['ca']}' / '{c['mx']}' / "
            f"'{c['rat']}' in {c['case']} case")


def recase(text: str, case: str) -> str:
    """A label or heading in the letter's capitalisation."""
    if case == "lower":
        return text.lower()
    if case == "upper":
        return text.upper()
    if case == "sentence":
        return text.capitalize()
    if case == "mixed":  # every other word in capitals: "claims ADMINISTRATOR guideline"
        return " ".join(w.upper() if i % 2 else w.lower() for i, w in enumerate(text.split(" ")))
    return text


def _rationale(reasons: list[str], decision: str) -> str:
    verdict = "is medically necessary" if decision == "overturned" else "is not medically necessary"
    return " ".join(reasons) + f" The request {verdict}."


def _verdict(c: dict, decision: str) -> str:
    """'is (not) medically necessary', as the letter prints it (a lost space or not)."""
    if decision == "overturned":
        return "is medically necessary"
    return "is notmedically necessary" if c.get("joined") else "is not medically necessary"


def _rationale_for(c: dict, treatment: str, reasons: list[str], decision: str) -> str:
    """The notice and MPR layouts close a rationale with 'The request for X is (not)
    medically necessary and appropriate.'; imr2013 as the current layout."""
    if c["header"] in ("notice", "mpr"):
        return (" ".join(reasons)
                + f" The request for {treatment} {_verdict(c, decision)} and appropriate.")
    return _rationale(reasons, decision)


# -- writing it out ----------------------------------------------------------------
def _row(case: str, *cells: str) -> tuple[str, str]:
    """A row of label/value pairs: the labels in the letter's case, the values as they are."""
    return ("row", "|".join(recase(x, case) if i % 2 == 0 else x for i, x in enumerate(cells)))


def paragraphs(c: dict) -> list[tuple[str, str]]:
    """The letter as (kind, text) blocks: 'header' rows, 'heading', 'p', 'item'."""
    def date(iso):
        return write_date(iso, c["dates"])

    if c["header"] in OLD_HEADERS:
        return _paragraphs_2013(c, date)
    blocks: list[tuple[str, str]] = []
    blocks += _header(c, date)
    blocks.append(("heading", recase("HOW THE IMR FINAL DETERMINATION WAS MADE", c["case"])))
    states = " and ".join(c["states"])
    blocks.append(("p", ("MAXIMUS Federal Services sent the complete case file to an expert "
                         "reviewer. He/she has no affiliation with the employer, employee, "
                         "providers or the claims administrator. The expert reviewer is Board "
                         f"Certified in {c['specialty']} and is licensed to practice in "
                         f"{states}.")))
    blocks.append(("heading", recase(c["summary"], c["case"])))
    blocks.append(("p", ("The expert reviewer developed the following clinical case summary "
                         "based on a review of the case file, including all medical records:")))
    blocks.append(("p", _summary(c, date)))
    blocks.append(("heading", recase(c["issues"], c["case"])))
    blocks.append(("p", ("The Final Determination was based on decisions for the disputed "
                         "items/services set forth below:")))
    for n, (t, d, ca, mx, reasons) in enumerate(c["items"], 1):
        blocks += _item(c, n, t[0], d, ca, mx, _rationale(reasons, d))
    return blocks


def _paragraphs_2013(c: dict, date) -> list[tuple[str, str]]:
    """A letter in one of the layouts of 2013 and early 2014."""
    d, case, layout = dates(c), c["case"], c["header"]
    row = partial(_row, case)

    def h(text):
        return ("heading", recase(text, case))

    states = " and ".join(c["states"])
    rationales = [(t[0], dd, ca, mx, _rationale_for(c, t[0], reasons, dd))
                  for t, dd, ca, mx, reasons in c["items"]]
    decided = [f"{n}) MAXIMUS Federal Services, Inc. has determined the request for {t} "
               f"{_verdict(c, dd)} and appropriate." for n, (t, dd, *_) in enumerate(rationales, 1)]
    if layout == "notice":
        blocks = [("p", "MAXIMUS FEDERAL SERVICES, INC."),
                  h("Notice of Independent Medical Review Determination"),
                  ("p", f"{recase('Dated:', case)} {date(d['decided'])}"),
                  row("Employee:", "[redacted]"), row("Claim Number:", f"WC-{c['number'][-6:]}"),
                  row("Date of UR Decision:", date(d["ur"])),
                  row("Date of Injury:", date(d["doi"])),
                  row("IMR Case Number:", case_number(c)),
                  ("p", ("MAXIMUS Federal Services, Inc. has completed the Independent Medical "
                         "Review (IMR) of the above workers' compensation case. The IMR Final "
                         "Determination for each disputed item/service is set forth below:"))]
        blocks += [("p", x) for x in decided]
        blocks += [h("INDEPENDENT MEDICAL REVIEW DECISION AND RATIONALE"),
                   ("p", ("The Independent Medical Review was conducted on the following basis: "
                          "the application for Independent Medical Review was filed on "
                          f"{date(d['received'])} disputing the Utilization Review Denial dated "
                          f"{date(d['ur'])}."))]
        blocks += [("p", x) for x in decided]
        blocks += [h("Medical Qualifications of the Expert Reviewer:"),
                   ("p", (f"The physician reviewer is Board Certified in {c['specialty']} and is "
                          f"licensed to practice in {states}.")),
                   h("Case Summary:"),
                   ("p", ("The following case summary was taken from the Utilization Review "
                          f"denial dated {date(d['ur'])}:")),
                   ("p", _summary(c, date, d)),
                   h("Documents Reviewed:"),
                   ("p", f"Utilization Review Determination dated {date(d['ur'])}")]
        for n, (t, _dd, _ca, mx, rationale) in enumerate(rationales, 1):
            blocks += [("p", f"{n}) Regarding the request for {t}:"),
                       h("Medical Treatment Guideline(s) Relied Upon by the Expert Reviewer:"),
                       ("p", mx), h("Rationale for the Decision:"), ("p", rationale)]
        return blocks
    if layout == "mpr":
        blocks = [h("MEDICAL PROFESSIONAL REVIEW"), row("IMR Case Number:", case_number(c)),
                  row("Date of Injury:", date(d["doi"])),
                  row("Date of UR Decision:", date(d["ur"])), h("ISSUE AT DISPUTE:")]
        blocks += [("p", f"{n}) {t}") for n, (t, *_) in enumerate(rationales, 1)]
        blocks += [h("CASE SUMMARY:"), ("p", _summary(c, date, d)),
                   h("DOCUMENTS REVIEWED FOR DETERMINATION:"),
                   ("p", f"Utilization Review Determination dated {date(d['ur'])}"),
                   h("MEDICAL TREATMENT GUIDELINE(S) RELIED UPON BY PROFESSIONAL REVIEWER "
                     "AND WHY:")]
        blocks += [("p", f"{n}) {t}: {mx}") for n, (t, _, _, mx, _) in enumerate(rationales, 1)]
        blocks.append(h("RATIONALE FOR WHY THE REQUESTED TREATMENT/SERVICE IS/WAS NOT "
                        "MEDICALLY NECESSARY:"))
        blocks += [("p", f"{n}) {t}: {r}") for n, (t, _, _, _, r) in enumerate(rationales, 1)]
        blocks += [h("MEDICAL REVIEWER QUALIFICATIONS:"),
                   ("p", (f"The professional reviewer is Board Certified in {c['specialty']} and "
                          f"is licensed to practice in {states}."))]
        return blocks
    # imr2013: the label block, then the sections of the current layout, renamed
    labels = [("Case Number:", case_number(c)), ("Date Assigned:", date(d["assigned"])),
              ("Date of Injury:", date(d["doi"])), ("Decision Date:", date(d["decided"])),
              ("UR Denial Date:", date(d["ur"]))]
    blocks = [("p", "MAXIMUS FEDERAL SERVICES, INC."), h("Independent Medical Review")]
    if c["pairs"]:
        blocks += [row(*labels[0], *labels[1]), row(*labels[2], *labels[3]), row(*labels[4])]
    else:
        blocks += [row(*pair) for pair in labels]
    blocks += [h("HOW THE IMR FINAL DETERMINATION WAS MADE"),
               ("p", ("MAXIMUS Federal Services sent the complete case file to an expert "
                      "reviewer. The expert reviewer is Board Certified in "
                      f"{c['specialty']} and is licensed to practice in {states}.")),
               h("DOCUMENTS REVIEWED"),
               ("p", f"Utilization Review Determination dated {date(d['ur'])}"),
               h("CLINICAL CASE SUMMARY"), ("p", _summary(c, date, d)),
               h("IMR DECISION(S) AND RATIONALE(S)"),
               ("p", ("The Final Determination was based on decisions for the disputed "
                      "items/services set forth below:"))]
    for n, (t, dd, ca, mx, rationale) in enumerate(rationales, 1):
        blocks += _item(c, n, t, dd, ca, mx, rationale)
    return blocks


def _header(c: dict, date) -> list[tuple[str, str]]:
    if c["header"] == "none":
        return []
    pri = c["priority"].capitalize()
    row = partial(_row, c["case"])
    if c["header"] == "cover":
        word = {"upheld": "UPHOLD", "overturned": "OVERTURN",
                "partially_overturned": "PARTIAL OVERTURN"}[outcome(c)]
        return [row("IMR Case Number:", c["number"], "Date of Injury:", date(c["doi"])),
                row("Claims Number:", f"WC-{c['number'][-6:]}", "UR Denial Date:", date(c["ur"])),
                row("Priority:", pri, "Application Received:", date(c["received"])),
                ("p", ("MAXIMUS Federal Services has completed the Independent Medical Review "
                       "of the treatments in dispute.")),
                ("p", f"{recase('Final Determination', c['case'])}: {word}.")]
    return [row("Case Number:", c["number"], "Date Assigned:", date(c["assigned"])),
            row("Date of Injury:", date(c["doi"]), "Decision Date:", date(c["decided"])),
            row("UR Denial Date:", date(c["ur"]), "Application Received:", date(c["received"])),
            row("Priority:", pri)]


def _summary(c: dict, date, d: dict | None = None) -> str:
    d = d or c
    sex, age, w = c["sex"], c["age"], c["worker"]
    person = {"male": "man", "female": "woman"}[sex]
    who = [f"The {w} is a {age}-year-old {sex}", f"The {w} is a {age} year old {person}",
           f"The {w} is a {sex}, age {age},", f"This {w} is a {age} year old {sex}"][c["age_form"]]
    dx = c["diagnoses"]
    said = [f"The {w} was diagnosed with {' and '.join(dx)}.",
            f"Diagnoses include {' and '.join(dx)}.", f"Diagnoses: {'; '.join(dx)}."][c["dx_form"]]
    return (f"{who} who sustained an industrial injury on {date(d['doi'])}. {said} A "
            f"utilization review dated {date(d['ur'])} non-certified the request.")


def _item(c: dict, n: int, treatment: str, d: str, ca: str, mx: str, rationale: str):
    labels = [("label", f"{recase(label, c['case'])}:|{text}")
              for label, text in ((c["ca"], ca), (c["mx"], mx), (c["rat"], rationale))]
    necessary = "is medically necessary" if d == "overturned" else "is not medically necessary"
    if c["form"] == "heading":
        return [("item", f"{treatment}:|{d.capitalize()}")] + labels
    if c["form"] == "sentence":
        return [("p", f"{n}. {treatment} {necessary} and appropriate.")] + labels
    decided = ("p", f"The request for {treatment} {necessary} and appropriate.")
    if c["form"] == "paragraph":
        return [("p", f"{n}. {treatment}"), decided] + labels
    if c["form"] == "closing":
        return [("p", f"{n}) Regarding the request for {treatment}:")] + labels + [decided]
    return ([("p", f"{n}) {treatment}")] + labels
            + [("p", f"{recase('Decision', c['case'])}: The request {necessary} and appropriate.")])


def render(c: dict) -> tuple[str, bytes]:
    """(file suffix, bytes) of the letter in its format."""
    blocks = paragraphs(c)
    fmt = c["format"]
    if fmt == "html":
        return ".html", _html(blocks).encode()
    if fmt == "markdown":
        return ".md", _markdown(blocks, c["header"] == "table").encode()
    text = _text(blocks, wrap=78 if fmt == "pdf" else 0)
    return (".pdf", build_pdf(text)) if fmt == "pdf" else (".txt", text.encode())


def _text(blocks, wrap: int) -> str:
    out = []
    for kind, text in blocks:
        if kind == "row":  # two pairs to a line, aligned with spaces
            cells = text.split("|")
            pairs = zip(cells[::2], cells[1::2], strict=True)
            out.append("   ".join(f"{a} {b}".ljust(38) for a, b in pairs).rstrip())
            continue
        line = text.replace("|", " ")
        lines = textwrap.wrap(line, wrap, break_on_hyphens=False) if wrap else [line]
        out += lines + ([] if kind == "row" else [""])
    return "\n".join(out) + "\n"


def _markdown(blocks, table: bool) -> str:
    out = ["| | | | |", "|---|---|---|---|"] if table else []
    for kind, text in blocks:
        cells = text.split("|")
        if kind == "row":
            pairs = list(zip(cells[::2], cells[1::2], strict=True))
            if table:
                out.append("| " + " | ".join(f"**{a}** | {b}" for a, b in pairs) + " |")
            else:
                out.append("\t".join(f"<b>{a}</b>\t{b}" for a, b in pairs))
            continue
        if table and out and out[-1].startswith("|") and not out[-1].startswith("|---"):
            out.append("")
        if kind == "heading":
            out += [f"### {text}", ""]
        elif kind in ("item", "label"):
            out += [f"**{cells[0]}** {cells[1]}", ""]
        else:
            out += [text, ""]
    return "\n".join(out) + "\n"


def _html(blocks) -> str:
    out, rows = ["<html><body>"], []
    for kind, text in blocks:
        cells = [html.escape(x, quote=True) for x in text.split("|")]
        if kind == "row":
            rows.append("<tr>" + "".join(f"<td><b>{x}</b></td>" if i % 2 == 0 else f"<td>{x}</td>"
                                         for i, x in enumerate(cells)) + "</tr>")
            continue
        if rows:
            out.append("<table>" + "".join(rows) + "</table>")
            rows = []
        if kind == "heading":
            out.append(f"<h3>{cells[0]}</h3>")
        elif kind in ("item", "label"):
            out.append(f"<p><b>{cells[0]}</b> {cells[1]}</p>")
        else:
            out.append(f"<p>{cells[0]}</p>")
    return "\n".join(out + ["</body></html>"]) + "\n"


# -- the committed fixtures ----------------------------------------------------------
def write_fixtures(n: int = 20, seed: int = 10) -> list[Path]:
    rng = random.Random(seed)
    paths = []
    for i in range(n):
        # cycle the families so each header style, item form and format is present
        c = letter(rng.choice, layouts=["current"])
        c["header"], c["form"] = HEADER_STYLES[i % 5], ITEM_FORMS[(i + i // 5) % 5]
        c["format"] = FORMATS[i % 4]
        c["case"] = LABEL_CASES[(i // 2) % len(LABEL_CASES)]
        paths.append(_write(c, i))
    return paths + write_fixtures_2013(start=n)


def write_fixtures_2013(start: int, seed: int = 2013) -> list[Path]:
    """Two letters per layout of 2013 (text and PDF), numbered on from the others."""
    rng = random.Random(seed)
    paths = []
    for k, (layout, fmt) in enumerate((lo, f) for lo in LAYOUTS[1:] for f in ("text", "pdf")):
        c = letter(rng.choice, layouts=[layout])
        c["format"], c["joined"], c["pairs"] = fmt, k % 2 == 0, k % 2 == 1
        if layout == "imr2013":
            c["form"] = ("sentence", "heading")[k % 2]
        paths.append(_write(c, start + k))
    return paths


def _write(c: dict, i: int) -> Path:
    suffix, data = render(c)
    path = FIX / "letters" / f"g-{c['header']}-{c['form']}--{i:02d}{suffix}"
    path.write_bytes(data)
    (FIX / "gold" / f"{path.name}.json").write_text(json.dumps(gold(c), indent=2) + "\n")
    return path


def write_pdf_fixture() -> Path:
    source = HERE / "layouts" / "f-pdfwrap--1.txt"
    path = FIX / "letters" / "f-pdfwrap--1.pdf"
    path.write_bytes(build_pdf(source.read_text()))
    return path


if __name__ == "__main__":
    if "--pdf-only" not in sys.argv:
        for old in (FIX / "letters").glob("g-*"):
            old.unlink()
            (FIX / "gold" / f"{old.name}.json").unlink(missing_ok=True)
        print("\n".join(str(p.relative_to(HERE.parent)) for p in write_fixtures()))
    print(write_pdf_fixture().relative_to(HERE.parent))
