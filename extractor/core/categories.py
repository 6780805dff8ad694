"""Treatment category from a keyword table. First matching row wins."""

from __future__ import annotations

import re

# Drug names: also how the rules tell a medication written without a strength
# ("Norco #120", "Lidoderm patches") from other treatments.
DRUG_NAMES = (
    "norco|hydrocodone|tramadol|ultram|fexmid|flexeril|cyclobenzaprine|restoril|temazepam|"
    "lyrica|pregabalin|neurontin|gabapentin|ms contin|morphine|oxycodone|oxycontin|percocet|"
    "lidoderm|lidocaine patch|omeprazole|prilosec|protonix|pantoprazole|ranitidine|motrin|"
    "ibuprofen|naproxen|anaprox|celebrex|soma|carisoprodol|ambien|zolpidem|xanax|alprazolam|"
    "valium|diazepam|cymbalta|duloxetine|terocin|medrox|tizanidine|zanaflex|baclofen|butrans|"
    "buprenorphine|duragesic|fentanyl|methadone|nucynta|tapentadol|voltaren|diclofenac|"
    "toradol|ketorolac|skelaxin|metaxalone|docusate|colace|senna|trazodone|wellbutrin|"
    "elavil|amitriptyline|topamax|topiramate|mobic|meloxicam|relafen|nabumetone|ketoprofen|"
    "flurbiprofen|capsaicin|menthoderm|dendracin|orphenadrine|norflex|opana|dilaudid|"
    "hydromorphone|tylenol|acetaminophen|famotidine|pepcid|prevacid|lansoprazole|nortriptyline|"
    "salonpas|lidopro|anecream|synapryn|tabradol|trezix|deprizine|dicopanol|fanatrex|"
    "theramine|sentradine|duexis|vimovo|arthrotec|misoprostol|flector|pennsaid|"
    "lidocaine|menthol|methyl salicylate|camphor"
)
_DRUGS = DRUG_NAMES + "|medication|compound(?:ed)? cream|topical cream"

# (category, pattern). Order matters: the first row that matches wins.
# Every alternative starts at a word boundary (or a digit), so each search is linear:
# a bare `\w+ectomy\b` would retry from every letter of a long word (quadratic).
TABLE: list[tuple[str, re.Pattern]] = [
    # Care in a facility, before the therapies it includes ("Acute inpatient
    # rehabilitation physical therapy ...", "Partial Hospitalization day treatment").
    ("program", re.compile(r"\binpatient rehab\w*|\bpartial hospitali\w*|\bskilled nursing|"
                           r"\bday treatment|\bhome health", re.I)),
    ("injection", re.compile(r"\binject\w*|\bTP[I1]s?\b|\bESI\b|\bepidural|\bnerve block|"
                             r"\bfacet block|\bmedial branch block|\bradiofrequency|\bablation|"
                             r"\bbotox|\bPRP\b|\bblocks?\b", re.I)),
    ("medication", re.compile(rf"\b(?:{_DRUGS})\b|\d\s?(?:mg|mcg)\b|\b(?:tablets?|capsules?|"
                              r"patch(?:es)?|cream|ointment|gel)\b", re.I)),
    ("physical_therapy", re.compile(r"\b(?:pulsed|therapeutic) ultrasound|\belectrical (?:muscle )?"
                                    r"stimulation|\binfrared|\bmanual therapy|\bbiofeedback|"
                                    r"\bshockwave|\bhand therapy", re.I)),
    ("imaging", re.compile(r"\bMRI\b|\bMRA\b|\bCT\b|\bCAT scan|\bx-?rays?\b|\bradiograph\w*|"
                           r"\bultrasound|\bbone scan|\bimaging|\bmyelogra\w*|\bdiscogra\w*",
                           re.I)),
    ("diagnostic_test", re.compile(r"\bEMG\b|\bNCV\b|\bNCS\b|\bnerve conduction|\belectromyo\w*|"
                                   r"\bdrug (?:screen|test)\w*|\burine toxicology|\blab\w*\b|"
                                   r"\bblood test|\bsleep study|\bfunctional capacity evaluation|"
                                   r"\bFCE\b|\bgenetic test\w*|\bpanel\b|\bEKG\b|\bECG\b|"
                                   r"\belectrocardiogra\w*|\bCBC\b|\bBMP\b|\bPT/PTT\b|"
                                   r"\burine (?:test|drug)\w*", re.I)),
    # An evaluation or a clearance is a visit, whatever it is for ("Consult with hip
    # replacement specialist to evaluation for a total hip arthroplasty").
    # (near the start: "Right knee arthroscopy with evaluation of ACL" is surgery).
    ("consultation", re.compile(r"^(?:[\w-]+ ){0,2}?(?:consult\w*|evaluation|re-?exam\w*)\b|"
                                r"\bclearance\b", re.I)),
    ("surgery", re.compile(r"\bsurg\w*|\bPA assist\w*|\bassistant PA\b|\bassistant surgeon|"
                           r"\barthroscop\w*|\b\w+ectomy\b|\b\w+plasty\b|\bfusion\b|"
                           r"\bdecompression\b|\barthrodesis|\b\w+otomy\b|\brelease\b|\brepair\b|"
                           r"\bremoval of hardware|\bimplant\w*", re.I)),
    ("acupuncture", re.compile(r"\bacupuncture", re.I)),
    ("chiropractic", re.compile(r"\bchiro\w*|\bmanipulation", re.I)),
    ("physical_therapy", re.compile(r"\bphysical therapy|\bphysiotherapy|\bPT\b|\baquatic therapy|"
                                    r"\boccupational therapy|\btherapeutic exercise|"
                                    r"\bwork (?:hardening|conditioning)|\bmassage", re.I)),
    ("program", re.compile(r"\bprogram\b|\bfunctional restoration|\bdetox\w*|\bgym membership|"
                           r"\bweight loss", re.I)),
    ("durable_medical_equipment", re.compile(
        r"\bTENS\b|\bH-wave|\binterferential|\bbrace\b|\bwheelchair|\bcane\b|\bwalker\b|"
        r"\bcushion|\bmattress|\bbed\b|\bcold therapy|\bhot/cold|\borthotic\w*|\bDME\b|"
        r"\bsplint|\bcollar\b|\blumbar support|\bunit\b|\bcompression (?:garment|stocking)s?|"
        r"\bsling\b|\bwrap\b|\bcommode|\bshower chair|\bworkstation|\bcold compression|"
        r"\brental\b", re.I)),
    ("consultation", re.compile(r"\bconsult\w*|\breferral|\bevaluation|\bfollow-?up visit|"
                                r"\boffice visit|\bspecialist", re.I)),
]


# A heading's lead-in names what the item belongs to, not what it is: "Associated
# surgical service: Cold therapy unit" is equipment. (The rules keep it in the treatment:
# lexicon.IN_HEADING.)
LEAD_INS = ("Associated surgical service", "Labs to include")
LEAD_IN = re.compile(f"(?:{'|'.join(LEAD_INS)}): ", re.IGNORECASE)


def classify(treatment: str, has_medication: bool = False) -> tuple[str, tuple[int, int] | None]:
    """(category, span of the keyword in treatment); span None when nothing matched."""
    lead = LEAD_IN.match(treatment) if ": " in treatment else None
    at = lead.end() if lead else 0
    for category, pattern in TABLE:
        m = pattern.search(treatment, at)
        if m:
            return category, m.span()
    return ("medication" if has_medication else "other"), None
