"""Rules backend throughput against a naive regex scraper, in the same run.

N distinct letters (the fixture text letters with unique case numbers, see
tests/corpus.py) are written to a temp folder. Then, alternating so both see
the same load on a shared machine:

  in process   per letter: bytes -> our JSON record (ingest + rules + verify +
               the JSON the CLI prints), against `naive_scraper.scrape_bytes`
               (decode + a dozen re.search + json.dumps);
  CLI          `imr-extract extract --compact` on all N files, against
               `python benchmarks/naive_scraper.py` on the same files (each one
               process, start-up included, output to /dev/null).

Rates are letters per CPU-second of the process doing the work (the wall clock
on a loaded machine measures the other tenants); the best of --repeat rounds is
kept, and the ratio ours / naive is printed for each.

    python benchmarks/bench_rules.py [N] [--repeat 3] [--no-cli]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # the corpus builder

from corpus import make_letters
from naive_scraper import scrape_bytes

from extractor.config import Config
from extractor.core import ingest
from extractor.core.jsonline import dump_json
from extractor.pipeline import extract_data


def ours(letters: list[tuple[str, bytes]]) -> int:
    """What `extract` does per letter: the record's JSON form, then its line."""
    config, values = Config(backend="rules"), 0
    for name, data in letters:
        record = extract_data(ingest.from_bytes(data, name), config)
        dump_json(record)
        values += len(record["evidence"])
    return values


def naive(letters: list[tuple[str, bytes]]) -> int:
    return sum(len(scrape_bytes(data)) for _, data in letters)


def cpu_seconds(fn, *args) -> float:
    start = time.process_time()
    fn(*args)
    return time.process_time() - start


def child_cpu_seconds(argv: list[str]) -> float:
    """CPU seconds (user + system) of one subprocess run, output discarded."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def compare(label: str, n: int, rounds: list[tuple[float, float]]) -> None:
    best_ours = min(o for o, _ in rounds)
    best_naive = min(v for _, v in rounds)
    print(f"{label}")
    print(f"  ours   {n / best_ours:8.0f} letters/CPU-s  ({1000 * best_ours / n:.3f} ms/letter)")
    print(f"  naive  {n / best_naive:8.0f} letters/CPU-s  ({1000 * best_naive / n:.3f} ms/letter)")
    print(f"  ratio ours/naive  {best_naive / best_ours:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("letters", nargs="?", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-cli", action="store_true", help="only the in-process comparison")
    args = parser.parse_args()
    n = args.letters
    print(f"{n} letters, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_letters(Path(tmp), n)
        letters = [(str(p), p.read_bytes()) for p in paths]
        ours(letters[:50])  # warm caches (compiled regexes, lru caches) before timing
        rounds = [(cpu_seconds(ours, letters), cpu_seconds(naive, letters))
                  for _ in range(args.repeat)]
        compare("in process (bytes -> JSON record, start-up excluded)", n, rounds)
        if args.no_cli:
            return
        files = [str(p) for p in paths]
        cli = [sys.executable, "-m", "extractor", "extract", "--compact", *files]
        scraper = [sys.executable, str(HERE / "naive_scraper.py"), *files]
        rounds = [(child_cpu_seconds(cli), child_cpu_seconds(scraper))
                  for _ in range(args.repeat)]
        compare("CLI, one process over all files (start-up included)", n, rounds)


if __name__ == "__main__":
    main()
