"""What kind of value an expression holds inside an exported method, as far as source shows.

Export traces with symbolic shapes and fake data: Python may branch on shapes (guards) but
not on tensor *values*. So an expression is classified as a tensor, a data-dependent Python
scalar (from ``.item()``, ``int(t)`` ...), a size (from ``.shape`` / ``.size()``) or static.
Parameters are tensors unless annotated or defaulted otherwise; assignments propagate kinds in
visiting order. It is a heuristic: it errs towards silence on calls it cannot see into.
"""

from __future__ import annotations

import libcst as cst

from rewrites.entry_values import CONTAINER as _CONTAINER
from rewrites.entry_values import ITEM_BUILTINS, ITEM_METHODS, Kind, annotation_kind, combine
from rewrites.entry_values import PASS_THROUGH_BUILTINS as _PASS_THROUGH_BUILTINS
from rewrites.entry_values import PREDICATE_PREFIXES as _PREDICATE_PREFIXES
from rewrites.entry_values import SIZE_METHODS as _SIZE_METHODS
from rewrites.entry_values import STATIC_ATTRIBUTES as _STATIC_ATTRIBUTES
from rewrites.entry_values import STATIC_BUILTINS as _STATIC_BUILTINS
from rewrites.entry_values import STATIC_METHODS as _STATIC_METHODS
from rewrites.entry_values import STATIC_TORCH_FUNCTIONS as _STATIC_TORCH_FUNCTIONS
from rewrites.python_checker import FileContext, PythonRule

# A method is an entry point when named forward or decorated @torch.jit.export.
ENTRY_TOKENS = (("def forward", "torch"), ("export", "torch", "jit"))


_STRINGS = (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)

__all__ = ["ITEM_BUILTINS", "ITEM_METHODS", "EntryMethodRule", "Kind", "ValueTracker", "parameter_kind"]


def _imported_name(ctx: FileContext, func: cst.BaseExpression) -> str | None:
    """The head of ``func`` when it names an imported module or function (``np``, ``sys``)."""
    head = func
    while isinstance(head, cst.Attribute):
        head = head.value
    if isinstance(head, cst.Name) and head.value != "self" and ctx.imports.is_bound(head.value):
        return head.value
    return None


class ValueTracker:
    def __init__(self, ctx: FileContext, function: cst.FunctionDef) -> None:
        self.ctx = ctx
        self.function = function
        self.kinds: dict[str, Kind] = {}
        self.origins: dict[str, cst.Call] = {}
        # The line that assigned each data-dependent scalar (where `torch._check`s can follow),
        # and the names already bound there.
        self.origin_lines: dict[str, cst.SimpleStatementLine] = {}
        self.bound_at_origin: dict[str, frozenset[str]] = {}
        # Parameters annotated as lists or tuples: iterating them is over a Python length.
        self.containers: set[str] = set()
        self._bound: set[cst.CSTNode] = set()  # the bindings a rule has already made
        params = function.params
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            name = param.name.value
            if name != "self":
                self.kinds[name] = parameter_kind(param)
                if param.annotation is not None and _CONTAINER.match(_code(param.annotation.annotation)):
                    self.containers.add(name)

    def first(self, node: cst.CSTNode) -> bool:
        """Whether ``node``'s binding is still to be made (the rules sharing this tracker each
        visit it; the first one binds)."""
        if node in self._bound:
            return False
        self._bound.add(node)
        return True

    def kind(self, expr: cst.BaseExpression) -> Kind:
        if isinstance(expr, cst.Name):
            return self.kinds.get(expr.value, Kind.STATIC)
        if isinstance(expr, cst.Attribute):
            base = self.kind(expr.value)
            if expr.attr.value == "shape":
                return Kind.SIZE if base is Kind.TENSOR else base
            if expr.attr.value in _STATIC_ATTRIBUTES:
                return Kind.STATIC
            return base
        if isinstance(expr, cst.Subscript):
            return self.kind(expr.value)
        if isinstance(expr, cst.Call):
            return self._call_kind(expr)
        if isinstance(expr, cst.BinaryOperation):
            return combine(self.kind(expr.left), self.kind(expr.right))
        if isinstance(expr, cst.UnaryOperation):
            return self.kind(expr.expression)
        if isinstance(expr, cst.BooleanOperation):
            return combine(self.kind(expr.left), self.kind(expr.right))
        if isinstance(expr, cst.Comparison):
            if any(isinstance(t.operator, (cst.Is, cst.IsNot, cst.In, cst.NotIn)) for t in expr.comparisons):
                return Kind.STATIC
            if any(isinstance(e, _STRINGS) for e in (expr.left, *(t.comparator for t in expr.comparisons))):
                return Kind.STATIC  # `mode == "sent"`: a tensor never equals a string
            return combine(self.kind(expr.left), *(self.kind(t.comparator) for t in expr.comparisons))
        if isinstance(expr, cst.IfExp):
            return combine(self.kind(expr.body), self.kind(expr.orelse))
        if isinstance(expr, (cst.Tuple, cst.List)):
            return combine(*(self.kind(e.value) for e in expr.elements))
        return Kind.STATIC

    def _call_kind(self, call: cst.Call) -> Kind:
        args = combine(*(self.kind(a.value) for a in call.args))
        func = call.func
        if isinstance(func, cst.Attribute):
            receiver = self.kind(func.value)
            method = func.attr.value
            if receiver is Kind.STATIC and method.startswith(_PREDICATE_PREFIXES):
                return Kind.STATIC  # self.any_requires_grad(x): a Python-level predicate
            if receiver is Kind.TENSOR:
                if method in ITEM_METHODS:
                    return Kind.SCALAR
                if method in _SIZE_METHODS:
                    return Kind.SIZE
                return Kind.STATIC if method in _STATIC_METHODS else Kind.TENSOR
            if receiver is not Kind.STATIC:
                return receiver
        elif isinstance(func, cst.Name) and not self.ctx.imports.is_bound(func.value):
            if func.value in ITEM_BUILTINS:
                return Kind.SCALAR if args is Kind.TENSOR else args
            if func.value == "len":
                return Kind.SIZE if args is not Kind.STATIC else Kind.STATIC
            if func.value in _STATIC_BUILTINS:
                return Kind.STATIC
            if func.value in _PASS_THROUGH_BUILTINS:
                return args
        resolved = self.ctx.resolve(func) or _imported_name(self.ctx, func)
        if resolved is None:  # a local function or a submodule: tensors in, tensors out
            return Kind.TENSOR if args is Kind.TENSOR else Kind.STATIC
        if resolved.startswith("torch.") and resolved not in _STATIC_TORCH_FUNCTIONS:
            return Kind.TENSOR
        return Kind.STATIC  # another library (math, numpy, sys): not traced as tensors

    def bind(
        self, target: cst.BaseExpression, value: cst.BaseExpression | None, kind: Kind | None = None
    ) -> None:
        if kind is None:
            kind = Kind.STATIC if value is None else self.kind(value)
        if isinstance(target, cst.Name):
            self.kinds[target.value] = kind
            # only a scalar has an origin: walking every assigned value for one cost a tenth of a scan
            origin = line = None
            if kind is Kind.SCALAR and value is not None:
                origin = self.scalar_origin(value)
                line = next(
                    (n for n in reversed(self.ctx.stack) if isinstance(n, cst.SimpleStatementLine)), None
                )
            if origin is not None and line is not None:
                self.origins[target.value] = origin
                self.origin_lines[target.value] = line
                self.bound_at_origin[target.value] = frozenset(self.kinds)
            else:
                self.origins.pop(target.value, None)
                self.origin_lines.pop(target.value, None)
        elif isinstance(target, (cst.Tuple, cst.List)):
            values = value.elements if isinstance(value, (cst.Tuple, cst.List)) else None
            for i, element in enumerate(target.elements):
                if values is not None and len(values) == len(target.elements):
                    self.bind(element.value, values[i].value)
                else:
                    self.bind(element.value, None, kind)
        elif isinstance(target, cst.StarredElement):
            self.bind(target.value, None, kind)

    def bind_loop(self, target: cst.BaseExpression, iterable: cst.BaseExpression) -> None:
        if isinstance(iterable, cst.Call) and isinstance(iterable.func, cst.Name) and iterable.args:
            name = iterable.func.value
            if name == "range":
                self.bind(target, None, combine(*(self.kind(a.value) for a in iterable.args)))
                return
            if name == "enumerate" and isinstance(target, cst.Tuple) and len(target.elements) == 2:
                self.bind(target.elements[0].value, None, Kind.STATIC)
                self.bind(target.elements[1].value, None, self.kind(iterable.args[0].value))
                return
        self.bind(target, None, self.kind(iterable))

    def scalar_origin(self, expr: cst.CSTNode) -> cst.Call | None:
        """The `.item()`-like call a data-dependent scalar in ``expr`` comes from."""
        if isinstance(expr, cst.Name):
            return self.origins.get(expr.value)
        if isinstance(expr, cst.Call) and self._call_kind(expr) is Kind.SCALAR:
            func = expr.func
            if (isinstance(func, cst.Attribute) and func.attr.value in ITEM_METHODS) or (
                isinstance(func, cst.Name) and func.value in ITEM_BUILTINS
            ):
                return expr
        from rewrites.python_checker import child_nodes  # libcst's `.children` cost 40% of a scan

        for child in child_nodes(expr):
            found = self.scalar_origin(child)
            if found is not None:
                return found
        return None


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)


def parameter_kind(param: cst.Param) -> Kind:
    """Annotated parameters are what their annotation says; defaulted ones are settings."""
    annotation = None if param.annotation is None else _code(param.annotation.annotation)
    return annotation_kind(annotation, param.default is not None)


class EntryMethodRule(PythonRule):
    """Base for rules that look inside the methods `torch.export` traces."""

    tokens = ENTRY_TOKENS

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        self.values: ValueTracker | None = None

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if self.values is None and self.ctx.entry_method() is node:
            # one tracker a method, shared by these rules (five of them used to classify every
            # expression five times); the first rule to reach a binding binds it
            key = (ValueTracker, node)
            if key not in self.ctx.memo:
                self.ctx.memo[key] = ValueTracker(self.ctx, node)
            self.values = self.ctx.memo[key]

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        if self.values is not None and self.values.function is original_node:
            self.values = None

    def visit_Assign(self, node: cst.Assign) -> None:
        if self.values is not None and self.values.first(node):
            for target in node.targets:
                self.values.bind(target.target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if self.values is not None and node.value is not None and self.values.first(node):
            self.values.bind(node.target, node.value)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if self.values is not None and isinstance(node.target, cst.Name) and self.values.first(node):
            kind = combine(self.values.kind(node.target), self.values.kind(node.value))
            self.values.bind(node.target, None, kind)

    def visit_For(self, node: cst.For) -> None:
        if self.values is not None and self.values.first(node):
            self.values.bind_loop(node.target, node.iter)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        if self.values is not None and self.values.first(node):
            self.values.bind(node.target, node.value)
