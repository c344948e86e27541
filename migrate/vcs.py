"""Which files have uncommitted changes: `apply --fix` will not write over them.

Fails closed: only git saying "not a git repository" (or no ``.git`` above the file when git is
not installed) means there is nothing to protect. Any other failure, such as git refusing a
checkout another user owns ("dubious ownership"), is an error the caller must not write through.
"""

from __future__ import annotations

import os
import subprocess
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path


class UncheckedError(Exception):
    """Git could not say whether files have uncommitted changes; the message is one line."""


def uncommitted(files: Iterable[Path]) -> list[Path]:
    """Files (absolute) that git reports as modified, staged, untracked or ignored: everything
    git could not show as a diff or undo. [] outside git; raises :class:`UncheckedError` when git
    cannot tell."""
    by_folder: dict[Path, list[Path]] = defaultdict(list)
    for file in files:
        by_folder[file.parent].append(file)
    dirty: list[Path] = []
    for folder, members in by_folder.items():
        top = _git(folder, "rev-parse", "--show-toplevel")
        if top is None:
            continue
        names = ["--", *map(str, members)]
        listing = _git(folder, "status", "--porcelain=v1", "-z", "--untracked-files=all", *names) or ""
        tracked = _git(folder, "ls-files", "-z", "--full-name", *names) or ""
        root = Path(top.strip())
        dirty += [(root / entry[3:]).resolve() for entry in listing.split("\0") if len(entry) > 3]
        known = {(root / name).resolve() for name in tracked.split("\0") if name}
        dirty += [member.resolve() for member in members if member.resolve() not in known]
    wanted = {f.resolve() for f in by_folder for f in by_folder[f]}
    return sorted({p for p in dirty if p in wanted})


def _git(folder: Path, *args: str) -> str | None:
    """Git's output; None when ``folder`` is in no repository."""
    environment = {**os.environ, "LC_ALL": "C", "LANGUAGE": "C"}
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=60, env=environment
        )
    except FileNotFoundError:
        if any(os.path.lexists(parent / ".git") for parent in [folder, *folder.parents]):
            raise UncheckedError("git is not installed, and the files are in a git checkout") from None
        return None
    except (OSError, subprocess.SubprocessError) as exc:
        raise UncheckedError(f"git failed: {exc}") from None
    if done.returncode == 0:
        return done.stdout
    if "not a git repository" in done.stderr:
        return None
    reason = next((line for line in done.stderr.splitlines() if line.strip()), f"exit {done.returncode}")
    raise UncheckedError(f"git failed: {reason.removeprefix('fatal: ')}")
