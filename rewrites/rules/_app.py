"""What the app-code rules (MIG6xx) share: bracket matching and the Java/Kotlin package."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import ClassVar

from rewrites.app_checker import AppRule, Hit, TextEdit
from rewrites.app_source import AppSource

JVM = frozenset({"java", "kotlin"})
NATIVE = frozenset({"cpp", "objc"})

_OPEN = {"(": ")", "[": "]", "{": "}"}
_PACKAGE = re.compile(r"^[ \t]*package[ \t]+(?P<name>[\w.]+)", re.MULTILINE)


def closing(masked: str, open_index: int) -> int | None:
    """The index of the bracket closing the one at ``open_index`` (strings and comments are
    already blanked in ``masked``), or None when it is never closed."""
    stack = []
    for i in range(open_index, len(masked)):
        char = masked[i]
        if char in _OPEN:
            stack.append(_OPEN[char])
        elif char in ")]}":
            if not stack or stack.pop() != char:
                return None
            if not stack:
                return i
    return None


def arguments(masked: str, open_index: int, close_index: int) -> list[tuple[int, int]]:
    """Spans of the top-level, comma-separated arguments between two brackets."""
    spans, depth, start = [], 0, open_index + 1
    for i in range(open_index + 1, close_index):
        char = masked[i]
        if char in _OPEN:
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            spans.append((start, i))
            start = i + 1
    if masked[start:close_index].strip():
        spans.append((start, close_index))
    return spans


def call_after(masked: str, index: int) -> tuple[int, list[tuple[int, int]]] | None:
    """The closing bracket and the argument spans of the call whose ``(`` follows ``index``
    (after white space), or None when no ``(`` follows or it is never closed."""
    open_at = re.compile(r"\s*\(").match(masked, index)
    close = None if open_at is None else closing(masked, open_at.end() - 1)
    if open_at is None or close is None:
        return None
    return close, arguments(masked, open_at.end() - 1, close)


def spaceless(text: str) -> str:
    """``text`` without white space: a C++ name as written (``torch :: jit``) as one spelling."""
    return re.sub(r"\s+", "", text)


def package_of(source: AppSource) -> str | None:
    match = _PACKAGE.search(source.masked)
    return None if match is None else match.group("name")


def qualified(name: str) -> str:
    """A C++ qualified-name pattern that allows spaces around ``::``."""
    return r"(?<![\w:])" + r"\s*::\s*".join(re.escape(part) for part in name.split("::")) + r"\b"


class NativeNames(AppRule):
    """A display-only rule over C++ / Objective-C++ that reports qualified LibTorch names.

    ``spellings`` maps each name (``torch::jit::load``) to its advice; ``using namespace`` is
    not followed, except that ``unqualified`` names (unique to LibTorch) match bare too.
    """

    spellings: ClassVar[dict[str, str]] = {}
    unqualified: ClassVar[frozenset[str]] = frozenset()
    languages = NATIVE

    def check(self) -> Iterator[Hit]:
        for match in self.search(QUALIFIED):
            name = _known_prefix(spaceless(match.group(0)), self.spellings)
            if name is not None:
                yield self.fixed(
                    Hit(
                        match.start(),
                        match.start() + _span(match.group(0), name),
                        f"`{name}`: {self.spellings[name]}",
                    ),
                    name,
                )
        for bare in self.unqualified:
            name = next(n for n in self.spellings if n.endswith("::" + bare))
            for match in self.search(re.compile(rf"(?<![\w:])(?<!::\s){re.escape(bare)}\b")):
                yield self.fixed(Hit(match.start(), match.end(), f"`{name}`: {self.spellings[name]}"), name)

    def fixed(self, hit: Hit, name: str) -> Hit:
        """``hit``, a use of the LibTorch ``name``, with the rule's fix for it: none here."""
        return hit


# A LibTorch qualified name, as long as it goes (``torch::jit::mobile::Module``)
QUALIFIED = re.compile(r"(?<![\w:])(?:torch|at|c10|caffe2)(?:\s*::\s*\w+)+")


def _known_prefix(name: str, known: Mapping[str, object] | frozenset[str]) -> str | None:
    """The longest leading part of ``name`` (by ``::`` parts) that is in ``known``."""
    parts = name.split("::")
    for i in range(len(parts), 1, -1):
        prefix = "::".join(parts[:i])
        if prefix in known:
            return prefix
    return None


def _span(spelled: str, name: str) -> int:
    """How many characters of ``spelled`` (which may have spaces around ``::``) spell ``name``."""
    wanted = len(name)
    seen = 0
    for i, char in enumerate(spelled):
        if not char.isspace():
            seen += 1
            if seen == wanted:
                return i + 1
    return len(spelled)


# What the native fixes (MIG610-MIG615) write
ET_MODULE = "executorch::extension::Module"
ET_EVALUE = "executorch::runtime::EValue"
ET_TENSOR = "executorch::aten::Tensor"
ET_SCALAR = "executorch::aten::ScalarType"


def statement_start(masked: str, index: int) -> int:
    """Where the C++ statement holding ``index`` starts (after the last ``;``, ``{`` or ``}``,
    and after any preprocessor line between)."""
    depth, start = 0, 0
    for i in range(index - 1, -1, -1):
        char = masked[i]
        if char in ")]":
            depth += 1
        elif char in "([":
            depth = max(0, depth - 1)  # at 0: the statement holds these brackets
        elif char in ";{}" and depth == 0:
            start = i + 1
            break
    while (directive := _DIRECTIVE_LINE.match(masked, start)) is not None and directive.end() <= index:
        start = directive.end()
    return start


_DIRECTIVE_LINE = re.compile(r"\s*#[^\n]*\n")


def statement_end(masked: str, index: int) -> int | None:
    """The index just past the ``;`` ending the C++ statement holding ``index``."""
    depth = 0
    for i in range(index, len(masked)):
        char = masked[i]
        if char in "([{":
            depth += 1
        elif char in ")]":
            depth = max(0, depth - 1)  # at 0: the statement holds these brackets
        elif char == "}":
            if depth == 0:
                return None
            depth -= 1
        elif char == ";" and depth == 0:
            return i + 1
    return None


_TRY = re.compile(r"\btry\s*$")


def in_try(masked: str, index: int) -> bool:
    """Whether ``index`` is inside the block of a C++ ``try``."""
    depth = 0
    for i in range(index - 1, -1, -1):
        char = masked[i]
        if char == "}":
            depth += 1
        elif char == "{":
            if depth == 0:
                if _TRY.search(masked, max(0, i - 20), i):
                    return True
            else:
                depth -= 1
    return False


def indent_at(text: str, index: int) -> str:
    start = text.rfind("\n", 0, index) + 1
    return text[start : start + len(text[start:index]) - len(text[start:index].lstrip(" \t"))]


def delete_statement(source: AppSource, start: int, end: int) -> TextEdit:
    """Removes ``text[start:end]``, with its whole line(s) when nothing else is on them."""
    text = source.text
    line_start = source.line_start(start)
    line_end = source.line_end(end - 1) if end > start else end
    if not text[line_start:start].strip() and not text[end:line_end].strip():
        return TextEdit(line_start, line_end, "")
    return TextEdit(start, end, "")
