from __future__ import annotations

import libcst as cst

from rewrites.model import FixSafety
from rewrites.rule import Invalid, Rule, Valid
from rewrites.rules._helpers import refines_entry_input


class JitIsinstance(Rule):
    """Flags `torch.jit.isinstance(value, T)`.

    ## What it does
    Reports TorchScript's container-aware `isinstance`, except on inputs of `forward` (MIG406).

    ## Why is this bad?
    It exists to refine types like `List[Tensor]` for the compiler. Strict export rejects it,
    and after migration a plain `isinstance` on the container type (plus element checks where
    they matter) says the same.

    ## Example
    ```python
    if torch.jit.isinstance(out, List[torch.Tensor]):
        ...
    ```

    Use instead:
    ```python
    if isinstance(out, list):
        ...
    ```

    ## Fix safety
    Unsafe: a plain `isinstance` does not check element types.
    """

    code = "MIG313"
    name = "jit-isinstance"
    message = (
        "`torch.jit.isinstance` is TorchScript type refinement: use `isinstance` on the "
        "container type (`list`, `dict`, `tuple`, `torch.Tensor`)"
    )
    fix_title = "Use the builtin `isinstance`"
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
            "import torch\nif torch.jit.isinstance(out, List[torch.Tensor]):\n    pass\n",
            line=2,
            column=4,
            expected="if isinstance(out, list):\n    pass\n",
        ),
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
            kind = _runtime_type(call.args[1].value)
            if kind is not None:
                builtin = call.with_changes(
                    func=cst.Name("isinstance"), args=[call.args[0], call.args[1].with_changes(value=kind)]
                )
                edit = self.edit({call: builtin}, dropped=[node])
        self.report(call, edit=edit)


_CONTAINERS = {
    "List": "list",
    "Dict": "dict",
    "Tuple": "tuple",
    "list": "list",
    "dict": "dict",
    "tuple": "tuple",
}


def _runtime_type(annotation: cst.BaseExpression) -> cst.BaseExpression | None:
    """The class a plain isinstance checks for ``List[int]``, ``torch.Tensor``; None for Optional
    and other typing forms it cannot check."""
    if isinstance(annotation, cst.Subscript):
        head = annotation.value
        name = head.attr.value if isinstance(head, cst.Attribute) else getattr(head, "value", "")
        return cst.Name(_CONTAINERS[name]) if name in _CONTAINERS else None
    if isinstance(annotation, (cst.Name, cst.Attribute)):
        name = annotation.attr.value if isinstance(annotation, cst.Attribute) else annotation.value
        return None if name in {"Optional", "Union", "Any"} else annotation
    return None
