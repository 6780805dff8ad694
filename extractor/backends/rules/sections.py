"""Where the header, credentials, summary and issues sections of a letter lie."""

from __future__ import annotations

from extractor.backends.rules.view import View
from extractor.core import lexicon as lx

SECTION_OF = lx.landmark_pattern()[1]


def find(view: View) -> dict[str, tuple[int, int]]:
    """Character ranges of header, credentials, summary and issues, by landmark.

    Each landmark is found once, wherever it is; a section runs to the next
    landmark. A missing one widens its neighbours rather than losing text: no
    credentials heading -> the reviewer is looked for before the summary; no
    summary heading -> the patient is looked for in everything before the items."""
    norm = view.norm
    found: dict[str, tuple[int, int]] = {}
    for m in view.doc.headings:  # found at ingest (core/landmarks.py)
        found.setdefault(SECTION_OF[m.group()], m.span())
    n = len(norm)
    starts = sorted(s for s, _ in found.values())

    def section(name: str, default: tuple[int, int]) -> tuple[int, int]:
        if name not in found:
            return default
        s, e = found[name]
        return e, next((x for x in starts if x > s), n)

    if "issues" in found:
        issues = section("issues", (n, n))
    else:  # the items start before their first label, after the last section heading
        after = max((e for s, e in found.values() if s < n), default=0)
        labels = lx.ITEM_LABELS.find(norm, after, n) or lx.ITEM_LABELS.find(norm, 0, n)
        issues = (_heading_before(norm, labels[0][1]), n) if labels else (n, n)
    first = starts[0] if starts else min(n, 1500)
    cred = section("credentials", (0, found.get("summary", (issues[0], 0))[0]))
    return {
        "header": (0, first),
        "credentials": cred,
        "summary": section("summary", (cred[1] if "credentials" in found else 0,
                                       found.get("issues", (issues[0],))[0])),
        "issues": issues,
    }


def _heading_before(norm: str, label_at: int) -> int:
    """Without an issues heading, items start after the sentence before the first label."""
    cut = max(norm.rfind(". ", 0, label_at), norm.rfind(": ", 0, label_at - 40))
    return cut + 2 if cut >= 0 else 0


