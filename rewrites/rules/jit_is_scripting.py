from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.names import subtree
from rewrites.python_checker import Edit, PythonRule
from rewrites.rules._fixes import dotted_expression, keep_branch
from rewrites.rules._helpers import is_self_attribute


class JitIsScripting(PythonRule):
    """Flags `torch.jit.is_scripting()`.

    ## What it does
    Reports `torch.jit.is_scripting()`, usually a branch between TorchScript-friendly and
    plain-Python code.

    ## Why is this bad?
    Under `torch.export` it is always `False`, so the scripted branch is dead code after
    migration. If that branch existed because the Python branch cannot be compiled, check
    that it can be exported; where export needs its own path, branch on
    `torch.compiler.is_exporting()`.

    ## Example
    ```python
    if torch.jit.is_scripting():
        return self.forward_scripted(x)
    return self.forward_eager(x)
    ```

    Use instead:
    ```python
    return self.forward_eager(x)
    ```

    ## Fix safety
    Safe: the fix keeps exactly the branch that runs in eager mode. Where the eager-only branch
    calls `@torch.jit.ignore`/`@torch.jit.unused` methods or turns tensors into Python numbers
    (code kept out of the scripted model on purpose), the check becomes
    `torch.compiler.is_exporting()` instead, so the exported program, like the scripted one,
    skips it while eager runs are unchanged.
    """

    code = "MIG310"
    name = "jit-is-scripting"
    message = (
        "`torch.jit.is_scripting()` is always False after migration: keep the non-scripting "
        "branch (branch on `torch.compiler.is_exporting()` if export needs its own path)"
    )
    fix_title = "Keep the non-scripting branch"
    fix_safety = FixSafety.SAFE
    names = frozenset({"torch.jit.is_scripting"})

    VALID = [Valid("import torch\nif torch.compiler.is_exporting():\n    pass\n")]
    INVALID = [
        Invalid(
            "import torch\n# pick the path\nif torch.jit.is_scripting():\n    y = 1\nelse:\n    y = 2  # eager\nprint(y)\n",
            line=3,
            column=4,
            expected="# pick the path\ny = 2  # eager\nprint(y)\n",
        ),
        Invalid(
            "import torch\nif not torch.jit.is_scripting() and self.grad_checkpointing:\n    x = ckpt(x)\n",
            expected="if self.grad_checkpointing:\n    x = ckpt(x)\n",
        ),
        Invalid(
            "import torch\nif torch.jit.is_scripting() or not flag:\n    a()\nelse:\n    b()\n",
            expected="if not flag:\n    a()\nelse:\n    b()\n",
        ),
        Invalid(
            "import torch\ndef f(x):\n    if torch.jit.is_scripting():\n        return x\n    elif x.ndim == 2:\n        return x.t()\n    return x\n",
            expected="def f(x):\n    if x.ndim == 2:\n        return x.t()\n    return x\n",
        ),
        Invalid(
            "import torch\ndef f(x):\n    if torch.jit.is_scripting():\n        return x\n",
            expected="def f(x):\n    pass\n",
        ),
        # a condition over several lines keeps its parentheses, and the comment on its last line
        Invalid(
            "import torch\ndef f(x, a, b):\n    if (\n        a\n        and b  # why\n"
            "        # scripting is slow here\n        and not torch.jit.is_scripting()\n    ):\n"
            "        return x\n    return -x\n",
            expected="def f(x, a, b):\n    if (\n        a\n        and b  # why\n    ):\n        return x\n    return -x\n",
        ),
        Invalid(
            "import torch\nclass M(torch.nn.Module):\n    @torch.jit.ignore\n    def stats(self, x):\n        return float(x.mean())\n"
            "    def forward(self, x):\n        if not torch.jit.is_scripting():\n            self.last = self.stats(x)\n        return x\n",
            expected="import torch\nclass M(torch.nn.Module):\n    @torch.jit.ignore\n    def stats(self, x):\n        return float(x.mean())\n    def forward(self, x):\n        if not torch.compiler.is_exporting():\n            self.last = self.stats(x)\n        return x\n",
        ),
        Invalid(
            "import torch\ny = a if torch.jit.is_scripting() else b\nz = torch.jit.is_scripting()\n",
            count=2,
            expected="y = b\nz = False\n",
        ),
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        call = self.ctx.parent()
        if not isinstance(call, cst.Call) or call.func is not node or call.args:
            self.report(node)
            return
        self.report(call, edit=self._fix(call, node))

    def _fix(self, call: cst.Call, reference: cst.CSTNode) -> Edit:
        """The call is False: fold the condition around it, and keep the branch that runs."""
        test: cst.BaseExpression = call
        owner: cst.CSTNode | None = None
        for node in self.ctx.ancestors():
            if node is call:
                continue
            if isinstance(node, (cst.BooleanOperation, cst.UnaryOperation)):
                test = node
                continue
            if isinstance(node, (cst.If, cst.IfExp)) and node.test is test:
                owner = node
            break
        folded = fold(test, call)
        if isinstance(owner, cst.If) and isinstance(folded, bool) and fold(test, call, True) is (not folded):
            eager_only = owner.body if folded else owner.orelse
            if eager_only is not None and self._kept_out_of_scripting(eager_only):
                # Code the scripted (mobile) model never ran: keep it out of the export too.
                exporting = cst.Call(dotted_expression("torch.compiler.is_exporting"))
                return self.edit({call: exporting}, add_imports=[("torch", None)], dropped=[reference])
        if isinstance(owner, cst.IfExp):
            kept = owner.body if folded is True else owner.orelse if folded is False else None
            if kept is not None:
                return self.edit({owner: kept}, dropped=[reference])
            return self.edit({test: folded}, dropped=[reference])  # type: ignore[dict-item]
        if isinstance(owner, cst.If):
            if isinstance(folded, bool):
                return keep_branch(self, owner, folded, reference)
            return self.edit({test: folded}, dropped=[reference])
        return self.edit({call: cst.Name("False")}, dropped=[reference])

    def _kept_out_of_scripting(self, branch: cst.CSTNode) -> bool:
        """Does this branch call `@torch.jit.ignore`/`unused` methods of the class, or turn
        tensors into Python numbers? Then it was written to stay out of the compiled model."""
        ignored = set()
        owner = next((n for n in self.ctx.ancestors() if isinstance(n, cst.ClassDef)), None)
        if owner is not None:
            for statement in owner.body.body:
                if isinstance(statement, cst.FunctionDef) and any(
                    self.ctx.resolve(d.decorator.func if isinstance(d.decorator, cst.Call) else d.decorator)
                    in {"torch.jit.ignore", "torch.jit.unused"}
                    for d in statement.decorators
                ):
                    ignored.add(statement.name.value)
        for node in subtree(branch):
            if not isinstance(node, cst.Call):
                continue
            func = node.func
            if isinstance(func, cst.Attribute):
                if is_self_attribute(func) and func.attr.value in ignored:
                    return True
                if func.attr.value in _EAGER_ONLY_METHODS:
                    return True
            elif (
                isinstance(func, cst.Name)
                and func.value in _EAGER_ONLY_BUILTINS
                and self.ctx.is_builtin(func, func.value)
            ):
                return True
        return False


_EAGER_ONLY_METHODS = frozenset({"item", "tolist", "numpy"})
_EAGER_ONLY_BUILTINS = frozenset({"float", "int", "bool"})


def fold(expr: cst.BaseExpression, call: cst.Call, value: bool = False) -> cst.BaseExpression | bool:
    """``expr`` with ``call`` taken as ``value``, simplified as far as truthiness allows. An
    operand that stands for a parenthesised whole keeps its parentheses: the whole may span
    lines only inside them."""
    folded = _fold(expr, call, value)
    if isinstance(folded, bool) or folded is expr or not expr.lpar or folded.lpar:
        return folded
    rpar = list(expr.rpar)
    if isinstance(expr, cst.BooleanOperation) and folded is expr.left:
        # the comment ending the kept operand's line sat before the dropped operator
        before, closing = expr.operator.whitespace_before, rpar[-1].whitespace_before
        if (
            isinstance(before, cst.ParenthesizedWhitespace)
            and before.first_line.comment is not None
            and isinstance(closing, cst.ParenthesizedWhitespace)
            and closing.first_line.comment is None
        ):
            rpar[-1] = rpar[-1].with_changes(
                whitespace_before=closing.with_changes(first_line=before.first_line)
            )
    return folded.with_changes(lpar=expr.lpar, rpar=rpar)


def _fold(expr: cst.BaseExpression, call: cst.Call, value: bool) -> cst.BaseExpression | bool:
    if expr is call:
        return value
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Not):
        inner = fold(expr.expression, call, value)
        return (not inner) if isinstance(inner, bool) else expr.with_changes(expression=inner)
    if isinstance(expr, cst.BooleanOperation):
        left, right = fold(expr.left, call, value), fold(expr.right, call, value)
        absorbing = isinstance(expr.operator, cst.Or)  # True absorbs `or`, False absorbs `and`
        if left is absorbing:
            return absorbing
        if left is (not absorbing):
            return right
        if right is (not absorbing):
            return left
        if isinstance(right, bool) and _pure(expr.left):
            return absorbing
        if left is expr.left and right is expr.right:
            return expr
        return expr.with_changes(
            left=left if not isinstance(left, bool) else cst.Name(str(left)),
            right=right if not isinstance(right, bool) else cst.Name(str(right)),
        )
    return expr


def _pure(expr: cst.BaseExpression) -> bool:
    """Names and attribute chains: dropping their evaluation changes nothing."""
    return isinstance(expr, cst.Name) or (isinstance(expr, cst.Attribute) and _pure(expr.value))
