"""Value kinds inside an exported method, read from CPython ``ast``: whether the export-blocker
rules could report in it, decided before libcst parses anything.

The rules (``rewrites.rules._values.ValueTracker`` and MIG401-404) classify each expression of
``forward`` as a tensor, a data-dependent scalar, a size or static, and report branches, loops
and reads on the first three. :class:`AstValues` is the same classification on ``ast`` nodes,
line for line, with the same flow-ordered imports (:class:`AstImports` mirrors
``rewrites.names.ImportTable``): a method it clears holds no such finding, and libcst never
parses it. ``tests/test_source_slice.py`` checks the two agree on every rule example, sample and
fixture; the benchmark trees were checked the same way.
"""

from __future__ import annotations

import ast
import bisect
import re
from collections.abc import Callable, Sequence
from enum import IntEnum

from rewrites.names import ImportTable


class Kind(IntEnum):
    """Ordered so that combining two kinds keeps the larger."""

    STATIC = 0
    SIZE = 1
    SCALAR = 2
    TENSOR = 3


STATIC_ATTRIBUTES = frozenset(
    {
        "ndim",
        "dtype",
        "device",
        "is_cuda",
        "requires_grad",
        "layout",
        "is_sparse",
        "is_quantized",
        "training",
        "is_leaf",
        "names",
    }
)
SIZE_METHODS = frozenset({"size", "numel", "dim", "nelement", "stride"})
STATIC_METHODS = frozenset(
    {"is_floating_point", "is_contiguous", "is_complex", "element_size", "get_device", "type"}
)
ITEM_METHODS = frozenset({"item", "tolist"})
PREDICATE_PREFIXES = ("is_", "has_", "any_", "all_", "should_", "use_", "can_")
ITEM_BUILTINS = frozenset({"int", "float", "bool"})
STATIC_BUILTINS = frozenset({"isinstance", "hasattr", "callable", "getattr", "type", "id", "str"})
PASS_THROUGH_BUILTINS = frozenset({"min", "max", "abs", "round", "sum"})
STATIC_TORCH_FUNCTIONS = frozenset(
    {
        "torch.is_tensor",
        "torch.jit.isinstance",
        "torch.jit.is_scripting",
        "torch.jit.is_tracing",
        "torch.compiler.is_exporting",
        "torch.is_floating_point",
        "torch.is_grad_enabled",
    }
)
CONTAINER = re.compile(r"(typing\.)?(List|Tuple|Sequence|list|tuple)\b")
_Function = (ast.FunctionDef, ast.AsyncFunctionDef)


def combine(*kinds: Kind) -> Kind:
    return max(kinds, default=Kind.STATIC)


def annotation_kind(annotation: str | None, has_default: bool) -> Kind:
    """A parameter's kind: what its annotation says, else a defaulted one is a setting."""
    if annotation is not None:
        return Kind.TENSOR if "Tensor" in annotation else Kind.STATIC
    return Kind.STATIC if has_default else Kind.TENSOR


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return None if head is None else f"{head}.{node.attr}"
    return None


class AstImports(ImportTable):
    """``rewrites.names.ImportTable`` fed ``ast`` import statements: the names bound so far."""

    def add(self, node: ast.Import | ast.ImportFrom) -> None:  # type: ignore[override]
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname is not None:
                    self._bindings[alias.asname] = alias.name
                else:
                    head = alias.name.split(".")[0]
                    self._bindings[head] = head
            return
        module = None if node.level else node.module
        for alias in node.names:
            if alias.name == "*":
                if module is not None:
                    self._star_modules.append(module)
                continue
            self._bindings[alias.asname or alias.name] = None if module is None else f"{module}.{alias.name}"

    def resolve(self, node: ast.expr) -> str | None:  # type: ignore[override]
        return self.resolve_name(_dotted(node))


def import_events(tree: ast.Module, import_lines: Sequence[int]) -> list[tuple[int, int, ast.stmt]]:
    """What changes the rules' import table, in the order their walk meets it: every import at
    any depth, and each module-level ``def``/``class`` (it shadows an import of its name).
    ``import_lines`` are the (sorted) numbers of the lines holding "import": a statement without
    one holds no import, and its body is not walked."""
    events: list[tuple[int, int, ast.stmt]] = []

    def visit(body: Sequence[ast.AST], top: bool) -> None:
        for statement in body:
            if isinstance(statement, (ast.Import, ast.ImportFrom)):
                events.append((statement.lineno, statement.col_offset, statement))
                continue
            if top and isinstance(statement, (ast.ClassDef, *_Function)):
                events.append((_first_line(statement), statement.col_offset, statement))
            start = getattr(statement, "lineno", None)
            if start is not None:
                at = bisect.bisect_left(import_lines, start)
                if at == len(import_lines) or import_lines[at] > (statement.end_lineno or start):  # type: ignore[attr-defined]
                    continue
            for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                inner = getattr(statement, field, None)
                if isinstance(inner, list):
                    visit(inner, False)

    visit(tree.body, True)
    return sorted(events, key=lambda event: (event[0], event[1]))


def imports_before(
    events: Sequence[tuple[int, int, ast.stmt]], line: int, is_known: Callable[[str], bool]
) -> AstImports:
    """The table as the rules' walk has it on reaching ``line`` (:func:`import_events`)."""
    table = AstImports(is_known)
    for start, _, statement in events:
        if start >= line:
            break
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            table.add(statement)
        else:
            table.shadow(statement.name)  # type: ignore[attr-defined]
    return table


def _first_line(node: ast.stmt) -> int:
    decorators = getattr(node, "decorator_list", ())
    return min([node.lineno, *(d.lineno for d in decorators)])


def _arguments(call: ast.Call) -> list[ast.expr]:
    """The argument expressions, as libcst's ``Arg.value``s (a star's operand, keywords' values)."""
    return [a.value if isinstance(a, ast.Starred) else a for a in call.args] + [
        k.value for k in call.keywords
    ]


def _is_string(node: ast.expr) -> bool:
    return isinstance(node, ast.JoinedStr) or (
        isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes))
    )


def _element(node: ast.expr) -> ast.expr:
    return node.value if isinstance(node, ast.Starred) else node


class AstValues:
    """``rewrites.rules._values.ValueTracker`` on ``ast`` nodes (without the scalar origins)."""

    def __init__(self, function: ast.FunctionDef | ast.AsyncFunctionDef, imports: AstImports) -> None:
        self.imports = imports
        self.kinds: dict[str, Kind] = {}
        self.containers: set[str] = set()
        arguments = function.args
        positional = [*arguments.posonlyargs, *arguments.args]
        defaults: list[ast.expr | None] = [None] * (len(positional) - len(arguments.defaults))
        defaults += arguments.defaults
        for param, default in zip(
            [*positional, *arguments.kwonlyargs], [*defaults, *arguments.kw_defaults], strict=True
        ):
            if param.arg == "self":
                continue
            annotation = None if param.annotation is None else ast.unparse(param.annotation)
            self.kinds[param.arg] = annotation_kind(annotation, default is not None)
            if annotation is not None and CONTAINER.match(annotation):
                self.containers.add(param.arg)

    def kind(self, expr: ast.expr) -> Kind:
        kind_of = type(expr)
        if kind_of is ast.Name:
            return self.kinds.get(expr.id, Kind.STATIC)  # type: ignore[attr-defined]
        if kind_of is ast.Attribute:
            base = self.kind(expr.value)  # type: ignore[attr-defined]
            if expr.attr == "shape":  # type: ignore[attr-defined]
                return Kind.SIZE if base is Kind.TENSOR else base
            return Kind.STATIC if expr.attr in STATIC_ATTRIBUTES else base  # type: ignore[attr-defined]
        if kind_of is ast.Subscript:
            return self.kind(expr.value)  # type: ignore[attr-defined]
        if kind_of is ast.Call:
            return self.call_kind(expr)  # type: ignore[arg-type]
        if kind_of is ast.BinOp:
            return combine(self.kind(expr.left), self.kind(expr.right))  # type: ignore[attr-defined]
        if kind_of is ast.UnaryOp:
            return self.kind(expr.operand)  # type: ignore[attr-defined]
        if kind_of is ast.BoolOp:
            return combine(*(self.kind(v) for v in expr.values))  # type: ignore[attr-defined]
        if kind_of is ast.Compare:
            if any(isinstance(op, (ast.Is, ast.IsNot, ast.In, ast.NotIn)) for op in expr.ops):  # type: ignore[attr-defined]
                return Kind.STATIC
            if any(_is_string(e) for e in (expr.left, *expr.comparators)):  # type: ignore[attr-defined]
                return Kind.STATIC
            return combine(self.kind(expr.left), *(self.kind(c) for c in expr.comparators))  # type: ignore[attr-defined]
        if kind_of is ast.IfExp:
            return combine(self.kind(expr.body), self.kind(expr.orelse))  # type: ignore[attr-defined]
        if kind_of is ast.Tuple or kind_of is ast.List:
            return combine(*(self.kind(_element(e)) for e in expr.elts))  # type: ignore[attr-defined]
        return Kind.STATIC

    def call_kind(self, call: ast.Call) -> Kind:
        args = combine(*(self.kind(a) for a in _arguments(call)))
        func = call.func
        if isinstance(func, ast.Attribute):
            receiver = self.kind(func.value)
            method = func.attr
            if receiver is Kind.STATIC and method.startswith(PREDICATE_PREFIXES):
                return Kind.STATIC
            if receiver is Kind.TENSOR:
                if method in ITEM_METHODS:
                    return Kind.SCALAR
                if method in SIZE_METHODS:
                    return Kind.SIZE
                return Kind.STATIC if method in STATIC_METHODS else Kind.TENSOR
            if receiver is not Kind.STATIC:
                return receiver
        elif isinstance(func, ast.Name) and not self.imports.is_bound(func.id):
            if func.id in ITEM_BUILTINS:
                return Kind.SCALAR if args is Kind.TENSOR else args
            if func.id == "len":
                return Kind.SIZE if args is not Kind.STATIC else Kind.STATIC
            if func.id in STATIC_BUILTINS:
                return Kind.STATIC
            if func.id in PASS_THROUGH_BUILTINS:
                return args
        resolved = self.imports.resolve(func) or self._imported_name(func)
        if resolved is None:
            return Kind.TENSOR if args is Kind.TENSOR else Kind.STATIC
        if resolved.startswith("torch.") and resolved not in STATIC_TORCH_FUNCTIONS:
            return Kind.TENSOR
        return Kind.STATIC

    def _imported_name(self, func: ast.expr) -> str | None:
        head = func
        while isinstance(head, ast.Attribute):
            head = head.value
        if isinstance(head, ast.Name) and head.id != "self" and self.imports.is_bound(head.id):
            return head.id
        return None

    def bind(self, target: ast.expr, value: ast.expr | None, kind: Kind | None = None) -> None:
        if kind is None:
            kind = Kind.STATIC if value is None else self.kind(value)
        if isinstance(target, ast.Name):
            self.kinds[target.id] = kind
        elif isinstance(target, (ast.Tuple, ast.List)):
            values = value.elts if isinstance(value, (ast.Tuple, ast.List)) else None
            for i, element in enumerate(target.elts):
                if values is not None and len(values) == len(target.elts):
                    self.bind(_element(element), _element(values[i]))
                else:
                    self.bind(_element(element), None, kind)

    def bind_loop(self, target: ast.expr, iterable: ast.expr) -> None:
        if isinstance(iterable, ast.Call) and isinstance(iterable.func, ast.Name):
            args = _arguments(iterable)
            if args and iterable.func.id == "range":
                self.bind(target, None, combine(*(self.kind(a) for a in args)))
                return
            if (
                args
                and iterable.func.id == "enumerate"
                and isinstance(target, ast.Tuple)
                and len(target.elts) == 2
            ):
                self.bind(_element(target.elts[0]), None, Kind.STATIC)
                self.bind(_element(target.elts[1]), None, self.kind(args[0]))
                return
        self.bind(target, None, self.kind(iterable))

    def over_tensor_dimension(self, iterable: ast.expr) -> bool:
        """MIG403's test (``rewrites.rules.dynamic_dim_loop``)."""
        if isinstance(iterable, ast.Call) and isinstance(iterable.func, ast.Name):
            args = _arguments(iterable)
            if args and iterable.func.id == "range":
                return any(self.kind(a) is Kind.SIZE for a in args)
            if args and iterable.func.id in {"enumerate", "reversed", "zip"}:
                iterable = args[0]
        if isinstance(iterable, ast.Name) and iterable.id in self.containers:
            return False
        return self.kind(iterable) is Kind.TENSOR


def branches_on_values(
    function: ast.FunctionDef | ast.AsyncFunctionDef,
    imports: AstImports,
    may_hold: Callable[[int, int], bool] | None = None,
) -> bool:
    """Whether MIG401-403 report in ``function``: the rules' walk (source order, binding as it
    goes), stopped at the first report. ``imports`` is updated by the imports inside it.

    Inside an expression only a conditional expression (a check) and ``:=`` (a binding) matter:
    ``may_hold(first, last)`` says whether lines ``first`` to ``last`` could hold one (they
    hold "if" or ":="), and an expression on lines that cannot is not walked."""
    values = AstValues(function, imports)
    stack: list[ast.AST] = [function]
    while stack:
        node = stack.pop()
        kind_of = type(node)
        if kind_of is ast.If or kind_of is ast.IfExp or kind_of is ast.Assert:
            if values.kind(node.test) in (Kind.TENSOR, Kind.SCALAR):  # type: ignore[attr-defined]
                return True  # MIG401
        elif kind_of is ast.While:
            if values.kind(node.test) >= Kind.SCALAR:  # type: ignore[attr-defined]
                return True  # MIG402
        elif kind_of is ast.For or kind_of is ast.AsyncFor:
            if values.over_tensor_dimension(node.iter):  # type: ignore[attr-defined]
                return True  # MIG403
            values.bind_loop(node.target, node.iter)  # type: ignore[attr-defined]
        elif kind_of is ast.Assign:
            for target in node.targets:  # type: ignore[attr-defined]
                values.bind(target, node.value)  # type: ignore[attr-defined]
        elif kind_of is ast.AnnAssign:
            if node.value is not None:  # type: ignore[attr-defined]
                values.bind(node.target, node.value)  # type: ignore[attr-defined]
        elif kind_of is ast.AugAssign:
            if isinstance(node.target, ast.Name):  # type: ignore[attr-defined]
                kind = combine(values.kind(node.target), values.kind(node.value))  # type: ignore[attr-defined]
                values.bind(node.target, None, kind)  # type: ignore[attr-defined]
        elif kind_of is ast.NamedExpr:
            values.bind(node.target, node.value)  # type: ignore[attr-defined]
        elif kind_of is ast.Import or kind_of is ast.ImportFrom:
            imports.add(node)  # type: ignore[arg-type]
            continue
        children = _children(node)
        if may_hold is not None:
            children = [
                child
                for child in children
                if not isinstance(child, ast.expr) or may_hold(child.lineno, child.end_lineno or child.lineno)
            ]
        stack.extend(reversed(children))
    return False


def _children(node: ast.AST) -> Sequence[ast.AST]:
    """Children in source order (``ast`` lists a conditional expression's test first)."""
    if isinstance(node, ast.IfExp):
        return (node.body, node.test, node.orelse)
    return list(ast.iter_child_nodes(node))


def reads_scalars(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """MIG404's precondition: a call of ``.item()``/``.tolist()`` or ``int``/``float``/``bool``."""
    for node in ast.walk(function):
        if isinstance(node, ast.Call):
            func = node.func
            if (isinstance(func, ast.Attribute) and func.attr in ITEM_METHODS) or (
                isinstance(func, ast.Name) and func.id in ITEM_BUILTINS
            ):
                return True
    return False
