"""Imports a fix adds, placed where ruff's isort rules (`I001`) would put them.

libcst's ``AddImportsVisitor`` appends new imports after the file's last one, so a script whose
imports are sectioned (standard library, blank line, third party, blank line, first party)
ends with ``import os`` under ``from model import make_model``. Where the file's top-level
imports are already in sections like that, each new import goes into its section (standard
library or third party; a new section where there is none) and that section is sorted as
isort sorts it: ``import x`` lines first, then ``from x import ...``, by module name, the names
of a ``from`` import constants first, then classes, then the rest. Files whose imports are not
sectioned are left as the visitor made them: their author does not use isort.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import libcst as cst

_STDLIB = frozenset(sys.stdlib_module_names)


def place_new_imports(original: cst.Module, fixed: cst.Module) -> cst.Module:
    """``fixed`` with the import statements it has and ``original`` lacks moved into sections."""
    old_block = _import_block(original)
    new_block = _import_block(fixed)
    if old_block is None or new_block is None:
        return fixed
    old_start, old_end = old_block
    sections = _sections(original.body[old_start:old_end])
    if len(sections) < 2:
        return fixed
    kinds = [_kind(section) for section in sections]
    if kinds.count("third-party") == 2 and kinds[-1] == "third-party":
        kinds[-1] = "first-party"  # the project's own modules, after the third-party ones
    if None in kinds or len(set(kinds)) != len(kinds) or kinds != sorted(kinds, key=_ORDER.index):  # type: ignore[arg-type]
        return fixed
    old_modules = {_identity(s) for s in original.body[old_start:old_end]}
    start, end = new_block
    statements = list(fixed.body[start:end])
    added = [s for s in statements if _identity(s) not in old_modules]
    kept = [s for s in statements if s not in added]
    if not added:
        return fixed
    grouped = _sections(kept)
    if len(grouped) != len(sections):
        return fixed  # a fix also changed the sections themselves: leave it
    by_kind: dict[str, list[cst.SimpleStatementLine]] = dict(zip(kinds, grouped, strict=True))  # type: ignore[arg-type]
    touched = set()
    for statement in added:
        assert isinstance(statement, cst.SimpleStatementLine)
        kind = "stdlib" if _top(statement) in _STDLIB else "third-party"
        by_kind.setdefault(kind, []).append(statement)
        touched.add(kind)
    body: list[cst.BaseStatement] = []
    for kind in _ORDER:
        section = by_kind.get(kind)
        if not section:
            continue
        if kind in touched:
            section = _sorted(section)
        for index, statement in enumerate(section):
            blank = bool(body) and index == 0
            lines = [cst.EmptyLine()] if blank else []
            if index == 0 and not body:
                lines = list(fixed.body[start].leading_lines)
            body.append(statement.with_changes(leading_lines=lines))
    rest = list(fixed.body[end:])
    return fixed.with_changes(body=[*fixed.body[:start], *body, *rest])


_ORDER = ["future", "stdlib", "third-party", "first-party"]


def _import_block(module: cst.Module) -> tuple[int, int] | None:
    """[start, end) of the top-level import statements after the docstring."""
    body = module.body
    start = 0
    if body and _is_docstring(body[0]):
        start = 1
    end = start
    while end < len(body) and _module(body[end]) is not None:
        end += 1
    return (start, end) if end > start else None


def _is_docstring(statement: cst.BaseStatement) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def _sections(statements: Sequence[cst.BaseStatement]) -> list[list[cst.SimpleStatementLine]]:
    sections: list[list[cst.SimpleStatementLine]] = []
    for index, statement in enumerate(statements):
        assert isinstance(statement, cst.SimpleStatementLine)
        if index == 0 or any(not line.comment for line in statement.leading_lines):
            sections.append([])
        sections[-1].append(statement)
    return sections


def _kind(section: list[cst.SimpleStatementLine]) -> str | None:
    """The isort section every import of ``section`` belongs to (None when mixed)."""
    kinds = set()
    for statement in section:
        top = _top(statement)
        if top == "__future__":
            kinds.add("future")
        elif top in _STDLIB:
            kinds.add("stdlib")
        else:
            kinds.add("other")
    if len(kinds) != 1:
        return None
    kind = kinds.pop()
    return kind if kind != "other" else "third-party"


def _module(statement: cst.BaseStatement) -> str | None:
    if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1):
        return None
    small = statement.body[0]
    if isinstance(small, cst.Import):
        return _code(small.names[0].name)
    if isinstance(small, cst.ImportFrom) and not small.relative and small.module is not None:
        return _code(small.module)
    return None


def _identity(statement: cst.BaseStatement) -> tuple[bool, str | None]:
    """What an import statement imports from, whatever names it lists."""
    return isinstance(statement, cst.SimpleStatementLine) and isinstance(
        statement.body[0], cst.Import
    ), _module(statement)


def _top(statement: cst.BaseStatement) -> str:
    return (_module(statement) or "").split(".")[0]


def _sorted(section: list[cst.SimpleStatementLine]) -> list[cst.SimpleStatementLine]:
    def key(statement: cst.SimpleStatementLine) -> tuple[int, str]:
        small = statement.body[0]
        return (0 if isinstance(small, cst.Import) else 1, (_module(statement) or "").lower())

    return [_sort_names(s) for s in sorted(section, key=key)]


def _sort_names(statement: cst.SimpleStatementLine) -> cst.SimpleStatementLine:
    small = statement.body[0]
    if not isinstance(small, cst.ImportFrom) or isinstance(small.names, cst.ImportStar):
        return statement
    if small.lpar is not None:
        return statement  # a parenthesised list keeps its layout

    def key(alias: cst.ImportAlias) -> tuple[int, str]:
        name = _code(alias.name)
        kind = 0 if name.isupper() else 1 if name[:1].isupper() else 2
        return (kind, name.lower())

    names = sorted(small.names, key=key)
    names = [a.with_changes(comma=cst.MaybeSentinel.DEFAULT) for a in names]
    names = [
        a.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        if i < len(names) - 1
        else a
        for i, a in enumerate(names)
    ]
    line = statement.with_changes(body=[small.with_changes(names=names)])
    if len(_code(line).strip()) <= _LINE_LENGTH:
        return line
    wrapped = "".join(f"    {_code(a.with_changes(comma=cst.MaybeSentinel.DEFAULT))},\n" for a in names)
    parsed = cst.parse_statement(f"from {_code(small.module) if small.module else ''} import (\n{wrapped})\n")
    assert isinstance(parsed, cst.SimpleStatementLine)
    return parsed.with_changes(leading_lines=statement.leading_lines)


_LINE_LENGTH = 88  # ruff's default


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)
