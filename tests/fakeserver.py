"""A tiny OpenAI-compatible server on 127.0.0.1 that replays scripted replies.

It stands in for servers we cannot run offline (OpenAI, vLLM): each POST to
/v1/chat/completions takes the next scripted step: a JSON body to wrap as a
chat completion (as message content, or as a tool call when the request asked
for tools), or an HTTP status to fail with. Every request body is kept, so
tests can count calls and check what was sent.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeServer:
    def __init__(self, steps: list, owned_by: str = "vllm", model: str = "fake-model"):
        # str (reply text) | int (HTTP status) | (status, error body) | dict (full reply)
        self.steps = list(steps)
        self.owned_by = owned_by
        self.model = model
        self.requests: list[dict] = []
        self.model_lists = 0
        self.delay = 0.0             # seconds each completion takes (to see calls overlap)
        self.in_flight = self.max_in_flight = 0
        self._count = threading.Lock()
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}/v1"

    def __enter__(self) -> FakeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._http.shutdown()
        self._http.server_close()

    def _next(self, body: dict) -> tuple[int, dict]:
        self.requests.append(body)
        step = self.steps.pop(0) if self.steps else 500
        if isinstance(step, int):
            return step, {"error": {"message": f"scripted status {step}", "type": "fake"}}
        if isinstance(step, tuple):
            return step
        if isinstance(step, dict):
            text, finish = step["content"], step.get("finish_reason", "stop")
        else:
            text, finish = step, "stop"
        return 200, completion(body, text, finish)

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def _send(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                fake.model_lists += 1
                self._send(200, {"object": "list", "data": [
                    {"id": fake.model, "object": "model", "owned_by": fake.owned_by}]})

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                with fake._count:
                    fake.in_flight += 1
                    fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
                try:
                    time.sleep(fake.delay)
                    with fake._count:
                        reply = fake._next(body)
                    self._send(*reply)
                finally:
                    with fake._count:
                        fake.in_flight -= 1

        return Handler


def completion(request: dict, text: str, finish: str = "stop") -> dict:
    """A chat completion in OpenAI's shape; a tool call when tools were requested."""
    message = {"role": "assistant", "content": text}
    if request.get("tools"):
        name = request["tools"][0]["function"]["name"]
        message = {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_0", "type": "function",
             "function": {"name": name, "arguments": text}}]}
        finish = "tool_calls" if finish == "stop" else finish
    return {"id": "chatcmpl-fake", "object": "chat.completion", "created": 0,
            "model": request.get("model", "fake-model"),
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 100, "completion_tokens": max(1, len(text) // 4),
                      "total_tokens": 100 + max(1, len(text) // 4)}}
