from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.python_checker import PythonRule


class BytecodeVersion(PythonRule):
    """Flags lite-interpreter bytecode version helpers and backports.

    ## What it does
    Reports `_backport_for_mobile*`, `_get_model_bytecode_version*` and
    `_get_mobile_model_contained_types` from `torch.jit.mobile` / `torch._C`.

    ## Why is this bad?
    They manage compatibility between `.ptl` bytecode and the app's runtime version. A `.pte`
    is versioned by the ExecuTorch release that wrote it: regenerate the program with the
    `executorch` Python version matching the runtime the app links (pin both).

    ## Example
    ```python
    _backport_for_mobile("model.ptl", "model_v5.ptl", 5)
    ```

    Use instead:
    ```shell
    pip install executorch==<the runtime version the app links>  # and re-export
    ```

    ## Fix safety
    Display-only.
    """

    code = "MIG207"
    name = "bytecode-version"
    message = (
        "`.ptl` bytecode versioning has no `.pte` counterpart: re-export with the `executorch` "
        "version that matches the app's runtime"
    )
    names = frozenset(
        {
            "torch.jit.mobile._backport_for_mobile",
            "torch.jit.mobile._backport_for_mobile_to_buffer",
            "torch.jit.mobile._get_model_bytecode_version",
            "torch.jit.mobile._get_mobile_model_contained_types",
            "torch._C._backport_for_mobile",
            "torch._C._backport_for_mobile_to_buffer",
            "torch._C._backport_for_mobile_from_buffer",
            "torch._C._backport_for_mobile_from_buffer_to_buffer",
            "torch._C._get_model_bytecode_version",
            "torch._C._get_model_bytecode_version_from_buffer",
        }
    )

    VALID = [Valid("version = program.version\n")]
    INVALID = [
        Invalid("from torch.jit.mobile import _backport_for_mobile\n_backport_for_mobile(a, b, 5)\n"),
        Invalid(
            "import torch\nv = torch.jit.mobile._get_model_bytecode_version('m.ptl')\n", line=2, column=5
        ),
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        self.report(node)
