"""Batch engines at corpus scale (issue 23): the request file and the import. Prints figures.

N distinct letters (fixture letters with unique case numbers, tests/corpus.py) in a temp
folder, then, each step the real CLI in a process of its own (start-up included; peak
RSS is that process's own high-water mark, from wait4):
  * `batch FOLDER --backend llm --engine batch-file -o requests.jsonl`: letters/s, the
    file's size, peak RSS;
  * the engine's answers, synthesised (not timed): each request answered with the answer
    a perfect model would give, built from the rules' verified record of that letter
    (every value with its quote, tests/batch_runner.answer_from_record), as a chat
    completion line of the OpenAI batch output format; every 10th answer has a wrong
    quote, so the verifier rejects a value (the re-ask rounds are not run: one round);
  * `batch --import-results answers.jsonl`: parse, verify, store, cache, letters/s and
    peak RSS (goal: >= 500 letters/s on 2 cores, < 200 MB);
  * the reference: the rules path over the same folder (`batch FOLDER`, one worker per
    core), which reads and verifies the same letters with no model at all. Each engine
    figure is printed with its ratio to it.

    python benchmarks/bench_engines.py [--letters 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the corpus builder and the answer builder

from batch_runner import answer_from_record, completion, output_line
from bench_batch import WorkerCPU
from corpus import make_letters

from extractor.core import ingest
from extractor.pipeline import extract_data

IMPORT_GOAL = 500.0   # letters/s on 2 cores
MEMORY_GOAL = 200.0   # MB


def timed(*args: str) -> tuple[float, float, str]:
    """(seconds, peak RSS in MB of its largest process, stderr) of `imr-extract ARGS`:
    the command's own high-water mark (wait4) and its worker processes' (sampled from
    /proc while they live, bench_batch.WorkerCPU)."""
    started = time.perf_counter()
    with WorkerCPU() as others:
        proc = subprocess.Popen([sys.executable, "-m", "extractor", *args], cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        stderr = proc.stderr.read()
        _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    peak_mb = max([usage.ru_maxrss, *others.peak_kb.values()]) / 1024
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"imr-extract {' '.join(args)} failed: {stderr}")
    for failure in [s for s in stderr.splitlines() if s.startswith("imr-extract: failed")][:3]:
        print(f"  ({failure})")
    return seconds, peak_mb, stderr.strip().splitlines()[-1]


def answers(paths: list[Path]) -> dict[str, str]:
    """sha256 -> the answer text for each letter (every 10th with one wrong quote)."""
    out = {}
    for i, path in enumerate(paths):
        doc = ingest.load(path)
        answer = answer_from_record(extract_data(doc))
        if i % 10 == 0:
            answer["patient_age"] = {"value": 142, "quote": "142 years old"}
        out[doc.sha256] = json.dumps(answer)
    return out


def write_answers(requests: Path, out: Path, texts: dict[str, str]) -> int:
    n = 0
    with requests.open() as src, out.open("w") as dst:
        for n, line in enumerate(src, 1):
            cid = json.loads(line)["custom_id"]
            body = completion(texts[cid.split("-")[0]])
            dst.write(json.dumps(output_line(cid, 200, body, n)) + "\n")
    return n


def row(label: str, n: int, seconds: float, mb: float, reference: float,
        goal: float | None = None) -> None:
    rate = n / seconds
    goal_text = f"  goal >= {goal:.0f}: {'met' if rate >= goal else 'NOT met'}" if goal else ""
    print(f"  {label:34} {rate:8.1f} letters/s  ({1000 * seconds / n:5.2f} ms/letter)  "
          f"{rate / reference:5.2f}x the rules path  peak RSS {mb:4.0f} MB "
          f"({'under' if mb < MEMORY_GOAL else 'OVER'} {MEMORY_GOAL:.0f}){goal_text}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", type=int, default=10_000)
    n = parser.parse_args().letters
    print(f"batch engines, {n} letters, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f} at start")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        paths = make_letters(tmp / "letters", n)
        texts = answers(paths)
        model = ["--backend", "llm", "--model", "m", "--mode", "json_object"]
        seconds, mb, _ = timed("batch", str(tmp / "letters"), "--db", str(tmp / "rules.db"))
        reference = n / seconds
        print(f"  {'reference: rules path (batch)':34} {reference:8.1f} letters/s  "
              f"({1000 * seconds / n:5.2f} ms/letter)  peak RSS {mb:4.0f} MB")
        requests, db = tmp / "requests.jsonl", str(tmp / "engine.db")
        seconds, mb, line = timed("batch", str(tmp / "letters"), "--db", db, *model,
                                  "--cache", str(tmp / "calls.db"), "--engine", "batch-file",
                                  "-o", str(requests))
        row("write requests (batch-file)", n, seconds, mb, reference)
        print(f"  {line}")
        size = requests.stat().st_size
        print(f"  {'request file':34} {size / 1e6:8.1f} MB ({size / n / 1e3:.1f} kB a letter, "
              f"mode {oct(requests.stat().st_mode & 0o777)})")
        written = write_answers(requests, tmp / "answers.jsonl", texts)
        assert written == n, f"{written} requests for {n} letters"
        seconds, mb, line = timed("batch", "--db", db, "--import-results",
                                  str(tmp / "answers.jsonl"), "--cache", str(tmp / "calls.db"))
        row("import + verify (--import-results)", n, seconds, mb, reference, IMPORT_GOAL)
        print(f"  {line}")


if __name__ == "__main__":
    main()
