"""Run the real CLI on a pseudo-terminal and see what a user's terminal would show."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time

import pyte
from conftest import ROOT


def run_on_terminal(args, poke=None, columns=120, rows=30, timeout=120):
    """(exit code, bytes written to the terminal). `poke(proc)` is called between reads
    (e.g. to press Ctrl-C once the batch is under way)."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "extractor", *map(str, args)], cwd=ROOT,
                            stdin=follower, stdout=follower, stderr=follower,
                            start_new_session=True)
    os.close(follower)
    seen, deadline = b"", time.monotonic() + timeout
    while time.monotonic() < deadline:
        if select.select([leader], [], [], 0.1)[0]:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed: the command is over
                break
            if not chunk:
                break
            seen += chunk
        if poke:
            poke(proc)
    os.close(leader)
    return proc.wait(timeout=60), seen


def screen(seen: bytes, columns=120, rows=30) -> list[str]:
    """The non-blank lines a terminal shows at the end (pyte, a terminal emulator)."""
    display = pyte.Screen(columns, rows)
    pyte.Stream(display).feed(seen.decode(errors="replace"))
    return [line.rstrip() for line in display.display if line.strip()]
