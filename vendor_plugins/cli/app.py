"""``main``: parse the command line, run the command, turn every failure into one line and an exit code."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ..errors import BmsError, one_line
from . import common
from .format import printable
from .parser import build_parser

_LIBRARY_LOGGER = logging.getLogger("vendor_plugins")


class PrintableFormatter(logging.Formatter):
    """Log lines made printable (a message may quote a device).

    A message stays one line; a ``--debug`` traceback keeps its line breaks, each of its lines escaped.
    """

    def formatMessage(self, record: logging.LogRecord) -> str:
        """The message line, escaped whole (its line breaks too)."""
        return printable(super().formatMessage(record))

    def formatException(self, ei: Any) -> str:
        """A traceback, line by line."""
        return "\n".join(printable(line) for line in super().formatException(ei).split("\n"))


@contextlib.contextmanager
def logging_to_stderr(debug: bool) -> Iterator[None]:
    """Route log records to stderr while the command runs; undone afterwards (``main`` may run in-process).

    Normally only this library's warnings are shown: third-party libraries log their own view of failures the
    CLI already reports in one line (pymodbus even appends multi-line frame dumps), so they are muted — a
    ``NullHandler`` on the root logger also keeps Python's last-resort handler quiet. ``--debug`` shows all.
    """
    root = logging.getLogger()
    handler: logging.Handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(PrintableFormatter(f"{common.PROG}: %(levelname)s %(name)s: %(message)s"))
    mute = logging.NullHandler()
    previous = root.level
    if debug:
        root.addHandler(handler)
        root.setLevel(logging.DEBUG)
    else:
        handler.setLevel(logging.WARNING)
        _LIBRARY_LOGGER.addHandler(handler)
        root.addHandler(mute)
    try:
        yield
    finally:
        root.removeHandler(handler)
        _LIBRARY_LOGGER.removeHandler(handler)
        root.removeHandler(mute)
        root.setLevel(previous)


def _parse(argv: Sequence[str] | None) -> argparse.Namespace | int:
    """The parsed command line, or the exit code when there is nothing to run (usage error, ``--help``)."""
    with logging_to_stderr(debug=False):  # a plugin that fails to load warns in a bmsgw line
        parser = build_parser()
    try:
        return parser.parse_args(argv)
    except common.UsageError as err:
        common.error(str(err))
        return common.EXIT_USAGE
    except SystemExit as exc:  # --help / --version
        return exc.code if isinstance(exc.code, int) else common.EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``bmsgw`` with ``argv`` (default: ``sys.argv[1:]``) and return the exit code."""
    debug = False
    try:
        args = _parse(argv)
        if isinstance(args, int):
            return args
        debug = getattr(args, "debug", False)
        command: Callable[[argparse.Namespace], int] = args.handler
        with logging_to_stderr(debug):
            return command(args)
    except BmsError as err:
        if debug:
            traceback.print_exc()
        common.error(one_line(err))
        return common.exit_code_for(err)
    except KeyboardInterrupt:
        return common.EXIT_INTERRUPTED
    except BrokenPipeError:  # `bmsgw read --watch ... | head`: the reader went away
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return common.EXIT_OK
    except OSError as err:  # a transport let an OS error through: still a device error, still one line
        if debug:
            traceback.print_exc()
        common.error(one_line(err))
        return common.EXIT_DEVICE
    except Exception as err:
        if debug:
            traceback.print_exc()
        common.error(f"internal error: {type(err).__name__}: {one_line(err)} (run with --debug for a traceback)")
        return common.EXIT_FAILURE
