"""Which files have uncommitted changes: `apply --fix` will not write over them."""

from __future__ import annotations

import subprocess
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path


def uncommitted(files: Iterable[Path]) -> list[Path]:
    """Files (absolute) that git reports as modified, staged or untracked; [] outside git."""
    by_folder: dict[Path, list[Path]] = defaultdict(list)
    for file in files:
        by_folder[file.parent].append(file)
    dirty: list[Path] = []
    for folder, members in by_folder.items():
        top = _git(folder, "rev-parse", "--show-toplevel")
        if top is None:
            continue
        listing = _git(
            folder, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--", *map(str, members)
        )
        for entry in (listing or "").split("\0"):
            if len(entry) > 3:
                dirty.append((Path(top.strip()) / entry[3:]).resolve())
    wanted = {f.resolve() for f in by_folder for f in by_folder[f]}
    return sorted(p for p in dirty if p in wanted)


def _git(folder: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None
