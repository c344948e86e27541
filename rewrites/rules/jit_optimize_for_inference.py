from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.rules._chains import ChainRule, unwrap


class JitOptimizeForInference(ChainRule):
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

    When what it wraps is TorchScript made in the same file, the fix of what made it drops
    this call along with the rest of the chain (MIG101, MIG103); otherwise this fix rewrites
    every use of the result with it, or none.
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
        # TorchScript made here: MIG101's fix drops the call with the rest of the chain.
        Invalid("import torch\nm = torch.jit.optimize_for_inference(torch.jit.script(model))\n"),
        Invalid(
            "import torch\ndef save(scripted, path):\n    m = torch.jit.optimize_for_inference(scripted)\n    torch.jit.save(m, path)\n",
            expected=(
                "import os\nimport pathlib\n"
                "from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner\n"
                "from executorch.exir import to_edge_transform_and_lower\n\n"
                "def save(scripted, path):\n    m = scripted\n"
                "    pathlib.Path(os.path.splitext(str(path))[0] + '.pte').write_bytes(to_edge_transform_and_lower("
                "m, partitioner=[XnnpackPartitioner()]).to_executorch().buffer)\n"
            ),
        ),
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        call = self.ctx.parent()
        if not (isinstance(call, cst.Call) and call.func is node):
            self.report(node)
            return
        unwrap(self, call, node)
