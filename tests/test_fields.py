"""The field table: a field is declared once, in the schema, and every stage derives from it.

1. A copy of the package gets one new field (`patient.weight`, an int) written into the
   schema only; a subprocess then follows it through verify, the model's answer shape,
   the hybrid's gaps, the eval's kinds, the store's columns and the CSV export.
2. A scan of the package's source: a field's name appears only in the schema and in the
   code that parses it from a letter (rules, lexicon) or derives it (derive.py).
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

from extractor.core.schema import FIELDS

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "extractor"

NEW_FIELD = '''    weight: Annotated[int | None, Spec(INT, description="Weight in pounds")] = None
'''

FOLLOW = r'''
import csv, io, json, sys
from pathlib import Path
from extractor.core import ingest
from extractor.core.schema import FIELDS, Claim, ExtractorInfo, Record
from extractor.core.verify import KINDS, verify
from extractor.backends.model import answer, backend
from extractor.scoring import evaluate
from extractor.batch import store

text = Path(sys.argv[1]).read_text()
doc = ingest.from_text(text + "\nThe patient weighs 182 pounds.\n", "x.txt", "text", "0" * 64)
out = {}
out["table"] = "patient.weight" in FIELDS
out["kind"] = KINDS.get("patient.weight")
claims = [Claim(field="patient.weight", value=182, quote="weighs 182 pounds")]
record = verify(doc, claims, ExtractorInfo(backend="rules"))
out["verified"] = record.patient.weight
out["evidence"] = [e.field for e in record.evidence]
bad = verify(doc, [Claim(field="patient.weight", value=183, quote="weighs 182 pounds")],
             ExtractorInfo(backend="rules"))
out["rejected"] = [r.reason for r in bad.rejected]
model = answer.answer_model()
out["answer_key"] = "patient_weight" in model.model_fields
parsed = model.model_validate({"patient_weight": {"value": 182, "quote": "weighs 182 pounds"}})
out["answer_claims"] = [(c.field, c.value) for c in parsed.claims()]
out["gap"] = "patient_weight" in backend.missing_fields(bad)
out["eval_kind"] = evaluate.KIND.get("patient.weight")
gold = record.model_dump(mode="json")
out["eval_tp"] = next(c.counts.tp for c in evaluate.compare(gold, gold)
                     if c.field == "patient.weight")
db_path = Path(sys.argv[2])
with store.Store(db_path) as db:
    db.save(store.Letter("x.txt", doc.sha256, "text", 1, "done"), store.record_rows(record), "f", 0)
    out["column"] = db.conn.execute("select patient_weight from determinations").fetchone()[0]
    buf = io.StringIO()
    store.export_csv(db, buf)
out["csv"] = next(csv.DictReader(io.StringIO(buf.getvalue())))["patient_weight"]
print(json.dumps(out))
'''


def test_a_field_added_to_the_schema_flows_through_every_stage(tmp_path):
    copy = tmp_path / "pkg" / "extractor"
    shutil.copytree(PACKAGE, copy, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    schema = copy / "core" / "schema.py"
    text = schema.read_text()
    anchor = "\n\nclass Medication(_Strict):"
    assert anchor in text
    schema.write_text(text.replace(anchor, "\n" + NEW_FIELD.rstrip("\n") + anchor, 1))
    # An existing results database (made by this version) gains the column on open.
    old_db = tmp_path / "results.db"
    from extractor.batch.store import Store
    Store(old_db).close()

    letter = ROOT / "evals" / "fixtures" / "letters" / "004_fc97f7610c159615.txt"
    out = subprocess.run([sys.executable, "-c", FOLLOW, str(letter), str(old_db)],
                         capture_output=True, text=True, cwd=tmp_path / "pkg", timeout=120,
                         env={"PYTHONPATH": str(tmp_path / "pkg"), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    import json
    got = json.loads(out.stdout)
    assert got["table"] and got["kind"] == "int"
    assert got["verified"] == 182 and "patient.weight" in got["evidence"]
    assert got["rejected"] == ["quote says 182, not 183"]
    assert got["answer_key"] and got["answer_claims"] == [["patient.weight", 182]]
    assert got["gap"] is True
    assert got["eval_kind"] == "int" and got["eval_tp"] == 1
    assert got["column"] == 182 and got["csv"] == "182"


# -- a field's name lives in the schema and its parser, nowhere else ------------------------
# Files allowed to name fields: the schema declares them; the rules (backends/rules/) and
# the lexicon parse them from a letter; derive.py and core/vocab compute the derived ones.
ALLOWED = {"core/schema.py", "core/lexicon.py", "core/derive.py",
           "core/_table.py"}  # generated from the schema; tests/test_table.py keeps it so
# Migrations are history: a released one is never edited, so it keeps the names it had.
_MIGRATION = re.compile(r"^def m\d{3}_\w+\(.*?(?=^\S)", re.S | re.M)


def _leaves() -> set[str]:
    """Each field's own name, and the objects that hold fields (patient, medication...).
    `name` (a medication's) is left out: every Path and class has a `.name`."""
    parts = {part for path in FIELDS for part in path.split(".")[:-1]} - {"items"}
    return ({path.rpartition(".")[2] for path in FIELDS} | parts) - {"name"}


def _uses(source: str, leaves: set[str]) -> set[str]:
    """Field names the code uses: attribute access (`record.case_number`, `it.decision`),
    keyword arguments, and names inside string constants other than docstrings
    ("items.rationale", f"...{x}.treatment"). Only multi-word names count inside strings
    (a table named "items" or the word "decision" in a message is not a field reference)."""
    tree = ast.parse(source)
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    distinctive = {n for n in leaves if "_" in n}
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in leaves:
            found.add(node.attr)
        elif isinstance(node, ast.keyword) and node.arg in leaves:
            found.add(node.arg)
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
              and id(node) not in docstrings):
            found |= distinctive & set(re.findall(r"[a-z_]+", node.value))
    return found


def test_field_names_appear_only_in_the_schema_and_the_parsers():
    leaves = _leaves()
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel in ALLOWED or rel.startswith(("backends/rules/", "core/vocab/")):
            continue
        source = _MIGRATION.sub("", path.read_text(encoding="utf-8"))
        hits = _uses(source, leaves)
        if hits:
            offenders[rel] = sorted(hits)
    assert offenders == {}
