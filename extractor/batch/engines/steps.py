"""Letters through `letter.advance` on every core: worker processes (batch/pool.py, as
the rules path uses), the main process reading, matching and writing.

A task is (context, Job); the context (the request, the answer) stays with the main
process's copy. A letter whose worker dies or runs past the limit comes back failed,
and the rest go on. One worker: no process at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice

from extractor.backends.model import cache as call_cache
from extractor.batch import pool
from extractor.batch.engines.letter import Step, advance

CHUNK = 8            # letters per task sent to a worker (amortizes the pipe)
_lookup: dict = {}   # in a worker: the call cache it looks answers up in, opened once


def advance_task(task: tuple, cache_path: str | None) -> Step:
    """In a worker: one letter one step further. Whatever goes wrong fails the letter,
    never the worker (its text may quote the letter: only the error's type is kept)."""
    try:
        if cache_path and cache_path not in _lookup:
            _lookup[cache_path] = call_cache.Cache(cache_path)
        return advance(task[1], _lookup.get(cache_path))
    except Exception as e:  # noqa: BLE001
        return Step("failed", error=f"{task[1].path}: {type(e).__name__}")


def steps(tasks: Iterator[tuple], workers: int, cache_path: str | None,
          limit: float) -> Iterator[tuple[tuple, Step]]:
    if workers <= 1:
        for task in tasks:
            yield task, advance_task(task, cache_path)
        return
    procs = pool.Processes(workers, advance_task, (cache_path,), limit)
    try:
        yield from _run(procs, tasks)
    finally:
        procs.close(now=True)


def _run(procs: pool.Processes, tasks: Iterator[tuple]) -> Iterator[tuple[tuple, Step]]:
    more = True
    while True:
        while more and procs.free() > 0:
            chunk = list(islice(tasks, CHUNK))
            more = bool(chunk)
            if chunk:
                procs.submit(chunk)
        if not more and not procs.pending():
            return
        for task, result in procs.collect(timeout=0.25):
            if isinstance(result, pool.Failed):
                result = Step("failed", error=f"{task[1].path}: {result.reason}")
            yield task, result
