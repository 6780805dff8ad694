"""Eval baselines, the F1 regression gate and side-by-side comparisons.

A baseline (evals/baselines/<backend>-<model or 'none'>.json) holds per-field P/R/F1, the
overall scores, and the hashes of the prompts and fixtures it was measured with. An eval
run compares itself with its baseline: a field whose F1 falls by more than the tolerance
fails the run. Eval JSON reports carry the same "fields" table, so either kind of file
can be compared with the other.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from extractor.errors import BaselineError
from extractor.resources import data_path
from extractor.scoring import evaluate

BASELINES = data_path("baselines")  # packaged; the repo's evals/baselines in a checkout




def baseline_path(backend: str, model: str | None) -> Path:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", model).strip("-") if model else ""
    return BASELINES / f"{backend}-{safe or 'none'}.json"


def make(e: evaluate.Evaluation, command: str) -> dict:
    return {"kind": "imr-extract eval baseline", "backend": e.config.backend,
            "model": e.config.model, "command": command,
            "prompts_hash": evaluate.prompts_hash(),
            "fixtures_hash": evaluate.fixtures_hash(e.fixtures),
            "fields": {f: c.scores() for f, c in e.fields.items()},
            # wall-clock seconds would make every saved baseline differ; the report has them
            "overall": {k: v for k, v in evaluate.summary(e).items() if k != "seconds"}}


def save(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def load(path: str | Path) -> dict:
    """A baseline or an eval JSON report (both have a "fields" table)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise BaselineError(f"{path}: cannot read: {e.strerror or e}") from None
    except ValueError:
        raise BaselineError(f"{path}: not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("fields"), dict):
        raise BaselineError(f"{path}: not an eval report or baseline (no \"fields\" table)")
    return data


def f1s(data: dict) -> dict[str, float | None]:
    """Field -> F1, plus the overall micro F1 under 'overall'."""
    out = {f: (s or {}).get("f1") for f, s in data["fields"].items()}
    out["overall"] = (data.get("overall") or {}).get("f1")
    return out


# -- the gate ---------------------------------------------------------------------------
@dataclass
class Row:
    field: str
    before: float | None
    after: float | None

    @property
    def delta(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return round(self.after - self.before, 4)

    def dropped(self, tolerance: float) -> bool:
        # F1s are stored to 4 decimals; the epsilon keeps float noise from failing a run
        return self.delta is not None and self.delta < -tolerance - 1e-9


def diff(before: dict, after: dict) -> list[Row]:
    a, b = f1s(before), f1s(after)
    names = [*a, *(f for f in b if f not in a)]
    names = [f for f in names if f != "overall"] + ["overall"]
    return [Row(f, a.get(f), b.get(f)) for f in names]


def drops(rows: list[Row], tolerance: float) -> list[Row]:
    return [r for r in rows if r.field != "overall" and r.dropped(tolerance)]


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.4f}"


def _signed(x: float | None) -> str:
    return "" if x is None else f"{x:+.4f}"


def diff_table(rows: list[Row], left: str, right: str, tolerance: float | None = None,
               only_changed: bool = False) -> Table:
    table = Table(title=escape(f"F1: {left} vs {right}"))
    for name in ("field", left, right, "delta", ""):
        table.add_column(escape(name), justify="left" if name == "field" else "right")
    for r in rows:
        if only_changed and not r.delta and r.field != "overall":
            continue
        mark = "DROP" if tolerance is not None and r.field != "overall" and r.dropped(tolerance) \
            else ""
        style = "bold red" if mark else ("green" if (r.delta or 0) > 0 else None)
        table.add_row(r.field, _fmt(r.before), _fmt(r.after), _signed(r.delta), mark,
                      style=style)
    return table


def gate(report: dict, path: Path, tolerance: float, console: Console) -> int:
    """Compare a run with its baseline; print the per-field differences; 1 on a drop."""
    base = load(path)
    rows = diff(base, report)
    notes = []
    if base.get("fixtures_hash") != report.get("fixtures_hash"):
        notes.append("fixtures differ from the baseline's")
    if base.get("backend") != "rules" and base.get("prompts_hash") != report.get("prompts_hash"):
        notes.append("prompts differ from the baseline's")
    console.print(diff_table(rows, "baseline", "now", tolerance, only_changed=True))
    for note in notes:
        console.print(f"note: {note} ({escape(str(path))})")
    bad = drops(rows, tolerance)
    if not bad:
        console.print(f"baseline {escape(str(path))}: no field's F1 dropped by more than "
                      f"{tolerance}")
        return 0
    console.print(f"FAIL: F1 dropped by more than {tolerance} for {len(bad)} field(s) "
                  f"vs {escape(str(path))}:", style="bold red")
    for r in bad:
        console.print(f"  {r.field}: baseline {_fmt(r.before)} -> now {_fmt(r.after)} "
                      f"({_signed(r.delta)})")
    return 1


# -- the prompt-change gate -------------------------------------------------------------
def model_baselines(folder: Path | None = None) -> list[Path]:
    """Baselines of backends that use the prompts (llm, hybrid)."""
    folder = folder or BASELINES
    return sorted(p for p in folder.glob("*.json") if not p.name.startswith("rules-"))


def prompt_gate(path: Path, current: str) -> str | None:
    """Why `path` no longer vouches for the prompts hashing to `current`, or None."""
    base = load(path)
    if base.get("prompts_hash") == current:
        return None
    model = base.get("model") or "MODEL"
    rerun = (f"imr-extract eval --backend {base.get('backend')} --model {model} "
             f"--letters '00*' --cache cache/calls.db --save-baseline "
             f"--baseline {_repo_relative(path)}")
    return (f"prompts/ changed since {_repo_relative(path)} was recorded (prompts hash "
            f"{str(base.get('prompts_hash'))[:12]} there, {current[:12]} now). A prompt change "
            f"must arrive with a fresh eval run and baseline. From the repo root, with the model "
            f"server reachable (--base-url or OPENAI_BASE_URL), run:\n    {rerun}\n"
            f"then check it offline (CI): imr-extract eval --backend {base.get('backend')} "
            f"--model {model} --offline --letters '00*' --cache cache/calls.db\n"
            f"and commit prompts/, cache/calls.db and the baseline together.")


def _repo_relative(path: Path) -> str:
    try:
        return Path(path).resolve().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)
