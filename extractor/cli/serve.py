"""`serve`: the extraction service (issue 13)."""

from __future__ import annotations

import click

from extractor.cli.options import config_from, max_bytes_option, model_options, pdf_limit_options
from extractor.cli.output import fail
from extractor.errors import ImrError, UsageError
from extractor.serve import settings as serving  # light: no FastAPI until `serve` runs


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind. Anything but loopback needs --token.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port to listen on.")
@click.option("--token", default=None, envvar="IMR_EXTRACT_TOKEN",
              help="Every /v1 call must send 'Authorization: Bearer TOKEN' "
              "[env IMR_EXTRACT_TOKEN].")
@click.option("--db", "db_path", default=None, type=click.Path(exists=True, dir_okay=False),
              help="Results database to serve read-only at /v1/letters.")
@click.option("--concurrency", type=click.IntRange(1, 512), default=serving.CONCURRENCY,
              show_default=True, help="Model calls at once (llm/hybrid).")
@click.option("--workers", type=click.IntRange(1, 256), default=None,
              help="Worker processes for the rules [default: one per core].")
@click.option("--request-timeout", type=click.FloatRange(min=0, min_open=True),
              default=serving.REQUEST_TIMEOUT_S, show_default=True,
              help="Seconds one extraction may take (504 after).")
@click.option("--upload-timeout", type=click.FloatRange(min=0, min_open=True),
              default=serving.UPLOAD_TIMEOUT_S, show_default=True,
              help="Seconds for a letter's bytes to arrive (408 after).")
@model_options
@max_bytes_option
@pdf_limit_options
def serve(host, port, token, db_path, concurrency, workers, request_timeout, upload_timeout,
          **model_args) -> None:
    """Run the extraction service: POST /v1/extract, /v1/schema, /docs, and a review page
    at / (needs the serve extra: pip install 'imr-extract[serve]').

    curl -F file=@letter.txt localhost:8000/v1/extract
    """
    import os

    try:
        from extractor.serve import app
    except ImportError as e:  # fastapi/uvicorn are an optional extra
        fail(UsageError(f"serve needs the serve extra ({e.name} is missing): "
                         "pip install 'imr-extract[serve]'"))
    config = config_from(**model_args)  # --max-bytes: 413 above it, and ingest's limit
    settings = serving.Settings(host=host, port=port, token=token or None, db=db_path,
                                max_bytes=config.max_bytes, concurrency=concurrency,
                                workers=workers or os.cpu_count() or 1, timeout=request_timeout,
                                upload_timeout=upload_timeout, config=config)
    try:
        app.run(settings)
    except ImrError as e:
        fail(e)
