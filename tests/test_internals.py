"""The private torch / executorch / LiteRT APIs the tool uses exist in the installed versions, and
one that does not is an error naming it and the versions checked against, not a quiet fallback."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("executorch")

import torch

from tests.conftest import run_command
from validators import internals
from validators.versions import installed_version

ROOT = Path(__file__).resolve().parent.parent


def test_the_installed_versions_are_the_ones_checked_against() -> None:
    """A new torch / executorch / LiteRT pin fails here until the internals are checked again."""
    installed = {package: installed_version(package) for package in internals.CHECKED_AGAINST}
    assert {package: version.split("+")[0] for package, version in installed.items() if version} == {
        package: internals.CHECKED_AGAINST[package] for package, version in installed.items() if version
    }


def test_every_internal_exists_here() -> None:
    assert internals.ts2ep_converter().__name__ == "TS2EPConverter"
    assert callable(internals.pte_deserializer())
    assert internals.edge_ops().edge.aten.view_copy.default is not None
    assert internals.detect_fake_mode([torch.zeros(1)]) is None  # a real tensor: no fake mode
    assert internals.tree_leaves({"a": (torch.zeros(1), [torch.ones(2)])})[1].shape == (2,)
    leaves, _ = internals.tree_flatten((torch.zeros(1),))
    assert len(leaves) == 1


_DRAFT = """
import sys, torch
from validators import internals

class Branch(torch.nn.Module):
    def forward(self, x):
        return x * 2 if x.sum() > 0 else x - 1

draft = torch.export.draft_export(Branch(), (torch.ones(3),))
failures, filenames = internals.draft_export_failures(draft)
for d in failures:
    for f in d["user_stack"]:
        print(filenames.get(f.get("filename"), f.get("filename")))
"""


def test_draft_export_reports_where_a_data_dependent_branch_is(tmp_path: Path) -> None:
    """In its own process, as `migrate export` runs it: in the suite's process, after other tests
    had run torch.export and LiteRT conversions, draft_export's report came back empty."""
    script = tmp_path / "draft_branch.py"
    script.write_text(_DRAFT, encoding="utf-8")
    done = run_command([sys.executable, str(script)], ROOT, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    files = done.stdout.splitlines()
    assert any(name.endswith("draft_branch.py") for name in files), (files, done.stderr[-2000:])


def test_a_missing_internal_names_itself_and_the_versions() -> None:
    with pytest.raises(internals.InternalAPIError) as raised:
        internals.draft_export_failures(object())  # no ._report: as if torch had changed it
    message = str(raised.value)
    assert message.startswith("torch.export.draft_export(...)._report is not usable in the installed torch ")
    assert "checked against torch 2.13.0, executorch 1.5.1, ai-edge-litert 2.3.0" in message
    assert raised.value.internal == "torch.export.draft_export(...)._report"
