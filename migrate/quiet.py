"""Keep torch's and executorch's console noise out of our output."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from typing import TextIO

# Where our own messages go while quiet_torch is on: the stderr outside the outermost one.
_terminals: list[TextIO] = []


@contextlib.contextmanager
def quiet_torch() -> Iterator[None]:
    """torch and executorch print graphs, glog lines and warnings to stderr while exporting
    (torch.export prints a failed trace's partial FX graph straight to ``sys.stderr``); the
    user gets our one-line summary instead (MIGRATE_DEBUG=1 shows everything). Messages of
    our own get through with :func:`audible`."""
    if os.environ.get("MIGRATE_DEBUG"):
        yield
        return
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    python_stdout, python_stderr = sys.stdout, sys.stderr
    on_fd = _writes_to(python_stderr, 2)
    with tempfile.TemporaryFile() as sink, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.disable(logging.CRITICAL)
        os.dup2(sink.fileno(), 1)  # litert-torch reports progress on stdout
        os.dup2(sink.fileno(), 2)
        terminal = os.fdopen(os.dup(saved_err), "w", buffering=1) if on_fd else python_stderr
        _terminals.append(terminal)
        sys.stderr = os.fdopen(os.dup(sink.fileno()), "w", buffering=1)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.close()
            if on_fd:
                terminal.close()
            _terminals.pop()
            sys.stdout, sys.stderr = python_stdout, python_stderr
            os.dup2(saved_out, 1)
            os.dup2(saved_err, 2)
            os.close(saved_out)
            os.close(saved_err)
            logging.disable(logging.NOTSET)


def audible(say: Callable[[str], None]) -> Callable[[str], None]:
    """``say`` (a progress callback that writes to ``sys.stderr``), heard even inside quiet_torch."""

    def speak(message: str) -> None:
        if not _terminals:
            say(message)
            return
        quiet = sys.stderr
        sys.stderr = _terminals[0]
        try:
            say(message)
        finally:
            sys.stderr = quiet

    return speak


def _writes_to(stream: TextIO, fd: int) -> bool:
    try:
        return stream.fileno() == fd
    except (AttributeError, OSError, ValueError):
        return False
