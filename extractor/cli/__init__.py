"""Command line: `imr-extract extract FILE...` and friends, one module per command group.

For `extract` and `export`, stdout carries only records; every diagnostic goes
to stderr (`eval` and `cache stats` print their tables to stdout). Bad input is
one line on stderr and exit code 2, never a traceback, and a bad file in a list
does not lose the records already written for the others.

A command's module imports its heavy libraries inside the command, when it runs:
importing this package (every `imr-extract` start) stays cheap.
"""

from __future__ import annotations

import click
from click_default_group import DefaultGroup

from extractor import __version__
from extractor.cli import batch, cache, evals, explore, extract, serve
from extractor.cli.output import EXIT_CODES, exit_code

__all__ = ["EXIT_CODES", "exit_code", "main"]


@click.group(cls=DefaultGroup, default="extract", default_if_no_args=False)
@click.version_option(__version__, prog_name="imr-extract")
def main() -> None:
    """Verified, structured data from California IMR final determination letters.

    Every value in the output is backed by a verbatim quote found in the letter;
    anything that cannot be verified is listed under "rejected", never emitted.
    """


main.add_command(extract.extract)
main.add_command(extract.schema)
main.add_command(cache.cache_group)
main.add_command(evals.eval_)
main.add_command(batch.batch)
main.add_command(batch.export)
main.add_command(explore.summary)
main.add_command(explore.browse)
main.add_command(serve.serve)
