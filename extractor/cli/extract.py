"""`extract`: letters to records on stdout, one at a time; `schema`: the record's JSON Schema."""

from __future__ import annotations

import json
import sys

import click

from extractor.cli.options import config_from, max_bytes_option, model_options, pdf_limit_options
from extractor.cli.output import error, exit_code, fail
from extractor.errors import ImrError, UsageError


@click.command()
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
    for _path, doc in ingest.load_each(files, config.max_bytes):
        try:
            if isinstance(doc, ImrError):
                raise doc
            data = extract_data(doc, config)
        except ImrError as e:  # bad input, unreachable server, cache miss offline...
            error(str(e))
            code = max(code, exit_code(e))
            continue
        click.echo(dump_json(data, pretty=not one_line))
        sys.stdout.flush()
    if code:
        sys.exit(code)


def _print_text(files: tuple[str, ...], max_bytes: int) -> None:
    from extractor.core import ingest

    if len(files) != 1:
        fail(UsageError("--text prints one letter's text: give one file"))
    try:
        text = ingest.load(files[0], max_bytes).text
    except ImrError as e:
        fail(e)
    sys.stdout.buffer.write(text.encode("utf-8"))
    sys.stdout.flush()


@click.command()
def schema() -> None:
    """Print the JSON Schema of the output record."""
    from extractor.core.schema import json_schema

    click.echo(json.dumps(json_schema(), indent=2))
