"""The part of a file the export-blocker rules (MIG4xx) can report in, found with CPython's
``ast`` so that libcst parses only that part.

Those rules look only inside the methods ``torch.export`` traces (``forward``, and methods
decorated ``...export``) and report only certain constructs there: branches, loops, asserts,
``.item()``-like reads, scalar parameters. A file whose entry methods hold none of these has no
such finding and is not parsed by libcst at all; otherwise libcst parses a copy of the file in
which every other line is blank except the imports and the headers of the enclosing classes, so
lines and columns are those of the file. When the shape of the file makes that unsafe (an entry
method inside an ``if``/``try``, a scalar parameter whose rule needs the whole class), the answer
is None and the whole file is parsed, as before.
"""

from __future__ import annotations

import ast
import bisect
import re
from collections.abc import Sequence

_CONSTRUCTS = (ast.If, ast.IfExp, ast.Assert, ast.While, ast.For, ast.AsyncFor)
_ITEM_METHODS = frozenset({"item", "tolist"})  # rewrites.rules._values.ITEM_METHODS
_ITEM_BUILTINS = frozenset({"int", "float", "bool"})  # rewrites.rules._values.ITEM_BUILTINS
_SCALAR = re.compile(r"\b(int|float|bool|str)\b")
_Function = (ast.FunctionDef, ast.AsyncFunctionDef)
_LINE = re.compile(r"[^\r\n]*(?:\r\n?|\n)|[^\r\n]+\Z")


class _Unsafe(Exception):
    pass


def entry_slice(text: str) -> str | None:
    """``text`` with only what the export-blocker rules need left in place ("" when that is
    nothing), or None when the whole file must be parsed."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None  # libcst parses it and says what is wrong
    wanted, candidates = [], set()
    lines = _LINE.findall(text)  # the line breaks ast counts (str.splitlines knows more)
    # the lines a `def` may start on: a statement without one defines no entry method, and
    # walking every node of a 20,000-line table to be sure cost more than the rest of the slice
    def_lines = [number for number, line in enumerate(lines, 1) if "def" in line]
    try:
        for path, method in _entries(tree.body, [], def_lines):
            if _scalar_parameters(method):
                candidates.add(path[-1].name)
                wanted.append((path, method))
            elif _may_report(method):
                wanted.append((path, method))
    except _Unsafe:
        return None
    if candidates & _called_in_classes(tree) if candidates else False:
        return None  # MIG405 skips classes called inside others: it needs every class in view
    if not wanted:
        return ""
    kept: dict[int, str] = {}  # 0-based line -> its text in the slice
    for node in _module_imports(tree.body):
        _keep_statement(lines, node, kept)
    for path, method in wanted:
        for owner in path:
            body_start = owner.body[0].lineno - 1
            for line in range(_first_line(owner), body_start):
                kept[line] = lines[line]
        for line in range(_first_line(method), method.end_lineno or method.lineno):
            kept[line] = lines[line]
    for statement in tree.body:
        # a module-level def or class shadows an import of its name from there on: a one-line
        # stand-in on its own line keeps that (rewrites.names.ImportTable.shadow)
        if isinstance(statement, (ast.ClassDef, *_Function)) and statement.lineno - 1 not in kept:
            kept[statement.lineno - 1] = f"def {statement.name}(): ...{_ending(lines[statement.lineno - 1])}"
    return "".join(kept.get(i, _ending(line)) for i, line in enumerate(lines))


def _entries(body: list[ast.stmt], path: list[ast.AST], def_lines: list[int]):  # type: ignore[no-untyped-def]
    """(enclosing classes and functions, method) for each entry method, outermost first;
    ``def_lines`` are the (sorted) numbers of the lines holding "def"."""
    for statement in body:
        if isinstance(statement, ast.ClassDef):
            for item in statement.body:
                if isinstance(item, _Function) and _is_entry(item):
                    yield [*path, statement], item
            yield from _entries(statement.body, [*path, statement], def_lines)
        elif isinstance(statement, _Function):
            yield from _entries(statement.body, [*path, statement], def_lines)
        elif _has_def_line(statement, def_lines) and _defines_entry(statement):
            raise _Unsafe  # a model class inside an `if` or `try`: parse it all


def _module_imports(body: Sequence[ast.AST]):  # type: ignore[no-untyped-def]
    """Imports that run at module level, also inside ``try``/``if``; not those in functions or
    classes (an import in ``__init__`` moved to column 0 would split its class in two)."""
    for statement in body:
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            yield statement
        elif not isinstance(statement, (ast.ClassDef, *_Function)):
            for field in ("body", "orelse", "finalbody", "handlers"):
                inner = getattr(statement, field, None)
                if isinstance(inner, list):
                    yield from _module_imports([s for s in inner if isinstance(s, ast.AST)])


def _has_def_line(statement: ast.stmt, def_lines: list[int]) -> bool:
    at = bisect.bisect_left(def_lines, statement.lineno)
    return at < len(def_lines) and def_lines[at] <= (statement.end_lineno or statement.lineno)


def _defines_entry(statement: ast.stmt) -> bool:
    return any(isinstance(node, _Function) and _is_entry(node) for node in ast.walk(statement))


def _is_entry(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    if function.name == "forward":
        return True
    return any("export" in ast.unparse(d) for d in function.decorator_list)


def _called_in_classes(tree: ast.Module) -> set[str]:
    """Names called anywhere inside a class: MIG405 takes those classes for submodules."""
    return {
        node.func.id
        for owner in ast.walk(tree)
        if isinstance(owner, ast.ClassDef)
        for node in ast.walk(owner)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }


def _may_report(method: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for node in ast.walk(method):
        if isinstance(node, _CONSTRUCTS):
            return True
        if isinstance(node, ast.Call):
            func = node.func
            if (isinstance(func, ast.Attribute) and func.attr in _ITEM_METHODS) or (
                isinstance(func, ast.Name) and func.id in _ITEM_BUILTINS
            ):
                return True
    return False


def _scalar_parameters(method: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Parameters MIG405 could report: its ``_is_model_input`` on ``ast`` nodes."""
    arguments = method.args
    params = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
    defaults: list[ast.expr | None] = [None] * (len(arguments.posonlyargs) + len(arguments.args))
    if arguments.defaults:
        defaults[-len(arguments.defaults) :] = arguments.defaults
    defaults += list(arguments.kw_defaults)
    for param, default in zip(params, defaults, strict=True):
        if param.arg == "self":
            continue
        annotation = "" if param.annotation is None else ast.unparse(param.annotation)
        static = ("Tensor" not in annotation) if annotation else default is not None
        if not static or (annotation and not _SCALAR.search(annotation)):
            continue
        literal = isinstance(default, ast.Constant) and isinstance(default.value, (str, bytes))
        if default is None or "str" in annotation or literal:
            return True
    return False


def _first_line(node: ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    return min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1


def _keep_statement(lines: list[str], node: ast.stmt, kept: dict[int, str]) -> None:
    """An import, moved to the start of its line(s) so that it is valid outside its block."""
    first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
    for line in range(first, last + 1):
        text = lines[line]
        end = len(text.encode("utf-8")) if line < last else (node.end_col_offset or 0)
        start = node.col_offset if line == first else 0
        raw = text.encode("utf-8")[start:end].decode("utf-8", "replace")
        kept.setdefault(line, raw.rstrip("\r\n") + _ending(text))


def _ending(line: str) -> str:
    return line[len(line.rstrip("\r\n")) :] or ""
