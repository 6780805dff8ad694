"""Score an extractor against the hand-labelled gold in evals/fixtures.

Definitions (counted per letter, then summed over letters per field: micro averages)

* Scalar field (case_number, the dates, priority, patient.*, outcome, and each field of a
  matched item):
    TP  predicted equals gold, both non-null;
    FP  predicted is non-null and wrong, or gold is null;
    FN  gold is non-null and predicted is null or wrong.
  A wrong value is therefore both a FP and a FN.
* List field (diagnoses, reviewer.specialties / subspecialties / licensed_states): compared
  as sets: TP = |pred & gold|, FP = |pred - gold|, FN = |gold - pred|.
* Items: predicted items are matched one-to-one to gold items by treatment similarity
  (difflib ratio of the canonical, case-folded texts; best pairs first; a pair needs a ratio
  of at least MATCH_THRESHOLD). The field `items` scores the matching itself: TP per
  matched pair, FP per unmatched predicted item, FN per unmatched gold item. The fields of
  a matched pair (items.decision, ...) are compared as scalars; every non-null field of an
  unmatched predicted item is a FP, every non-null field of an unmatched gold item a FN.
* precision = TP / (TP + FP) and recall = TP / (TP + FN), None when the denominator is 0;
  F1 = 2TP / (2TP + FP + FN): the harmonic mean of the two when both exist, 0 when one side
  is empty and the other is not, None when gold and prediction are both empty.
* Equality is type-aware: dates as ISO strings, integers as ints, enums as lower-case words,
  booleans as booleans, text as `normalize.canonical(text)` compared case-insensitively.
* Grounding rate: emitted values (every non-null value and list element of the record)
  whose evidence exists and re-verifies, over all emitted values. An evidence span
  re-verifies when the letter's normalized text at [start:end] equals the canonical
  quote (and, for `exact` evidence, the raw text is the quote itself).
"""

from __future__ import annotations

import difflib
import fnmatch
import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from extractor.config import Config
from extractor.core import ingest
from extractor.core.fields import DATE, INT, TEXT, WORD
from extractor.core.normalize import canonical
from extractor.core.schema import FIELDS as TABLE, Record
from extractor.pipeline import extract_document
from extractor.resources import data_path

FIXTURES = data_path("fixtures")  # packaged; the repo's evals/fixtures in a checkout
MATCH_THRESHOLD = 0.5

# Scored fields in report order (from the field table), with the kind that decides how
# values compare.
SCALARS = tuple(p for p, f in TABLE.items() if not f.item and not f.is_list)
SETS = tuple(p for p, f in TABLE.items() if not f.item and f.is_list)
# Normalised fields (Spec.vocab) are not labelled in the gold: tests/test_vocab.py checks
# them. They are still grounded (emitted_paths).
ITEM_FIELDS = tuple(f.local for f in TABLE.values() if f.item and not f.spec.vocab)
EMITTED_ITEM_FIELDS = tuple(f.local for f in TABLE.values() if f.item)
FIELDS = (*SCALARS, *SETS, "items", *(f"items.{f}" for f in ITEM_FIELDS))
KIND = {p: f.score for p, f in TABLE.items()}


# -- counting ---------------------------------------------------------------------------
@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, other: Counts) -> None:
        self.tp, self.fp, self.fn = self.tp + other.tp, self.fp + other.fp, self.fn + other.fn

    def scores(self) -> dict:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else None
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else None
        d = 2 * self.tp + self.fp + self.fn
        f1 = 2 * self.tp / d if d else None
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn,
                "precision": _round(p), "recall": _round(r), "f1": _round(f1)}


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


@dataclass
class Check:
    """One comparison: a scored field at one place in the record, and its counts."""

    field: str
    path: str
    pred: Any
    gold: Any
    counts: Counts

    def to_dict(self) -> dict:
        c = self.counts
        return {"field": self.field, "path": self.path, "pred": self.pred, "gold": self.gold,
                "tp": c.tp, "fp": c.fp, "fn": c.fn}


def same(kind: str, a: Any, b: Any) -> bool:
    return _key(kind, a) == _key(kind, b)


def _key(kind: str, v: Any) -> Any:
    if v is None:
        return None
    if kind == TEXT:
        return canonical(str(v)).casefold()
    if kind == INT:
        try:
            return int(v)
        except (TypeError, ValueError):
            return str(v)
    if kind in (WORD, DATE):
        return str(v).strip().lower()
    return v


def scalar(kind: str, pred: Any, gold: Any) -> Counts:
    if pred is None:
        return Counts(fn=int(gold is not None))
    if gold is None:
        return Counts(fp=1)
    if same(kind, pred, gold):
        return Counts(tp=1)
    return Counts(fp=1, fn=1)


def as_set(kind: str, values) -> set:
    return {_key(kind, v) for v in values or [] if v is not None}


def get(d: dict | None, path: str) -> Any:
    """d['patient']['age'] for 'patient.age'; None anywhere along the way gives None."""
    for part in path.split("."):
        if not isinstance(d, dict):
            return None
        d = d.get(part)
    return d


# -- one record against its gold --------------------------------------------------------
def compare(pred: dict | None, gold: dict) -> list[Check]:
    """Every check for one letter; `pred` None (extraction failed) scores as empty."""
    pred = pred or {}
    checks = [Check(f, f, get(pred, f), get(gold, f), scalar(KIND[f], get(pred, f), get(gold, f)))
              for f in SCALARS]
    for f in SETS:
        p, g = as_set(KIND[f], get(pred, f)), as_set(KIND[f], get(gold, f))
        checks.append(Check(f, f, get(pred, f) or [], get(gold, f) or [],
                            Counts(len(p & g), len(p - g), len(g - p))))
    return checks + _item_checks(pred.get("items") or [], gold.get("items") or [])


def similarity(a: str | None, b: str | None) -> float:
    a, b = canonical(a or "").casefold(), canonical(b or "").casefold()
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def match_items(pred: list[dict], gold: list[dict],
                threshold: float = MATCH_THRESHOLD) -> list[tuple[int | None, int | None]]:
    """Greedy best-first one-to-one matching of items by treatment similarity.

    Returns (pred index, gold index) pairs; None on one side marks an unmatched item."""
    pairs = sorted(((similarity(p.get("treatment"), g.get("treatment")), i, j)
                    for i, p in enumerate(pred) for j, g in enumerate(gold)),
                   key=lambda t: (-t[0], t[1], t[2]))
    used_p: set[int] = set()
    used_g: set[int] = set()
    out: list[tuple[int | None, int | None]] = []
    for ratio, i, j in pairs:
        if ratio < threshold:
            break
        if i not in used_p and j not in used_g:
            used_p.add(i)
            used_g.add(j)
            out.append((i, j))
    out += [(i, None) for i in range(len(pred)) if i not in used_p]
    out += [(None, j) for j in range(len(gold)) if j not in used_g]
    return sorted(out, key=lambda t: (t[1] is None, t[1] or 0, t[0] or 0))


def _item_checks(pred: list[dict], gold: list[dict]) -> list[Check]:
    checks = []
    for i, j in match_items(pred, gold):
        p = pred[i] if i is not None else {}
        g = gold[j] if j is not None else {}
        where = f"items[{i}]" if i is not None else f"gold items[{j}]"
        matched = Counts(tp=1) if i is not None and j is not None else \
            Counts(fp=int(i is not None), fn=int(j is not None))
        checks.append(Check("items", where, p.get("treatment"), g.get("treatment"), matched))
        for f in ITEM_FIELDS:
            key = f"items.{f}"
            a, b = get(p, f), get(g, f)
            checks.append(Check(key, f"{where}.{f}", a, b, scalar(KIND[key], a, b)))
    return checks


def totals(checks: list[Check]) -> dict[str, Counts]:
    out = {f: Counts() for f in FIELDS}
    for c in checks:
        out[c.field].add(c.counts)
    return out


def overall(per_field: dict[str, Counts]) -> Counts:
    total = Counts()
    for c in per_field.values():
        total.add(c)
    return total


# -- grounding --------------------------------------------------------------------------
def emitted_paths(record: Record) -> list[str]:
    """Paths of every value the record emits (non-null scalars and each list element)."""
    data = record.model_dump(mode="json")
    paths = [f for f in SCALARS if get(data, f) is not None]
    for f in SETS:
        paths += [f"{f}[{k}]" for k in range(len(get(data, f) or []))]
    for j, item in enumerate(data["items"]):
        paths += [f"items[{j}].{f}" for f in EMITTED_ITEM_FIELDS
                  if get(item, f) not in (None, [])]
    return paths


def reverifies(doc: ingest.Document, ev) -> bool:
    """Does the letter really say the evidence quote at [start:end]?"""
    if not 0 <= ev.start < ev.end <= len(doc.text):
        return False
    if ev.match == "exact" and doc.text[ev.start:ev.end] != ev.quote:
        return False
    idx = doc.index
    at = idx.norm[idx.norm_pos(ev.start):idx.norm_pos(ev.end)].strip()
    return at == canonical(ev.quote)


def grounding(doc: ingest.Document, record: Record) -> tuple[int, int, list[dict]]:
    """(grounded values, emitted values, problems)."""
    by_path: dict[str, list] = {}
    for ev in record.evidence:
        by_path.setdefault(ev.field, []).append(ev)
    paths = emitted_paths(record)
    problems = []
    for path in paths:
        evs = by_path.get(path, [])
        bad = [ev for ev in evs if not reverifies(doc, ev)]
        if not evs or bad:
            problems.append({"field": path, "problem": "no evidence" if not evs else
                             f"span [{bad[0].start}:{bad[0].end}] does not re-verify its quote"})
    return len(paths) - len(problems), len(paths), problems


# -- a run over the fixtures ------------------------------------------------------------
@dataclass
class LetterResult:
    name: str
    gold: dict
    checks: list[Check]
    record: Record | None = None
    doc: ingest.Document | None = None
    error: str | None = None
    seconds: float = 0.0
    grounded: int = 0
    emitted: int = 0
    grounding_problems: list[dict] = field(default_factory=list)

    @property
    def fields(self) -> dict[str, Counts]:
        return totals(self.checks)

    @property
    def tokens(self) -> int:
        u = self.record.usage if self.record else None
        return (u.prompt_tokens + u.completion_tokens) if u else 0

    @property
    def attempts(self) -> int:
        u = self.record.usage if self.record else None
        return u.attempts if u else 0


@dataclass
class Evaluation:
    config: Config
    fixtures: Path
    letters: list[LetterResult]

    @property
    def fields(self) -> dict[str, Counts]:
        return totals([c for r in self.letters for c in r.checks])


def fixture_pairs(fixtures: Path, pattern: str = "*") -> list[tuple[Path, Path]]:
    """(letter, gold) for every letter in fixtures/letters matching pattern that has gold."""
    letters = sorted(p for p in (fixtures / "letters").iterdir()
                     if p.is_file() and fnmatch.fnmatch(p.name, pattern))
    pairs = [(p, fixtures / "gold" / f"{p.name}.json") for p in letters]
    return [(p, g) for p, g in pairs if g.exists()]


def evaluate_letter(path: Path, gold: dict, config: Config) -> LetterResult:
    started = time.perf_counter()
    result = LetterResult(name=path.name, gold=gold, checks=[])
    try:
        result.doc = ingest.load(path)
        result.record = extract_document(result.doc, config)
    except Exception as e:  # noqa: BLE001 - a failed letter scores as empty, is reported
        result.error = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
    result.seconds = time.perf_counter() - started
    pred = result.record.model_dump(mode="json") if result.record else None
    result.checks = compare(pred, gold)
    if result.record is not None:
        result.grounded, result.emitted, result.grounding_problems = grounding(
            result.doc, result.record)
    return result


def run(fixtures: Path, config: Config, progress=None, pattern: str = "*") -> Evaluation:
    results = []
    for letter, gold_path in fixture_pairs(fixtures, pattern):
        gold = json.loads(gold_path.read_text(encoding="utf-8"))
        results.append(evaluate_letter(letter, gold, config))
        if progress:
            progress(results[-1])
    return Evaluation(config=config, fixtures=fixtures, letters=results)


# -- hashes and the JSON report ---------------------------------------------------------
def tree_hash(root: Path, subdirs: tuple[str, ...] = ("",)) -> str:
    """SHA-256 over the sorted relative paths and bytes of every file under root/subdirs."""
    h = hashlib.sha256()
    files = sorted(p for d in subdirs for p in (root / d).rglob("*")
                   if p.is_file() and "__pycache__" not in p.parts)
    for p in files:
        h.update(p.relative_to(root).as_posix().encode() + b"\0")
        h.update(p.read_bytes() + b"\0")
    return h.hexdigest()


def fixtures_hash(fixtures: Path) -> str:
    return tree_hash(fixtures, ("letters", "gold"))


def prompts_hash() -> str | None:
    try:
        from extractor.backends.model.prompts import prompts_hash as current
    except ImportError:
        return None
    return current()


# -- layout families ----------------------------------------------------------------------
# A fixture's family is in its name: the five real letters (NNN_*), published PDFs as the
# DWC publishes them (p-SOURCE--*), messy variants of them (v-KIND--*), hand-written letters
# of one layout family (f-FAMILY--*), generated ones (g-*).
GROUPS = {"p-": "published", "v-": "variant", "f-": "hand-written", "g-": "generated"}


def family(name: str) -> tuple[str, str]:
    """(group, family) of a fixture letter from its file name."""
    group = GROUPS.get(name[:2], "real")
    if group == "real":
        return group, "real"
    return group, name[2:].split("--")[0] if group != "generated" else name[2:].split("-")[0]


def families(e: Evaluation) -> list[dict]:
    """Scores per group (real / variant / hand-written / generated: 'all') and per family."""
    rows: dict[tuple[str, str], list] = {}
    for r in e.letters:
        group, fam = family(r.name)
        for key in {(group, "all"), (group, fam)} if group != "real" else {(group, fam)}:
            counts, n = rows.setdefault(key, [Counts(), 0])
            counts.add(overall(r.fields))
            rows[key][1] = n + 1
    order = ["real", *GROUPS.values()]
    ranked = sorted(rows.items(), key=lambda kv: (order.index(kv[0][0]), kv[0][1] != "all",
                                                  kv[0][1]))
    return [{"group": g, "family": f, "letters": n, **c.scores()} for (g, f), (c, n) in ranked]


def summary(e: Evaluation) -> dict:
    per_field = e.fields
    grounded = sum(r.grounded for r in e.letters)
    emitted = sum(r.emitted for r in e.letters)
    f1s = [s["f1"] for s in (c.scores() for c in per_field.values()) if s["f1"] is not None]
    return {**overall(per_field).scores(),
            "macro_f1": _round(sum(f1s) / len(f1s)) if f1s else None,
            "grounding_rate": _round(grounded / emitted) if emitted else None,
            "grounded": grounded, "emitted": emitted,
            "rejected": sum(len(r.record.rejected) for r in e.letters if r.record),
            "tokens": sum(r.tokens for r in e.letters),
            "attempts": sum(r.attempts for r in e.letters),
            "seconds": round(sum(r.seconds for r in e.letters), 3),
            "letters": len(e.letters), "errors": sum(1 for r in e.letters if r.error)}


def letter_summary(r: LetterResult) -> dict:
    rec = r.record
    return {"letter": r.name, "error": r.error, **overall(r.fields).scores(),
            "fields": {f: c.scores() for f, c in r.fields.items()},
            "grounding_rate": _round(r.grounded / r.emitted) if r.emitted else None,
            "grounded": r.grounded, "emitted": r.emitted,
            "grounding_problems": r.grounding_problems,
            "rejected": [x.model_dump(mode="json") for x in rec.rejected] if rec else [],
            "tokens": r.tokens, "attempts": r.attempts,
            "cached": bool(rec and rec.usage and rec.usage.cached),
            "seconds": round(r.seconds, 4),
            "checks": [c.to_dict() for c in r.checks]}


def report(e: Evaluation) -> dict:
    """The full JSON report (`eval --json`)."""
    return {"kind": "imr-extract eval report", "backend": e.config.backend,
            "model": e.config.model, "fixtures": str(e.fixtures),
            "fixtures_hash": fixtures_hash(e.fixtures), "prompts_hash": prompts_hash(),
            "fields": {f: c.scores() for f, c in e.fields.items()},
            "families": families(e),
            "overall": summary(e),
            "letters": [letter_summary(r) for r in e.letters]}
