from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.python_checker import PythonRule
from rewrites.rules._helpers import method_call

_METHODS = frozenset(
    {
        "get_all_bundled_inputs",
        "get_num_bundled_inputs",
        "get_bundled_inputs_functions_and_info",
        "run_on_bundled_input",
    }
)


class BundledInputs(PythonRule):
    """Flags `torch.utils.bundled_inputs` and the methods it adds to a module.

    ## What it does
    Reports `augment_model_with_bundled_inputs`, `bundle_inputs`, the other helpers of
    `torch.utils.bundled_inputs`, and calls of `get_all_bundled_inputs()` and friends.

    ## Why is this bad?
    Bundled inputs are stored inside a TorchScript archive. ExecuTorch's counterpart is a
    bundled program (`.bpte`): `executorch.devtools.BundledProgram` with `MethodTestSuite`s that
    hold the inputs and the expected outputs, and the runtime can verify them on device.

    ## Example
    ```python
    augment_model_with_bundled_inputs(scripted, [(example,)])
    ```

    Use instead:
    ```python
    from executorch.devtools import BundledProgram
    from executorch.devtools.bundled_program.config import MethodTestCase, MethodTestSuite
    suite = MethodTestSuite("forward", [MethodTestCase(inputs=(example,), expected_outputs=(model(example),))])
    bundled = BundledProgram(et_program, [suite])
    ```

    ## Fix safety
    Display-only.
    """

    code = "MIG205"
    name = "bundled-inputs"
    message = (
        "bundled inputs live in TorchScript archives: bundle test inputs with "
        "`executorch.devtools.BundledProgram` (a `.bpte`) instead"
    )
    names = frozenset(
        {
            "torch.utils.bundled_inputs.*",
            "torch.utils.bundled_inputs.augment_model_with_bundled_inputs",
            "torch.utils.bundled_inputs.augment_many_model_functions_with_bundled_inputs",
            "torch.utils.bundled_inputs.bundle_inputs",
        }
    )
    tokens = tuple((m,) for m in sorted(_METHODS))

    VALID = [Valid("inputs = model.example_inputs()\n")]
    INVALID = [
        Invalid(
            "from torch.utils.bundled_inputs import augment_model_with_bundled_inputs\n"
            "augment_model_with_bundled_inputs(scripted, [(x,)])\n",
            line=2,
        ),
        Invalid("inputs = loaded.get_all_bundled_inputs()\n", line=1, column=10),
        Invalid("import torch.utils.bundled_inputs\ntorch.utils.bundled_inputs.bundle_inputs(m, {})\n"),
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        self.report(node)

    def visit_Call(self, node: cst.Call) -> None:
        if method_call(node, _METHODS):
            self.report(node)
