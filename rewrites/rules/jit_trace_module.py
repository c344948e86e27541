from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.python_checker import PythonRule


class JitTraceModule(PythonRule):
    """Flags `torch.jit.trace_module(model, {"method": inputs, ...})`.

    ## What it does
    Reports uses of `torch.jit.trace_module`, which traces several methods of one module.

    ## Why is this bad?
    The result is TorchScript. ExecuTorch expresses several entry points as a multi-method
    program: one `torch.export.export` per method, passed together as a dict to
    `to_edge_transform_and_lower`.

    ## Example
    ```python
    traced = torch.jit.trace_module(model, {"forward": x, "encode": y})
    ```

    Use instead:
    ```python
    programs = {
        "forward": torch.export.export(model.eval(), (x,)),
        "encode": torch.export.export(EncodeWrapper(model).eval(), (y,)),
    }
    et_program = to_edge_transform_and_lower(
        programs, partitioner=[XnnpackPartitioner()]
    ).to_executorch()
    ```

    ## Fix safety
    Display-only: each extra method needs a small wrapper module whose `forward` calls it.
    """

    code = "MIG104"
    name = "jit-trace-module"
    message = (
        "`torch.jit.trace_module` makes TorchScript: export one program per method (a wrapper "
        "module whose `forward` calls it) and pass them as a dict to `to_edge_transform_and_lower`"
    )
    names = frozenset({"torch.jit.trace_module"})

    VALID = [Valid("import torch\nep = torch.export.export(model, (x,))\n")]
    INVALID = [
        Invalid('import torch\nt = torch.jit.trace_module(m, {"forward": x, "encode": y})\n'),
        Invalid("from torch.jit import trace_module\nt = trace_module(m, inputs)\n"),
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        self.report(node)
