"""Rules backend throughput: ingest + extraction + verification, one core.

Builds N distinct letters in memory from the fixture letters (every fixture,
messy variants included, each given a unique case-number line so no two are
byte-identical) and times the full per-letter path a user runs. Prints figures.

    python benchmarks/bench_rules.py [N]
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from extractor.core import ingest
from extractor.config import Config
from extractor.pipeline import extract_document

LETTERS = Path(__file__).resolve().parent.parent / "evals" / "fixtures" / "letters"


def corpus(n: int) -> list[tuple[str, bytes]]:
    sources = [(p.name, p.read_bytes()) for p in sorted(LETTERS.glob("*.txt"))]
    out = []
    for i in range(n):
        name, data = sources[i % len(sources)]
        out.append((f"{i}-{name}", data + f"\nCM99-{i:07d}\n".encode()))
    return out


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    letters = corpus(n)
    config = Config(backend="rules")
    per_letter = []
    values = rejected = 0
    start, cpu_start = time.perf_counter(), time.process_time()
    for name, data in letters:
        t0 = time.perf_counter()
        record = extract_document(ingest.from_bytes(data, name), config)
        per_letter.append(time.perf_counter() - t0)
        values += len(record.evidence)
        rejected += len(record.rejected)
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    chars = sum(len(d) for _, d in letters)
    print(f"letters            {n}")
    print(f"wall seconds       {wall:.2f}")
    print(f"letters/s (wall)   {n / wall:.0f}  (one process: ingest + rules + verify)")
    print(f"letters/CPU-s      {n / cpu:.0f}  (unaffected by other load on the machine)")
    print(f"median ms/letter   {statistics.median(per_letter) * 1000:.2f}")
    print(f"p99 ms/letter      {sorted(per_letter)[int(n * 0.99)] * 1000:.2f}")
    print(f"MB/s of text       {chars / wall / 1e6:.2f}")
    print(f"evidence spans     {values}  rejected {rejected}")


if __name__ == "__main__":
    main()
