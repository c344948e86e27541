from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.names import subtree
from rewrites.python_checker import Edit, Replacement
from rewrites.rules._helpers import names_in
from rewrites.rules._values import EntryMethodRule, Kind

_MODEL = "import torch\nclass M(torch.nn.Module):\n    def forward(self, x, n: int = 2):\n"
# Examples that call the model run before and after the fix (tests/test_fix_semantics.py).
_CALL = "out = M()(torch.tensor([1.0, -3.0]))\n"
_ZEROS = "out = M()(torch.zeros(2))\n"


class TensorCondition(EntryMethodRule):
    """Flags `if`, conditional expressions and `assert` on tensor values in `forward`.

    ## What it does
    Reports branches whose condition depends on the *values* of tensors (or on Python numbers
    taken from them with `.item()`, `int(t)` ...) inside `forward` or an `@torch.jit.export`
    method. Conditions on shapes, `None` checks and module flags are fine and not reported.

    ## Why is this bad?
    TorchScript compiled such branches; `torch.export` traces with symbolic data and fails with
    `GuardOnDataDependentSymNode`. Capture both branches with `torch.cond`, or compute both and
    select with `torch.where` when they are cheap. Data-dependent asserts become
    `torch._check(...)` or move out of the model.

    The fix writes `torch.where(test, a, b)` when both sides are elementwise expressions of the
    same tensors (numbers, arithmetic and elementwise methods such as `clamp`, `abs`, `tanh`),
    so they have the same shape; `if test: x = f(x)` with no `else` keeps `x` on the other side.
    When the branch provably changes nothing where it is not taken, the fix drops it: `if
    x.min() < C: x = x.clamp(min=C)` is `x = x.clamp(min=C)` (and the same with `max` / `>`),
    `C` a whole number. Other branches become `torch.cond`. `torch.where` and no branch at all
    lower into XNNPACK and convert to TFLite; `torch.cond` does neither (ExecuTorch runs its
    branches in portable kernels, litert-torch has no lowering for it).

    ## Example
    ```python
    def forward(self, x):
        if x.sum() > 0:
            return self.head(x)
        return x - 1
    ```

    Use instead:
    ```python
    def forward(self, x):
        return torch.cond(x.sum() > 0, lambda x: self.head(x), lambda x: x - 1, (x,))
    ```

    ## Fix safety
    Unsafe: `torch.cond` needs both branches to return tensors of the same shape and dtype;
    `torch.where` evaluates both sides and promotes them to one dtype (an integer tensor on one
    side and a float on the other both become float).
    """

    code = "MIG401"
    name = "tensor-condition"
    message = (
        "branch on a tensor value: `torch.export` fails with GuardOnDataDependentSymNode; use "
        "`torch.cond(pred, true_fn, false_fn, (operands,))` or `torch.where`"
    )
    fix_title = "Rewrite as `torch.where`, or `torch.cond`"
    fix_safety = FixSafety.UNSAFE

    VALID = [
        Valid(_MODEL + "        if x.shape[0] > 1:\n            x = x * 2\n        return x\n"),
        # an input compared with a string is a Python value, whatever its annotation says
        Valid(
            "import torch\nclass Loss(torch.nn.Module):\n    def forward(self, model, x):\n"
            "        if model.kind == 'sent':\n            x = model.head(x)\n        return x\n"
        ),
        Valid(_MODEL + "        if self.training and n > 1:\n            x = x * 2\n        return x\n"),
        Valid(
            _MODEL
            + "        mask = None\n        if mask is not None:\n            x = x * mask\n        return x\n"
        ),
        Valid(
            _MODEL + "        b, c = x.shape[:2]\n        y = x if b > 1 else x.flip(0)\n        return y\n"
        ),
        Valid("import torch\ndef helper(x):\n    if x.sum() > 0:\n        return x\n    return -x\n"),
        Valid(_MODEL + "        if self.any_requires_grad(x):\n            x = x * 2\n        return x\n"),
    ]
    INVALID = [
        # an input compared as it is: reported (it may be a tensor), but no fix is offered (it
        # may be a number the caller passes, and torch.cond over it would fail)
        Invalid(
            _MODEL + "        if x > 0:\n            x = x * 2\n        return x\n",
            line=4,
        ),
        Invalid(
            _MODEL + "        if x.sum() > 0:\n            return x * 2\n        return x - 1\n" + _CALL,
            line=4,
            column=9,
            expected="import torch\nclass M(torch.nn.Module):\n    def forward(self, x, n: int = 2):\n        return torch.where(x.sum() > 0, x * 2, x - 1)\n"
            + _CALL,
        ),
        Invalid(
            _MODEL + "        if x.sum() > 0:\n            return self.head(x)\n        return x - 1\n",
            expected="import torch\nclass M(torch.nn.Module):\n    def forward(self, x, n: int = 2):\n        return torch.cond(x.sum() > 0, lambda x: self.head(x), lambda x: x - 1, (x,))\n",
        ),
        Invalid(
            _MODEL + "        y = torch.relu(x)\n        return y if (y > 0).any() else x\n" + _CALL,
            line=5,
            column=16,
            expected="import torch\nclass M(torch.nn.Module):\n    def forward(self, x, n: int = 2):\n        y = torch.relu(x)\n        return torch.cond((y > 0).any(), lambda y, x: y.clone(memory_format=torch.contiguous_format), lambda y, x: x.clone(memory_format=torch.contiguous_format), (y, x))\n"
            + _CALL,
        ),
        Invalid(
            _MODEL + "        k = int(x.max())\n        if k > 3:\n            x = x[:3]\n        return x\n",
            line=5,
            message="branch on a Python number taken from a tensor (`.item()`, `int(t)`): export fails with GuardOnDataDependentSymNode; keep it a tensor and use `torch.cond` or `torch.where`",
        ),
        Invalid(_MODEL + "        assert x.min() >= 0\n        return x\n"),
        Invalid(
            _MODEL + "        if x.abs().sum() == 0:\n            x = x + 1e-6\n        return x\n" + _ZEROS,
            expected="import torch\nclass M(torch.nn.Module):\n    def forward(self, x, n: int = 2):\n        x = torch.where(x.abs().sum() == 0, x + 1e-6, x)\n        return x\n"
            + _ZEROS,
        ),
        Invalid(  # not taken, the clamp changes nothing: no branch at all
            _MODEL + "        if x.min() < 1:  # empty\n            x = x.clamp(min=1)\n        return x\n",
            expected="import torch\nclass M(torch.nn.Module):\n    def forward(self, x, n: int = 2):\n        # empty\n        x = x.clamp(min=1)\n        return x\n",
        ),
        Invalid(
            _MODEL + "        if 6 <= x.max():\n            x = x.clamp_max(6)\n        return x\n",
            expected="import torch\nclass M(torch.nn.Module):\n    def forward(self, x, n: int = 2):\n        x = x.clamp_max(6)\n        return x\n",
        ),
        Invalid(  # another bound than the test's: the clamp may change x where the test is false
            _MODEL + "        if x.min() < 0:\n            x = x.clamp(min=1)\n        return x\n",
            expected="import torch\nclass M(torch.nn.Module):\n    def forward(self, x, n: int = 2):\n        x = torch.where(x.min() < 0, x.clamp(min=1), x)\n        return x\n",
        ),
        Invalid(  # a float bound would make an integer x float on one side only
            _MODEL + "        if x.min() < 0.5:\n            x = x.clamp(min=0.5)\n        return x\n",
            expected="import torch\nclass M(torch.nn.Module):\n    def forward(self, x, n: int = 2):\n        x = torch.where(x.min() < 0.5, x.clamp(min=0.5), x)\n        return x\n",
        ),
        Invalid(  # a module call is not elementwise: its shape may differ
            _MODEL + "        if x.sum() > 0:\n            x = self.proj(x)\n        return x\n",
            expected="import torch\nclass M(torch.nn.Module):\n    def forward(self, x, n: int = 2):\n        x = torch.cond(x.sum() > 0, lambda x: self.proj(x), lambda x: x.clone(memory_format=torch.contiguous_format), (x,))\n        return x\n",
        ),
        Invalid(  # the branch's comments stay, above the line that replaces it
            _MODEL
            + "        if x.sum() > 0:  # positive\n            # double it\n            return x * 2\n"
            "        return x - 1  # the rest\n",
            expected="import torch\nclass M(torch.nn.Module):\n    def forward(self, x, n: int = 2):\n        # positive\n        # double it\n        # the rest\n        return torch.where(x.sum() > 0, x * 2, x - 1)\n",
        ),
        Invalid(
            _MODEL + "        # pick one\n        if (x > 0).all():\n            out = x * self.scale\n"
            "        else:\n            out = x + 1\n        return out\n",
            expected="import torch\nclass M(torch.nn.Module):\n    def forward(self, x, n: int = 2):\n        # pick one\n        out = torch.cond((x > 0).all(), lambda x: x * self.scale, lambda x: x + 1, (x,))\n        return out\n",
        ),
        Invalid(
            "import torch\nclass M(torch.nn.Module):\n    @torch.jit.export\n    def step(self, s):\n"
            "        if s.mean() > 0.5:\n            s = s * 0\n        return s\nout = M().step(torch.ones(3))\n",
            line=5,
            expected="import torch\nclass M(torch.nn.Module):\n    @torch.jit.export\n    def step(self, s):\n        s = torch.where(s.mean() > 0.5, s * 0, s)\n        return s\nout = M().step(torch.ones(3))\n",
        ),
    ]

    def visit_If(self, node: cst.If) -> None:
        self._check(node, node.test)

    def visit_IfExp(self, node: cst.IfExp) -> None:
        self._check(node, node.test)

    def visit_Assert(self, node: cst.Assert) -> None:
        self._check(node, node.test)

    def _check(self, node: cst.CSTNode, test: cst.BaseExpression) -> None:
        if self.values is None:
            return
        kind = self.values.kind(test)
        if kind is Kind.TENSOR:
            # a fix only where a call shows the tensor: an input compared as it is may be a number
            # the caller passes (`update_num < 2 * warmup`), and torch.cond would then break it
            shown = any(
                isinstance(n, cst.Call) and self.values.kind(n) is not Kind.STATIC for n in subtree(test)
            )
            self.report(node, edit=self._as_cond(node, test) if shown else None)
        elif kind is Kind.SCALAR:
            self.report(
                node,
                message="branch on a Python number taken from a tensor (`.item()`, `int(t)`): export "
                "fails with GuardOnDataDependentSymNode; keep it a tensor and use `torch.cond` "
                "or `torch.where`",
            )

    def _as_cond(self, node: cst.CSTNode, test: cst.BaseExpression) -> Edit | None:
        """`torch.cond` for a conditional expression, an if/else returning one value each, or
        an if/else assigning one name each; None for other shapes of branch, and for a test
        Python's `not`/`and`/`or` turn into a bool (which neither takes as a tensor)."""
        if isinstance(test, cst.BooleanOperation) or (
            isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not)
        ):
            return None
        if isinstance(node, cst.IfExp):
            value = self._select(test, node.body, node.orelse)
            return None if value is None else self._edit({node: value})
        if not isinstance(node, cst.If):
            return None
        then = _single(node.body)
        other = _single(node.orelse.body) if isinstance(node.orelse, cst.Else) else None
        following = None
        if node.orelse is None and isinstance(then, cst.Return):
            following = self._next_statement(node)
            other = _single(following) if following is not None else None
        if isinstance(then, cst.Return) and isinstance(other, cst.Return) and then.value and other.value:
            value = self._select(test, then.value, other.value)
            if value is None:
                return None
            changes: dict[cst.CSTNode, Replacement] = {node: _line(cst.Return(value), node, following)}
            if following is not None:
                changes[following] = cst.RemovalSentinel.REMOVE
            return self._edit(changes)
        if isinstance(then, cst.Assign) and node.orelse is None and self._reassigns_tensor(then):
            # `if T: y = A` keeps `y` otherwise: the false branch returns it unchanged.
            target = then.targets[0].target
            assert isinstance(target, cst.Name)
            if _changes_nothing_when_false(test, target.value, then.value):
                return self._edit({node: _line(then, node)})
            if self._elementwise(then.value) == {target.value}:
                value = _where(test, then.value, target)
                return self._edit({node: _line(cst.Assign(then.targets, value), node)})
            # A torch.cond branch may not return one of its inputs as it is, and both branches
            # must return dense tensors: a contiguous clone is both.
            unchanged = cst.parse_expression(f"{target.value}.clone(memory_format=torch.contiguous_format)")
            value = self._cond(test, then.value, unchanged)
            return None if value is None else self._edit({node: _line(cst.Assign(then.targets, value), node)})
        if (
            isinstance(then, cst.Assign)
            and isinstance(other, cst.Assign)
            and len(then.targets) == len(other.targets) == 1
            and isinstance(then.targets[0].target, cst.Name)
            and isinstance(other.targets[0].target, cst.Name)
            and then.targets[0].target.value == other.targets[0].target.value
        ):
            value = self._select(test, then.value, other.value)
            return None if value is None else self._edit({node: _line(cst.Assign(then.targets, value), node)})
        return None

    def _select(
        self, test: cst.BaseExpression, then: cst.BaseExpression, other: cst.BaseExpression
    ) -> cst.Call | None:
        """`torch.where` when both sides are elementwise in the same tensors (so of one shape),
        else `torch.cond`."""
        names = self._elementwise(then)
        if names and names == self._elementwise(other):
            return _where(test, then, other)
        return self._cond(test, then, other)

    def _elementwise(self, expr: cst.BaseExpression) -> set[str] | None:
        """The tensors ``expr`` reads when it computes each element from theirs alone (tensors,
        numbers, arithmetic, elementwise methods with number arguments); None otherwise."""
        assert self.values is not None
        if isinstance(expr, cst.Name):
            kind = self.values.kinds.get(expr.value)
            return {expr.value} if kind is Kind.TENSOR else None
        if _is_number(expr):
            return set()
        if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, (cst.Minus, cst.Plus)):
            return self._elementwise(expr.expression)
        if isinstance(expr, cst.BinaryOperation) and not isinstance(expr.operator, cst.MatrixMultiply):
            left, right = self._elementwise(expr.left), self._elementwise(expr.right)
            return None if left is None or right is None else left | right
        if (
            isinstance(expr, cst.Call)
            and isinstance(expr.func, cst.Attribute)
            and expr.func.attr.value in _ELEMENTWISE
            and all(_is_number(a.value) or _is_none(a.value) for a in expr.args)
        ):
            return self._elementwise(expr.func.value)
        return None

    def _reassigns_tensor(self, assign: cst.Assign) -> bool:
        assert self.values is not None
        target = assign.targets[0].target if len(assign.targets) == 1 else None
        return isinstance(target, cst.Name) and self.values.kinds.get(target.value) is Kind.TENSOR

    def _cond(
        self, test: cst.BaseExpression, then: cst.BaseExpression, other: cst.BaseExpression
    ) -> cst.Call | None:
        """`torch.cond(test, lambda ops: then, lambda ops: other, (ops,))`, the operands being the
        tensors the branches read; None unless both branches are tensors (`None`, `[x]` or a
        number on one side would make torch.cond fail where the branch ran before)."""
        assert self.values is not None
        for branch in (then, other):
            if (
                isinstance(branch, (cst.List, cst.Tuple, cst.Dict, cst.Set))
                or self.values.kind(branch) is not Kind.TENSOR
            ):
                return None
        operands = list(
            dict.fromkeys(
                n.value
                for branch in (then, other)
                for n in names_in(branch)
                if self.values.kinds.get(n.value) is Kind.TENSOR
            )
        )
        params = cst.Parameters([cst.Param(cst.Name(name)) for name in operands])
        then, other = _dense(then, operands), _dense(other, operands)
        call = cst.Call(
            cst.parse_expression("torch.cond"),
            [
                cst.Arg(test),
                cst.Arg(cst.Lambda(params, then)),
                cst.Arg(cst.Lambda(params, other)),
                cst.Arg(cst.Tuple([cst.Element(cst.Name(name)) for name in operands])),
            ],
        )
        return call

    def _edit(self, changes: dict[cst.CSTNode, Replacement]) -> Edit:
        return self.edit(changes, add_imports=[("torch", None)])

    def _next_statement(self, node: cst.If) -> cst.BaseStatement | None:
        block = self.ctx.parent()
        if isinstance(block, (cst.IndentedBlock, cst.Module)):
            body = list(block.body)
            index = body.index(node)
            return body[index + 1] if index + 1 < len(body) else None
        return None


def _dense(branch: cst.BaseExpression, operands: list[str]) -> cst.BaseExpression:
    """A branch that returns an operand as it is: `torch.cond` refuses outputs aliasing its
    inputs (UncapturedHigherOrderOpError, even in eager mode), so it returns a dense clone."""
    if isinstance(branch, cst.Name) and branch.value in operands:
        return cst.parse_expression(f"{branch.value}.clone(memory_format=torch.contiguous_format)")
    return branch


# Tensor methods that compute each element from that element alone, given number arguments.
_ELEMENTWISE = frozenset(
    {
        "abs",
        "ceil",
        "clamp",
        "clamp_max",
        "clamp_min",
        "clip",
        "cos",
        "exp",
        "floor",
        "log",
        "neg",
        "reciprocal",
        "relu",
        "round",
        "rsqrt",
        "sigmoid",
        "sign",
        "sin",
        "sqrt",
        "square",
        "tanh",
    }
)


def _is_number(expr: cst.BaseExpression) -> bool:
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, (cst.Minus, cst.Plus)):
        return _is_number(expr.expression)
    return isinstance(expr, (cst.Integer, cst.Float))


def _is_none(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "None"


def _whole_number(expr: cst.BaseExpression | None) -> int | None:
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Minus):
        inner = _whole_number(expr.expression)
        return None if inner is None else -inner
    if isinstance(expr, cst.Integer):
        return int(expr.evaluated_value)
    return None


def _changes_nothing_when_false(test: cst.BaseExpression, name: str, value: cst.BaseExpression) -> bool:
    """``x.min() < C`` (or ``<=``, or ``C > x.min()``) guarding ``x = x.clamp(min=C)``, or the
    same with ``max``: where the test is false every element is already within the bound, so
    the clamp returns ``x`` unchanged. ``C`` must be a whole number: a float bound would make an
    integer ``x`` float, which the untaken side would not."""
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return False
    left, (part,) = test.left, test.comparisons
    right, operator = part.comparator, part.operator
    flipped = {cst.GreaterThan: "<", cst.GreaterThanEqual: "<", cst.LessThan: ">", cst.LessThanEqual: ">"}
    direct = {cst.LessThan: "<", cst.LessThanEqual: "<", cst.GreaterThan: ">", cst.GreaterThanEqual: ">"}
    if _reduction(left, name) is not None:
        reduced, bound, side = _reduction(left, name), _whole_number(right), direct.get(type(operator))
    else:
        reduced, bound, side = _reduction(right, name), _whole_number(left), flipped.get(type(operator))
    wanted = {("min", "<"): ("min", "clamp_min"), ("max", ">"): ("max", "clamp_max")}.get((reduced, side))  # type: ignore[arg-type]
    if bound is None or wanted is None or not isinstance(value, cst.Call):
        return False
    func = value.func
    if not (
        isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == name
    ):
        return False
    args = value.args
    if func.attr.value == wanted[1]:
        return len(args) == 1 and args[0].keyword is None and _whole_number(args[0].value) == bound
    if func.attr.value != "clamp" or len(args) != 1:
        return False
    keyword = args[0].keyword.value if args[0].keyword is not None else "min"
    return keyword == wanted[0] and _whole_number(args[0].value) == bound


def _reduction(expr: cst.BaseExpression, name: str) -> str | None:
    """``"min"`` / ``"max"`` for ``name.min()`` / ``name.max()``."""
    if (
        isinstance(expr, cst.Call)
        and not expr.args
        and isinstance(expr.func, cst.Attribute)
        and isinstance(expr.func.value, cst.Name)
        and expr.func.value.value == name
        and expr.func.attr.value in ("min", "max")
    ):
        return expr.func.attr.value
    return None


def _where(test: cst.BaseExpression, then: cst.BaseExpression, other: cst.BaseExpression) -> cst.Call:
    return cst.Call(cst.parse_expression("torch.where"), [cst.Arg(test), cst.Arg(then), cst.Arg(other)])


def _single(suite: cst.CSTNode) -> cst.BaseSmallStatement | None:
    """The one small statement of a block or line, else None."""
    if isinstance(suite, cst.IndentedBlock):
        if len(suite.body) != 1:
            return None
        suite = suite.body[0]
    if isinstance(suite, (cst.SimpleStatementLine, cst.SimpleStatementSuite)) and len(suite.body) == 1:
        return suite.body[0]
    return None


def _line(
    statement: cst.BaseSmallStatement, replacing: cst.If, following: cst.CSTNode | None = None
) -> cst.SimpleStatementLine:
    """One line in place of the branch; the comments the branch held go above it, in order."""
    kept = [line.comment for line in replacing.leading_lines if line.comment is not None]
    moved = [
        cst.EmptyLine(comment=comment)
        for node in (replacing, following)
        if node is not None
        for comment in _statement_comments(node)
        if not any(comment is k for k in kept)
    ]
    return cst.SimpleStatementLine([statement], leading_lines=[*replacing.leading_lines, *moved])


def _statement_comments(node: cst.CSTNode) -> list[cst.Comment]:
    """Comments on a statement's own lines (headers, bodies, trailing): not those inside
    expressions, which move with the expression into the lambda."""
    found: list[cst.Comment] = []

    class Collector(cst.CSTVisitor):
        def on_visit(self, visited: cst.CSTNode) -> bool:
            if isinstance(visited, cst.Comment):
                found.append(visited)
            return not isinstance(visited, cst.BaseExpression)

    node.visit(Collector())
    return found
