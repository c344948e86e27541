from __future__ import annotations

import libcst as cst

from rewrites.model import FixSafety
from rewrites.rule import Invalid, Rule, Valid


class OptimizeForMobile(Rule):
    """Flags `torch.utils.mobile_optimizer.optimize_for_mobile` and its options.

    ## What it does
    Reports `optimize_for_mobile(...)`, `MobileOptimizerType` (its `optimization_blocklist`)
    and `generate_mobile_module_lints`.

    ## Why is this bad?
    It rewrites a TorchScript module for the lite interpreter. On torch 2.13 CPU wheels it
    raises ("XNNPACK is not enabled"), and the `prepacked::` ops it inserts cannot be loaded by
    torch 2.13. ExecuTorch does the same work at lowering time:
    `to_edge_transform_and_lower(exported, partitioner=[XnnpackPartitioner()])` folds
    conv/batch-norm, fuses activations and prepacks weights for XNNPACK.

    Options: `optimization_blocklist` has no counterpart (drop it); `preserved_methods` become
    extra exported methods; `backend="vulkan"` maps to `VulkanPartitioner`, `backend="metal"`
    to the Core ML or MPS partitioner.

    ## Example
    ```python
    optimized = optimize_for_mobile(scripted)
    optimized._save_for_lite_interpreter("model.ptl")
    ```

    Use instead:
    ```python
    program = to_edge_transform_and_lower(
        torch.export.export(model.eval(), example_inputs),
        partitioner=[XnnpackPartitioner()],
    ).to_executorch()
    ```

    ## Fix safety
    Unsafe: the call is removed and its argument kept; options without an ExecuTorch
    counterpart are named in a comment.
    """

    code = "MIG201"
    name = "optimize-for-mobile"
    message = (
        "`optimize_for_mobile` is PyTorch Mobile (it raises on torch 2.13): ExecuTorch prepacks "
        "and fuses in `to_edge_transform_and_lower(exported, partitioner=[XnnpackPartitioner()])`"
    )
    fix_title = "Remove `optimize_for_mobile`; lower with `XnnpackPartitioner`"
    fix_safety = FixSafety.UNSAFE
    names = frozenset(
        {
            "torch.utils.mobile_optimizer.*",
            "torch.utils.mobile_optimizer.optimize_for_mobile",
            "torch.utils.mobile_optimizer.MobileOptimizerType",
            "torch.utils.mobile_optimizer.generate_mobile_module_lints",
        }
    )

    VALID = [Valid("def optimize_for_mobile(m):\n    return m\nm = optimize_for_mobile(m)\n")]
    INVALID = [
        Invalid(
            "from torch.utils.mobile_optimizer import optimize_for_mobile\n"
            "opt = optimize_for_mobile(scripted)\n",
            line=2,
            column=7,
        ),
        Invalid(
            "from torch.utils.mobile_optimizer import *\nopt = optimize_for_mobile(m, backend='vulkan')\n"
        ),
        Invalid(
            "import torch.utils.mobile_optimizer as mo\n"
            "opt = mo.optimize_for_mobile(m, optimization_blocklist={mo.MobileOptimizerType.CONV_BN_FUSION})\n",
            count=2,
        ),
        Invalid("import torch\nopt = torch.utils.mobile_optimizer.optimize_for_mobile(m)\n"),
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        self.report(node)
