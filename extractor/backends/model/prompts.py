"""Versioned prompt files: prompts/<version>/{system.md, user.md, example_*}.

The prompt version and a hash of its files go into every model-made record
(`extractor.prompt_version`, e.g. "v1+sha256:abcd1234") and into the cache key,
so editing a prompt file can never silently reuse answers made with the old one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from extractor.errors import UsageError
from extractor.resources import data_path

VERSION = "v1"
PROMPTS_DIR = data_path("prompts")


@dataclass(frozen=True)
class Prompt:
    version: str          # "v1+sha256:abcd1234"
    system: str
    user: str             # template with {fields} and {letter}
    example_letter: str
    example_answer: dict


def _dir_hash(root: Path) -> str:
    """sha256 over every file under root: relative path and bytes, in path order."""
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(path.relative_to(root).as_posix().encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()


def prompts_hash() -> str:
    """Content hash of the whole prompts/ directory (the eval CI gate compares it)."""
    return _dir_hash(PROMPTS_DIR)


@lru_cache(maxsize=4)
def load(version: str = VERSION) -> Prompt:
    root = PROMPTS_DIR / version
    if not root.is_dir():
        raise UsageError(f"prompt version {version!r} not found in {PROMPTS_DIR}")

    def read(name: str) -> str:
        return (root / name).read_text(encoding="utf-8")

    return Prompt(
        version=f"{version}+sha256:{_dir_hash(root)[:8]}",
        system=read("system.md").strip(),
        user=read("user.md"),
        example_letter=read("example_letter.txt"),
        example_answer=json.loads(read("example_answer.json")),
    )
