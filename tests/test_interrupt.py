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
    ["extract", *[L004] * 400],  # lasts past the last moment even on a fast machine
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


# A library that catches our Ctrl-C exception and raises its own error with no link to it,
# as pydantic-core does when the signal lands while it builds a validator (seen in CI:
# "SchemaError: ... Interrupted:" and a traceback).
SWALLOWS_CTRL_C = """
import os, signal, sys, time
import extractor.cli
from extractor import __main__ as entry

def swallowing_library():
    try:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)
    except BaseException:
        pass
    raise ValueError("Error building validator: Interrupted:")

extractor.cli.main = swallowing_library
entry.main()
"""


def test_an_error_a_library_raises_in_place_of_ctrl_c_is_still_an_interruption():
    proc = subprocess.run([sys.executable, "-c", SWALLOWS_CTRL_C], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stderr) == (130, "imr-extract: error: interrupted\n")


def test_an_error_without_ctrl_c_is_not_reported_as_one():
    script = SWALLOWS_CTRL_C.replace("os.kill(os.getpid(), signal.SIGINT)", "pass")
    script = script.replace("time.sleep(5)", "pass")
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "ValueError: Error building validator" in proc.stderr


# Ctrl-C after our code returned, while Python joins a worker thread at shutdown (seen
# once in `eval`: "Exception ignored in: <module 'threading'> ... Interrupted").
CTRL_C_AT_SHUTDOWN = """
import os, signal, sys, threading, time
import extractor.cli
from extractor import __main__ as entry

def worker():
    time.sleep(0.3)
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(1)

def command_that_leaves_a_thread():
    threading.Thread(target=worker).start()
    print("done")

extractor.cli.main = command_that_leaves_a_thread
entry.main()
"""


def test_ctrl_c_while_python_shuts_down_ends_it_the_same_way():
    proc = subprocess.run([sys.executable, "-c", CTRL_C_AT_SHUTDOWN], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stdout, proc.stderr) == (
        130, "done\n", "imr-extract: error: interrupted\n")
