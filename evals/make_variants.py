#!/usr/bin/env python
"""Build messy-input variants of the hand-labelled IMR fixture letters.

Usage:  /work/venv/bin/python evals/make_variants.py

Reads the five original letters in ``evals/fixtures/letters/NNN_*.txt`` and their
hand-written gold in ``evals/fixtures/gold/<letter>.json`` and writes:

* ``evals/fixtures/letters/v-<kind>--<original>``  (a transformed letter), and
* ``evals/fixtures/gold/v-<kind>--<original>.json`` (its gold),

plus the bad-input files in ``evals/fixtures/bad/`` and ``evals/fixtures/README.md``.

The gold of a variant is *derived from the original's gold by the same
transformation* (e.g. flipping a decision); no extractor code is ever run here.
Everything is deterministic: running the script twice gives byte-identical files
(previous ``v-*`` files are removed first so dropped variants do not linger).

Only the standard library and fpdf2 (for the ``pdf`` variant) are needed.
"""

from __future__ import annotations

import copy
import json
import random
import re
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIX = HERE / "fixtures"
LETTERS = FIX / "letters"
GOLD = FIX / "gold"
BAD = FIX / "bad"

L000 = "000_5af06fd8d99aadee.txt"
L001 = "001_86ba345343cd3771.txt"
L002 = "002_f7fec690ca28e43d.txt"
L003 = "003_a451431fba358ec9.txt"
L004 = "004_fc97f7610c159615.txt"

ORIGINAL_DESCRIPTIONS = {
    L000: "PDF-text letter (every line followed by a blank line). 1 item, upheld; the item "
    "heading wraps over two lines; credentials as 'State(s) of Licensure: California, Oregon, "
    "Washington' / 'Certification(s)/Specialty: Orthopedic Surgery'; quoted guideline text in "
    "the rationale; UR date in narrative ('utilization review decision 06-15-2015'); "
    "'submitted diagnosis of myalgia an myositis (unspecified)' (letter's typo 'an').",
    L001: "PDF-text letter. 3 items (injection, acupuncture, imaging), all upheld; headings "
    "have two spaces before 'Upheld'; 'This is a male patient' (sex, no age); subspecialty "
    "'Pain Management'; 'Diagnoses include A and B'; multi-line Claims Administrator guideline "
    "with a double space ('MTUS.  Decision based on Non-MTUS ...').",
    L002: "PDF-text letter. 1 item 'TRIGGER POINT INJECTIONS- RIGHT HIP' (same-line '- ' kept); "
    "no age/sex stated (pronoun 'His' only); no stated diagnosis; double space in "
    "'represented  employee'; UR date as 'utilization review report of January 22, 2014'; "
    "trailing blank lines at the end.",
    L003: "PDF-text letter. 4 items: '4 TRIGGER POINT INJECTIONS' (quantity 4) and three "
    "medications with strengths (FEXMID 7.5MG, NORCO 10/325MG, RESTORIL 15MG); words "
    "hyphenated across line breaks inside a rationale ('non- / resolving', 'Anti- / "
    "Inflammatory'); 'Board Certified Physical Medicine & Rehabilitation' (no 'in'); no UR "
    "date anywhere (ur_denial_date null); '52-year-old female'.",
    L004: "Markdown/HTML export: '<b>Case Number:</b>\\tCM14-0037910' tab-separated header "
    "block (all header dates, priority Standard), '###' headings, one-line paragraphs, "
    "'**LUMBAR TP1 L5:** Upheld' (TP1 = TPI -> injection), bold labels; no trailing newline; "
    "'was diagnosed with post-laminectomy syndrome, and sciatica'; '31 yr. old male'.",
}

SECTION_HEADINGS = (
    "HOW THE IMR FINAL DETERMINATION WAS MADE",
    "CLINICAL CASE SUMMARY",
    "IMR ISSUES, DECISIONS AND RATIONALES",
)
LABELS = ("Claims Administrator guideline", "MAXIMUS guideline", "Decision rationale")

# (file name, kind, description) of everything written, for the README.
MANIFEST: list[tuple[str, str, str]] = []


# ----------------------------------------------------------------------------- io
def read_letter(name: str) -> str:
    return (LETTERS / name).read_bytes().decode("utf-8")


def read_gold(name: str) -> dict:
    return json.loads((GOLD / f"{name}.json").read_text(encoding="utf-8"))


def outcome(items: list[dict]) -> str | None:
    decisions = {i["decision"] for i in items}
    if not decisions:
        return None
    if decisions == {"upheld"}:
        return "upheld"
    if decisions == {"overturned"}:
        return "overturned"
    return "partially_overturned"


def emit(kind: str, orig: str, data: str | bytes, gold: dict, desc: str,
         gold_change: str = "unchanged", *, ext: str | None = None,
         encoding: str = "utf-8") -> str:
    """Write letter bytes + derived gold; return the variant file name."""
    name = f"v-{kind}--{orig}"
    if ext:
        name = name[: -len(Path(name).suffix)] + ext
    raw = data if isinstance(data, bytes) else data.encode(encoding)
    (LETTERS / name).write_bytes(raw)
    gold = copy.deepcopy(gold)
    gold["outcome"] = outcome(gold["items"])
    gold.pop("_notes", None)
    gold["_notes"] = (f"Variant '{kind}' of {orig}: {desc} Gold derived from the original's "
                      f"gold: {gold_change}.")
    (GOLD / f"{name}.json").write_text(json.dumps(gold, indent=2, ensure_ascii=False) + "\n",
                                       encoding="utf-8")
    MANIFEST.append((name, kind, f"{desc} Gold: {gold_change}."))
    return name


# -------------------------------------------------------------- PDF-text helpers
def paragraphs(text: str) -> list[list[str]]:
    """Group the non-blank lines of a PDF-text letter into paragraphs.

    In these exports every physical line is followed by exactly one empty line;
    anything else between two text lines (a whitespace-only line such as " ", or
    two or more empty lines) is a paragraph break.
    """
    paras: list[list[str]] = []
    cur: list[str] = []
    gap = 0
    for line in text.split("\n"):
        if line.strip() == "":
            gap += 2 if line else 1  # a whitespace-only (non-empty) line forces a break
            continue
        if cur and gap != 1:
            paras.append(cur)
            cur = []
        cur.append(line)
        gap = 0
    if cur:
        paras.append(cur)
    return paras


def join_lines(lines: list[str]) -> str:
    """Reflow hard-wrapped lines: join with a space, or with nothing after a '-'."""
    out = ""
    for line in lines:
        s = line.strip()
        if not out:
            out = s
        elif out.endswith("-"):
            out += s
        else:
            out += " " + s
    return out


def reflow(text: str) -> str:
    return "\n\n".join(join_lines(p) for p in paragraphs(text)) + "\n"


def reflow_imr_one_line(text: str) -> str:
    paras = [join_lines(p) for p in paragraphs(text)]
    idx = next(i for i, p in enumerate(paras)
               if p.startswith("IMR ISSUES, DECISIONS AND RATIONALES"))
    return "\n\n".join(paras[:idx] + [" ".join(paras[idx:])]) + "\n"


def replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, (old, text.count(old))
    return text.replace(old, new)


# ---------------------------------------------------------------- furniture
FURNITURE_CASE_ID = "CM15-0123456"


def add_furniture(text: str, anchors: list[str]) -> str:
    """Insert page furniture before each line that starts with one of `anchors`.

    Each page break is: a 'Page N of M' footer line, then a form feed that starts the
    next page's repeated case-id header line.  Page 1 gets the header at the top and
    the last page gets its footer at the very end.
    """
    lines = text.split("\n")
    starts = []
    for a in anchors:
        hits = [i for i, ln in enumerate(lines) if ln.startswith(a)]
        assert len(hits) == 1, (a, hits)
        starts.append(hits[0])
    starts.sort()
    total = len(starts) + 1
    out = [FURNITURE_CASE_ID, ""]
    page = 1
    for i, ln in enumerate(lines):
        if i in starts:
            out += [f"Page {page} of {total}", "", f"\f{FURNITURE_CASE_ID}", ""]
            page += 1
        out.append(ln)
    while out and out[-1].strip() == "":
        out.pop()
    out += ["", f"Page {page} of {total}", ""]
    return "\n".join(out)


FURNITURE_ANCHORS = {
    # a break inside the two-line item heading and one inside the rationale
    L000: ["recommended, and oral pain medications",
           "myalgia an myositis (unspecified) as an outpatient: Upheld",
           "5/4/15 demonstrate"],
    # a break inside rationale 1 and inside the multi-line guideline of item 3
    L001: ["evidence of mild right thumb",
           "have failed to control pain. Within",
           "MTUS.  Decision based on Non-MTUS"],
    # a break splitting the hyphenated 'non- / resolving' inside rationale 1, one inside the
    # two-line MAXIMUS guideline of item 2, one inside the NORCO rationale
    L003: ["muscle rigidity. The injured",
           "resolving trigger points, but",
           "relaxers Page(s): 69.",
           "proposed as most relevant"],
}


# ------------------------------------------------------------------ cp1252
def smart_quotes(text: str) -> str:
    out = []
    for i, ch in enumerate(text):
        if ch == '"':
            prev = text[i - 1] if i else " "
            out.append("\u201c" if prev.isspace() or prev in "([" else "\u201d")
        elif ch == "'":
            out.append("\u2019")
        else:
            out.append(ch)
    return "".join(out)


# --------------------------------------------------------------------- pdf
def build_pdf(text: str) -> bytes:
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    pdf = FPDF(format="Letter")
    pdf.set_creation_date(datetime(2014, 1, 1, tzinfo=UTC))
    pdf.set_title("Independent Medical Review Final Determination")
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    usable = pdf.w - pdf.l_margin - pdf.r_margin
    for line in text.split("\n"):
        if line == "":
            continue
        if line.strip() == "":  # paragraph separator line in the PDF-text export
            pdf.ln(3)
            continue
        s = line.rstrip()
        assert pdf.get_string_width(s) <= usable, s
        pdf.cell(0, 5, s, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())


# ---------------------------------------------------------------- mdheader
def to_markdown(text: str, header: dict) -> str:
    """Convert a PDF-text letter to the newer markdown/HTML export style (like 004)."""
    body: list[str] = []
    in_imr = False
    for para in (join_lines(p) for p in paragraphs(text)):
        para = re.sub(r"\s+", " ", para).strip()
        for h in SECTION_HEADINGS:
            if para.startswith(h):
                body.append(f"### {h}")
                in_imr = h.startswith("IMR ISSUES")
                para = para[len(h):].strip()
                break
        if not para:
            continue
        m = re.fullmatch(r"(.+?):\s*(Upheld|Overturned)", para)
        if in_imr and m:
            para = f"**{m.group(1)}:** {m.group(2)}"
        else:
            for lab in LABELS:
                if para.startswith(lab + ":"):
                    para = f"**{lab}:** {para[len(lab) + 1:].strip()}"
                    break
        body.append(para)
    head = ("\n\n"
            f"<b>Case Number:</b>\t{header['case']}\t\t\n"
            f"<b>Date Assigned:</b>\t{header['assigned']}\t"
            f"<b>Date of Injury:</b>\t{header['doi']}\n"
            f"<b>Decision Date:</b>\t{header['decided']}\t<b>UR Denial Date:</b>\t{header['ur']}\n"
            f"<b>Priority:</b>\t{header['priority']}\t"
            f"<b>Application Received:</b>\t{header['received']}\n"
            "\n")
    return head + "\n\n".join(body)


def iso(mdY: str) -> str:
    return datetime.strptime(mdY, "%m/%d/%Y").strftime("%Y-%m-%d")


def header_gold(gold: dict, h: dict) -> dict:
    g = copy.deepcopy(gold)
    assert g["patient"]["date_of_injury"] in (None, iso(h["doi"]))
    assert g["ur_denial_date"] in (None, iso(h["ur"]))
    g.update(case_number=h["case"], date_assigned=iso(h["assigned"]),
             decision_date=iso(h["decided"]), ur_denial_date=iso(h["ur"]),
             application_received=iso(h["received"]), priority=h["priority"].lower())
    g["patient"]["date_of_injury"] = iso(h["doi"])
    # keep the documented key order
    order = ["case_number", "date_assigned", "decision_date", "ur_denial_date",
             "application_received", "priority", "reviewer", "patient", "diagnoses", "items",
             "outcome", "_notes"]
    return {k: g[k] for k in order if k in g}


MD_HEADERS = {  # invented, but consistent with each letter's own dates
    L001: {"case": "CM13-0041527", "assigned": "12/02/2013", "doi": "09/26/2012",
           "decided": "01/21/2014", "ur": "10/09/2013", "priority": "Standard",
           "received": "10/18/2013"},
    L003: {"case": "CM14-0113458", "assigned": "07/25/2014", "doi": "11/15/2010",
           "decided": "07/29/2014", "ur": "07/08/2014", "priority": "Expedited",
           "received": "07/21/2014"},
}


# ---------------------------------------------------------------- oldnames
DOCUMENTS_REVIEWED = (
    "DOCUMENTS REVIEWED \n\n"
    "The expert reviewer based his/her decision on a review of the following documents: \n\n"
    " \n\n"
    "Application for Independent Medical Review \n\n"
    "Utilization Review Determination \n\n"
    "Medical Records from the Claims Administrator \n\n"
    "Medical Records from the Treating Provider(s) \n\n"
    " \n\n"
)


def old_names(text: str, docs_before: str) -> str:
    text = replace_once(text, docs_before, DOCUMENTS_REVIEWED + docs_before)
    text = replace_once(text, "IMR ISSUES, DECISIONS AND RATIONALES",
                        "IMR DECISION(S) AND RATIONALE(S)")
    return "MAXIMUS FEDERAL SERVICES \n\n \n\n" + text


# -------------------------------------------------------------------- bad
# Not IMR letters, though they quote the phrases of the 2013 layouts (invented text).
NEWS_ARTICLE = """\
Injured workers say review letters leave them in the dark

SACRAMENTO - Two years after California handed disputes over medical treatment for
injured workers to independent reviewers, many workers still open their mail to find a
"Notice of Independent Medical Review Determination" that few of them can follow.

The early letters, sent in 2013, began with the words "MEDICAL PROFESSIONAL REVIEW" and
listed blocks such as "ISSUE AT DISPUTE:" and "RATIONALE FOR WHY THE REQUESTED
TREATMENT/SERVICE IS/WAS NOT MEDICALLY NECESSARY:". Later ones carried a numbered list in
which "MAXIMUS Federal Services, Inc. has determined the request for physical therapy is not
medically necessary and appropriate."

"You read 'Upheld' and you think you won," said a warehouse worker from Stockton whose
request for a knee MRI was denied. "Then you find out upheld means the denial stands."

Figures released by the Division of Workers' Compensation show that reviewers upheld the
utilization review decision in most cases decided last year. Applicant attorneys say the
letters should explain in plain language which guideline the reviewer relied upon, and
that the case summary is often copied from the insurer's own denial.

A spokesperson for the state said the letters have been redesigned several times and that
the current "Independent Medical Review" final determination lists the Case Number, Date
Assigned, Decision Date and UR Denial Date at the top of the first page.
"""

APPEAL_LETTER = """\
LAW OFFICES OF [redacted]
Applicant Attorneys

January 15, 2014

Workers' Compensation Appeals Board
[redacted]

Re:  Employee: [redacted]
     IMR Case Number: CM13-0071144
     Date of Injury: 04/02/2011

PETITION APPEALING THE ADMINISTRATIVE DIRECTOR'S DETERMINATION

Dear Sir or Madam:

Applicant appeals the Notice of Independent Medical Review Determination dated
12/19/2013, which stated: "1) MAXIMUS Federal Services, Inc. has determined the request for
Lumbar epidural steroid injection at L5-S1 is not medically necessary and appropriate."

The determination was made by a reviewer who did not examine the applicant. Its "Medical
Treatment Guideline(s) Relied Upon by the Expert Reviewer" section cites a guideline that
does not address radicular pain, and its "Rationale for the Decision" ignores the MRI of
08/14/2013 showing nerve root compression. The "Case Summary" was taken word for word from
the utilization review denial.

Under Labor Code section 4610.6(h), a determination may be set aside for a plainly
erroneous finding of fact that is a matter of ordinary knowledge. We ask the Board to
rescind the determination and remand the dispute for a new independent medical review.

Respectfully submitted,

[redacted]
Attorney for Applicant
"""


def write_bad() -> None:
    BAD.mkdir(parents=True, exist_ok=True)
    rnd = random.Random(20140812)
    files = {
        "empty.txt": (b"", "empty file"),
        "whitespace_only.txt": (b"\n\n   \n\t\n \r\n", "only whitespace"),
        "binary.txt": (
            b"\x00" * 16 + b"\x89PNG\r\n\x1a\n"
            + bytes(b if i % 7 else 0 for i, b in enumerate(rnd.randbytes(2048))),
            "binary junk with NUL bytes and random bytes, named .txt"),
        "recipe.txt": (
            (b"Buttermilk Pancakes\n\n"
             b"Ingredients: 2 cups flour, 2 tablespoons sugar, 2 teaspoons baking powder,\n"
             b"1 teaspoon baking soda, 1/2 teaspoon salt, 2 cups buttermilk, 2 eggs,\n"
             b"3 tablespoons melted butter.\n\n"
             b"Whisk the dry ingredients together. In another bowl beat the eggs with the\n"
             b"buttermilk and butter, then fold into the dry ingredients until just combined.\n"
             b"Cook 1/4 cup portions on a hot greased griddle until bubbles form, flip, and\n"
             b"cook until golden. Serves 4.\n"),
            "plain English text that is not an IMR letter"),
        "not_imr_news_article.txt": (NEWS_ARTICLE.encode(),
                                     "a news article about IMR that quotes the 2013 letters' "
                                     "phrases ('Notice of Independent Medical Review "
                                     "Determination', 'MEDICAL PROFESSIONAL REVIEW', 'has "
                                     "determined the request for ... is not medically necessary "
                                     "and appropriate') but is not an IMR letter"),
        "not_imr_appeal_letter.txt": (APPEAL_LETTER.encode(),
                                      "an applicant attorney's appeal letter quoting a 2013 IMR "
                                      "notice (decision sentence, 'IMR Case Number', 'Rationale "
                                      "for the Decision') but not itself an IMR letter"),
        "not_a_pdf.pdf": (b"This file has a .pdf extension but is plain text, not a PDF.\n",
                          "plain text named .pdf (no %PDF header)"),
        "corrupt.pdf": (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + rnd.randbytes(1500),
                        "%PDF header followed by random bytes, no xref/trailer/%%EOF"),
    }
    for old in BAD.iterdir():
        if old.is_file():
            old.unlink()
    for name, (data, desc) in files.items():
        (BAD / name).write_bytes(data)
        MANIFEST.append((f"bad/{name}", "bad", desc))


# ------------------------------------------------------------------ README
def write_readme() -> None:
    lines = [
        "# Evaluation fixtures",
        "",
        ("Generated parts of this file are written by `evals/make_variants.py`; "
         "do not edit by hand."),
        "",
        "* `letters/NNN_*.txt` — five real IMR letters, byte-identical copies of the originals.",
        ("* `gold/<letter file name>.json` — hand-labelled gold (labelled by reading, "
         "never by running"),
        ("  an extractor). Text values are canonicalised: whitespace runs collapsed, "
         "a word hyphenated"),
        ("  across a line break joined keeping the hyphen, `**`/`<b>` removed, "
         "typographic quotes ->"),
        "  ASCII. `_notes` records labelling judgement calls.",
        "  Every item has `original_request` and `authorized` right after `treatment`: both null",
        "  unless utilization review modified the request, then the original request's text and",
        "  what the Claims Administrator authorized, as the letter writes them.",
        ("* `letters/v-<kind>--<original>` + `gold/v-<kind>--<original>.json` — "
         "messy-input variants;"),
        "  each variant's gold is derived from the original's gold by the same transformation.",
        ("* `bad/` — non-IMR / bad inputs for CLI and batch tests (no gold; "
         "an extractor should fail"),
        "  cleanly or report 'not an IMR letter').",
        "",
        ("Rebuild: `/work/venv/bin/python evals/make_variants.py`; check: "
         "`/work/venv/bin/python evals/check_gold.py`."),
        "",
        "Page furniture used by the `furniture` / `combo` variants: a `Page N of M` footer line, a",
        f"form feed starting the next page's repeated case-id header line `{FURNITURE_CASE_ID}`.",
        ("Furniture is not content: gold is unchanged (`case_number` stays null — "
         "the repeated id is"),
        "not a header-block case number).",
        "",
        "## Originals",
        "",
        "| file | exercises |",
        "|---|---|",
    ]
    for name, desc in ORIGINAL_DESCRIPTIONS.items():
        lines.append(f"| `letters/{name}` | {desc} |")
    lines += _published()
    lines += ["", "## Variants", "", "| file | kind | exercises / gold change |", "|---|---|---|"]
    for name, kind, desc in MANIFEST:
        if kind != "bad":
            lines.append(f"| `letters/{name}` | {kind} | {desc.replace('|', '/')} |")
    lines += _layout_families()
    lines += ["", "## Bad inputs (no gold)", "", "| file | what |", "|---|---|"]
    for name, kind, desc in MANIFEST:
        if kind == "bad":
            lines.append(f"| `{name}` | {desc} |")
    (FIX / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _published() -> list[str]:
    """The published PDFs, described by their gold (labelled by reading each letter)."""
    lines = ["", "## Published letters", "",
             "`letters/p-dwc--<case>.pdf` and `letters/p-heldout--<case>.pdf` are Final",
             "Determination Letters exactly as the Division of Workers' Compensation publishes",
             "them (late 2016 and early 2017, AES-encrypted with an empty password), labelled by",
             "reading the letter: the labellers never ran an extractor. `_notes` in each gold",
             "file records their judgement calls. The `dwc` ones were picked to cover many-item",
             "letters, overturned items and modified requests, and the rules were improved",
             "against them; the `heldout` ones were labelled later and scored before any change",
             "the rules made for them (F1 0.981: diagnoses 0.759, every other field 1.000).",
             "`evals/LABELLING.md` gives the conventions they were labelled by.", "",
             "| file | items | outcome | modified | notes |", "|---|---|---|---|---|"]
    for gold in sorted(GOLD.glob("p-*.json")):
        g = json.loads(gold.read_text(encoding="utf-8"))
        modified = sum(1 for it in g["items"] if it["original_request"])
        notes = g["_notes"].replace("|", "/").replace("\n", " ")
        lines.append(f"| `letters/{gold.name[:-5]}` | {len(g['items'])} | {g['outcome']} | "
                     f"{modified} | {notes} |")
    return lines


def _layout_families() -> list[str]:
    """The layout-family letters of issue 10, described by their gold's `_notes`."""
    lines = ["", "## Layout families", "",
             "`letters/f-<family>--N` are written by hand, one or more per layout family, and",
             "labelled by reading them (`evals/layouts/` holds the text of the PDF one).",
             "`letters/g-<header>-<item form>--NN` are written by `evals/make_layouts.py`",
             "(fixed seed) with gold known by construction; `tests/test_layouts.py` draws many",
             "more with hypothesis. `imr-extract eval` reports F1 per family.",
             "The layouts of 2013 and early 2014 are `f-notice2013` / `g-notice-regarding` (the",
             "'Notice of Independent Medical Review Determination'), `f-imr2013` / `g-imr2013-*`",
             "(the 'Independent Medical Review' label block) and `f-mpr2013` / `g-mpr-blocks` (the",
             "'MEDICAL PROFESSIONAL REVIEW'); `f-pdfartefacts` are PDF-text artefacts and",
             "`f-cutshort` a letter whose last page is lost.", "",
             "| file | exercises |", "|---|---|"]
    for gold in sorted(GOLD.glob("[fg]-*.json")):
        notes = json.loads(gold.read_text(encoding="utf-8"))["_notes"]
        lines.append(f"| `letters/{gold.name[:-5]}` | {notes.replace('|', '/')} |")
    return lines


# -------------------------------------------------------------------- main
def main() -> None:
    for d in (LETTERS, GOLD):
        for old in d.glob("v-*"):
            old.unlink()

    T = {n: read_letter(n) for n in ORIGINAL_DESCRIPTIONS}
    G = {n: read_gold(n) for n in ORIGINAL_DESCRIPTIONS}

    # crlf -------------------------------------------------------------------
    for n in (L000, L003, L004):
        emit("crlf", n, T[n].replace("\n", "\r\n").encode("utf-8"), G[n],
             "CRLF line endings (bytes written as-is).")

    # reflow -----------------------------------------------------------------
    for n in (L000, L001, L002, L003):
        emit("reflow", n, reflow(T[n]), G[n],
             "Each paragraph reflowed onto one line (hard-wrapped lines joined with a space, "
             "a line ending in '-' joined without one), paragraphs separated by one blank line; "
             "section headings run into the following text.")
    for n in (L001, L003):
        emit("oneline", n, reflow_imr_one_line(T[n]), G[n],
             "Reflowed, and the whole IMR ISSUES, DECISIONS AND RATIONALES section (heading, "
             "all item headings, labels and rationales) is one single line.")

    # furniture --------------------------------------------------------------
    for n, anchors in FURNITURE_ANCHORS.items():
        emit("furniture", n, add_furniture(T[n], anchors), G[n],
             f"Page furniture ('Page N of M', form feed, repeated '{FURNITURE_CASE_ID}') inserted "
             f"at {len(anchors)} page breaks, before lines starting "
             + "; ".join(repr(a) for a in anchors) + ".")

    # cp1252 -----------------------------------------------------------------
    for n in (L000, L002, L003):
        emit("cp1252", n, smart_quotes(T[n]).encode("cp1252"), G[n],
             "Straight double quotes -> typographic \u201c \u201d, apostrophes -> \u2019, "
             "file encoded cp1252 (not valid UTF-8).",
             "unchanged (values are canonicalised to ASCII quotes)")
    emit("bom", L002, b"\xef\xbb\xbf" + T[L002].encode("utf-8"), G[L002],
         "UTF-8 with a byte-order mark.")
    emit("combo", L003,
         smart_quotes(add_furniture(T[L003], FURNITURE_ANCHORS[L003]))
         .replace("\n", "\r\n").encode("cp1252"), G[L003],
         "furniture + cp1252 typographic quotes + CRLF together.",
         "unchanged (values are canonicalised to ASCII quotes)")

    # pdf ---------------------------------------------------------------------
    for n in (L003, L000):
        emit("pdf", n, build_pdf(T[n]), G[n],
             "Real PDF built with fpdf2 (Helvetica, US Letter): each non-blank line written as "
             "one line, whitespace-only separator lines as a small vertical gap; text layer "
             "extractable with PDFium.", ext=".pdf")

    # mdheader ---------------------------------------------------------------
    for n, h in MD_HEADERS.items():
        emit("mdheader", n, to_markdown(T[n], h), header_gold(G[n], h),
             "Converted to the newer markdown/HTML export: tab-separated '<b>Label:</b>' header "
             "block (invented values), '###' section headings, one-line paragraphs, "
             "'**ITEM:** Upheld' headings and bold labels.",
             "header values added (case_number " + h["case"] + ", date_assigned, decision_date, "
             "ur_denial_date, application_received, priority " + h["priority"].lower()
             + "); everything else unchanged")

    # overturned -------------------------------------------------------------
    t = replace_once(T[L001], "Acupuncture 2 times a week for 4 weeks:  Upheld",
                     "Acupuncture 2 times a week for 4 weeks:  Overturned")
    g = copy.deepcopy(G[L001])
    g["items"][1].update(decision="overturned", medically_necessary=True)
    emit("overturned", L001, t, g,
         "Item 2 heading 'Upheld' changed to 'Overturned' (its rationale text still reads "
         "'not medically necessary'; the heading is authoritative).",
         "item 2 decision overturned, medically_necessary true, outcome partially_overturned")
    t = replace_once(T[L002], "TRIGGER POINT INJECTIONS- RIGHT HIP:  Upheld",
                     "TRIGGER POINT INJECTIONS- RIGHT HIP:  Overturned")
    g = copy.deepcopy(G[L002])
    g["items"][0].update(decision="overturned", medically_necessary=True)
    emit("overturned", L002, t, g, "The single item's 'Upheld' changed to 'Overturned'.",
         "item decision overturned, medically_necessary true, outcome overturned")
    t = replace_once(T[L004], "**LUMBAR TP1 L5:** Upheld", "**LUMBAR TP1 L5:** Overturned")
    g = copy.deepcopy(G[L004])
    g["items"][0].update(decision="overturned", medically_necessary=True)
    emit("overturned", L004, t, g,
         "The single markdown item '**LUMBAR TP1 L5:** Upheld' changed to 'Overturned'.",
         "item decision overturned, medically_necessary true, outcome overturned")

    # oldnames ---------------------------------------------------------------
    emit("oldnames", L001, old_names(T[L001], "CLINICAL CASE SUMMARY"), G[L001],
         "Older layout: banner 'MAXIMUS FEDERAL SERVICES' at top, a 'DOCUMENTS REVIEWED' section "
         "(short list) before CLINICAL CASE SUMMARY, 'IMR ISSUES, DECISIONS AND RATIONALES' "
         "renamed 'IMR DECISION(S) AND RATIONALE(S)'.")
    emit("oldnames", L003, old_names(T[L003], "IMR ISSUES, DECISIONS AND RATIONALES"), G[L003],
         "Older layout: banner 'MAXIMUS FEDERAL SERVICES', a 'DOCUMENTS REVIEWED' section "
         "between the case summary and the decisions, section renamed "
         "'IMR DECISION(S) AND RATIONALE(S)'.")

    # garbled ----------------------------------------------------------------
    cut = "the injured worker had used cyclo"
    i = T[L003].index(cut) + len(cut)
    assert T[L003].index("120 FEXMID 7.5MG: Upheld") < i < T[L003].index("120 NORCO")
    g = copy.deepcopy(G[L003])
    g["items"] = g["items"][:2]
    g["items"][1]["rationale"] = None
    emit("garbled", L003, T[L003][:i], g,
         "DEGRADED INPUT: letter truncated mid-word inside the 2nd item's (120 FEXMID 7.5MG) "
         "rationale ('...had used cyclo'); items 3-4 are lost.",
         "item 1 complete; item 2 keeps treatment/decision/category/quantity/medication and both "
         "guidelines (fully present) but rationale null (cut); items 3-4 dropped; outcome "
         "recomputed from the visible items (upheld)")

    write_bad()
    write_readme()
    print(f"wrote {len(MANIFEST)} files ({sum(k != 'bad' for _, k, _ in MANIFEST)} variants)")


if __name__ == "__main__":
    main()
