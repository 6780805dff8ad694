"""Talking to an OpenAI-compatible server: mode choice, instructor, transport retries.

instructor drives the verifier-driven retry loop (its validators see the
letter through the validation context and raise the exact failures, which
instructor sends back as a re-ask). tenacity retries transport faults (429,
5xx, timeouts, refused connections) with exponential backoff and jitter.
Every reply that came back is recorded, whatever instructor makes of it, so the
caller can let the verifier sort the good values from the bad afterwards.
"""

from __future__ import annotations

from extractor.errors import ModelError

import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any

MODES = ("json_object", "json_schema", "tools")
_INSTRUCTOR_MODE = {"json_object": "JSON", "json_schema": "JSON_SCHEMA", "tools": "TOOLS"}
# `owned_by` in GET /models tells servers apart without spending a model call.
_MODE_BY_OWNER = {"me": "json_object",          # llama-cpp-python's server
                  "llamacpp": "json_object",    # llama.cpp's llama-server
                  "vllm": "json_schema",
                  "library": "json_object"}     # Ollama
_probed: dict[str, str] = {}
# instructor logs every failed attempt at ERROR level; with no handler configured Python
# would print those to stderr, breaking the one-line error rule. Failures are reported
# through warnings and exceptions instead.
logging.getLogger("instructor").addHandler(logging.NullHandler())




class StopAsking(Exception):
    """Raised inside a call to end the retry loop early (budget spent, request refused)."""


@dataclass
class Request:
    model: str
    base_url: str | None
    api_key: str | None
    mode: str
    messages: list[dict]
    server_schema: dict          # what the server constrains decoding with
    params: dict                 # temperature, max_tokens (per call), seed
    max_attempts: int
    token_budget: int
    timeout: float = 600.0
    transport_tries: int = 5
    replies: list[dict] = field(default_factory=list)
    stopped: str | None = None   # why the loop ended early, if it did

    @property
    def tokens_used(self) -> int:
        return sum(r["prompt_tokens"] + r["completion_tokens"] for r in self.replies)


def client(base_url: str | None, api_key: str | None, timeout: float):
    import openai

    key = api_key or os.environ.get("OPENAI_API_KEY")
    if not key:
        if not base_url:
            raise ModelError("no API key: set OPENAI_API_KEY or give --base-url for a local server")
        key = "not-needed"  # local servers ignore it, the client insists on one
    # max_retries=0: tenacity owns transport retries, so they are counted and bounded once.
    return openai.OpenAI(base_url=base_url, api_key=key, max_retries=0, timeout=timeout)


def resolve_mode(mode: str | None, base_url: str | None, api_key: str | None) -> str:
    """The structured-output mode for this server: as configured, or probed."""
    if mode in MODES:
        return mode
    if not base_url:
        return "tools"  # OpenAI itself: instructor's default, supported by every model
    if base_url not in _probed:
        _probed[base_url] = _probe(base_url, api_key)
    return _probed[base_url]


def _probe(base_url: str, api_key: str | None) -> str:
    import openai

    try:
        # a busy llama.cpp server answers GET /models only after the current generation
        models = client(base_url, api_key, timeout=600).models.list().data
    except openai.APIError as e:
        raise ModelError(f"cannot reach the model server at {base_url}: {_short(e)}") from None
    owners = {getattr(m, "owned_by", None) for m in models}
    for owner, mode in _MODE_BY_OWNER.items():
        if owner in owners:
            return mode
    return "tools"


def ask(req: Request, response_model, context: dict) -> None:
    """Run instructor's loop; fill req.replies. Errors after a first reply end the loop."""
    import instructor
    from instructor.core.exceptions import InstructorError

    openai_client = client(req.base_url, req.api_key, req.timeout)
    mode = getattr(instructor.Mode, _INSTRUCTOR_MODE[req.mode])
    create = instructor.patch(create=_sender(req, openai_client), mode=mode)
    try:
        create(response_model=response_model, messages=req.messages, model=req.model,
               context=context, max_retries=max(req.max_attempts - 1, 0), strict=False,
               token_budget=req.token_budget, **req.params)
    except InstructorError as e:
        cause = e.__cause__ or e
        if isinstance(cause, ModelError):
            raise cause from None
        if not req.replies:
            raise ModelError(f"model call failed: {_short(cause)}") from None
        req.stopped = req.stopped or _why(e if "Budget" in type(e).__name__ else cause)
    except StopAsking:
        pass
    except ModelError:
        raise
    except Exception as e:  # the SDK raised outside instructor's loop
        if not req.replies:
            raise ModelError(f"model call failed: {_short(e)}") from None
        req.stopped = _short(e)


def _why(cause: BaseException) -> str | None:
    name = type(cause).__name__
    if isinstance(cause, StopAsking):
        return None  # the reason was recorded where it was raised
    if name == "IncompleteOutputException":
        return None  # the reply itself says so (finish_reason "length")
    if "Budget" in name:
        return "token budget spent"
    if name in ("ValidationError", "JSONDecodeError", "ResponseParsingError"):
        return None  # an ordinary failed attempt: its errors show up as rejected values
    return _short(cause)


def _sender(req: Request, openai_client):
    """The create function instructor calls once per attempt."""
    import openai
    from tenacity import (
        Retrying,
        retry_if_exception_type,
        stop_after_attempt,
        wait_random_exponential,
    )

    transient = (openai.RateLimitError, openai.InternalServerError, openai.APIConnectionError)

    def send(**kwargs: Any):
        left = req.token_budget - req.tokens_used
        if req.replies and left <= 0:
            req.stopped = "token budget spent"
            raise StopAsking
        kwargs["max_tokens"] = max(1, min(kwargs.get("max_tokens") or left, left))
        _constrain(req, kwargs)
        started = time.monotonic()
        try:
            for attempt in Retrying(retry=retry_if_exception_type(transient), reraise=True,
                                    stop=stop_after_attempt(req.transport_tries),
                                    wait=wait_random_exponential(multiplier=0.5, max=10)):
                with attempt:
                    response = openai_client.chat.completions.create(**kwargs)
        except transient as e:
            _give_up(req, f"model server at {req.base_url or 'OpenAI'} failed "
                          f"{req.transport_tries} times: {_short(e)}")
        except openai.APIStatusError as e:  # 400, 401, 404...: asking again will not help
            _give_up(req, f"the server refused the request: {_short(e)}")
        req.replies.append(_reply(response, time.monotonic() - started))
        return response

    return send


def _give_up(req: Request, message: str):
    """No reply yet: the letter cannot be done. Otherwise keep what came back."""
    if not req.replies:
        raise ModelError(message)
    req.stopped = message
    raise StopAsking


def _constrain(req: Request, kwargs: dict) -> None:
    """Put our decoding schema where the server reads it (instructor sends the model's own)."""
    if req.mode == "json_object":
        # llama.cpp's form: it compiles `schema` into a grammar. (It rejects json_schema.)
        kwargs["response_format"] = {"type": "json_object", "schema": req.server_schema}
        # instructor's JSON mode also pastes the whole schema into the system message
        # (~2000 tokens). The grammar already enforces it and the few-shot example shows
        # it, so our own system text goes back: half the prompt on a small local model.
        kwargs["messages"] = [req.messages[0], *kwargs["messages"][1:]]
    elif req.mode == "json_schema":
        kwargs["response_format"]["json_schema"]["schema"] = req.server_schema
    elif req.mode == "tools":
        kwargs["tools"][0]["function"]["parameters"] = req.server_schema


def _reply(response, seconds: float) -> dict:
    choice = response.choices[0] if response.choices else None
    message = choice.message if choice else None
    text = (message.content if message else None) or ""
    if message is not None and message.tool_calls:
        text = message.tool_calls[0].function.arguments or ""
    usage = response.usage
    return {"content": text, "finish_reason": choice.finish_reason if choice else None,
            "prompt_tokens": getattr(usage, "prompt_tokens", 0) or 0,
            "completion_tokens": getattr(usage, "completion_tokens", 0) or 0,
            "latency_ms": int(seconds * 1000)}


def _short(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return f"{type(e).__name__}: {text[:300]}" if text else type(e).__name__
