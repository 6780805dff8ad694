"""The reference a user compares us with: a hand-written regex scraper.

About a dozen `re.search` calls per letter (case number, dates, age, sex, the
items with their decisions and guidelines), JSON out. No normalization, no
verification, no offsets: what it finds is whatever the first match says.
`bench_rules.py` runs it in the same process, on the same letters, as the
reference for our throughput.

    python benchmarks/naive_scraper.py LETTER...    # one JSON line per letter
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

_DATE = r"(\d{1,2}[/-]\d{1,2}[/-]\d{2,4}|[A-Z][a-z]+ \d{1,2}, \d{4})"
_TO = r"(?:</b>|\*\*)?\s*"  # from a label to its value (plain, HTML or markdown bold)
# Written the way a careful user would: literal prefixes, no needless re.I, so
# the regex engine skips ahead at C speed.
PATTERNS = {
    "case_number": re.compile(r"(CM\d\d-\d{5,8})\b"),
    "date_assigned": re.compile(r"Date Assigned:" + _TO + _DATE),
    "decision_date": re.compile(r"Decision Date:" + _TO + _DATE),
    "ur_denial_date": re.compile(r"UR Denial Date:" + _TO + _DATE),
    "application_received": re.compile(r"Application Received:" + _TO + _DATE),
    "date_of_injury": re.compile(r"(?:Date of Injury:" + _TO + "|[Ii]njury on )" + _DATE),
    "age": re.compile(r"\b(\d{1,3})[- ](?:years?|yrs?)\.?[- ]old", re.I),
    "sex": re.compile(r"\b([Mm]ale|[Ff]emale)\b"),
    "priority": re.compile(r"Priority:" + _TO + "(Standard|Expedited)"),
}
# One item: its heading line "Treatment: Upheld", then the three labelled paragraphs.
ITEMS = re.compile(r"\n[*\s]*([^\n:*]{3,200}?)\**:\**\s*(Upheld|Overturned)\b")
CA_GUIDELINE = re.compile(r"Claims Administrator guideline:\**\s*([^\n]+)")
MAXIMUS_GUIDELINE = re.compile(r"MAXIMUS guideline:\**\s*([^\n]+)")


def scrape(text: str) -> dict:
    """One letter's text -> a dict of the first match of each pattern."""
    record: dict = {}
    for name, pattern in PATTERNS.items():
        m = pattern.search(text)
        record[name] = m.group(1) if m else None
    items = ITEMS.search(text)
    ca, mx = CA_GUIDELINE.search(text), MAXIMUS_GUIDELINE.search(text)
    record["items"] = [] if items is None else [{
        "treatment": items.group(1).strip(),
        "decision": items.group(2).lower(),
        "claims_administrator_guideline": ca.group(1).strip() if ca else None,
        "maximus_guideline": mx.group(1).strip() if mx else None,
    }]
    return record


def scrape_bytes(data: bytes) -> str:
    """What a scraper run does per file: decode, search, one JSON line."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    return json.dumps(scrape(text), ensure_ascii=False)


def main(paths: list[str]) -> None:
    for path in paths:
        print(scrape_bytes(Path(path).read_bytes()))


if __name__ == "__main__":
    main(sys.argv[1:])
