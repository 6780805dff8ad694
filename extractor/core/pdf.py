"""PDF -> text with PDFium (pypdfium2), in a reader process of its own.

PDFium is native code: a hostile file can make it allocate without bound (a content
stream that inflates to hundreds of MB of drawing operators took 2 GB and 8 s) or crash
it. So the process that asks for a PDF's text never runs PDFium itself: `text()` hands
the bytes to a long-lived reader process (this file run as a script) whose address space
is capped (`--pdf-memory`) and whose every file has a wall-clock limit (`--pdf-timeout`).
When the reader runs out of memory (PDFium aborts), crashes or overruns, that letter
gets a one-line `PdfError` and the next PDF starts a fresh reader; the caller (a CLI run,
a batch worker, a server worker) carries on.

`read_text()` is the extraction itself, in the calling process: the reader runs it, and so
do the eval scripts on our own fixtures. pypdfium2 is not thread-safe, so every PDFium
call is made holding `_LOCK`; the reader's pipe is used under the same lock.

The text: `get_text_range()` per page, "\\r\\n" -> "\\n", U+FFFE (PDFium's mark for a
hyphen at a line end) -> "-", pages joined with "\\n\\f" (a form feed is page furniture
for the rest of the code).

This module imports nothing from `extractor`: the reader runs it as a plain script.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import signal
import struct
import subprocess
import sys
import threading
import time

# Defaults of the reader's limits; `--pdf-memory` / `--pdf-timeout` (or these environment
# variables, which the CLI sets so that batch and server workers' readers see them too).
MEMORY_ENV, TIMEOUT_ENV = "IMR_EXTRACT_PDF_MEMORY", "IMR_EXTRACT_PDF_TIMEOUT"
DEFAULT_MEMORY_MB = 768   # MB of address space for the reader (the real letters need ~60 MB)
DEFAULT_TIMEOUT = 20.0    # seconds for one PDF (the real letters take ~5 ms)


def _limit(env: str, default: float) -> float:
    try:
        value = float(os.environ.get(env, default))
    except ValueError:
        return default
    return value if value > 0 else default


def memory_limit() -> int:
    """Bytes of address space the reader may use."""
    return int(_limit(MEMORY_ENV, DEFAULT_MEMORY_MB)) << 20


def timeout() -> float:
    """Seconds the reader may take for one PDF."""
    return _limit(TIMEOUT_ENV, DEFAULT_TIMEOUT)


PAGE_SEP = "\n\f"
CRASH_ENV = "IMR_EXTRACT_TEST_CRASH_ON"  # TEST-ONLY: see _test_crash

_LOCK = threading.Lock()
_REQUEST = struct.Struct("<QQQ")  # name length, data length, max chars
_REPLY = struct.Struct("<BQ")     # status, payload length
_OK, _ERROR, _TOO_LONG = 0, 1, 2

_PDFIUM_ERRORS = {  # FPDF_GetLastError() after a failed load
    1: "unknown error", 2: "cannot open the file", 3: "damaged or not a PDF",
    5: "unsupported security handler", 6: "page not found or content error",
}
_PASSWORD = 4  # FPDF_ERR_PASSWORD


class PdfError(Exception):
    """A PDF we cannot read; the message is one line and never quotes the file."""


class TextTooLong(PdfError):
    """The text passed `max_chars`; reading stopped there."""


# -- the extraction (runs in the reader) --------------------------------------------------
def read_text(data: bytes, max_chars: int) -> str:
    """The PDF's text, in this process. Raises PdfError, or TextTooLong once the text
    passes max_chars."""
    import pypdfium2 as pdfium

    with _LOCK:
        _builtin_fonts_only()
        try:
            doc = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as e:
            raise PdfError(_load_error(e.err_code)) from None
        try:
            return _pages(doc, max_chars)
        finally:
            doc.close()


_fonts: list = []  # the callbacks PDFium holds, kept alive for the process's life


def _builtin_fonts_only() -> None:
    """Tell PDFium there are no system fonts: a font the PDF does not embed (the published
    letters embed none) is then one of PDFium's built-in fonts, not a system font file
    looked up and read for every document. That is ~20% of the time on the real letters,
    and the text is the same (checked on all of them and on the PDF fixtures): positions
    come from the PDF's own /Widths."""
    if _fonts:
        return
    from pypdfium2 import raw

    info = raw.FPDF_SYSFONTINFO()
    info.version = 1
    for name, kind in raw.FPDF_SYSFONTINFO._fields_:
        if name != "version":  # every callback: nothing found, nothing to free
            found = None if kind._restype_ in (None, ctypes.c_void_p) else 0
            callback = kind(lambda *args, found=found: found)
            setattr(info, name, callback)
            _fonts.append(callback)
    _fonts.append(info)
    raw.FPDF_SetSystemFontInfo(info)


def _load_error(code: int | None) -> str:
    if code == _PASSWORD:
        return "PDF is encrypted with a password; imr-extract cannot open it"
    if code == 0:  # loaded, but not one page
        return "unreadable PDF (it has no pages)"
    return f"unreadable PDF ({_PDFIUM_ERRORS.get(code, 'unknown error')})"


def _pages(doc, max_chars: int) -> str:
    import pypdfium2 as pdfium

    pages: list[str] = []
    total = -len(PAGE_SEP)
    for i in range(len(doc)):
        try:
            page = doc[i]
        except pdfium.PdfiumError:
            raise PdfError(f"unreadable PDF (page {i + 1} cannot be read)") from None
        try:
            textpage = page.get_textpage()
            try:
                # Counted before the text is copied out: a page of millions of characters
                # stops here. (The text is at least half its count: "\r\n" -> "\n".)
                if textpage.count_chars() > 2 * (max_chars + 1):
                    raise TextTooLong()
                text = textpage.get_text_range()
            finally:
                textpage.close()
        finally:
            page.close()
        text = text.replace("\r\n", "\n").replace("\ufffe", "-")
        pages.append(text)
        total += len(text) + len(PAGE_SEP)
        if total > max_chars:  # compressed streams can inflate far beyond the file
            raise TextTooLong()
    return PAGE_SEP.join(pages)


# -- the reader process -------------------------------------------------------------------
def _reader_main() -> None:
    """Serve requests on stdin until it closes: one reply per request."""
    import resource

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the caller's business
    limit = int(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    import pypdfium2  # noqa: F401  (loaded before the first request, not during it)

    inp, out = _Fd(0), _Fd(1)
    while True:
        head = _read_exactly(inp, _REQUEST.size)
        if head is None:
            return  # the caller closed the pipe (or is gone)
        name_len, data_len, max_chars = _REQUEST.unpack(head)
        name = (_read_exactly(inp, name_len) or b"").decode("utf-8", "replace")
        data = _read_exactly(inp, data_len)
        if data is None:
            return
        # The caller kills us when a file takes too long; this alarm (whose default action
        # ends the process) also covers a caller that died meanwhile.
        signal.alarm(int(float(sys.argv[2])) + 5)
        _test_crash(name)
        try:
            status, payload = _OK, read_text(data, max_chars)
        except TextTooLong:
            status, payload = _TOO_LONG, ""
        except PdfError as e:
            status, payload = _ERROR, str(e)
        except MemoryError:
            status, payload = _ERROR, f"unreadable PDF (needs more than {limit >> 20} MB of memory)"
        signal.alarm(0)
        body = payload.encode("utf-8", "surrogatepass")
        _write_all(out, _REPLY.pack(status, len(body)) + body)
        del data, payload, body


def _test_crash(name: str) -> None:
    """TEST-ONLY hook: a reader that dies mid-letter, as PDFium would on a crash. Only the
    tests set IMR_EXTRACT_TEST_CRASH_ON (a substring of a letter's file name)."""
    marker = os.environ.get(CRASH_ENV)
    if marker and marker in name:
        os.abort()


class _Fd:
    """A file descriptor read and written as it is, whatever sys.stdin/stdout wrap it in."""

    def __init__(self, fd: int):
        self.fd = fd

    def read(self, n: int) -> bytes:
        return os.read(self.fd, n)

    def write(self, data) -> int:
        return os.write(self.fd, data)


def _read_exactly(f, n: int) -> bytes | None:
    parts, left = [], n
    while left:
        chunk = f.read(min(left, 1 << 20))
        if not chunk:
            return None
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def _write_all(f, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[f.write(view):]


# -- the caller's side --------------------------------------------------------------------
class _Reader:
    """One reader process, started on first use, restarted after it dies."""

    def __init__(self):
        self.proc: subprocess.Popen | None = None
        self.pid = 0  # the process that started it: a forked child starts its own
        self.ahead: bytes | None = None  # the file sent by prefetch, its reply not yet read

    def start(self) -> None:
        if self.proc is not None and self.pid == os.getpid() and self.proc.poll() is None:
            return
        self.proc = subprocess.Popen(
            [sys.executable, "-P", os.path.abspath(__file__), str(memory_limit()),
             str(timeout())],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            bufsize=0, close_fds=True, start_new_session=True)
        self.pid = os.getpid()

    def read(self, data: bytes, max_chars: int, name: str) -> str:
        if self.ahead is not data:  # not the file prefetched: that reply is dropped
            self._drop_ahead()
            self.send(data, max_chars, name)
        self.ahead = None
        status, payload = self._collect()
        if status == _OK:
            return payload
        raise TextTooLong() if status == _TOO_LONG else PdfError(payload)

    def prefetch(self, data: bytes, max_chars: int, name: str) -> None:
        self._drop_ahead()
        self.send(data, max_chars, name)
        self.ahead = data

    def send(self, data: bytes, max_chars: int, name: str) -> None:
        """Send one request. A reader that died meanwhile shows when its reply is read."""
        self.start()
        encoded = name.encode("utf-8", "replace")
        try:
            _write_all(self.proc.stdin, _REQUEST.pack(len(encoded), len(data), max_chars)
                       + encoded)
            _write_all(self.proc.stdin, data)
        except BrokenPipeError:
            pass

    def _collect(self) -> tuple[int, str]:
        try:
            status, size = _REPLY.unpack(self._receive(self.proc, _REPLY.size))
            return status, self._receive(self.proc, size).decode("utf-8", "surrogatepass")
        except EOFError:
            raise PdfError(self._died()) from None

    def _drop_ahead(self) -> None:
        if self.ahead is not None:
            self.ahead = None
            with contextlib.suppress(PdfError):
                self._collect()

    def _receive(self, proc: subprocess.Popen, n: int) -> bytes:
        limit = timeout()
        deadline = time.monotonic() + limit
        fd, parts, left = proc.stdout.fileno(), [], n
        while left:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([fd], [], [], wait)[0]:
                self.stop()
                raise PdfError(f"unreadable PDF (reading it took longer than {limit:g} s; "
                               f"--pdf-timeout)")
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                raise EOFError
            parts.append(chunk)
            left -= len(chunk)
        return b"".join(parts)

    def _died(self) -> str:
        code = self.stop()
        how = f"{signal.Signals(-code).name}" if code and code < 0 else f"exit {code}"
        return (f"unreadable PDF (the PDF reader died on it, {how}: out of memory past "
                f"{memory_limit() >> 20} MB (--pdf-memory), or a crash in PDFium)")

    def stop(self) -> int | None:
        proc, self.proc = self.proc, None
        if proc is None or self.pid != os.getpid():
            return None
        proc.kill()
        proc.stdin.close()
        proc.stdout.close()
        return proc.wait()


_reader = _Reader()


def start() -> None:
    """Start the reader now (it imports PDFium while the caller does other work)."""
    with _LOCK:
        _reader.start()


def prefetch(data: bytes, max_chars: int, name: str = "") -> None:
    """Have the reader start on `data` now; `text()` of the same bytes object collects it."""
    with _LOCK:
        _reader.prefetch(data, max_chars, name)


def text(data: bytes, max_chars: int, name: str = "") -> str:
    """The PDF's text, read in the reader process. Raises PdfError (TextTooLong)."""
    with _LOCK:
        return _reader.read(data, max_chars, name)


if __name__ == "__main__":
    _reader_main()
