from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from migrate.cli import main
from rewrites.core import Invalid, Rule, Valid

FIXTURES = Path(__file__).parent / "fixtures"
GOLDEN = Path(__file__).parent / "golden"


def case_id(rule: type[Rule], case: Valid | Invalid) -> str:
    """A rule example's test id, by content (``MIG101-invalid-3f2a9c1e``): it stays with the
    example when others are added or reordered, and changes when the example does."""
    kind = "valid" if isinstance(case, Valid) else "invalid"
    digest = hashlib.sha256(repr((case.path, case.code, case.project)).encode()).hexdigest()[:8]
    return f"{rule.code}-{kind}-{digest}"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="rewrite tests/golden/ from this run")


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> dict:
        return json.loads(self.stdout)


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator:
    """Run `migrate ...` in-process, from a working folder of the test's choosing."""

    def run(*args: str, cwd: Path | None = None) -> CliResult:
        monkeypatch.chdir(cwd or tmp_path)
        result = CliRunner().invoke(main, list(args), catch_exceptions=False)
        return CliResult(result.exit_code, result.stdout, result.stderr)

    yield run


@pytest.fixture
def golden(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """Compare text with tests/golden/NAME, or rewrite it with --update-golden."""

    def check(name: str, text: str) -> None:
        path = GOLDEN / name
        if request.config.getoption("--update-golden"):
            path.parent.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8")
        assert path.exists(), f"missing golden file {path}: run pytest --update-golden"
        assert text == path.read_text(encoding="utf-8"), f"{name} changed: review, then --update-golden"

    return check


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def run_locked(command: list[str], cwd: Path, locked: Path, mode: int) -> subprocess.CompletedProcess[str]:
    """``command`` with the folder ``locked`` chmod-ed to ``mode`` meanwhile. Root reads and writes
    through chmod, so as root it runs without the capabilities that let it (CAP_DAC_OVERRIDE,
    CAP_DAC_READ_SEARCH), as any other user would."""
    if is_root():
        command = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *command]
    locked.chmod(mode)
    try:
        return subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=120)
    finally:
        locked.chmod(0o755)
