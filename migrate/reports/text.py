"""Escaping shared by the renderers."""

from __future__ import annotations

import os
import re
from pathlib import Path

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>-])")


def markdown_text(text: str) -> str:
    """Text from files or users, safe inside Markdown and GitHub's HTML (no tags, no links)."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    return " ".join(text.split())


def display_path(root: str, path: str, base: Path) -> str:
    """A finding's path as the user would type it from ``base`` (usually the working folder)."""
    full = Path(root) / path
    base = Path(os.path.abspath(base))
    try:
        return Path(os.path.relpath(full, base)).as_posix() if full.is_relative_to(base) else full.as_posix()
    except ValueError:  # another drive on Windows
        return full.as_posix()
