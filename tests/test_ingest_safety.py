"""Ingest refuses what is not a letter file, bounds what it reads, keeps what decodes,
and needs several landmarks before calling a document an IMR letter. All through the
real CLI, with a subprocess timeout so a hang fails the test instead of stalling it."""

import json
import os
import sqlite3

import pytest
from conftest import LETTERS, ORIGINALS

HANG = 60  # seconds; every command here takes about one
LETTER = LETTERS / "004_fc97f7610c159615.txt"


def _records(result) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def _one_error(result, message: str) -> None:
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and message in errors[0], result.stderr


# -- only regular files are opened (defect 1) ---------------------------------------
@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "pipe.txt"
    os.mkfifo(path)
    return path


def test_a_fifo_is_refused_and_extract_goes_on_with_the_other_files(cli, fifo):
    result = cli("extract", ORIGINALS[0], fifo, ORIGINALS[1], timeout=HANG)
    assert result.returncode == 2
    assert [r["source"]["path"] for r in _records(result)] == [str(ORIGINALS[0]), str(ORIGINALS[1])]
    _one_error(result, f"{fifo}: is a FIFO (named pipe), not a letter file")


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null"])
def test_a_device_is_refused_unread(cli, device):
    # /dev/zero would be read until memory ran out
    result = cli("extract", device, timeout=HANG)
    assert result.returncode == 2 and result.stdout == ""
    _one_error(result, f"{device}: is a character device, not a letter file")


def test_a_symlink_to_a_letter_is_read(cli, tmp_path):
    link = tmp_path / "link.txt"
    link.symlink_to(LETTER)
    record = _records(cli("extract", "--compact", link, timeout=HANG))[0]
    assert record["case_number"] == "CM14-0037910"


def test_batch_records_a_fifo_in_a_folder_as_failed_and_does_the_rest(cli, tmp_path):
    folder = tmp_path / "letters"
    folder.mkdir()
    for p in ORIGINALS[:2]:
        (folder / p.name).write_bytes(p.read_bytes())
    os.mkfifo(folder / "zz-pipe.txt")
    db = tmp_path / "results.db"
    result = cli("batch", folder, "--db", db, timeout=HANG)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    with sqlite3.connect(db) as con:
        rows = dict(con.execute("select path, status from letters").fetchall())
        error = con.execute("select error from letters where status = 'failed'").fetchone()[0]
    assert sorted(rows.values()) == ["done", "done", "failed"]
    assert rows[str(folder / "zz-pipe.txt")] == "failed"
    assert "is a FIFO (named pipe)" in error


# -- size limit (defect 3) ----------------------------------------------------------------
def test_a_file_over_max_bytes_is_refused_and_the_others_extracted(cli):
    small, big = sorted(ORIGINALS, key=lambda p: p.stat().st_size)[::4]
    limit = (small.stat().st_size + big.stat().st_size) // 2
    result = cli("extract", "--max-bytes", limit, big, small, timeout=HANG)
    assert result.returncode == 2
    assert [r["source"]["path"] for r in _records(result)] == [str(small)]
    _one_error(result, f"{big}: too large ({big.stat().st_size:,} bytes; the limit is "
                       f"--max-bytes {limit:,})")


def test_the_default_limit_refuses_a_huge_file_from_its_size_before_reading(cli, tmp_path):
    huge = tmp_path / "huge.txt"
    with huge.open("wb") as f:
        f.write(LETTER.read_bytes())
        f.truncate(20 * 10**9)  # sparse: 20 GB that reading would take minutes and all memory
    result = cli("extract", huge, timeout=HANG)
    assert result.returncode == 2
    _one_error(result, "too large (20,000,000,000 bytes; the limit is --max-bytes 10,000,000)")


def test_batch_records_a_file_over_max_bytes_as_failed(cli, tmp_path):
    db = tmp_path / "results.db"
    big = max(ORIGINALS, key=lambda p: p.stat().st_size)
    result = cli("batch", *ORIGINALS, "--db", db, "--max-bytes", big.stat().st_size - 1,
                 timeout=HANG)
    assert result.returncode == 1
    with sqlite3.connect(db) as con:
        failed = con.execute("select path, error from letters where status = 'failed'").fetchall()
        done = con.execute("select count(*) from letters where status = 'done'").fetchone()[0]
    assert [path for path, _ in failed] == [str(big)] and "too large" in failed[0][1]
    assert done == len(ORIGINALS) - 1


def test_a_pdf_whose_text_inflates_past_the_limit_is_refused(cli, tmp_path):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=8)
    line = "MAXIMUS Federal Services Independent Medical Review " * 2
    for _ in range(40):
        pdf.add_page()
        for _ in range(60):
            pdf.cell(0, 4, line, new_x="LMARGIN", new_y="NEXT")
    path = tmp_path / "inflating.pdf"
    pdf.output(str(path))
    limit = path.stat().st_size * 2  # the file passes; its ~250 KB of text does not
    result = cli("extract", "--max-bytes", limit, path, timeout=HANG)
    assert result.returncode == 2
    _one_error(result, f"{path}: text too long (over {limit:,} characters")


# -- decoding keeps what is valid (defect 12) ----------------------------------------------
TYPOGRAPHIC = LETTERS / "v-cp1252--000_5af06fd8d99aadee.txt"  # has “ ” ’ (as cp1252 bytes)


def _exact_spans_hold(record: dict, text: str) -> None:
    exact = [e for e in record["evidence"] if e["match"] == "exact"]
    assert exact and all(text[e["start"]:e["end"]] == e["quote"] for e in exact)


def test_a_stray_byte_in_utf8_is_one_replacement_not_a_cp1252_letter(cli, tmp_path):
    good = TYPOGRAPHIC.read_bytes().decode("cp1252").encode("utf-8")
    cut = good.index(b"CLINICAL CASE SUMMARY")
    data = good[:cut] + b"\x93" + good[cut:]  # a cp1252 quote byte: alone, invalid UTF-8
    path = tmp_path / "stray.txt"
    path.write_bytes(data)
    record = _records(cli("extract", "--compact", path, timeout=HANG))[0]
    assert "1 invalid UTF-8 byte sequence replaced with U+FFFD" in record["warnings"]
    assert not any("cp1252" in w for w in record["warnings"])
    text = data.decode("utf-8", errors="replace")
    assert record["source"]["chars"] == len(text)  # “ is one character, not three
    _exact_spans_hold(record, text)
    assert record["items"][0]["decision"] == "upheld"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-8-sig", "utf-32"])
def test_a_byte_order_mark_decides_the_encoding(cli, tmp_path, encoding):
    text = LETTER.read_text(encoding="utf-8")
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data  # the codec writes no mark of its own
    path = tmp_path / f"{encoding}.txt"
    path.write_bytes(data)
    want = _records(cli("extract", "--compact", LETTER, timeout=HANG))[0]
    got = _records(cli("extract", "--compact", path, timeout=HANG))[0]
    assert got["warnings"] == []
    for record in (want, got):
        del record["source"]
    assert got == want


def test_cp1252_is_chosen_only_for_text_with_no_utf8_sequence(cli):
    record = _records(cli("extract", "--compact", TYPOGRAPHIC, timeout=HANG))[0]
    assert "not valid UTF-8; decoded as cp1252" in record["warnings"]
    text = TYPOGRAPHIC.read_bytes().decode("cp1252")
    assert "\u201c" in text
    _exact_spans_hold(record, text)


# -- IMR detection needs several landmarks (defect 11) ---------------------------------------
NEWS = """Workers' comp reviews uphold most denials, data show

SACRAMENTO - MAXIMUS Federal Services, the contractor that runs California's Independent
Medical Review (IMR) program, upheld the utilization review decision in about 90 percent of
the 2014 cases, according to state figures. Each final determination is binding unless it is
appealed to the Workers' Compensation Appeals Board. Critics say the IMR process is a rubber
stamp; MAXIMUS says its reviewers are board certified in the specialty concerned.
"""
APPEAL = """Re: Petition appealing the Independent Medical Review determination
Case Number: CM14-0037910

Dear Judge,

Applicant appeals the IMR final determination issued by MAXIMUS Federal Services on
August 12, 2014, which upheld the denial of lumbar trigger point injections. The reviewer
relied on guidelines that do not apply to this applicant's condition, and the decision was
made without the treating physician's latest report. The IMR should be set aside.

Respectfully submitted,
Attorney for Applicant
"""
QUOTES_ONE_HEADING = ("Training notes for claims staff. Every letter opens with HOW THE IMR "
                      "FINAL DETERMINATION WAS MADE, written by MAXIMUS Federal Services.\n")
# Heading words in sentences, in lower case: prose, not the letter's own sections (the
# rules' heading guard, shared since issue 12 moved it into core/landmarks.py).
HEADINGS_IN_PROSE = (
    "Notes for claims staff on MAXIMUS Federal Services and Independent Medical Review. "
    "The reviewer reads the clinical case summary first, then the documents reviewed, and "
    "each item is written as is not medically necessary and appropriate when upheld.\n")


@pytest.mark.parametrize("text", [NEWS, APPEAL, QUOTES_ONE_HEADING, HEADINGS_IN_PROSE],
                         ids=["news article", "appeal letter", "one heading quoted",
                              "headings in prose"])
def test_a_document_that_quotes_imr_phrases_is_not_a_letter(cli, tmp_path, text):
    path = tmp_path / "doc.txt"
    path.write_text(text, encoding="utf-8")
    result = cli("extract", path, timeout=HANG)
    assert result.returncode == 2 and result.stdout == ""
    _one_error(result, f"{path}: not an IMR letter (missing:")


def test_the_refusal_names_what_is_missing(cli, tmp_path):
    path = tmp_path / "news.txt"
    path.write_text(NEWS, encoding="utf-8")
    assert ("not an IMR letter (missing: a determination, the letter's own section "
            "headings or labels)") in cli("extract", path, timeout=HANG).stderr


def test_every_letter_and_fixture_is_still_an_imr_letter(cli):
    letters = sorted(p for p in LETTERS.iterdir() if p.is_file())
    result = cli("extract", *letters, timeout=HANG * 2)
    assert result.returncode == 0, result.stderr
    assert len(_records(result)) == len(letters)


@pytest.mark.parametrize("content, stat_size, max_bytes, want", [
    (100, 100, 1_000, 100),   # the size the stat gave: all of it
    (100, 10, 1_000, 100),    # grew since the stat: read on
    (100, 10, 50, 51),        # grew past the limit: one byte over shows it
    (0, 0, 1_000, 0),
])
def test_a_read_asks_for_the_stat_size_and_stays_bounded(tmp_path, content, stat_size,
                                                          max_bytes, want):
    from extractor.core.ingest import _read_bounded

    path = tmp_path / "letter.txt"
    path.write_bytes(b"x" * content)
    with open(path, "rb") as f:
        assert len(_read_bounded(f, stat_size, max_bytes)) == want
