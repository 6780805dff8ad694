"""Bytes -> text, keeping whatever is valid.

  * A byte-order mark decides the encoding: UTF-8, UTF-16 LE/BE, UTF-32 LE/BE.
  * Otherwise UTF-8. A few invalid sequences (a stray byte) become U+FFFD, with a
    warning that says how many; the rest of the letter is untouched.
  * cp1252 only when the text clearly is cp1252: not one valid UTF-8 multi-byte
    sequence anywhere, and every byte defined in cp1252.
  * NUL bytes without a UTF-16/32 mark, many control characters, or more than
    5% invalid sequences: not text, an IngestError.
"""

from __future__ import annotations

import codecs
import re

from extractor.errors import IngestError

BOMS = [(codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be")]  # UTF-32 LE first: its mark starts like UTF-16's
MAX_BAD_SHARE = 0.05
# One well-formed UTF-8 sequence of two to four bytes (fixed lengths: linear).
_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
    rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
    rb"|\xf4[\x80-\x8f][\x80-\xbf]{2}")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


def text(data: bytes, path: str, warnings: list[str]) -> str:
    """The decoded text; a warning is appended for anything not taken as written."""
    for bom, encoding in BOMS:
        if data.startswith(bom):
            out = _keep_valid(data[len(bom):], encoding, path, warnings)
            break
    else:
        if b"\x00" in data[:8192]:
            raise IngestError(f"{path}: binary file, not text")
        out = _utf8_or_cp1252(data, path, warnings)
    if _control_share(out) > 0.05:
        raise IngestError(f"{path}: binary file, not text")
    return out


def _utf8_or_cp1252(data: bytes, path: str, warnings: list[str]) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if not _UTF8_MULTIBYTE.search(data):
        try:
            out = data.decode("cp1252")
        except UnicodeDecodeError:
            pass  # bytes cp1252 leaves undefined: not cp1252 either
        else:
            warnings.append("not valid UTF-8; decoded as cp1252")
            return out
    return _keep_valid(data, "utf-8", path, warnings)


def _keep_valid(data: bytes, encoding: str, path: str, warnings: list[str]) -> str:
    out = data.decode(encoding, errors="replace")
    # each invalid sequence is one U+FFFD in `out` and nothing when ignored
    bad = len(out) - len(data.decode(encoding, errors="ignore"))
    if not bad:
        return out
    name = encoding.upper().removesuffix("-LE").removesuffix("-BE")
    if bad > MAX_BAD_SHARE * max(1, len(out)):
        raise IngestError(f"{path}: undecodable bytes (neither {name} nor cp1252: "
                          f"{bad:,} invalid sequences)")
    warnings.append(f"{bad:,} invalid {name} byte sequence{'s' if bad > 1 else ''} "
                    "replaced with U+FFFD")
    return out


def _control_share(text: str) -> float:
    sample = text[:8192]
    return len(_CONTROL.findall(sample)) / max(1, len(sample))
