import json
import sys
from pathlib import Path

import pytest
from browser import browser  # noqa: F401  (the Chromium fixture, tests/browser.py)

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "evals" / "fixtures"
LETTERS = FIXTURES / "letters"
GOLD = FIXTURES / "gold"
BAD = FIXTURES / "bad"
ORIGINALS = sorted(LETTERS.glob("00*.txt"))
ALL_LETTERS = sorted(p for p in LETTERS.iterdir() if (GOLD / f"{p.name}.json").exists())


def gold_for(letter: Path) -> dict:
    return json.loads((GOLD / f"{letter.name}.json").read_text())


@pytest.fixture
def cli():
    """Run the real CLI as a subprocess: cli(*args) -> CompletedProcess."""
    import subprocess

    def run(*args, input=None, env=None, cwd=None, timeout=300):
        return subprocess.run([sys.executable, "-m", "extractor", *map(str, args)],
                              capture_output=True, text=True, input=input, env=env,
                              cwd=cwd or ROOT, timeout=timeout)

    return run
