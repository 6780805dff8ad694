"""The letter of a request: a multipart upload (field `file`) or the raw body.

A raw body's format is its Content-Type; an upload's is its file name's suffix, as
for `imr-extract extract FILE` (browsers label most files application/octet-stream).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from extractor.serve.errors import ApiError
from extractor.serve.limits import TooLarge

RAW_TYPES = {"text/plain": "text", "text/markdown": "markdown", "text/x-markdown": "markdown",
             "text/html": "html", "application/pdf": "pdf"}
UPLOAD_FIELD = "file"


@dataclass
class Letter:
    data: bytes
    name: str | None     # the upload's file name; None for a raw body
    fmt: str | None      # from the Content-Type of a raw body; None: from the name


async def read_letter(request: Request, max_bytes: int) -> Letter:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        return await read_upload(request, max_bytes)
    if content_type not in RAW_TYPES:
        raise ApiError(415, "unsupported_type",
                       f"Content-Type {content_type or '(none)'!r} is not supported: send a "
                       f"multipart upload (field {UPLOAD_FIELD!r}) or one of "
                       + ", ".join(sorted(RAW_TYPES)))
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > max_bytes:
            raise TooLarge(max_bytes)
    return Letter(bytes(data), None, RAW_TYPES[content_type])


async def read_upload(request: Request, max_bytes: int) -> Letter:
    form = await request.form(max_files=1, max_fields=10)
    try:
        upload = form.get(UPLOAD_FIELD)
        if upload is None or isinstance(upload, str):
            raise ApiError(400, "no_file", f"multipart upload without a file field "
                           f"{UPLOAD_FIELD!r}")
        data = await upload.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise TooLarge(max_bytes)
        return Letter(data, upload.filename or None, None)
    finally:
        await form.close()  # spooled parts go now, not at garbage collection
