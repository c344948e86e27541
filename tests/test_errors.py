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
