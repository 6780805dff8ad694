"""`imr-extract summary`: the corpus at a glance, from the store's views.

In the terminal: letters, items, the outcome split, and a rate table per rate view
(rates.py: by treatment category, drug class, drug, guideline, body region, specialty,
year, modified request), as rich tables. With `--html`: one self-contained page, each
rate table with its chart, drawn by matplotlib as inline SVG (no script, no CDN).
"""

from __future__ import annotations

import html
import io
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

from extractor.errors import UsageError
from extractor.explore.rates import RATES
from extractor.privacy import write_private

TOP_GUIDELINES = 10  # default of --top
MIN_N = 10           # default of --min-n: fewer decided items than this show counts only
Z95 = 1.959963984540054  # the normal quantile of a two-sided 95% interval


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion, as fractions (0 to 1). Unlike the
    normal approximation it stays inside [0, 1] and is honest for small n and for rates
    near 0 or 1 (Wilson 1927)."""
    if n <= 0:
        raise ValueError("no trials")
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass
class Summary:
    """Every figure the terminal and the page show, read once from the database."""

    letters: dict[str, int]                 # status -> letters
    items: int
    outcomes: list[tuple]                   # (outcome, letters)
    # key of RATES -> rate rows: (label, items, upheld, overturned, undecided)
    rates: dict[str, list[tuple]] = field(default_factory=dict)
    guidelines: list[tuple] = field(default_factory=list)   # the most cited: a rate row each
    to_check: list[tuple] = field(default_factory=list)     # (path, status, items, warnings)
    min_n: int = MIN_N  # a rate needs this many decided items to be shown


def read(conn: sqlite3.Connection, top: int = TOP_GUIDELINES, min_n: int = MIN_N,
         by: tuple[str, ...] = ()) -> Summary:
    """The figures; `by` names the rate tables to read (RATES keys) [default: all]."""
    q = conn.execute
    rates = {key: _rate_rows(conn, view) for key, _, _, view in RATES if not by or key in by}
    return Summary(
        min_n=min_n,
        letters=dict(q("select status, count(*) from letters group by status")),
        items=q("select count(*) from item_decisions").fetchone()[0],
        outcomes=q("select coalesce(outcome, '(none)'), count(*) from letters_overview "
                   "where status = 'done' group by outcome order by count(*) desc, 1").fetchall(),
        rates=rates,
        # the chart of the most cited: "none" (no evidence cited) is not a guideline
        guidelines=sorted((r for r in rates.get("guideline", []) if r[0] != "none"),
                          key=lambda r: -r[1])[:top],
        to_check=q("select path, status, coalesce(items, 0), coalesce(warnings, 0) "
                   "from letters_overview where status = 'failed' or items = 0 or warnings > 0 "
                   "order by path").fetchall(),
    )


def _rate_rows(conn: sqlite3.Connection, view: str) -> list[tuple]:
    """(label, items, upheld, overturned, undecided) of each row of a rate view; the label
    joins the view's label columns (those before `items`): "odg: Low Back"."""
    cursor = conn.execute(f"select * from {view}")
    names = [d[0] for d in cursor.description]
    at = names.index("items")
    pick = [names.index(c) for c in ("items", "upheld", "overturned", "undecided")]
    return [(": ".join(str(v) for v in row[:at] if v is not None) or "(none)",
             *(row[i] for i in pick)) for row in cursor]


def rate(row: tuple, min_n: int) -> tuple[float, float, float] | None:
    """(overturn %, low %, high %) of a rate row, the interval Wilson's at 95%; None when
    fewer than `min_n` of its items are decided (then only its counts are shown)."""
    _, _, upheld, overturned, _ = row
    decided = upheld + overturned
    if decided < max(1, min_n):
        return None
    low, high = wilson(overturned, decided)
    return 100 * overturned / decided, 100 * low, 100 * high


def _rate_cells(row: tuple, min_n: int) -> tuple:
    r = rate(row, min_n)
    shown = f"{r[0]:.1f} ({r[1]:.1f}–{r[2]:.1f})" if r else f"n<{min_n}"
    return (*row, shown)


# -- terminal -------------------------------------------------------------------------
RATE_HEADERS = ("items", "upheld", "overturned", "undecided", "overturn % (95% CI)")


def tables(s: Summary) -> list[Table]:
    done, failed = s.letters.get("done", 0), s.letters.get("failed", 0)
    corpus = _table("Corpus", ("", "count"), [("letters extracted", done),
                                               ("letters failed", failed), ("items", s.items)])
    outcomes = _table("Outcome per letter", ("outcome", "letters"), s.outcomes)
    return [corpus, outcomes, *(
        _table(title, (first, *RATE_HEADERS), [_rate_cells(r, s.min_n) for r in s.rates[key]])
        for key, title, first, _ in RATES if s.rates.get(key))]


def _table(title: str, headers: tuple[str, ...], rows) -> Table:
    table = Table(title=title, title_justify="left")
    for i, header in enumerate(headers):
        table.add_column(header, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    return table


def print_tables(s: Summary, console: Console) -> None:
    for table in tables(s):
        console.print(table)


# -- the page -------------------------------------------------------------------------
def _pyplot_free_figure(height: float, width: float = 8):
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise UsageError("summary --html needs matplotlib: "
                         "pip install 'imr-extract[browse]'") from None
    return Figure(figsize=(width, height), layout="constrained")


def _svg(fig) -> str:
    import matplotlib

    buf = io.StringIO()
    # text stays text (small, searchable); no date or RDF block, so a page is reproducible
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "imr-extract"}):
        fig.savefig(buf, format="svg",
                    metadata={"Creator": None, "Date": None, "Format": None, "Type": None})
    text = buf.getvalue()
    return text[text.index("<svg"):]  # inline: no XML prolog or doctype


def _barh(labels, series: dict[str, list], title: str, xlabel: str, whiskers=None) -> str:
    """Horizontal bars, stacked when there are several series; labels read top down.
    `whiskers`: (low, high) of each bar of a single series, drawn as an error bar."""
    fig = _pyplot_free_figure(max(1.6, 0.35 * len(labels) + 1.1), width=10)
    ax = fig.add_subplot()
    left = [0] * len(labels)
    y = list(range(len(labels)))[::-1]
    for name, values in series.items():
        xerr = None
        if whiskers:
            # (clamped: at 0% or 100% the bound equals the rate but for rounding)
            xerr = [[max(0.0, v - lo) for v, (lo, _) in zip(values, whiskers, strict=True)],
                    [max(0.0, hi - v) for v, (_, hi) in zip(values, whiskers, strict=True)]]
        ax.barh(y, values, left=left, label=name, xerr=xerr, capsize=3 if xerr else 0)
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.set_yticks(y, [_short(str(label)) for label in labels])
    ax.set_title(title, loc="left")
    ax.set_xlabel(xlabel)
    if len(series) > 1:
        ax.legend(loc="lower right")
    return _svg(fig)


def _columns(labels, series: dict[str, list], title: str, ylabel: str) -> str:
    fig = _pyplot_free_figure(3.2)
    ax = fig.add_subplot()
    bottom = [0] * len(labels)
    for name, values in series.items():
        ax.bar([str(label) for label in labels], values, bottom=bottom, label=name)
        bottom = [a + b for a, b in zip(bottom, values, strict=True)]
    ax.set_title(title, loc="left")
    ax.set_ylabel(ylabel)
    ax.legend()
    return _svg(fig)


def _short(label: str, width: int = 70) -> str:
    return label if len(label) <= width else label[:width - 1] + "…"


CHARTED = ("category", "drug-class", "guideline", "body-region", "specialty", "year", "request")


def charts(s: Summary) -> list[tuple[str, str]]:
    """(heading, inline SVG) for each chart; a chart with no data is left out. A rate is
    drawn only from at least --min-n decided items, with its 95% Wilson interval."""
    out = []
    titles = {key: title for key, title, *_ in RATES}
    for key in CHARTED:
        rated = [(r, x) for r in s.rates.get(key, []) if (x := rate(r, s.min_n))]
        if rated:
            out.append((titles[key], _barh(
                [f"{r[0]} (n={r[2] + r[3]})" for r, _ in rated],
                {"overturn %": [x[0] for _, x in rated]},
                f"Overturned items, % of decided items, with 95% Wilson intervals (at least "
                f"{s.min_n} decided items)", "overturn %",
                whiskers=[(x[1], x[2]) for _, x in rated])))
    years = s.rates.get("year", [])
    if years:
        out.append(("Decisions per year", _columns(
            [r[0] for r in years], _stacked(years),
            "Item decisions by year of the decision date", "items")))
    if s.guidelines:
        out.append(("Most cited guidelines", _barh(
            [r[0] for r in s.guidelines], _stacked(s.guidelines),
            f"The {len(s.guidelines)} most cited guidelines (source and part) of the "
            "reviewers' decisions", "items citing it")))
    return out


def _stacked(rows: list[tuple]) -> dict[str, list[int]]:
    return {"upheld": [r[2] for r in rows], "overturned": [r[3] for r in rows],
            "undecided": [r[4] for r in rows]}


STYLE = """body{font:15px/1.45 system-ui,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222}h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0}td,th{border-bottom:1px solid #ddd;
padding:.25em .8em;text-align:right}td:first-child,th:first-child{text-align:left}
svg{max-width:100%;height:auto}.charts section{margin-bottom:1.5em}"""


def html_page(s: Summary, title: str) -> str:
    head = (f"<!doctype html><html lang=en><head><meta charset=utf-8>"
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>")
    parts = [head, f"<h1>{html.escape(title)}</h1>"]
    drawn = dict(charts(s))
    for table in tables(s):  # a rate table, then its chart
        parts.append(_html_table(str(table.title), [c.header for c in table.columns],
                                 _rows_of(table)))
        if str(table.title) in drawn:
            parts.append(f"<figure class=chart>{drawn.pop(str(table.title))}</figure>")
    parts.append("<div class=charts>")
    for heading, svg in drawn.items():
        parts.append(f"<section><h2>{html.escape(heading)}</h2>{svg}</section>")
    parts.append("</div>")
    parts.append(_html_table(f"Letters to check: failed, no items or warnings ({len(s.to_check)})",
                             ["path", "status", "items", "warnings"], s.to_check))
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _rows_of(table: Table) -> list[list[str]]:
    cells = [list(column.cells) for column in table.columns]
    return [list(row) for row in zip(*cells, strict=True)]


def _html_table(title: str, headers, rows) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
                   for row in rows)
    return f"<h2>{html.escape(title)}</h2><table><tr>{head}</tr>{body}</table>"


def write_page(s: Summary, path: str | Path, title: str) -> None:
    """The page, readable by the user only (it names letter files)."""
    write_private(path, html_page(s, title))
