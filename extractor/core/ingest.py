"""Ingest: file -> Document (decoded text, format, hash, normalized index).

Offsets everywhere refer to `Document.text` exactly as decoded: no newline
translation, so `text[start:end]` is what the letter says.
"""

from __future__ import annotations

import bisect
import hashlib
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from extractor.config import DEFAULT_MAX_BYTES
from extractor.core import decode, landmarks, pdf
from extractor.core.normalize import TextIndex
from extractor.errors import IngestError

SUPPORTED = {".txt": "text", ".text": "text", ".md": "markdown", ".markdown": "markdown",
             ".html": "html", ".htm": "html", ".pdf": "pdf"}


@dataclass
class Document:
    path: str
    text: str
    sha256: str
    format: str
    warnings: list[str] = field(default_factory=list)
    furniture: list[tuple[int, int]] = field(default_factory=list)
    index: TextIndex | None = None
    headings: list[re.Match] = field(default_factory=list)  # section headings (landmarks.py)

    @property
    def chars(self) -> int:
        return len(self.text)


def load(path: str | Path, max_bytes: int = DEFAULT_MAX_BYTES) -> Document:
    return from_bytes(read(path, max_bytes), str(path), max_bytes)


def load_each(paths, max_bytes: int = DEFAULT_MAX_BYTES
              ) -> Iterator[tuple[str, Document | IngestError]]:
    """(path, its Document or the IngestError it gets) for each path, in order. While the
    caller works on one letter, the next one's PDF is already being read (pdf.prefetch):
    PDFium runs in its reader process alongside the caller's rules."""
    paths = list(paths)
    nxt = _read_ahead(paths[0], max_bytes) if paths else None
    for i, path in enumerate(paths):
        data = nxt
        nxt = _read_ahead(paths[i + 1], max_bytes) if i + 1 < len(paths) else None
        try:
            if isinstance(data, IngestError):
                raise data
            doc = from_bytes(data, str(path), max_bytes)
        except IngestError as e:
            doc = e
        if isinstance(nxt, bytes) and _is_pdf(nxt, str(paths[i + 1])):
            pdf.prefetch(nxt, max_bytes, str(paths[i + 1]))
        yield str(path), doc


def _read_ahead(path, max_bytes: int) -> bytes | IngestError:
    try:
        return read(path, max_bytes)
    except IngestError as e:
        return e


def _is_pdf(data: bytes, path: str, fmt: str | None = None) -> bool:
    return (fmt or SUPPORTED.get(Path(path).suffix.lower())) == "pdf" or data[:5] == b"%PDF-"


def read(path: str | Path, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The bytes of a regular file of at most max_bytes. Anything else (a FIFO, a
    device, a directory) is refused from its stat, before it is opened: opening a
    FIFO blocks until a writer comes, and reading a device may never end."""
    p = str(path)
    try:
        _check_stat(p, os.stat(p), max_bytes)
        # O_NONBLOCK: if the path became a FIFO since the stat, open returns at once;
        # fstat then sees what was really opened.
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise IngestError(f"{p}: no such file") from None
    except OSError as e:
        raise IngestError(f"{p}: cannot read: {e.strerror or e}") from None
    with os.fdopen(fd, "rb") as f:
        try:
            st = os.fstat(fd)
            _check_stat(p, st, max_bytes)
            data = _read_bounded(f, st.st_size, max_bytes)
        except OSError as e:
            raise IngestError(f"{p}: cannot read: {e.strerror or e}") from None
    _check_size(p, len(data), max_bytes)
    return data


def _read_bounded(f, size: int, max_bytes: int) -> bytes:
    """At most max_bytes + 1 bytes (one more shows the file is too large). Asks for the
    size the stat gave, plus one: a read of max_bytes + 1 allocates that much (10 MB by
    default) for every letter. A file that grew since the stat is read on, still bounded."""
    data = f.read(min(size, max_bytes) + 1)
    if len(data) > size and len(data) <= max_bytes:
        data += f.read(max_bytes + 1 - len(data))
    return data


_KINDS = {stat.S_IFDIR: "is a directory", stat.S_IFIFO: "is a FIFO (named pipe)",
          stat.S_IFCHR: "is a character device", stat.S_IFBLK: "is a block device",
          stat.S_IFSOCK: "is a socket"}


def _check_stat(path: str, st: os.stat_result, max_bytes: int) -> None:
    if not stat.S_ISREG(st.st_mode):
        kind = _KINDS.get(stat.S_IFMT(st.st_mode), "is not a regular file")
        raise IngestError(f"{path}: {kind}, not a letter file")
    _check_size(path, st.st_size, max_bytes)


def _check_size(path: str, size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise IngestError(f"{path}: too large ({size:,} bytes; the limit is "
                          f"--max-bytes {max_bytes:,})")


def from_bytes(data: bytes, path: str = "<stdin>", max_bytes: int = DEFAULT_MAX_BYTES, *,
               fmt: str | None = None) -> Document:
    """`fmt` is the format when no file name says it (a request body's Content-Type)."""
    _check_size(path, len(data), max_bytes)
    if not data.strip():
        raise IngestError(f"{path}: empty file")
    warnings: list[str] = []
    if _is_pdf(data, path, fmt):
        fmt = "pdf"
        text = _pdf_text(data, path, max_bytes)
    else:
        fmt = fmt or SUPPORTED.get(Path(path).suffix.lower(), "text")
        text = decode.text(data, path, warnings)
        if fmt == "text" and _looks_like_markdown(text[:4000]):
            fmt = "markdown"
    return from_text(text, path, fmt, hashlib.sha256(data).hexdigest(), warnings)


def from_text(text: str, path: str, fmt: str, sha256: str, warnings=None) -> Document:
    doc = Document(path=path, text=text, sha256=sha256, format=fmt,
                   warnings=list(warnings or []))
    doc.furniture = find_furniture(text)
    doc.index = TextIndex.build(text, doc.furniture)
    doc.headings = landmarks.headings(text, doc.index)
    lacks = landmarks.missing(doc.index.norm, doc.headings)
    if lacks:
        raise IngestError(f"{path}: not an IMR letter (missing: {', '.join(lacks)})")
    return doc


_MD_HEADING = re.compile(r"^#{1,6} ", re.MULTILINE)


def _looks_like_markdown(head: str) -> bool:
    """A `<b>`, `**` or a `# heading` line. Substring tests first: a regex scan of
    the head for all three took a third of ingest's time."""
    return "<b>" in head or "**" in head or (
        (head.startswith("#") or "\n#" in head) and _MD_HEADING.search(head) is not None)


def _pdf_text(data: bytes, path: str, max_chars: int) -> str:
    """PDFium's text, read in a separate process bounded in memory and time (pdf.py)."""
    try:
        text = pdf.text(data, max_chars, path)
    except pdf.TextTooLong:
        raise IngestError(f"{path}: text too long (over {max_chars:,} characters; "
                          f"the limit is --max-bytes)") from None
    except pdf.PdfError as e:
        raise IngestError(f"{path}: {e}") from None
    if not text.strip():
        raise IngestError(f"{path}: PDF has no extractable text (scanned image?)")
    return text


# -- page furniture -------------------------------------------------------
# Only lines around a page break count as furniture; a lone number elsewhere
# might be content, so it is left alone.
_LINE = re.compile(r"[^\n]*(?:\n|$)")
_PAGE_OF = re.compile(r"^\s*page\s+\d+\s+of\s+\d+\s*$", re.IGNORECASE)
_PAGE_MARK = re.compile(r"^\s*(?:Page\s+\d+(?:\s+of\s+\d+)?|-\s*\d+\s*-"
                        r"|\d{1,3}(?:\s*/\s*\d{1,3})?)\s*$", re.IGNORECASE)
# The pre-check: "Page N of M" alone on a line anywhere. [^\S\n] (whitespace but not a
# line break) keeps each try inside one line; with \s, every line start of 50,000
# blank lines would scan all the blank lines after it (quadratic).
_ANY_PAGE_OF = re.compile(r"^[^\S\n]*page[^\S\n]+\d+[^\S\n]+of[^\S\n]+\d+[^\S\n]*$",
                          re.IGNORECASE | re.MULTILINE)
_REACH = 6  # lines either side of a page break that may hold furniture


def find_furniture(text: str) -> list[tuple[int, int]]:
    """Raw spans of page furniture: form feeds, page numbers, and a short line
    repeated on several pages (a case id), but only near a page break."""
    if "\f" not in text and not _ANY_PAGE_OF.search(text):
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
        repeated = counts[s] >= 2 and len(s) <= 60 and _identifier(s)
        if not s or _PAGE_MARK.match(s) or repeated:
            spans.append((start, start + len(line.rstrip("\r\n"))))
    return spans


def _identifier(line: str) -> bool:
    """A repeated line is furniture only if it looks like an identifier (a case number
    printed on every page): one word with a digit, not ending in punctuation. A word
    such as "necessary." that ends a sentence on several pages, one of them just after a
    page break, is text."""
    return " " not in line and line[-1:].isalnum() and any(ch.isdigit() for ch in line)
