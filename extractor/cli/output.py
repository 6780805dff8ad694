"""How the commands speak: exit codes, one-line errors on stderr, the console that
prints tables.

Bad input is one line on stderr and exit code 2, never a traceback. `EXIT_CODES` is
the one place an error class becomes an exit code (the service maps the same classes
to HTTP statuses).
"""

from __future__ import annotations

import sys

import click

from extractor.errors import (
    BaselineError,
    ImrError,
    IngestError,
    ModelError,
    StoreError,
    UsageError,
)
from extractor.privacy import redact

EXIT_SOME_FAILED = 1
EXIT_BAD_INPUT = 2
# The one place an error class becomes an exit code (most specific class first).
EXIT_CODES: dict[type[ImrError], int] = {
    IngestError: EXIT_BAD_INPUT, UsageError: EXIT_BAD_INPUT, StoreError: EXIT_BAD_INPUT,
    BaselineError: EXIT_BAD_INPUT, ModelError: EXIT_SOME_FAILED, ImrError: EXIT_BAD_INPUT,
}


def exit_code(error: ImrError) -> int:
    return next(code for cls, code in EXIT_CODES.items() if isinstance(error, cls))


def error(message: str) -> None:
    click.echo(f"imr-extract: error: {redact(message)}", err=True)


def fail(problem: ImrError):
    """Report an error in one line and exit with its code."""
    error(str(problem))
    sys.exit(exit_code(problem))


def report_console():
    """The console for tables on stdout (eval, summary)."""
    from rich.console import Console

    # piped output (CI logs, tests) still gets full-width tables
    return Console(width=None if sys.stdout.isatty() else 150, highlight=False)
