"""What `imr-extract serve` was started with: one frozen object every route reads."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field

from extractor.config import DEFAULT_MAX_BYTES, Config
from extractor.errors import UsageError

CONCURRENCY = 4                # model calls at once
REQUEST_TIMEOUT_S = 300.0      # a small local model needs 80-190 s for one letter
UPLOAD_TIMEOUT_S = 60.0        # 10 MB at 1.4 Mbit/s


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    token: str | None = None
    db: str | None = None
    max_bytes: int = DEFAULT_MAX_BYTES
    concurrency: int = CONCURRENCY
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    timeout: float = REQUEST_TIMEOUT_S
    upload_timeout: float = UPLOAD_TIMEOUT_S
    config: Config = field(default_factory=Config)

    def backends(self) -> tuple[str, ...]:
        """Backends a request may ask for: the model ones only with a model configured."""
        return ("rules", "llm", "hybrid") if self.config.model else ("rules",)

    def check(self) -> None:
        """Refuse to serve letters to the network without a token."""
        if not self.token and not is_loopback(self.host):
            raise UsageError(f"--host {self.host} is not a loopback address: give --token "
                             "(every /v1 call then needs 'Authorization: Bearer <token>')")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name other than localhost may resolve to anything
        return False
