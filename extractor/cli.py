"""Command line: `imr-extract extract FILE...` and friends.

stdout carries only JSON records; every diagnostic goes to stderr. Bad input
is one line on stderr and exit code 2, never a traceback, and a bad file in a
list does not lose the records already written for the others.
"""

from __future__ import annotations

import json
import sys

import click
from click_default_group import DefaultGroup

from . import __version__
from .ingest import IngestError
from .pipeline import Config, extract_path
from .schema import json_schema

EXIT_BAD_INPUT = 2


def _error(message: str) -> None:
    click.echo(f"imr-extract: error: {message}", err=True)


@click.group(cls=DefaultGroup, default="extract", default_if_no_args=False)
@click.version_option(__version__, prog_name="imr-extract")
def main() -> None:
    """Verified, structured data from California IMR final determination letters.

    Every value in the output is backed by a verbatim quote found in the letter;
    anything that cannot be verified is listed under "rejected", never emitted.
    """


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
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def config_from(backend, model, base_url, mode, grounded, cache_path, no_cache, offline) -> Config:
    if backend is None:
        backend = "hybrid" if model else "rules"
    if backend != "rules" and not model:
        raise click.UsageError(f"--backend {backend} needs --model (or IMR_EXTRACT_MODEL)")
    return Config(backend=backend, model=model, base_url=base_url, mode=mode, grounded=grounded,
                  cache_path=cache_path, use_cache=not no_cache, offline=offline)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=True))
@model_options
@click.option("--compact", is_flag=True, help="One line of JSON per record even for one file.")
def extract(files: tuple[str, ...], compact: bool, **model_args) -> None:
    """Extract one JSON record per letter (.txt, .md, .html, .pdf) to stdout.

    One file prints pretty JSON; several print JSON Lines.
    """
    config = config_from(**model_args)
    one_line = compact or len(files) > 1
    failed = False
    for path in files:
        try:
            record = extract_path(path, config)
        except IngestError as e:
            _error(str(e))
            failed = True
            continue
        data = record.model_dump(mode="json")
        click.echo(json.dumps(data, ensure_ascii=False, indent=None if one_line else 2))
        sys.stdout.flush()
    if failed:
        sys.exit(EXIT_BAD_INPUT)


@main.command()
def schema() -> None:
    """Print the JSON Schema of the output record."""
    click.echo(json.dumps(json_schema(), indent=2))
