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

from extractor.core.categories import DRUG_NAMES, LEAD_INS
from extractor.core.table import FIELDS

# -- sections: heading spellings by section, matched in any capitalisation. The prose
# also says "the following clinical case summary", so the rules count a heading only
# where it is written in capitals or stands on a line of its own (`rules._is_heading`).
LANDMARKS: dict[str, tuple[str, ...]] = {
    "credentials": ("HOW THE IMR FINAL DETERMINATION WAS MADE",
                    "HOW THE FINAL DETERMINATION WAS MADE", "EXPERT REVIEWER CREDENTIALS",
                    "MEDICAL QUALIFICATIONS OF THE EXPERT REVIEWER",
                    "MEDICAL REVIEWER QUALIFICATIONS"),
    "summary": ("CLINICAL CASE SUMMARY", "EXPERT REVIEWER CASE SUMMARY", "CASE SUMMARY",
                "CLINICAL SUMMARY", "SUMMARY OF RECORDS", "SUMMARY OF MEDICAL RECORDS"),
    "documents": ("DOCUMENTS REVIEWED", "MEDICAL RECORDS REVIEWED", "RECORDS REVIEWED",
                  "DOCUMENTS REVIEWED FOR DETERMINATION"),
    # The earliest letters ("MEDICAL PROFESSIONAL REVIEW", 2013): the disputed items are
    # listed first, then each kind of value in a block of its own, item by item.
    "dispute": ("ISSUE AT DISPUTE", "ISSUES AT DISPUTE"),
    "guideline block": ("MEDICAL TREATMENT GUIDELINE(S) RELIED UPON BY PROFESSIONAL REVIEWER "
                        "AND WHY",),
    "rationale block": ("RATIONALE FOR WHY THE REQUESTED TREATMENT/SERVICE IS/WAS NOT "
                        "MEDICALLY NECESSARY",),
    "issues": ("IMR ISSUES, DECISIONS AND RATIONALES", "IMR ISSUES, DECISIONS, AND RATIONALES",
               "IMR ISSUES DECISIONS AND RATIONALES", "IMR DECISION(S) AND RATIONALE(S)",
               "ISSUES, DECISIONS AND RATIONALES", "DECISIONS AND RATIONALES"),
}

# -- words: what a letter writes for each value of a word field (verify.py checks
# quotes with these; the rules map matched text back with `word_of`) ---------------
SAYS: dict[str, tuple[str, ...]] = {
    "partially_overturned": (r"partially[ _]overturn(?:ed|s)?", r"partial overturn(?:ed)?"),
    # ("notmedically": PDF text of 2013 letters often loses the space between two words)
    "upheld": (r"upheld", r"upholds?", r"(?:is|are|was|were) not ?medically necessary"),
    "overturned": (r"overturned", r"overturns?", r"(?:is|are|was|were) medically necessary"),
    "female": (r"female", r"woman", r"lady"),
    "male": (r"male", r"man", r"gentleman"),
    "standard": (r"standard",),
    "expedited": (r"expedited",),
}

WORKER = ("injured worker", "worker", "employee", "applicant", "patient", "claimant",
          "individual")
# Dosage forms: "Fentanyl patch 25mcg/hr" names the drug Fentanyl.
FORMS = ("patch", "patches", "pad", "pads", "tablet", "tablets", "tab", "tabs", "capsule",
         "capsules", "cream", "gel", "ointment", "lotion", "solution", "spray")
# Release forms written after a drug name: "Tramadol ER".
RELEASE = ("ER", "XR", "CR", "SR", "XL", "DR", "ODT", "IR")
# Words before a colon that belong to an item's heading, not a label that ends the text
# before it: "QTY: 30", "Associated surgical service: Cold therapy unit: Upheld".
IN_HEADING = ("QTY", "Quantity", *LEAD_INS, "Retrospective", "Prospective")
# Words before a drug's name in a treatment that are not part of it.
BEFORE_DRUG = ("Retrospective", "Prospective", "Retro")
# Counts written as words ("Twelve physical therapy visits").
NUMBER_WORDS = {w: n for n, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty".split())}
NUMBER_WORDS.update(thirty=30, forty=40, fifty=50, sixty=60, ninety=90)
# Diagnosis names with commas of their own (ICD-10 wording, as the published letters copy
# it): "other specific injury of the muscle, fascia, tendon of the right hip" is one, and
# so is "strain of muscle and tendons of the wall of the thoracic spine".
ONE_NAME = re.compile(r"\bmuscles?,? (?:fascia,? )?(?:and |and/or )?tendons?\b", re.IGNORECASE)
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
class AnyCase:
    """A literal alternation matched in any case, in a lower-cased copy of the text (same
    offsets). Candidate starts come from str.find of a few key words that cover every
    spelling, each confirmed by the alternation there: the same matches as finditer.
    Measured on the fixture letters: a regex scan of the folded text was 3x slower
    (every lower-case letter is a candidate first letter there), re.IGNORECASE on the
    original text 30x."""

    def __init__(self, words):
        words = {w.lower() for w in words}
        self.pattern = re.compile(_alternation(words))
        self.keys: dict[str, set[int]] = {}  # key word -> its offsets in the spellings
        for key, spellings in _cover(words).items():
            self.keys[key] = {m.start() for w in spellings for m in re.finditer(key, w)}

    def finditer(self, text: str):
        folded = text.lower()
        if len(folded) != len(text):  # a few non-ASCII letters lengthen when lowered
            folded = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
        starts = {at - k for key, offsets in self.keys.items()
                  for at in occurrences(folded, key) for k in offsets if at >= k}
        end = 0
        for at in sorted(starts):
            m = self.pattern.match(folded, at) if at >= end else None
            if m:
                end = m.end()
                yield m


def _cover(words: set[str]) -> dict[str, list[str]]:
    """Few key words that between them occur in every spelling: greedily the word that
    occurs in most of the spellings left, the longest on a tie ("summary" for all six
    summary headings, "rationale" for every issues heading)."""
    left, keys = set(words), {}
    candidates = {x for w in words for x in re.findall("[a-z]{5,}", w)}  # not "imr", "s"
    while left:
        key = max(sorted(candidates), key=lambda x: (sum(x in w for w in left), len(x)),
                  default="")
        if not any(key in w for w in left):  # a spelling without a long word is its own key
            key = min(left)
        keys[key] = [w for w in left if key in w]
        left -= set(keys[key])
    return keys


class Keyed:
    """A case-insensitive pattern each of whose matches starts at one of a few key words
    (`keys`, lower case). The regex engine cannot skip ahead on a case-insensitive
    pattern, so finditer tries it at every character of a section; in an ASCII text it
    is tried here only where str.find puts a key word in the lower-cased text (same
    offsets), with the same matches as finditer. Other texts take finditer."""

    def __init__(self, pattern: re.Pattern, keys: tuple[str, ...]):
        self.pattern, self.keys = pattern, keys

    def finditer(self, text: str, folded: str | None, lo: int, hi: int):
        if folded is None:
            yield from self.pattern.finditer(text, lo, hi)
            return
        starts = sorted({at for key in self.keys for at in occurrences(folded, key, lo, hi)})
        end = lo
        for at in starts:
            m = self.pattern.match(text, at, hi) if at >= end else None
            if m:
                end = max(m.end(), at + 1)
                yield m

    def search(self, text: str, folded: str | None, lo: int, hi: int) -> re.Match | None:
        return next(self.finditer(text, folded, lo, hi), None)


def ascii_folded(text: str) -> str | None:
    """The lower-cased text for `Keyed`, or None when it is not ASCII (there a few
    letters lengthen when lowered, and the engine folds some non-ASCII ones to ASCII:
    the long s to 's', the Kelvin sign to 'k')."""
    return text.lower() if text.isascii() else None


def occurrences(text: str, word: str, lo: int = 0, hi: int | None = None):
    """Start of every occurrence of `word` in text[lo:hi], by str.find (a word that does
    not overlap itself, such as a key word: for a periodic value see verify._occurrences)."""
    hi = len(text) if hi is None else hi
    at = text.find(word, lo, hi)
    while at >= 0:
        yield at
        at = text.find(word, at + 1, hi)


def landmark_pattern() -> tuple[AnyCase, dict[str, str]]:
    """Any section heading in any case, and lower-cased heading text -> section."""
    names = {x.lower(): section for section, spellings in LANDMARKS.items() for x in spellings}
    return AnyCase(names), names


# -- field labels from the field table ------------------------------------------------
class Labels:
    """The labels of some fields (from the field table), each followed by ':' or a table
    bar. Found by scanning the text backwards: the reversed pattern starts with ':' or
    '|', so the engine jumps from colon to colon in C and tries the labels only there.
    Labels match in any capitalisation ("claims administrator GUIDELINE")."""

    def __init__(self, paths):
        self.names = {x.lower(): path for path in paths for x in FIELDS[path].spec.labels}
        backwards = sorted((re.escape(v[::-1]) for v in self.names), key=len, reverse=True)
        self.pattern = re.compile(r"(?:: ?|\| ?)(" + "|".join(backwards) + r")(?![A-Za-z'])",
                                  re.IGNORECASE)

    def find(self, text: str, lo: int, hi: int) -> list[tuple[str, int, int]]:
        """(field path, start, end) of every label in text[lo:hi], in text order."""
        found = [(self.names[m.group(1)[::-1].lower()], hi - m.end(), hi - m.start())
                 for m in self.pattern.finditer(text[lo:hi][::-1])]
        return found[::-1]


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
DECISION_SENTENCE = re.compile(r" (?P<say>(?:is|are|was|were) (?:not ?)?medically necessary"
                               r"(?: and appropriate)?)\.? ?$", re.IGNORECASE)
# A numbered heading that names the request, then the decision in its own paragraph:
# "1. Norco #120 The request for Norco #120 is not medically necessary ..."
DECISION_PARAGRAPH = re.compile(r"[.:]? (?=The request for )")
# (match() anchors at its pos; a "^" would only match at the start of the whole text)
REQUEST_FOR = re.compile(r"(?:Regarding )?(?:the )?request for ", re.IGNORECASE)
# ... or closes the item in its own paragraph, after the rationale (2013 letters).
CLOSING_DECISION = "The request for "
# The 2013 notice lists each item's decision before the items ("1) MAXIMUS Federal
# Services, Inc. has determined the request for X is not medically necessary and
# appropriate."); an item whose own text states none takes its decision from there.
DECISION_LIST = re.compile(
    r"(?<!\S)(?P<n>\d{1,2})\) MAXIMUS Federal Services, Inc\. has determined (?:that )?the "
    r"request for (?P<t>(?:[^.]|\.(?=\S)){1,400}?)(?P<say> (?:is|are) (?:not ?)?medically "
    r"necessary) and appropriate\.", re.IGNORECASE)  # (a period inside "1.3%" is no end)
# When the application was filed, said in prose ("the application for Independent Medical
# Review was filed on 9/5/2013").
APPLICATION_FILED = re.compile(r"[Aa]pplication for (?:an )?Independent Medical Review was "
                               r"(?:filed|received) on ")
# Titles that name the review where the letter names neither MAXIMUS nor IMR: the
# document begins with one (core/landmarks.py).
OWN_TITLES = ("MEDICAL PROFESSIONAL REVIEW",)
# A request that utilization review modified (DWC letters from 2016):
#   "X was the original request. The Claims Administrator authorized Y, leaving the
#    original request IMR eligible. The original request, T is: Overturned", or
#   "X was the original request. Y was authorized by the Claims Administrator. The
#    remaining IMR eligible portion of the original request, T is: Upheld".
# T is the treatment reviewed; the heading begins with the "X was ..." sentence.
ORIGINAL_REQUEST = " was the original request. "
ITEMS_INTRO = "below: "  # "... the disputed items/services set forth below: X was ..."
AUTHORIZED = re.compile(
    r"The Claims Administrator authorized (?P<first>.+?),? leaving the original request IMR "
    r"eligible\. |(?P<second>.+?) (?:was|were) authorized by the Claims Administrator\. ",
    re.IGNORECASE)
MODIFIED_LEAD = ("The original request", "The remaining IMR eligible portion")
MODIFIED_TREATMENT = re.compile(
    r"(?:The original request|The remaining IMR eligible portion of the original request)"
    r",? (?P<t>.+?),?(?: is| are)?$", re.IGNORECASE)
# Prose on a cover page: "... partially overturns the Claims Administrator's decision".
OUTCOME_PROSE = Keyed(re.compile(
    r"\b(?:partially overturns|overturns|upholds) the (?:Claims "
    r"Administrator|decision|determination|utilization review|UR)\b", re.IGNORECASE),
    ("partially overturns", "overturns", "upholds"))

# -- quantities and strengths ----------------------------------------------------------
# A count, in digits or words ("12", "Twelve").
COUNT = r"\d{1,4}|" + "|".join(NUMBER_WORDS)
# A count of units; a frequency x duration (3x4, 2 times a week) is not one. A treatment
# with two different counts ("two sessions for the neck and eight for the back") has no
# single quantity (rules/item.py).
QUANTITY = re.compile(
    rf"^(?P<lead>{COUNT}) (?!x\b|times\b|refills?\b)(?=[A-Za-z])"
    r"|#\s?(?P<hash>\d{1,4})\b"
    r"|\bQTY\.?:? ?(?P<qty>\d{1,4})\b|\bquantity:? (?P<quantity>\d{1,4})\b"
    rf"|\b(?P<units>{COUNT})(?: [A-Za-z]{{1,20}}){{0,3}}? (?:sessions?|visits?|treatments?|"
    r"tablets?|capsules?|patches)\b"
    r"|\b(?:times|x) ?(?P<times>\d{1,3})$"  # "Follow up office visit times 2"
    r"|, (?P<trail>\d{1,3})$",  # "NCV of the bilateral lower extremities, 2"
    re.IGNORECASE)


def count_value(said: str) -> int:
    """12 for "12" or "twelve"."""
    return int(said) if said.isdigit() else NUMBER_WORDS[said.lower()]


STRENGTH_UNITS = r"(?:units?|mcg/hr|mcg/h|mg/ml|mg/hr|mg|mcg|ml|g|%)"
# Before the name: "Retrospective", a count ("120 FEXMID"), "Three refills of".
_BEFORE_NAME = (r"^(?:(?:" + "|".join(BEFORE_DRUG) + r"):? )?(?:(?:" + COUNT
                + r") refills? of )?(?:\d{1,4} )?")
_AMOUNT = r"\d{1,5}(?:\.\d{1,4})?"
MEDICATION = re.compile(
    _BEFORE_NAME + r"(?P<name>[A-Za-z][A-Za-z/-]{0,30}(?: [A-Za-z][A-Za-z-]{0,30}){0,3}?)"
    r"(?: \([A-Za-z][A-Za-z /-]{0,30}\))?"  # "Meloxicam (Mobic) 7.5mg": a second name
    rf" (?P<strength>{_AMOUNT}(?:%?[-/]{_AMOUNT}){{0,2}} ?" + STRENGTH_UNITS
    + r"(?:/(?:\d{1,4}(?:\.\d{1,3})? ?)?(?:ml|g|gm))?"  # "10mg/1ml": per volume
    + r")(?![A-Za-z/])", re.IGNORECASE)
# A medication written without a strength: a known drug name, then a count, a form or
# nothing ("Norco #120", "Tramadol QTY 60", "Lidoderm patches").
BARE_MEDICATION = re.compile(
    _BEFORE_NAME + r"(?P<name>(?:" + DRUG_NAMES + r")(?: (?:" + "|".join(RELEASE) + r"))?)"
    r"(?=$| ?#| QTY\b| \d{1,4}\b| \(|,| (?:" + "|".join(FORMS) + r")\b)", re.IGNORECASE)
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
INJURY = Keyed(re.compile(r"(?:date of injury|DOI)(?: of| on| was|:)? "
                          r"|injur(?:y|ed|ies)(?: [A-Za-z]{1,12}){0,4}? (?:on|of) ",
                          re.IGNORECASE), ("date of injury", "doi", "injur"))
