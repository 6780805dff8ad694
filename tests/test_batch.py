"""`imr-extract batch` and `export`: the real CLI as a subprocess on real SQLite files."""

import json
import os
import re
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from conftest import ALL_LETTERS, BAD, LETTERS, ROOT, gold_for
from corpus import make_dated_letters, make_letters
from oracles import wilson
from terminal import run_on_terminal

from extractor.batch.run import discover
from extractor.batch.specialty_names import canonical
from extractor.core.vocab import normalise

SUMMARY = re.compile(r"batch: (\d+) done, (\d+) skipped, (\d+) failed")


# -- helpers ------------------------------------------------------------------
def _query(db: Path, sql: str, *args) -> list[tuple]:
    with sqlite3.connect(db, timeout=30) as c:
        return c.execute(sql, args).fetchall()


def _summary(stderr: str) -> tuple[int, int, int]:
    return tuple(map(int, SUMMARY.search(stderr).groups()))


def _batch(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "extractor", "batch", *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT, timeout=600, check=False)


def _start(*args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "extractor", "batch", *map(str, args)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _wait_done(db: Path, n: int, proc: subprocess.Popen, timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"batch ended before {n} letters: {proc.communicate()}"
        try:
            done = _query(db, "select count(*) from letters where status = 'done'")[0][0]
        except sqlite3.OperationalError:  # not created yet
            done = 0
        if done >= n:
            return done
        time.sleep(0.05)
    raise AssertionError(f"fewer than {n} letters done after {timeout}s")


def _descendants(pid: int) -> list[int]:
    out = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
        children = [int(c) for t in tasks for c in (t / "children").read_text().split()]
    except OSError:
        return out
    for child in children:
        out += [child, *_descendants(child)]
    return out


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return False


def _assert_whole_letters_only(db: Path) -> None:
    """No partial letter: every row belongs to a determination that is complete."""
    assert _query(db, "pragma integrity_check") == [("ok",)]
    for table in ("items", "evidence", "rejected", "specialties", "records"):
        assert _query(db, f"select count(*) from {table} where sha256 not in "
                          "(select sha256 from determinations)") == [(0,)], table
    assert _query(db, "select count(*) from determinations where sha256 not in "
                      "(select sha256 from letters where status = 'done')") == [(0,)]
    assert _query(db, "select count(*) from letters where status = 'done' and sha256 not in "
                      "(select sha256 from determinations)") == [(0,)]
    assert _query(db, "select count(*) from determinations where sha256 not in "
                      "(select sha256 from records)") == [(0,)]
    assert _query(db, "select count(*) from determinations d join records r using (sha256) "
                      "where d.items != (select count(*) from items i where i.sha256 = d.sha256) "
                      "or json_array_length(r.record_json, '$.evidence') != "
                      "(select count(*) from evidence e where e.sha256 = d.sha256)") == [(0,)]


def _records(db: Path) -> dict[str, str]:
    return dict(_query(db, "select sha256, record_json from records"))


def _assert_each_letter_once(db: Path, letters: list[Path]) -> None:
    rows = _query(db, "select path, sha256, status from letters")
    assert sorted(r[0] for r in rows) == sorted(map(str, letters))
    assert len({r[1] for r in rows}) == len(letters)
    assert {r[2] for r in rows} == {"done"}
    _assert_whole_letters_only(db)


# -- a folder of good and bad letters ---------------------------------------------
@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """A folder with every fixture letter plus, in a subfolder, every bad input."""
    root = tmp_path_factory.mktemp("mixed")
    shutil.copytree(LETTERS, root / "letters")
    shutil.copytree(BAD, root / "letters" / "nested" / "bad")
    (root / "letters" / "notes.json").write_text("{}")  # not a letter type: ignored
    (root / "letters" / ".hidden.txt").write_text("ignored")
    return root / "letters"


@pytest.fixture(scope="module")
def mixed_db(mixed, tmp_path_factory):
    db = tmp_path_factory.mktemp("db") / "results.db"
    return db, _batch(mixed, "--db", db)


def test_a_folder_of_good_and_bad_letters_fills_the_database(mixed, mixed_db, cli):
    db, result = mixed_db
    bad = sorted(BAD.iterdir())
    assert result.returncode == 1  # some failed
    assert _summary(result.stderr) == (len(ALL_LETTERS), 0, len(bad))
    lines = result.stderr.splitlines()
    assert all(line.startswith("imr-extract: ") for line in lines)  # no progress bar off a TTY
    assert len(lines) == len(bad) + 1
    failed = dict(_query(db, "select path, error from letters where status = 'failed'"))
    for path in bad:
        copy = mixed / "nested" / "bad" / path.name
        expected = cli("extract", copy).stderr.strip().removeprefix("imr-extract: error: ")
        assert failed[str(copy)] == expected
    done = _query(db, "select count(*), sum(size) from letters where status = 'done'")[0]
    assert done == (len(ALL_LETTERS), sum(p.stat().st_size for p in ALL_LETTERS))
    assert _query(db, "select count(*) from items")[0][0] == \
        sum(len(gold_for(p)["items"]) for p in ALL_LETTERS)
    _assert_whole_letters_only(db)
    [run] = _query(db, "select status, letters, done, failed, ended is not null from runs")
    assert run == ("finished", len(ALL_LETTERS) + len(bad), len(ALL_LETTERS), len(bad), 1)


def test_export_jsonl_is_exactly_what_extract_prints(mixed, mixed_db, cli):
    db, _ = mixed_db
    exported = cli("export", "--db", db, "--format", "jsonl")
    assert exported.returncode == 0, exported.stderr
    lines = exported.stdout.splitlines()
    paths = sorted(str(mixed / p.name) for p in ALL_LETTERS)
    extracted = cli("extract", "--compact", *paths)
    assert extracted.returncode == 0, extracted.stderr
    assert lines == extracted.stdout.splitlines()


def test_export_csv_has_a_row_per_item(mixed_db, cli):
    db, _ = mixed_db
    exported = cli("export", "--db", db, "--format", "csv")
    import csv
    import io
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    # a letter with no items still has its one row (item columns empty)
    assert len(rows) == sum(max(1, len(gold_for(p)["items"])) for p in ALL_LETTERS)
    assert Counter(r["decision"] for r in rows if r["decision"]) == Counter(
        i["decision"] for p in ALL_LETTERS for i in gold_for(p)["items"])


def test_a_rerun_skips_done_letters_and_retries_failed_ones(mixed, tmp_path):
    db = tmp_path / "r.db"
    first = _batch(mixed, "--db", db)
    before = _records(db)
    again = _batch(mixed, "--db", db)
    assert (first.returncode, again.returncode) == (1, 1)
    assert _summary(again.stderr) == (0, len(ALL_LETTERS), len(list(BAD.iterdir())))
    assert _records(db) == before
    bad = len(list(BAD.iterdir()))
    assert _query(db, "select count(*) from letters") == [(len(ALL_LETTERS) + bad,)]


def test_a_failing_model_never_replaces_done_rules_results(mixed_db, tmp_path, cli):
    db = tmp_path / "r.db"
    shutil.copy(mixed_db[0], db)
    before = _records(db)
    result = cli("batch", LETTERS / "000_5af06fd8d99aadee.txt", "--db", db, "--backend", "llm",
                 "--model", "smollm2-135m", "--offline", "--cache", tmp_path / "empty-cache.db")
    assert result.returncode == 1
    assert _summary(result.stderr) == (0, 0, 1)
    assert "cache" in result.stderr.splitlines()[0]  # why it failed, in one line
    assert _records(db) == before


def test_a_terminal_gets_a_progress_bar_with_rate_and_eta(tmp_path):
    code, seen = run_on_terminal(["batch", LETTERS, "--db", tmp_path / "r.db"])
    assert code == 0
    text = seen.decode(errors="replace")
    assert f"{len(ALL_LETTERS)}/{len(ALL_LETTERS)}" in text
    assert "letters/s" in text and "ETA" in text and f"batch: {len(ALL_LETTERS)} done" in text


def test_globs_and_explicit_paths(tmp_path, cli):
    folder = tmp_path / "in"
    folder.mkdir()
    for p in ALL_LETTERS:
        shutil.copy(p, folder)
    result = cli("batch", f"{folder}/*.txt", tmp_path / "missing.txt", "--db", tmp_path / "r.db")
    assert result.returncode == 1
    txt = [p for p in ALL_LETTERS if p.suffix == ".txt"]
    assert _summary(result.stderr) == (len(txt), 0, 1)
    assert _query(tmp_path / "r.db", "select error from letters where status = 'failed'") == \
        [(f"{tmp_path / 'missing.txt'}: no such file",)]


def test_discover_walks_folders_expands_globs_and_lists_each_file_once(mixed):
    found = discover([str(mixed), str(mixed / "000_5af06fd8d99aadee.txt"),
                      f"{mixed}/**/*.pdf", "missing.txt"])
    assert found[-1] == os.path.realpath("missing.txt")  # paths are resolved
    assert len(found) == len(set(found)) == len(ALL_LETTERS) + len(list(BAD.iterdir())) + 1
    assert not any(name.endswith((".json", ".hidden.txt")) for name in found)


def test_a_database_that_is_not_sqlite_is_one_clear_line(tmp_path, cli):
    db = tmp_path / "r.db"
    db.write_text("hello\n" * 200)
    result = cli("batch", LETTERS, "--db", db)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "cannot use as a results database" in result.stderr


# -- the README queries -----------------------------------------------------------------
def _doc_commands(doc: str = "docs/queries.md") -> list[list[str]]:
    text = (ROOT / doc).read_text()
    return [shlex.split(block) for block in re.findall(r"```sh\n(.*?)```", text, re.DOTALL)
            if block.startswith("sqlite-utils")]


def _sqlite_utils(argv: list[str], db: Path) -> subprocess.CompletedProcess:
    exe = shutil.which("sqlite-utils", path=str(Path(sys.executable).parent))
    assert argv[0] == "sqlite-utils" and argv[1] == "results.db" and exe
    return subprocess.run([exe, str(db), *argv[2:]], capture_output=True, text=True, timeout=60,
                          check=False)


def _gold_items():
    for p in ALL_LETTERS:
        gold = gold_for(p)
        for i, item in enumerate(gold["items"]):
            yield p, i, item, gold


def _rate_rows(key: str, groups: dict[str, list[str]], columns=("overturned",)) -> list[dict]:
    """Rows of a rate query from the gold: label, items and the asked counts, most items
    first; `decided` counts the items with a decision."""
    rows = []
    for label, decisions in groups.items():
        row = {key: label, "items": len(decisions)}
        row |= {c: decisions.count(c) for c in columns}
        rows.append(row | {"decided": sum(d is not None for d in decisions)})
    return sorted(rows, key=lambda r: (-r["items"], r[key]))


def _grouped(label) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for _, _, item, gold in _gold_items():
        for name in label(item, gold):
            groups.setdefault(name, []).append(item["decision"])
    return groups


def _normalised(item: dict) -> dict:
    """The normalised fields of a gold item, by the vocab from its gold values (what the
    store holds, by another road than the extractor's)."""
    return {k: v[0] for k, v in normalise(item["treatment"], item["category"],
                                           item["maximus_guideline"]).items()}


def _expected_by_drug_class():
    return _rate_rows("drug_class", _grouped(
        lambda item, _: [c] if (c := _normalised(item).get("drug_class")) else []))


def _expected_by_category():
    return _rate_rows("category", _grouped(lambda item, _: [item["category"]]))


def _expected_guidelines():
    def source_part(item, _):
        found = _normalised(item)
        return [(found["guideline_source"], found.get("guideline_part"))] \
            if "guideline_source" in found else []
    rows = [{"source": sp[0], "part": sp[1]} | {k: v for k, v in r.items() if k != "sp"}
            for r in _rate_rows("sp", _grouped(source_part)) for sp in [r["sp"]]]
    return sorted(rows, key=lambda r: (-r["items"], r["source"], r["part"] or ""))[:10]


def _expected_specialties():
    return _rate_rows("specialty", _grouped(
        lambda item, gold: map(canonical, gold["reviewer"]["specialties"])),
        columns=("upheld", "overturned"))


def _expected_by_ingredient():
    return _rate_rows("ingredient", _grouped(
        lambda item, _: _normalised(item).get("ingredients", [])))


def _expected_by_request():
    return _rate_rows("request", _grouped(
        lambda item, _: ["modified" if item.get("original_request") else "as requested"]))


def _expected_rate(category: str, year: str):
    decisions = [item["decision"] for _, _, item, gold in _gold_items()
                 if item["category"] == category and (gold["decision_date"] or "")[:4] == year]
    return [{"items": len(decisions), "overturned": decisions.count("overturned"),
             "decided": sum(d is not None for d in decisions)}]


def _expected_search(folder: Path):
    word = re.compile(r"\bmyofascial\b", re.IGNORECASE)
    return sorted(({"path": str(folder / p.name), "item": i, "treatment": item["treatment"],
                    "decision": item["decision"]} for p, i, item, _ in _gold_items()
                   if word.search(item["treatment"]) or word.search(item["rationale"] or "")),
                  key=lambda r: (r["path"], r["item"]))


def _check_documented(argv: list[str], db: Path, want: list[dict], min_n: int = 10) -> None:
    table = _sqlite_utils(argv, db)  # the command exactly as documented
    assert table.returncode == 0, table.stderr
    assert argv[-1] == "--table" and len(table.stdout.splitlines()) == len(want) + 2
    got = json.loads(_sqlite_utils(argv[:-1], db).stdout)  # same SQL, JSON out
    for row in got:
        if "overturn_pct" in row:  # the rate and its interval, against an oracle
            shown = [row.pop(k) for k in ("overturn_pct", "ci_low", "ci_high")]
            if row["decided"] < min_n:
                assert shown == [None, None, None], row
            else:
                k, n = row["overturned"], row["decided"]
                for value, expected in zip(shown, (k / n, *wilson(k, n)), strict=True):
                    assert abs(value - 100 * expected) <= 0.051, (row, shown)
    assert got == want


def test_the_documented_queries_run_and_give_the_gold_answers(mixed, mixed_db):
    db, _ = mixed_db
    commands = _doc_commands()
    assert len(commands) == 8
    readme = [0, 1, 2, 3, 6]  # the README shows these (queries.toml: readme = true)
    assert _doc_commands("README.md")[:len(readme)] == [commands[i] for i in readme]
    expected = [_expected_by_drug_class(), _expected_by_category(), _expected_guidelines(),
                _expected_specialties(), _expected_by_ingredient(), _expected_by_request(),
                _expected_rate("acupuncture", "2015"), _expected_search(mixed)]
    for argv, want in zip(commands, expected, strict=True):
        _check_documented(argv, db, want)
        assert want  # every query has answers on the fixture letters
    # some rates are shown (10 or more decided), some are not
    shown = [r["decided"] >= 10 for r in _expected_by_category()]
    assert any(shown) and not all(shown)
    # two in 2014 (v-mdheader--001, g-imr2013-sentence--22), both upheld
    assert _expected_rate("acupuncture", "2014") == [{"items": 2, "overturned": 0, "decided": 2}]


@pytest.fixture(scope="module")
def dated_db(tmp_path_factory):
    """Acupuncture decided in 2014 and 2015, upheld or overturned, by construction."""
    plan = [("03/02/2015", "Overturned"), ("06/11/2015", "Upheld"), ("09/30/2015", "Overturned"),
            ("12/01/2015", "Overturned"), ("05/05/2014", "Overturned"), ("07/07/2014", "Upheld"),
            *[(f"{m:02}/15/2015", "Upheld" if m % 2 else "Overturned") for m in range(1, 8)]]
    root = tmp_path_factory.mktemp("dated")
    make_dated_letters(root / "letters", plan)
    db = root / "results.db"
    result = _batch(root / "letters", "--db", db)
    assert result.returncode == 0, result.stderr
    return db, plan


def test_overturn_rate_for_acupuncture_in_2015_is_one_query_on_one_view(dated_db):
    db, plan = dated_db
    in_2015 = [decision for date, decision in plan if date.endswith("2015")]
    [argv] = [c for c in _doc_commands() if "'acupuncture'" in c[2]]
    assert " join " not in argv[2] and "from item_decisions" in argv[2]
    assert len(in_2015) >= 10  # enough decided items for the rate to be shown
    _check_documented(argv, db, [{"items": len(in_2015), "decided": len(in_2015),
                                  "overturned": in_2015.count("Overturned")}])
    by_year = _query(db, "select year, items, overturned from overturn_by_year")
    assert by_year == [("2014", 3 * 2, 1), ("2015", 3 * len(in_2015),
                                             in_2015.count("Overturned"))]  # 3 items a letter


# -- killed, interrupted, crashed, concurrent ------------------------------------------
@pytest.fixture(scope="module")
def many(tmp_path_factory):
    folder = tmp_path_factory.mktemp("many") / "letters"
    return folder, make_letters(folder, 1500)


def test_sigkill_mid_batch_loses_nothing_and_a_rerun_completes_it(many, tmp_path, cli):
    folder, letters = many
    db = tmp_path / "r.db"
    proc = _start(folder, "--db", db)
    _wait_done(db, 100, proc)
    workers = _descendants(proc.pid)
    proc.kill()
    proc.wait()
    before = _records(db)
    assert 100 <= len(before) < len(letters)
    _assert_whole_letters_only(db)
    assert _query(db, "select status, ended from runs") == [("running", None)]
    deadline = time.monotonic() + 10
    while any(map(_alive, workers)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert workers and not any(map(_alive, workers)), "orphaned worker processes"

    result = cli("batch", folder, "--db", db)
    assert result.returncode == 0, result.stderr
    assert _summary(result.stderr) == (len(letters) - len(before), len(before), 0)
    _assert_each_letter_once(db, letters)
    after = _records(db)
    assert all(after[sha] == js for sha, js in before.items())


def test_sigkill_mid_group_loses_only_that_group_and_the_rerun_redoes_exactly_it(many, tmp_path,
                                                                                cli):
    """Groups of 40 letters, no time limit: the database only ever holds whole groups,
    and the re-run writes exactly the letters the kill lost, each once."""
    folder, letters = many
    db = tmp_path / "r.db"
    proc = _start(folder, "--db", db, "--commit-letters", 40, "--commit-seconds", 3600)
    _wait_done(db, 81, proc)  # some groups in, more letters finished and waiting
    proc.kill()
    proc.wait()
    before = _records(db)
    assert len(before) % 40 == 0 and 80 <= len(before) < len(letters)
    _assert_whole_letters_only(db)

    result = cli("batch", folder, "--db", db)
    assert result.returncode == 0, result.stderr
    assert _summary(result.stderr) == (len(letters) - len(before), len(before), 0)
    _assert_each_letter_once(db, letters)
    redone = {sha for (sha,) in _query(db, "select sha256 from letters where run_id = 2")}
    assert redone == set(_records(db)) - set(before)  # exactly the lost ones
    assert _records(db).items() >= before.items()  # what was written stays as it was


def test_a_slow_trickle_is_written_after_commit_seconds(many, tmp_path):
    """With groups too large to fill, letters still reach the database while the batch runs."""
    folder, letters = many
    db = tmp_path / "r.db"
    proc = _start(folder, "--db", db, "--commit-letters", 100_000, "--commit-seconds", 0.2,
                  "--concurrency", 1)
    try:
        assert _wait_done(db, 1, proc) < len(letters)
    finally:
        proc.kill()
        proc.wait()


def test_ctrl_c_stops_cleanly_with_one_line_and_a_rerun_completes_it(many, tmp_path, cli):
    folder, letters = many
    db = tmp_path / "r.db"
    proc = _start(folder, "--db", db)
    _wait_done(db, 100, proc)
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal does: the whole process group
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert len(err.splitlines()) == 1 and "interrupted" in err and "Traceback" not in err, err
    done = len(_records(db))
    assert done < len(letters)
    assert f"{done} done" in err
    _assert_whole_letters_only(db)
    assert _query(db, "select status from runs") == [("interrupted",)]
    result = cli("batch", folder, "--db", db)
    assert result.returncode == 0, result.stderr
    _assert_each_letter_once(db, letters)


def test_a_crashed_worker_fails_only_its_letters_and_the_batch_goes_on(many, tmp_path, cli):
    folder, letters = many
    for attempt in range(5):  # a worker killed between two letters fails none: try again
        db = tmp_path / f"r{attempt}.db"
        proc = _start(folder, "--db", db)
        _wait_done(db, 100, proc)
        workers = [gc for c in _descendants(proc.pid) for gc in _descendants(c)]
        assert workers
        os.kill(workers[0], signal.SIGKILL)
        _, err = proc.communicate(timeout=300)
        if proc.returncode != 0 or _summary(err)[2]:
            break
        assert _summary(err) == (len(letters), 0, 0), err  # idle: nothing lost either
    assert proc.returncode == 1, err
    done, _, failed = _summary(err)
    assert failed > 0 and done + failed == len(letters)
    assert "worker process died" in err
    _assert_whole_letters_only(db)
    result = cli("batch", folder, "--db", db)
    assert result.returncode == 0
    assert _summary(result.stderr) == (failed, done, 0)
    _assert_each_letter_once(db, letters)


def test_two_batches_on_one_database_at_once_each_letter_once(many, tmp_path):
    folder, letters = many
    db = tmp_path / "r.db"  # new: both also race to create the schema
    procs = [_start(folder, "--db", db, "--concurrency", "1") for _ in range(2)]
    results = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    _assert_each_letter_once(db, letters)
    runs = _query(db, "select done, skipped, started, ended from runs order by id")
    assert len(runs) == 2
    assert sum(r[0] for r in runs) == len(letters)  # no letter written twice
    assert all(r[0] + r[1] == len(letters) for r in runs)
    (_, _, s1, e1), (_, _, s2, e2) = runs
    assert s1 < e2 and s2 < e1, "the runs did not overlap"
    assert all(r[0] > 0 for r in runs), runs  # both did real work


def test_batch_counts_letters_with_warnings(cli, tmp_path):
    """An incomplete letter (no items, truncated) is done, and counted as warned."""
    import sqlite3

    from conftest import LETTERS

    db = tmp_path / "results.db"
    letters = [LETTERS / n for n in ("f-noitems--1.txt", "f-truncated--1.txt",
                                     "004_fc97f7610c159615.txt")]
    out = cli("batch", *letters, "--db", db)
    assert out.returncode == 0, out.stderr
    assert "3 done, 0 skipped, 0 failed, 2 with warnings" in out.stderr
    conn = sqlite3.connect(db)
    assert conn.execute("select warned from runs").fetchall() == [(2,)]
    warned = conn.execute("select count(*) from determinations where warnings != '[]'")
    assert warned.fetchone() == (2,)
