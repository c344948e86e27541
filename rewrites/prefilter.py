"""Decide from text alone which rules could report in a file, so most files are never parsed.

A rule with ``names`` can only see a use of a name the file's imports bind, spelled from that
binding: ``import torch.quantization as tq`` makes ``torch.ao.quantization.convert`` reachable
only as the text ``tq.convert``. The import statements are found with one regex, and a rule is
admitted when such a spelling occurs. This admits every file the engine's resolver
(:mod:`rewrites.names`) could find a use in (tests/test_engine.py checks it never hides one),
while words like "convert" or "jit" in unrelated files admit nothing.

Rules that match method or attribute names on any receiver give ``tokens`` instead: groups of
substrings that must all occur.
"""

from __future__ import annotations

import bisect
import re
from functools import lru_cache
from typing import TYPE_CHECKING

from rewrites.names import spellings

if TYPE_CHECKING:  # python_checker imports this module
    from rewrites.python_checker import PythonRule as Rule

# The rest of a logical line, backslash continuations included. Written as an unrolled loop:
# `(?:[^\n\\]|\\\r?\n)*` kept a backtracking entry per character (1 GB for a 6 MB line).
_REST = r"[^\n\\]*(?:\\\r?\n[^\n\\]*)*"
_IMPORT = re.compile(
    r"^[ \t]*(?:from[ \t]+(?P<module>\.*[\w.]*)[ \t]+import[ \t]*(?P<names>\([^)]*\)|" + _REST + ")"
    r"|import[ \t]+(?P<modules>" + _REST + "))",
    re.M,
)
_COMMENT = re.compile(r"#[^\n]*")


def _aliases(text: str) -> list[tuple[str, str]]:
    """``(dotted name, local name)`` pairs from a comma-separated import list."""
    text = _COMMENT.sub("", text).split(";")[0]
    pairs = []
    for item in text.replace("(", " ").replace(")", " ").replace("\\", " ").split(","):
        words = item.split()
        if len(words) == 3 and words[1] == "as":
            pairs.append((words[0], words[2]))
        elif len(words) == 1:
            pairs.append((words[0], words[0]))
    return pairs


@lru_cache(maxsize=4096)
def _wanted(name: str) -> tuple[tuple[str, str, bool, tuple[str, ...]], ...]:
    """(spelling, joint, is a prefix, the spelling's dotted heads longest first) for a rule name."""
    prefix = name.endswith("*")
    wanted = name.rstrip("*").rstrip(".")
    joint = name[len(wanted) :].rstrip("*")  # "." or ""
    found = []
    for spelled in spellings(wanted):
        parts = spelled.split(".")
        heads = tuple(".".join(parts[:i]) for i in range(len(parts), 0, -1))
        found.append((spelled, joint, prefix, heads))
    return tuple(found)


_STRING_PREFIX = re.compile(r"[A-Za-z]*\Z")


def _in_code(text: str, at: int) -> bool:
    """Whether ``at`` may be code: False only when its own line shows it inside a comment or a
    one-line string (``"torch.jit.trace is slow"``); an f-string, or a line with a triple quote
    before it (which may close a string begun above), counts as code. One such name in a 1.4 MB
    test file's message strings had its whole file parsed (5 s) for nothing."""
    line = text[text.rfind("\n", 0, at) + 1 : at]
    if "#" not in line and '"' not in line and "'" not in line:
        return True
    if '"""' in line or "'''" in line:
        return True
    quote = ""
    opened = 0
    index = 0
    while index < len(line):
        char = line[index]
        if quote:
            if char == "\\":
                index += 1
            elif char == quote:
                quote = ""
        elif char == "#":
            return False
        elif char in "\"'":
            quote, opened = char, index
        index += 1
    return not quote or "f" in _STRING_PREFIX.search(line, 0, opened).group().lower()  # type: ignore[union-attr]


def _occurrences(text: str, needle: str) -> list[int]:
    found, start = [], 0
    while (at := text.find(needle, start)) >= 0:
        found.append(at)
        start = at + 1
    return found


def _word_occurrences(text: str, word: str) -> list[int]:
    return [match.start() for match in re.finditer(rf"(?<![\w.]){re.escape(word)}\b", text)]


@lru_cache(maxsize=1024)
def _runs_from(head: str) -> re.Pattern[str]:
    return re.compile(re.escape(head) + r"\.[\w.]*")


class FilePrefilter:
    def __init__(self, text: str) -> None:
        self.text = text
        self._seen: dict[str, bool] = {}
        self._bindings: list[tuple[str, str]] | None = None  # (local name, what it is bound to)
        self._stars: list[str] = []
        self._by_target: dict[str, list[str]] = {}  # what is bound -> the local names for it
        self._targets: list[str] = []  # sorted
        self._reached: dict[str, bool] = {}
        self._runs: dict[str, list[str]] = {}  # first part -> the dotted runs written from it

    def has(self, token: str) -> bool:
        present = self._seen.get(token)
        if present is None:
            present = self._seen[token] = token in self.text
        return present

    def _written(self, use: str) -> bool:
        """``use`` (dotted) occurs in the text: one regex pass per first part lists every dotted
        run written from it (``torch.jit.script(`` gives ``torch.jit.script``), and a sorted
        search answers each name, where a substring search of the whole text per name cost
        most of a scan's prefilter time."""
        head, dot, _ = use.partition(".")
        if not dot:
            return self.has(use)
        runs = self._runs.get(head)
        if runs is None:
            runs = self._runs[head] = sorted(set(_runs_from(head).findall(self.text)))
        at = bisect.bisect_left(runs, use)
        if not (at < len(runs) and runs[at].startswith(use)):
            return False
        start = 0
        while (found := self.text.find(use, start)) >= 0:
            if _in_code(self.text, found):
                return True
            start = found + 1
        return False

    def admits(self, rule: type[Rule]) -> bool:
        if any(all(self.has(token) for token in group) for group in rule.tokens):
            return True
        reached = self._reached
        for name in rule.names:
            found = reached.get(name)
            if found is None:
                found = reached[name] = self._reachable(name)
            if found:
                return True
        return False

    def _reachable(self, name: str) -> bool:
        # "a.b.*" is everything in a.b; "a._jit_*" everything whose last part starts "_jit_".
        for spelled, joint, prefix, heads in _wanted(name):
            if not self.has(heads[-1]):
                continue  # every spelling of it starts with a name bound from its first part
            self._imports()
            if spelled in self._by_target:
                return True  # imported by name: even an unused import can be a finding
            for target in heads[1:]:
                for local in self._by_target.get(target, ()):
                    use = local + spelled[len(target) :]
                    if self._written(use + joint if prefix else use):
                        return True
            if prefix:  # something inside the prefix was imported by name
                start = bisect.bisect_left(self._targets, spelled + joint)
                if start < len(self._targets) and self._targets[start].startswith(spelled + joint):
                    return True
            else:
                for module in self._stars:
                    if spelled.startswith(module + ".") and self.has(spelled[len(module) + 1 :]):
                        return True
        return False

    def positions(self, rule: type[Rule]) -> list[int]:
        """Where in the text ``rule`` could report (offsets, a superset): every written use of a
        name it is reachable by, every occurrence of a name imported from it, every token of a
        token group the file holds. libcst parses only the module-level statements holding them
        (``rewrites.source_slice``), and ``tests/test_source_slice.py`` checks that finds what
        the whole file gives."""
        found: list[int] = []
        for name in rule.names:
            found += self._uses(name)
        for group in rule.tokens:
            if all(self.has(token) for token in group):
                for token in group:
                    found += _occurrences(self.text, token)
        return found

    def _uses(self, name: str) -> list[int]:
        """:meth:`_reachable`, every position instead of the first."""
        found: list[int] = []
        for spelled, joint, prefix, heads in _wanted(name):
            if not self.has(heads[-1]):
                continue
            self._imports()
            locals_imported = list(self._by_target.get(spelled, ()))
            for target in heads[1:]:
                for local in self._by_target.get(target, ()):
                    use = local + spelled[len(target) :]
                    found += _occurrences(self.text, use + joint if prefix else use)
            if prefix:
                start = bisect.bisect_left(self._targets, spelled + joint)
                for target in self._targets[start:]:
                    if not target.startswith(spelled + joint):
                        break
                    locals_imported += self._by_target[target]
            else:
                for module in self._stars:
                    if spelled.startswith(module + "."):
                        found += _word_occurrences(self.text, spelled[len(module) + 1 :])
            for local in locals_imported:  # its import and every use of it
                found += _word_occurrences(self.text, local)
        return found

    def _imports(self) -> list[tuple[str, str]]:
        if self._bindings is None:
            self._bindings = [("torch", "torch")]  # see ImportTable.resolve: `torch` is torch
            for match in _IMPORT.finditer(self.text):
                module, names, modules = match.group("module", "names", "modules")
                if modules is not None:
                    for dotted, local in _aliases(modules):
                        if local == dotted:  # `import a.b.c` binds `a`, and imports a.b.c by name
                            self._bindings.append((dotted.split(".")[0], dotted.split(".")[0]))
                        self._bindings.append((local, dotted))
                elif module and not module.startswith("."):
                    for dotted, local in _aliases(names or ""):
                        if dotted == "*":
                            self._stars.append(module)
                        else:
                            self._bindings.append((local, f"{module}.{dotted}"))
            for local, target in self._bindings:
                self._by_target.setdefault(target, []).append(local)
            self._targets = sorted(self._by_target)
        return self._bindings
