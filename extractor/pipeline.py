"""One letter through the stages: ingest -> extract -> verify."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from . import ingest, rules
from .ingest import Document
from .schema import ExtractorInfo, Record
from .verify import verify


@dataclass
class Config:
    """How to extract. Model settings are ignored by the rules backend."""

    backend: str = "rules"
    model: str | None = None
    base_url: str | None = None
    api_key: str | None = None
    mode: str | None = None          # instructor mode: json_object | json_schema | tools | auto
    grounded: bool = False           # constrained decoding: text fields chosen from letter segments
    cache_path: str | None = None
    use_cache: bool = True
    offline: bool = False
    max_attempts: int = 3
    max_tokens: int = 20000          # per-letter budget over all attempts
    extra: dict = field(default_factory=dict)


def extract_path(path: str | Path, config: Config | None = None) -> Record:
    return extract_document(ingest.load(path), config or Config())


def extract_document(doc: Document, config: Config | None = None) -> Record:
    config = config or Config()
    if config.backend == "rules":
        claims, warnings = rules.extract(doc)
        return verify(doc, claims, ExtractorInfo(backend="rules"), warnings=warnings)
    from . import llm  # imported lazily: the rules path needs no model client

    if config.backend == "llm":
        return llm.extract_record(doc, config)
    if config.backend == "hybrid":
        return llm.extract_hybrid(doc, config, *rules.extract(doc))
    raise ValueError(f"unknown backend {config.backend!r}")
