"""Options shared by several commands, and the configuration they make."""

from __future__ import annotations

import click

from extractor.config import DEFAULT_MAX_BYTES, Config


def model_options(fn):
    """Options shared by every command that may call a model (extract, batch, eval)."""
    options = [
        click.option("--backend", type=click.Choice(["rules", "llm", "hybrid"]), default=None,
                     help="rules: offline rules; llm: the model fills the record; hybrid: rules "
                     "first, the model fills the gaps. Default: hybrid when a model is "
                     "configured, else rules."),
        click.option("--model", "model", default=None, envvar="IMR_EXTRACT_MODEL",
                     help="Model name on the OpenAI-compatible server [env IMR_EXTRACT_MODEL]."),
        click.option("--base-url", default=None, envvar="OPENAI_BASE_URL",
                     help="OpenAI-compatible server URL [env OPENAI_BASE_URL]."),
        click.option("--mode", type=click.Choice(["auto", "json_object", "json_schema", "tools"]),
                     default="auto", show_default=True,
                     help="How instructor asks for structured output; auto probes the server."),
        click.option("--grounded", is_flag=True,
                     help="Constrained decoding: text fields can only be pieces of the letter."),
        click.option("--cache", "cache_path", default=None, envvar="IMR_EXTRACT_CACHE",
                     type=click.Path(dir_okay=False),
                     help="SQLite file of model calls [default: user cache dir]."),
        click.option("--no-cache", is_flag=True, help="Neither read nor write the call cache."),
        click.option("--offline", is_flag=True, help="Never call a model; fail on a cache miss."),
        click.option("--log-requests", is_flag=True,
                     help="Also store each request (it contains the letter) in the call cache."),
        click.option("--max-attempts", type=click.IntRange(1, 10), default=3, show_default=True,
                     help="Model attempts per letter (re-asks with the verifier's errors)."),
        click.option("--timeout", type=click.FloatRange(min=1), default=900, show_default=True,
                     help="Seconds the model may take for one letter, every request, "
                     "attempt and retry included; each request gets the time left."),
        click.option("--strict", is_flag=True,
                     help="A model failure fails the letter (exit 1). Without it, hybrid "
                     "falls back to the rules' record with a warning naming the failure."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


max_bytes_option = click.option(
    "--max-bytes", type=click.IntRange(min=1), default=DEFAULT_MAX_BYTES, show_default=True,
    help="Largest letter file read, in bytes (checked before reading); also the most "
    "characters a letter's text may decode to. A larger one is refused as bad input.")


def _pdf_limit(env: str):
    """Set the PDF reader's limit for this process and the workers it starts."""
    def callback(ctx, param, value):
        if value is not None:
            import os
            os.environ[env] = repr(value)
        return value
    return callback


def pdf_limit_options(fn):
    from extractor.core import pdf
    fn = click.option(
        "--pdf-timeout", type=click.FloatRange(min=0.1), default=None, expose_value=False,
        callback=_pdf_limit(pdf.TIMEOUT_ENV),
        help=f"Seconds the PDF reader may take for one PDF [default: {pdf.DEFAULT_TIMEOUT:g}; "
        f"env {pdf.TIMEOUT_ENV}].")(fn)
    return click.option(
        "--pdf-memory", type=click.IntRange(min=64), default=None, expose_value=False,
        callback=_pdf_limit(pdf.MEMORY_ENV),
        help="MB of memory the PDF reader (PDFium, in a process of its own) may use; a PDF "
        f"that needs more is refused [default: {pdf.DEFAULT_MEMORY_MB}; env "
        f"{pdf.MEMORY_ENV}].")(fn)


def config_from(backend, model, base_url, mode, grounded, cache_path, no_cache, offline,
                log_requests=False, max_attempts=3, timeout=900.0, strict=False,
                max_bytes=DEFAULT_MAX_BYTES) -> Config:
    if backend is None:
        backend = "hybrid" if model else "rules"
    if backend != "rules" and not model:
        raise click.UsageError(f"--backend {backend} needs --model (or IMR_EXTRACT_MODEL)")
    return Config(backend=backend, model=model, base_url=base_url, mode=mode, grounded=grounded,
                  cache_path=cache_path, use_cache=not no_cache, offline=offline,
                  max_attempts=max_attempts, timeout=timeout, strict=strict,
                  max_bytes=max_bytes,
                  extra={"log_requests": True} if log_requests else {})


