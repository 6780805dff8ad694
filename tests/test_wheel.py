"""The package works when installed from a wheel, from another directory.

Builds the wheel, installs it (and its dependencies) in a fresh venv, and runs the
installed `imr-extract` from a temp directory: extract, schema, the llm backend
against the fake OpenAI-compatible server, and eval with its packaged fixtures and
baselines. No source checkout is on the path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from fakeserver import FakeServer

ROOT = Path(__file__).resolve().parent.parent
LETTER = ROOT / "evals" / "fixtures" / "letters" / "004_fc97f7610c159615.txt"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(imr-extract executable, a working directory outside the checkout)."""
    tmp = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                    "-q", "-w", str(tmp / "dist"), str(ROOT)], check=True, timeout=600,
                   capture_output=True)
    wheel = next((tmp / "dist").glob("imr_extract-*.whl"))
    venv.create(tmp / "venv", with_pip=True)
    py = tmp / "venv" / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", str(wheel)], check=True,
                   timeout=900, capture_output=True)
    work = tmp / "elsewhere"
    work.mkdir()
    return tmp / "venv" / "bin" / "imr-extract", work


def _run(installed, *args):
    exe, work = installed
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "OPENAI_BASE_URL")}
    env["IMR_EXTRACT_CACHE"] = str(work / "calls.db")
    return subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True,
                          cwd=work, env=env, timeout=300)


def test_wheel_carries_prompts_fixtures_baselines_and_py_typed(installed):
    exe, _ = installed
    site = next((exe.parent.parent / "lib").glob("python*/site-packages/extractor"))
    assert (site / "py.typed").is_file()
    assert (site / "data" / "prompts" / "v1" / "system.md").is_file()
    assert (site / "data" / "fixtures" / "gold" / "004_fc97f7610c159615.txt.json").is_file()
    assert (site / "data" / "baselines" / "rules-none.json").is_file()
    assert not (site / "data" / "prompts").is_symlink()


def test_installed_extract_and_schema(installed):
    out = _run(installed, "extract", LETTER)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["case_number"] == "CM14-0037910"
    schema = _run(installed, "schema")
    assert schema.returncode == 0 and json.loads(schema.stdout)["title"] == "Record"


def test_installed_llm_backend_reads_its_packaged_prompts(installed):
    answer = {"case_number": {"value": "CM14-0037910"}}
    with FakeServer([json.dumps(answer)]) as server:
        out = _run(installed, "extract", "--backend", "llm", "--model", "fake-model",
                   "--base-url", server.base_url, "--mode", "json_schema", LETTER)
    assert out.returncode == 0, out.stderr
    record = json.loads(out.stdout)
    assert record["case_number"] == "CM14-0037910"
    assert record["extractor"]["prompt_version"].startswith("v1+sha256:")


def test_installed_eval_uses_packaged_fixtures_and_baseline(installed):
    out = _run(installed, "eval")
    assert out.returncode == 0, out.stdout + out.stderr
    said = " ".join(out.stdout.split())  # rich wraps long lines where the path ends
    assert "rules-none.json: no field's F1 dropped by more than 0.0" in said
    assert "errors 0" in said
    save = _run(installed, "eval", "--save-baseline")
    assert save.returncode == 2 and "needs --baseline FILE" in save.stderr


def test_installed_summary_and_browse_without_the_browse_extra(installed):
    """The wheel ships the example queries; without the `browse` extra, browse and
    summary --html say in one line what to install."""
    _, work = installed
    db = work / "results.db"
    assert _run(installed, "batch", LETTER, "--db", db).returncode == 0
    summary = _run(installed, "summary", "--db", db)
    assert summary.returncode == 0 and "letters extracted" in summary.stdout, summary.stderr
    meta = _run(installed, "browse", "--db", db, "--metadata")
    assert "acupuncture_2015" in json.loads(meta.stdout)["databases"]["results"]["queries"]
    for args, needs in ((["browse", "--db", db, "--no-open"], "Datasette"),
                        (["summary", "--db", db, "--html", work / "s.html"], "matplotlib")):
        out = _run(installed, *args)
        assert out.returncode == 2 and out.stderr.count("\n") == 1, out.stderr
        assert f"needs {needs}: pip install 'imr-extract[browse]'" in out.stderr


def test_serve_without_its_extra_says_what_to_install(installed):
    """The wheel alone has no FastAPI: `serve` says how to get it, in one line."""
    out = _run(installed, "serve", "--port", "0")
    assert out.returncode == 2
    assert out.stderr.strip() == ("imr-extract: error: serve needs the serve extra (fastapi "
                                  "is missing): pip install 'imr-extract[serve]'")
