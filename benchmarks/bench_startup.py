"""CLI start-up: what `imr-extract extract LETTER` costs before and around the work.

  * `python -X importtime` of that command: the modules with the largest
    cumulative import time, and whether the model stack (openai, instructor)
    or rich was imported at all;
  * hyperfine-style repeated runs (warm-up runs first, then --runs timed ones)
    of the command, of `python -c pass` (the interpreter alone) and of
    `imr-extract --version`: mean ± sd and min of wall seconds, and the mean CPU
    seconds (user + system), which another tenant's load disturbs less.

    python benchmarks/bench_startup.py [--runs 20] [--letter FILE] [--top 15]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LETTER = ROOT / "evals" / "fixtures" / "letters" / "004_fc97f7610c159615.txt"
HEAVY = ("openai", "instructor", "rich", "httpx", "tenacity", "pypdfium2", "sqlite_utils")
_IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def import_times(argv: list[str], top: int) -> None:
    err = subprocess.run([sys.executable, "-X", "importtime", *argv], capture_output=True,
                         text=True, check=True).stderr
    rows = [(int(cum), int(own), len(pad) // 2, name)
            for own, cum, pad, name in _IMPORT_LINE.findall(err)]
    print(f"python -X importtime: {len(rows)} modules imported")
    print("  cumulative ms   self ms  module")
    for cum, own, depth, name in sorted(rows, reverse=True)[:top]:
        print(f"  {cum / 1000:13.1f} {own / 1000:9.1f}  {'  ' * depth}{name}")
    loaded = {name.split(".")[0] for *_, name in rows}
    print("  heavy packages imported: " + (", ".join(h for h in HEAVY if h in loaded) or "none"))


def timed_runs(label: str, argv: list[str], runs: int, warmup: int = 3) -> None:
    walls, cpus = [], []
    for i in range(warmup + runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if i >= warmup:
            walls.append(wall)
            cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    print(f"  {label:34s} wall {statistics.mean(walls):.3f} s ± {statistics.stdev(walls):.3f}  "
          f"min {min(walls):.3f}  CPU {statistics.mean(cpus):.3f} s  ({runs} runs)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--letter", type=Path, default=LETTER)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    extract = ["-m", "extractor", "extract", str(args.letter)]
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    import_times(extract, args.top)
    print("repeated runs")
    timed_runs("python -c pass", [sys.executable, "-c", "pass"], args.runs)
    timed_runs("imr-extract --version", [sys.executable, "-m", "extractor", "--version"],
               args.runs)
    timed_runs("imr-extract extract (one letter)", [sys.executable, *extract], args.runs)


if __name__ == "__main__":
    main()
