"""The real path, offline: llama.cpp's server with the packaged SmolLM2-135M model,
openai client -> instructor -> verifier, end to end.

A 135M model invents things. These tests assert what must hold anyway: nothing
unverified reaches the record (every emitted value has evidence that
re-verifies against the letter), every invention is in `rejected`, and an
identical second run is answered from the cache without a call.
Kept small (one short letter, low token caps) so the file runs in ~2 minutes.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import localmodel
import pytest

from extractor.backends.model import answer, backend as llm, cache
from extractor.config import Config
from extractor.core import ingest
from extractor.core.schema import Claim
from extractor.core.verify import check
from extractor.pipeline import extract_document
from extractor.scoring import evaluate

# Skipped only without llama_cpp; with it, a missing model package is a failure (CI
# installs the [local] extra, so these tests must run there).
pytestmark = [pytest.mark.local_model,
              pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None,
                                 reason="llama_cpp not installed (extra [local])")]

LETTERS = Path(__file__).resolve().parents[1] / "evals" / "fixtures" / "letters"
L004 = LETTERS / "004_fc97f7610c159615.txt"
L002 = LETTERS / "002_f7fec690ca28e43d.txt"


@pytest.fixture(scope="module")
def server():
    with localmodel.LocalModel() as s:
        yield s


def assert_nothing_unverified(doc, record) -> None:
    grounded, emitted, problems = evaluate.grounding(doc, record)
    assert grounded == emitted, problems
    for r in record.rejected:  # each rejected value really fails the verifier
        if r.field != "(model reply)":
            claim = Claim(field=r.field, value=r.value, quote=r.quote)
            assert isinstance(check(doc, claim), str) or r.reason.startswith(
                ("item has no verified", "medication strength without")), r


def test_llm_backend_on_llama_cpp_then_replay_without_a_server(server, tmp_path):
    doc = ingest.load(L004)
    db = tmp_path / "calls.db"
    cfg = dict(backend="llm", model=localmodel.ALIAS, cache_path=str(db), max_attempts=2,
               extra={"call_max_tokens": 300})
    record = extract_document(doc, Config(base_url=server.base_url, **cfg))
    assert record.extractor.model == localmodel.ALIAS and record.usage.attempts >= 1
    assert record.usage.prompt_tokens > 500 and record.usage.completion_tokens > 0
    assert_nothing_unverified(doc, record)

    row = next(cache.Cache(db).db["calls"].rows)
    assert row["mode"] == "json_object"  # probed: llama.cpp
    assert row["server"] == cache.server_id(server.base_url)  # host and port
    replies = json.loads(row["replies"])
    assert len(replies) == record.usage.attempts
    # The inventions are counted: every claim of the chosen reply is either emitted
    # (with evidence) or rejected.
    chosen = llm.interpret(doc, answer.answer_model(), replies, cached=True)
    failing = [c for c in chosen.claims if isinstance(check(doc, c), str)]
    assert len(record.rejected) >= len(failing)
    assert {c.field for c in failing} <= {r.field for r in record.rejected}

    # offline with no server named: replayed from the recording, the server is not asked
    again = extract_document(doc, Config(base_url=None, offline=True, **cfg))
    assert again.usage.cached
    assert again.model_dump(exclude={"usage"}) == record.model_dump(exclude={"usage"})


def test_cli_hybrid_grounded_on_llama_cpp(server, tmp_path):
    db = str(tmp_path / "calls.db")
    env = {**os.environ, "IMR_EXTRACT_CALL_MAX_TOKENS": "200"}

    def cli(*server: str):
        return subprocess.run(
            [sys.executable, "-c", "from extractor.cli import main; main()", "extract",
             "--backend", "hybrid", "--grounded", "--model", localmodel.ALIAS,
             *server, "--cache", db, "--max-attempts", "1", str(L002)],
            capture_output=True, text=True, timeout=600, env=env)

    first = cli("--base-url", server.base_url)
    assert first.returncode == 0, first.stderr
    record = json.loads(first.stdout)
    assert record["extractor"]["backend"] == "hybrid" and record["usage"]["attempts"] == 1
    doc = ingest.load(L002)
    from extractor.core.schema import Record
    assert_nothing_unverified(doc, Record.model_validate(record))
    # rules' values are all kept (the model was only asked for what they left empty)
    rules = json.loads(subprocess.run(
        [sys.executable, "-c", "from extractor.cli import main; main()", "extract", str(L002)],
        capture_output=True, text=True, timeout=120).stdout)
    assert record["items"][0]["rationale"] == rules["items"][0]["rationale"]
    assert record["patient"]["date_of_injury"] == rules["patient"]["date_of_injury"]

    second = cli("--offline")  # served from the cache: no server needed
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["usage"]["cached"] is True
