"""Batch throughput into SQLite. Prints figures.

Rules path: N distinct letters (fixture letters with unique case numbers, see
tests/corpus.py) written to a temp folder, then
  * the cost of each stage on one core: read+hash (main process), extraction
    (ingest + rules + verify + rows, a worker's job), the SQLite write (main), a
    letter per transaction and a group of COMMIT_LETTERS per transaction;
  * `batch.run` end to end with 1 and with every core, into a new database:
    letters/s, CPU per letter, and the peak RSS of each worker process;
  * a resume pass over the finished database (everything skipped).
LLM path (--llm): the llama.cpp server with SmolLM2 on a free port, `batch.run`
with backend llm at concurrency 1, 4, 8, without the call cache; letters/s and
the share of wall time with no model call in flight.

    python benchmarks/bench_batch.py [--letters 10000] [--llm] [--llm-letters 8]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Self

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the corpus builder and the local server helper

from corpus import make_letters

from extractor.batch import run as batch, store
from extractor.batch.group import COMMIT_LETTERS
from extractor.batch.run import Task, extract_one
from extractor.config import Config


def _rate(n: int, seconds: float) -> str:
    return f"{n / seconds:8.1f} letters/s  ({1000 * seconds / n:6.2f} ms/letter)"


def stages(paths: list[Path], tmp: Path, sample: int = 1000) -> None:
    t = time.perf_counter()
    tasks = []
    for p in paths:
        data = p.read_bytes()
        tasks.append(Task(str(p), data, hashlib.sha256(data).hexdigest()))
    print(f"  read + sha256 (main)        {_rate(len(paths), time.perf_counter() - t)}")
    tasks = tasks[:sample]
    t = time.perf_counter()
    outcomes = [extract_one(task, Config()) for task in tasks]
    print(f"  extract, one core (worker)  {_rate(len(tasks), time.perf_counter() - t)}")
    for group in (1, COMMIT_LETTERS):
        with store.Store(tmp / f"writer-only-{group}.db") as db:
            run = db.start_run(backend="rules")
            t, cpu = time.perf_counter(), time.process_time()
            for i in range(0, len(outcomes), group):
                db.save_group([(o.letter, o.rows) for o in outcomes[i:i + group]], "fp", run)
            cpu = time.process_time() - cpu
            print(f"  SQLite write (main), {group:3} a transaction "
                  f"{_rate(len(tasks), time.perf_counter() - t)}; "
                  f"CPU {1000 * cpu / len(tasks):.3f} ms/letter")


class WorkerCPU:
    """CPU seconds and peak resident memory of this process's descendants (the
    worker processes), sampled from /proc while they live: they are the fork
    server's children, so getrusage(RUSAGE_CHILDREN) never sees them."""

    def __init__(self):
        self.seen: dict[int, float] = {}
        self.peak_kb: dict[int, int] = {}  # VmHWM: the kernel's own high-water mark
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        tick = os.sysconf("SC_CLK_TCK")
        while not self._stop.wait(0.05):
            for pid in _descendants(os.getpid()):
                try:
                    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
                except (OSError, IndexError):
                    continue
                self.seen[pid] = (int(fields[11]) + int(fields[12])) / tick  # utime + stime
                self.peak_kb[pid] = max(self.peak_kb.get(pid, 0), _peak_rss_kb(pid))

    @property
    def seconds(self) -> float:
        return sum(self.seen.values())


def _peak_rss_kb(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in status.splitlines()
                 if line.startswith("VmHWM:")), 0)


def _descendants(pid: int) -> list[int]:
    try:
        kids = [int(c) for t in Path(f"/proc/{pid}/task").iterdir()
                for c in (t / "children").read_text().split()]
    except OSError:
        return []
    return kids + [d for k in kids for d in _descendants(k)]


def end_to_end(folder: Path, n: int, tmp: Path) -> None:
    cores = os.cpu_count() or 1
    for workers in sorted({1, cores}):
        db = tmp / f"rules-{workers}.db"
        before = resource.getrusage(resource.RUSAGE_SELF)
        with WorkerCPU() as others:
            summary = batch.run([str(folder)], str(db), Config(), concurrency=workers,
                                progress=False)
        after = resource.getrusage(resource.RUSAGE_SELF)
        main_cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        assert summary.done == n, summary
        per_letter = (main_cpu + others.seconds) / n
        print(f"  batch, {workers} worker process(es)  {_rate(n, summary.seconds)}")
        print(f"      CPU per letter: main {1000 * main_cpu / n:.2f} ms + workers "
              f"{1000 * others.seconds / n:.2f} ms; {cores} idle cores would allow "
              f"~{cores / per_letter:.0f} letters/s")
        workers_kb = sorted(others.peak_kb.values(), reverse=True)[:workers]
        print(f"      peak RSS: workers {', '.join(f'{kb / 1024:.0f}' for kb in workers_kb)} MB; "
              f"main {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    summary = batch.run([str(folder)], str(db), Config(), progress=False)
    assert summary.skipped == n, summary
    print(f"  resume pass (all skipped)   {_rate(n, summary.seconds)}")
    print(f"  database size               {db.stat().st_size / 1e6:.1f} MB for {n} letters")


def rules(n: int) -> None:
    print(f"rules backend, {n} letters, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f} at start")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        paths = make_letters(tmp / "letters", n)
        stages(paths, tmp)
        end_to_end(tmp / "letters", n, tmp)


# -- LLM ------------------------------------------------------------------------
class ModelClock:
    """Records every HTTP request the OpenAI client sends (openai 3 uses httpx2,
    older versions httpx); `busy` is the wall time during which at least one was
    in flight."""

    def __init__(self):
        import importlib

        self.spans: list[tuple[float, float]] = []
        for name in ("httpx2", "httpx"):
            try:
                self._wrap(importlib.import_module(name).Client)
            except ImportError:
                pass

    def _wrap(self, client_class) -> None:
        send, spans = client_class.send, self.spans

        def timed_send(client, request, **kw):
            start = time.perf_counter()
            try:
                return send(client, request, **kw)
            finally:
                spans.append((start, time.perf_counter()))

        client_class.send = timed_send

    def busy(self) -> float:
        total, end = 0.0, float("-inf")
        for s, e in sorted(self.spans):
            if e > end:
                total += e - max(s, end)
                end = e
        return total


def llm(n: int) -> None:
    from localmodel import ALIAS, LocalModel

    print(f"\nllm backend (llama.cpp server + SmolLM2-135M), {n} letters, no cache, "
          "1 attempt, completion capped at 512 tokens")
    print("  the llama-cpp-python server has no --n_parallel: it answers one request at a "
          "time, so extra concurrency only overlaps client-side work")
    clock = ModelClock()
    with tempfile.TemporaryDirectory() as tmp, LocalModel() as server:
        tmp = Path(tmp)
        make_letters(tmp / "letters", n)
        config = Config(backend="llm", model=ALIAS, base_url=server.base_url, use_cache=False,
                        max_attempts=1, extra={"call_max_tokens": 512})
        for concurrency in (1, 4, 8):
            clock.spans.clear()
            summary = batch.run([str(tmp / "letters")], str(tmp / f"llm-{concurrency}.db"),
                                config, concurrency=concurrency, progress=False)
            outside = 1 - clock.busy() / summary.seconds
            print(f"  concurrency {concurrency}: {summary.done} done, {summary.failed} failed, "
                  f"{n / summary.seconds:.3f} letters/s, {summary.seconds:.0f}s wall, "
                  f"{100 * outside:.1f}% of wall time outside model calls, "
                  f"{summary.prompt_tokens + summary.completion_tokens} tokens, "
                  f"{len(clock.spans)} HTTP requests, load average {os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", type=int, default=10_000)
    parser.add_argument("--llm", action="store_true", help="also run the LLM path")
    parser.add_argument("--llm-letters", type=int, default=8)
    parser.add_argument("--no-rules", action="store_true")
    args = parser.parse_args()
    if not args.no_rules:
        rules(args.letters)
    if args.llm:
        llm(args.llm_letters)


if __name__ == "__main__":
    main()
