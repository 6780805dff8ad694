"""One exception hierarchy. Every error a user can cause or meet is an `ImrError`
whose message is one line; the CLI maps the class to an exit code in one place
(`cli.output.EXIT_CODES`) and the service to an HTTP status."""

from __future__ import annotations


class ImrError(Exception):
    """Base: a problem to report in one line, never as a traceback."""


class IngestError(ImrError):
    """Input that cannot be read as an IMR letter (missing, empty, binary, too big...)."""


class ModelError(ImrError):
    """The model could not be asked (unreachable server, bad key, cache miss offline)."""


class CacheError(ModelError):
    """The call cache cannot be used. A ModelError: callers report it the same way."""


class StoreError(ImrError):
    """The results database cannot be used."""


class BaselineError(ImrError):
    """A baseline or eval report file that cannot be used."""


class UsageError(ImrError):
    """Options that do not fit together, or a missing default the user must give."""



EXIT_INTERRUPTED = 130  # the shell's code for a process ended by SIGINT (128 + 2)


class Interrupted(BaseException):
    """Ctrl-C, raised by the SIGINT handler `extractor.__main__` installs first thing. Not
    an Exception, so no `except Exception` swallows it; not a KeyboardInterrupt, which
    click would turn into "Aborted!" and exit code 1. The entry point makes it exit 130."""
