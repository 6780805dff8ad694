"""`python -m extractor` and the `imr-extract` command.

Ctrl-C at any moment, even while the program is still importing its libraries, ends
it with one line on stderr and exit code 130, never a traceback. (click would turn a
KeyboardInterrupt into "Aborted!" and exit 1, so Ctrl-C raises our own exception, which
click lets through; `batch` installs its own handler to stop between letters.)
Only the standard library (and the tiny `extractor.errors`) is imported before the
handler is in place.
"""

import os
import signal
import sys

from extractor.errors import EXIT_INTERRUPTED, Interrupted


def _on_sigint(signum, frame):
    raise Interrupted


def main() -> None:
    signal.signal(signal.SIGINT, _on_sigint)
    # Third-party pydantic plugins (entry points in group "pydantic", such as an
    # observability SDK) would see every record we validate, letter text included:
    # the command runs without them unless the user chose otherwise. It also saves
    # pydantic's scan of every installed package's entry points (~6% of start-up).
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    try:
        from extractor.cli import main as cli

        cli()
    except BaseException as e:
        if isinstance(e, SystemExit) or not _by_ctrl_c(e):
            raise  # an exit code already chosen (maybe after reporting a Ctrl-C), or a bug
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C changes nothing
        try:
            sys.stdout.flush()
            sys.stderr.write("imr-extract: error: interrupted\n")
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os._exit(EXIT_INTERRUPTED)


def _by_ctrl_c(e: BaseException | None) -> bool:
    """Ctrl-C, or an error it caused: Python 3.11 wraps an exception raised while a class
    is being created (during an import) in a RuntimeError."""
    while e is not None:
        if isinstance(e, (Interrupted, KeyboardInterrupt)):
            return True
        e = e.__cause__ or e.__context__
    return False


if __name__ == "__main__":
    main()
