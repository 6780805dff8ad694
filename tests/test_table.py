"""The field table's snapshot (core/_table.py) is the schema's table, and is never
trusted once the schema has changed."""

from __future__ import annotations

import shutil
import subprocess
import sys

from conftest import ROOT

from extractor.core import _table, schema, table
from extractor.core.fields import record_shapes


def test_the_committed_snapshot_is_fresh():
    assert _table.SOURCES_SHA == table.sources_sha(), \
        "schema.py or fields.py changed: run `python -m extractor.core.table`"


def test_the_snapshot_is_what_the_schema_derives():
    assert _table.FIELDS == schema.FIELDS
    assert list(_table.FIELDS) == list(schema.FIELDS)  # declaration order too
    assert _table.SHAPES == record_shapes(schema.Record)
    assert table.FIELDS is _table.FIELDS  # fresh: the rules path reads the snapshot


PROBE = """
import sys
from extractor.core import table
print("patient.weight" in table.FIELDS, "pydantic" in sys.modules)
"""


def run_probe(package_root) -> str:
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=package_root, capture_output=True,
                          text=True, timeout=120, check=True)
    return done.stdout.strip()


def test_a_changed_schema_is_derived_again_not_read_from_the_stale_snapshot(tmp_path):
    copy = tmp_path / "extractor"
    shutil.copytree(ROOT / "extractor", copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert run_probe(tmp_path) == "False False"  # the copy as it is: the snapshot, no pydantic
    path = copy / "core" / "schema.py"
    anchor = "\n\nclass Medication(_Strict):"
    path.write_text(path.read_text().replace(anchor, (
        '\n    weight: Annotated[int | None, Spec(INT, description="Weight")] = None' + anchor), 1))
    assert run_probe(tmp_path) == "True True"
