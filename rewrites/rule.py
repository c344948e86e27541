"""The rule base class: one subclass per file under ``rewrites/rules/``.

A rule is a small libcst visitor (Fixit-style): ``visit_<Node>`` / ``leave_<Node>`` methods, plus
``visit_reference(node, qualified_name)`` for every use of a name in ``names``. It reports
nodes; the engine turns reports into positioned findings. Its ``VALID`` and ``INVALID`` examples
are its documentation and its tests.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import libcst as cst

from rewrites.model import FixSafety
from rewrites.names import ImportOrigin, ImportTable
from rewrites.project import EMPTY, ProjectIndex

DOC_SECTIONS = ("What it does", "Why is this bad?", "Example", "Fix safety")


@dataclass(frozen=True)
class Valid:
    """Source the rule must not report; ``path`` names the file it is read as (app rules)."""

    code: str
    path: str | None = None
    project: tuple[tuple[str, str], ...] = ()  # other files of the project: (path, text)


@dataclass(frozen=True)
class Invalid:
    """Source the rule must report, at ``line``/``column`` (1-based) when given.

    ``expected`` is the whole source after ``migrate apply --fix --unsafe-fixes`` with only this
    rule selected; cases of rules that can fix must give it.
    """

    code: str
    line: int | None = None
    column: int | None = None
    count: int = 1
    expected: str | None = None
    path: str | None = None
    project: tuple[tuple[str, str], ...] = ()  # other files of the project: (path, text)


Replacement = cst.CSTNode | cst.RemovalSentinel | cst.FlattenSentinel


@dataclass(frozen=True)
class Edit:
    """A fix: nodes to replace (by identity), imports it needs, imports it may leave unused.

    ``resolves`` are nodes other rules report that the fix rewrites too (the uses of a value a
    chain fix rewrites together): those findings count as fixed with it.
    """

    changes: Mapping[cst.CSTNode, Replacement]
    add_imports: tuple[tuple[str, str | None], ...] = ()
    unused_imports: tuple[ImportOrigin, ...] = ()
    resolves: tuple[cst.CSTNode, ...] = ()


@dataclass(frozen=True)
class Report:
    rule: type[Rule]
    node: cst.CSTNode
    message: str
    edit: Edit | None = None


class FileContext:
    """Per-file state shared by the rules of one run: imports, ancestry, reports."""

    def __init__(self, imports: ImportTable, project: ProjectIndex = EMPTY) -> None:
        self.imports = imports
        self.project = project  # facts about the other files of the project (rewrites.project)
        self.stack: list[cst.CSTNode] = []
        self.reports: list[Report] = []
        self.memo: dict[object, Any] = {}  # what a rule computed once for this file

    def resolve(self, node: cst.CSTNode) -> str | None:
        return self.imports.resolve(node)

    def parent(self) -> cst.CSTNode | None:
        """The parent of the node being visited."""
        return self.stack[-2] if len(self.stack) > 1 else None

    def ancestors(self) -> Iterator[cst.CSTNode]:
        return reversed(self.stack[:-1])

    def is_builtin(self, node: cst.BaseExpression, name: str) -> bool:
        return isinstance(node, cst.Name) and node.value == name and not self.imports.is_bound(name)

    def entry_method(self) -> cst.FunctionDef | None:
        """The model method we are inside, if it is one export will trace.

        That is ``forward`` or a method decorated ``@torch.jit.export``, defined directly in a
        class body; nested helpers inside it count as inside it.
        """
        stack = self.stack
        for i in range(len(stack) - 1, 1, -1):
            node = stack[i]
            if isinstance(node, cst.FunctionDef) and isinstance(stack[i - 2], cst.ClassDef):
                if node.name.value == "forward" or any(
                    self.resolve(_decorator_target(d)) == "torch.jit.export" for d in node.decorators
                ):
                    return node
                return None
        return None


def _decorator_target(decorator: cst.Decorator) -> cst.BaseExpression:
    target = decorator.decorator
    return target.func if isinstance(target, cst.Call) else target


class Rule:
    code: ClassVar[str]
    name: ClassVar[str]
    message: ClassVar[str]
    fix_title: ClassVar[str | None] = None
    fix_safety: ClassVar[FixSafety] = FixSafety.DISPLAY_ONLY
    # Qualified names whose every use is passed to visit_reference; "pkg.mod.*" is a prefix.
    names: ClassVar[frozenset[str]] = frozenset()
    # A fallback rule sees only names that no other rule claims.
    fallback: ClassVar[bool] = False
    # Prefilter for rules that match more than ``names`` (methods on any receiver, attribute
    # names): the rule can only report in text holding every token of one group.
    tokens: ClassVar[tuple[tuple[str, ...], ...]] = ()
    # what the rule reads: Python here; app rules (rewrites.app_engine.AppRule) name theirs
    languages: ClassVar[frozenset[str]] = frozenset({"python"})
    VALID: ClassVar[Sequence[Valid]] = ()
    INVALID: ClassVar[Sequence[Invalid]] = ()

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        # Longest (rarest) token first, so most checks stop at the first miss.
        cls.tokens = tuple(tuple(sorted(set(g), key=lambda t: (-len(t), t))) for g in cls.tokens)

    def __init__(self, ctx: FileContext) -> None:
        self.ctx = ctx

    @classmethod
    def doc(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")

    def report(self, node: cst.CSTNode, message: str | None = None, edit: Edit | None = None) -> None:
        self.ctx.reports.append(Report(type(self), node, message or self.message, edit))

    def edit(
        self,
        changes: Mapping[cst.CSTNode, Replacement],
        *,
        add_imports: Sequence[tuple[str, str | None]] = (),
        dropped: Sequence[cst.CSTNode] = (),
    ) -> Edit:
        """An edit; ``dropped`` are references it removes, whose imports may become unused."""
        origins = (self.ctx.imports.origin(node) for node in dropped)
        return Edit(changes, tuple(add_imports), tuple(o for o in origins if o is not None))

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        """Called for each use of a name in ``names`` (never inside an import statement)."""
