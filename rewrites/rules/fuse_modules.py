from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.names import subtree
from rewrites.python_checker import PythonRule
from rewrites.rules._fixes import remove_statement
from rewrites.rules._pt2e import call_statement


class FuseModules(PythonRule):
    """Flags `fuse_modules` / `fuse_modules_qat`.

    ## What it does
    Reports manual module fusion for eager-mode quantization.

    ## Why is this bad?
    Fusion lists (`[["conv", "bn", "relu"]]`) exist for eager quantization. PT2E's
    `XNNPACKQuantizer` annotates conv-bn-relu patterns in the exported graph and XNNPACK
    lowering fuses them; the list goes away with the eager flow.

    ## Example
    ```python
    torch.ao.quantization.fuse_modules(model, [["conv", "bn", "relu"]], inplace=True)
    ```

    Use instead:
    ```python
    # nothing: the XNNPACK quantizer and partitioner fuse these patterns
    ```

    ## Fix safety
    Unsafe: removes the call; the model must be re-quantized with PT2E.
    """

    code = "MIG502"
    name = "fuse-modules"
    message = (
        "eager fusion lists are not needed with PT2E: `XNNPACKQuantizer` and XNNPACK lowering fuse "
        "conv/bn/relu in the exported graph"
    )
    fix_title = "Remove the fusion call"
    fix_safety = FixSafety.UNSAFE
    names = frozenset(
        {
            "torch.ao.quantization.fuse_modules",
            "torch.ao.quantization.fuse_modules_qat",
            "torch.ao.quantization.fuse_modules.fuse_modules",
        }
    )

    VALID = [Valid("import torch\nm = torch.nn.utils.fusion.fuse_conv_bn_eval(conv, bn)\n")]
    INVALID = [
        Invalid(
            "import torch\ntorch.ao.quantization.fuse_modules(m, [['conv', 'bn']], inplace=True)\n",
            line=2,
            column=1,
            expected="\n",
        ),
        Invalid(
            "from torch.quantization import fuse_modules\nfuse_modules(m, [['c', 'r']])\n", expected="\n"
        ),
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        call = self.ctx.parent()
        edit = None
        found = call_statement(self, call) if isinstance(call, cst.Call) and call.func is node else None
        if found is not None and isinstance(call, cst.Call) and call.args:
            line, target = found
            dropped = [n for n in subtree(call) if isinstance(n, (cst.Name, cst.Attribute))]
            if target is None:
                edit = remove_statement(self, line, dropped)
            else:
                edit = self.edit({call: call.args[0].value}, dropped=dropped)
        self.report(node, edit=edit)
