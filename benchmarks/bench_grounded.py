"""Free vs grounded (constrained) generation with the local SmolLM2 model.

For each of the five real fixture letters and each mode, runs the `llm`
backend (the model fills the whole record) and prints a markdown table:
values emitted (all verified), values rejected by the verifier, field scores
against the hand-labelled gold (evals/fixtures/gold, scored by
extractor.evaluate), tokens, attempts and seconds per letter.

    python benchmarks/bench_grounded.py                   # starts llama.cpp itself
    python benchmarks/bench_grounded.py --base-url http://127.0.0.1:8765/v1
    python benchmarks/bench_grounded.py --offline         # replay cache/calls.db

Replies are cached in cache/calls.db (the file tests and evals replay). A letter
served from the cache reports the seconds its recorded calls took.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from contextlib import nullcontext
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from localmodel import ALIAS, LocalModel

from extractor.backends.model import answer, cache, grounded
from extractor.config import Config
from extractor.scoring import evaluate

LETTERS = sorted((REPO / "evals" / "fixtures" / "letters").glob("00*.txt"))


def recorded_seconds(db: Path, doc, grounded_mode: bool) -> float | None:
    """Latency of the recorded calls for this letter and mode (None if not recorded)."""
    if not db.exists():
        return None
    schema = answer.answer_model().model_json_schema()
    if grounded_mode:
        schema = grounded.schema(schema, doc)
    with cache.Cache(db) as store:
        rows = list(store.db.query(
            "select latency_ms from calls where letter_sha256 = ? and model = ? "
            "and schema_hash = ? order by created desc limit 1",
            [doc.sha256, ALIAS, cache.digest(schema)]))
    return rows[0]["latency_ms"] / 1000 if rows else None


def run(base_url: str | None, db: Path, offline: bool, letters: list[Path]) -> list[dict]:
    rows = []
    for grounded_mode in (False, True):
        for path in letters:
            config = Config(backend="llm", model=ALIAS, base_url=base_url, grounded=grounded_mode,
                            cache_path=str(db), offline=offline)
            gold = json.loads((path.parent.parent / "gold" / f"{path.name}.json").read_text())
            started = time.perf_counter()
            result = evaluate.evaluate_letter(path, gold, config)
            seconds = time.perf_counter() - started
            usage = result.record.usage if result.record else None
            if usage and usage.cached:
                seconds = recorded_seconds(db, result.doc, grounded_mode) or seconds
            counts = evaluate.overall(result.fields)
            rows.append({
                "mode": "grounded" if grounded_mode else "free", "letter": path.name[:3],
                "emitted": result.emitted, "verified": result.grounded,
                "rejected": len(result.record.rejected) if result.record else 0,
                "tp": counts.tp, "fp": counts.fp, "fn": counts.fn,
                "tokens": result.tokens, "attempts": result.attempts,
                "seconds": seconds, "error": result.error})
            print(f"  {rows[-1]}", file=sys.stderr, flush=True)
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| mode | letter | values emitted | of which verified | rejected | correct (TP) "
             "| wrong or extra (FP) | missed (FN) | F1 | tokens | attempts | seconds |",
             "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for mode in ("free", "grounded"):
        part = [r for r in rows if r["mode"] == mode]
        for r in part + [_total(mode, part)]:
            f1 = 2 * r["tp"] / max(1, 2 * r["tp"] + r["fp"] + r["fn"])
            lines.append(f"| {r['mode']} | {r['letter']} | {r['emitted']} | {r['verified']} "
                         f"| {r['rejected']} | {r['tp']} | {r['fp']} | {r['fn']} | {f1:.2f} "
                         f"| {r['tokens']} | {r['attempts']} | {r['seconds']:.0f} |")
    return "\n".join(lines)


def _total(mode: str, rows: list[dict]) -> dict:
    keys = ("emitted", "verified", "rejected", "tp", "fp", "fn", "tokens", "attempts", "seconds")
    total = {k: sum(r[k] for r in rows) for k in keys}
    n = max(1, len(rows))
    return {**total, "mode": f"**{mode}**", "letter": f"**all {len(rows)}**",
            "tokens": total["tokens"] // n, "seconds": total["seconds"] / n}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base-url", help="use this server instead of starting llama.cpp")
    ap.add_argument("--cache", default=str(REPO / "cache" / "calls.db"))
    ap.add_argument("--offline", action="store_true", help="replay the cache only")
    ap.add_argument("--letters", nargs="*", type=Path, default=LETTERS)
    args = ap.parse_args()
    server = nullcontext(None) if args.base_url or args.offline else LocalModel()
    with server as local:
        base_url = args.base_url or (local.base_url if local else None)
        rows = run(base_url, Path(args.cache), args.offline, args.letters)
    print(table(rows))
    print("\nTotals rows: sums over the letters, except tokens and seconds (mean per letter).")


if __name__ == "__main__":
    main()
