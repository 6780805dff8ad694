"""The real service in a subprocess: `imr-extract serve` on a free loopback port.

    with Service("--token", "t") as s:
        httpx.get(s.url + "/healthz")

Its stderr (uvicorn's lines and the access log) goes to a file, so a test can read
exactly what the server logged.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from localmodel import free_port

ROOT = Path(__file__).resolve().parent.parent


class Service:
    def __init__(self, *args, host: str = "127.0.0.1", workers: int = 1, startup_s: float = 60):
        self.port = free_port()
        self.args = ["--host", host, "--port", str(self.port), "--workers", str(workers),
                     *map(str, args)]
        self.url = f"http://127.0.0.1:{self.port}"
        self.startup_s = startup_s
        self._log = tempfile.NamedTemporaryFile("w+", prefix="imr-serve-", suffix=".log")
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Service:
        env = dict(os.environ)
        env.pop("IMR_EXTRACT_MODEL", None)
        env.pop("IMR_EXTRACT_TOKEN", None)
        self.proc = subprocess.Popen([sys.executable, "-m", "extractor", "serve", *self.args],
                                     stdout=self._log, stderr=subprocess.STDOUT, cwd=ROOT,
                                     env=env)
        deadline = time.monotonic() + self.startup_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited {self.proc.returncode}: {self.log()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.2)
        self.__exit__()
        raise RuntimeError(f"serve did not answer in {self.startup_s} s: {self.log()}")

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log(self) -> str:
        self._log.flush()
        return Path(self._log.name).read_text(errors="replace")
