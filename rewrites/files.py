"""Which files a scan reads: Python sources and app code (Gradle, Java, Kotlin, C/C++,
Objective-C++, Swift, Podfiles; see :mod:`rewrites.app_source`) under the given paths, minus what
a repo ignores.

Skipped by default while walking: hidden entries, ``.gitignore``d paths (from the repository
root down), virtualenvs (any folder with ``pyvenv.cfg``), ``site-packages``, ``__pycache__``
and ``node_modules``. A path named on the command line is always taken. Symlinked folders
are not followed, so a symlink loop cannot trap the walk.

A symlinked file is read (and fixed) as its target when the target lies inside the scanned
folder, once however many links point to it; a link out of the folder is an error line and is not
read. Only regular files are read, and never more than the size limit: a FIFO or a link to
``/dev/zero`` is a line, not a hang.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import time
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


_KINDS = {
    stat.S_IFDIR: "a folder",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a device",
    stat.S_IFBLK: "a device",
    stat.S_IFSOCK: "a socket",
}


def read_regular(path: Path, limit: int) -> tuple[bytes | None, str]:
    """(bytes, "") or (None, one line saying why not): a regular file, not a link, at most ``limit``
    bytes, counted as read (``st_size`` says 0 for ``/proc`` files and devices)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        return None, f"cannot read: {exc.strerror or exc}"
    with os.fdopen(fd, "rb", buffering=0) as handle:
        try:
            status = os.fstat(fd)
            if not stat.S_ISREG(status.st_mode):
                kind = _KINDS.get(stat.S_IFMT(status.st_mode), "not a file")
                return None, f"not a regular file ({kind}): not read"
            if status.st_size > limit:
                return None, _too_big(f"{status.st_size / 2**20:.1f} MiB is over", limit)
            chunks: list[bytes] = []
            size = 0
            while size <= limit:
                chunk = handle.read(min(limit + 1 - size, 1 << 20))
                if not chunk:
                    return b"".join(chunks), ""
                chunks.append(chunk)
                size += len(chunk)
        except OSError as exc:
            return None, f"cannot read: {exc.strerror or exc}"
    return None, _too_big("more than", limit)


def _too_big(size: str, limit: int) -> str:
    return f"skipped: {size} the {limit / 2**20:g} MiB limit (max-file-size-mb in [tool.migrate])"


# what output.write_atomic leaves behind when it is killed between creating and renaming;
# one younger than a minute may be a write in progress (another apply) and is left alone
_TEMPORARY = re.compile(r"\.(?P<name>.+)\.[A-Za-z0-9_]{8}\.tmp")
_STALE_SECONDS = 60


def _stale(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.stat(follow_symlinks=False).st_mtime < time.time() - _STALE_SECONDS
    except OSError:
        return False


def _read_gitignore(directory: Path) -> _Ignore | None:
    data, _ = read_regular(directory / ".gitignore", 1 << 20)
    if data is None:
        return None
    lines = data.decode("utf-8", errors="replace").splitlines()
    return _Ignore(directory, pathspec.GitIgnoreSpec.from_lines(lines))


def _repository_ignores(start: Path) -> list[_Ignore]:
    """``.gitignore`` files from the enclosing repository's root down to ``start`` (exclusive)."""
    chain: list[Path] = []
    for parent in start.parents:
        chain.append(parent)
        if os.path.lexists(parent / ".git"):
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
    folders = [p if p.is_dir() else p.parent for p in (Path(os.path.abspath(x)) for x in paths)]
    tree = Path(os.path.commonpath(folders)) if folders else Path.cwd()
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
    files, found.files = found.files, []
    for path in files:
        target = _through_links(path, tree, found)
        if target is not None:
            found.files.append(target)
    found.files = sorted(set(found.files), key=lambda path: path.parts)  # Path's order, at C speed
    return found


def _through_links(path: Path, tree: Path, found: Discovery) -> Path | None:
    """``path``, or for a symlink its target as a path under ``tree``; None (and an error) for a
    link that leads out of ``tree`` or nowhere."""
    if not os.path.islink(path):
        return path
    try:
        target = Path(os.path.realpath(path, strict=True))
        real_tree = Path(os.path.realpath(tree, strict=True))
    except OSError as exc:
        dangling = exc.errno == errno.ENOENT and not os.path.exists(path)
        why = (
            f"symbolic link to {os.readlink(path)}, which does not exist" if dangling else exc.strerror or exc
        )
        found.errors.append((path, f"cannot read: {why}"))
        return None
    if not target.is_relative_to(real_tree):
        found.errors.append((path, f"symbolic link to {target}, outside the scanned folder {tree}: not read"))
        return None
    return tree / target.relative_to(real_tree)


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
        names = {entry.name for entry in entries}
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                left = _TEMPORARY.fullmatch(name)
                if left is not None and left["name"] in names and _stale(entry):
                    found.errors.append(
                        (Path(entry.path), f"left by an interrupted write to {left['name']}: delete it")
                    )
                continue
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False
            if not is_dir and not (name.endswith(SUFFIXES) or name in APP_NAMES):
                continue  # most entries: no Path is made for them
            path = Path(entry.path)
            if is_dir:
                # os.path: Path.exists raises on a folder we may not enter; scandir says so below
                if name in SKIPPED_DIRS or os.path.lexists(os.path.join(entry.path, "pyvenv.cfg")):
                    continue
                if _ignored(ignores, path, True) or _ignored(user_excludes, path, True):
                    continue
                stack.append((path, ignores))
            elif not (_ignored(ignores, path, False) or _ignored(user_excludes, path, False)):
                found.files.append(path)
