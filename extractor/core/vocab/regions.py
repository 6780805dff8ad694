"""The body region a treatment names ("MRI of the lumbar spine" -> lumbar_spine).

One keyword table; the region named first in the treatment wins. Every alternative
starts at a word boundary, so the search is linear.
"""

from __future__ import annotations

import re
from functools import lru_cache

# (region, pattern): the order of regions is the order of the schema's Literal.
TABLE: list[tuple[str, str]] = [
    ("cervical_spine", r"cervical|neck|c-spine|C[1-7](?:-[C1-7]{1,2})?\b|cervicothoracic"),
    ("thoracic_spine", r"thoracic|t-spine|mid[- ]back|upper back"),
    ("lumbar_spine", r"lumbar|lumbosacral|low(?:er)? back|l-spine|L[1-5](?:-(?:L?[1-5]|S1))?\b|"
                     r"sacroiliac|SI joint"),
    ("shoulder", r"shoulders?|rotator cuff|subacromial|acromio\w*|glenohumeral|clavic\w*"),
    ("elbow", r"elbows?|epicondyl\w*|olecranon|cubital"),
    ("wrist_hand", r"wrists?|hands?|fingers?|thumbs?|carpal|digits?|trigger finger|de quervain"),
    ("hip", r"hips?|acetabul\w*|femoral head|groin"),
    ("knee", r"knees?|patell\w*|menisc\w*|ACL|anterior cruciate|tibial plateau"),
    ("ankle_foot", r"ankles?|foot|feet|heels?|toes?|plantar|achilles|tarsal"),
    ("upper_extremity", r"upper extremit(?:y|ies)|arms?|forearms?|RUE|LUE|BUE"),
    ("lower_extremity", r"lower extremit(?:y|ies)|legs?|thighs?|RLE|LLE|BLE"),
    ("head", r"head|brain|cranial|skull|face|facial|jaw|TMJ"),
    ("trunk", r"chest|abdom\w*|pelvis|pelvic|hernia|ribs?"),
]
REGIONS = tuple(region for region, _ in TABLE)
_PATTERN = re.compile("|".join(rf"\b(?P<{r}>{p})\b" for r, p in TABLE), re.I)


@lru_cache(maxsize=4096)
def region(treatment: str) -> tuple[str, tuple[int, int]] | None:
    """(region, span of the words that name it) for the first region named, or None."""
    m = _PATTERN.search(treatment)
    if m is None:
        return None
    return m.lastgroup, m.span()
