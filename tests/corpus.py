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


DATED_SOURCE = LETTERS / "v-mdheader--001_86ba345343cd3771.txt"  # acupuncture is item 2
_DECISION_DATE = b"<b>Decision Date:</b>\t01/21/2014"
_ACUPUNCTURE = b"**Acupuncture 2 times a week for 4 weeks:** Upheld"


def make_dated_letters(dest: Path, plan: list[tuple[str, str]]) -> list[Path]:
    """One letter per (decision date MM/DD/YYYY, acupuncture decision 'Upheld' or
    'Overturned'): the markdown-header variant of letter 001 with its decision date and
    its acupuncture item's decision replaced, and a unique case number. The labels are
    the plan itself (the other two items stay upheld)."""
    data = DATED_SOURCE.read_bytes()
    assert data.count(_DECISION_DATE) == 1 and data.count(_ACUPUNCTURE) == 1
    dest.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, (date, decision) in enumerate(plan):
        text = data.replace(_DECISION_DATE, _DECISION_DATE[:-10] + date.encode())
        text = text.replace(_ACUPUNCTURE, _ACUPUNCTURE[:-6] + decision.encode())
        text = _CASE.sub(b"CM15-%07d" % i, text)
        path = dest / f"dated-{i:03d}.txt"
        path.write_bytes(text)
        paths.append(path)
    return paths
