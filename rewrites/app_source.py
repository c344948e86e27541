"""App code (Gradle, version catalogs, Java, Kotlin, C/C++/Objective-C++, Swift, Podfiles), read
with tree-sitter where its grammar is reliable, and with a small lexer where it is not.

The parse gives every rule the same view of a file: where its comments and string literals are.
Rules match code in ``masked`` (comments blanked, string contents blanked, offsets unchanged), so
text inside a comment or a string can never be a finding, and read strings from ``strings`` when a
string is what they look for (a Gradle coordinate, an asset name). Parse errors do not stop a
scan: tree-sitter recovers, and comments and strings are still found around the damage.

Groovy (``build.gradle``) and Objective-C/C++ (``.m``, ``.mm``) are lexed instead: the PyPI
grammars lost every comment and string after the first construct they did not know (a
``proguardFiles a, b`` line; any ``@"..."`` or message send next to C++), and all the rules need
from those files is where comments and strings are.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from rewrites.positions import line_col, line_starts

# language -> the tree-sitter grammar package
GRAMMARS = {
    "kotlin": "tree_sitter_kotlin",
    "toml": "tree_sitter_toml",
    "java": "tree_sitter_java",
    "cpp": "tree_sitter_cpp",
    "swift": "tree_sitter_swift",
    "ruby": "tree_sitter_ruby",
}
LEXED = frozenset({"groovy", "objc", "cmake"})
LANGUAGES = frozenset(GRAMMARS) | LEXED

_SUFFIXES = {
    ".gradle": "groovy",
    ".kts": "kotlin",
    ".kt": "kotlin",
    ".java": "java",
    ".cpp": "cpp",
    ".cc": "cpp",
    ".cxx": "cpp",
    ".hpp": "cpp",
    ".hh": "cpp",
    ".h": "cpp",
    ".mm": "objc",
    ".m": "objc",
    ".swift": "swift",
    ".podspec": "ruby",
    ".cmake": "cmake",
}
_NAMES = {"Podfile": "ruby", "CMakeLists.txt": "cmake"}

# What discovery looks for besides Python: suffixes and exact names.
APP_SUFFIXES = (*_SUFFIXES, ".versions.toml")
APP_NAMES = tuple(_NAMES)

_STRING_TYPES = frozenset(
    {
        "string",
        "string_literal",
        "raw_string_literal",
        "multiline_string_literal",
        "line_string_literal",
        "multi_line_string_literal",
        "character_literal",
        "char_literal",
        "text_block",
        "system_lib_string",
    }
)


def language_of(filename: str) -> str | None:
    """The app language a file is read as, from its name; None for Python and everything else."""
    if filename in _NAMES:
        return _NAMES[filename]
    if filename.endswith(".versions.toml"):
        return "toml"
    dot = filename.rfind(".")
    return _SUFFIXES.get(filename[dot:]) if dot > 0 else None


@cache
def _parser(language: str) -> Any:
    import tree_sitter

    grammar = importlib.import_module(GRAMMARS[language])
    return tree_sitter.Parser(tree_sitter.Language(grammar.language()))


@dataclass(frozen=True)
class Literal:
    """A string literal: the span of the whole literal and of its text between the quotes."""

    start: int
    end: int
    value_start: int
    value_end: int
    value: str
    kind: str  # the grammar's node type: system_lib_string is an #include <...>


@dataclass(frozen=True)
class AppSource:
    path: str  # relative to the scan root, POSIX separators
    language: str
    text: str
    masked: str
    strings: tuple[Literal, ...]
    comments: tuple[tuple[int, int], ...]
    errors: int  # ERROR and MISSING nodes: a fix must not add any
    line_starts: tuple[int, ...]

    def line_col(self, offset: int) -> tuple[int, int]:
        return line_col(self.line_starts, offset)

    def line_start(self, offset: int) -> int:
        return self.text.rfind("\n", 0, offset) + 1

    def line_end(self, offset: int) -> int:
        """The offset just past the newline that ends the line holding ``offset``."""
        end = self.text.find("\n", offset)
        return len(self.text) if end < 0 else end + 1


def parse_app(text: str, language: str, path: str = "", *, count_errors: bool = False) -> AppSource:
    """``count_errors`` walks the whole tree for ERROR / MISSING nodes (fixes need it, scans not)."""
    if language in LEXED:
        return _lexed(text, language, path)
    data = text.encode("utf-8", "surrogatepass")
    tree = _parser(language).parse(data)
    to_char = _char_offsets(text, data)
    blanks: list[tuple[int, int]] = []
    strings: list[Literal] = []
    comments: list[tuple[int, int]] = []
    covered = -1
    nodes = sorted(
        (node for found in _query(language).captures(tree.root_node).values() for node in found),
        key=lambda node: node.start_byte,
    )
    for node in nodes:
        if node.start_byte < covered:
            continue  # a string inside a string (a Kotlin template): the outer one covers it
        covered = node.end_byte
        start, end = to_char(node.start_byte), to_char(node.end_byte)
        if "comment" in node.type:
            comments.append((start, end))
            blanks.append((start, end))
        else:
            value_start, value_end = _string_value(text, start, end)
            strings.append(
                Literal(start, end, value_start, value_end, text[value_start:value_end], node.type)
            )
            blanks.append((value_start, value_end))
    errors = _errors(tree) if count_errors else 0
    return AppSource(
        path,
        language,
        text,
        _masked(text, blanks),
        tuple(strings),
        tuple(comments),
        errors,
        line_starts(text),
    )


@cache
def _query(language: str) -> Any:
    """A tree-sitter query capturing the grammar's comment and string-literal nodes (run natively:
    walking every node from Python took twice as long as parsing)."""
    import tree_sitter

    grammar = tree_sitter.Language(importlib.import_module(GRAMMARS[language]).language())
    kinds = {grammar.node_kind_for_id(i) for i in range(grammar.node_kind_count)}
    wanted = sorted(
        k for k in kinds if k and not k.startswith("_") and ("comment" in k or k in _STRING_TYPES)
    )
    return tree_sitter.QueryCursor(tree_sitter.Query(grammar, " ".join(f"({k}) @x" for k in wanted)))


def _errors(tree: Any) -> int:
    if not tree.root_node.has_error:
        return 0
    count, stack = 0, [tree.root_node]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            count += 1
        if node.has_error:
            stack.extend(node.children)
    return count


_QUOTES = ('"""', "'''", '"', "'", "<")
_CLOSING = {"<": ">"}


def _string_value(text: str, start: int, end: int) -> tuple[int, int]:
    """The span between a literal's quotes (prefixes like ``R"(`` or ``@"`` are skipped)."""
    literal = text[start:end]
    for i, char in enumerate(literal[:4]):
        if char in "\"'<":
            quote = next(q for q in _QUOTES if literal.startswith(q, i))
            closing = _CLOSING.get(quote, quote)
            if literal.startswith("R", 0) and quote == '"':
                return start + i + 1, end - 1  # raw strings: the delimiter stays inside
            inner_end = (
                end - len(closing) if literal.endswith(closing) and len(literal) > i + len(quote) else end
            )
            return start + i + len(quote), max(start + i + len(quote), inner_end)
    return start, end


_VISIBLE = re.compile(r"[^\r\n]")


def _masked(text: str, blanks: list[tuple[int, int]]) -> str:
    """``text`` with the ``blanks`` spans (in order, not overlapping) turned to spaces, line
    breaks kept, so offsets and line numbers stay the same."""
    pieces, last = [], 0
    for start, end in blanks:
        pieces += [text[last:start], _VISIBLE.sub(" ", text[start:end])]
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def _char_offsets(text: str, data: bytes):  # type: ignore[no-untyped-def]
    if len(data) == len(text):
        return lambda offset: offset
    table = [0] * (len(data) + 1)
    position = 0
    for index, char in enumerate(text):
        size = len(char.encode("utf-8", "surrogatepass"))
        for k in range(size):
            table[position + k] = index
        position += size
    table[position] = len(text)
    return table.__getitem__


def _lexed(text: str, language: str, path: str) -> AppSource:
    """Comments and strings of a C-family file: ``//``, ``/* */``, ``"..."``, ``'...'``, triple
    quotes (Groovy) and ``@"..."`` (Objective-C); an unterminated string ends at its line.
    CMake: ``#`` comments and ``"..."`` arguments (which may span lines)."""
    cmake = language == "cmake"
    line_comment, block_comment, quotes = ("#", "", '"') if cmake else ("//", "/*", "\"'")
    blanks: list[tuple[int, int]] = []
    strings: list[Literal] = []
    comments: list[tuple[int, int]] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if text.startswith(line_comment, i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            comments.append((i, end))
            blanks.append((i, end))
            i = end
        elif block_comment and text.startswith(block_comment, i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            comments.append((i, end))
            blanks.append((i, end))
            i = end
        elif char in quotes or (char == "@" and text.startswith('"', i + 1) and not cmake):
            start = i
            i += char == "@"
            quote = text[i : i + 3] if language == "groovy" and text[i : i + 3] in ('"""', "'''") else text[i]
            j = i + len(quote)
            while j < n and not text.startswith(quote, j) and (len(quote) == 3 or cmake or text[j] != "\n"):
                j += 2 if text[j] == "\\" else 1
            closed = text.startswith(quote, j)
            value_start, value_end = i + len(quote), min(j, n)
            end = value_end + (len(quote) if closed else 0)
            strings.append(Literal(start, end, value_start, value_end, text[value_start:value_end], "string"))
            blanks.append((value_start, value_end))
            i = end
        else:
            i += 1
    return AppSource(
        path, language, text, _masked(text, blanks), tuple(strings), tuple(comments), 0, line_starts(text)
    )
