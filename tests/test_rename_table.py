"""MIG507's table of moved modules is checked against the installed torch, torchao, executorch."""

from __future__ import annotations

import importlib

import pytest

from rewrites.rules.moved_quantization_import import MOVED_MODULES, moved
from tests.conftest import needs_export


@needs_export
@pytest.mark.parametrize(("old", "new"), sorted(MOVED_MODULES.items()))
def test_old_path_is_gone_and_new_path_imports(old: str, new: str) -> None:
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module(old)
    importlib.import_module(new)


@needs_export
def test_the_pt2e_entry_points_live_at_the_new_paths() -> None:
    pt2e = importlib.import_module(MOVED_MODULES["torch.ao.quantization.quantize_pt2e"])
    assert callable(pt2e.prepare_pt2e) and callable(pt2e.convert_pt2e)
    xnnpack = importlib.import_module(MOVED_MODULES["torch.ao.quantization.quantizer.xnnpack_quantizer"])
    assert callable(xnnpack.XNNPACKQuantizer) and callable(xnnpack.get_symmetric_quantization_config)


def test_longest_row_wins() -> None:
    assert moved("torch.ao.quantization.quantizer.xnnpack_quantizer") == (
        "torch.ao.quantization.quantizer.xnnpack_quantizer",
        "executorch.backends.xnnpack.quantizer.xnnpack_quantizer",
    )
    assert moved("torch.ao.quantization.quantizer.utils") == (
        "torch.ao.quantization.quantizer",
        "torchao.quantization.pt2e.quantizer.utils",
    )
    assert moved("torch.ao.quantization") is None
