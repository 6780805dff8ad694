"""PDF throughput on the published letters. Prints figures.

Over the real PDFs (default /work/shared/real-letters, every one AES-encrypted with an
empty password), in the same run:
  * bare PDFium: an in-process loop (open, get_text_range per page, close), best of
    --runs; the reference;
  * the CLI: `imr-extract extract --compact` on all of them in one process, as a
    subprocess (start-up included), best of --runs; letters/s and the ratio to bare PDFium;
  * `imr-extract batch` on --workers worker processes over --copies copies of each file
    (each copy made distinct by a trailing comment, so none is skipped as a duplicate),
    into a new database, best of --batch-runs; letters/s from the wall time of the
    command and from its own summary line;
  * with --pypdf, pypdf's bare text extraction of the same files (needs pypdf and, for
    the AES-encrypted letters, cryptography): the reader this replaced.

    python benchmarks/bench_pdf.py [--folder DIR] [--runs 5] [--copies 10] [--workers 2]

The copies are medical records: they live in a private temporary folder (0700, files
0600) removed at the end.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "extractor"]


def bare_pdfium(datas: list[bytes]) -> float:
    import pypdfium2 as pdfium

    start = time.perf_counter()
    for data in datas:
        doc = pdfium.PdfDocument(data)
        try:
            for i in range(len(doc)):
                page = doc[i]
                textpage = page.get_textpage()
                textpage.get_text_range()
                textpage.close()
                page.close()
        finally:
            doc.close()
    return time.perf_counter() - start


def bare_pypdf(datas: list[bytes]) -> float:
    import io

    from pypdf import PdfReader

    start = time.perf_counter()
    for data in datas:
        for page in PdfReader(io.BytesIO(data)).pages:
            page.extract_text()
    return time.perf_counter() - start


def cli(files: list[Path]) -> float:
    start = time.perf_counter()
    result = subprocess.run([*CLI, "extract", "--compact", *map(str, files)], cwd=ROOT,
                            capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    records = result.stdout.count("\n")
    if result.returncode != 0 or records != len(files):
        sys.exit(f"extract failed (exit {result.returncode}, {records} records): "
                 f"{result.stderr.splitlines()[:3]}")
    return seconds


def copies(files: list[Path], n: int, folder: Path) -> int:
    for k in range(n):
        for path in files:
            data = path.read_bytes() + b"\n%% copy %d\n" % k  # after %%EOF: ignored by readers
            fd = os.open(folder / f"{path.stem}-{k:03}.pdf", os.O_WRONLY | os.O_CREAT, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
    return n * len(files)


def batch(folder: Path, db: Path, workers: int, letters: int) -> tuple[float, float]:
    for suffix in ("", "-wal", "-shm", "-lock"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    start = time.perf_counter()
    result = subprocess.run([*CLI, "batch", str(folder), "--db", str(db), "--concurrency",
                             str(workers)], cwd=ROOT, capture_output=True,
                            text=True, check=False)
    seconds = time.perf_counter() - start
    summary = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else ""
    done = re.search(r"(\d+) done", summary)
    if result.returncode != 0 or not done or int(done.group(1)) != letters:
        sys.exit(f"batch failed (exit {result.returncode}): {summary}")
    rate = re.search(r"\(([\d.]+) letters/s\)", summary)
    return seconds, float(rate.group(1)) if rate else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", default="/work/shared/real-letters")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-runs", type=int, default=3)
    parser.add_argument("--pypdf", action="store_true", help="also time pypdf (the old reader)")
    args = parser.parse_args()
    files = sorted(Path(args.folder).glob("*.pdf"))
    if not files:
        sys.exit(f"no PDF in {args.folder}")
    datas = [p.read_bytes() for p in files]
    n = len(files)
    print(f"{n} PDFs from {args.folder}, {os.cpu_count()} cores, load "
          f"{os.getloadavg()[0]:.2f}; best of {args.runs}")

    bare = min(bare_pdfium(datas) for _ in range(args.runs))
    through_cli = min(cli(files) for _ in range(args.runs))
    print(f"  bare PDFium, in process        {n / bare:8.1f} letters/s  "
          f"({1000 * bare / n:5.2f} ms/letter)")
    print(f"  imr-extract extract --compact  {n / through_cli:8.1f} letters/s  "
          f"({through_cli:.3f} s for all, start-up included)")
    print(f"  ratio CLI / bare PDFium        {bare / through_cli:8.2f}x")
    if args.pypdf:
        try:
            old = min(bare_pypdf(datas) for _ in range(max(1, args.runs // 2)))
            print(f"  bare pypdf, in process         {n / old:8.1f} letters/s  "
                  f"(PDFium is {old / bare:.1f}x faster)")
        except Exception as e:  # noqa: BLE001  (not installed, or cannot decrypt AES)
            print(f"  bare pypdf: not measured ({type(e).__name__}: {str(e)[:80]})")

    with tempfile.TemporaryDirectory(prefix="bench-pdf-") as tmp:
        folder = Path(tmp) / "letters"
        folder.mkdir()
        letters = copies(files, args.copies, folder)
        runs = [batch(folder, Path(tmp) / "results.db", args.workers, letters)
                for _ in range(args.batch_runs)]
        wall = min(seconds for seconds, _ in runs)
        own = max(rate for _, rate in runs)
        print(f"  imr-extract batch, {args.workers} workers   {letters / wall:8.1f} letters/s  "
              f"({letters} letters in {wall:.2f} s wall, start-up included; its own "
              f"summary says {own:.1f} letters/s)")


if __name__ == "__main__":
    main()
