from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.python_checker import PythonRule


class OperatorList(PythonRule):
    """Flags operator-list exports used for PyTorch Mobile selective builds.

    ## What it does
    Reports `torch.jit.export_opnames`, `torch.jit.mobile._export_operator_list` and
    `torch.jit.mobile._get_model_ops_and_info`.

    ## Why is this bad?
    These list the ops of a TorchScript model to build a trimmed PyTorch Mobile library.
    ExecuTorch's selective build reads the ops from the `.pte` itself: pass the program to
    `gen_oplist` (`python -m executorch.codegen.tools.gen_oplist --model_file_path=model.pte`)
    or, in CMake, `gen_selected_ops(... OPS_FROM_MODEL model.pte)`.

    ## Example
    ```python
    ops = torch.jit.export_opnames(scripted)
    ```

    Use instead:
    ```shell
    python -m executorch.codegen.tools.gen_oplist --model_file_path=model.pte --output_path=ops.yaml
    ```

    ## Fix safety
    Display-only: the op list moves from Python to the native build.
    """

    code = "MIG206"
    name = "operator-list"
    message = (
        "operator lists of TorchScript models feed PyTorch Mobile selective builds: generate "
        "ExecuTorch's from the `.pte` (`executorch.codegen.tools.gen_oplist --model_file_path`)"
    )
    names = frozenset(
        {
            "torch.jit.export_opnames",
            "torch.jit.mobile._export_operator_list",
            "torch.jit.mobile._get_model_ops_and_info",
            "torch._C._export_opnames",
        }
    )

    VALID = [Valid("ops = sorted(set(ops))\n")]
    INVALID = [
        Invalid("import torch, yaml\nops = torch.jit.export_opnames(scripted)\n", line=2, column=7),
        Invalid("from torch.jit.mobile import _export_operator_list\nops = _export_operator_list(m)\n"),
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        self.report(node)
