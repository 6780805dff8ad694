"""The access log: method, path, status, size and time of each request, nothing else.

Never the query string, headers (tokens), bodies (letters) or upload file names: a
letter is a medical record. uvicorn's own access log is turned off (it prints the
query string); this one replaces it.
"""

from __future__ import annotations

import logging
import time

log = logging.getLogger("imr_extract.access")


class AccessLog:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status, size = 0, 0

        async def counting(message):
            nonlocal status, size
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                size += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, counting)
        finally:
            log.info("%s %s %d %dB %.1fms", scope["method"], scope["path"], status or 500, size,
                     (time.perf_counter() - started) * 1000)
