from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.python_checker import PythonRule
from rewrites.rules._fixes import dotted_expression


class CapturePreAutogradGraph(PythonRule):
    """Flags `torch._export.capture_pre_autograd_graph`, removed from torch.

    ## What it does
    Reports the pre-2.5 way of capturing a graph for PT2E quantization.

    ## Why is this bad?
    It no longer exists in torch 2.13. The graph to quantize is now
    `torch.export.export(model, example_inputs).module()`.

    ## Example
    ```python
    graph = capture_pre_autograd_graph(model, example_inputs)
    ```

    Use instead:
    ```python
    graph = torch.export.export(model, example_inputs).module()
    ```

    ## Fix safety
    Safe: same graph, same arguments.
    """

    code = "MIG508"
    name = "capture-pre-autograd-graph"
    message = (
        "`capture_pre_autograd_graph` was removed: use `torch.export.export(model, example_inputs).module()`"
    )
    fix_title = "Use `torch.export.export(...).module()`"
    fix_safety = FixSafety.SAFE
    names = frozenset({"torch._export.capture_pre_autograd_graph"})

    VALID = [Valid("import torch\ng = torch.export.export(m, ex).module()\n")]
    INVALID = [
        Invalid(
            "from torch._export import capture_pre_autograd_graph\ng = capture_pre_autograd_graph(m, ex)\n",
            line=2,
            column=5,
            expected="import torch\n\ng = torch.export.export(m, ex).module()\n",
        ),
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        call = self.ctx.parent()
        if not isinstance(call, cst.Call) or call.func is not node:
            self.report(node)
            return
        exported = call.with_changes(func=dotted_expression("torch.export.export"))
        module = cst.Call(cst.Attribute(exported, cst.Name("module")))
        self.report(call, edit=self.edit({call: module}, add_imports=[("torch", None)], dropped=[node]))
