from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
from click.testing import CliRunner
from hypothesis import settings

from migrate.cli import main
from rewrites.core import Invalid, Rule, Valid

# The property tests draw the same examples on every run, so the suite passes or fails on the
# code alone; `HYPOTHESIS_PROFILE=explore make test` draws new ones (and keeps what fails in
# .hypothesis/, replayed first next time).
settings.register_profile("reproducible", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "reproducible"))

FIXTURES = Path(__file__).parent / "fixtures"
GOLDEN = Path(__file__).parent / "golden"
SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


def installed(*modules: str) -> bool:
    return all(importlib.util.find_spec(module) is not None for module in modules)


# Exporting or running a model needs the `export` extra (torch, executorch). A base install
# (`pip install -e '.[dev]'`) skips the modules made of such tests (their `pytest.importorskip`
# of both, with this reason) and the tests marked `needs_export`, and runs the rest.
NEEDS_EXPORT = "needs the `export` extra: pip install -e '.[export]'"
needs_export = pytest.mark.skipif(not installed("torch", "executorch"), reason=NEEDS_EXPORT)


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


def load_script(name: str) -> ModuleType:
    """A script of scripts/ (`make demo`'s): not part of the library, so loaded from its file."""
    module_name = f"scripts_{name}"
    if module_name not in sys.modules:
        spec = importlib.util.spec_from_file_location(module_name, SCRIPTS / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module  # its dataclasses look their module up while being made
        spec.loader.exec_module(module)
    return sys.modules[module_name]


def run_command(
    command: Sequence[str], cwd: Path, *, timeout: float | None = 600, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """A command run in a folder as a user runs it, its output kept as text; its exit status is
    the caller's to assert."""
    return subprocess.run(
        list(command), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def run_migrate(
    *args: str, cwd: Path, timeout: float = 600, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`migrate ARGS` in its own process, run in a folder."""
    return run_command([sys.executable, "-m", "migrate", *args], cwd, timeout=timeout, env=env)


def migrate_apply_all(project: Path) -> subprocess.CompletedProcess[str]:
    """`migrate apply . --fix --unsafe-fixes --format json` in a project, as its team runs it."""
    return run_migrate("apply", ".", "--fix", "--unsafe-fixes", "--format", "json", cwd=project)


def export_tiny_convs(out: Path) -> Path:
    """The tiny conv net as `conv.pte`, and the same network with other weights as `wrong.pte`."""
    for factory, name in (("make_conv", "conv.pte"), ("make_conv_other_weights", "wrong.pte")):
        done = run_migrate(
            "export",
            f"tiny_models:{factory}",
            "--inputs",
            "tiny_models:conv_inputs",
            "-o",
            str(out / name),
            cwd=FIXTURES / "export_models",
            timeout=1800,
        )
        assert done.returncode == 0, done.stderr
    return out


def validate_conv_args(candidate: Path, *options: str) -> list[str]:
    """`migrate validate` of the tiny conv net on a candidate, without the TFLite baseline."""
    return [
        "validate",
        "--model",
        "tiny_models:make_conv",
        "--candidate",
        str(candidate),
        "--no-tflite",
        *options,
    ]


# the tiny streaming model's `step` method exported beside `forward`, `-o` to follow
EXPORT_STREAMING_STEP = (
    "export",
    "tiny_models:make_streaming",
    "--inputs",
    "tiny_models:streaming_inputs",
    "--method",
    "step",
)


def run_python(
    code: str, *args: str, cwd: Path, timeout: float | None = 600
) -> subprocess.CompletedProcess[str]:
    """`python -c CODE ARGS` in a folder (a check of what a migrated project writes and runs)."""
    return run_command([sys.executable, "-c", code, *args], cwd, timeout=timeout)


def assert_refused_without_bubblewrap(tmp_path: Path, archive: Path, *args: str) -> None:
    """`migrate ARGS` on a TorchScript archive where no bwrap is on PATH: exit status 2 and one
    line that says why and the way out; nothing is loaded."""
    done = run_migrate(
        *args, cwd=tmp_path, timeout=300, env={**os.environ, "PATH": str(tmp_path / "no-bwrap-here")}
    )
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"migrate: error: {archive}: loading a TorchScript archive runs code from it")
    assert "apt-get install bubblewrap" in line and "--no-sandbox" in line
