from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.names import dotted
from rewrites.python_checker import FileContext, PythonRule
from rewrites.rules._helpers import refines_entry_input


class JitIsinstance(PythonRule):
    """Flags `torch.jit.isinstance(value, T)`.

    ## What it does
    Reports TorchScript's container-aware `isinstance`, except on inputs of `forward` (MIG406).

    ## Why is this bad?
    It exists to refine types like `List[Tensor]` for the compiler. After migration nothing
    compiles the code, and a plain `isinstance` cannot take a subscripted type (`List[int]`
    raises `TypeError: Subscripted generics cannot be used with class and instance checks`), so
    the check is spelled out: the container type, then each element.

    ## Example
    ```python
    if torch.jit.isinstance(out, Tuple[torch.Tensor, Optional[torch.Tensor]]):
        ...
    ```

    Use instead:
    ```python
    if isinstance(out, tuple) and len(out) == 2 and isinstance(out[0], torch.Tensor) and (out[1] is None or isinstance(out[1], torch.Tensor)):
        ...
    ```

    ## Fix safety
    Unsafe: the check written out computes what `torch.jit.isinstance` computes in eager mode
    (without its warning on empty containers), but code that is still compiled with
    `torch.jit.script` cannot contain the generator expressions it uses. The fix is offered only
    when the value is a plain name or attribute and every type in `T` is a builtin, an imported
    class or one of `List`, `Dict`, `Tuple`, `Optional`, `Union`; otherwise the finding is kept
    and `torch.jit.isinstance` (which runs in eager mode and under `torch.export`) is left.
    """

    code = "MIG313"
    name = "jit-isinstance"
    message = (
        "`torch.jit.isinstance` is TorchScript type refinement: check the container with "
        "`isinstance` (`list`, `dict`, `tuple`, `torch.Tensor`) and then its elements"
    )
    fix_title = "Spell the check out with the builtin `isinstance`"
    fix_safety = FixSafety.UNSAFE
    names = frozenset({"torch.jit.isinstance", "torch.jit._isinstance"})

    VALID = [
        Valid("import torch\nif isinstance(out, list):\n    pass\n"),
        Valid(
            "import torch\nclass M(torch.nn.Module):\n    def forward(self, x):\n"
            "        if torch.jit.isinstance(x, List[torch.Tensor]):\n            return x[0]\n        return x\n"
        ),
    ]
    INVALID = [
        Invalid(
            "import torch\nfrom typing import List\nout = [torch.ones(1), 2]\n"
            "ok = torch.jit.isinstance(out, List[torch.Tensor])\n",
            line=4,
            column=6,
            expected="import torch\nfrom typing import List\nout = [torch.ones(1), 2]\n"
            "ok = isinstance(out, list) and all(isinstance(_e0, torch.Tensor) for _e0 in out)\n",
        ),
        Invalid(
            "import torch\nfrom typing import Optional, Tuple\nfrom torch import Tensor\n"
            "v = (torch.ones(1), torch.ones(2), None, torch.ones(3))\n"
            "ok = torch.jit.isinstance(v, Tuple[Tensor, Tensor, Optional[Tensor], Optional[Tensor]])\n",
            expected="import torch\nfrom typing import Optional, Tuple\nfrom torch import Tensor\n"
            "v = (torch.ones(1), torch.ones(2), None, torch.ones(3))\n"
            "ok = isinstance(v, tuple) and len(v) == 4 and isinstance(v[0], Tensor) and "
            "isinstance(v[1], Tensor) and (v[2] is None or isinstance(v[2], Tensor)) and "
            "(v[3] is None or isinstance(v[3], Tensor))\n",
        ),
        Invalid(
            "import torch\nfrom typing import Dict, List\nd = {'a': [1, 2], 'b': []}\n"
            "if not torch.jit.isinstance(d, Dict[str, List[int]]):\n    d = {}\n",
            expected="from typing import Dict, List\nd = {'a': [1, 2], 'b': []}\n"
            "if not (isinstance(d, dict) and all(isinstance(_k0, str) and (isinstance(_e0, list) and "
            "all(isinstance(_e1, int) for _e1 in _e0)) for _k0, _e0 in d.items())):\n    d = {}\n",
        ),
        Invalid(  # typing spreads a union out of a union: `List[int]` is the third type, not lost
            "import torch\nfrom typing import List, Optional, Union\nv = []\n"
            "ok = torch.jit.isinstance(v, Optional[Union[Optional[int], List[int]]])\n",
            expected="from typing import List, Optional, Union\nv = []\n"
            "ok = v is None or isinstance(v, int) or (isinstance(v, list) and all(isinstance(_e0, int) for _e0 in v))\n",
        ),
        Invalid(
            "import torch\nx = 3\nok = torch.jit.isinstance(x, int)\n",
            expected="x = 3\nok = isinstance(x, int)\n",
        ),
        # a type the fix cannot spell out (a local alias): reported, left as it is
        Invalid("import torch\nPair = Tuple[int, int]\nok = torch.jit.isinstance(v, Pair)\n"),
        Invalid("import torch\nok = torch.jit.isinstance(f(), List[int])\n"),
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        call = self.ctx.parent()
        if not isinstance(call, cst.Call) or call.func is not node:
            self.report(node)
            return
        if refines_entry_input(self.ctx, call):
            return
        edit = None
        if len(call.args) == 2 and not any(a.keyword or a.star for a in call.args):
            check = spelled_check(self.ctx, call.args[0].value, call.args[1].value)
            if check is not None:
                parent = self.ctx.stack[-3] if len(self.ctx.stack) > 2 else None
                if " " in check and not isinstance(parent, _NO_PARENTHESES):
                    check = f"({check})"
                edit = self.edit({call: cst.parse_expression(check)}, dropped=[node])
        self.report(call, edit=edit)


# Where a boolean expression needs no parentheses of its own.
_NO_PARENTHESES = (cst.If, cst.While, cst.Assign, cst.AnnAssign, cst.Return, cst.Arg, cst.Assert)
_BUILTINS = frozenset({"int", "float", "str", "bool", "bytes", "complex", "list", "dict", "tuple", "set"})
_CONTAINERS = {
    "List": "list",
    "Dict": "dict",
    "Tuple": "tuple",
    "list": "list",
    "dict": "dict",
    "tuple": "tuple",
}
_UNIONS = frozenset({"Optional", "Union"})


class _Unsupported(Exception):
    pass


def spelled_check(
    ctx: FileContext, subject: cst.BaseExpression, annotation: cst.BaseExpression
) -> str | None:
    """``torch.jit.isinstance(subject, annotation)`` as plain Python that computes the same
    result in eager mode, or None when that cannot be written safely."""
    value = dotted(subject)
    if value is None:
        return None  # a call or a subscript would be evaluated once per element check
    empty = cst.Module([])
    if any(n in empty.code_for_node(annotation) for n in ("_e", "_k")):
        return None
    try:
        return _check(ctx, value, annotation, 0)
    except _Unsupported:
        return None


def _typing_name(ctx: FileContext, node: cst.BaseExpression) -> str | None:
    """``List`` for ``List``/``typing.List``/``t.List``; builtin ``list`` for ``list``."""
    if isinstance(node, cst.Name) and node.value in _CONTAINERS and node.value.islower():
        return node.value if not ctx.imports.is_bound(node.value) else None
    name = ctx.resolve(node)
    if name is not None and name.startswith("typing."):
        return name[len("typing.") :]
    return None


def _leaf(ctx: FileContext, node: cst.BaseExpression) -> str:
    """A class a plain ``isinstance`` takes: a builtin, or a name imported from a module."""
    if isinstance(node, cst.Name) and node.value in _BUILTINS and not ctx.imports.is_bound(node.value):
        return node.value
    name = ctx.resolve(node)
    if name is None or name.startswith(("typing.", "typing_extensions.", "collections.")):
        raise _Unsupported
    code = dotted(node)
    if code is None:
        raise _Unsupported
    return code


def _elements(node: cst.Subscript) -> list[cst.BaseExpression]:
    values = []
    for element in node.slice:
        if not isinstance(element.slice, cst.Index) or element.slice.star is not None:
            raise _Unsupported
        values.append(element.slice.value)
    if len(values) == 1 and isinstance(values[0], cst.Tuple):
        raise _Unsupported  # Tuple[()] and friends
    if any(isinstance(v, cst.Ellipsis) for v in values):
        raise _Unsupported  # Tuple[T, ...]: torch.jit.isinstance itself raises on it
    return values


def _check(ctx: FileContext, value: str, annotation: cst.BaseExpression, depth: int) -> str:
    """Mirrors ``torch._jit_internal.container_checker`` for one value."""
    if isinstance(annotation, cst.Subscript):
        kind = _typing_name(ctx, annotation.value)
        args = _elements(annotation)
        if kind in _CONTAINERS:
            origin = _CONTAINERS[kind]
            if origin == "list" and len(args) == 1:
                item = f"_e{depth}"
                inner = _check(ctx, item, args[0], depth + 1)
                return f"isinstance({value}, list) and all({_grouped(inner)} for {item} in {value})"
            if origin == "dict" and len(args) == 2:
                key, item = f"_k{depth}", f"_e{depth}"
                inner = f"isinstance({key}, {_leaf(ctx, args[0])}) and {_grouped(_check(ctx, item, args[1], depth + 1))}"
                return f"isinstance({value}, dict) and all({inner} for {key}, {item} in {value}.items())"
            if origin == "tuple" and args:
                parts = [f"isinstance({value}, tuple)", f"len({value}) == {len(args)}"]
                parts += [_grouped(_check(ctx, f"{value}[{i}]", arg, depth)) for i, arg in enumerate(args)]
                return " and ".join(parts)
            raise _Unsupported
        if kind in _UNIONS:
            members = _members(ctx, kind, args)
            if len(members) == 1:  # typing makes a union of one type that type
                if _is_none(members[0]):
                    raise _Unsupported
                return _check(ctx, value, members[0], depth)
            options = [f"{value} is None"]
            for member in members:
                if _is_none(member):
                    continue
                if isinstance(member, cst.Subscript):
                    # torch returns the first nested container's verdict without trying the rest
                    options.append(_grouped(_check(ctx, value, member, depth)))
                    break
                options.append(f"isinstance({value}, {_leaf(ctx, member)})")
            return " or ".join(options)
        raise _Unsupported
    if isinstance(annotation, cst.Tuple):
        raise _Unsupported
    return f"isinstance({value}, {_leaf(ctx, annotation)})"


def _members(ctx: FileContext, kind: str, args: list[cst.BaseExpression]) -> list[cst.BaseExpression]:
    """The types typing makes of ``Union[args]`` (``Optional[arg]``), in order: nested unions
    spread out and each type once, as ``typing.get_args`` gives them.
    ``Optional[Union[Optional[int], List[int]]]`` is ``int, None, List[int]``."""
    if kind == "Optional":
        if len(args) != 1:
            raise _Unsupported
        args = [args[0], cst.Name("None")]
    found: dict[str, cst.BaseExpression] = {}
    for arg in args:
        inner = _typing_name(ctx, arg.value) if isinstance(arg, cst.Subscript) else None
        for member in _members(ctx, inner, _elements(arg)) if inner in _UNIONS else [arg]:  # type: ignore[arg-type]
            found.setdefault(_key(ctx, member), member)
    return list(found.values())


def _key(ctx: FileContext, node: cst.BaseExpression) -> str:
    """What a type is, whatever its spelling (``Tensor`` and ``torch.Tensor`` are one type, as
    typing's union sees them); a union's types in any order are one union."""
    if _is_none(node):
        return "None"
    if isinstance(node, cst.Subscript):
        kind = _typing_name(ctx, node.value)
        if kind in _UNIONS:
            keys = sorted({_key(ctx, m) for m in _members(ctx, kind, _elements(node))})
            return keys[0] if len(keys) == 1 else f"Union[{', '.join(keys)}]"
        if kind is None:
            raise _Unsupported
        return f"{kind}[{', '.join(_key(ctx, e) for e in _elements(node))}]"
    return (
        _leaf(ctx, node)
        if isinstance(node, cst.Name) and node.value in _BUILTINS
        else ctx.resolve(node) or _leaf(ctx, node)
    )


def _is_none(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


def _grouped(check: str) -> str:
    return f"({check})" if " and " in check or " or " in check else check
