from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.python_checker import PythonRule
from rewrites.rules._fixes import dotted_expression


class QuantStub(PythonRule):
    """Flags `QuantStub`, `DeQuantStub` and `QuantWrapper` (eager-mode quantization).

    ## What it does
    Reports the stubs that mark where eager-mode static quantization converts tensors.

    ## Why is this bad?
    Eager-quantized modules hold packed parameters that `torch.export` cannot capture. The
    ExecuTorch flow quantizes the *exported* float graph with PT2E (`prepare_pt2e` /
    `convert_pt2e` and `XNNPACKQuantizer`), which places quantize/dequantize nodes itself: the
    stubs are no longer needed.

    ## Example
    ```python
    self.quant = torch.ao.quantization.QuantStub()
    ```

    Use instead:
    ```python
    # nothing: PT2E inserts quantize/dequantize around the exported graph
    ```

    ## Fix safety
    Unsafe: the stubs are removed from `__init__` and `forward` together, and the model must
    be re-quantized with PT2E (MIG503).
    """

    code = "MIG501"
    name = "quant-stub"
    message = (
        "eager-mode quantization stubs cannot be exported: remove them and quantize the exported "
        "graph with PT2E (`prepare_pt2e`/`convert_pt2e` with `XNNPACKQuantizer`)"
    )
    fix_title = "Remove the quantization stubs"
    fix_safety = FixSafety.UNSAFE
    names = frozenset(
        {
            "torch.ao.quantization.QuantStub",
            "torch.ao.quantization.DeQuantStub",
            "torch.ao.quantization.QuantWrapper",
            "torch.ao.quantization.stubs.QuantStub",
            "torch.ao.quantization.stubs.DeQuantStub",
            "torch.ao.quantization.stubs.QuantWrapper",
        }
    )

    VALID = [Valid("import torch\nself.relu = torch.nn.ReLU()\n")]
    INVALID = [
        Invalid(
            "import torch\nself.quant = torch.ao.quantization.QuantStub()\n",
            line=2,
            column=14,
            expected="import torch\nself.quant = torch.nn.Identity()\n",
        ),
        Invalid(
            "from torch.quantization import QuantStub, DeQuantStub\nq, d = QuantStub(), DeQuantStub()\n",
            count=2,
            expected="import torch\n\nq, d = torch.nn.Identity(), torch.nn.Identity()\n",
        ),
        Invalid("import torch.quantization as tq\nm = tq.QuantWrapper(model)\n", expected="m = model\n"),
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        call = self.ctx.parent()
        edit = None
        if isinstance(call, cst.Call) and call.func is node:
            if qualified_name.endswith("QuantWrapper"):
                if len(call.args) == 1 and call.args[0].keyword is None:
                    edit = self.edit({call: call.args[0].value}, dropped=[node])
            elif not call.args:  # float stubs are identities: the model computes the same
                identity = cst.Call(dotted_expression("torch.nn.Identity"))
                edit = self.edit({call: identity}, add_imports=[("torch", None)], dropped=[node])
        self.report(node, edit=edit)
