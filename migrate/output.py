"""Writing files the user asked for: atomically, so a failed run leaves no half-written file."""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path


def write_atomic(path: Path, write: Callable[[str], object]) -> None:
    """Let ``write`` fill a temporary file beside ``path``, then rename it into place with the
    mode a new file gets (mkstemp's 0600 would hide a report or a .pte from the app build).

    A device or FIFO (``-o /dev/null``, ``-o /dev/stdout``), or a link to one, is written into,
    never replaced."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        mode = stat.S_IFREG
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        write(str(path))
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    write_atomic(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8", newline=""))


def write_bytes_atomic(path: Path, data: bytes) -> None:
    write_atomic(path, lambda tmp: Path(tmp).write_bytes(data))


def write_source_atomic(path: Path, data: bytes, expected_digest: str) -> None:
    """Replace a source file's bytes, keeping its mode; refuse if it changed since it was read."""
    from rewrites.cache import content_digest
    from rewrites.files import read_regular

    current, problem = read_regular(path, 1 << 32)
    if current is None:
        raise OSError(problem)
    if content_digest(current) != expected_digest:
        raise OSError(f"{path} changed while migrate was running; not written")
    mode = path.stat().st_mode & 0o7777
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_new_atomic(path: Path, data: bytes) -> None:
    """Create a file a fix adds (a helper class); refuse if one appeared since the scan."""
    if path.exists():
        raise OSError(f"{path} already exists; not written")
    write_bytes_atomic(path, data)


def unified_diff(path: str, before: str, after: str) -> str:
    import difflib

    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True), after.splitlines(keepends=True), f"a/{path}", f"b/{path}"
        )
    )
