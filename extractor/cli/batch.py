"""`batch`: letters into a results database; `export`: its records out (issue 5)."""

from __future__ import annotations

import sys

import click

from extractor.batch import group as commit_group  # two constants, no imports
from extractor.cli.options import config_from, max_bytes_option, model_options, pdf_limit_options
from extractor.cli.output import EXIT_SOME_FAILED, error, fail
from extractor.config import Config
from extractor.errors import EXIT_INTERRUPTED, ImrError, Interrupted, UsageError
from extractor.privacy import open_private


@click.command()
@click.argument("paths", nargs=-1)
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
@click.option("--engine", type=click.Choice(["live", "batch-file", "batch-api"]),
              default="live", show_default=True,
              help="live: ask the server letter by letter. batch-file: write the requests "
              "to -o FILE for a batch engine (vLLM run_batch...) and stop. batch-api: "
              "upload them to the provider's Batch API (then --collect).")
@click.option("-o", "--output", "out_path", type=click.Path(dir_okay=False), default=None,
              help="The request file --engine batch-file writes, or where --import-results "
              "writes the next round's requests. Created mode 0600: it holds the letters.")
@click.option("--import-results", "results_path", type=click.Path(dir_okay=False),
              default=None, help="Verify and store an output file in the OpenAI batch "
              "output format (answers to requests this database wrote); no PATHS.")
@click.option("--collect", is_flag=True,
              help="Poll the Batch API batches this database submitted, import their "
              "answers, submit the next rounds, until all are done; no PATHS.")
@click.option("--once", is_flag=True, help="With --collect: look once, do not wait.")
@click.option("--poll-seconds", type=click.FloatRange(min=0.1), default=60, show_default=True,
              help="With --collect: seconds between looks at unfinished batches.")
@click.option("--keep-remote-files", is_flag=True,
              help="With --collect: keep the request and answer files on the provider "
              "(by default deleted once imported).")
def batch(paths: tuple[str, ...], db_path: str, concurrency: int | None, letter_timeout: float,
          commit_letters: int, commit_seconds: float, engine: str, out_path: str | None,
          results_path: str | None, collect: bool, once: bool, poll_seconds: float,
          keep_remote_files: bool, **model_args) -> None:
    """Extract every letter in PATHS (files, folders searched recursively, globs of
    .txt .md .html .pdf) into a SQLite database, a group of letters per transaction.

    Re-running skips letters already done with the same backend/model/prompt
    version and retries failed ones, so a killed batch resumes where it stopped.
    With --engine batch-file or batch-api the model's requests go to a batch engine
    (the request file holds the letters: it is written 0600), and --import-results or
    --collect brings the answers back through the verifier (docs/batch.md).
    Exit code: 0 every letter done or skipped, 1 some failed (each is in the
    `letters` table with its error), 2 usage or database error, 130 interrupted.
    """
    import os

    group = commit_group.Limits(commit_letters, commit_seconds)
    if engine != "live" or results_path or collect:
        return _batch_engine(paths, db_path, engine, out_path, results_path, collect, group,
                             dict(once=once, poll_seconds=poll_seconds,
                                  keep_remote_files=keep_remote_files), model_args,
                             (concurrency, letter_timeout))
    if not paths:
        raise click.UsageError("batch needs PATHS (or --import-results / --collect)")
    config = config_from(**model_args)
    try:
        from extractor.batch import run as batch_  # a second of imports: Ctrl-C may come

        summary = batch_.run(paths, db_path, config, concurrency, letter_timeout=letter_timeout,
                             group=group)
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


def _batch_engine(paths, db_path, engine, out_path, results_path, collect, group, polling,
                  model_args, work) -> None:
    """`batch --engine batch-file|batch-api`, `--import-results`, `--collect`."""
    if (results_path or collect) and paths:
        raise click.UsageError("--import-results and --collect take no PATHS")
    if engine == "batch-file" and not out_path and not results_path:
        raise click.UsageError("--engine batch-file needs -o FILE (the request file to write)")
    if not (paths or results_path or collect or engine == "batch-file"):
        raise click.UsageError("batch needs PATHS (or --import-results / --collect)")
    config = config_from(**model_args) if paths else Config(
        cache_path=model_args["cache_path"], use_cache=not model_args["no_cache"],
        base_url=model_args["base_url"], max_bytes=model_args["max_bytes"])
    try:
        from extractor.batch.engines import commands

        work = commands.Work(*work)  # worker processes read and verify the letters
        if results_path:
            report = commands.import_results(db_path, results_path, config, out_path, group,
                                             work)
        elif collect:
            report = commands.collect(db_path, config, group, work=work, **polling)
        elif engine == "batch-api":
            report = commands.submit(paths, db_path, config, out_path, group, work)
        else:
            report = commands.write_requests(paths, db_path, config, out_path, "batch-file",
                                             group, work)
    except ImrError as e:
        fail(e)
    except (KeyboardInterrupt, Interrupted):
        error(f"interrupted: what was finished is saved in {db_path}; run the same command "
              "again to resume")
        sys.exit(EXIT_INTERRUPTED)
    click.echo(f"imr-extract: batch: {report.line()} -> {db_path}", err=True)
    for note in report.notes:
        click.echo(f"imr-extract: {note}", err=True)
    if report.failed:
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
