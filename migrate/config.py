"""``[tool.migrate]`` in the scanned project's ``pyproject.toml``.

```toml
[tool.migrate]
select = ["MIG1", "MIG2"]          # code prefixes, codes or rule names; default: all
ignore = ["MIG303"]
extend-exclude = ["third_party/", "*_pb2.py"]   # gitignore-style, relative to this file
per-file-ignores = { "tests/*" = ["MIG4"] }
max-file-size-mb = 10
respect-gitignore = true
cache-dir = ".migrate_cache"
legacy-python = ".venv-legacy/bin/python"   # for .pt / .ptl that torch 2.13 cannot load
executorch-android-version = "1.5.1"        # what Gradle fixes write (default: the pinned release)
```
"""

from __future__ import annotations

import math
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migrate.errors import UsageError
from rewrites import registry
from rewrites.files import read_regular

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

_KEYS = {
    "select",
    "ignore",
    "extend-exclude",
    "per-file-ignores",
    "max-file-size-mb",
    "respect-gitignore",
    "cache-dir",
    "legacy-python",
    "executorch-android-version",
}


@dataclass(frozen=True)
class Config:
    base: Path
    source: Path | None = None
    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    extend_exclude: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    max_file_size_mb: float = 10.0
    respect_gitignore: bool = True
    cache_dir: Path = field(default=Path(".migrate_cache"))
    legacy_python: str | None = None
    executorch_android_version: str | None = None


def find_config(start: Path) -> Path | None:
    """The nearest ``pyproject.toml`` at or above ``start`` that has a ``[tool.migrate]`` table."""
    start = start.resolve()
    for folder in [start, *start.parents] if start.is_dir() else start.parents:
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            try:
                tool = _read(candidate).get("tool")
                if isinstance(tool, dict) and "migrate" in tool:
                    return candidate
            except UsageError:
                return candidate  # report the broken file rather than skip it
    return None


_MAX_CONFIG_BYTES = 16 << 20


def load_config(path: Path | None, default_base: Path) -> Config:
    if path is None:  # no project configuration: cache where the command runs, as ruff does
        return Config(base=default_base, cache_dir=Path.cwd() / ".migrate_cache")
    tool = _read(path).get("tool", {})
    table = tool.get("migrate", {}) if isinstance(tool, dict) else None
    if not isinstance(table, dict):
        raise UsageError(f"{path}: [tool.migrate] must be a table")
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise UsageError(f"{path}: unknown [tool.migrate] key(s): {', '.join(unknown)}")
    base = path.parent.resolve()
    per_file = table.get("per-file-ignores", {})
    if not isinstance(per_file, dict):
        raise UsageError(f"{path}: [tool.migrate] per-file-ignores must be a table of pattern = [codes]")
    return Config(
        base=base,
        source=path,
        select=None if "select" not in table else _selectors(path, "select", table["select"]),
        ignore=_selectors(path, "ignore", table.get("ignore", [])),
        extend_exclude=_strings(path, "extend-exclude", table.get("extend-exclude", [])),
        per_file_ignores=tuple(
            (pattern, _selectors(path, f"per-file-ignores.{pattern!r}", codes))
            for pattern, codes in per_file.items()
        ),
        max_file_size_mb=_size(path, table.get("max-file-size-mb", 10.0)),
        respect_gitignore=_boolean(path, "respect-gitignore", table.get("respect-gitignore", True)),
        cache_dir=base / _string(path, "cache-dir", table.get("cache-dir", ".migrate_cache")),
        legacy_python=(
            None
            if "legacy-python" not in table
            else str(base / _string(path, "legacy-python", table["legacy-python"]))
        ),
        executorch_android_version=_version(path, table.get("executorch-android-version")),
    )


def _boolean(path: Path, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise UsageError(f"{path}: [tool.migrate] {key} must be true or false, not {value!r}")
    return value


def _string(path: Path, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{path}: [tool.migrate] {key} must be a non-empty string, not {value!r}")
    return value


def _size(path: Path, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
        raise UsageError(f"{path}: [tool.migrate] max-file-size-mb must be a positive number, not {value!r}")
    return float(value)


def _selectors(path: Path, key: str, value: Any) -> tuple[str, ...]:
    return check_selectors(f"{path}: [tool.migrate] {key}", _strings(path, key, value))


def check_selectors(where: str, selectors: Sequence[str]) -> tuple[str, ...]:
    """Rule codes, prefixes or names, checked as the registry checks them wherever they are given
    (a command-line option, a [tool.migrate] key, a per-file-ignores pattern: ``where``)."""
    try:
        return registry.check_selectors(selectors, where)
    except registry.SelectorError as exc:
        raise UsageError(str(exc)) from None


def _read(path: Path) -> dict[str, Any]:
    """A configuration named on the command line may be a link; what it names must be a regular
    file of sane size (a FIFO given as --config hung every command)."""
    data, problem = read_regular(Path(os.path.realpath(path)), _MAX_CONFIG_BYTES)
    if data is None:
        raise UsageError(f"{path}: cannot read configuration: {problem}")
    try:
        return tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path}: cannot read configuration: {exc}") from None


def _version(path: Path, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not re.fullmatch(r"[0-9A-Za-z.+-]+", value):
        raise UsageError(f'{path}: [tool.migrate] executorch-android-version must be a version like "1.5.1"')
    return value


def _strings(path: Path, key: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(f"{path}: [tool.migrate] {key} must be a list of strings")
    return tuple(value)
