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

_ctrl_c_seen = False


def _on_sigint(signum, frame):
    global _ctrl_c_seen
    _ctrl_c_seen = True
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
        if not isinstance(e, SystemExit) and _by_ctrl_c(e):
            _exit_interrupted()
        raise  # an exit code already chosen (maybe after reporting a Ctrl-C), or a bug
    finally:
        # Our code is done, but Python's shutdown (joining worker threads, atexit) may
        # still take a moment: a Ctrl-C there must not print "Exception ignored ...".
        signal.signal(signal.SIGINT, lambda signum, frame: _exit_interrupted())


def _exit_interrupted() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C changes nothing
    try:
        sys.stdout.flush()
        sys.stderr.write("imr-extract: error: interrupted\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    os._exit(EXIT_INTERRUPTED)


def _by_ctrl_c(e: BaseException | None) -> bool:
    """Ctrl-C, or an error it caused. Python 3.11 wraps an exception raised while a class
    is being created (during an import) in a RuntimeError; pydantic-core, building a
    validator when the signal lands, replaces ours with a SchemaError that has no link to
    it. So once our handler has run, whatever error follows is the interruption."""
    if _ctrl_c_seen:
        return True
    while e is not None:
        if isinstance(e, (Interrupted, KeyboardInterrupt)):
            return True
        e = e.__cause__ or e.__context__
    return False


if __name__ == "__main__":
    main()
