"""The llm and hybrid backends against a fake OpenAI-compatible server on 127.0.0.1.

No network: the fake server replays scripted replies in OpenAI's response shape
(content for JSON modes, a tool call for tools mode). The real llama.cpp path
is in test_llm_local.py.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
from fakeserver import FakeServer

from extractor.backends.model import backend as llm, prompts
from extractor.config import Config
from extractor.core import ingest
from extractor.pipeline import extract_document
from extractor.scoring import evaluate

LETTERS = Path(__file__).resolve().parents[1] / "evals" / "fixtures" / "letters"
L004 = LETTERS / "004_fc97f7610c159615.txt"
L000 = LETTERS / "000_5af06fd8d99aadee.txt"
GOLD004 = json.loads((LETTERS.parent / "gold" / f"{L004.name}.json").read_text())


def good_answer() -> dict:
    """A correct answer for letter 004 (the few-shot example's values, with quotes)."""
    return copy.deepcopy(prompts.load().example_answer)


def config(server, tmp_path, **kw) -> Config:
    base = dict(backend="llm", model="fake-model", base_url=server.base_url,
                cache_path=str(tmp_path / "calls.db"), extra={"transport_tries": 3})
    return Config(**{**base, **kw})


def assert_all_verified(doc, record) -> None:
    grounded, emitted, problems = evaluate.grounding(doc, record)
    assert emitted > 0 and grounded == emitted, problems


@pytest.mark.parametrize("owner,mode", [("vllm", "json_schema"), ("me", "json_object"),
                                        ("openai", "tools")])
def test_auto_mode_sends_each_servers_form_and_reads_the_reply(tmp_path, owner, mode):
    doc = ingest.load(L004)
    with FakeServer([json.dumps(good_answer())], owned_by=owner) as server:
        record = extract_document(doc, config(server, tmp_path, mode="auto"))
    sent = server.requests[0]
    if mode == "json_schema":
        assert sent["response_format"]["type"] == "json_schema"
        assert "items" in sent["response_format"]["json_schema"]["schema"]["properties"]
    elif mode == "json_object":  # llama.cpp's form: a schema inside json_object
        assert sent["response_format"]["type"] == "json_object"
        assert "items" in sent["response_format"]["schema"]["properties"]
        assert sent["messages"][0]["content"] == prompts.load().system
    else:
        assert sent["tools"][0]["function"]["name"] == sent["tool_choice"]["function"]["name"]
        assert "response_format" not in sent
    assert server.model_lists == 1  # one probe of GET /models
    assert record.case_number == GOLD004["case_number"]
    assert record.patient.age == 31 and record.diagnoses == GOLD004["diagnoses"]
    assert record.items[0].rationale == GOLD004["items"][0]["rationale"]
    assert record.rejected == [] and record.extractor.backend == "llm"
    assert record.extractor.prompt_version == prompts.load().version
    assert record.usage.attempts == 1 and record.usage.prompt_tokens == 100
    assert_all_verified(doc, record)


def test_the_letter_reaches_the_model_as_written_not_as_a_template(tmp_path):
    """instructor renders messages as Jinja templates when given a context: a letter's
    braces must reach the model untouched, and an open tag must not fail the call."""
    marks = "Ref {{ 7 * 7 }} {# not a comment {% if x"
    text = L004.read_text().replace("LUMBAR TP1 L5", f"LUMBAR TP1 L5 {marks}", 1)
    doc = ingest.from_bytes(text.encode(), "braces.txt")
    with FakeServer([json.dumps(good_answer())], owned_by="me") as server:
        record = extract_document(doc, config(server, tmp_path, mode="json_object"))
    sent = server.requests[0]["messages"][-1]["content"]
    assert marks in sent and "Ref 49" not in sent
    assert record.extractor.backend == "llm" and record.usage.attempts == 1


def test_a_failing_quote_is_re_asked_with_the_exact_error(tmp_path):
    bad = good_answer()
    bad["patient_age"] = {"value": 41, "quote": "41 yr. old male"}
    with FakeServer([json.dumps(bad), json.dumps(good_answer())]) as server:
        record = extract_document(ingest.load(L004), config(server, tmp_path))
    assert len(server.requests) == 2
    reask = server.requests[1]["messages"][-1]["content"]
    assert "patient.age: quote not found in the letter" in reask and "41 yr. old male" in reask
    assert record.patient.age == 31 and record.rejected == []
    assert record.usage.attempts == 2 and record.usage.prompt_tokens == 200


def test_after_the_budget_good_fields_stay_and_bad_ones_are_rejected(tmp_path):
    bad = good_answer()
    bad["case_number"] = {"value": "CM99-0000001"}          # invented
    bad["patient_age"] = {"value": 32, "quote": "31 yr. old male"}  # disagrees with its quote
    doc = ingest.load(L004)
    with FakeServer([json.dumps(bad)] * 3) as server:
        record = extract_document(doc, config(server, tmp_path, max_attempts=3))
    assert len(server.requests) == 3 and record.usage.attempts == 3
    assert record.case_number is None and record.patient.age is None
    assert {r.field: r.reason for r in record.rejected} == {
        "case_number": "quote not found in the letter",
        "patient.age": "quote says 31, not 32"}
    assert record.patient.sex == "male" and record.items[0].treatment == "LUMBAR TP1 L5"
    assert_all_verified(doc, record)


def test_the_token_budget_ends_the_retries(tmp_path):
    bad = good_answer()
    bad["case_number"] = {"value": "CM99-0000001"}
    with FakeServer([json.dumps(bad)] * 3) as server:  # each reply costs 100 + ~300 tokens
        record = extract_document(ingest.load(L004), config(server, tmp_path, max_tokens=700))
    assert len(server.requests) == 2 and record.usage.attempts == 2
    assert "model: stopped early: token budget spent" in record.warnings
    assert record.case_number is None and record.patient.age == 31


def test_transport_faults_are_retried_with_backoff(tmp_path):
    with FakeServer([429, 503, json.dumps(good_answer())]) as server:
        record = extract_document(ingest.load(L004), config(server, tmp_path))
    assert len(server.requests) == 3
    assert record.usage.attempts == 1 and record.case_number == "CM14-0037910"


def test_transport_faults_past_the_retry_limit_fail_the_letter_cleanly(tmp_path):
    with FakeServer([500, 500, 500, 500]) as server:
        with pytest.raises(llm.ModelError, match="failed 3 times"):
            extract_document(ingest.load(L004), config(server, tmp_path))
    assert len(server.requests) == 3


def test_malformed_replies_are_a_recorded_failure_not_a_crash(tmp_path):
    with FakeServer(["this is not JSON", "{\"items\": [", "[1, 2]"]) as server:
        record = extract_document(ingest.load(L004), config(server, tmp_path))
    assert len(server.requests) == 3
    assert record.case_number is None and record.items == []
    assert [r.field for r in record.rejected] == ["(model reply)"]
    assert any(w.startswith("model: no usable reply in 3 attempt(s)") for w in record.warnings)


def test_a_truncated_reply_keeps_its_complete_fields(tmp_path):
    text = json.dumps(good_answer())
    cut = text[:text.index('"rationale"') + 40]  # cut inside the rationale string
    with FakeServer([{"content": cut, "finish_reason": "length"}]) as server:
        record = extract_document(ingest.load(L004), config(server, tmp_path))
    assert len(server.requests) == 1  # a cut-off reply is not re-asked
    assert record.case_number == "CM14-0037910" and record.items[0].rationale is None
    assert record.items[0].maximus_guideline == GOLD004["items"][0]["maximus_guideline"]
    assert any("cut off at the token limit" in w for w in record.warnings)


def test_second_identical_run_is_served_from_the_cache(tmp_path):
    doc = ingest.load(L004)
    with FakeServer([json.dumps(good_answer())]) as server:
        first = extract_document(doc, config(server, tmp_path))
        second = extract_document(doc, config(server, tmp_path))
    assert len(server.requests) == 1
    assert not first.usage.cached and second.usage.cached
    assert second.model_dump(exclude={"usage"}) == first.model_dump(exclude={"usage"})
    assert second.usage.prompt_tokens == first.usage.prompt_tokens


def test_two_local_servers_never_share_answers_and_nor_do_two_models(tmp_path):
    doc = ingest.load(L004)
    with FakeServer([json.dumps(good_answer())]) as one:
        assert not extract_document(doc, config(one, tmp_path)).usage.cached
        assert extract_document(doc, config(one, tmp_path)).usage.cached
    with FakeServer([json.dumps(good_answer())] * 2) as other:  # another port: another model
        assert not extract_document(doc, config(other, tmp_path)).usage.cached
        extract_document(doc, config(other, tmp_path, model="other-model"))
    assert len(one.requests) == 1 and len(other.requests) == 2


def test_no_cache_always_calls(tmp_path):
    doc = ingest.load(L004)
    with FakeServer([json.dumps(good_answer())] * 2) as server:
        for _ in range(2):
            extract_document(doc, config(server, tmp_path, use_cache=False))
    assert len(server.requests) == 2 and not (tmp_path / "calls.db").exists()


def test_offline_replays_and_fails_on_a_miss(tmp_path):
    doc = ingest.load(L004)
    with FakeServer([json.dumps(good_answer())]) as server:
        extract_document(doc, config(server, tmp_path))
        url = server.base_url
    offline = Config(backend="llm", model="fake-model", base_url=url, offline=True,
                     cache_path=str(tmp_path / "calls.db"))
    assert extract_document(doc, offline).usage.cached  # the server is gone: no call made
    with pytest.raises(llm.ModelError, match="not in the cache and --offline is set"):
        extract_document(ingest.load(L000), offline)


def test_hybrid_asks_the_model_only_for_what_rules_left_empty(tmp_path):
    # The cut-off letter: rules find both items but the second has no rationale.
    doc = ingest.load(LETTERS / "v-garbled--003_a451431fba358ec9.txt")
    other = "It is not recommended for radicular pain."  # a sentence of the letter
    assert other in doc.index.norm
    reply = {"case_number": {"value": "CM15-0000001"},  # invented: the letter has no header
             "items": [{"treatment": {"value": "4 TRIGGER POINT INJECTIONS"},
                        "rationale": {"value": other}},  # verified, but rules have one
                       {"treatment": {"value": "120 FEXMID 7.5MG"},
                        "decision": {"value": "upheld", "quote": "120 FEXMID 7.5MG: Upheld"}}]}
    with FakeServer([json.dumps(reply)] * 3, owned_by="vllm") as server:
        record = extract_document(doc, config(server, tmp_path, backend="hybrid"))
    asked = set(server.requests[0]["response_format"]["json_schema"]["schema"]["properties"])
    assert {"case_number", "items", "diagnoses"} <= asked
    assert not asked & {"patient_age", "patient_sex", "specialties", "licensed_states"}
    assert record.extractor.backend == "hybrid" and record.patient.age == 52
    assert record.case_number is None
    assert "case_number" in {r.field for r in record.rejected}
    assert len(record.items) == 2  # the model's items were matched to the rules' items
    assert record.items[0].rationale.startswith("The California MTUS guidelines recommend")
    assert [w for w in record.warnings if w.startswith("items[0].rationale: kept")]
    assert_all_verified(doc, record)


def test_hybrid_makes_no_call_when_rules_fill_everything(tmp_path):
    # letter 004 states every field except a subspecialty; give it one
    text = L004.read_text().replace(
        "Board Certified in ABFP", "Board Certified in ABFP, has a subspecialty in Pain Management")
    doc = ingest.from_text(text, "004-sub.txt", "markdown", "0" * 64)
    with FakeServer([]) as server:
        record = extract_document(doc, config(server, tmp_path, backend="hybrid"))
    assert server.requests == [] and record.usage.attempts == 0
    assert record.case_number == "CM14-0037910"
    assert record.reviewer.subspecialties == ["Pain Management"]


def test_grounded_mode_sends_letter_pieces_as_enums(tmp_path):
    doc = ingest.load(L004)
    with FakeServer([json.dumps(good_answer())], owned_by="vllm") as server:
        record = extract_document(doc, config(server, tmp_path, grounded=True))
    schema = server.requests[0]["response_format"]["json_schema"]["schema"]
    assert "LUMBAR TP1 L5" in schema["$defs"]["Short"]["enum"]
    assert GOLD004["items"][0]["rationale"] in schema["$defs"]["Long"]["enum"]
    assert record.items[0].treatment == "LUMBAR TP1 L5"


def run_cli(*args, env=None):
    return subprocess.run([sys.executable, "-c", "from extractor.cli import main; main()", *args],
                          capture_output=True, text=True, timeout=120, env=env)


def test_cli_llm_backend_then_offline_replay(tmp_path):
    db = str(tmp_path / "calls.db")
    with FakeServer([json.dumps(good_answer())], owned_by="vllm") as server:
        first = run_cli("extract", "--backend", "llm", "--model", "fake-model", "--base-url",
                        server.base_url, "--cache", db, str(L004))
        assert first.returncode == 0, first.stderr
        url = server.base_url
    record = json.loads(first.stdout)
    assert record["case_number"] == "CM14-0037910" and record["usage"]["cached"] is False
    again = run_cli("extract", "--backend", "llm", "--model", "fake-model", "--base-url", url,
                    "--cache", db, "--offline", str(L004))
    assert again.returncode == 0 and json.loads(again.stdout)["usage"]["cached"] is True
    miss = run_cli("extract", "--backend", "llm", "--model", "fake-model", "--base-url", url,
                   "--cache", db, "--offline", str(L000))
    assert miss.returncode == 1 and miss.stdout == ""
    assert miss.stderr.count("\n") == 1 and "not in the cache" in miss.stderr
    assert "Traceback" not in miss.stderr


def test_cli_unreachable_server_is_one_line(tmp_path):
    from localmodel import free_port

    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    out = run_cli("extract", "--backend", "llm", "--model", "m", "--base-url", url,
                  "--mode", "json_object", "--no-cache", str(L004))
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.startswith("imr-extract: error: model server at")
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr


def test_hybrid_asks_the_model_for_the_items_when_rules_find_none(tmp_path):
    # An item written in a form the rules do not read (no labels, a dash before the decision).
    text = (LETTERS / "f-worker--1.txt").read_text()
    start = text.index("Acupuncture 6 visits for the low back: Overturned")
    text = text[:start] + ("Disputed treatment - Acupuncture 6 visits for the low back - "
                           "Overturned\n\nThe guidelines allow three to six treatments as an "
                           "initial trial.\n")
    doc = ingest.from_text(text, "no-items.txt", "text", "1" * 64)
    rules_only = extract_document(doc, Config(backend="rules"))
    assert rules_only.items == [] and rules_only.warnings == ["no disputed items found"]
    heading = "Acupuncture 6 visits for the low back - Overturned"
    reply = {"items": [{"treatment": {"value": "Acupuncture 6 visits for the low back"},
                        "decision": {"value": "overturned", "quote": heading}}]}
    with FakeServer([json.dumps(reply)], owned_by="vllm") as server:
        record = extract_document(doc, config(server, tmp_path, backend="hybrid"))
    asked = set(server.requests[0]["response_format"]["json_schema"]["schema"]["properties"])
    assert "items" in asked and not asked & {"patient_age", "specialties"}
    assert [(i.treatment, i.decision, i.category) for i in record.items] == [
        ("Acupuncture 6 visits for the low back", "overturned", "acupuncture")]
    assert record.outcome == "overturned" and record.patient.age == 58
    assert record.warnings == []
    assert_all_verified(doc, record)
