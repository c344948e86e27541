"""Optional runtimes: a missing one is named with the extra that installs it, in one line."""

from __future__ import annotations

import pytest

from migrate.errors import MissingExtraError, require


def test_missing_module_names_the_extra() -> None:
    with pytest.raises(MissingExtraError) as caught:
        require("no_such_runtime_module", "tflite")
    message = str(caught.value)
    assert "\n" not in message
    assert message == (
        "this needs `no_such_runtime_module`, which is not installed: pip install 'executorch-migrate[tflite]'"
    )


def test_installed_module_passes() -> None:
    require("libcst", "export")


def test_inspect_reads_only_a_regular_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A FIFO named *.pte hung `migrate inspect`; a link to /dev/zero read until memory ran out."""
    import os
    import subprocess
    import sys

    os.mkfifo(tmp_path / "model.pte")
    (tmp_path / "zero.pte").symlink_to("/dev/zero")
    for name, kind in (("model.pte", "a FIFO"), ("zero.pte", "a device")):
        done = subprocess.run(
            [sys.executable, "-m", "migrate", "inspect", str(tmp_path / name)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 2
        assert done.stderr == f"migrate: error: {tmp_path / name}: not a regular file ({kind}): not read\n"
