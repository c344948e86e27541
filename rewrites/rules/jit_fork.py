from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.python_checker import PythonRule


class JitFork(PythonRule):
    """Flags `torch.jit.fork(fn, *args)` and `torch.jit.wait(future)`.

    ## What it does
    Reports TorchScript's inter-op parallelism primitives.

    ## Why is this bad?
    In eager mode `fork` runs the call synchronously and `wait` returns its result. Non-strict
    `torch.export` traces through them but ExecuTorch has no futures: the program is a single
    graph, and a `.ptl` using `fork` cannot even be saved for the lite interpreter. Calling the
    function directly gives the same graph and the same outputs.

    ## Example
    ```python
    futures = [torch.jit.fork(layer, x) for layer in self.branches]
    outs = [torch.jit.wait(f) for f in futures]
    ```

    Use instead:
    ```python
    futures = [layer(x) for layer in self.branches]
    outs = [f for f in futures]
    ```

    ## Fix safety
    Safe: eager `fork` already ran synchronously.
    """

    code = "MIG312"
    name = "jit-fork"
    message = "`torch.jit.fork`/`wait` have no ExecuTorch counterpart: call the function directly"
    fix_title = "Call the function directly"
    fix_safety = FixSafety.SAFE
    names = frozenset({"torch.jit.fork", "torch.jit.wait", "torch.jit._fork", "torch.jit._wait"})

    VALID = [Valid("import torch\nouts = [layer(x) for layer in layers]\n")]
    INVALID = [
        Invalid(
            "import torch\nfut = torch.jit.fork(enc, x)\nout = torch.jit.wait(fut)\n",
            count=2,
            expected="fut = enc(x)\nout = fut\n",
        ),
        Invalid(
            "from torch.jit import fork, wait\nout = wait(fork(f, a, b=2))\n",
            count=2,
            expected="out = f(a, b=2)\n",
        ),
        Invalid(
            "import torch\nfutures = [torch.jit.fork(layer, x) for layer in self.layers]\n",
            expected="futures = [layer(x) for layer in self.layers]\n",
        ),
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        call = self.ctx.parent()
        if not isinstance(call, cst.Call) or call.func is not node or not call.args or call.args[0].keyword:
            self.report(node)
            return
        first, *rest = call.args
        if qualified_name.endswith("wait"):
            direct: cst.BaseExpression | None = (
                first.value if len(call.args) == 1 and not first.star else None
            )
        else:
            direct = None if first.star else call.with_changes(func=first.value, args=_strip_last_comma(rest))
        self.report(call, edit=None if direct is None else self.edit({call: direct}, dropped=[node]))


def _strip_last_comma(args: list[cst.Arg]) -> list[cst.Arg]:
    if args:
        args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return args
