"""A fake OpenAI Batch API on 127.0.0.1: /v1/files (upload, content, delete) and
/v1/batches (create, retrieve, list), for the `openai` client.

It answers each request of an uploaded file from answers recorded from the real model:
the committed call cache `cache/calls.db` holds SmolLM2-135M's replies to the fixture
letters, every attempt, keyed by the letter's sha256 and a hash of the schema the
request constrains decoding with (json_object mode: llm and hybrid, free and grounded,
each have their own). Attempt N of a letter gets its
recorded reply N, as a chat completion with the recorded finish reason and tokens.

`answers` gives the reply for other letters (sha256 -> text), for every attempt.

`outcome` decides how a batch ends: "completed"; "partial" (the first request of each
batch fails with HTTP 500 in the error file); "expired" (half answered, the rest
`batch_expired` lines in the error file); "failed" (no output, the batch's errors say
why). A batch is `validating`, then `in_progress` for `looks` retrievals, then ended.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

RECORDED = Path(__file__).resolve().parents[1] / "cache" / "calls.db"
KEY = "sk-test-fake-batch-key-0123456789"


def digest(data) -> str:
    text = json.dumps(data, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


class FakeBatchAPI:
    def __init__(self, outcome: str = "completed", looks: int = 1, recorded: Path = RECORDED,
                 answers: dict[str, str] | None = None):
        self.outcome, self.looks = outcome, looks
        self.answers = answers or {}      # letter sha256 -> reply text, for any attempt
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict] = {}
        self.deleted: list[str] = []
        self.auth: set[str] = set()       # Authorization headers seen
        self.recorded = _recordings(recorded)
        self.lock = threading.Lock()
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}/v1"

    def __enter__(self) -> FakeBatchAPI:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._http.shutdown()
        self._http.server_close()

    # -- files --
    def add_file(self, data: bytes) -> dict:
        fid = f"file-{len(self.files) + len(self.deleted) + 1}"
        self.files[fid] = data
        return {"id": fid, "object": "file", "bytes": len(data), "created_at": 0,
                "filename": "requests.jsonl", "purpose": "batch", "status": "processed"}

    # -- batches --
    def create(self, body: dict) -> dict:
        bid = f"batch_{len(self.batches) + 1}"
        self.batches[bid] = {"id": bid, "object": "batch", "endpoint": body["endpoint"],
                             "input_file_id": body["input_file_id"],
                             "completion_window": body["completion_window"],
                             "status": "validating", "created_at": 0, "output_file_id": None,
                             "error_file_id": None, "errors": None,
                             "metadata": body.get("metadata"), "_looks": 0}
        return self.public(bid)

    def public(self, bid: str) -> dict:
        return {k: v for k, v in self.batches[bid].items() if not k.startswith("_")}

    def retrieve(self, bid: str) -> dict:
        b = self.batches[bid]
        b["_looks"] += 1
        if b["status"] in ("validating", "in_progress"):
            b["status"] = "in_progress" if b["_looks"] <= self.looks else self._end(b)
        return self.public(bid)

    def _end(self, b: dict) -> str:
        if self.outcome == "failed":
            b["errors"] = {"object": "list", "data": [{"code": "invalid_request", "line": 1,
                                                       "message": "scripted failure"}]}
            return "failed"
        lines = self.files[b["input_file_id"]].decode().splitlines()
        out, err = [], []
        for n, line in enumerate(lines):
            request = json.loads(line)
            if self.outcome == "expired" and n >= len(lines) // 2:
                err.append(_error_line(request, n, None, "batch_expired"))
            elif self.outcome == "partial" and n == 0:
                err.append(_error_line(request, n, 500, "server_error"))
            else:
                out.append(self.answer(request, n))
        if out:
            b["output_file_id"] = self.add_file(_jsonl(out))["id"]
        if err:
            b["error_file_id"] = self.add_file(_jsonl(err))["id"]
        return "expired" if self.outcome == "expired" else "completed"

    def answer(self, request: dict, n: int) -> dict:
        body = request["body"]
        sha = request["custom_id"].split("-")[0]
        attempt = int(request["custom_id"].split("-a")[1].split("-")[0])
        if sha in self.answers:
            text = self.answers[sha]
            reply = {"content": text, "finish_reason": "stop", "prompt_tokens": 1000,
                     "completion_tokens": len(text) // 4}
        else:
            replies = self.recorded[(sha, digest(body["response_format"]["schema"]))]
            reply = replies[attempt - 1]
        completion = {
            "id": f"chatcmpl-{n}", "object": "chat.completion", "created": 0,
            "model": body["model"],
            "choices": [{"index": 0, "finish_reason": reply["finish_reason"] or "stop",
                         "message": {"role": "assistant", "content": reply["content"]}}],
            "usage": {"prompt_tokens": reply["prompt_tokens"],
                      "completion_tokens": reply["completion_tokens"],
                      "total_tokens": reply["prompt_tokens"] + reply["completion_tokens"]}}
        return {"id": f"batch_req_{n}", "custom_id": request["custom_id"],
                "response": {"status_code": 200, "request_id": f"req_{n}", "body": completion},
                "error": None}


def _error_line(request: dict, n: int, status: int | None, code: str) -> dict:
    response = None
    if status:
        response = {"status_code": status, "request_id": f"req_{n}",
                    "body": {"error": {"type": code, "message": "scripted"}}}
    return {"id": f"batch_req_{n}", "custom_id": request["custom_id"], "response": response,
            "error": None if status else {"code": code, "message": "scripted"}}


def _jsonl(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def _recordings(path: Path) -> dict:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as c:
        rows = c.execute("select letter_sha256, schema_hash, replies from calls").fetchall()
    return {(sha, schema): json.loads(replies) for sha, schema, replies in rows}


def _handler(fake: FakeBatchAPI):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _send(self, status: int, payload, raw: bool = False) -> None:
            data = payload if raw else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/octet-stream" if raw
                             else "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length", 0)))

        def _authorized(self) -> bool:
            fake.auth.add(self.headers.get("Authorization", ""))
            if self.headers.get("Authorization") != f"Bearer {KEY}":
                self._send(401, {"error": {"type": "invalid_api_key", "message": "no"}})
                return False
            return True

        def do_POST(self):
            if not self._authorized():
                return
            with fake.lock:
                if self.path == "/v1/files":
                    self._send(200, fake.add_file(_multipart_file(self.headers, self._body())))
                elif self.path == "/v1/batches":
                    self._send(200, fake.create(json.loads(self._body())))
                else:
                    self._send(404, {"error": {"type": "not_found"}})

        def do_GET(self):
            if not self._authorized():
                return
            parts = self.path.split("?")[0].strip("/").split("/")
            with fake.lock:
                if parts[1:2] == ["batches"] and len(parts) == 2:
                    self._send(200, {"object": "list", "has_more": False,
                                     "data": [fake.public(b) for b in fake.batches]})
                elif parts[1:2] == ["batches"] and parts[2] in fake.batches:
                    self._send(200, fake.retrieve(parts[2]))
                elif parts[1:2] == ["files"] and len(parts) == 4 and parts[2] in fake.files:
                    self._send(200, fake.files[parts[2]], raw=True)
                else:
                    self._send(404, {"error": {"type": "not_found"}})

        def do_DELETE(self):
            if not self._authorized():
                return
            fid = self.path.strip("/").split("/")[-1]
            with fake.lock:
                if fake.files.pop(fid, None) is None:
                    self._send(404, {"error": {"type": "not_found"}})
                    return
                fake.deleted.append(fid)
            self._send(200, {"id": fid, "object": "file", "deleted": True})

    return Handler


def _multipart_file(headers, body: bytes) -> bytes:
    head = f"Content-Type: {headers['Content-Type']}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    for part in message.iter_parts():
        if part.get_filename():
            return part.get_payload(decode=True)
    raise ValueError("no file in the upload")
