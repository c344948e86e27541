from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.python_checker import PythonRule
from rewrites.rules._fixes import remove_statement, statement_line


class QuantizedEngine(PythonRule):
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
    INVALID = [
        Invalid(
            "import torch\ntorch.backends.quantized.engine = 'qnnpack'\n", line=2, column=1, expected="\n"
        )
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        assignment = self.ctx.stack[-3] if len(self.ctx.stack) > 2 else None
        edit = None
        if isinstance(assignment, cst.Assign) and any(t.target is node for t in assignment.targets):
            line = statement_line(self, assignment)
            edit = None if line is None else remove_statement(self, line, [node])
        self.report(node, edit=edit)
