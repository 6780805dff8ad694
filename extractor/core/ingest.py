"""Ingest: file -> Document (decoded text, format, hash, normalized index).

Offsets everywhere refer to `Document.text` exactly as decoded: no newline
translation, so `text[start:end]` is what the letter says.
"""

from __future__ import annotations

from extractor.errors import IngestError

import bisect
import hashlib
import io
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from extractor.core.normalize import TextIndex

SUPPORTED = {".txt": "text", ".text": "text", ".md": "markdown", ".markdown": "markdown",
             ".html": "html", ".htm": "html", ".pdf": "pdf"}

# Any one of these marks a document as an IMR letter.
LANDMARKS = re.compile(
    r"HOW THE IMR FINAL DETERMINATION WAS MADE|CLINICAL CASE SUMMARY|"
    r"IMR ISSUES,? DECISIONS AND RATIONALES|IMR DECISION\(S\) AND RATIONALE\(S\)|"
    r"Claims Administrator guideline|MAXIMUS guideline|Decision rationale|"
    r"Independent Medical Review|MAXIMUS Federal Services",
    re.IGNORECASE,
)


# pypdf logs its complaints about damaged files; they become our one-line error
# instead. Set once, not per call: batch threads read PDFs concurrently.
logging.getLogger("pypdf").setLevel(logging.CRITICAL)




@dataclass
class Document:
    path: str
    text: str
    sha256: str
    format: str
    warnings: list[str] = field(default_factory=list)
    furniture: list[tuple[int, int]] = field(default_factory=list)
    index: TextIndex | None = None

    @property
    def chars(self) -> int:
        return len(self.text)


def load(path: str | Path) -> Document:
    p = Path(path)
    if not p.exists():
        raise IngestError(f"{p}: no such file")
    if p.is_dir():
        raise IngestError(f"{p}: is a directory")
    try:
        data = p.read_bytes()
    except OSError as e:
        raise IngestError(f"{p}: cannot read: {e.strerror or e}") from None
    return from_bytes(data, str(p))


def from_bytes(data: bytes, path: str = "<stdin>", *, fmt: str | None = None) -> Document:
    """`fmt` is the format when no file name says it (a request body's Content-Type)."""
    if not data.strip():
        raise IngestError(f"{path}: empty file")
    fmt = fmt or SUPPORTED.get(Path(path).suffix.lower(), "text")
    warnings: list[str] = []
    if fmt == "pdf" or data[:5] == b"%PDF-":
        fmt = "pdf"
        text = _pdf_text(data, path)
    else:
        text = _decode(data, path, warnings)
        if fmt == "text" and re.search(r"<b>|^#{1,6} |\*\*", text[:4000], re.MULTILINE):
            fmt = "markdown"
    return from_text(text, path, fmt, hashlib.sha256(data).hexdigest(), warnings)


def from_text(text: str, path: str, fmt: str, sha256: str, warnings=None) -> Document:
    doc = Document(path=path, text=text, sha256=sha256, format=fmt,
                   warnings=list(warnings or []))
    doc.furniture = find_furniture(text)
    doc.index = TextIndex.build(text, doc.furniture)
    if not LANDMARKS.search(doc.index.norm):
        raise IngestError(f"{path}: not an IMR letter (none of its section headings or labels found)")
    return doc


def _decode(data: bytes, path: str, warnings: list[str]) -> str:
    if b"\x00" in data[:8192]:
        raise IngestError(f"{path}: binary file, not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            raise IngestError(f"{path}: undecodable bytes (neither UTF-8 nor cp1252)") from None
        warnings.append("not valid UTF-8; decoded as cp1252")
    if _control_share(text) > 0.05:
        raise IngestError(f"{path}: binary file, not text")
    return text


_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


def _control_share(text: str) -> float:
    sample = text[:8192]
    return len(_CONTROL.findall(sample)) / max(1, len(sample))


def _pdf_text(data: bytes, path: str) -> str:
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
    except Exception as e:  # pypdf raises many kinds on damaged files
        detail = str(e).splitlines()[0][:80] if str(e) else type(e).__name__
        raise IngestError(f"{path}: unreadable PDF ({detail})") from None
    text = "\n\f".join(pages)
    if not text.strip():
        raise IngestError(f"{path}: PDF has no extractable text (scanned image?)")
    return text


# -- page furniture -------------------------------------------------------
# Only lines around a page break count as furniture; a lone number elsewhere
# might be content, so it is left alone.
_LINE = re.compile(r"[^\n]*(?:\n|$)")
_PAGE_OF = re.compile(r"^\s*page\s+\d+\s+of\s+\d+\s*$", re.IGNORECASE)
_PAGE_MARK = re.compile(r"^\s*(?:Page\s+\d+(?:\s+of\s+\d+)?|-\s*\d+\s*-|\d{1,3}(?:\s*/\s*\d{1,3})?)\s*$",
                        re.IGNORECASE)
_REACH = 6  # lines either side of a page break that may hold furniture


def find_furniture(text: str) -> list[tuple[int, int]]:
    """Raw spans of page furniture: form feeds, page numbers, and a short line
    repeated on several pages (a case id), but only near a page break."""
    if "\f" not in text and not re.search(r"(?im)^\s*page\s+\d+\s+of\s+\d+\s*$", text):
        return []
    lines = [(m.start(), m.group()) for m in _LINE.finditer(text) if m.group()]
    stripped = [line.strip() for _, line in lines]
    breaks = [i for i, (_, line) in enumerate(lines)
              if "\f" in line or _PAGE_OF.match(line.strip("\f"))]
    counts: dict[str, int] = {}
    for s in stripped:
        counts[s] = counts.get(s, 0) + 1
    spans = []
    for i, (start, line) in enumerate(lines):
        s = stripped[i]
        if not s and "\f" not in line:
            continue
        k = bisect.bisect_left(breaks, i - _REACH)
        if k == len(breaks) or breaks[k] > i + _REACH:
            continue
        repeated = counts[s] >= 2 and len(s) <= 60 and " " not in s
        if not s or _PAGE_MARK.match(s) or repeated:
            spans.append((start, start + len(line.rstrip("\r\n"))))
    return spans
