"""Files the tool writes for the user: atomic, and with a new file's mode."""

from __future__ import annotations

import os
from pathlib import Path


def test_written_files_get_the_mode_a_new_file_gets(tmp_path: Path) -> None:
    """Atomic writes go through mkstemp (0600); a report or .pte must still be readable by the
    app build and CI steps run as other users."""
    from migrate.output import write_bytes_atomic, write_text_atomic

    previous = os.umask(0o022)
    try:
        write_text_atomic(tmp_path / "report.md", "# ok\n")
        write_bytes_atomic(tmp_path / "model.pte", b"\0")
    finally:
        os.umask(previous)
    assert (tmp_path / "report.md").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "model.pte").stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pte", "report.md"]
