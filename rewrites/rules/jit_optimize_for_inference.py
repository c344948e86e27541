from __future__ import annotations

import libcst as cst

from rewrites.model import FixSafety
from rewrites.rule import Invalid, Rule, Valid


class JitOptimizeForInference(Rule):
    """Flags `torch.jit.optimize_for_inference(scripted)`.

    ## What it does
    Reports uses of `torch.jit.optimize_for_inference`.

    ## Why is this bad?
    It freezes a `ScriptModule` and runs TorchScript-only graph passes (conv-bn folding, MKLDNN
    layouts). ExecuTorch applies its own equivalents when lowering:
    `to_edge_transform_and_lower(..., partitioner=[XnnpackPartitioner()])` folds batch norms
    and prepacks weights for XNNPACK.

    ## Example
    ```python
    model = torch.jit.optimize_for_inference(torch.jit.script(model.eval()))
    ```

    Use instead:
    ```python
    exported = torch.export.export(model.eval(), example_inputs)
    program = to_edge_transform_and_lower(exported, partitioner=[XnnpackPartitioner()])
    ```

    ## Fix safety
    Unsafe: the fix drops the call and keeps its argument.
    """

    code = "MIG106"
    name = "jit-optimize-for-inference"
    message = (
        "`torch.jit.optimize_for_inference` is a TorchScript pass; ExecuTorch folds and prepacks "
        "in `to_edge_transform_and_lower(..., partitioner=[XnnpackPartitioner()])`: drop the call"
    )
    fix_title = "Remove the `torch.jit.optimize_for_inference` call"
    fix_safety = FixSafety.UNSAFE
    names = frozenset({"torch.jit.optimize_for_inference"})

    VALID = [Valid("import torch\nm = torch.compile(model)\n")]
    INVALID = [
        Invalid(
            "import torch\nm = torch.jit.optimize_for_inference(torch.jit.script(model))\n",
            expected="import torch\nm = torch.jit.script(model)\n",
        ),
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        call = self.ctx.parent()
        edit = None
        if isinstance(call, cst.Call) and call.func is node and call.args and call.args[0].keyword is None:
            edit = self.edit({call: call.args[0].value}, dropped=[node])
        self.report(node, edit=edit)
