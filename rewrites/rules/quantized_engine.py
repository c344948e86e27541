from __future__ import annotations

import libcst as cst

from rewrites.model import FixSafety
from rewrites.rule import Invalid, Rule, Valid


class QuantizedEngine(Rule):
    """Flags `torch.backends.quantized.engine`.

    ## What it does
    Reports reads and writes of the quantized engine setting (`"qnnpack"`, `"fbgemm"`,
    `"x86"`).

    ## Why is this bad?
    It selects the kernels eager quantized modules run on. An ExecuTorch program's quantized
    ops run in the backend it was lowered to (XNNPACK), chosen by the partitioner, so the
    setting has no effect on the migrated model.

    ## Example
    ```python
    torch.backends.quantized.engine = "qnnpack"
    ```

    Use instead:
    ```python
    program = to_edge_transform_and_lower(exported, partitioner=[XnnpackPartitioner()])
    ```

    ## Fix safety
    Unsafe: removes the statement.
    """

    code = "MIG506"
    name = "quantized-engine"
    message = (
        "`torch.backends.quantized.engine` only affects eager quantized kernels: ExecuTorch runs "
        "quantized ops in the backend chosen at lowering (`XnnpackPartitioner`)"
    )
    fix_title = "Remove the engine setting"
    fix_safety = FixSafety.UNSAFE
    names = frozenset({"torch.backends.quantized.engine", "torch.backends.quantized.supported_engines"})

    VALID = [Valid("import torch\ntorch.backends.cudnn.benchmark = True\n")]
    INVALID = [Invalid("import torch\ntorch.backends.quantized.engine = 'qnnpack'\n", line=2, column=1)]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        self.report(node)
