"""Batch engines (issue 23) through the real CLI on real SQLite files: the request file,
importing an output file, and the Batch API against a fake provider (tests/fakebatchapi.py)
that serves SmolLM2-135M's recorded answers (cache/calls.db).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from batch_runner import answer_from_record, completion, output_line
from conftest import LETTERS, ROOT
from fakebatchapi import KEY, FakeBatchAPI
from fakeserver import FakeServer

from extractor.backends.model import backend as llm
from extractor.backends.rules import extract as rules_extract
from extractor.core import ingest
from extractor.core.verify import verify
from extractor.pipeline import extract_data

ORIGINALS = sorted(LETTERS.glob("00*.txt"))   # the five with recorded model answers
MODEL = ["--model", "smollm2-135m", "--mode", "json_object"]


def cli(*args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "extractor", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, **(env or {})})


def rows(db: Path, sql: str, *args) -> list[tuple]:
    with sqlite3.connect(db) as c:
        return c.execute(sql, args).fetchall()


def records(db: Path) -> dict[str, dict]:
    return {sha: json.loads(js) for sha, js in rows(db, "select sha256, record_json from records")}


def request_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def answer_all(requests: Path, out: Path, wrong: set[str] = frozenset()) -> None:
    """Answer each request as a perfect model would (the rules' verified values and
    quotes); letters in `wrong` get an age the letter does not say."""
    by_sha = {ingest.load(p).sha256: p for p in LETTERS.glob("*.txt")}
    with out.open("w") as f:
        for n, req in enumerate(request_lines(requests)):
            sha = req["custom_id"].split("-")[0]
            answer = answer_from_record(extract_data(ingest.load(by_sha[sha])))
            if sha in wrong:
                answer["patient_age"] = {"value": 142, "quote": "142 years old"}
            f.write(json.dumps(output_line(req["custom_id"], 200,
                                           completion(json.dumps(answer)), n)) + "\n")


# -- the request file -----------------------------------------------------------------
def test_request_body_is_exactly_what_the_live_call_sends(tmp_path):
    letter = ORIGINALS[4]
    with FakeServer(['{"case_number": null}'], owned_by="me") as fake:
        live = cli("extract", "--backend", "llm", *MODEL, "--base-url", fake.base_url,
                   "--no-cache", "--max-attempts", "1", letter)
        assert live.returncode == 0, live.stderr
        sent = fake.requests[0]
        out = tmp_path / "requests.jsonl"
        wrote = cli("batch", letter, "--db", tmp_path / "r.db", "--backend", "llm", *MODEL,
                    "--base-url", fake.base_url, "--no-cache", "--max-attempts", "1",
                    "--engine", "batch-file", "-o", out)
        assert wrote.returncode == 0, wrote.stderr
        assert len(fake.requests) == 1 and fake.model_lists == 0  # no server was asked
    (line,) = request_lines(out)
    assert line["body"] == sent
    assert line["method"] == "POST" and line["url"] == "/v1/chat/completions"
    sha = ingest.load(letter).sha256
    assert line["custom_id"].startswith(f"{sha}-a1-b")
    assert out.stat().st_mode & 0o777 == 0o600
    assert not list(tmp_path.glob("*.partial"))
    assert rows(tmp_path / "r.db", "select sha256, attempt, status from engine_requests") == [
        (sha, 1, "pending")]
    assert "0600" in cli("batch", "--help").stdout


def test_hybrid_requests_only_the_letters_the_rules_leave_gaps_in(tmp_path):
    # Every fixture letter leaves the rules a gap; 004 with the subspecialty it lacks,
    # written in the letter's own words, leaves none.
    complete = tmp_path / "complete.txt"
    complete.write_text(ORIGINALS[4].read_text().replace(
        "Board Certified in ABFP and is licensed",
        "Board Certified in ABFP, has a subspecialty in Pain Medicine and is licensed"))
    letters = [complete, *ORIGINALS[:3]]
    gaps = {p for p in letters if llm.missing_fields(verify(
        doc := ingest.load(p), rules_extract(doc)[0], _info()))}
    assert gaps == set(ORIGINALS[:3])
    out = tmp_path / "requests.jsonl"
    wrote = cli("batch", *letters, "--db", tmp_path / "r.db", "--backend", "hybrid", *MODEL,
                "--no-cache", "--engine", "batch-file", "-o", out)
    assert wrote.returncode == 0, wrote.stderr
    requested = {line["custom_id"].split("-")[0] for line in request_lines(out)}
    assert requested == {ingest.load(p).sha256 for p in gaps}
    # the complete one is done as a live hybrid run does it: no model call, rules only
    assert rows(tmp_path / "r.db", "select sha256, backend, prompt_tokens from determinations"
                ) == [(ingest.load(complete).sha256, "hybrid", 0)]


def _info():
    from extractor.core.schema import ExtractorInfo
    return ExtractorInfo(backend="rules")


# -- importing an output file ----------------------------------------------------------
def test_import_verifies_reasks_and_never_stores_twice(tmp_path):
    db, cache = tmp_path / "r.db", tmp_path / "calls.db"
    common = ["--db", db, "--cache", cache]
    assert cli("batch", *ORIGINALS, *common, "--backend", "llm", *MODEL, "--engine",
               "batch-file", "-o", tmp_path / "round1.jsonl").returncode == 0
    wrong = {ingest.load(ORIGINALS[0]).sha256}
    answer_all(tmp_path / "round1.jsonl", tmp_path / "out1.jsonl", wrong)
    first = cli("batch", *common, "--import-results", tmp_path / "out1.jsonl",
                "-o", tmp_path / "round2.jsonl")
    assert first.returncode == 0, first.stderr
    assert len(records(db)) == 4
    # the wrong answer is re-asked with the verifier's errors, as the live path does
    (reask,) = request_lines(tmp_path / "round2.jsonl")
    assert reask["custom_id"].split("-")[:2] == [*wrong, "a2"]
    assert "patient.age: quote not found in the letter" in reask["body"]["messages"][-1]["content"]
    assert reask["body"]["messages"][-2]["role"] == "assistant"

    tables = ("letters", "records", "items", "evidence", "rejected", "engine_requests",
              "items_fts")
    before = {t: rows(db, f"select count(*) from {t}") for t in tables}
    again = cli("batch", *common, "--import-results", tmp_path / "out1.jsonl")
    assert again.returncode == 0, again.stderr
    assert "0 answers imported" in again.stderr and "5 already imported" in again.stderr
    assert {t: rows(db, f"select count(*) from {t}") for t in tables} == before

    answer_all(tmp_path / "round2.jsonl", tmp_path / "out2.jsonl")
    assert cli("batch", *common, "--import-results", tmp_path / "out2.jsonl").returncode == 0
    assert len(records(db)) == 5
    # every answer is in the call cache under the live key: replayed with no server
    for letter in ORIGINALS:
        replay = cli("extract", "--compact", "--backend", "llm", *MODEL, "--cache", cache,
                     "--offline", letter)
        assert replay.returncode == 0, replay.stderr
        record = json.loads(replay.stdout)
        stored = records(db)[record["source"]["sha256"]]
        assert record["usage"].pop("cached") and not stored["usage"].pop("cached")
        assert record == stored
    assert stored["usage"]["attempts"] in (1, 2)


def test_a_changed_file_is_not_matched_to_the_old_answer(tmp_path):
    folder = tmp_path / "letters"
    folder.mkdir()
    for p in ORIGINALS[:2]:
        shutil.copy(p, folder / p.name)
    db = tmp_path / "r.db"
    assert cli("batch", folder, "--db", db, "--backend", "llm", *MODEL, "--no-cache",
               "--engine", "batch-file", "-o", tmp_path / "req.jsonl").returncode == 0
    answer_all(tmp_path / "req.jsonl", tmp_path / "out.jsonl")
    changed = folder / ORIGINALS[0].name
    changed.write_text(changed.read_text() + "\nAn addendum.\n")
    out = cli("batch", "--db", db, "--no-cache", "--import-results", tmp_path / "out.jsonl")
    assert out.returncode == 0, out.stderr
    assert "1 for changed files" in out.stderr
    assert set(records(db)) == {ingest.load(ORIGINALS[1]).sha256}
    assert rows(db, "select status from engine_requests where sha256 = ?",
                ingest.load(ORIGINALS[0]).sha256) == [("stale",)]


def test_bad_output_lines_are_one_line_each_and_engine_errors_fail_letters(tmp_path):
    db = tmp_path / "r.db"
    assert cli("batch", *ORIGINALS, "--db", db, "--backend", "llm", *MODEL, "--no-cache",
               "--engine", "batch-file", "-o", tmp_path / "req.jsonl").returncode == 0
    answer_all(tmp_path / "req.jsonl", tmp_path / "good.jsonl")
    good = (tmp_path / "good.jsonl").read_text().splitlines()
    cut, error = json.loads(good[1]), json.loads(good[2])
    cut["response"]["body"]["choices"][0]["finish_reason"] = "length"
    error["response"], error["error"] = None, {"code": "batch_expired", "message": "letter text"}
    unknown = json.loads(good[3])
    unknown["custom_id"] = "f" * 64 + "-a1-b9"
    lines = [good[0], json.dumps(cut), json.dumps(error), "{not json", json.dumps(unknown), ""]
    (tmp_path / "bad.jsonl").write_text("\n".join(lines) + "\n")
    out = cli("batch", "--db", db, "--no-cache", "--import-results", tmp_path / "bad.jsonl")
    assert out.returncode == 1
    assert "Traceback" not in out.stderr and "letter text" not in out.stderr
    assert "line 4: not a batch output line" in out.stderr
    assert "line 5: custom_id not requested from this database" in out.stderr
    failed = dict(rows(db, "select sha256, error from letters where status = 'failed'"))
    assert any(e.endswith("batch engine: answer cut off at the token limit "
                          "(finish_reason: length)") for e in failed.values())
    assert any(e.endswith("batch engine: batch_expired") for e in failed.values())
    assert len(records(db)) == 1
    assert rows(db, "select count(*) from engine_requests where status = 'failed'") == [(2,)]
    # a missing output file: one line, exit 2, nothing changed
    missing = cli("batch", "--db", db, "--import-results", tmp_path / "nope.jsonl")
    assert missing.returncode == 2 and len(missing.stderr.splitlines()) == 1
    # the failed letters are requested again by the next write
    again = cli("batch", *ORIGINALS, "--db", db, "--backend", "llm", *MODEL, "--no-cache",
                "--engine", "batch-file", "-o", tmp_path / "again.jsonl")
    assert again.returncode == 0
    assert len(request_lines(tmp_path / "again.jsonl")) == 4  # all but the one done


# -- the Batch API ---------------------------------------------------------------------
def _replayed(letter: Path) -> dict:
    """The record `extract --offline` makes from the recorded answers (cache/calls.db)."""
    out = cli("extract", "--compact", "--backend", "llm", "--model", "smollm2-135m",
              "--cache", ROOT / "cache" / "calls.db", "--offline", letter)
    assert out.returncode == 0, out.stderr
    record = json.loads(out.stdout)
    record["usage"].pop("cached")
    return record


def _cut_off(letter: Path) -> bool:
    """Letters whose recorded answer ran into the token limit (cache/calls.db)."""
    return "reply cut off" in json.dumps(_replayed(letter)["warnings"])


@pytest.mark.parametrize("outcome", ["completed", "partial", "expired", "failed"])
def test_batch_api_submit_and_collect(tmp_path, outcome):
    db, cache = tmp_path / "r.db", tmp_path / "calls.db"
    env = {"OPENAI_API_KEY": KEY}
    with FakeBatchAPI(outcome) as fake:
        common = ["--db", db, "--cache", cache, "--base-url", fake.base_url]
        sub = cli("batch", *ORIGINALS, *common, "--backend", "llm", *MODEL,
                  "--engine", "batch-api", env=env)
        assert sub.returncode == 0, sub.stderr
        assert not list(tmp_path.glob(".imr-extract-*"))  # the local request file is gone
        col = cli("batch", *common, "--collect", "--poll-seconds", "0.1", env=env)
        assert "Traceback" not in col.stderr
        assert fake.auth == {f"Bearer {KEY}"}
        assert not fake.files  # every uploaded and answer file deleted
    assert KEY.encode() not in db.read_bytes() and KEY not in sub.stderr + col.stderr
    batches = rows(db, "select status, remote_status from engine_batches")
    assert {b[0] for b in batches} == {"closed"}
    stored = records(db)
    for letter in ORIGINALS:
        sha = ingest.load(letter).sha256
        if sha in stored:  # what verified is exactly the live path's reading of the answers
            stored[sha]["usage"].pop("cached")
            assert stored[sha] == _replayed(letter)
    errors = dict(rows(db, "select sha256, error from letters where status = 'failed'"))
    if outcome == "failed":
        assert not stored and len(errors) == 5 and col.returncode == 1
        assert all(e.endswith("batch failed (invalid_request)") for e in errors.values())
    elif outcome == "completed":
        assert len(stored) + len(errors) == 5 and len(stored) >= 3
        assert all("cut off" in e for e in errors.values())
        assert {b[1] for b in batches} == {"completed"} and len(batches) == 3  # 3 rounds
    elif outcome == "partial":
        assert any(e.endswith("HTTP 500 (server_error)") for e in errors.values())
    else:
        assert any(e.endswith("batch_expired") for e in errors.values())


def test_kill_collect_then_resume_loses_nothing(tmp_path):
    letters = sorted(LETTERS.glob("*.txt"))
    answers = {}
    for p in letters:
        doc = ingest.load(p)
        answers[doc.sha256] = json.dumps(answer_from_record(extract_data(doc)))
    db = tmp_path / "r.db"
    env = {"OPENAI_API_KEY": KEY}
    with FakeBatchAPI(answers=answers, looks=0) as fake:
        common = ["--db", db, "--no-cache", "--base-url", fake.base_url]
        sub = cli("batch", *letters, *common, "--backend", "llm", *MODEL,
                  "--engine", "batch-api", env=env)
        assert sub.returncode == 0, sub.stderr
        proc = subprocess.Popen(
            [sys.executable, "-m", "extractor", "batch", *map(str, common), "--collect",
             "--poll-seconds", "0.1", "--commit-letters", "5"],
            cwd=ROOT, env={**os.environ, **env}, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            if rows(db, "select count(*) from letters where status = 'done'")[0][0] >= 10:
                break
            time.sleep(0.02)
        assert proc.poll() is None, proc.stderr.read()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        part = rows(db, "select count(*) from letters where status = 'done'")[0][0]
        assert 10 <= part < len(letters)
        resumed = cli("batch", *common, "--collect", "--poll-seconds", "0.1", env=env)
        assert resumed.returncode == 0, resumed.stderr
    # every letter once, each the record the rules' answer verifies to
    assert rows(db, "select count(*), count(distinct sha256) from letters") == [
        (len(letters), len(letters))]
    assert rows(db, "select count(*) from letters where status = 'done'") == [(len(letters),)]
    assert rows(db, "select count(*) from records") == [(len(letters),)]
    assert rows(db, "select count(*) from items_fts") == rows(db, "select count(*) from items")
    assert rows(db, "select status, count(*) from engine_requests group by status") == [
        ("answered", len(letters))]


def test_answers_to_another_prompt_are_not_stored(tmp_path):
    db = tmp_path / "r.db"
    assert cli("batch", ORIGINALS[4], "--db", db, "--backend", "llm", *MODEL, "--no-cache",
               "--engine", "batch-file", "-o", tmp_path / "req.jsonl").returncode == 0
    answer_all(tmp_path / "req.jsonl", tmp_path / "out.jsonl")
    with sqlite3.connect(db) as c:  # as if the prompt files changed since the request
        c.execute("update engine_batches set settings = "
                  "json_set(settings, '$.prompt_version', 'v1+sha256:00000000')")
    out = cli("batch", "--db", db, "--no-cache", "--import-results", tmp_path / "out.jsonl")
    assert out.returncode == 1 and "request the letter again" in out.stderr
    assert not records(db)
