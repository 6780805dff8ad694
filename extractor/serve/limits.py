"""Request size limit, enforced while the body streams in.

A request whose Content-Length is over the limit is answered 413 before any of its
body is read; one without a length (chunked) is cut off with 413 as soon as the bytes
received pass the limit. A multipart upload may carry a little more than the letter
(boundaries, part headers), so its body limit has some slack; the file part itself is
held to the limit afterwards (`upload.read_upload`).
"""

from __future__ import annotations

from extractor.serve.errors import ApiError, response

MULTIPART_SLACK = 64 * 1024


class TooLarge(ApiError):
    def __init__(self, limit: int):
        super().__init__(413, "too_large", f"request body over the limit of {limit:,} bytes "
                         "(--max-bytes)")


def body_limit(scope: dict, max_bytes: int) -> int:
    content_type = _header(scope, b"content-type").lower()
    return max_bytes + (MULTIPART_SLACK if content_type.startswith("multipart/") else 0)


def _header(scope: dict, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return ""


class BodyLimit:
    """ASGI middleware: no request body over `max_bytes` (plus multipart slack) is read."""

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = body_limit(scope, self.max_bytes)
        length = _header(scope, b"content-length")
        if length.isdigit() and int(length) > limit:
            error = TooLarge(self.max_bytes)
            reply = response(error.status, error.code, str(error), {"Connection": "close"})
            return await reply(scope, receive, send)
        seen = 0

        async def limited():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise TooLarge(self.max_bytes)
            return message

        await self.app(scope, limited, send)
