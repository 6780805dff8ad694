"""The summary page in a real browser (Chromium), from real letters: the figures it shows
equal the database's counts, and each bar's length is its rate.

The letters: the 64 published PDFs in ../shared/real-letters when they are beside the
checkout, else the published letters kept as fixtures (evals/fixtures/letters/p-*.pdf).
The expected figures are read from the database with plain SQL on `items` (not from the
views the page is drawn from), and the interval from Wilson's textbook formula.
"""

import sqlite3

import pytest
from conftest import LETTERS, ROOT
from oracles import wilson

SHARED = ROOT.parent / "shared" / "real-letters"
LETTER_FILES = sorted(SHARED.glob("*.pdf")) if SHARED.is_dir() else sorted(
    LETTERS.glob("p-*.pdf"))
MIN_N = 5  # low enough that several rates of these few letters are drawn

TABLES = """return Array.from(document.querySelectorAll('h2')).filter(h =>
  h.nextElementSibling && h.nextElementSibling.tagName === 'TABLE').map(h => [h.textContent,
  Array.from(h.nextElementSibling.rows).slice(1).map(r =>
    Array.from(r.cells).map(c => c.textContent))])"""
# Each rate chart: its bars' widths on screen and the axis labels, in the order drawn.
BARS = """const fig = arguments[0];
// bars are the filled patches; the axes' white background and its spines (fill: none) not
const bars = Array.from(fig.querySelectorAll('g[id^="patch_"] path'))
  .filter(p => !/fill: ?(none|#ffffff)/.test(p.getAttribute('style') || ''))
  .map(p => p.getBoundingClientRect().width);
const labels = Array.from(fig.querySelectorAll('g[id^="ytick_"] text'))
  .map(t => t.textContent);
return [bars, labels];"""


@pytest.fixture(scope="module")
def page(tmp_path_factory, cli_module):
    tmp = tmp_path_factory.mktemp("summary")
    db, html = tmp / "results.db", tmp / "summary.html"
    assert cli_module("batch", *LETTER_FILES, "--db", db).returncode == 0
    run = cli_module("summary", "--db", db, "--html", html, "--min-n", MIN_N)
    assert run.returncode == 0, run.stderr
    return db, html


@pytest.fixture(scope="module")
def cli_module():
    import subprocess
    import sys

    def run(*args):
        return subprocess.run([sys.executable, "-m", "extractor", *map(str, args)],
                              capture_output=True, text=True, cwd=ROOT, timeout=600)
    return run


def _counts(db, label_sql: str, where: str = "1") -> dict[str, list[int]]:
    """label -> [items, upheld, overturned, undecided], straight from `items`."""
    sql = (f"select {label_sql}, count(*), coalesce(sum(i.decision = 'upheld'), 0), "
           "coalesce(sum(i.decision = 'overturned'), 0), sum(i.decision is null) "
           f"from items i join determinations d using (sha256) where {where} group by 1")
    with sqlite3.connect(db) as c:
        return {str(row[0]): list(row[1:]) for row in c.execute(sql)}


def _expected(db) -> dict[str, dict[str, list[int]]]:
    return {
        "Overturn rate by treatment category": _counts(db, "i.category"),
        "Overturn rate by drug class": _counts(db, "i.drug_class", "i.drug_class is not null"),
        "Overturn rate by guideline (source and part)": _counts(
            db, "i.guideline_source || coalesce(': ' || i.guideline_part, '')",
            "i.guideline_source is not null"),
        "Overturn rate by decision year": _counts(
            db, "coalesce(substr(d.decision_date, 1, 4), '(no date)')"),
        "Modified requests apart": _counts(
            db, "case when i.original_request is null then 'as requested' else 'modified' end"),
    }


def test_the_summary_page_shows_the_databases_counts_and_draws_each_rate_to_length(
        browser, page):
    db, html = page
    browser.width(1280)
    browser.driver.get(html.as_uri())
    shown = dict(browser.js(TABLES))
    expected = _expected(db)
    drawn_somewhere = False
    for title, groups in expected.items():
        rows = {r[0]: r for r in shown[title]}
        assert set(rows) == set(groups), title
        for label, (items, upheld, overturned, undecided) in groups.items():
            cells = rows[label]
            assert cells[1:5] == [str(items), str(upheld), str(overturned), str(undecided)]
            decided = upheld + overturned
            if decided < MIN_N:
                assert cells[5] == f"n<{MIN_N}", (title, label)
            else:
                low, high = wilson(overturned, decided)
                assert cells[5] == (f"{100 * overturned / decided:.1f} "
                                    f"({100 * low:.1f}–{100 * high:.1f})"), (title, label)
        figure = browser.js("const t = Array.from(document.querySelectorAll('h2')).find(h => "
                            "h.textContent === arguments[0]).nextElementSibling"
                            ".nextElementSibling; return t && t.tagName === 'FIGURE' ? t : null",
                            title)
        rated = {label: (c[2] / (c[1] + c[2]), c[1] + c[2]) for label, c in groups.items()
                 if c[1] + c[2] >= MIN_N}
        if figure is None:
            assert not rated, title  # a table with drawable rates has its chart
            continue
        widths, labels = browser.js(BARS, figure)
        # one bar per drawn rate, labelled with its n, top down in the table's order
        assert labels == [f"{label} (n={rated[label][1]})" for label in rows if label in rated]
        assert len(widths) == len(labels)
        widest = max(range(len(widths)), key=widths.__getitem__)
        top = rated[list(label for label in rows if label in rated)[widest]][0]
        for width, label in zip(widths, (label for label in rows if label in rated),
                                strict=True):
            assert abs(width / widths[widest] - rated[label][0] / top) < 0.01, (title, label)
        drawn_somewhere = True
    assert drawn_somewhere
    browser.driver.execute_script("window.scrollTo(0, 0)")
    browser.shot("summary-1280.png")
