from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.python_checker import Edit
from rewrites.rules._helpers import names_in
from rewrites.rules._values import ITEM_BUILTINS, ITEM_METHODS, EntryMethodRule

_MODEL = "import torch\nclass M(torch.nn.Module):\n    def forward(self, x, lengths):\n"
# run before and after the fix by tests/test_fix_semantics.py
_CALL = "out = M()(torch.arange(8.0).reshape(4, 2), torch.tensor([1, 3]))\n"
_SHAPE_METHODS = frozenset(
    {
        "view",
        "reshape",
        "expand",
        "narrow",
        "repeat",
        "new_zeros",
        "new_ones",
        "new_empty",
        "new_full",
        "split",
        "topk",
        "unflatten",
        "zeros",
        "ones",
        "empty",
        "full",
        "arange",
        "randn",
        "rand",
        "tile",
    }
)


class DataDependentScalar(EntryMethodRule):
    """Flags `.item()`, `.tolist()`, `int(t)` whose value sizes a slice, a shape or a loop.

    ## What it does
    Reports Python numbers taken from tensor values in `forward` (`k = n.item()`) that are
    then used to slice or index (`x[:k]`), to size a tensor (`x.view(k, -1)`,
    `torch.zeros(k)`) or as a loop bound (`range(k)`).

    ## Why is this bad?
    Export turns `k` into an unbacked symbol. Slicing with it exports, but `to_edge` then fails
    unless the bounds are declared right after `k` is read: `torch._check(k <= x.shape[0])`,
    and `torch._check(k >= 1)` (with only `k >= 0`, a reduction over the sliced dimension still
    failed to lower here, on the guard `k < 1`). A loop bounded by `k` cannot be exported at all.

    ## Example
    ```python
    k = lengths.max().item()
    return x[:k]
    ```

    Use instead:
    ```python
    k = lengths.max().item()
    torch._check(k >= 1)
    torch._check(k <= x.shape[0])
    return x[:k]
    ```

    ## Fix safety
    Unsafe: `torch._check` states a fact about your data (here: at least one element is
    kept); if it is false at run time the program fails.
    """

    code = "MIG404"
    name = "data-dependent-scalar"
    message = (
        "a number read from tensor data sizes a slice/shape/loop: export needs its bounds, add "
        "`torch._check(k >= 1)` and `torch._check(k <= x.shape[d])` after reading it"
    )
    fix_title = "Add `torch._check` bounds"
    fix_safety = FixSafety.UNSAFE

    VALID = [
        Valid(_MODEL + "        total = x.sum().item()\n        return x * 2, total\n"),
        Valid(_MODEL + "        k = x.shape[0] // 2\n        return x[:k]\n"),
    ]
    INVALID = [
        Invalid(
            _MODEL + "        k = lengths.max().item()\n        return x[:k]\n" + _CALL,
            line=4,
            column=13,
            expected="import torch\nclass M(torch.nn.Module):\n    def forward(self, x, lengths):\n        k = lengths.max().item()\n        torch._check(k >= 1)\n        torch._check(k <= x.shape[0])\n        return x[:k]\n"
            + _CALL,
        ),
        Invalid(_MODEL + "        return x[: int(lengths[0])]\n", line=4, column=20),
        Invalid(_MODEL + "        n = lengths.sum().item()\n        return x.view(n, -1)\n", line=4),
        Invalid(
            _MODEL
            + "        n = int(lengths.max())\n        for i in range(n):\n            x = x + 1\n        return x\n"
        ),
    ]

    def __init__(self, ctx: object) -> None:
        super().__init__(ctx)  # type: ignore[arg-type]
        self._reported: set[cst.Call] = set()
        self._checked: set[str] = set()  # names whose bounds a `torch._check` already states
        self._reads_scalars = False

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        super().visit_FunctionDef(node)
        if self.values is not None and self.values.function is node:
            # Scalars come only from `.item()`-like calls: without one, nothing here can report,
            # and tracing each subscript's origins (a walk of its subtree) is skipped.
            self._reads_scalars = _reads_scalars(node)

    def visit_Subscript(self, node: cst.Subscript) -> None:
        for dim, element in enumerate(node.slice):
            self._check(element, node.value, dim)

    def visit_Call(self, node: cst.Call) -> None:
        if self.ctx.resolve(node.func) in {"torch._check", "torch._check_is_size"}:
            self._checked.update(n.value for n in names_in(node))
            return
        func = node.func
        sized = (isinstance(func, cst.Name) and func.value == "range") or (
            isinstance(func, cst.Attribute) and func.attr.value in _SHAPE_METHODS
        )
        if sized:
            for arg in node.args:
                self._check(arg)

    def _check(self, node: cst.CSTNode, sliced: cst.BaseExpression | None = None, dim: int = 0) -> None:
        if self.values is None or not self._reads_scalars:
            return
        origin = self.values.scalar_origin(node)
        bounded = any(
            self.values.origins.get(n.value) is origin and n.value in self._checked for n in names_in(node)
        )
        if origin is not None and origin not in self._reported and not bounded:
            self._reported.add(origin)
            self.report(origin, edit=self._bounds(node, origin, sliced, dim))

    def _bounds(
        self, node: cst.CSTNode, origin: cst.Call, sliced: cst.BaseExpression | None, dim: int
    ) -> Edit | None:
        """`torch._check(k >= 1)` and `torch._check(k <= x.shape[d])` after the line that reads `k`,
        when `k` is a name and `x` was already bound on that line (so the check can read it)."""
        assert self.values is not None
        names = [n.value for n in names_in(node) if self.values.origins.get(n.value) is origin]
        if not names or not isinstance(sliced, cst.Name):
            return None
        scalar = names[0]
        if sliced.value == scalar or sliced.value not in self.values.bound_at_origin.get(scalar, ()):
            return None
        line = self.values.origin_lines[scalar]
        checks = [
            cst.parse_statement(f"torch._check({scalar} >= 1)\n"),
            cst.parse_statement(f"torch._check({scalar} <= {sliced.value}.shape[{dim}])\n"),
        ]
        return self.edit({line: cst.FlattenSentinel([line, *checks])}, add_imports=[("torch", None)])


def _reads_scalars(function: cst.FunctionDef) -> bool:
    """Whether ``function`` calls ``.item()``/``.tolist()`` or ``int``/``float``/``bool``."""
    from rewrites.python_checker import child_nodes

    stack: list[cst.CSTNode] = [function]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Call):
            func = node.func
            if (isinstance(func, cst.Attribute) and func.attr.value in ITEM_METHODS) or (
                isinstance(func, cst.Name) and func.value in ITEM_BUILTINS
            ):
                return True
        stack.extend(child_nodes(node))
    return False
