"""`summary` and `browse`: reading a results database (issue 14)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from extractor.cli.output import fail, report_console
from extractor.errors import ImrError, UsageError
from extractor.explore.rates import RATES  # names only: no rich, no SQL

_db_option = click.option("--db", "db_path", required=True,
                          type=click.Path(exists=True, dir_okay=False),
                          help="Results database written by `imr-extract batch`.")


@click.command()
@_db_option
@click.option("--html", "html_path", type=click.Path(dir_okay=False), default=None,
              help="Also write a self-contained page with charts (inline SVG).")
@click.option("--top", type=click.IntRange(1, 100), default=10, show_default=True,
              help="How many of the most cited guidelines (source and part) the page charts.")
@click.option("--min-n", type=click.IntRange(1), default=10, show_default=True,
              help="Decided items a rate needs to be shown (with its 95% Wilson interval); "
              "fewer show their counts only, and are not drawn as bars.")
@click.option("--by", "by", multiple=True, metavar="TABLE",
              type=click.Choice([key for key, *_ in RATES]),
              help="Show only these rate tables (repeat the option) [default: all]: "
              + ", ".join(key for key, *_ in RATES) + ".")
def summary(db_path: str, html_path: str | None, top: int, min_n: int,
            by: tuple[str, ...]) -> None:
    """The corpus at a glance: letters, items, outcomes, and the overturn rate by
    treatment category, drug class, drug, guideline, body region, reviewer specialty,
    decision year and modified request, each with its counts and 95% interval; --html
    adds charts of the rates and of the most cited guidelines."""
    from extractor.explore import summary as summary_
    from extractor.explore.database import open_results

    try:
        with open_results(db_path) as db:  # applies missing migrations: the views are there
            figures = summary_.read(db.conn, top, min_n, by)
        summary_.print_tables(figures, report_console())
        if html_path:
            summary_.write_page(figures, html_path, f"IMR determinations: {Path(db_path).name}")
            click.echo(f"imr-extract: summary: wrote {html_path}", err=True)
    except ImrError as e:
        fail(e)
    except OSError as e:
        fail(UsageError(f"{e.filename}: {e.strerror}" if e.filename else str(e)))


@click.command()
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
        fail(e)
