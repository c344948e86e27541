"""The part of a file the rules can report in, found with CPython's ``ast`` so that libcst
(ten times slower) parses only that part. Lines and columns stay those of the file: every line
left out is blanked, not removed.

- The export-blocker rules (MIG4xx) look only inside the methods ``torch.export`` traces
  (``forward``, and methods decorated ``...export``) and report only certain constructs there:
  branches, loops and asserts on tensor values (decided here by :mod:`rewrites.entry_values`,
  the rules' own classification on ``ast``), ``.item()``-like reads, scalar parameters. Only the
  methods holding one are kept, with the headers of their classes. MIG405 skips the classes
  other classes call (they are submodules): a line after the end names those calls.
- The other rules report on uses of the names they match, which the prefilter finds in the
  text (``FilePrefilter.positions``): each module-level function or class holding one is kept
  whole (their analyses span one function, or the module's own statements), with every
  module-level statement that is not a function or class.

Imports and ``migrate:`` comments are kept, and a module-level function or class left out
keeps a one-line stand-in (it shadows an import of its name). A file nothing is kept of has no
finding and is not parsed by libcst at all. When the shape of the file makes a slice unsafe (an
entry method inside an ``if``/``try``), the answer is None and the whole file is parsed.
"""

from __future__ import annotations

import ast
import bisect
import re
from collections.abc import Callable, Collection, Sequence

from rewrites.entry_values import branches_on_values, import_events, imports_before, reads_scalars

_SCALAR = re.compile(r"\b(int|float|bool|str)\b")
# what a `.item()`-like read must be written with (entry_values.reads_scalars then makes sure)
_SCALAR_READ = re.compile(r"\.[\s\\]*(?:item|tolist)\b|\b(?:int|float|bool)[\s\\]*\(")
_Function = (ast.FunctionDef, ast.AsyncFunctionDef)
# an entry method, with the classes and functions it is in, outermost first
_Entry = tuple[
    list[ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef], ast.FunctionDef | ast.AsyncFunctionDef
]
# each line with its line break, as ast counts them (str.splitlines knows more breaks)
LINES = re.compile(r"[^\r\n]*(?:\r\n?|\n)|[^\r\n]+\Z")


class _Unsafe(Exception):
    pass


def source_slice(
    text: str, is_known: Callable[[str], bool], *, entry: bool = True, name_lines: Collection[int] = ()
) -> str | None:
    """``text`` with only what the rules need left in place ("" when that is nothing), or None
    when the whole file must be parsed. ``entry``: the export-blocker rules run; ``name_lines``:
    the (1-based) lines where the other rules' names are used. ``is_known`` is what star imports
    resolve to (``rewrites.python_checker._is_known``)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None  # libcst parses it and says what is wrong
    lines = LINES.findall(text)
    kept: dict[int, str] = {}  # 0-based line -> its text in the slice
    if name_lines:
        hits = sorted(name_lines)
        for statement in tree.body:
            first, last = _first_line(statement), statement.end_lineno or statement.lineno
            if not isinstance(statement, (ast.ClassDef, *_Function)) or _holds(hits, first + 1, last):
                for line in range(first, last):
                    kept[line] = lines[line]
    wanted: list[_Entry] = []
    candidates: set[str] = set()
    if entry:
        try:
            wanted, candidates = _wanted_entries(tree, lines, is_known)
        except _Unsafe:
            return None
    if not wanted and not kept:
        return ""
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
    if "migrate:" in text:  # suppression comments, wherever they are (a comment line is valid anywhere)
        for number, line in enumerate(lines):
            if "migrate:" in line and line.lstrip().startswith("#"):
                kept.setdefault(number, line)
    part = "".join(kept.get(i, _ending(line)) for i, line in enumerate(lines))
    if candidates:  # after the last line, so no position moves: MIG405 sees them called in a class
        calls = "; ".join(f"{name}()" for name in sorted(candidates))
        part += ("" if part.endswith("\n") else "\n") + f"class _MigrateSubmodules:\n    {calls}\n"
    return part


def _wanted_entries(
    tree: ast.Module, lines: list[str], is_known: Callable[[str], bool]
) -> tuple[list[_Entry], set[str]]:
    """The entry methods the export-blocker rules report in (with their enclosing classes and
    functions), and the classes with a scalar parameter that other classes call."""
    wanted: list[_Entry] = []
    candidates: set[str] = set()
    # the lines a `def` may start on: a statement without one defines no entry method, and
    # walking every node of a 20,000-line table to be sure cost more than the rest of the slice
    def_lines = [number for number, line in enumerate(lines, 1) if "def" in line]
    entries = list(_entries(tree.body, [], def_lines))
    if not entries:
        return [], set()
    called: dict[str, bool] = {}  # class name -> whether another class calls it
    events = import_events(tree, [number for number, line in enumerate(lines, 1) if "import" in line])
    marked = [0]  # how many of the first n lines hold "if" or ":="
    for line in lines:
        marked.append(marked[-1] + ("if" in line or ":=" in line))

    def may_hold(first: int, last: int) -> bool:
        return marked[last] > marked[first - 1]

    for path, method in entries:
        owner = path[-1].name
        if _scalar_parameters(method):
            if owner not in called:
                called[owner] = _called_in_a_class(tree, lines, owner)
            if not called[owner]:  # MIG405 reports it
                wanted.append((path, method))
                continue
            candidates.add(owner)  # a submodule: MIG405 must see it called
        source = "".join(lines[_first_line(method) : method.end_lineno])
        imports = imports_before(events, _first_line(method) + 1, is_known)
        if (_SCALAR_READ.search(source) and reads_scalars(method)) or branches_on_values(
            method, imports, may_hold
        ):
            wanted.append((path, method))
    return wanted, candidates


def _holds(hits: list[int], first: int, last: int) -> bool:
    at = bisect.bisect_left(hits, first)
    return at < len(hits) and hits[at] <= last


def _entries(body: list[ast.stmt], path: list[ast.AST], def_lines: list[int]):  # type: ignore[no-untyped-def]
    """(enclosing classes and functions, method) for each entry method, outermost first;
    ``def_lines`` are the (sorted) numbers of the lines holding "def"."""
    for statement in body:
        if isinstance(statement, ast.ClassDef):
            rest = []
            for item in statement.body:
                if isinstance(item, _Function) and _is_entry(item):
                    yield [*path, statement], item  # the rules walk what it holds as part of it
                else:
                    rest.append(item)
            yield from _entries(rest, [*path, statement], def_lines)
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


def _called_in_a_class(tree: ast.Module, lines: list[str], name: str) -> bool:
    """Whether ``name(...)`` is called anywhere inside a class: MIG405 takes such a class for a
    submodule. Only the nodes whose lines hold the name are walked."""
    word = re.compile(rf"\b{re.escape(name)}\b")
    hits = [number for number, line in enumerate(lines, 1) if name in line and word.search(line)]
    stack: list[tuple[ast.AST, bool]] = [(statement, False) for statement in tree.body]
    while stack:
        node, inside = stack.pop()
        start = getattr(node, "lineno", None)
        if start is not None:
            at = bisect.bisect_left(hits, start)
            if at == len(hits) or hits[at] > (getattr(node, "end_lineno", None) or start):
                continue
        if inside and isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name:
            return True
        inside = inside or isinstance(node, ast.ClassDef)
        stack.extend((child, inside) for child in ast.iter_child_nodes(node))
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


def _first_line(node: ast.stmt) -> int:
    """0-based, decorators included."""
    return min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", ()))]) - 1


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
