"""The rules path never imports the model stack (start-up time, issue 12)."""

import json
import subprocess
import sys

from conftest import ORIGINALS, ROOT
from fakeserver import FakeServer

MODEL_STACK = ("openai", "instructor", "httpx", "tenacity", "rich", "sqlite_utils")

# Run the real CLI in a child interpreter, then report which top-level packages
# it imported; stdout carries the records, so the report goes to stderr.
PROBE = """
import json, sys
from extractor.cli import main
try:
    main(sys.argv[1:])
except SystemExit as e:
    code = e.code
print(json.dumps({"code": code, "modules": sorted({m.split(".")[0] for m in sys.modules})}),
      file=sys.stderr)
"""


def imported_by(*args: str) -> tuple[int, set[str]]:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return report["code"], set(report["modules"])


def test_extract_with_the_rules_backend_imports_no_model_stack():
    code, modules = imported_by("extract", "--backend", "rules", *map(str, ORIGINALS[:2]))
    assert code in (0, None)
    assert "extractor" in modules and "pydantic" in modules  # the probe saw the run
    assert not modules & set(MODEL_STACK), sorted(modules & set(MODEL_STACK))


def test_a_model_backend_does_import_it():
    # The same probe sees the stack when a model is called, so the check above can fail.
    with FakeServer(["{}"]) as server:
        code, modules = imported_by("extract", "--backend", "llm", "--model", "fake-model",
                                    "--base-url", server.base_url, "--no-cache",
                                    "--max-attempts", "1", str(ORIGINALS[0]))
    assert server.requests
    assert {"openai", "instructor"} <= modules
