"""The rules path never imports the model stack (start-up time, issue 12)."""

import json
import os
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
    assert "extractor" in modules and "click" in modules  # the probe saw the run
    assert not modules & set(MODEL_STACK), sorted(modules & set(MODEL_STACK))
    # Not even pydantic: the field table comes from its snapshot (core/table.py).
    assert "pydantic" not in modules


def test_the_schema_command_does_import_pydantic():
    # The same probe sees pydantic where the models are used, so the check above can fail.
    code, modules = imported_by("schema")
    assert code in (0, None)
    assert "pydantic" in modules


def test_a_model_backend_does_import_it():
    # The same probe sees the stack when a model is called, so the check above can fail.
    with FakeServer(["{}"]) as server:
        code, modules = imported_by("extract", "--backend", "llm", "--model", "fake-model",
                                    "--base-url", server.base_url, "--no-cache",
                                    "--max-attempts", "1", str(ORIGINALS[0]))
    assert server.requests
    assert {"openai", "instructor"} <= modules


# A pydantic plugin, installed the way a real one is (an entry point in group
# "pydantic"), that leaves a mark when pydantic loads it.
SPY = """
import pathlib, os
pathlib.Path(os.environ["SPY_MARK"]).write_text("loaded")
class _Spy:
    def new_schema_validator(self, *args, **kwargs):
        return None, None, None
plugin = _Spy()
"""


BUILD_VALIDATORS = "from extractor.core.schema import Record; Record.model_json_schema()"


def _with_spy_plugin(tmp_path):
    site = tmp_path / "site"
    (site / "spy_plugin-0.1.dist-info").mkdir(parents=True)
    (site / "spy_plugin-0.1.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: spy-plugin\nVersion: 0.1\n")
    (site / "spy_plugin-0.1.dist-info" / "entry_points.txt").write_text(
        "[pydantic]\nspy = spy_plugin:plugin\n")
    (site / "spy_plugin.py").write_text(SPY)
    mark = tmp_path / "mark"
    env = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    return mark, {**env, "PYTHONPATH": str(site), "SPY_MARK": str(mark)}


def test_the_command_runs_without_third_party_pydantic_plugins(tmp_path):
    """A plugin would see every record validated, letter text included (and scanning
    for plugins costs start-up time): the command turns them off."""
    mark, env = _with_spy_plugin(tmp_path)
    # The spy works: building our record's validators in the same environment loads it
    # (validators are built on first use, so importing the schema alone would not).
    subprocess.run([sys.executable, "-c", BUILD_VALIDATORS], env=env,
                   cwd=ROOT, check=True, timeout=120)
    assert mark.read_text() == "loaded"
    mark.unlink()
    done = subprocess.run([sys.executable, "-m", "extractor", "extract", str(ORIGINALS[0])],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["source"]["sha256"]
    # `schema` does build the validators: the plugin stays off there too.
    done = subprocess.run([sys.executable, "-m", "extractor", "schema"],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert not mark.exists()


def test_a_users_own_plugin_setting_is_kept(tmp_path):
    mark, env = _with_spy_plugin(tmp_path)
    env["PYDANTIC_DISABLE_PLUGINS"] = "some_other_plugin"  # the user's choice: spy stays on
    done = subprocess.run([sys.executable, "-m", "extractor", "schema"],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert mark.read_text() == "loaded"
