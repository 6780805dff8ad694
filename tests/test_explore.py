"""`imr-extract summary` and `imr-extract browse` on a real batch database."""

import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import BAD, LETTERS, ROOT
from corpus import make_dated_letters
from localmodel import free_port
from oracles import wilson

# Acupuncture decisions by construction (the two other items of each letter are upheld).
PLAN = [("03/02/2015", "Overturned"), ("06/11/2015", "Upheld"), ("09/30/2015", "Overturned"),
        ("12/01/2015", "Overturned"), ("05/05/2014", "Overturned"), ("07/07/2014", "Upheld")]
CP1252 = sorted(LETTERS.glob("v-cp1252--*"))  # decoded as cp1252, with a warning


@pytest.fixture(scope="module")
def corpus_db(tmp_path_factory):
    root = tmp_path_factory.mktemp("explore")
    make_dated_letters(root / "letters" / "dated", PLAN)
    for p in CP1252:
        shutil.copy(p, root / "letters")
    shutil.copytree(BAD, root / "letters" / "bad")
    db = root / "results.db"
    result = subprocess.run([sys.executable, "-m", "extractor", "batch", root / "letters",
                             "--db", db], capture_output=True, text=True, cwd=ROOT, timeout=300,
                            check=False)
    assert result.returncode == 1, result.stderr  # the bad files failed
    return root, db


def _rows(table_text: str, first: str) -> list[list[str]]:
    """Cells of the rich table rows whose first cell is `first`."""
    rows = [[c.strip() for c in line.strip("│ ").split("│")]
            for line in table_text.splitlines() if line.startswith("│")]
    return [r for r in rows if r[0] == first]


def test_summary_prints_the_corpus_and_overturn_rates_as_tables(corpus_db, cli):
    _, db = corpus_db
    result = cli("summary", "--db", db)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    letters = len(PLAN) + len(CP1252)
    assert _rows(out, "letters extracted") == [["letters extracted", str(letters)]]
    assert _rows(out, "letters failed") == [["letters failed", str(len(list(BAD.iterdir())))]]
    acupuncture = [d for _, d in PLAN]
    # six acupuncture items: fewer decided than --min-n (10), so counts only
    assert _rows(out, "acupuncture") == [[
        "acupuncture", str(len(PLAN)), str(acupuncture.count("Upheld")),
        str(acupuncture.count("Overturned")), "0", "n<10"]]
    # 2015: four letters, three items each, three acupuncture items overturned: 3 of 12,
    # with the Wilson interval an independent computation gives (tests/oracles.py)
    low, high = wilson(3, 12)
    assert _rows(out, "2015") == [["2015", "12", "9", "3", "0",
                                   f"25.0 ({100 * low:.1f}–{100 * high:.1f})"]]
    assert _rows(out, "2014") == [["2014", "6", "5", "1", "0", "n<10"]]
    shown = cli("summary", "--db", db, "--min-n", "1").stdout
    assert _rows(shown, "2014")[0][-1].startswith("16.7 (")
    assert _rows(out, "partially_overturned") == [["partially_overturned", "4"]]


def test_wilson_intervals_match_published_values():
    """Values from Newcombe (1998), table I, method 3: 81/263 -> 0.2553-0.3662,
    15/148 -> 0.0624-0.1605, 0/20 -> 0-0.1611, 1/29 -> 0.0061-0.1718."""
    from extractor.explore.summary import wilson as ours

    for (k, n), (low, high) in {(81, 263): (0.2553, 0.3662), (15, 148): (0.0624, 0.1605),
                                (0, 20): (0.0, 0.1611), (1, 29): (0.0061, 0.1718)}.items():
        got = ours(k, n)
        assert abs(got[0] - low) < 5e-5 and abs(got[1] - high) < 5e-5, (k, n, got)


def test_summary_html_is_one_private_page_of_inline_svg_charts(corpus_db, cli, tmp_path):
    _, db = corpus_db
    page = tmp_path / "s.html"
    # no category has 10 decided items here: with the default --min-n, no rate is a bar
    assert cli("summary", "--db", db, "--html", page).returncode == 0
    category = page.read_text().split("<h2>Overturn rate by treatment category</h2>")[1]
    assert not category.split("</table>", 1)[1].lstrip().startswith("<figure")
    result = cli("summary", "--db", db, "--html", page, "--min-n", "1")
    assert result.returncode == 0, result.stderr
    assert page.stat().st_mode & 0o777 == 0o600
    text = page.read_text()
    assert "<script" not in text and "<link" not in text and "src=" not in text
    assert set(re.findall(r"https?://[^\s\"']+", text)) <= {
        "http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}  # namespaces only
    # each rate table is followed by its chart; two charts stand alone
    drawn = re.findall(r"<h2>([^<]*)</h2><table>(?:(?!</table>).)*</table>\s*"
                       r"<figure class=chart>(<svg.*?</svg>)", text, re.DOTALL)
    assert [heading for heading, _ in drawn] == [
        "Overturn rate by treatment category", "Overturn rate by drug class",
        "Overturn rate by guideline (source and part)", "Overturn rate by body region",
        "Overturn rate by reviewer specialty", "Overturn rate by decision year",
        "Modified requests apart"]
    alone = re.findall(r"<section><h2>(.*?)</h2>(<svg.*?</svg>)\s*</section>", text, re.DOTALL)
    assert [heading for heading, _ in alone] == ["Decisions per year", "Most cited guidelines"]
    assert all('<g id="figure_1">' in svg for _, svg in drawn + alone)  # drawn by matplotlib
    svg = drawn[0][1]
    assert f">acupuncture (n={len(PLAN)})<" in svg  # axis labels are text, with their n
    assert 'id="LineCollection_1"' in svg  # the interval whiskers
    check = text[text.index("Letters to check"):]
    for p in [*BAD.iterdir(), *CP1252]:
        assert p.name in check, p.name  # failed ones and those with warnings


def _batch_of(cli, tmp_path, letters: dict[str, str | Path]) -> Path:
    """A results database made by a real batch over `letters` (name -> text or a file)."""
    folder = tmp_path / "letters"
    folder.mkdir()
    for name, source in letters.items():
        if isinstance(source, Path):
            shutil.copy(source, folder / name)
        else:
            (folder / name).write_text(source)
    db = tmp_path / "edge.db"
    result = cli("batch", folder, "--db", db)
    assert result.returncode in (0, 1), result.stderr
    return db


def _undecided_letter() -> str:
    """f-cutshort with no decision anywhere an item can take one from (the decision list
    says "has reviewed", the first item's closing sentence is gone): every item of the
    letter, and of its year, is undecided. The summary still states a determination."""
    text = (LETTERS / "f-cutshort--1.txt").read_text()
    text = text.replace("has determined the request", "has reviewed the request")
    text = text.replace("The request for Omeprazole 20mg #60 is\nmedically necessary and "
                        "appropriate.", "The request was reviewed.")
    return text.replace("Case Summary:", "Case Summary:\n\nThe utilization review found the "
                        "request is not medically necessary and appropriate.", 1)


EDGES = {
    "no letters": {},
    "only failures": {"recipe.txt": BAD / "recipe.txt", "binary.txt": BAD / "binary.txt"},
    "one letter": {"one.txt": LETTERS / "004_fc97f7610c159615.txt"},
    "items without a decision": {"undecided.txt": None},
}


@pytest.mark.parametrize("edge", EDGES)
def test_summary_and_its_page_run_on_any_results_database(cli, tmp_path, edge):
    letters = {k: (_undecided_letter() if v is None else v) for k, v in EDGES[edge].items()}
    db = _batch_of(cli, tmp_path, letters) if letters else tmp_path / "empty.db"
    if not letters:
        from extractor.batch.store import Store
        Store(db).close()  # a results database with no letter in it
    page = tmp_path / "s.html"
    result = cli("summary", "--db", db, "--html", page)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and page.read_text().startswith("<!doctype html>")
    if edge == "items without a decision":
        # no rate without a decided item
        assert _rows(result.stdout, "medication") == [["medication", "1", "0", "0", "1",
                                                        "n<10"]]
        assert _rows(result.stdout, "2014") == [["2014", "2", "0", "0", "2", "n<10"]]


@pytest.mark.parametrize("command", ["summary", "browse"])
def test_a_file_that_is_not_a_results_database_is_one_line_and_left_alone(cli, tmp_path,
                                                                          command):
    text = tmp_path / "notes.db"
    text.write_text("hello\n" * 200)
    other = tmp_path / "other.db"  # some other tool's SQLite file
    with sqlite3.connect(other) as c:
        c.execute("create table notes (body text)")
    before = other.read_bytes()
    for path, says in ((text, "cannot use as a results database"),
                       (other, "not a results database")):
        result = cli(command, "--db", path, "--no-open" if command == "browse" else "--top",
                     *([] if command == "browse" else ["3"]))
        assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
        assert says in result.stderr
    assert other.read_bytes() == before  # not given our tables


# -- Datasette ------------------------------------------------------------------------
def _get(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def datasette(corpus_db, tmp_path_factory):
    """`imr-extract browse` as a subprocess: the real command, the real Datasette.
    SIGTERM stops it cleanly, leaving nothing behind in its temp folder."""
    _, db = corpus_db
    port = free_port()
    tmp = tmp_path_factory.mktemp("browse-tmp")
    proc = subprocess.Popen([sys.executable, "-m", "extractor", "browse", "--db", db,
                             "--no-open", "--port", str(port)], cwd=ROOT,
                            env={**os.environ, "TMPDIR": str(tmp)},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            _get(f"{base}/-/versions.json")
            break
        except OSError:
            assert proc.poll() is None, proc.communicate()[0]
            assert time.monotonic() < deadline, "Datasette did not start"
            time.sleep(0.2)
    assert [p.stat().st_mode & 0o777 for p in tmp.glob("*/metadata.json")] == [0o600]
    yield f"{base}/{Path(db).stem}"
    proc.terminate()
    output = proc.communicate(timeout=30)[0]
    assert proc.returncode == 128 + 15 and "Traceback" not in output, output
    assert list(tmp.iterdir()) == []  # the metadata file went with it


def test_the_acupuncture_2015_canned_query_answers(datasette):
    [row] = _get(f"{datasette}/acupuncture_2015.json?_shape=array")
    in_2015 = [d for date, d in PLAN if date.endswith("2015")]
    assert len(in_2015) < 10  # too few decided items for a rate: the counts only
    assert row == {"items": len(in_2015), "overturned": in_2015.count("Overturned"),
                   "decided": len(in_2015), "overturn_pct": None, "ci_low": None,
                   "ci_high": None}


def test_every_canned_query_answers(datasette):
    from extractor.explore import queries

    for q in queries.load():
        data = _get(f"{datasette}/{q.name}.json")
        assert "rows" in data and data.get("ok", True), q.name


def test_facets_answer_the_same_question_with_clicks(datasette):
    data = _get(f"{datasette}/item_decisions.json?category=acupuncture&decision_year=2015")
    facets = data["facet_results"]
    assert {"decision", "category", "outcome", "specialty", "decision_year"} <= set(facets)
    counts = {r["value"]: r["count"] for r in facets["decision"]["results"]}
    in_2015 = [d.lower() for date, d in PLAN if date.endswith("2015")]
    assert counts == {d: in_2015.count(d) for d in set(in_2015)}
    [specialty] = facets["specialty"]["results"]
    assert specialty["value"] == "Physical Medicine and Rehabilitation"


def test_columns_are_described_from_the_field_table(datasette, cli, corpus_db):
    from extractor.core.schema import FIELDS

    _, db = corpus_db
    meta = json.loads(cli("browse", "--db", db, "--metadata").stdout)
    tables = meta["databases"]["results"]["tables"]
    for f in FIELDS.values():
        table = "items" if f.item else "determinations"
        assert tables[table]["columns"][f.column] == f.spec.description
    with sqlite3.connect(db) as c:
        view = [row[1] for row in c.execute("pragma table_info(item_decisions)")]
    assert list(tables["item_decisions"]["columns"]) == view  # each column, and only those
    served = _get(f"{datasette.rsplit('/', 1)[0]}/-/metadata.json")
    assert served["databases"]["results"]["tables"]["item_decisions"]["facets"] == \
        tables["item_decisions"]["facets"]


def test_browse_on_a_port_in_use_is_one_line(corpus_db, cli):
    _, db = corpus_db
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = cli("browse", "--db", db, "--no-open", "--port", port)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert f"cannot serve on 127.0.0.1:{port}" in result.stderr


def test_summary_html_into_a_missing_folder_is_one_line_after_the_tables(corpus_db, cli,
                                                                          tmp_path):
    _, db = corpus_db
    result = cli("summary", "--db", db, "--html", tmp_path / "missing" / "s.html")
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "No such file or directory" in result.stderr and "Traceback" not in result.stderr
    assert "letters extracted" in result.stdout  # what was already printed stands
