"""How to extract: the one settings object every stage reads (and none writes)."""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_MAX_BYTES = 10_000_000  # a letter is 5-50 KB as text, a few MB as a scanned PDF


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
    timeout: float = 900.0           # seconds per letter for the model, every attempt and retry
    strict: bool = False             # a model failure fails the letter (else: reported, hybrid
                                     # falls back to the rules' record)
    max_bytes: int = DEFAULT_MAX_BYTES  # largest file read; also bounds the decoded text
    extra: dict = field(default_factory=dict)
