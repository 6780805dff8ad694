"""Model backends: `llm` (the model fills the record) and `hybrid` (rules first,
the model only for what rules left empty). Either way only the verifier builds
the record, so nothing the model invents reaches it: it lands in `rejected`.

Flow per letter: build the request (versioned prompt, few-shot example, the
answer schema, grounded or free) -> cache lookup by key -> else instructor's
verifier-driven retry loop against the server -> every reply recorded ->
the reply with the most verified values is handed to `verify.verify`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from dataclasses import dataclass, field, replace

from extractor.backends.model import answer, cache, grounded, prompts
from extractor.backends.model.client import MODES, ModelError, Request, ask, resolve_mode
from extractor.config import Config
from extractor.core.ingest import Document
from extractor.core.normalize import canonical
from extractor.core.schema import FIELDS, Claim, ExtractorInfo, Record, Rejected, Usage
from extractor.core.verify import check, kind_key, verify
from extractor.privacy import redact

__all__ = ["ModelError", "extract_hybrid", "extract_record"]

CALL_MAX_TOKENS = 1024    # completion cap per call (Config.extra / IMR_EXTRACT_CALL_MAX_TOKENS)


@dataclass
class Outcome:
    claims: list[Claim] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    failure: str | None = None   # why the model gave no complete answer, if it did not


# -- backends -----------------------------------------------------------------
def extract_record(doc: Document, config: Config, engine: Engine | None = None) -> Record:
    out = run(doc, config, answer.FIELD_NAMES, engine)
    return _finish(doc, config, "llm", out.claims, out, [])


def extract_hybrid(doc: Document, config: Config, rules_claims: list[Claim],
                   rules_warnings: list[str], engine: Engine | None = None) -> Record:
    first = verify(doc, rules_claims, ExtractorInfo(backend="rules"))
    wanted = missing_fields(first)
    try:
        out = run(doc, config, wanted, engine) if wanted else Outcome()
    except ModelError as e:
        if config.strict:
            raise
        # The model could not be asked at all: the rules' record, saying why.
        out = Outcome(failure=str(e), warnings=[f"model failed, rules only: {e}"])
    # Rules claims go first: where both verify and disagree, rules win and
    # verify._keep_first names the field in a warning.
    claims = rules_claims + _align_items(doc, rules_claims, out.claims)
    return _finish(doc, config, "hybrid", claims, out, rules_warnings)


def _finish(doc, config, backend, claims, out: Outcome, warnings) -> Record:
    info = ExtractorInfo(backend=backend, model=config.model,
                         prompt_version=prompts.load().version)
    warnings = [redact(w) for w in [*warnings, *out.warnings]]  # no credentials, ever
    record = verify(doc, claims, info, usage=out.usage, warnings=warnings)
    record.rejected += out.rejected
    return record


def missing_fields(record: Record) -> tuple[str, ...]:
    """Answer fields the rules left empty (items: none found, or one lacks a gap field)."""
    data = record.model_dump()
    wanted = [name for name, path in answer.PATHS.items()
              if name != "items" and not _get(data, path)]
    gaps = [f.local for f in FIELDS.values() if f.spec.gap]
    if not data["items"] or any(_get(item, g) is None for item in data["items"] for g in gaps):
        wanted.append("items")
    return tuple(name for name in answer.FIELD_NAMES if name in wanted)


def _get(data: dict, path: str):
    for part in path.split("."):
        data = data.get(part) if isinstance(data, dict) else None
    return data


def _align_items(doc: Document, rules_claims: list[Claim], claims: list[Claim]) -> list[Claim]:
    """Renumber the model's items to match the rules' items with the same treatment."""
    known = {}
    for c in rules_claims:
        if c.field.endswith("].treatment") and not isinstance(check(doc, c), str):
            known.setdefault(canonical(str(c.value)).lower(), kind_key(c.field)[1])
    taken = [kind_key(c.field)[1] for c in rules_claims if c.field.startswith("items[")]
    next_free = max(taken, default=-1) + 1
    mapping: dict[int, int] = {}
    for c in claims:
        if c.field.endswith("].treatment") and isinstance(c.value, str):
            i = kind_key(c.field)[1]
            j = known.get(canonical(c.value).lower())
            if j is None:
                j, next_free = next_free, next_free + 1
            mapping.setdefault(i, j)
    out = []
    for c in claims:
        if c.field.startswith("items["):
            i = kind_key(c.field)[1]
            if i not in mapping:  # an item with no treatment: give it its own slot
                mapping[i], next_free = next_free, next_free + 1
            c = replace(c, field=re.sub(r"^items\[\d+\]", f"items[{mapping[i]}]", c.field))
        out.append(c)
    return out


# -- one model question for one letter ----------------------------------------
@dataclass
class Engine:
    """Where answers come from instead of a live server (a batch engine): `sender(req)`
    gives instructor's per-attempt function (see client.ask), and `store` stands in for
    the call cache (any object with get, put, servers and path)."""
    sender: object
    store: object


def run(doc: Document, config: Config, fields: tuple[str, ...],
        engine: Engine | None = None) -> Outcome:
    model_cls = answer.answer_model(fields)
    prompt = prompts.load()
    messages = build_messages(prompt, doc, fields)
    server_schema = model_cls.model_json_schema()
    if config.grounded:
        server_schema = grounded.schema(server_schema, doc)
    params = {"temperature": 0.0, "seed": 0, "max_tokens": call_max_tokens(config)}
    cache_ = contextlib.nullcontext(engine.store) if engine else _open_cache(config)
    with cache_ as store:
        out = _ask_or_replay(doc, config, model_cls, store, messages, server_schema, params,
                             prompt.version, engine.sender if engine else None)
    if out.failure and config.strict:
        raise ModelError(f"{doc.path}: {out.failure}")
    return out


def _ask_or_replay(doc, config, model_cls, store, messages, server_schema, params,
                   prompt_version, sender=None) -> Outcome:
    base = dict(model=config.model, server=cache.server_id(config.base_url),
                prompt_version=prompt_version, schema_hash=cache.digest(server_schema),
                params={**params, "max_attempts": config.max_attempts,
                        "token_budget": config.max_tokens},
                letter_sha256=doc.sha256, request_hash=cache.digest(messages))
    hit = _lookup(store, config, base)
    if hit is not None:
        out = interpret(doc, model_cls, hit["replies"], cached=True, stopped=hit["note"])
        if not out.failure or config.offline:  # a failure recorded by an older version
            return out
    if config.offline:
        raise ModelError(f"{doc.path}: not in the cache and --offline is set "
                         f"(model {config.model}, cache {store.path if store else 'disabled'})")
    mode = resolve_mode(config.mode, config.base_url, config.api_key, config.timeout)
    req = Request(model=config.model, base_url=config.base_url, api_key=config.api_key,
                  mode=mode, messages=messages, server_schema=server_schema, params=params,
                  max_attempts=config.max_attempts, token_budget=config.max_tokens,
                  timeout=config.timeout,
                  transport_tries=int(config.extra.get("transport_tries", 5)))
    ask(req, model_cls, {"doc": doc}, sender)
    out = interpret(doc, model_cls, req.replies, cached=False, stopped=req.stopped)
    if req.failed:
        out.failure = out.failure or req.stopped
    elif store is not None and not out.failure:  # only complete answers are replayed
        store.put(cache.call_key(mode=mode, **base), _entry(req, base, config))
    return out


def call_max_tokens(config: Config) -> int:
    value = config.extra.get("call_max_tokens") or os.environ.get("IMR_EXTRACT_CALL_MAX_TOKENS")
    return int(value or CALL_MAX_TOKENS)


def _lookup(store: cache.Cache | None, config: Config, base: dict) -> dict | None:
    """A recorded call for this request, trying each mode when the mode is auto.

    Offline with no server given, a recording from any server counts: replaying
    `--model smollm2-135m --offline` needs no made-up URL."""
    if store is None:
        return None
    modes = [config.mode] if config.mode in MODES else list(MODES)
    servers = [base["server"]]
    if config.offline and not config.base_url:
        servers += store.servers(base["model"], base["letter_sha256"])
    for server in servers:
        for mode in modes:
            hit = store.get(cache.call_key(mode=mode, **{**base, "server": server}))
            if hit is not None:
                return hit
    return None


def _open_cache(config: Config):
    if not config.use_cache:
        return contextlib.nullcontext(None)
    return cache.Cache(config.cache_path or cache.default_path())


def _entry(req: Request, base: dict, config: Config) -> dict:
    replies = req.replies
    return {"model": base["model"], "server": base["server"], "mode": req.mode,
            "prompt_version": base["prompt_version"], "schema_hash": base["schema_hash"],
            "letter_sha256": base["letter_sha256"], "request_hash": base["request_hash"],
            # the request holds the letter: stored only on explicit opt-in
            "request": req.messages if config.extra.get("log_requests") else None,
            "replies": replies,
            "prompt_tokens": sum(r["prompt_tokens"] for r in replies),
            "completion_tokens": sum(r["completion_tokens"] for r in replies),
            "attempts": len(replies), "latency_ms": sum(r["latency_ms"] for r in replies),
            "note": req.stopped}


def build_messages(prompt: prompts.Prompt, doc: Document, fields: tuple[str, ...]) -> list[dict]:
    example = {k: v for k, v in prompt.example_answer.items() if k in fields}
    names = ", ".join(fields)
    return [
        {"role": "system", "content": prompt.system},
        {"role": "user", "content": prompt.user.format(fields=names, letter=prompt.example_letter)},
        {"role": "assistant", "content": json.dumps(example, ensure_ascii=False)},
        {"role": "user", "content": prompt.user.format(fields=names, letter=letter_view(doc.text))},
    ]


def letter_view(text: str) -> str:
    """The letter without blank lines and trailing blanks: fewer tokens, same words.
    (Quotes are matched after whitespace normalization, so this loses nothing.)"""
    lines = (line.rstrip() for line in text.replace("\r\n", "\n").replace("\f", "\n").split("\n"))
    return "\n".join(line for line in lines if line.strip())


# -- replies -> claims ------------------------------------------------------------
def interpret(doc: Document, model_cls, replies: list[dict], cached: bool,
              stopped: str | None = None) -> Outcome:
    """Claims of the reply with the most verified values; usage summed over all.
    The same for a live run and its replay from the cache."""
    out = Outcome(usage=Usage(prompt_tokens=sum(r["prompt_tokens"] for r in replies),
                              completion_tokens=sum(r["completion_tokens"] for r in replies),
                              attempts=len(replies), cached=cached))
    if stopped:
        out.warnings.append(f"model: stopped early: {stopped}")
    n, claims, problems = _best_reply(doc, model_cls, replies)
    if not claims and problems:  # nothing usable came back
        reason = "; ".join(problems)
        out.failure = f"no usable reply in {len(replies)} attempt(s)"
        out.warnings.append(f"model: {out.failure}: {reason}")
        out.rejected.append(Rejected(field="(model reply)",
                                     reason=f"malformed model reply: {reason}"))
        return out
    out.claims = claims
    out.warnings += [f"model reply {n}/{len(replies)}: {p}" for p in problems[:5]]
    return out


def _best_reply(doc: Document, model_cls, replies: list[dict]) -> tuple[int, list, list[str]]:
    """(number, claims, problems) of the reply with the most verified claims, the later
    one on a tie; a reply that could not be read at all only wins when none could."""
    best, best_score = (0, [], ["no reply"]), -2
    for n, reply in enumerate(replies, 1):
        parsed, problems = answer.parse_reply(reply["content"], model_cls)
        if reply.get("finish_reason") == "length":
            problems.insert(0, "reply cut off at the token limit")
        claims = parsed.claims() if parsed else []
        score = sum(not isinstance(check(doc, c), str) for c in claims) if parsed else -1
        if score >= best_score:
            best, best_score = (n, claims, problems), score
    return best
