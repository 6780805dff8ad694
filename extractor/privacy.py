"""What may leave the process. Letters are medical records and URLs may carry secrets:

* `redact` takes credentials out of any text we write (stderr, the results database,
  warnings, the cache's notes): the `user:password@` of a URL, its query string
  (`?api-key=...`), and API keys (the one in use, and anything shaped like `sk-...`);
* `private_file` creates a file readable by the user only (0600). SQLite gives a
  database's -wal and -shm files the mode of the database file, so they follow.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

# scheme://user:password@host -> scheme://***@host; ?query -> ?***
_USERINFO = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]{0,20}://)[^/\s@?#]{1,1000}@")
_QUERY = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]{0,20}://[^\s?#]{1,1000})\?[^\s#]{1,4000}")
_KEY_SHAPED = re.compile(r"\bsk-[A-Za-z0-9_-]{8,200}")
_secrets: set[str] = set()


def add_secret(value: str | None) -> None:
    """Remember a secret in use (an API key) so that `redact` removes it wherever it appears."""
    if value and len(value) >= 6 and value != "not-needed":
        _secrets.add(value)


def redact(text: str) -> str:
    for secret in _secrets:
        text = text.replace(secret, "***")
    text = _USERINFO.sub(r"\1***@", text)
    text = _QUERY.sub(r"\1?***", text)
    return _KEY_SHAPED.sub("sk-***", text)


def private_file(path: str | Path) -> None:
    """Create `path` with mode 0600 if it does not exist (an existing file keeps its mode)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def open_private(path: str | Path):
    """Open `path` for writing text, readable and writable by the user only (0600, also
    when the file already existed with a wider mode): it holds medical records."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, "w", encoding="utf-8")


def write_private(path: str | Path, text: str) -> None:
    with open_private(path) as f:
        f.write(text)
