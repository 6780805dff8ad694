"""`cache stats`, `cache clear`: the cache of model calls (issue 3)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from extractor.cli.output import fail
from extractor.errors import ImrError, IngestError

_cache_option = click.option(
    "--cache", "cache_path", default=None, envvar="IMR_EXTRACT_CACHE",
    type=click.Path(dir_okay=False), help="SQLite file of model calls [default: user cache dir].")


@click.group(name="cache")
def cache_group() -> None:
    """The cache of model calls (an identical request is answered from it, no call)."""


@cache_group.command(name="stats")
@_cache_option
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def cache_stats(cache_path, as_json: bool) -> None:
    """How many calls are cached, their tokens, and per model/server/mode."""
    from extractor.backends.model import cache

    path = Path(cache_path) if cache_path else cache.default_path()
    if not path.exists():  # a fresh machine: nothing cached yet is not an error
        if as_json:
            click.echo(json.dumps({"path": str(path), "calls": 0}, indent=2))
        else:
            click.echo(f"{path}: the cache is empty (no model call cached yet)")
        return
    try:
        stats = cache.Cache(path).stats()
    except ImrError as e:  # here the cache file is the command's input
        fail(IngestError(str(e)))
    if as_json:
        click.echo(json.dumps(stats, indent=2))
        return
    click.echo(f"{stats['path']}: {stats['calls']} cached calls, {stats['bytes']:,} bytes, "
               f"schema v{stats['schema_version']}")
    click.echo(f"tokens: {stats['prompt_tokens']:,} prompt + {stats['completion_tokens']:,} "
               f"completion in {stats['attempts']} attempts; requests logged: "
               f"{stats['requests_logged']}")
    for row in stats["by_model"]:
        click.echo(f"  {row['calls']:>5}  {row['model']}  {row['server']}  {row['mode']}")


@cache_group.command(name="clear")
@_cache_option
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def cache_clear(cache_path, yes: bool) -> None:
    """Delete every cached call (the file and its schema stay)."""
    from extractor.backends.model import cache

    path = Path(cache_path) if cache_path else cache.default_path()
    if not path.exists():
        click.echo(f"{path}: no cache file, nothing to clear", err=True)
        return
    if not yes:
        click.confirm(f"Delete every cached call in {path}?", abort=True, err=True)
    try:
        deleted = cache.Cache(path).clear()
    except ImrError as e:  # here the cache file is the command's input
        fail(IngestError(str(e)))
    click.echo(f"{path}: deleted {deleted} cached calls", err=True)
