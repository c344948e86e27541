"""Build and run native (C++) code with CMake, before and after its migration.

Before: against the LibTorch inside the torch wheel (``torch.utils.cmake_prefix_path``). After:
against the C++ SDK inside the executorch wheel, whose CMake package is
``<executorch.__path__[0]>/share/cmake`` (``executorch`` is a namespace package: no
``__file__``). Builds are cached by the content hash of what made them, so a second build of
the same sources is free. Nothing here prints; failures come back as one line.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

JOBS = "2"  # the machines this runs on are small and shared


def executorch_cmake_prefix() -> Path:
    import executorch

    return Path(executorch.__path__[0]) / "share" / "cmake"


def libtorch_cmake_prefix() -> Path:
    import torch.utils

    return Path(torch.utils.cmake_prefix_path)


def libtorch_library_dir() -> Path:
    import torch

    return Path(torch.__file__).parent / "lib"


@dataclass(frozen=True)
class Build:
    """A configured and built CMake project: ``folder`` is its build tree."""

    folder: Path | None
    error: str | None = None


def build(source: Path, cache: Path, prefix: Path, *args: str) -> Build:
    """Configure and build the CMake project in ``source`` with ``prefix`` on CMAKE_PREFIX_PATH.

    The build tree is ``cache/<hash>``, the hash of the project's files, the prefix and the
    arguments: an unchanged project is not built again.
    """
    digest = hashlib.sha256("\0".join([str(prefix), *args]).encode())
    for path in _files(source):
        digest.update(str(path.relative_to(source)).encode() + b"\0" + path.read_bytes())
    folder = cache / digest.hexdigest()[:16]
    if (folder / ".built").is_file():
        return Build(folder)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    configure = ["cmake", "-S", str(source), "-B", str(folder), f"-DCMAKE_PREFIX_PATH={prefix}", *args]
    for command in (configure, ["cmake", "--build", str(folder), "-j", JOBS]):
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            return Build(None, f"`{' '.join(command[:2])}` failed: {_first_error(result)}")
    (folder / ".built").write_text("")
    return Build(folder)


def _files(folder: Path) -> list[Path]:
    """The project's files, not following links (a link to a large tree is named, not read)."""
    found = []
    for root, _, names in os.walk(folder):
        found += [Path(root, n) for n in names if not Path(root, n).is_symlink()]
    return sorted(found)


def run(command: list[str], *, library_path: Path | None = None, timeout: float = 300) -> tuple[int, str]:
    """Run a built program: (exit status, stdout + stderr)."""
    env = dict(os.environ)
    if library_path is not None:
        env["LD_LIBRARY_PATH"] = os.pathsep.join(
            filter(None, [str(library_path), env.get("LD_LIBRARY_PATH")])
        )
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout, check=False)
    return result.returncode, result.stdout + result.stderr


def _first_error(result: subprocess.CompletedProcess[str]) -> str:
    lines = (result.stdout + result.stderr).splitlines()
    errors = [line.strip() for line in lines if "error" in line.lower()]
    return (
        errors or [line.strip() for line in lines if line.strip()] or [f"exit status {result.returncode}"]
    )[0]
