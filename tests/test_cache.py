"""The SQLite call cache: keys, storage, schema upgrades, and the `cache` commands."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlite_utils
from fakeserver import FakeServer

from extractor.backends.model import cache, prompts
from extractor.config import Config
from extractor.core import ingest
from extractor.pipeline import extract_document

REPO = Path(__file__).resolve().parents[1]
L004 = REPO / "evals" / "fixtures" / "letters" / "004_fc97f7610c159615.txt"
ENTRY = {"model": "m", "server": "local", "mode": "json_object", "prompt_version": "v1+x",
         "schema_hash": "s", "letter_sha256": "l", "request_hash": "r", "request": None,
         "replies": [{"content": "{}", "finish_reason": "stop", "prompt_tokens": 10,
                      "completion_tokens": 2, "latency_ms": 5}],
         "prompt_tokens": 10, "completion_tokens": 2, "attempts": 1, "latency_ms": 5,
         "note": None}


@pytest.mark.parametrize("a,b", [
    ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8081/v1"),
    ("http://localhost:8080/v1", "http://127.0.0.1:8080/v1"),
    ("http://[::1]:9000/v1", "http://[::1]:9001/v1"),
])
def test_servers_on_one_machine_are_told_apart_by_host_and_port(a, b):
    assert cache.server_id(a) != cache.server_id(b)


def test_server_identity_has_no_credentials_and_ignores_case_and_slashes():
    assert cache.server_id("http://user:secret@127.0.0.1:8080/v1/") == "http://127.0.0.1:8080/v1"
    assert cache.server_id("http://[::1]:9000/v1") == "http://[::1]:9000/v1"
    assert cache.server_id("https://API.example.com:443/v1") == "https://api.example.com/v1"


def test_remote_servers_are_told_apart():
    assert cache.server_id(None) == "https://api.openai.com/v1"
    assert cache.server_id("https://API.example.com/v1/") == "https://api.example.com/v1"
    assert cache.server_id("https://api.example.com:8443/v1") != cache.server_id(
        "https://api.example.com/v1")


def test_key_changes_with_every_part():
    parts = dict(model="m", server="local", mode="json_object", prompt_version="v1+a",
                 schema_hash="s", params={"temperature": 0}, letter_sha256="l",
                 request_hash="r")
    base = cache.call_key(**parts)
    for name, other in [("model", "m2"), ("server", "https://x"), ("mode", "tools"),
                        ("prompt_version", "v1+b"), ("schema_hash", "s2"),
                        ("params", {"temperature": 0.5}), ("letter_sha256", "l2"),
                        ("request_hash", "r2")]:
        assert cache.call_key(**{**parts, name: other}) != base, name


def test_put_get_roundtrip_and_stats(tmp_path):
    store = cache.Cache(tmp_path / "sub" / "calls.db")
    assert store.get("k") is None
    store.put("k", ENTRY)
    row = store.get("k")
    assert row["replies"] == ENTRY["replies"] and row["attempts"] == 1
    stats = store.stats()
    assert stats["calls"] == 1 and stats["prompt_tokens"] == 10
    assert stats["by_model"] == [{"model": "m", "server": "local", "mode": "json_object",
                                  "calls": 1}]
    assert store.clear() == 1 and store.get("k") is None


def test_new_file_records_its_schema_version(tmp_path):
    cache.Cache(tmp_path / "c.db")
    rows = sqlite_utils.Database(tmp_path / "c.db")["meta"].rows
    assert {r["name"]: r["value"] for r in rows}["schema_version"] == str(cache.SCHEMA_VERSION)


def test_a_file_from_a_newer_program_is_refused(tmp_path):
    cache.Cache(tmp_path / "c.db")
    with sqlite3.connect(tmp_path / "c.db") as con:
        con.execute("update meta set value = '99' where name = 'schema_version'")
    with pytest.raises(cache.CacheError, match="newer than this program"):
        cache.Cache(tmp_path / "c.db")


def test_env_var_sets_the_default_location(tmp_path, monkeypatch):
    monkeypatch.setenv("IMR_EXTRACT_CACHE", str(tmp_path / "x.db"))
    assert cache.default_path() == tmp_path / "x.db"
    monkeypatch.delenv("IMR_EXTRACT_CACHE")
    assert cache.default_path().name == "calls.db" and "imr-extract" in str(cache.default_path())


def _answer() -> str:
    return json.dumps(prompts.load().example_answer)


def test_letter_text_is_not_stored_unless_requests_are_logged(tmp_path):
    doc = ingest.load(L004)
    sentence = b"Invasive techniques are of questionable married"
    plain, logged = tmp_path / "plain.db", tmp_path / "logged.db"
    with FakeServer([_answer(), _answer()]) as server:
        for path, extra in ((plain, {}), (logged, {"log_requests": True})):
            extract_document(doc, Config(backend="llm", model="m", base_url=server.base_url,
                                         cache_path=str(path), extra=extra))
    # The reply quotes the rationale, so look for a sentence only the letter has.
    only_in_letter = b"The expert reviewer developed the following clinical case summary"
    assert only_in_letter not in plain.read_bytes() and sentence in plain.read_bytes()
    assert only_in_letter in logged.read_bytes()
    assert cache.Cache(logged).stats()["requests_logged"] == 1


def run_cli(*args):
    return subprocess.run([sys.executable, "-c", "from extractor.cli import main; main()", *args],
                          capture_output=True, text=True, timeout=120)


def test_cli_cache_stats_and_clear(tmp_path):
    db = tmp_path / "calls.db"
    cache.Cache(db).put("k", ENTRY)
    stats = run_cli("cache", "stats", "--cache", str(db), "--json")
    assert stats.returncode == 0 and json.loads(stats.stdout)["calls"] == 1
    text = run_cli("cache", "stats", "--cache", str(db))
    assert "1 cached calls" in text.stdout and "json_object" in text.stdout
    cleared = run_cli("cache", "clear", "--cache", str(db), "--yes")
    assert cleared.returncode == 0 and "deleted 1 cached calls" in cleared.stderr
    assert cache.Cache(db).stats()["calls"] == 0


def test_a_file_that_is_not_a_cache_is_one_line_error(tmp_path):
    bad = tmp_path / "calls.db"
    bad.write_bytes(b"not sqlite at all" * 100)
    out = run_cli("cache", "stats", "--cache", str(bad))
    assert out.returncode == 2 and "not a usable cache file" in out.stderr
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    extract = run_cli("extract", "--backend", "llm", "--model", "m", "--cache", str(bad),
                      "--offline", str(L004))
    assert extract.returncode == 1 and "not a usable cache file" in extract.stderr
    assert "Traceback" not in extract.stderr


def test_cli_cache_stats_on_a_missing_file_says_it_is_empty(tmp_path):
    """Nothing cached yet is not an error (issue 14), and looking creates nothing."""
    out = run_cli("cache", "stats", "--cache", str(tmp_path / "none.db"))
    assert out.returncode == 0 and "the cache is empty" in out.stdout and out.stderr == ""
    assert not (tmp_path / "none.db").exists()


@pytest.mark.parametrize("backend", ["llm", "hybrid"])
@pytest.mark.parametrize("grounded", [False, True])
def test_the_repo_cache_replays_the_five_fixture_letters_offline(backend, grounded):
    """cache/calls.db holds the local model's answers (free and grounded) for CI replays."""
    db = REPO / "cache" / "calls.db"
    letters = sorted((REPO / "evals" / "fixtures" / "letters").glob("00*.txt"))
    for path in letters:
        config = Config(backend=backend, model="smollm2-135m", offline=True,
                        cache_path=str(db), grounded=grounded)
        record = extract_document(ingest.load(path), config)
        assert record.usage.cached and record.usage.attempts >= 1, path.name
        assert record.extractor.prompt_version == prompts.load().version
