"""Hand-made worst cases for the letter regexes, each a real letter with a hostile
block of about `size` characters inside it, so that every stage (ingest, rules,
verify, derive) runs on it. Shared by tests/test_adversarial.py and
benchmarks/bench_adversarial.py."""

from __future__ import annotations

from pathlib import Path

LETTERS = Path(__file__).resolve().parent.parent / "evals" / "fixtures" / "letters"
PDF_TEXT = (LETTERS / "000_5af06fd8d99aadee.txt").read_text(encoding="utf-8")
EXPORT = (LETTERS / "004_fc97f7610c159615.txt").read_text(encoding="utf-8")
SUMMARY_AT = "The injured worker is a 49 year old male"  # in PDF_TEXT's case summary
TREATMENT = "LUMBAR TP1 L5"                             # EXPORT's one item
CREDENTIALS_AT = "The Expert Reviewer has the following credentials"  # in PDF_TEXT
MPR = (LETTERS / "f-mpr2013--2.txt").read_text(encoding="utf-8")      # blocks of entries
NOTICE = (LETTERS / "f-notice2013--1.txt").read_text(encoding="utf-8")  # a decision list
ITEM = ("**ITEM {i}:** Upheld\n\n**Claims Administrator guideline:** Decision based on MTUS."
        "\n\n**MAXIMUS guideline:** Decision based on ACOEM.\n\n"
        "**Decision rationale:** Not needed.\n\n")


def _in_summary(block: str, letter: str = PDF_TEXT) -> str:
    return letter.replace(SUMMARY_AT, block + "\n" + SUMMARY_AT, 1)


def _in_credentials(block: str) -> str:
    return PDF_TEXT.replace(CREDENTIALS_AT, block + "\n" + CREDENTIALS_AT, 1)


def _items(unit: str, size: int) -> str:
    """EXPORT with `unit` (an item, with {i} numbering it) repeated before its own item."""
    units = "".join(unit.format(i=i) for i in range(max(1, size // len(unit))))
    return EXPORT.replace("**LUMBAR TP1 L5:** Upheld", units + "**LUMBAR TP1 L5:** Upheld")


def _repeat(unit: str, size: int) -> str:
    return unit * max(1, size // len(unit))


def _word_as_treatment(size: int) -> str:
    word = _repeat("a", size)
    return EXPORT.replace(TREATMENT, word).replace("post-laminectomy", "post-" + word)


# name -> (size -> letter text). Sizes are characters of hostile content.
CASES = {
    "crlf blank lines": lambda n: _in_summary(_repeat("\r\n", n)),
    "blank lines with spaces": lambda n: _in_summary(_repeat(" \n", n)),
    "page furniture lines": lambda n: _in_summary(_repeat("\fPage 1 of 9\nCM15-0123456\n", n)),
    "page-of lines": lambda n: _in_summary(_repeat("Page 1 of 9\n", n)),
    "40 KB word in a treatment": _word_as_treatment,
    "word of letters": lambda n: _in_summary(_repeat("a", n)),
    "word ending ectomy": lambda n: _in_summary(_repeat("a", n) + "ectomy"),
    "utilization review mentions": lambda n: _in_summary(
        _repeat("utilization review dated 01/02/2014 and ", n)),
    "one long line of words": lambda n: _in_summary(_repeat("word ", n)),
    "run of spaces": lambda n: _in_summary("x" + _repeat(" ", n) + "x"),
    "run of tabs": lambda n: _in_summary("x" + _repeat("\t", n) + "x"),
    "run of digits": lambda n: _in_summary(_repeat("1", n)),
    "run of dashes": lambda n: _in_summary(_repeat("-", n)),
    "run of slashes and digits": lambda n: _in_summary(_repeat("1/", n)),
    "run of stars": lambda n: _in_summary(_repeat("*", n)),
    "run of underscores": lambda n: _in_summary(_repeat("_", n)),
    "run of open angles": lambda n: _in_summary(_repeat("<", n)),
    "tag names": lambda n: _in_summary(_repeat("<b", n)),
    "run of ampersands": lambda n: _in_summary(_repeat("&", n)),
    "run of colons": lambda n: _in_summary(_repeat(": ", n)),
    "run of periods": lambda n: _in_summary(_repeat(". ", n)),
    "month names": lambda n: _in_summary(_repeat("January ", n)),
    "month then spaces": lambda n: _in_summary("Jan" + _repeat(" ", n) + "5"),
    "diagnoses without end": lambda n: _in_summary("Diagnoses include " + _repeat("a ", n)),
    "board certified without end": lambda n: _in_summary(
        "Board Certified in A" + _repeat("a ", n)),
    "age phrases": lambda n: _in_summary(_repeat("49 year ", n)),
    "decision headings": lambda n: EXPORT.replace(
        "**LUMBAR TP1 L5:** Upheld", _repeat("**X: Upheld** ", n) + "**LUMBAR TP1 L5:** Upheld"),
    "diagnoses cut by a period": lambda n: _in_summary(_repeat("diagnosed with a ", n) + "x.y"),
    "board certified cut by a period": lambda n: _in_credentials(
        _repeat("Board Certified in A ", n) + "x.y"),
    "licensure labels on one line": lambda n: _in_credentials(
        _repeat("State(s) of Licensure: California ", n)),
    "many items": lambda n: _items(ITEM, n),
    "many items and page breaks": lambda n: _items(ITEM + "\fPage {i} of 9\nCM15-0123456\n", n),
    # the 2013 layouts: entries of the ISSUE AT DISPUTE list and both blocks, each a
    # numbered item; a decision list whose sentences never end; specialty lines that wrap
    "many block entries": lambda n: MPR.replace("2) Left knee", "".join(
        f"{i}) Urine drug screen of the lumbar spine and both knees, as requested\n"
        for i in range(3, 3 + max(1, n // 70))) + "2) Left knee"),
    "decision list without end": lambda n: NOTICE.replace(
        "2) MAXIMUS", _repeat("1) MAXIMUS Federal Services, Inc. has determined the request "
                              "for a ", n) + "2) MAXIMUS", 1),
    "specialty lines that wrap": lambda n: PDF_TEXT.replace(
        "Certification(s)/Specialty: ", _repeat("Certification(s)/Specialty: A &\n", n)
        + "Certification(s)/Specialty: ", 1),
    # the normalised fields (core/vocab): a guideline of endless citations, a treatment
    # of endless drug names, a treatment naming every body region
    "guideline citations": lambda n: EXPORT.replace(
        "Decision based on MTUS ACOEM", _repeat("Decision based on Official Disability "
                                                "Guidelines (ODG) Low Back ( ", n), 1),
    "drug names in a treatment": lambda n: EXPORT.replace(
        TREATMENT, _repeat("Norco Salonpas methyl salicylate 10mg ", n)),
    "body regions in a treatment": lambda n: EXPORT.replace(
        TREATMENT, "MRI of the " + _repeat("x l-spine C5-C6 acromio", n)),
    "labels": lambda n: EXPORT.replace(
        "**LUMBAR TP1 L5:** Upheld",
        "**LUMBAR TP1 L5:** Upheld" + _repeat(" Decision rationale:", n)),
}


def letter(name: str, size: int) -> bytes:
    return CASES[name](size).encode("utf-8")


def normal_letter(size: int) -> bytes:
    """A plain letter of about the same size: its own summary repeated."""
    start = PDF_TEXT.index(SUMMARY_AT)
    paragraph = PDF_TEXT[start:PDF_TEXT.index("IMR ISSUES", start)]
    return _in_summary(_repeat(paragraph, size)).encode("utf-8")
