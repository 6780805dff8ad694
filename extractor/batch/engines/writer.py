"""Letters and bookkeeping written a group at a time, each group in one transaction.

A letter's record and the ledger's word on the request behind it (answered, pending,
failed) land together or not at all: a kill loses at most the group not yet written,
which the next import or write does again, once. Answers for the call cache are
stored just before their group (same key, same entry as a live call's), so a kill in
between only stores an answer twice (the same row again).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from extractor.backends.model import cache as call_cache
from extractor.batch.group import Group, Limits
from extractor.batch.run import Summary
from extractor.batch.store import Letter, Store


@dataclass
class _Entry:
    letter: Letter | None
    rows: dict | None
    fingerprint: str
    op: Callable | None
    entries: list
    data: dict | None


@dataclass
class Writer:
    db: Store
    run_id: int
    cache_path: str | None          # None: --no-cache
    limits: Limits = field(default_factory=Limits)
    counts: Summary = field(default_factory=Summary)
    on_failed: Callable[[str], None] = print

    def __post_init__(self):
        self.group = Group(self.limits)

    def add(self, letter: Letter | None, fingerprint: str = "", rows: dict | None = None,
            op: Callable | None = None, entries=(), data: dict | None = None) -> None:
        """Queue a letter (or, with letter None, bookkeeping only) for the next group."""
        self.group.add(_Entry(letter, rows, fingerprint, op, list(entries), data))
        if self.group.due():
            self.flush()

    def flush(self) -> None:
        waiting = self.group.take()
        if not waiting:
            return
        self._cache([e for w in waiting for e in w.entries])
        by_fp: dict[str, list[_Entry]] = {}
        for w in waiting:
            by_fp.setdefault(w.fingerprint, []).append(w)
        for fingerprint, group in by_fp.items():
            letters = [(w.letter, w.rows) for w in group if w.letter is not None]
            ops = [w.op for w in group if w.op is not None]
            written = self.db.save_group(letters, fingerprint, self.run_id,
                                         also=lambda conn, ops=ops: [op(conn) for op in ops])
            self._count([w for w in group if w.letter is not None], written)

    def _cache(self, entries: list) -> None:
        if entries and self.cache_path is not None:
            with call_cache.Cache(self.cache_path) as c:
                c.put_many(entries)

    def _count(self, group: list[_Entry], written: list[bool]) -> None:
        c = self.counts
        for w, ok in zip(group, written, strict=True):
            if w.letter.status == "failed":
                c.failed += 1
                self.on_failed(f"imr-extract: failed: {w.letter.error}")
            elif not ok:
                c.skipped += 1
            else:
                c.done += 1
                data = w.data or {}
                usage = data.get("usage") or {}
                c.rejected += len(data.get("rejected", ()))
                c.warned += bool(data.get("warnings"))
                c.prompt_tokens += usage.get("prompt_tokens", 0)
                c.completion_tokens += usage.get("completion_tokens", 0)
