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

import re
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


class FilePrefilter:
    def __init__(self, text: str) -> None:
        self.text = text
        self._seen: dict[str, bool] = {}
        self._bindings: list[tuple[str, str]] | None = None  # (local name, what it is bound to)
        self._stars: list[str] = []

    def has(self, token: str) -> bool:
        present = self._seen.get(token)
        if present is None:
            present = self._seen[token] = token in self.text
        return present

    def admits(self, rule: type[Rule]) -> bool:
        if any(all(self.has(token) for token in group) for group in rule.tokens):
            return True
        return any(self._reachable(name) for name in rule.names)

    def _reachable(self, name: str) -> bool:
        # "a.b.*" is everything in a.b; "a._jit_*" everything whose last part starts "_jit_".
        prefix = name.endswith("*")
        wanted = name.rstrip("*").rstrip(".")
        joint = name[len(wanted) :].rstrip("*")  # "." or ""
        for spelled in spellings(wanted):
            if not self.has(spelled.split(".", 1)[0]):
                continue
            for local, target in self._imports():
                if spelled == target:
                    return True  # imported by name: even an unused import can be a finding
                if spelled.startswith(target + "."):
                    use = local + spelled[len(target) :]
                    if self.has(use + joint if prefix else use):
                        return True
                elif prefix and target.startswith(spelled + joint):
                    return True  # something inside the prefix was imported by name
            if not prefix:
                for module in self._stars:
                    if spelled.startswith(module + ".") and self.has(spelled[len(module) + 1 :]):
                        return True
        return False

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
        return self._bindings
