from __future__ import annotations

import libcst as cst

from rewrites.model import FixSafety
from rewrites.rule import Invalid, Rule, Valid


class JitFork(Rule):
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
        Invalid("import torch\nfut = torch.jit.fork(enc, x)\nout = torch.jit.wait(fut)\n", count=2),
        Invalid("from torch.jit import fork, wait\nout = wait(fork(f, a, b))\n", count=2),
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        parent = self.ctx.parent()
        self.report(parent if isinstance(parent, cst.Call) else node)
