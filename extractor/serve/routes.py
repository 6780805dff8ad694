"""The API under /v1, the health check and the page."""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import json
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path as PathParam, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from extractor.batch import query
from extractor.core.fields import DATE
from extractor.core.schema import Record, json_schema
from extractor.serve import page
from extractor.serve.auth import require_token
from extractor.serve.errors import ApiError
from extractor.serve.upload import RAW_TYPES, UPLOAD_FIELD, read_letter
from extractor.serve.work import request_config

api = APIRouter(prefix="/v1", dependencies=[Depends(require_token)])
site = APIRouter()

ERRORS = {s: {"description": d} for s, d in (
    (400, "bad options"), (401, "missing or wrong token"), (413, "over --max-bytes"),
    (408, "the upload was too slow"), (415, "unsupported Content-Type"),
    (422, "empty, binary or not an IMR letter"),
    (502, "the model failed"), (504, "over the time limit"))}
# The letter goes in the body, parsed by hand (streamed under the size limit), so the
# OpenAPI document is told its shapes here.
LETTER_BODY = {"requestBody": {"required": True, "content": {
    "multipart/form-data": {"schema": {"type": "object", "required": [UPLOAD_FIELD],
                                       "properties": {UPLOAD_FIELD: {"type": "string",
                                                                     "format": "binary"}}}},
    **{t: {"schema": {"type": "string", "format": "binary"}} for t in RAW_TYPES}}}}


def _options(backend: Annotated[Literal["rules", "llm", "hybrid"] | None, Query(
                 description="Default: the server's backend")] = None,
             model: Annotated[str | None, Query(
                 description="Must be the server's --model")] = None,
             strict: Annotated[bool | None, Query(
                 description="A model failure is a 502 instead of the rules record with a "
                             "warning (hybrid). Default: the server's --strict")] = None):
    return backend, model, strict


async def _extract(request: Request, options: tuple, view: bool) -> dict:
    settings = request.app.state.settings
    config = request_config(settings, *options)  # bad options fail before the upload is read
    try:  # a client trickling bytes must not hold a connection for ever
        letter = await asyncio.wait_for(read_letter(request, settings.max_bytes),
                                        settings.upload_timeout)
    except TimeoutError:
        raise ApiError(408, "slow_upload", f"the letter did not arrive within "
                       f"{settings.upload_timeout:g} s (--upload-timeout)") from None
    return await request.app.state.workers.run(letter, config, view)


@api.post("/extract", response_model=Record, responses=ERRORS, openapi_extra=LETTER_BODY,
          summary="Extract the verified record of one letter")
async def extract(request: Request, options: Annotated[tuple, Depends(_options)]):
    """The same record as `imr-extract extract` for the same bytes; `source.path` is the
    upload's file name, or null for a raw body."""
    return Response((await _extract(request, options, view=False))["record"],
                    media_type="application/json")


@api.post("/review", responses=ERRORS, openapi_extra=LETTER_BODY,
          summary="The record plus the highlighted letter (what the page shows)")
async def review(request: Request, options: Annotated[tuple, Depends(_options)]):
    """`{"record", "warnings_html", "letter_html", "panel_html"}`: the record, and as HTML
    its warnings, the letter with every evidence span highlighted, and the panel beside it
    (rejected values, every extracted value)."""
    out = await _extract(request, options, view=True)
    pieces = json.dumps({k: v for k, v in out.items() if k != "record"}, ensure_ascii=False)
    return Response(f'{{"record":{out["record"]},{pieces[1:]}', media_type="application/json")


@api.get("/schema", summary="The record's JSON Schema")
async def schema():
    return json_schema()


# -- the results database (--db), read-only ----------------------------------------------
def _filter_dependency():
    """A dependency whose parameters are the field table's filters (so /docs lists them)."""
    params = []
    for f in query.FILTERS:
        kind = (dt.date if f.field.kind == DATE
                else Literal[f.field.words] if f.field.words else str)
        doc = f.field.spec.description + (" (from, inclusive)" if f.op == ">=" else
                                          " (to, inclusive)" if f.op == "<=" else "")
        params.append(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=None,
                                        annotation=Annotated[kind | None, Query(description=doc)]))

    def filters(**given):
        return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in given.items()}

    filters.__signature__ = inspect.Signature(params)
    return filters


def _db(request: Request):
    path = request.app.state.settings.db
    if not path:
        raise ApiError(404, "no_database", "this server has no results database "
                       "(start it with --db results.db)")
    conn = query.connect(path)
    try:
        yield conn
    finally:
        conn.close()


@api.get("/letters", summary="Extracted letters in the results database, filtered, paginated")
def letters(filters: Annotated[dict, Depends(_filter_dependency())],
            conn: Annotated[object, Depends(_db)],
            limit: Annotated[int, Query(ge=1, le=query.MAX_PAGE)] = 50,
            offset: Annotated[int, Query(ge=0)] = 0):
    return query.letters(conn, filters, limit, offset)


@api.get("/letters/{sha256}", response_model=Record, summary="One stored record")
def letter(sha256: Annotated[str, PathParam(pattern="^[0-9a-fA-F]{64}$")],
           conn: Annotated[object, Depends(_db)]):
    text = query.record_json(conn, sha256.lower())
    if text is None:
        raise ApiError(404, "not_found", f"no extracted letter {sha256} in the database")
    return JSONResponse(json.loads(text))


# -- outside /v1: no token --------------------------------------------------------------
@site.get("/healthz", summary="Health check")
async def healthz():
    return {"status": "ok"}


@site.get("/", response_class=HTMLResponse, include_in_schema=False)
async def index(request: Request):
    return HTMLResponse(page.html(request.app.state.settings))
