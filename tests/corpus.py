"""Many distinct letters from the fixture letters, for batch tests and benchmarks.

Letter i is fixture text letter (i mod k) with its case number replaced by a
unique one (or, when it has none, a unique case-id line appended), so every
file has its own sha256 while the content stays a real letter.
"""

from __future__ import annotations

import re
from pathlib import Path

LETTERS = Path(__file__).resolve().parent.parent / "evals" / "fixtures" / "letters"
_CASE = re.compile(rb"CM\d\d-\d{7}")


def make_letters(dest: Path, n: int) -> list[Path]:
    sources = [(p.name, p.read_bytes()) for p in sorted(LETTERS.glob("*.txt"))]
    dest.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        name, data = sources[i % len(sources)]
        case = b"CM%02d-%07d" % (13 + i % 5, i)
        varied, found = _CASE.subn(case, data)
        if not found:
            varied = data + b"\n" + case + b"\n"
        path = dest / f"{i:06d}-{name}"
        path.write_bytes(varied)
        paths.append(path)
    return paths
