"""Model faults through the real CLI against the fake OpenAI-compatible server (issue 11,
defects 4-9): nothing transient is cached, nothing secret or from the letter leaks,
hybrid keeps the rules' record, and the time a model may take is an option."""

from __future__ import annotations

import copy
import json
import sqlite3
import time
from pathlib import Path

from conftest import LETTERS
from fakeserver import FakeServer

from extractor.backends.model import prompts

L004 = LETTERS / "004_fc97f7610c159615.txt"
GARBLED = LETTERS / "v-garbled--003_a451431fba358ec9.txt"  # rules leave gaps: hybrid asks
SECRET = "hunter2secret"
KEY = "sk-test-abcdefghijklmnop1234"
# A sentence only the letter has (the few-shot example quotes other parts of it).
LETTER_ONLY = "The expert reviewer developed the following clinical case summary"


def good() -> str:
    return json.dumps(copy.deepcopy(prompts.load().example_answer))


def llm(server, cache, *args):
    return ["extract", "--backend", "llm", "--model", "fake-model", "--base-url",
            server.base_url, "--cache", cache, "--mode", "json_schema", *map(str, args)]


def with_password(url: str) -> str:
    return url.replace("http://", f"http://alice:{SECRET}@")


def cached_calls(cache: Path) -> list[tuple]:
    if not cache.exists():
        return []
    with sqlite3.connect(cache) as c:
        return c.execute("select server, note, attempts from calls").fetchall()


# -- defect 4: only complete, successful answers are cached -----------------------------
def test_a_5xx_after_the_first_reply_is_not_cached(tmp_path, cli):
    bad = json.loads(good())
    bad["patient_age"] = {"value": 41, "quote": "41 yr. old male"}  # re-asked
    cache = tmp_path / "calls.db"
    with FakeServer([json.dumps(bad), 500, 500, 500, 500, 500, good()]) as server:
        first = cli(*llm(server, cache, L004))
        assert first.returncode == 0, first.stderr
        assert "stopped early" in first.stdout
        assert json.loads(first.stdout)["usage"]["attempts"] == 1
        assert cached_calls(cache) == []
        second = cli(*llm(server, cache, L004))  # asks again, and this answer is kept
    assert second.returncode == 0, second.stderr
    record = json.loads(second.stdout)
    assert record["usage"]["cached"] is False and record["patient"]["age"] == 31
    assert len(cached_calls(cache)) == 1


def test_a_garbage_reply_with_one_attempt_is_not_cached(tmp_path, cli):
    cache = tmp_path / "calls.db"
    with FakeServer(["this is not JSON", good()]) as server:
        first = cli(*llm(server, cache, L004, "--max-attempts", "1"))
        assert first.returncode == 0 and "no usable reply" in first.stdout
        assert cached_calls(cache) == []
        second = cli(*llm(server, cache, L004, "--max-attempts", "1"))
    assert json.loads(second.stdout)["case_number"] == "CM14-0037910"
    assert len(server.requests) == 2 and len(cached_calls(cache)) == 1


def test_strict_turns_an_incomplete_answer_into_a_failure(tmp_path, cli):
    with FakeServer(["this is not JSON"]) as server:
        out = cli(*llm(server, tmp_path / "c.db", L004, "--max-attempts", "1", "--strict"))
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.count("\n") == 1 and "no usable reply in 1 attempt(s)" in out.stderr


def test_batch_fails_a_letter_whose_model_call_failed_and_the_next_run_retries_it(
        tmp_path, cli):
    cache, db = tmp_path / "calls.db", tmp_path / "r.db"
    args = ["batch", GARBLED, "--db", db, "--backend", "hybrid", "--model", "fake-model",
            "--cache", cache, "--mode", "json_schema", "--max-attempts", "1"]
    with FakeServer(["garbage"]) as server:
        first = cli(*args, "--base-url", server.base_url)
    assert first.returncode == 1, first.stderr
    with sqlite3.connect(db) as c:
        assert c.execute("select status from letters").fetchall() == [("failed",)]
    reply = {"case_number": {"value": "CM15-0000001"}}  # the model answers, wrongly
    with FakeServer([json.dumps(reply)]) as server:
        second = cli(*args, "--base-url", server.base_url)
    assert second.returncode == 0, second.stderr
    assert "1 done, 0 skipped, 0 failed" in second.stderr and len(server.requests) == 1
    with sqlite3.connect(db) as c:
        assert c.execute("select status, error from letters").fetchall() == [("done", None)]


# -- defect 5: host and port are part of the key -------------------------------------------
def test_two_local_servers_do_not_share_cached_answers(tmp_path, cli):
    cache = tmp_path / "calls.db"
    other = json.loads(good())
    other["patient_age"] = {"value": 31, "quote": "31 yr. old male"}
    with FakeServer([good()]) as one, FakeServer([json.dumps(other)]) as two:
        assert cli(*llm(one, cache, L004)).returncode == 0
        answer = cli(*llm(two, cache, L004))
    assert json.loads(answer.stdout)["usage"]["cached"] is False
    assert len(two.requests) == 1
    assert sorted(s for s, _, _ in cached_calls(cache)) == sorted(
        [one.base_url.rstrip("/"), two.base_url.rstrip("/")])


def test_offline_without_a_server_replays_a_recording_from_any_server(tmp_path, cli):
    cache = tmp_path / "calls.db"
    with FakeServer([good()]) as server:
        assert cli(*llm(server, cache, L004)).returncode == 0
    out = cli("extract", "--backend", "llm", "--model", "fake-model", "--cache", cache,
              "--offline", L004)
    assert out.returncode == 0 and json.loads(out.stdout)["usage"]["cached"] is True


# -- defects 6 and 7: no credentials, no server bodies ---------------------------------------
def test_credentials_in_the_url_and_the_key_are_never_written(tmp_path, cli):
    import os

    cache, db = tmp_path / "calls.db", tmp_path / "r.db"
    env = {**os.environ, "OPENAI_API_KEY": KEY}
    with FakeServer([good(), 503, 503, 503, 503, 503] + ["garbage"] * 3) as server:
        url = with_password(server.base_url)
        # extract: a good answer, then (--no-cache) a server that fails every try
        ok = cli("extract", "--backend", "llm", "--model", "fake-model", "--base-url", url,
                 "--cache", cache, "--mode", "json_schema", L004, env=env)
        failed = cli("extract", "--backend", "hybrid", "--model", "fake-model", "--base-url",
                     url, "--no-cache", "--mode", "json_schema", GARBLED, env=env)
        batch = cli("batch", GARBLED, "--db", db, "--backend", "hybrid", "--model",
                    "fake-model", "--base-url", url, "--cache", cache, "--mode", "json_schema",
                    env=env)
    assert ok.returncode == 0 and failed.returncode == 0 and batch.returncode == 1
    assert "model failed, rules only" in failed.stdout  # the warning names the failure
    exported = cli("export", "--db", db)
    written = [ok.stdout, ok.stderr, failed.stdout, failed.stderr, batch.stderr,
               exported.stdout, exported.stderr, cache.read_bytes().decode(errors="replace"),
               db.read_bytes().decode(errors="replace")]
    for text in written:
        assert SECRET not in text and KEY not in text and "alice" not in text
    assert "failed 5 times" in failed.stdout


def test_an_error_body_that_echoes_the_letter_stays_out_of_stderr_and_the_database(
        tmp_path, cli):
    echo = {"error": {"message": f"bad request: {LETTER_ONLY} ...", "type": "invalid_request",
                      "param": LETTER_ONLY}}
    db = tmp_path / "r.db"
    with FakeServer([(400, echo)] * 2) as server:
        out = cli(*llm(server, tmp_path / "c.db", L004))
        batch = cli("batch", L004, "--db", db, "--backend", "llm", "--model", "fake-model",
                    "--base-url", server.base_url, "--no-cache", "--mode", "json_schema")
    assert out.returncode == 1 and batch.returncode == 1
    assert out.stderr.count("\n") == 1
    assert "HTTP 400 BadRequestError (invalid_request)" in out.stderr
    with sqlite3.connect(db) as c:
        [(error,)] = c.execute("select error from letters").fetchall()
    assert "HTTP 400 BadRequestError (invalid_request)" in error
    for text in (out.stderr, batch.stderr, error, db.read_bytes().decode(errors="replace")):
        assert LETTER_ONLY not in text and "bad request" not in text


# -- defect 8: --timeout bounds the model's time per letter --------------------------------
class SlowServer(FakeServer):
    """Answers every request after `delay` seconds."""

    def __init__(self, delay: float, steps):
        super().__init__(steps)
        self.delay = delay

    def _next(self, body):
        time.sleep(self.delay)
        return super()._next(body)


def test_timeout_bounds_all_requests_and_retries_of_a_letter(tmp_path, cli):
    with SlowServer(3, [good()] * 10) as server:
        started = time.monotonic()
        out = cli(*llm(server, tmp_path / "c.db", L004, "--timeout", "2"))
        took = time.monotonic() - started
    assert out.returncode == 1 and out.stderr.count("\n") == 1
    assert "APITimeoutError" in out.stderr or "--timeout 2s" in out.stderr
    # without the limit the client would wait 3 s per try, five tries, plus backoff
    assert took < 3 * 5 and "Traceback" not in out.stderr


def test_timeout_must_be_a_positive_number(cli):
    assert cli("extract", "--timeout", "30", L004).returncode == 0
    for value in ("0", "-1", "soon"):
        out = cli("extract", "--timeout", value, L004)
        assert out.returncode == 2 and "Invalid value for '--timeout'" in out.stderr


# -- defect 9: hybrid keeps the rules' record when the model fails ---------------------------
def test_hybrid_falls_back_to_the_rules_record_when_the_model_is_down(tmp_path, cli):
    from localmodel import free_port

    url = f"http://127.0.0.1:{free_port()}/v1"  # nobody listens
    args = ["extract", "--backend", "hybrid", "--model", "m", "--base-url", url,
            "--mode", "json_object", "--no-cache", GARBLED]
    rules = json.loads(cli("extract", GARBLED).stdout)
    out = cli(*args)
    assert out.returncode == 0, out.stderr
    record = json.loads(out.stdout)
    assert record["items"] == rules["items"] and record["patient"] == rules["patient"]
    [warning] = [w for w in record["warnings"] if w.startswith("model failed, rules only")]
    assert "APIConnectionError" in warning and url.split("//")[1].split("/")[0] in warning
    strict = cli(*args, "--strict")
    assert strict.returncode == 1 and strict.stdout == ""
    assert strict.stderr.count("\n") == 1 and "APIConnectionError" in strict.stderr
