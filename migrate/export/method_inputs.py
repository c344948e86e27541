"""Example inputs for a model's method, read from the project's own calls of it.

`migrate export --method step` looks for a call ``X.step(frame, state)`` in the project and
rebuilds its arguments without running the calling script: each argument must be a literal, or
a name whose last assignment before the call (in the same function) is one of

- ``torch.randn / rand / zeros / ones / full / randint / tensor`` with literal arguments,
- a call of one of the model's own methods (``scripted.init_state(1)``, run on the eager model;
  not nn.Module's: ``train``, ``to``, ... could change it),
- a call of an ``example_inputs()``-style function of the factory's module (already imported),
- a subscript or tuple unpacking of one of these, or another such name.

Anything else (a function of the script, a file read, a loop variable) makes that call site
unusable; nothing but torch's creators and the already-imported model runs.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rewrites.project import EXAMPLE_FUNCTIONS, CallSite

_CREATORS = {"randn", "rand", "zeros", "ones", "full", "randint", "tensor"}
_DEPTH = 8


class _Unknown(Exception):
    """An expression this module will not evaluate."""


def inputs_from_calls(
    folder: Path, sites: Iterable[CallSite], method: str, model: Any, module: Any
) -> tuple[tuple[Any, ...], str] | None:
    """The arguments of the first call site whose arguments can be rebuilt, and where it is
    (``export.py:15``); None when no call site can be."""
    for site in sorted(sites, key=lambda s: (s.path, s.line)):
        path = folder / site.path
        try:
            tree = ast.parse(path.read_text(errors="replace"))
        except (OSError, SyntaxError, ValueError):
            continue
        for call, scope in _calls_at(tree, site.line, method):
            try:
                evaluator = _Evaluator(scope, model, module)
                args = tuple(evaluator.value(a, call.lineno, 0) for a in call.args)
            except _Unknown:
                continue
            except Exception:  # torch or the model refused the rebuilt arguments
                continue
            if call.keywords:
                continue
            return args, f"{site.path}:{site.line}"
    return None


def _calls_at(tree: ast.Module, line: int, method: str) -> list[tuple[ast.Call, ast.AST]]:
    """Calls ``<x>.<method>(...)`` on ``line``, each with the function (or module) holding it."""
    found: list[tuple[ast.Call, ast.AST]] = []

    def visit(node: ast.AST, scope: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            inner = child if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else scope
            if (
                isinstance(child, ast.Call)
                and child.lineno == line
                and isinstance(child.func, ast.Attribute)
                and child.func.attr == method
            ):
                found.append((child, scope))
            visit(child, inner)

    visit(tree, tree)
    return found


class _Evaluator:
    def __init__(self, scope: ast.AST, model: Any, module: Any) -> None:
        self.scope = scope
        self.model = model
        self.module = module

    def value(self, node: ast.expr, before: int, depth: int) -> Any:
        import torch

        if depth > _DEPTH:
            raise _Unknown
        if isinstance(node, (ast.Constant, ast.UnaryOp)):
            try:
                return ast.literal_eval(node)
            except ValueError:
                raise _Unknown from None
        if isinstance(node, (ast.Tuple, ast.List)):
            return tuple(self.value(e, before, depth + 1) for e in node.elts)
        if isinstance(node, ast.Name):
            return self._name(node.id, before, depth + 1)
        if isinstance(node, ast.Subscript):
            index = self.value(node.slice, before, depth + 1)
            if not isinstance(index, int):
                raise _Unknown
            return self.value(node.value, before, depth + 1)[index]
        if isinstance(node, ast.Attribute) and _is_torch(node.value):
            dtype = getattr(torch, node.attr, None)
            if isinstance(dtype, torch.dtype):
                return dtype
            raise _Unknown
        if isinstance(node, ast.Call):
            args = [self.value(a, before, depth + 1) for a in node.args]
            kwargs = {
                k.arg: self.value(k.value, before, depth + 1) for k in node.keywords if k.arg is not None
            }
            if len(kwargs) != len(node.keywords):
                raise _Unknown
            return self._call(node.func)(*args, **kwargs)
        raise _Unknown

    def _call(self, func: ast.expr) -> Any:
        import torch

        if isinstance(func, ast.Attribute) and _is_torch(func.value):
            if func.attr not in _CREATORS:
                raise _Unknown
            return getattr(torch, func.attr)
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            method = getattr(self.model, func.attr, None)
            if func.attr.startswith("_") or hasattr(torch.nn.Module, func.attr) or not callable(method):
                raise _Unknown  # nn.Module's own (train, to, load_state_dict, ...) may change the model
            return method  # a call of the model's own method, on the eager model
        if isinstance(func, ast.Name) and func.id in EXAMPLE_FUNCTIONS:
            function = getattr(self.module, func.id, None)
            if callable(function):
                return function
        raise _Unknown

    def _name(self, name: str, before: int, depth: int) -> Any:
        """The value of the last assignment to ``name`` before line ``before`` in the scope."""
        best: tuple[int, ast.Assign, int | None] | None = None
        for node in _own_nodes(self.scope):
            if not isinstance(node, ast.Assign) or node.lineno >= before or len(node.targets) != 1:
                continue
            target = node.targets[0]
            if isinstance(target, ast.Name) and target.id == name:
                position: int | None = None
            elif isinstance(target, ast.Tuple) and any(
                isinstance(e, ast.Name) and e.id == name for e in target.elts
            ):
                position = next(
                    i for i, e in enumerate(target.elts) if isinstance(e, ast.Name) and e.id == name
                )
            else:
                continue
            if best is None or node.lineno > best[0]:
                best = (node.lineno, node, position)
        if best is None:
            raise _Unknown
        line, assign, position = best
        value = self.value(assign.value, line, depth)
        return value if position is None else tuple(value)[position]


def _own_nodes(scope: ast.AST) -> Iterable[ast.AST]:
    """The nodes of ``scope``, not those of the functions, classes or lambdas inside it."""
    for child in ast.iter_child_nodes(scope):
        if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            yield child
            yield from _own_nodes(child)


def _is_torch(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id == "torch"
