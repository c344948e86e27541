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
from collections.abc import Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class _Entry:
    rule: type[Rule]
    spelled: str  # one spelling of one of its names, without a prefix's "*"
    joint: str  # "." when the name is "spelled.*"
    prefix: bool
    root: str  # the spelling's first part

    @property
    def key(self) -> str:
        return self.spelled + self.joint if self.prefix else self.spelled


@dataclass(frozen=True)
class _Index:
    """Every spelling of every rule name, by what a qualified name must start with to match it."""

    entries: tuple[_Entry, ...]
    by_key: dict[str, tuple[_Entry, ...]]
    lengths: tuple[int, ...]  # the keys' lengths
    roots: frozenset[str]
    heads: frozenset[str]  # the spellings' proper dotted heads: what a run can be written from
    token_rules: tuple[type[Rule], ...]

    def matches(self, qualified: str, *, exact: bool) -> list[_Entry]:
        """Entries ``qualified`` spells: written (``exact=False``), it matches a key it starts
        with, as a dotted run does; imported by name, a name equal to it or a prefix it is in."""
        found = []
        for length in self.lengths:
            if length > len(qualified):
                break
            for entry in self.by_key.get(qualified[:length], ()):
                if not exact or entry.prefix or entry.spelled == qualified:
                    found.append(entry)
        if exact:
            found += [e for e in self.by_key.get(qualified + ".", ()) if e.prefix and e.spelled == qualified]
        return found


@lru_cache(maxsize=256)
def _index(rules: tuple[type[Rule], ...]) -> _Index:
    entries = [
        _Entry(rule, spelled, joint, prefix, heads[-1])
        for rule in rules
        for name in rule.names
        for spelled, joint, prefix, heads in _wanted(name)
    ]
    by_key: dict[str, list[_Entry]] = {}
    for entry in entries:
        by_key.setdefault(entry.key, []).append(entry)
    return _Index(
        tuple(entries),
        {key: tuple(found) for key, found in by_key.items()},
        tuple(sorted({len(key) for key in by_key})),
        frozenset(entry.root for entry in entries),
        frozenset(
            heads[i]
            for rule in rules
            for name in rule.names
            for *_, heads in _wanted(name)
            for i in range(1, len(heads))
        ),
        tuple(rule for rule in rules if rule.tokens),
    )


class FilePrefilter:
    def __init__(self, text: str) -> None:
        self.text = text
        self._seen: dict[str, bool] = {}
        self._bindings: list[tuple[str, str]] | None = None  # (local name, what it is bound to)
        self._stars: list[str] = []
        self._by_target: dict[str, list[str]] = {}  # what is bound -> the local names for it
        self._targets: list[str] = []  # sorted
        self._runs: dict[str, list[str]] = {}  # first part -> the dotted runs written from it
        self._written_uses: dict[str, bool] = {}

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
        known = self._written_uses.get(use)
        if known is None:
            known = self._written_uses[use] = self._written_in_code(use, head)
        return known

    def _written_in_code(self, use: str, head: str) -> bool:
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
        return bool(self.admitted([rule]))

    def admitted(self, rules: Sequence[type[Rule]]) -> list[type[Rule]]:
        """The rules :meth:`admits`, found the other way round: from the few names the file's
        imports bind, through the dotted runs written from them, to the rule names those spell
        (one dictionary lookup per run and name length), instead of every name of every rule
        against the text."""
        index = _index(tuple(rules))
        found: set[type[Rule]] = set()
        for rule in index.token_rules:
            if any(all(self.has(token) for token in group) for group in rule.tokens):
                found.add(rule)
        if not any(self.has(root) for root in index.roots):
            return [rule for rule in rules if rule in found]
        self._imports()
        for target, locals_ in self._by_target.items():
            if target.partition(".")[0] not in index.roots:
                continue
            # imported by name (even an unused import can be a finding), or from inside a prefix
            for entry in index.matches(target, exact=True):
                if self.has(entry.root):
                    found.add(entry.rule)
            if target not in index.heads:
                continue  # no name is written from it
            for local in locals_:
                head = local.partition(".")[0]
                runs = self._runs.get(head)
                if runs is None:
                    runs = self._runs[head] = sorted(set(_runs_from(head).findall(self.text)))
                start = bisect.bisect_left(runs, local + ".")
                for run in runs[start:]:
                    if not run.startswith(local + "."):
                        break
                    for entry in index.matches(target + run[len(local) :], exact=False):
                        if entry.rule in found or not entry.spelled.startswith(target + "."):
                            continue
                        use = local + entry.spelled[len(target) :]
                        if self.has(entry.root) and self._written(use + entry.joint if entry.prefix else use):
                            found.add(entry.rule)
        for module in self._stars:
            for entry in index.entries:
                if (
                    not entry.prefix
                    and entry.spelled.startswith(module + ".")
                    and self.has(entry.root)
                    and self.has(entry.spelled[len(module) + 1 :])
                ):
                    found.add(entry.rule)
        return [rule for rule in rules if rule in found]

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
        """Every position a use of ``name`` is written at, by the paths :meth:`admitted` takes."""
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
