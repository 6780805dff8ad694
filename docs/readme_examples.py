"""The README's example output, produced by the real commands (run by cog).

`python -m cogapp -r README.md` rewrites the examples; tests/test_docs.py runs
`cog --check README.md`, so the README fails the tests as soon as the output changes.
The only editing: long strings are cut (" ...") and lists of evidence shortened, said
so in the README itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CUT = 100  # characters of a string value shown


def imr(*args: str) -> str:
    """stdout of `imr-extract ARGS`, run from the repository root."""
    return subprocess.run([sys.executable, "-m", "extractor", *args], cwd=ROOT, check=True,
                          capture_output=True, text=True, timeout=300).stdout


def _short(value):
    if isinstance(value, str) and len(value) > CUT:
        return value[:CUT].rsplit(" ", 1)[0] + " ..."
    if isinstance(value, dict):
        return {k: _short(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_short(v) for v in value]
    return value


def _compact(value) -> str:
    return json.dumps(_short(value), ensure_ascii=False)


def extract_example(letter: str, evidence_shown: int = 2) -> str:
    """`imr-extract extract LETTER`, one line per top-level key, items one key a line."""
    record = json.loads(imr("extract", letter))
    lines = ["{"]
    for key, value in record.items():
        if key == "items":
            items = [",\n".join(f'     "{k}": {_compact(v)}' for k, v in item.items())
                     for item in value]
            text = "\n    },\n    {\n".join(items)
            lines.append(f'  "items": [\n    {{\n{text}\n    }}\n  ],')
        elif key == "evidence" and len(value) > evidence_shown:
            shown = ", ".join(_compact(v) for v in value[:evidence_shown])
            lines.append(f'  "evidence": [{shown}, ... {len(value) - evidence_shown} more],')
        else:
            lines.append(f'  "{key}": {_compact(value)},')
    lines[-1] = lines[-1].rstrip(",")
    return "\n".join(lines + ["}"])


def eval_overall(*args: str) -> dict:
    """The overall figures of `imr-extract eval ARGS --json`."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        subprocess.run([sys.executable, "-m", "extractor", "eval", *args, "--json", str(report)],
                       cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
        data = json.loads(report.read_text())
    return {**data["overall"], "fields_f1": [f["f1"] for f in data["fields"].values()
                                            if f["f1"] is not None]}  # None: nothing to score


def eval_report(*args: str) -> dict:
    """The whole `imr-extract eval ARGS --json` report."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        subprocess.run([sys.executable, "-m", "extractor", "eval", *args, "--json", str(report)],
                       cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
        return json.loads(report.read_text())


def families_table() -> str:
    """Rules F1 per fixture group and layout family, as `imr-extract eval` prints them."""
    rows = ["| group | family | letters | precision | recall | F1 |", "|---|---|--:|--:|--:|--:|"]
    for f in eval_report()["families"]:
        name = "**all**" if f["family"] == "all" else f["family"]
        rows.append(f"| {f['group']} | {name} | {f['letters']} | {f['precision']:.3f} | "
                    f"{f['recall']:.3f} | {f['f1']:.3f} |")
    return "\n".join(rows)


def scores_sentence() -> str:
    rules = eval_overall()
    llm = eval_overall("--backend", "llm", "--model", "smollm2-135m", "--offline",
                       "--letters", "00*", "--cache", "cache/calls.db")
    every = "on every field" if min(rules["fields_f1"]) == 1 else \
        f"overall, lowest field {min(rules['fields_f1']):.3f},"
    grounded = "all grounded" if rules["grounded"] == rules["emitted"] else \
        f"{rules['grounded']} grounded"
    return (f"Current scores: rules F1 {rules['f1']:.3f} {every} over the {rules['letters']} "
            f"fixtures ({rules['emitted']} values, {grounded}); SmolLM2-135M free mode, "
            f"replayed: P {llm['precision']:.3f}, R {llm['recall']:.3f} over the "
            f"{llm['letters']} real letters.")


PUBLISHED = "evals/fixtures/letters/p-*.pdf"  # the published letters kept as fixtures


def summary_example(*args: str, paths: str = PUBLISHED) -> str:
    """`imr-extract summary ARGS` after a batch over `paths`."""
    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "results.db")
        imr("batch", paths, "--db", db)
        out = imr("summary", "--db", db, *args)
    return "\n".join(line.rstrip() for line in out.splitlines())  # rich pads table titles


def query_example(name: str, paths: str = PUBLISHED) -> str:
    """A canned query (queries.toml) as documented, run with sqlite-utils after a batch
    over `paths`: the command and its output."""
    from extractor.explore import queries

    [query] = [q for q in queries.load() if q.name == name]
    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "results.db")
        imr("batch", paths, "--db", db)
        exe = Path(sys.executable).parent / "sqlite-utils"
        out = subprocess.run([str(exe), db, query.sql, "--table"], check=True,
                             capture_output=True, text=True, timeout=60).stdout
    return f"$ {queries.shell_command(query)}\n{out.rstrip()}"
