"""`eval`: score an extractor against the hand-labelled gold fixtures (issue 4)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from extractor.cli.options import config_from, model_options
from extractor.cli.output import EXIT_BAD_INPUT, error, fail, report_console
from extractor.config import Config
from extractor.errors import ImrError, IngestError, UsageError
from extractor.privacy import redact, write_private

EVAL_BACKENDS = ("rules", "llm", "hybrid")


@click.command(name="eval")
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
    imr-extract eval --backend llm --model smollm2-135m --offline --letters '00*'
    --cache cache/calls.db
    """
    from extractor.resources import in_checkout
    from extractor.scoring import baseline, evaluate, report

    fixtures = Path(fixtures) if fixtures else evaluate.FIXTURES
    console = report_console()
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
        fail(e)
    except OSError as e:
        fail(IngestError(f"{e.filename}: {e.strerror}" if e.filename else str(e)))


def _eval_run(fixtures: Path, config: Config, pattern: str = "*"):
    from extractor.scoring import evaluate

    if not evaluate.fixture_pairs(fixtures, pattern):
        error(f"{fixtures}: no letters matching {pattern!r} with gold (letters/*, gold/*.json)")
        sys.exit(EXIT_BAD_INPUT)
    progress = None
    if config.backend != "rules":  # model runs are slow: show each letter as it finishes
        def progress(r):
            click.echo(redact(f"eval: {r.name}: {r.error or 'ok'} ({r.seconds:.1f}s)"), err=True)
    evaluation = evaluate.run(fixtures, config, progress, pattern)
    failed = [r for r in evaluation.letters if r.error]
    if len(failed) == len(evaluation.letters):
        error(f"every letter failed; first: {failed[0].name}: {failed[0].error}")
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
