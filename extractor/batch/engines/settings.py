"""What a batch request depends on, stored with it: the import rebuilds the exact
configuration of the request from these, whatever options the import is run with.

No secret is in here: the server is its cache identity (scheme, host, port, path;
never `user:password@` or a query string), and the API key is never stored.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from dataclasses import dataclass

from extractor.backends.model import backend as llm, cache, prompts
from extractor.backends.model.client import MODES, resolve_mode
from extractor.config import Config
from extractor.errors import UsageError

ENGINES = ("batch-file", "batch-api")
# A request file is run by an engine we cannot ask: vLLM and OpenAI both take json_schema.
FILE_MODE = "json_schema"


@dataclass(frozen=True)
class Settings:
    backend: str
    model: str
    mode: str
    server: str            # cache.server_id: the server the answers count for in the cache
    prompt_version: str
    grounded: bool
    max_attempts: int
    max_tokens: int        # token budget per letter over all attempts
    call_max_tokens: int

    @functools.cached_property  # asked for every letter: worth keeping (frozen: works)
    def key(self) -> str:
        return cache.digest(self.to_json())[:16]

    @functools.cached_property
    def fingerprint(self) -> str:
        """The results database's configuration fingerprint (letters.fingerprint) of a
        live run with these settings: a later live batch skips what the engine did."""
        from extractor.batch import run as live

        return live.fingerprint(live.extractor_info(self.config(0)))

    def to_json(self) -> str:
        return json.dumps({f.name: getattr(self, f.name) for f in dataclasses.fields(self)},
                          sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Settings:
        return cls(**json.loads(text))

    def config(self, max_bytes: int) -> Config:
        """The configuration a live run with these settings has (always strict: a letter
        with no usable answer fails, as in `batch`)."""
        return Config(backend=self.backend, model=self.model, base_url=self.server,
                      mode=self.mode, grounded=self.grounded, max_attempts=self.max_attempts,
                      max_tokens=self.max_tokens, strict=True, max_bytes=max_bytes,
                      extra={"call_max_tokens": self.call_max_tokens})


def from_config(config: Config, engine: str) -> Settings:
    if config.backend not in ("llm", "hybrid"):
        raise UsageError(f"--engine {engine} needs --backend llm or hybrid (the rules need "
                         "no engine: run `batch` without --engine)")
    if config.offline:
        raise UsageError(f"--engine {engine} asks a model: it cannot be --offline")
    return Settings(backend=config.backend, model=config.model, mode=_mode(config, engine),
                    server=cache.server_id(config.base_url),
                    prompt_version=prompts.load().version, grounded=config.grounded,
                    max_attempts=config.max_attempts, max_tokens=config.max_tokens,
                    call_max_tokens=llm.call_max_tokens(config))


def _mode(config: Config, engine: str) -> str:
    if config.mode in MODES:
        return config.mode
    if engine == "batch-file":  # no server to probe; the file's engine is unknown
        return FILE_MODE
    return resolve_mode(None, config.base_url, config.api_key, config.timeout)
