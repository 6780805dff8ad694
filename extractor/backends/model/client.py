"""Talking to an OpenAI-compatible server: mode choice, instructor, transport retries.

instructor drives the verifier-driven retry loop (its validators see the
letter through the validation context and raise the exact failures, which
instructor sends back as a re-ask). tenacity retries transport faults (429,
5xx, timeouts, refused connections) with exponential backoff and jitter.
Every reply that came back is recorded, whatever instructor makes of it, so the
caller can let the verifier sort the good values from the bad afterwards.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pydantic
from instructor.core.exceptions import (
    IncompleteOutputException,
    InstructorError,
    InstructorRetryException,
    ResponseParsingError,
    TokenBudgetError,
    ValidationError as InstructorValidationError,
)

from extractor.errors import ModelError
from extractor.privacy import add_secret, redact

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
# A reply that came back but could not be read: an ordinary failed attempt, whose
# errors show up as rejected values.
_ATTEMPT_FAILED = (pydantic.ValidationError, InstructorValidationError, json.JSONDecodeError,
                   ResponseParsingError)


class StopAsking(Exception):
    """Raised inside a call to end the retry loop early (budget spent, request refused)."""


class NeedReply(Exception):  # noqa: N818 (a signal, not an error)
    """Raised by a sender that replays recorded replies (a batch engine's) when the loop
    wants one more: `kwargs` is the request the live path would send now."""

    def __init__(self, kwargs: dict):
        super().__init__("the next request needs an answer from a batch engine")
        self.kwargs = kwargs


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
    timeout: float = 900.0       # seconds for the whole letter, every attempt and retry
    transport_tries: int = 5
    replies: list[dict] = field(default_factory=list)
    stopped: str | None = None   # why the loop ended early, if it did
    failed: bool = False         # the loop ended on a fault, not an answer: never cached
    deadline: float = 0.0        # time.monotonic() past which no request is sent

    def __post_init__(self):
        self.deadline = time.monotonic() + self.timeout

    def time_left(self) -> float:
        return self.deadline - time.monotonic()

    @property
    def tokens_used(self) -> int:
        return sum(r["prompt_tokens"] + r["completion_tokens"] for r in self.replies)


def client(base_url: str | None, api_key: str | None, timeout: float):
    import openai

    key = api_key or os.environ.get("OPENAI_API_KEY")
    add_secret(key)
    if not key:
        if not base_url:
            raise ModelError("no API key: set OPENAI_API_KEY or give --base-url for a local server")
        key = "not-needed"  # local servers ignore it, the client insists on one
    # max_retries=0: tenacity owns transport retries, so they are counted and bounded once.
    return openai.OpenAI(base_url=base_url, api_key=key, max_retries=0, timeout=timeout)


def resolve_mode(mode: str | None, base_url: str | None, api_key: str | None,
                 timeout: float = 900) -> str:
    """The structured-output mode for this server: as configured, or probed."""
    if mode in MODES:
        return mode
    if not base_url:
        return "tools"  # OpenAI itself: instructor's default, supported by every model
    if base_url not in _probed:
        _probed[base_url] = _probe(base_url, api_key, timeout)
    return _probed[base_url]


def _probe(base_url: str, api_key: str | None, timeout: float = 900) -> str:
    import openai

    try:
        # a busy llama.cpp server answers GET /models only after the current generation
        models = client(base_url, api_key, timeout=timeout).models.list().data
    except openai.APIError as e:
        raise ModelError(f"cannot reach the model server at {shown_url(base_url)}: "
                         f"{describe(e)}") from None
    owners = {getattr(m, "owned_by", None) for m in models}
    for owner, mode in _MODE_BY_OWNER.items():
        if owner in owners:
            return mode
    return "tools"


class _Context(dict):
    """The validation context (the letter, for the verifier), falsy. instructor renders
    every message as a Jinja template when its `context` is truthy, then dedents it
    (templating.handle_templating): a letter's "{{ 7 * 7 }}" reached the model as "49",
    a "{#" or "{%" could swallow text or fail the call, and a trailing newline was
    dropped. A letter is not a template; the validators still receive the context."""

    def __bool__(self) -> bool:
        return False


def ask(req: Request, response_model, context: dict, sender=None) -> None:
    """Run instructor's loop; fill req.replies. Errors after a first reply end the loop.

    `sender(req)` gives the function instructor calls once per attempt; by default it
    asks the server. A batch engine's replays recorded replies and raises NeedReply."""
    import instructor

    if sender is None:
        openai_client = client(req.base_url, req.api_key, req.timeout)
        send = _sender(req, openai_client)
    else:
        if getattr(sender, "settled", None) and sender.settled(req, response_model, context):
            return
        send = sender(req)
    mode = getattr(instructor.Mode, _INSTRUCTOR_MODE[req.mode])
    create = instructor.patch(create=send, mode=mode)
    try:
        create(response_model=response_model, messages=req.messages, model=req.model,
               context=_Context(context), max_retries=max(req.max_attempts - 1, 0), strict=False,
               token_budget=req.token_budget, **req.params)
    except InstructorError as e:
        cause = e.__cause__ or e
        if isinstance(cause, (ModelError, NeedReply)):
            raise cause from None
        if not req.replies:
            raise ModelError(f"model call failed: {describe(cause)}") from None
        req.stopped = req.stopped or _why(e if isinstance(e, TokenBudgetError) else cause, req)
    except StopAsking:
        pass
    except (ModelError, NeedReply):
        raise
    except Exception as e:  # the SDK raised outside instructor's loop
        if not req.replies:
            raise ModelError(f"model call failed: {describe(e)}") from None
        req.stopped, req.failed = describe(e), True


def accepts(mode: str, response_model, context: dict, response) -> bool:
    """Whether instructor's loop takes `response` as the answer: its own parser for the
    mode, with the answer model's validators (the verifier) seeing `context`. The same
    call its loop makes after each reply, without the loop's per-call set-up (which a
    batch engine's import, 10,000 letters at a time, would feel)."""
    import instructor
    from instructor.v2.core.providers import Provider
    from instructor.v2.core.registry import mode_registry

    handlers = mode_registry.get_handlers(
        Provider.OPENAI, getattr(instructor.Mode, _INSTRUCTOR_MODE[mode]))
    try:
        handlers.response_parser(response=response, response_model=_prepared(response_model),
                                 validation_context=context, strict=False, stream=False,
                                 is_async=False)
    except (*_ATTEMPT_FAILED, InstructorError):
        return False
    return True


@functools.lru_cache(maxsize=256)
def _prepared(response_model):
    from instructor.v2.core.response_model import prepare_response_model

    return prepare_response_model(response_model)


def _why(cause: BaseException, req: Request) -> str | None:
    if isinstance(cause, TokenBudgetError):
        return "token budget spent"
    if isinstance(cause, (StopAsking, IncompleteOutputException, InstructorRetryException,
                          *_ATTEMPT_FAILED)):
        # StopAsking: the reason was recorded where it was raised; a cut-off reply says
        # so itself (finish_reason "length"); replies that failed validation, up to the
        # last attempt, are ordinary failed attempts whose errors become rejected values.
        return None
    req.failed = True
    return describe(cause)


def _sender(req: Request, openai_client):
    """The create function instructor calls once per attempt."""
    import openai
    from tenacity import (
        Retrying,
        retry_if_exception_type,
        stop_after_attempt,
        stop_any,
        wait_random_exponential,
    )

    transient = (openai.RateLimitError, openai.InternalServerError, openai.APIConnectionError)

    transient = (*transient, openai.APITimeoutError)
    # Stop retrying after transport_tries, or once the letter's deadline has passed.
    stop = stop_any(stop_after_attempt(req.transport_tries), lambda _: req.time_left() <= 0)

    def send(**kwargs: Any):
        prepare_call(req, kwargs)
        started = time.monotonic()
        tries = 0
        try:
            for attempt in Retrying(retry=retry_if_exception_type(transient), reraise=True,
                                    stop=stop,
                                    wait=wait_random_exponential(multiplier=0.5, max=10)):
                with attempt:
                    tries += 1
                    _check_time(req)
                    response = openai_client.with_options(
                        timeout=req.time_left()).chat.completions.create(**kwargs)
        except transient as e:
            _give_up(req, f"model server at {shown_url(req.base_url)} failed "
                          f"{tries} times: {describe(e)}")
        except openai.APIStatusError as e:  # 400, 401, 404...: asking again will not help
            _give_up(req, f"the server refused the request: {describe(e)}")
        req.replies.append(reply_of(response, time.monotonic() - started))
        return response

    return send


def prepare_call(req: Request, kwargs: dict) -> None:
    """What every attempt does to instructor's request before it is sent: the
    per-call token cap within the letter's budget, and our decoding schema."""
    left = req.token_budget - req.tokens_used
    if req.replies and left <= 0:
        req.stopped = "token budget spent"
        raise StopAsking
    kwargs["max_tokens"] = max(1, min(kwargs.get("max_tokens") or left, left))
    _constrain(req, kwargs)


def _check_time(req: Request) -> None:
    if req.time_left() <= 0:
        _give_up(req, f"no answer within --timeout {req.timeout:g}s")


def _give_up(req: Request, message: str):
    """No reply yet: the letter cannot be done. Otherwise keep what came back, but the
    answer is incomplete: it is reported, never cached."""
    if not req.replies:
        raise ModelError(message)
    req.stopped, req.failed = message, True
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


def reply_of(response, seconds: float) -> dict:
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


def describe(e: BaseException) -> str:
    """An error in a few words: its type and, for a server's answer, the status code and
    error type. Never the message or body: a server may echo the prompt (the letter)."""
    import openai

    if isinstance(e, openai.APIStatusError):
        kind = _error_type(e.body)
        return f"HTTP {e.status_code} {type(e).__name__}" + (f" ({kind})" if kind else "")
    if isinstance(e, openai.APIConnectionError):  # fixed texts: "Connection error." ...
        cause = e.__cause__
        return f"{type(e).__name__}" + (f" ({type(cause).__name__})" if cause else "")
    return type(e).__name__


def _error_type(body) -> str | None:
    """OpenAI's error shape: {"error": {"type": "...", "code": "..."}}; a short word only."""
    error = body.get("error", body) if isinstance(body, dict) else None
    kind = error.get("type") or error.get("code") if isinstance(error, dict) else None
    kind = str(kind) if kind is not None else ""
    return kind if kind.replace("_", "").replace("-", "").isalnum() and len(kind) <= 40 else None


def shown_url(base_url: str | None) -> str:
    """The server as we name it in messages: no user:password, no query string."""
    if not base_url:
        return "OpenAI"
    try:
        parts = urlsplit(base_url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return redact(base_url)
    host = f"[{host}]" if ":" in host else host
    return urlunsplit((parts.scheme, host + port, parts.path, "", ""))
