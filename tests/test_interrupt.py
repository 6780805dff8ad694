"""Ctrl-C at any moment, start-up imports included: no traceback, exit code 130 (issue 11,
defect 14). The real CLI as a subprocess, interrupted at a spread of moments."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
from conftest import LETTERS, ROOT

L004 = LETTERS / "004_fc97f7610c159615.txt"
MOMENTS = [0.1, 0.2, 0.3, 0.45, 0.6, 0.8, 1.1]  # seconds after start: imports, then work


@pytest.mark.parametrize("command", [
    ["extract", "--backend", "llm", "--model", "m", "--offline", "--no-cache", L004],
    ["extract", L004, L004, L004, L004, L004, L004, L004, L004],
    ["eval"],
])
def test_ctrl_c_at_any_moment_gives_no_traceback(command, tmp_path):
    codes = set()
    for delay in MOMENTS:
        proc = subprocess.Popen([sys.executable, "-m", "extractor", *map(str, command)],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
        if err.startswith("Fatal Python error: init_import_site"):
            # CPython's own start-up (its `site` import, before any program's code runs)
            # was still going on: on a loaded machine 0.1 s can land there. No program
            # can handle that moment; it is in the README's limits.
            codes.add("cpython-startup")
            continue
        assert "Traceback" not in err and "KeyboardInterrupt" not in err, (delay, err)
        if proc.returncode == 130:
            assert err.splitlines()[-1] == "imr-extract: error: interrupted", err
        # -SIGINT: the signal came before Python could run any of our code (no output)
        assert proc.returncode in (130, -signal.SIGINT, 0, 1), (delay, proc.returncode, err)
        codes.add(proc.returncode)
    assert 130 in codes  # most moments land in our code
