"""The label lexicon: every way IMR letters since 2013 write what the rules read.

A field's own labels ("UR Denial Date", "Rationale for the decision", ...) are
declared with the field (`Spec.labels` in schema.py); this module compiles them
and holds the words and headings that belong to no single field: section
landmarks, decision and sex synonyms, worker terms, quantity and strength forms.
A new layout is a new row here or in a Spec, not new code in the rules.

Every pattern is linear: literal alternations, bounded `{0,N}` windows, no
nested quantifiers.
"""

from __future__ import annotations

import re

from extractor.core.schema import FIELDS

# -- sections: heading spellings by section, as printed (upper case or Title Case; the
# prose says "clinical case summary" in lower case, which must not count) -------------
LANDMARKS: dict[str, tuple[str, ...]] = {
    "credentials": ("HOW THE IMR FINAL DETERMINATION WAS MADE",
                    "HOW THE FINAL DETERMINATION WAS MADE", "EXPERT REVIEWER CREDENTIALS"),
    "summary": ("CLINICAL CASE SUMMARY", "EXPERT REVIEWER CASE SUMMARY", "CASE SUMMARY",
                "CLINICAL SUMMARY", "SUMMARY OF RECORDS", "SUMMARY OF MEDICAL RECORDS"),
    "documents": ("DOCUMENTS REVIEWED", "MEDICAL RECORDS REVIEWED", "RECORDS REVIEWED"),
    "issues": ("IMR ISSUES, DECISIONS AND RATIONALES", "IMR ISSUES, DECISIONS, AND RATIONALES",
               "IMR ISSUES DECISIONS AND RATIONALES", "IMR DECISION(S) AND RATIONALE(S)",
               "ISSUES, DECISIONS AND RATIONALES", "DECISIONS AND RATIONALES"),
}

# -- words: what a letter writes for each value of a word field (verify.py checks
# quotes with these; the rules map matched text back with `word_of`) ---------------
SAYS: dict[str, tuple[str, ...]] = {
    "partially_overturned": (r"partially[ _]overturn(?:ed|s)?", r"partial overturn(?:ed)?"),
    "upheld": (r"upheld", r"upholds?", r"(?:is|are|was|were) not medically necessary"),
    "overturned": (r"overturned", r"overturns?", r"(?:is|are|was|were) medically necessary"),
    "female": (r"female", r"woman", r"lady"),
    "male": (r"male", r"man", r"gentleman"),
    "standard": (r"standard",),
    "expedited": (r"expedited",),
}

WORKER = ("injured worker", "worker", "employee", "applicant", "patient", "claimant",
          "individual")
# Dosage forms: "Fentanyl patch 25mcg/hr" names the drug Fentanyl.
FORMS = ("patch", "patches", "tablet", "tablets", "tab", "tabs", "capsule", "capsules",
         "cream", "gel", "ointment", "lotion", "solution", "spray")
# A list piece that is only a side belongs to the diagnosis before it.
SIDES = ("bilateral", "left", "right", "bilaterally")


def words_pattern(words: tuple[str, ...]) -> re.Pattern:
    """One alternation over the synonyms of `words`, a named group per word, longest
    phrases first (so "partially overturns" is not read as "overturns")."""
    order = sorted(words, key=len, reverse=True)
    alts = "|".join(f"(?P<{w}>{'|'.join(SAYS.get(w, (re.escape(w),)))})" for w in order)
    return re.compile(rf"\b(?:{alts})\b", re.IGNORECASE)


def word_of(m: re.Match) -> str:
    return m.lastgroup


def _alternation(labels) -> str:
    return "|".join(sorted({re.escape(x) for x in labels}, key=len, reverse=True))


# Patterns below are one plain alternation of literals each (no group per field, no
# lookbehind in front), so the regex engine skips to candidate first letters in C; the
# match is then mapped back to its section or field by a dict. Measured: 25x faster
# than a group per section on a 7,000-character letter.
def landmark_pattern() -> tuple[re.Pattern, dict[str, str]]:
    """Any section heading, and heading text -> section."""
    names = {form: section for section, spellings in LANDMARKS.items()
             for x in spellings for form in (x, _title(x))}
    return re.compile(_alternation(names)), names


def _title(heading: str) -> str:
    small = {"and", "the", "of", "was", "by", "on", "for"}
    return " ".join(w if w.lower() in small else w.capitalize() for w in heading.lower().split())


# -- field labels from the field table ------------------------------------------------
class Labels:
    """The labels of some fields (from the field table), each followed by ':' or a table
    bar. Found by scanning the text backwards: the reversed pattern starts with ':' or
    '|', so the engine jumps from colon to colon in C and tries the labels only there.
    The usual capitalisations of each label are matched (declared, Title, UPPER,
    Sentence case)."""

    def __init__(self, paths):
        self.names = {x.lower(): path for path in paths for x in FIELDS[path].spec.labels}
        spellings = {v for path in paths for x in FIELDS[path].spec.labels for v in _cases(x)}
        backwards = sorted((re.escape(v[::-1]) for v in spellings), key=len, reverse=True)
        self.pattern = re.compile(r"(?:: ?|\| ?)(" + "|".join(backwards) + r")(?![A-Za-z'])")

    def find(self, text: str, lo: int, hi: int) -> list[tuple[str, int, int]]:
        """(field path, start, end) of every label in text[lo:hi], in text order."""
        found = [(self.names[m.group(1)[::-1].lower()], hi - m.end(), hi - m.start())
                 for m in self.pattern.finditer(text[lo:hi][::-1])]
        return found[::-1]


def _cases(label: str) -> set[str]:
    return {label, label.title(), label.upper(), label.capitalize(), _title(label)}


HEADER_FIELDS = tuple(p for p, f in FIELDS.items() if f.spec.labels and not f.item
                      and p not in ("outcome",))
ITEM_PARAGRAPHS = tuple(p for p, f in FIELDS.items() if f.spec.labels and f.item)
# A case number anywhere in the text, shaped as the field table says ("CM14-0037910").
CASE_NUMBER = re.compile(rf"\b{FIELDS['case_number'].spec.shape}\b")
HEADER_LABELS = Labels(HEADER_FIELDS)
ITEM_LABELS = Labels(ITEM_PARAGRAPHS)
FINAL_LABELS = Labels(("outcome",))
OUTCOME_WORDS = words_pattern(FIELDS["outcome"].words)
DECISION_WORDS = words_pattern(FIELDS["items.decision"].words)
SEX_WORDS = "|".join(w for x in ("female", "male") for w in SAYS[x])

# -- item headings -------------------------------------------------------------------
# "TREATMENT: Upheld" at the end of the text before an item's first label.
HEADING_DECISION = re.compile(r": ?(?P<d>Upheld|Overturned|Uphold|Overturn) ?$", re.IGNORECASE)
# "1. ", "2) " starting a numbered item heading or decision sentence.
NUMBERED = re.compile(r"(?<!\S)(?P<n>\d{1,2})[.)] (?=\S)")
# "... is not medically necessary and appropriate": the decision written as a sentence.
DECISION_SENTENCE = re.compile(r" (?P<say>(?:is|are|was|were) (?:not )?medically necessary"
                               r"(?: and appropriate)?)\.? ?$", re.IGNORECASE)
REQUEST_FOR = re.compile(r"^(?:The )?request for ", re.IGNORECASE)
# Prose on a cover page: "... partially overturns the Claims Administrator's decision".
OUTCOME_PROSE = re.compile(r"\b(?:partially overturns|overturns|upholds) the (?:Claims "
                           r"Administrator|decision|determination|utilization review|UR)\b",
                           re.IGNORECASE)

# -- quantities and strengths ----------------------------------------------------------
# A count of units; a frequency x duration (3x4, 2 times a week) is not one.
QUANTITY = re.compile(
    r"^(?P<lead>\d{1,4}) (?!x\b|X\b|times\b)(?=[A-Za-z])"
    r"|#\s?(?P<hash>\d{1,4})\b"
    r"|\bQTY\.?:? ?(?P<qty>\d{1,4})\b|\bquantity:? (?P<quantity>\d{1,4})\b"
    r"|\b(?P<units>\d{1,4}) (?:sessions?|visits?|treatments?|tablets?|capsules?|patches)\b",
    re.IGNORECASE)
STRENGTH_UNITS = r"(?:units?|mcg/hr|mcg/h|mg/ml|mg/hr|mg|mcg|ml|g|%)"
MEDICATION = re.compile(
    r"^(?:\d{1,4} )?(?P<name>[A-Za-z][A-Za-z-]{0,30}(?: [A-Za-z][A-Za-z-]{0,30}){0,3}?)"
    r" (?P<strength>\d{1,5}(?:\.\d{1,3})?(?:/\d{1,5}(?:\.\d{1,3})?){0,2} ?"
    + STRENGTH_UNITS + r")(?![A-Za-z/])", re.IGNORECASE)
_FORM_TAIL = re.compile(r"(?: (?:" + "|".join(FORMS) + r"))+$", re.IGNORECASE)


def drug_name_end(name: str) -> int:
    """Length of the drug name without a trailing dosage form ("Fentanyl patch")."""
    m = _FORM_TAIL.search(name)
    return m.start() if m and m.start() > 0 else len(name)


# -- patient ---------------------------------------------------------------------------
_WORKER = "|".join(WORKER)
AGE = re.compile(
    r"\b(?P<age>\d{1,3})[- ](?:years?|yrs?)\.?[- ]old,?(?: (?P<sex>" + SEX_WORDS + r")\b)?"
    r"|\ban? (?P<sex2>" + SEX_WORDS + r"),? (?:age|aged) (?P<age2>\d{1,3})\b", re.IGNORECASE)
SEX = re.compile(r"\b(?:(?:is|was) an? |an? )(?P<sex>" + SEX_WORDS + r") (?:" + _WORKER + r")\b",
                 re.IGNORECASE)
INJURY = re.compile(r"(?:date of injury|DOI)(?: of| on| was|:)? "
                    r"|injur(?:y|ed|ies)(?: [A-Za-z]{1,12}){0,4}? (?:on|of) ", re.IGNORECASE)
