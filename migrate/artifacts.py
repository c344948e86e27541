"""Files named on the command line as artifacts or inputs, and the folders slow commands write to.

An artifact is read only when it is (a link to) a regular file: a FIFO blocks its reader forever
and ``/dev/zero`` never ends (its ``st_size`` is 0, so a size check alone lets it through). An
array file is read as data from outside: arrays only, of a bounded total size (a few kilobytes
of compressed zeros can declare gigabytes).
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import Any, BinaryIO

from migrate.errors import UsageError

MAX_ARRAYS_BYTES = 4 * 2**30


def open_regular(path: Path, follow: bool = True) -> BinaryIO:
    """``path`` opened for reading, or UsageError (missing, unreadable, not a regular file).
    Opening does not block on a FIFO (O_NONBLOCK), and the check is on what was opened.
    ``follow=False`` for files an untrusted process wrote: a link there is refused."""
    flags = os.O_RDONLY | os.O_NONBLOCK | (0 if follow else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        what = "a folder" if stat.S_ISDIR(mode) else "a FIFO, device or socket"
        raise UsageError(f"{path}: not a regular file ({what})")
    os.set_blocking(fd, True)
    return open(fd, "rb")


def check_regular(path: Path) -> None:
    with open_regular(path):
        pass


def read_regular(path: Path, follow: bool = True) -> bytes:
    """A regular file's bytes, at most its size when opened (a file that grows is not chased)."""
    with open_regular(path, follow) as handle:
        return handle.read(os.fstat(handle.fileno()).st_size)


def load_arrays(path: Path) -> list[tuple[str, Any]]:
    """The (name, array) pairs of a ``.npz``, in file order; UsageError for anything else."""
    import numpy as np

    with open_regular(path) as handle:
        try:
            loaded = np.load(handle, allow_pickle=False)
            if not isinstance(loaded, np.lib.npyio.NpzFile):
                raise UsageError(f"{path}: not a .npz of arrays (np.savez writes one)")
            with loaded as data:
                members = data.zip.infolist() if data.zip is not None else []
                declared = sum(int(info.file_size) for info in members)
                if declared > MAX_ARRAYS_BYTES:
                    raise UsageError(
                        f"{path}: its arrays take {declared / 2**30:.1f} GiB unpacked, more than the "
                        f"{MAX_ARRAYS_BYTES / 2**30:.0f} GiB allowed"
                    )
                arrays = [(key, data[key]) for key in data.files]
        except UsageError:
            raise
        except Exception as exc:
            detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise UsageError(f"{path}: not a readable .npz of arrays: {detail}") from None
    for key, value in arrays:
        if not isinstance(value, np.ndarray):
            raise UsageError(f"{path}: {key!r} is not an array saved by numpy")
    return arrays


def check_writable_folder(output: Path) -> None:
    """Refuse now, not after minutes of work, when ``output`` cannot be written: its folder is
    made if missing (as the write would), and a file is created and removed there."""
    if output.is_dir():
        raise UsageError(f"{output}: is a folder; give a file name")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.", suffix=".probe")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise UsageError(f"{output}: cannot write there: {exc.strerror or exc}") from None
