"""Which files a scan reads: Python sources and app code (Gradle, Java, Kotlin, C/C++,
Objective-C++, Swift, Podfiles; see :mod:`rewrites.app_source`) under the given paths, minus what
a repo ignores.

Skipped by default while walking: hidden entries, ``.gitignore``d paths (from the repository
root down), virtualenvs (any folder with ``pyvenv.cfg``), ``site-packages``, ``__pycache__``
and ``node_modules``. A path named on the command line is always taken. Symlinked folders
are not followed, so a symlink loop cannot trap the walk.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from rewrites.app_source import APP_NAMES, APP_SUFFIXES

SKIPPED_DIRS = frozenset({"__pycache__", "site-packages", "node_modules", "Pods"})
SUFFIXES = (".py", *APP_SUFFIXES)


@dataclass
class Discovery:
    files: list[Path] = field(default_factory=list)
    errors: list[tuple[Path, str]] = field(default_factory=list)


@dataclass(frozen=True)
class _Ignore:
    base: Path
    spec: pathspec.GitIgnoreSpec

    def check(self, path: Path, is_dir: bool) -> bool | None:
        try:
            rel = path.relative_to(self.base).as_posix()
        except ValueError:
            return None
        return self.spec.check_file(rel + "/" if is_dir else rel).include


def _read_gitignore(directory: Path) -> _Ignore | None:
    try:
        lines = (directory / ".gitignore").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return _Ignore(directory, pathspec.GitIgnoreSpec.from_lines(lines))


def _repository_ignores(start: Path) -> list[_Ignore]:
    """``.gitignore`` files from the enclosing repository's root down to ``start`` (exclusive)."""
    chain: list[Path] = []
    for parent in start.parents:
        chain.append(parent)
        if (parent / ".git").exists():
            break
    else:
        return []
    found = [_read_gitignore(d) for d in reversed(chain)]
    return [ignore for ignore in found if ignore is not None]


def _ignored(ignores: Sequence[_Ignore], path: Path, is_dir: bool) -> bool:
    verdict = False
    for ignore in ignores:
        result = ignore.check(path, is_dir)
        if result is not None:
            verdict = result
    return verdict


def discover(
    paths: Sequence[Path],
    *,
    exclude: Sequence[str] = (),
    exclude_base: Path | None = None,
    respect_gitignore: bool = True,
    force_exclude: bool = False,
) -> Discovery:
    """Source files under ``paths`` (absolute), sorted, and the paths that could not be read.

    ``exclude`` holds gitignore-style patterns relative to ``exclude_base``. With
    ``force_exclude`` they apply to paths named explicitly too (as ruff's ``--force-exclude``:
    pre-commit names every staged file).
    """
    found = Discovery()
    user_excludes: list[_Ignore] = []
    if exclude:
        base = exclude_base or Path.cwd()
        user_excludes.append(_Ignore(base.resolve(), pathspec.GitIgnoreSpec.from_lines(exclude)))
    for given in paths:
        path = Path(os.path.abspath(given))
        if force_exclude and any(_ignored(user_excludes, p, p != path) for p in (path, *path.parents)):
            continue
        if not path.exists() and not path.is_symlink():
            found.errors.append((path, "no such file or directory"))
        elif path.is_dir():
            # A folder named explicitly is scanned even if an ignore rule covers it.
            inherited = _repository_ignores(path) if respect_gitignore else []
            inherited = [] if _ignored(inherited, path, True) else inherited
            excludes = [] if _ignored(user_excludes, path, True) else user_excludes
            _walk(path, inherited, excludes, respect_gitignore, found)
        else:
            found.files.append(path)
    found.files = sorted(set(found.files))
    return found


def _walk(
    top: Path,
    inherited: list[_Ignore],
    user_excludes: list[_Ignore],
    respect_gitignore: bool,
    found: Discovery,
) -> None:
    stack: list[tuple[Path, list[_Ignore]]] = [(top, inherited)]
    while stack:
        directory, ignores = stack.pop()
        if respect_gitignore:
            local = _read_gitignore(directory)
            if local is not None:
                ignores = [*ignores, local]
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            found.errors.append((directory, f"cannot list folder: {exc.strerror or exc}"))
            continue
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            path = Path(entry.path)
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False
            if is_dir:
                if name in SKIPPED_DIRS or (path / "pyvenv.cfg").exists():
                    continue
                if _ignored(ignores, path, True) or _ignored(user_excludes, path, True):
                    continue
                stack.append((path, ignores))
            elif name.endswith(SUFFIXES) or name in APP_NAMES:
                if not (_ignored(ignores, path, False) or _ignored(user_excludes, path, False)):
                    found.files.append(path)
