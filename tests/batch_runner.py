"""A small batch engine for the tests: `run(requests, output, base_url)` reads a request
file in the OpenAI batch input format line by line, sends each body to a real
OpenAI-compatible server (the local llama.cpp server), and writes each answer as a line
of the OpenAI batch output format. What vLLM's `run_batch` does, on one server.

`answer_from_record(data)` builds the answer a perfect model would give for a letter
from a verified record (every value with its quote): the benchmark's and the fake
provider's answers to synthetic letters.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from extractor.backends.model import answer
from extractor.batch.store import value_at


def run(requests: str, output: str, base_url: str, timeout: float = 900) -> int:
    n = 0
    with open(requests, encoding="utf-8") as src, open(output, "w", encoding="utf-8") as out:
        for n, line in enumerate(src, 1):
            request = json.loads(line)
            assert request["method"] == "POST" and request["url"] == "/v1/chat/completions"
            status, body = post(base_url + "/chat/completions", request["body"], timeout)
            out.write(json.dumps(output_line(request["custom_id"], status, body, n)) + "\n")
    return n


def post(url: str, body: dict, timeout: float) -> tuple[int, dict]:
    data = json.dumps(body).encode()
    req = urllib.request.Request(url, data, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def output_line(custom_id: str, status: int, body: dict, n: int = 0) -> dict:
    """One line of the OpenAI batch output format."""
    return {"id": f"batch_req_{n}", "custom_id": custom_id,
            "response": {"status_code": status, "request_id": f"req_{n}", "body": body},
            "error": None}


def completion(content: str, finish: str = "stop", model: str = "m") -> dict:
    return {"id": "chatcmpl-x", "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": 0, "finish_reason": finish,
                         "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 1000, "completion_tokens": len(content) // 4,
                      "total_tokens": 1000 + len(content) // 4}}


def answer_from_record(data: dict) -> dict:
    """The model's answer shape (answer.py) filled from a record and its evidence."""
    quotes = {e["field"]: e["quote"] for e in data["evidence"]}
    out: dict = {}
    for key, path in answer.PATHS.items():
        value = value_at(data, path) if key != "items" else None
        if isinstance(value, list):
            out[key] = [{"value": v, "quote": quotes.get(f"{path}[{i}]")}
                        for i, v in enumerate(value)]
        elif value is not None:
            out[key] = {"value": value, "quote": quotes.get(path)}
    out["items"] = [{key: {"value": value_at(item, local),
                           "quote": quotes.get(f"items[{i}].{local}")}
                     for key, local in answer.ITEM_PATHS.items()
                     if value_at(item, local) is not None}
                    for i, item in enumerate(data["items"])]
    return out
