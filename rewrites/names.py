"""Resolve what a name in a file refers to, from the file's own imports.

This is the scope analysis the rules match on: ``import torch.jit as jit``,
``from torch import jit``, ``from torch.jit import script as s`` and star imports all resolve
``s(m)`` or ``jit.script(m)`` to ``torch.jit.script``. It is flow-ordered and file-wide (an
import binds from where it appears; a ``def``/``class`` of the same name shadows it), which is
what libcst's ``QualifiedNameProvider`` gives for module-level code at a fraction of its cost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import libcst as cst

# Public modules that re-export another module's contents under an old spelling.
ALIASES: dict[str, str] = {
    "torch.quantization": "torch.ao.quantization",
    "torch.nn.quantized": "torch.ao.nn.quantized",
    "torch.nn.intrinsic": "torch.ao.nn.intrinsic",
    "torch.nn.qat": "torch.ao.nn.qat",
}


def canonical(name: str) -> str:
    for old, new in ALIASES.items():
        if name == old or name.startswith(old + "."):
            return new + name[len(old) :]
    return name


def spellings(name: str) -> list[str]:
    """Every way of writing ``name`` that :func:`canonical` maps to it."""
    found = [name]
    for old, new in ALIASES.items():
        if name == new or name.startswith(new + "."):
            found.append(old + name[len(new) :])
    return found


def dotted(node: cst.CSTNode) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        head = dotted(node.value)
        return None if head is None else f"{head}.{node.attr.value}"
    return None


def subtree(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """``node`` and everything below it."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def _module_name(node: cst.BaseExpression | None) -> str | None:
    return None if node is None else dotted(node)


@dataclass(frozen=True)
class ImportOrigin:
    """The import statement that bound a local name, as libcst's import codemods name it."""

    module: str
    obj: str | None
    asname: str | None
    statement: cst.Import | cst.ImportFrom


class ImportTable:
    """The names a file has bound by ``import`` so far."""

    def __init__(self, is_known: Callable[[str], bool]) -> None:
        self._bindings: dict[str, str | None] = {}
        self._origins: dict[str, ImportOrigin] = {}
        self._star_modules: list[str] = []
        self._is_known = is_known

    def add(self, node: cst.Import | cst.ImportFrom) -> None:
        if isinstance(node, cst.Import):
            for alias in node.names:
                full = dotted(alias.name) or ""
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    local = alias.asname.name.value
                    self._bindings[local] = full
                    self._origins[local] = ImportOrigin(full, None, local, node)
                else:
                    head = full.split(".")[0]
                    self._bindings[head] = head
                    self._origins[head] = ImportOrigin(full, None, None, node)
            return
        module = _module_name(node.module)
        if node.relative:
            module = None  # a project-local module: nothing we can resolve
        if isinstance(node.names, cst.ImportStar):
            if module is not None:
                self._star_modules.append(module)
            return
        for alias in node.names:
            name = dotted(alias.name) or ""
            local = name
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                local = alias.asname.name.value
            self._bindings[local] = None if module is None else f"{module}.{name}"
            if module is not None:
                self._origins[local] = ImportOrigin(module, name, None if local == name else local, node)
            else:
                self._origins.pop(local, None)

    def shadow(self, local: str) -> None:
        """A ``def`` or ``class`` of this name: it no longer refers to an import."""
        self._bindings[local] = None
        self._origins.pop(local, None)

    def origin(self, node: cst.CSTNode) -> ImportOrigin | None:
        """Where the head name of a reference (``jit`` in ``jit.script``) was imported."""
        name = dotted(node)
        return None if name is None else self._origins.get(name.split(".")[0])

    def resolve(self, node: cst.CSTNode) -> str | None:
        return self.resolve_name(dotted(node))

    def resolve_name(self, name: str | None) -> str | None:
        """What the dotted ``name`` refers to, from the imports so far."""
        if name is None:
            return None
        head, _, rest = name.partition(".")
        if head in self._bindings:
            target = self._bindings[head]
            if target is None:
                return None
            return canonical(f"{target}.{rest}" if rest else target)
        for module in self._star_modules:
            candidate = canonical(f"{module}.{name}")
            if self._is_known(candidate):
                return candidate
        if head == "torch":  # unbound here: it came in through a star import of a local module
            return canonical(name)
        return None

    def is_bound(self, local: str) -> bool:
        """True when ``local`` was imported or defined here (so it is no builtin)."""
        return local in self._bindings
