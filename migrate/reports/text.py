"""Escaping shared by the renderers.

Text from outside (file names, messages, titles, model and runtime names) reaches GitHub, which
turns more than Markdown into links: bare ``www.`` and ``https://`` addresses and e-mail
addresses (cmark-gfm's autolinks), ``@user`` mentions (which notify that user) and ``#123``
references. A WORD JOINER (U+2060, invisible and zero-width) after the trigger breaks each of
them while the text reads the same.
"""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

WORD_JOINER = "\u2060"
MAX_TEXT = 500  # characters of one outside text shown in a report (a title, a message, a name)

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>-])")
_LINK_TRIGGERS = re.compile(r"(?i)\bwww(?=\.)|\b(?:https?|ftp|mailto|xmpp):|[@#]|\bgh-(?=\d)")


def shorten(text: str, limit: int = MAX_TEXT) -> str:
    """One line of at most ``limit`` characters; what is cut is marked with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def defuse(text: str) -> str:
    """``text`` with every GitHub autolink, mention and reference broken by a WORD JOINER."""
    return _LINK_TRIGGERS.sub(lambda m: m.group(0) + WORD_JOINER, text)


def markdown_text(text: str, limit: int = MAX_TEXT) -> str:
    """Text from files or users, safe inside Markdown and GitHub's HTML (no tags, no links,
    no mentions), cut to ``limit`` characters."""
    text = defuse(shorten(text, limit))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def html_text(text: str, limit: int = MAX_TEXT) -> str:
    """Text from outside for inside an HTML block (``<summary>``), where GitHub does not
    process Markdown escapes: entities only."""
    return html.escape(defuse(shorten(text, limit)), quote=True)


def code_span(text: str, limit: int = MAX_TEXT) -> str:
    """The inside of a code span: only a backtick or a newline can break out, and GitHub makes
    no links or mentions there; an HTML comment opener is still broken so that no marker is
    ever echoed."""
    return shorten(text.replace("`", "'"), limit).replace("<!--", "<!--" + WORD_JOINER)


def display_path(root: str, path: str, base: Path) -> str:
    """A finding's path as the user would type it from ``base`` (usually the working folder)."""
    full = Path(root) / path
    base = Path(os.path.abspath(base))
    try:
        return Path(os.path.relpath(full, base)).as_posix() if full.is_relative_to(base) else full.as_posix()
    except ValueError:  # another drive on Windows
        return full.as_posix()
