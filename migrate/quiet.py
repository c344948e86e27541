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
    sys.stderr.flush()
    saved = os.dup(2)
    python_stderr = sys.stderr
    with tempfile.TemporaryFile() as sink, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.disable(logging.CRITICAL)
        os.dup2(sink.fileno(), 2)
        # Our own messages (progress, via sys.stderr) still reach the terminal.
        sys.stderr = os.fdopen(os.dup(saved), "w", buffering=1)
        try:
            yield
        finally:
            sys.stderr.close()
            sys.stderr = python_stderr
            os.dup2(saved, 2)
            os.close(saved)
            logging.disable(logging.NOTSET)
