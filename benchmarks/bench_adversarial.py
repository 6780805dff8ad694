"""Worst cases for the letter regexes: CPU seconds of ingest + rules + verify on each
hand-made hostile letter (tests/worstcases.py), beside a normal letter of the same
size measured in the same run. Each case runs in a child process with a time cap,
so a quadratic path shows as "> CAP s" instead of stalling the run.

    python benchmarks/bench_adversarial.py [SIZE ...] [--cap SECONDS] [--case NAME]
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import worstcases  # noqa: E402


def _cpu_seconds(name: str, size: int, queue) -> None:
    from extractor.config import Config
    from extractor.core import ingest
    from extractor.errors import IngestError
    from extractor.pipeline import extract_document

    data = worstcases.normal_letter(size) if name == "normal" else worstcases.letter(name, size)
    # The first record builds pydantic's validators (deferred since the rules path
    # stopped needing them): a one-time cost, paid here before the clock starts.
    extract_document(ingest.from_bytes(worstcases.normal_letter(2_000), "warm.txt"), Config())
    start = time.process_time()
    try:
        extract_document(ingest.from_bytes(data, "case.txt"), Config())
    except IngestError:
        pass
    queue.put(time.process_time() - start)


def measure(name: str, size: int, cap: float) -> float | None:
    queue = multiprocessing.Queue()
    child = multiprocessing.Process(target=_cpu_seconds, args=(name, size, queue))
    child.start()
    child.join(cap)
    if child.is_alive():
        child.kill()
        child.join()
        return None
    return queue.get()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("sizes", nargs="*", type=int, default=[20_000, 40_000])
    parser.add_argument("--cap", type=float, default=30.0)
    parser.add_argument("--case", action="append", default=None)
    args = parser.parse_args()
    names = args.case or ["normal", *worstcases.CASES]
    print(f"{'case':32} " + " ".join(f"{s:>12,}" for s in args.sizes) + "   (CPU seconds)")
    for name in names:
        cells = []
        for size in args.sizes:
            t = measure(name, size, args.cap)
            cells.append(f"{f'> {args.cap:g}' if t is None else f'{t:.3f}':>12}")
        print(f"{name:32} " + " ".join(cells), flush=True)


if __name__ == "__main__":
    main()
