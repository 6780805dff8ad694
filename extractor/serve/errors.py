"""JSON errors: `{"error": "<one line>", "code": "<slug>"}` with a 4xx (or 502/503/504) status.

Every error class of the package maps to a status here, the service's counterpart of
`cli.output.EXIT_CODES`. Anything unexpected is a 500 with no detail (`InternalErrors`: its
type goes to the log, never its message, which might quote a letter)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from extractor.errors import ImrError, IngestError, ModelError, StoreError, UsageError
from extractor.privacy import redact

log = logging.getLogger("imr_extract.serve")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.headers = status, code, headers


# (class, status, code): most specific class first
STATUSES: list[tuple[type[ImrError], int, str]] = [
    (IngestError, 422, "bad_letter"),
    (UsageError, 400, "bad_option"),
    (ModelError, 502, "model_failed"),
    (StoreError, 503, "database_unavailable"),
    (ImrError, 400, "bad_request"),
]
HTTP_CODES = {400: "bad_request", 401: "unauthorized", 404: "not_found",
              405: "method_not_allowed", 413: "too_large", 415: "unsupported_type"}


def for_imr(error: ImrError) -> ApiError:
    status, code = next((s, c) for cls, s, c in STATUSES if isinstance(error, cls))
    return ApiError(status, code, str(error))


def response(status: int, code: str, message: str, headers: dict | None = None) -> JSONResponse:
    line = redact(" ".join(str(message).split())) or code  # one line, never a credential
    return JSONResponse({"error": line, "code": code}, status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api(request: Request, e: ApiError):
        return response(e.status, e.code, str(e), e.headers)

    @app.exception_handler(ImrError)
    async def _imr(request: Request, e: ImrError):
        api = for_imr(e)
        return response(api.status, api.code, str(api))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, e: RequestValidationError):
        first = e.errors()[0] if e.errors() else {}
        where = ".".join(str(x) for x in first.get("loc", ())[1:]) or "request"
        return response(400, "bad_option", f"{where}: {first.get('msg', 'invalid')}")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, e: StarletteHTTPException):
        return response(e.status_code, HTTP_CODES.get(e.status_code, "http_error"),
                        str(e.detail), getattr(e, "headers", None))


class InternalErrors:
    """ASGI middleware: a bug becomes a 500 JSON answer and one log line with the error's
    type only. (Starlette's own handler would re-raise it, and uvicorn would log the
    traceback with its message, which might quote a letter.)"""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def tracking(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except Exception as e:
            log.error("internal error: %s", type(e).__name__)
            if not started:  # else the client sees the connection end early
                reply = response(500, "internal_error", "internal error (a bug: please report it)")
                await reply(scope, receive, send)
