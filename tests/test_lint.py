"""The repository passes `ruff check` with the rules chosen in pyproject.toml ([tool.ruff])."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_finds_nothing():
    # --no-cache: writes nothing into the checkout; the whole tree takes well under a second
    out = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, (out.stdout + out.stderr
                                 + "\n(fix what ruff found; `ruff check --fix` does the safe ones)")
