"""Keep torch's and executorch's console noise out of our output."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import warnings
from collections.abc import Iterator


@contextlib.contextmanager
def quiet_torch() -> Iterator[None]:
    """torch and executorch print graphs, glog lines and warnings to stderr while exporting;
    the user gets our one-line summary instead (MIGRATE_DEBUG=1 shows everything)."""
    if os.environ.get("MIGRATE_DEBUG"):
        yield
        return
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    python_stdout, python_stderr = sys.stdout, sys.stderr
    with tempfile.TemporaryFile() as sink, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.disable(logging.CRITICAL)
        os.dup2(sink.fileno(), 1)  # litert-torch reports progress on stdout
        os.dup2(sink.fileno(), 2)
        # Our own messages (progress, via sys.stderr) still reach the terminal.
        sys.stderr = os.fdopen(os.dup(saved_err), "w", buffering=1)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.close()
            sys.stdout, sys.stderr = python_stdout, python_stderr
            os.dup2(saved_out, 1)
            os.dup2(saved_err, 2)
            os.close(saved_out)
            os.close(saved_err)
            logging.disable(logging.NOTSET)
