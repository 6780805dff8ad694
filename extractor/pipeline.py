"""One letter through the stages: ingest -> extract -> verify."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from extractor.backends import rules
from extractor.config import Config
from extractor.core import ingest
from extractor.core.ingest import Document
from extractor.core.verify import verify, verify_data

if TYPE_CHECKING:
    from extractor.core.schema import Record


def extract_path(path: str | Path, config: Config | None = None) -> Record:
    config = config or Config()
    return extract_document(ingest.load(path, config.max_bytes), config)


def extract_data(doc: Document, config: Config | None = None) -> dict:
    """The record's JSON form (`Record.model_dump(mode="json")`). The rules path builds
    it without pydantic (not even imported): its values are ours, checked by the
    verifier, so validating them again would only cost start-up time and ~0.1 ms a letter."""
    config = config or Config()
    if config.backend == "rules":
        claims, warnings = rules.extract(doc)
        return verify_data(doc, claims, {"backend": "rules"}, warnings=warnings)
    return extract_document(doc, config).model_dump(mode="json")


def extract_document(doc: Document, config: Config | None = None) -> Record:
    from extractor.core.schema import ExtractorInfo  # pydantic: a model is asked for

    config = config or Config()
    if config.backend == "rules":
        claims, warnings = rules.extract(doc)
        return verify(doc, claims, ExtractorInfo(backend="rules"), warnings=warnings)
    from extractor.backends.model import backend as llm  # lazily: rules need no model client

    if config.backend == "llm":
        return llm.extract_record(doc, config)
    if config.backend == "hybrid":
        return llm.extract_hybrid(doc, config, *rules.extract(doc))
    raise ValueError(f"unknown backend {config.backend!r}")
