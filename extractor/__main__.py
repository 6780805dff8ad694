"""`python -m extractor` and the `imr-extract` command.

Ctrl-C at any moment, even while the program is still importing its libraries, ends
it with one line on stderr and exit code 130, never a traceback. (click would turn a
KeyboardInterrupt into "Aborted!" and exit 1, so Ctrl-C raises our own exception, which
click lets through; `batch` installs its own handler to stop between letters.)
Only the standard library is imported before the handler is in place.
"""

import os
import signal
import sys

EXIT_INTERRUPTED = 130


class Interrupted(BaseException):
    """Ctrl-C: not an Exception, so no `except Exception` swallows it."""


def _on_sigint(signum, frame):
    raise Interrupted


def main() -> None:
    signal.signal(signal.SIGINT, _on_sigint)
    try:
        from extractor.cli import main as cli

        cli()
    except (Interrupted, KeyboardInterrupt):
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C changes nothing
        try:
            sys.stdout.flush()
            sys.stderr.write("imr-extract: interrupted\n")
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os._exit(EXIT_INTERRUPTED)


if __name__ == "__main__":
    main()
