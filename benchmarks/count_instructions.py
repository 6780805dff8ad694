"""Instructions per letter under callgrind: the before/after figure a loaded
machine does not disturb.

For each job, runs `valgrind --tool=callgrind` on this script twice, doing the
job over the text fixture letters 0 and --reps times (after the same warm-up),
and prints the difference per letter. Jobs: `naive` (the scraper of
naive_scraper.py), `ours` (bytes -> JSON line, what bench_rules times), and our
stages one at a time: `ingest` (decode, furniture, normalized index),
`index` (the normalized index alone), `rules`, `verify`, `json`.

    python benchmarks/count_instructions.py [JOB...] [--reps 2]   # needs valgrind
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
JOBS = ("naive", "ours", "ingest", "index", "rules", "verify", "json")


def child(job: str, reps: int) -> None:
    """Set up every stage's input once, then run `job` `reps` times."""
    sys.path.insert(0, str(HERE.parent / "tests"))
    from bench_rules import naive, ours
    from corpus import LETTERS

    from extractor.backends import rules
    from extractor.core import ingest
    from extractor.core.jsonline import dump_json
    from extractor.core.normalize import TextIndex
    from extractor.core.verify import verify_data

    letters = [(str(p), p.read_bytes()) for p in sorted(LETTERS.glob("*.txt"))]
    docs = [ingest.from_bytes(data, name) for name, data in letters]
    claims = [rules.extract(d) for d in docs]
    records = [verify_data(d, c, {"backend": "rules"}, warnings=w)
               for d, (c, w) in zip(docs, claims, strict=True)]
    work = {
        "naive": lambda: naive(letters),
        "ours": lambda: ours(letters),
        "ingest": lambda: [ingest.from_bytes(data, name) for name, data in letters],
        "index": lambda: [TextIndex.build(d.text, d.furniture) for d in docs],
        "rules": lambda: [rules.extract(d) for d in docs],
        "verify": lambda: [verify_data(d, c, {"backend": "rules"}, warnings=w)
                           for d, (c, w) in zip(docs, claims, strict=True)],
        "json": lambda: [dump_json(r) for r in records],
    }[job]
    work()  # warm-up: compiled regexes, caches
    for _ in range(reps):
        work()
    print(len(letters))


def instructions(job: str, reps: int) -> tuple[int, int]:
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
         sys.executable, __file__, "--child", job, "--reps", str(reps)],
        capture_output=True, text=True, check=True)
    refs = re.search(r"refs:\s+([\d,]+)", done.stderr).group(1)
    return int(refs.replace(",", "")), int(done.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("jobs", nargs="*", help=f"any of {', '.join(JOBS)} [default: all]")
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.reps)
        return
    unknown = set(args.jobs) - set(JOBS)
    if unknown:
        parser.error(f"unknown job {', '.join(sorted(unknown))}; choose from {', '.join(JOBS)}")
    for job in args.jobs or JOBS:
        base, letters = instructions(job, 0)
        total, _ = instructions(job, args.reps)
        print(f"{job:7s} {(total - base) / (args.reps * letters) / 1e6:7.2f} M instructions "
              f"per letter ({letters} letters x {args.reps})")


if __name__ == "__main__":
    main()
