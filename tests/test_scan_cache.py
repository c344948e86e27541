"""A warm scan takes the project index's digest from the cache: it builds the index only when
a Python file changed, and a change to the project still reaches every file's cached result."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import rewrites.runner
from tests.conftest import FIXTURES


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURES / "mobile_project", tmp_path / "project"))


def test_a_warm_scan_builds_no_project_index(cli, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    built = []
    real = rewrites.runner.index_project

    def counted(files):  # type: ignore[no-untyped-def]
        built.append(1)
        return real(files)

    monkeypatch.setattr(rewrites.runner, "index_project", counted)
    first = cli("scan", ".", "--format", "json", cwd=project).json()
    assert len(built) == 1
    second = cli("scan", ".", "--format", "json", cwd=project).json()
    assert len(built) == 1 and second["cache_hits"] == 5 and second["findings"] == first["findings"]
    # a new example-inputs function changes the index, so every Python file is checked again
    with (project / "app_models" / "classifier.py").open("a") as handle:
        handle.write("\n\ndef example_inputs():\n    return (torch.rand(1, 3, 224, 224),)\n")
    third = cli("scan", ".", "--format", "json", cwd=project).json()
    assert len(built) == 2
    assert third["files_parsed"] == first["files_parsed"] and third["cache_hits"] == 0
    assert third["findings"] == first["findings"]
