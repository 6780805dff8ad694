"""One letter, one step: its next request for the engine, or its record.

`advance` runs the live path (backend.extract_record / extract_hybrid) with a sender
that replays the engine's answers recorded so far. Where the live path would send a
request that has no answer yet, the sender raises NeedReply with exactly that request:
the first one for a new letter, or the re-ask carrying the verifier's errors after an
answer that failed verification. Where the live path would be done (an answer
verified, --max-attempts or the token budget spent), the result is the record a live
run stores, and the call-cache entry it would write. Pure: runs in any process.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from extractor.backends import rules
from extractor.backends.model import backend as llm, cache, prompts
from extractor.backends.model.client import NeedReply, accepts, prepare_call, reply_of
from extractor.batch import store
from extractor.batch.engines.settings import Settings
from extractor.core import ingest
from extractor.errors import ImrError, ModelError

CHANGED = ("the request this answer is for is not what imr-extract sends now (prompt, "
           "schema or settings changed since it was written); request the letter again")


@dataclass
class Job:
    path: str
    sha256: str
    data: bytes
    settings: Settings
    answers: list[dict] = field(default_factory=list)   # chat completions, attempt order
    bodies: list[str] = field(default_factory=list)     # digest of each answered request
    max_bytes: int = 10_000_000


@dataclass
class Step:
    kind: str                      # "request" | "record" | "failed"
    format: str | None = None
    rows: dict | None = None       # kind record: the results-database rows
    body: dict | None = None       # kind request: the request body to send
    attempt: int = 0
    error: str | None = None
    cache_entries: list = field(default_factory=list)   # (key, entry) to store
    data: dict | None = None       # kind record: the record's JSON form


class EngineCache:
    """Stands in for the call cache: looks answers up in `lookup` (when requests are
    written, a letter answered before needs no request), and keeps what would be
    stored for the writer to store, a group at a time."""

    def __init__(self, lookup: cache.Cache | None):
        self.lookup = lookup
        self.path = lookup.path if lookup else None
        self.entries: list[tuple[str, dict]] = []

    def get(self, key: str) -> dict | None:
        return self.lookup.get(key) if self.lookup else None

    def servers(self, model: str, letter_sha256: str) -> list[str]:
        return self.lookup.servers(model, letter_sha256) if self.lookup else []

    def put(self, key: str, entry: dict) -> None:
        self.entries.append((key, entry))


class Replayer:
    """A sender (see client.ask) answering each attempt from `answers`.

    `settled`: when the last answer is one instructor's loop takes (client.accepts),
    the loop would end there, with every answer as its replies: they are given without
    running it. Otherwise the loop runs, replaying the answers, to build the re-ask."""

    def __init__(self, answers: list[dict], bodies: list[str]):
        self.answers, self.bodies = answers, bodies

    def completions(self):
        from openai.types.chat import ChatCompletion

        return [ChatCompletion.model_validate(a) for a in self.answers]

    def settled(self, req, response_model, context: dict) -> bool:
        if not self.answers:
            return False
        responses = self.completions()
        if not accepts(req.mode, response_model, context, responses[-1]):
            return False
        req.replies = [reply_of(r, 0.0) for r in responses]
        return True

    def __call__(self, req):
        responses = self.completions()

        def send(**kwargs):
            prepare_call(req, kwargs)
            n = len(req.replies)
            if n >= len(responses):
                raise NeedReply(kwargs)
            if n < len(self.bodies) and self.bodies[n] != cache.digest(kwargs):
                raise ModelError(CHANGED)
            req.replies.append(reply_of(responses[n], 0.0))
            return responses[n]
        return send


def advance(job: Job, lookup: cache.Cache | None = None) -> Step:
    try:
        doc = ingest.from_bytes(job.data, job.path, job.max_bytes)
    except ImrError as e:
        return Step("failed", error=_line(job.path, e))
    if job.settings.prompt_version != prompts.load().version:  # answers to another prompt
        return Step("failed", doc.format, error=_line(job.path, ModelError(CHANGED)))
    config = job.settings.config(job.max_bytes)
    engine = llm.Engine(sender=Replayer(job.answers, job.bodies), store=EngineCache(lookup))
    try:
        if config.backend == "llm":
            record = llm.extract_record(doc, config, engine)
        else:
            record = llm.extract_hybrid(doc, config, *rules.extract(doc), engine)
    except NeedReply as e:
        return Step("request", doc.format, body=e.kwargs, attempt=len(job.answers) + 1)
    except ImrError as e:
        return Step("failed", doc.format, error=_line(job.path, e))
    data = record.model_dump(mode="json")
    return Step("record", doc.format, rows=store.record_rows(data), data=data,
                cache_entries=engine.store.entries)


def _line(path: str, e: ImrError) -> str:
    text = str(e)
    return text if text.startswith(path) else f"{path}: {text}"
