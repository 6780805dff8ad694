"""Load on `imr-extract serve`: N parallel clients posting letters. Prints figures.

The real server (uvicorn in a subprocess, rules backend, one worker process per core)
on a free loopback port; for each level of 1, 8 and 32 clients, every client posts
distinct letters (tests/corpus.py) to POST /v1/extract as multipart uploads, one after
another, until the level's requests are done. Reports requests/s, p50/p99 latency and
errors (any answer but 200, or a transport failure). Beside it, in the same run, the
CLI on the same letters: `imr-extract extract --compact` in one process, and
`imr-extract batch` into a new database (its worker processes, one per core).

    python benchmarks/bench_serve.py [--requests 320] [--clients 1,8,32]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the corpus builder and the server helper

from corpus import make_letters
from service import Service


async def _client(url: str, queue: asyncio.Queue, latencies: list, errors: list) -> None:
    async with httpx.AsyncClient(timeout=300) as http:
        while not queue.empty():
            name, data = queue.get_nowait()
            t = time.perf_counter()
            try:
                r = await http.post(url + "/v1/extract", files={"file": (name, data)})
                if r.status_code != 200:
                    errors.append(r.status_code)
            except httpx.HTTPError as e:
                errors.append(type(e).__name__)
            latencies.append(time.perf_counter() - t)


async def level(url: str, letters: list[tuple[str, bytes]], clients: int) -> dict:
    queue: asyncio.Queue = asyncio.Queue()
    for item in letters:
        queue.put_nowait(item)
    latencies: list[float] = []
    errors: list = []
    t = time.perf_counter()
    await asyncio.gather(*(_client(url, queue, latencies, errors) for _ in range(clients)))
    wall = time.perf_counter() - t
    latencies.sort()
    return {"clients": clients, "requests": len(latencies), "wall": wall,
            "rps": len(latencies) / wall, "p50": statistics.median(latencies) * 1000,
            "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
            "errors": len(errors)}


def cli_rate(args: list[str], n: int) -> float:
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "extractor", *args], capture_output=True,
                         cwd=ROOT, timeout=3600, check=False)
    wall = time.perf_counter() - t
    assert out.returncode == 0, out.stderr[-2000:]
    return n / wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=320, help="requests per level")
    parser.add_argument("--clients", default="1,8,32", help="parallel clients per level")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_letters(Path(tmp) / "letters", opts.requests)
        letters = [(p.name, p.read_bytes()) for p in paths]
        cores = os.cpu_count() or 1
        print(f"{len(letters)} distinct letters per level, rules backend, {cores} worker "
              "processes")
        with Service(workers=cores) as s:
            asyncio.run(level(s.url, letters[:16], 4))  # warm the workers up
            print(f"{'clients':>7} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
                  f"{'errors':>6}")
            for n in (int(x) for x in opts.clients.split(",")):
                r = asyncio.run(level(s.url, letters, n))
                print(f"{r['clients']:>7} {r['requests']:>8} {r['rps']:>8.1f} {r['p50']:>8.1f} "
                      f"{r['p99']:>8.1f} {r['errors']:>6}")
        files = [str(p) for p in paths]
        one = cli_rate(["extract", "--compact", *files], len(files))
        batch = cli_rate(["batch", str(Path(tmp) / "letters"), "--db",
                          str(Path(tmp) / "bench.db")], len(files))
        print(f"CLI extract, one process:  {one:8.1f} letters/s (process start included)")
        print(f"CLI batch into SQLite:     {batch:8.1f} letters/s ({cores} workers)")


if __name__ == "__main__":
    main()
