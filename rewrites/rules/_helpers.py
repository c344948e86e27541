"""Small questions rules ask about where a reference sits."""

from __future__ import annotations

import libcst as cst

from rewrites.names import subtree
from rewrites.python_checker import FileContext


def enclosing_call(ctx: FileContext) -> cst.Call | None:
    """The call whose function is the node being visited (``torch.jit.script`` in ``...(m)``)."""
    node, parent = ctx.stack[-1], ctx.parent()
    if isinstance(parent, cst.Call) and parent.func is node:
        return parent
    return None


def enclosing_decorator(ctx: FileContext) -> cst.Decorator | None:
    """The decorator the node being visited is, bare (``@f``) or called (``@f(...)``)."""
    node, parent = ctx.stack[-1], ctx.parent()
    if isinstance(parent, cst.Decorator):
        return parent
    if isinstance(parent, cst.Call) and parent.func is node and len(ctx.stack) > 2:
        grandparent = ctx.stack[-3]
        if isinstance(grandparent, cst.Decorator):
            return grandparent
    return None


def is_self_attribute(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == "self"


def is_submodule_assignment(ctx: FileContext) -> bool:
    """``self.sub = <call>`` where the node being visited is the called function."""
    call = enclosing_call(ctx)
    if call is None or len(ctx.stack) < 3:
        return False
    statement = ctx.stack[-3]
    if isinstance(statement, cst.Assign) and statement.value is call:
        return all(is_self_attribute(t.target) for t in statement.targets)
    if isinstance(statement, cst.AnnAssign) and statement.value is call:
        return is_self_attribute(statement.target)
    return False


def method_call(node: cst.Call, methods: frozenset[str]) -> bool:
    """``<anything>.<method>(...)`` for a method in ``methods``."""
    return isinstance(node.func, cst.Attribute) and node.func.attr.value in methods


def entry_parameters(function: cst.FunctionDef) -> set[str]:
    params = function.params
    names = [p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)]
    return {name for name in names if name != "self"}


def refines_entry_input(ctx: FileContext, call: cst.Call) -> bool:
    """``torch.jit.isinstance(x, T)`` where ``x`` is an input of the exported method."""
    entry = ctx.entry_method()
    if entry is None or not call.args:
        return False
    subject = call.args[0].value
    return isinstance(subject, cst.Name) and subject.value in entry_parameters(entry)


def names_in(node: cst.CSTNode) -> list[cst.Name]:
    """Every ``Name`` below ``node``, in source order."""
    return [n for n in subtree(node) if isinstance(n, cst.Name)]
