"""Dates as letters write them: 05-16-2008, 9/26/12, 3/9/09, July 17, 2012, Jan. 5, 2014."""

from __future__ import annotations

import datetime as dt
import re

_MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}

DATE = re.compile(
    r"(?<![\d/-])(?P<m>\d{1,2})[/-](?P<d>\d{1,2})[/-](?P<y>\d{4}|\d{2})(?![\d/-])"
    r"|(?P<mon>(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?)\s+"
    r"(?P<d2>\d{1,2}),?\s+(?P<y2>\d{4})"
    r"|(?<!\d)(?P<y3>\d{4})-(?P<m3>\d{2})-(?P<d3>\d{2})(?!\d)",
)


def _iso(m: re.Match) -> str | None:
    try:
        if m.group("y3"):
            d = dt.date(int(m.group("y3")), int(m.group("m3")), int(m.group("d3")))
        elif m.group("mon"):
            month = _MONTHS.get(m.group("mon")[:3].lower())
            if month is None:
                return None
            d = dt.date(int(m.group("y2")), month, int(m.group("d2")))
        else:
            year = int(m.group("y"))
            if year < 100:  # injuries go back decades; letters are 2013 on
                year += 2000 if year <= 40 else 1900
            d = dt.date(year, int(m.group("m")), int(m.group("d")))
    except ValueError:
        return None
    return d.isoformat()


def find_dates(text: str) -> list[tuple[str, re.Match]]:
    """Every valid date written in text, as (ISO date, match)."""
    out = []
    for m in DATE.finditer(text):
        iso = _iso(m)
        if iso:
            out.append((iso, m))
    return out


def dates_in(text: str) -> set[str]:
    return {iso for iso, _ in find_dates(text)}


def is_iso(value: object) -> bool:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True
