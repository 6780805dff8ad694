"""Command line: `imr-extract extract FILE...` and friends.

For `extract` and `export`, stdout carries only records; every diagnostic goes
to stderr (`eval` and `cache stats` print their tables to stdout). Bad input is
one line on stderr and exit code 2, never a traceback, and a bad file in a list
does not lose the records already written for the others.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from click_default_group import DefaultGroup

from extractor import __version__
from extractor.batch import group as commit_group  # two constants, no imports
from extractor.config import DEFAULT_MAX_BYTES, Config
from extractor.privacy import open_private, redact, write_private
from extractor.errors import (
    EXIT_INTERRUPTED,
    BaselineError,
    ImrError,
    IngestError,
    Interrupted,
    ModelError,
    StoreError,
    UsageError,
)
from extractor.serve import settings as serving  # light: no FastAPI until `serve` runs

EXIT_SOME_FAILED = 1
EXIT_BAD_INPUT = 2
# The one place an error class becomes an exit code (most specific class first).
EXIT_CODES: dict[type[ImrError], int] = {
    IngestError: EXIT_BAD_INPUT, UsageError: EXIT_BAD_INPUT, StoreError: EXIT_BAD_INPUT,
    BaselineError: EXIT_BAD_INPUT, ModelError: EXIT_SOME_FAILED, ImrError: EXIT_BAD_INPUT,
}


def exit_code(error: ImrError) -> int:
    return next(code for cls, code in EXIT_CODES.items() if isinstance(error, cls))


def _error(message: str) -> None:
    click.echo(f"imr-extract: error: {redact(message)}", err=True)


def _fail(error: ImrError):
    """Report an error in one line and exit with its code."""
    _error(str(error))
    sys.exit(exit_code(error))


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


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=True))
@model_options
@max_bytes_option
@pdf_limit_options
@click.option("--compact", is_flag=True, help="One line of JSON per record even for one file.")
@click.option("--text", "show_text", is_flag=True,
              help="Print the letter's text instead of its record: the text every evidence "
              "start/end refers to (a PDF's decoded text), as UTF-8 with its line breaks as "
              "they are (read it back without newline translation). One file only.")
def extract(files: tuple[str, ...], compact: bool, show_text: bool, **model_args) -> None:
    """Extract one JSON record per letter (.txt, .md, .html, .pdf) to stdout.

    One file prints pretty JSON; several print JSON Lines.
    """
    if any(str(f).lower().endswith(".pdf") for f in files):
        from extractor.core import pdf

        pdf.start()  # the PDF reader starts up while the rules are imported
    from extractor.core import ingest
    from extractor.core.jsonline import dump_json
    from extractor.pipeline import extract_data

    config = config_from(**model_args)
    if show_text:
        _print_text(files, config.max_bytes)
        return
    one_line = compact or len(files) > 1
    code = 0
    for path, doc in ingest.load_each(files, config.max_bytes):
        try:
            if isinstance(doc, ImrError):
                raise doc
            data = extract_data(doc, config)
        except ImrError as e:  # bad input, unreachable server, cache miss offline...
            _error(str(e))
            code = max(code, exit_code(e))
            continue
        click.echo(dump_json(data, pretty=not one_line))
        sys.stdout.flush()
    if code:
        sys.exit(code)


def _print_text(files: tuple[str, ...], max_bytes: int) -> None:
    from extractor.core import ingest

    if len(files) != 1:
        _fail(UsageError("--text prints one letter's text: give one file"))
    try:
        text = ingest.load(files[0], max_bytes).text
    except ImrError as e:
        _fail(e)
    sys.stdout.buffer.write(text.encode("utf-8"))
    sys.stdout.flush()


# -- cache (issue 3) ----------------------------------------------------------------------
_cache_option = click.option(
    "--cache", "cache_path", default=None, envvar="IMR_EXTRACT_CACHE",
    type=click.Path(dir_okay=False), help="SQLite file of model calls [default: user cache dir].")


@main.group(name="cache")
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
        _fail(IngestError(str(e)))
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
        _fail(IngestError(str(e)))
    click.echo(f"{path}: deleted {deleted} cached calls", err=True)


@main.command()
def schema() -> None:
    """Print the JSON Schema of the output record."""
    from extractor.core.schema import json_schema

    click.echo(json.dumps(json_schema(), indent=2))


# -- eval (issue 4) ----------------------------------------------------------------------
EVAL_BACKENDS = ("rules", "llm", "hybrid")


@main.command(name="eval")
@model_options
@click.option("--fixtures", type=click.Path(exists=True, file_okay=False), default=None,
              help="Folder with letters/ and gold/ [default: the fixtures shipped with "
              "imr-extract, which are the repository's evals/fixtures].")
@click.option("--letters", "pattern", default="*", show_default=True,
              help="Only letters whose file name matches this glob (e.g. '00*': the five "
              "real letters, the ones with recorded model replies).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None,
              help="Also write the full report (per letter, per field, every check) as JSON.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False), default=None,
              help="Also write a self-contained HTML review page (evidence spans highlighted).")
@click.option("--save-baseline", is_flag=True,
              help="Write the scores as the baseline for this backend and model.")
@click.option("--baseline", "baseline_file", type=click.Path(dir_okay=False), default=None,
              help="Baseline file to compare with or save to "
              "[default: evals/baselines/<backend>-<model or none>.json].")
@click.option("--tolerance", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Allowed drop of a field's F1 (0..1) below the baseline before the run fails.")
@click.option("--compare", nargs=2, default=None, metavar="A B",
              help="Side by side F1 of two eval JSON reports or baselines (or backend names "
              "rules/llm/hybrid, run on the spot).")
def eval_(fixtures, pattern, json_path, html_path, save_baseline, baseline_file, tolerance, compare,
          **model_args) -> None:
    """Score an extractor against the hand-labelled gold fixtures.

    Prints per-field precision/recall/F1, per-letter scores, grounding rate, rejected
    values, tokens, attempts and seconds. Without --save-baseline, compares with the
    matching baseline and exits 1 when a field's F1 dropped by more than --tolerance.
    Model answers replay from the call cache, so CI runs offline:
    imr-extract eval --backend llm --model smollm2-135m --offline --letters '00*' --cache cache/calls.db
    """
    from extractor.resources import in_checkout
    from extractor.scoring import baseline, evaluate, report

    fixtures = Path(fixtures) if fixtures else evaluate.FIXTURES
    console = _report_console()
    try:
        if compare:
            data = [_eval_side(spec, fixtures, model_args) for spec in compare]
            rows = baseline.diff(*data)
            console.print(baseline.diff_table(rows, f"A: {compare[0]}", f"B: {compare[1]}"))
            return
        evaluation, data = _eval_run(fixtures, config_from(**model_args), pattern)
        report.print_scores(data, console)
        _eval_write(evaluation, data, json_path, html_path)
        target = Path(baseline_file) if baseline_file else baseline.baseline_path(
            evaluation.config.backend, evaluation.config.model)
        if save_baseline:
            if not baseline_file and not in_checkout():
                raise UsageError("--save-baseline outside a source checkout needs --baseline FILE")
            baseline.save(target, baseline.make(evaluation, _command_line()))
            console.print(f"saved baseline {target}")
        elif target.exists() or baseline_file:
            sys.exit(baseline.gate(data, target, tolerance, console))
        else:
            console.print(f"no baseline {target} to compare with (save one: --save-baseline)")
    except ImrError as e:
        _fail(e)
    except OSError as e:
        _fail(IngestError(f"{e.filename}: {e.strerror}" if e.filename else str(e)))


def _report_console():
    from rich.console import Console

    # piped output (CI logs, tests) still gets full-width tables
    return Console(width=None if sys.stdout.isatty() else 150, highlight=False)


def _eval_run(fixtures: Path, config: Config, pattern: str = "*"):
    from extractor.scoring import evaluate

    if not evaluate.fixture_pairs(fixtures, pattern):
        _error(f"{fixtures}: no letters matching {pattern!r} with gold (letters/*, gold/*.json)")
        sys.exit(EXIT_BAD_INPUT)
    progress = None
    if config.backend != "rules":  # model runs are slow: show each letter as it finishes
        def progress(r):
            click.echo(redact(f"eval: {r.name}: {r.error or 'ok'} ({r.seconds:.1f}s)"), err=True)
    evaluation = evaluate.run(fixtures, config, progress, pattern)
    failed = [r for r in evaluation.letters if r.error]
    if len(failed) == len(evaluation.letters):
        _error(f"every letter failed; first: {failed[0].name}: {failed[0].error}")
        sys.exit(EXIT_BAD_INPUT)
    return evaluation, evaluate.report(evaluation)


def _eval_side(spec: str, fixtures: Path, model_args: dict) -> dict:
    """--compare operand: a saved report/baseline file, or a backend to run now."""
    from extractor.scoring import baseline

    if Path(spec).is_file():
        return baseline.load(spec)
    if spec in EVAL_BACKENDS:
        return _eval_run(fixtures, config_from(**{**model_args, "backend": spec}))[1]
    raise click.BadParameter(f"{spec!r} is neither a file nor a backend "
                             f"({', '.join(EVAL_BACKENDS)})", param_hint="--compare")


def _eval_write(evaluation, data: dict, json_path, html_path) -> None:
    from extractor.scoring import report

    if json_path:  # reports quote letters: readable by the user only
        write_private(json_path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    if html_path:
        write_private(html_path, report.html_page(evaluation, data))


def _command_line() -> str:
    import shlex

    return shlex.join(["imr-extract", *sys.argv[1:]])


# -- batch, export (issue 5) -------------------------------------------------------------
@main.command()
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
        _fail(e)
    except (KeyboardInterrupt, Interrupted):  # while the batch starts or ends, outside its
        # own Ctrl-C handling
        _error(f"interrupted: letters finished so far are saved in {db_path}; run the same "
               "command again to resume")
        sys.exit(EXIT_INTERRUPTED)
    if summary.interrupted:
        _error(f"interrupted: {summary.done} done, {summary.failed} failed, {summary.skipped} "
               f"skipped are saved in {db_path}; run the same command again to resume")
        sys.stderr.flush()
        os._exit(EXIT_INTERRUPTED)  # model calls in flight are abandoned, not awaited
    click.echo(f"imr-extract: batch: {summary.line()} -> {db_path}", err=True)
    if summary.failed:
        sys.exit(EXIT_SOME_FAILED)


def _batch_engine(paths, db_path, engine, out_path, results_path, collect, group, polling,
                  model_args, work) -> None:
    """`batch --engine batch-file|batch-api`, `--import-results`, `--collect` (issue 23)."""
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
        _fail(e)
    except (KeyboardInterrupt, Interrupted):
        _error(f"interrupted: what was finished is saved in {db_path}; run the same command "
               "again to resume")
        sys.exit(EXIT_INTERRUPTED)
    click.echo(f"imr-extract: batch: {report.line()} -> {db_path}", err=True)
    for note in report.notes:
        click.echo(f"imr-extract: {note}", err=True)
    if report.failed:
        sys.exit(EXIT_SOME_FAILED)


@main.command()
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
        _fail(UsageError(f"cannot write {output}: {e.strerror}"))
    except ImrError as e:
        _fail(e)


# -- browse, summary (issue 14) ---------------------------------------------------------
_db_option = click.option("--db", "db_path", required=True,
                          type=click.Path(exists=True, dir_okay=False),
                          help="Results database written by `imr-extract batch`.")


@main.command()
@_db_option
@click.option("--html", "html_path", type=click.Path(dir_okay=False), default=None,
              help="Also write a self-contained page with charts (inline SVG).")
@click.option("--top", type=click.IntRange(1, 100), default=10, show_default=True,
              help="How many of the most cited guidelines the page charts.")
@click.option("--min-n", type=click.IntRange(1), default=10, show_default=True,
              help="Decided items a rate needs to be shown (with its 95% Wilson interval); "
              "fewer show their counts only, and are not drawn as bars.")
def summary(db_path: str, html_path: str | None, top: int, min_n: int) -> None:
    """The corpus at a glance: letters, items, outcomes, overturn rate by category and
    by decision year, each with its counts and 95% interval; --html adds charts of
    guidelines, specialties and years."""
    from extractor.explore import summary as summary_
    from extractor.explore.database import open_results

    try:
        with open_results(db_path) as db:  # applies missing migrations: the views are there
            figures = summary_.read(db.conn, top, min_n)
        summary_.print_tables(figures, _report_console())
        if html_path:
            summary_.write_page(figures, html_path, f"IMR determinations: {Path(db_path).name}")
            click.echo(f"imr-extract: summary: wrote {html_path}", err=True)
    except ImrError as e:
        _fail(e)
    except OSError as e:
        _fail(UsageError(f"{e.filename}: {e.strerror}" if e.filename else str(e)))


@main.command()
@_db_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to serve on (127.0.0.1: this machine only).")
@click.option("--port", type=click.IntRange(0, 65535), default=8001, show_default=True,
              help="Port to serve on (0: any free port).")
@click.option("--no-open", is_flag=True, help="Do not open a web browser.")
@click.option("--metadata", "print_metadata", is_flag=True,
              help="Print the Datasette metadata (JSON) and exit, without serving.")
def browse(db_path: str, host: str, port: int, no_open: bool, print_metadata: bool) -> None:
    """Open the database in Datasette, with titles, column descriptions, facets on
    decision, category, outcome and specialty, and the example queries as canned
    queries. Needs the browse extra: pip install 'imr-extract[browse]'."""
    from extractor.explore import browse as browse_
    from extractor.explore.database import open_results

    try:
        open_results(db_path).close()  # applies missing migrations: the views are there
        if print_metadata:
            click.echo(json.dumps(browse_.metadata(db_path), indent=2, ensure_ascii=False))
            return
        if host not in ("127.0.0.1", "localhost", "::1"):
            click.echo(f"imr-extract: browse: serving on {host}: anyone who can reach it can "
                       "read these medical records", err=True)
        sys.exit(browse_.serve(db_path, host, port, open_browser=not no_open))
    except ImrError as e:
        _fail(e)


# -- serve (issue 13) --------------------------------------------------------------------
@main.command()
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
        _fail(UsageError(f"serve needs the serve extra ({e.name} is missing): "
                         "pip install 'imr-extract[serve]'"))
    config = config_from(**model_args)  # --max-bytes: 413 above it, and ingest's limit
    settings = serving.Settings(host=host, port=port, token=token or None, db=db_path,
                                max_bytes=config.max_bytes, concurrency=concurrency,
                                workers=workers or os.cpu_count() or 1, timeout=request_timeout,
                                upload_timeout=upload_timeout, config=config)
    try:
        app.run(settings)
    except ImrError as e:
        _fail(e)


if __name__ == "__main__":  # python -m extractor.cli (python -m extractor works too)
    main()
