"""`batch`: letters into a results database; `export`: its records out (issue 5)."""

from __future__ import annotations

import sys

import click

from extractor.batch import group as commit_group  # two constants, no imports
from extractor.cli.options import config_from, max_bytes_option, model_options, pdf_limit_options
from extractor.cli.output import EXIT_SOME_FAILED, error, fail
from extractor.errors import EXIT_INTERRUPTED, ImrError, Interrupted, UsageError
from extractor.privacy import open_private


@click.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--db", "db_path", required=True, type=click.Path(dir_okay=False),
              help="SQLite results database (created if missing, upgraded if old).")
@model_options
@max_bytes_option
@pdf_limit_options
@click.option("--concurrency", type=click.IntRange(1, 512), default=None,
              help="Model calls at once for llm/hybrid [default: 4]; worker processes for "
              "rules [default: one per core].")
@click.option("--letter-timeout", type=click.FloatRange(min=0.1), default=60, show_default=True,
              help="Seconds one letter may take (for llm/hybrid: on top of --timeout); a "
              "letter past it is recorded as failed, timed out, and the batch goes on.")
@click.option("--commit-letters", type=click.IntRange(1, 100_000),
              default=commit_group.COMMIT_LETTERS, show_default=True,
              help="Letters written per transaction, at most: a kill loses at most this "
              "group (redone on resume).")
@click.option("--commit-seconds", type=click.FloatRange(0, 3600),
              default=commit_group.COMMIT_SECONDS, show_default=True,
              help="Seconds a finished letter waits, at most, before its group is written.")
def batch(paths: tuple[str, ...], db_path: str, concurrency: int | None, letter_timeout: float,
          commit_letters: int, commit_seconds: float, **model_args) -> None:
    """Extract every letter in PATHS (files, folders searched recursively, globs of
    .txt .md .html .pdf) into a SQLite database, a group of letters per transaction.

    Re-running skips letters already done with the same backend/model/prompt
    version and retries failed ones, so a killed batch resumes where it stopped.
    Exit code: 0 every letter done or skipped, 1 some failed (each is in the
    `letters` table with its error), 2 usage or database error, 130 interrupted.
    """
    import os

    config = config_from(**model_args)
    try:
        from extractor.batch import run as batch_  # a second of imports: Ctrl-C may come

        summary = batch_.run(paths, db_path, config, concurrency, letter_timeout=letter_timeout,
                             group=commit_group.Limits(commit_letters, commit_seconds))
    except ImrError as e:
        fail(e)
    except (KeyboardInterrupt, Interrupted):  # while the batch starts or ends, outside its
        # own Ctrl-C handling
        error(f"interrupted: letters finished so far are saved in {db_path}; run the same "
               "command again to resume")
        sys.exit(EXIT_INTERRUPTED)
    if summary.interrupted:
        error(f"interrupted: {summary.done} done, {summary.failed} failed, {summary.skipped} "
               f"skipped are saved in {db_path}; run the same command again to resume")
        sys.stderr.flush()
        os._exit(EXIT_INTERRUPTED)  # model calls in flight are abandoned, not awaited
    click.echo(f"imr-extract: batch: {summary.line()} -> {db_path}", err=True)
    if summary.failed:
        sys.exit(EXIT_SOME_FAILED)


@click.command()
@click.option("--db", "db_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Results database written by `imr-extract batch`.")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl",
              show_default=True, help="jsonl: one Record JSON per line, exactly as stored; "
              "csv: one row per item, letter columns repeated (see docs/batch.md).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), default="-",
              help="Output file, created readable by you only [default: stdout].")
def export(db_path: str, fmt: str, output: str) -> None:
    """Write the stored records of every extracted letter (failed letters are not records)."""
    from extractor.batch import store

    try:
        with store.Store(db_path, readonly=True) as db:
            write = store.export_csv if fmt == "csv" else store.export_jsonl
            if output == "-":
                write(db, sys.stdout)
            else:
                with open_private(output) as f:
                    write(db, f)
    except OSError as e:
        fail(UsageError(f"cannot write {output}: {e.strerror}"))
    except ImrError as e:
        fail(e)
