"""PDFs through PDFium (extractor/core/pdf.py): hostile files get one line and exit 2,
quickly and within the reader's memory cap; a reader that dies mid-letter costs that
letter only, in `extract`, `batch` and `serve`; `extract --text` prints the text the
offsets refer to. All through the real CLI (or server), with a subprocess timeout so a
hang fails the test instead of stalling it. The hostile files are built here, in tmp
dirs: with fpdf2, with pypdfium2, or byte by byte for the malformed ones."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import zlib
from pathlib import Path

import pytest
from conftest import LETTERS
from test_ingest_safety import _one_error, _records

HANG = 60  # seconds
PDF_LETTER = LETTERS / "v-pdf--003_a451431fba358ec9.pdf"
REAL = Path("/work/shared/real-letters")
REAL_PDFS = sorted(REAL.glob("*.pdf")) if REAL.is_dir() else []
CRASH_ENV = "IMR_EXTRACT_TEST_CRASH_ON"


# -- hostile files, byte by byte ----------------------------------------------------------
def _pdf(objects: list[bytes]) -> bytes:
    """A PDF with a correct cross-reference table; objects are numbered from 1, the first
    is the catalog."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


def _one_page(content: bytes) -> bytes:
    packed = zlib.compress(content, 9)
    return _pdf([b"<< /Type /Catalog /Pages 2 0 R >>",
                 b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                 (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
                  b"/Resources << /Font << /F1 5 0 R >> >> >>"),
                 b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream"
                 % (len(packed), packed),
                 b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"])


def _truncated(tmp: Path) -> Path:
    path = tmp / "truncated.pdf"
    data = PDF_LETTER.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    return path


def _noise(tmp: Path) -> Path:
    path = tmp / "noise.pdf"
    path.write_bytes(b"%PDF-1.7\n" + os.urandom(64_000))
    return path


def _page_tree_loop(tmp: Path) -> Path:
    path = tmp / "loop.pdf"
    path.write_bytes(_pdf([b"<< /Type /Catalog /Pages 2 0 R >>",
                           b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
                           b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R] /Count 1 >>"]))
    return path


def _password(tmp: Path) -> Path:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=10)
    pdf.add_page()
    pdf.cell(0, 5, "MAXIMUS Federal Services Independent Medical Review")
    pdf.set_encryption(owner_password="owner", user_password="user")  # RC4: no cryptography
    path = tmp / "password.pdf"
    pdf.output(str(path))
    return path


def _scanned(tmp: Path) -> Path:
    from fpdf import FPDF
    from PIL import Image

    pdf = FPDF()
    pdf.add_page()
    pdf.image(Image.new("L", (400, 200), 200), x=10, y=10, w=150)  # an image, no text
    path = tmp / "scan.pdf"
    pdf.output(str(path))
    return path


def _blank_pages(tmp: Path, pages: int = 5000) -> Path:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument.new()
    try:
        for _ in range(pages):
            doc.new_page(612, 792).close()
        path = tmp / "blank.pdf"
        doc.save(str(path))
    finally:
        doc.close()
    return path


def _inflating(tmp: Path, megabytes: int = 200) -> Path:
    """A ~400 KB file whose page content inflates to `megabytes` MB of path operators:
    PDFium builds an object for each (2 GB of memory and 8 s for 100 MB, uncapped)."""
    unit = b"0 0 m 1 1 l S\n"
    path = tmp / "inflating.pdf"
    path.write_bytes(_one_page(unit * (megabytes * 2**20 // len(unit))))
    return path


PASSWORD = "PDF is encrypted with a password; imr-extract cannot open it"
DIED = "unreadable PDF (the PDF reader died on it, SIGABRT"
HOSTILE = {
    "truncated": (_truncated, "unreadable PDF (damaged or not a PDF)"),
    "noise behind a %PDF header": (_noise, "unreadable PDF (damaged or not a PDF)"),
    "page tree that loops": (_page_tree_loop, "unreadable PDF (page 1 cannot be read)"),
    "user password": (_password, PASSWORD),
    "image-only page": (_scanned, "PDF has no extractable text (scanned image?)"),
    "5,000 blank pages": (_blank_pages, "PDF has no extractable text (scanned image?)"),
    "content inflating to 200 MB": (_inflating, DIED + ": out of memory past 768 MB"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_hostile_pdf_is_one_line_and_exit_2_and_the_next_file_is_read(cli, tmp_path, case):
    make, message = HOSTILE[case]
    path = make(tmp_path)
    start = time.monotonic()
    result = cli("extract", "--compact", path, PDF_LETTER, timeout=HANG)
    seconds = time.monotonic() - start
    assert result.returncode == 2, result.stderr
    _one_error(result, f"{path}: {message}")
    assert [r["source"]["path"] for r in _records(result)] == [str(PDF_LETTER)]
    assert seconds < 20, f"{case} took {seconds:.1f} s"


def test_the_reader_is_capped_in_memory_and_the_caller_stays_small(tmp_path):
    """The bomb takes the reader to its address-space cap, not the machine's memory; the
    calling process never holds PDFium's allocations. (The reader's peak RSS is not
    measured: Linux carries a parent's peak over fork and exec, so a child's figure says
    as much about the test process as about the reader; its limit is read instead.)"""
    import resource

    from extractor.core import pdf

    bomb = _inflating(tmp_path, 400).read_bytes()
    assert pdf.text(PDF_LETTER.read_bytes(), 10**7)  # the reader is up, its limit set
    limits = Path(f"/proc/{pdf._reader.proc.pid}/limits").read_text()
    cap = next(line.split()[3] for line in limits.splitlines()
               if line.startswith("Max address space"))
    assert int(cap) == 768 << 20
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(pdf.PdfError, match="out of memory past 768 MB"):
        pdf.text(bomb, 10**7, "bomb.pdf")
    grew_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grew_mb < 50
    assert pdf.text(PDF_LETTER.read_bytes(), 10**7).count("MAXIMUS")  # a fresh reader


def test_a_reader_that_takes_too_long_is_stopped(cli, tmp_path):
    slow = _inflating(tmp_path, 60)
    start = time.monotonic()
    result = cli("extract", "--pdf-timeout", "0.5", slow, PDF_LETTER, timeout=HANG)
    assert result.returncode == 2
    _one_error(result, f"{slow}: unreadable PDF (reading it took longer than 0.5 s; "
               "--pdf-timeout)")
    assert time.monotonic() - start < 10
    assert len(_records(result)) == 1  # the next letter is read by a fresh reader


def test_the_memory_cap_is_an_option(cli, tmp_path):
    bomb = _inflating(tmp_path, 100)
    result = cli("extract", "--pdf-memory", "200", bomb, timeout=HANG)
    assert result.returncode == 2
    assert "out of memory past 200 MB (--pdf-memory)" in result.stderr


def test_threads_share_the_reader_safely():
    """PDFium is not thread-safe: every call goes through one lock. Eight threads reading
    at once get each its own, correct text."""
    from extractor.core import pdf

    data = PDF_LETTER.read_bytes()
    want = pdf.read_text(data, 10**7)
    got, errors = [], []

    def read():
        try:
            for _ in range(5):
                got.append(pdf.text(data, 10**7) == want)
                got.append(pdf.read_text(data, 10**7) == want)
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=read) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(HANG)
    assert not errors and len(got) == 80 and all(got)


def test_the_text_is_pdfiums_with_page_breaks_and_hyphens(tmp_path):
    from fpdf import FPDF

    from extractor.core import pdf

    doc = FPDF()
    doc.set_font("Helvetica", size=10)
    for line in ("first page", "second page"):
        doc.add_page()
        doc.cell(0, 5, line)
    path = tmp_path / "two.pdf"
    doc.output(str(path))
    assert pdf.text(path.read_bytes(), 10**7) == "first page\n\fsecond page"
    with pytest.raises(pdf.TextTooLong):
        pdf.text(path.read_bytes(), 15)


# -- a reader that dies mid-letter costs that letter only --------------------------------
def _crash_env(marker: str) -> dict:
    return {**os.environ, CRASH_ENV: marker}


def test_extract_goes_on_after_the_reader_dies_on_one_letter(cli, tmp_path):
    doomed = tmp_path / "doomed.pdf"
    doomed.write_bytes(PDF_LETTER.read_bytes())
    result = cli("extract", "--compact", PDF_LETTER, doomed, PDF_LETTER,
                 env=_crash_env("doomed"), timeout=HANG)
    assert result.returncode == 2
    _one_error(result, f"{doomed}: unreadable PDF (the PDF reader died on it, SIGABRT")
    assert len(_records(result)) == 2


def _copies(folder: Path, n: int) -> list[Path]:
    """n distinct copies of the PDF letter (a trailing comment after %%EOF differs)."""
    folder.mkdir(exist_ok=True)
    paths = []
    for k in range(n):
        path = folder / f"letter-{k:03}.pdf"
        path.write_bytes(PDF_LETTER.read_bytes() + b"\n%% copy %d\n" % k)
        paths.append(path)
    return paths


def test_batch_records_a_letter_whose_reader_died_and_does_the_rest(cli, tmp_path):
    folder = tmp_path / "letters"
    _copies(folder, 12)
    doomed = folder / "letter-005.pdf"
    db = tmp_path / "results.db"
    result = cli("batch", folder, "--db", db, "--concurrency", "2",
                 env=_crash_env("letter-005"), timeout=HANG)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    with sqlite3.connect(db) as con:
        rows = dict(con.execute("select path, status from letters").fetchall())
        error = con.execute("select error from letters where status = 'failed'").fetchall()
    assert sorted(rows.values()) == ["done"] * 11 + ["failed"]
    assert rows[str(doomed)] == "failed"
    assert error == [(f"{doomed}: {DIED}: out of memory past 768 MB (--pdf-memory), or a crash "
                      "in PDFium)",)]


@pytest.mark.skipif(not REAL_PDFS, reason=f"the published letters are not in {REAL}")
def test_batch_of_the_published_letters_does_not_deadlock(cli, tmp_path):
    """Chunks of 8 PDFs of ~30 KB, a few ahead, and their records overfilled the socket
    buffers: the main process blocked sending to a worker that was blocked sending it
    results (256 letters hung for good before the fix)."""
    folder = tmp_path / "letters"
    folder.mkdir()
    for k in range(4):
        for path in REAL_PDFS:
            (folder / f"{path.stem}-{k}.pdf").write_bytes(path.read_bytes()
                                                          + b"\n%% copy %d\n" % k)
    result = cli("batch", folder, "--db", tmp_path / "results.db", "--concurrency", "2",
                 timeout=HANG)
    assert result.returncode == 0, result.stderr
    assert f"{4 * len(REAL_PDFS)} done" in result.stderr


def test_serve_answers_422_when_the_reader_dies_and_keeps_serving(monkeypatch, tmp_path):
    pytest.importorskip("fastapi")
    import httpx
    from service import Service

    monkeypatch.setenv(CRASH_ENV, "doomed")
    data = PDF_LETTER.read_bytes()

    def post(name):
        return httpx.post(s.url + "/v1/extract", files={"file": (name, data)}, timeout=HANG)

    with Service(workers=1) as s:
        assert post("first.pdf").status_code == 200
        r = post("doomed.pdf")
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "bad_letter"
        assert r.json()["error"].startswith("doomed.pdf: unreadable PDF (the PDF reader died")
        for _ in range(3):
            assert post("after.pdf").status_code == 200


# -- extract --text -------------------------------------------------------------------------
def _text_and_record(cli, path: Path) -> tuple[str, dict]:
    shown = cli("extract", "--text", path, timeout=HANG)
    assert shown.returncode == 0, shown.stderr
    record = _records(cli("extract", "--compact", path, timeout=HANG))[0]
    return shown.stdout, record


def _exact_spans_hold(record: dict, text: str) -> int:
    exact = [e for e in record["evidence"] if e["match"] == "exact"]
    assert exact
    assert [e for e in exact if text[e["start"]:e["end"]] != e["quote"]] == []
    return len(exact)


@pytest.mark.skipif(not REAL_PDFS, reason=f"the published letters are not in {REAL}")
def test_text_of_a_published_letter_holds_every_exact_span(cli):
    """The published letters are AES-encrypted with an empty password: PDFium opens them."""
    import subprocess
    import sys

    path = REAL_PDFS[0]
    # bytes: no newline translation
    shown = subprocess.run([sys.executable, "-m", "extractor", "extract", "--text", path],
                           capture_output=True, timeout=HANG, check=False)
    assert shown.returncode == 0
    text = shown.stdout.decode("utf-8")
    record = _records(cli("extract", "--compact", path, timeout=HANG))[0]
    assert record["source"]["chars"] == len(text) and record["source"]["format"] == "pdf"
    assert _exact_spans_hold(record, text) >= 10


def test_text_of_a_fixture_pdf_holds_every_exact_span(cli):
    text, record = _text_and_record(cli, PDF_LETTER)
    assert "\f" in text  # pages joined by a form feed
    _exact_spans_hold(record, text)


def test_text_takes_one_file_and_reports_bad_input_in_one_line(cli, tmp_path):
    result = cli("extract", "--text", PDF_LETTER, PDF_LETTER, timeout=HANG)
    assert result.returncode == 2 and result.stdout == ""
    _one_error(result, "--text prints one letter's text: give one file")
    noise = _noise(tmp_path)
    result = cli("extract", "--text", noise, timeout=HANG)
    assert result.returncode == 2 and result.stdout == ""
    _one_error(result, f"{noise}: unreadable PDF")
