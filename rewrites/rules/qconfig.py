from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.names import subtree
from rewrites.python_checker import PythonRule
from rewrites.rules._fixes import remove_statement, statement_line

_HELPERS = (
    "QConfig",
    "QConfigDynamic",
    "QConfigMapping",
    "get_default_qconfig",
    "get_default_qat_qconfig",
    "get_default_qconfig_mapping",
    "get_default_qat_qconfig_mapping",
    "default_qconfig",
    "default_dynamic_qconfig",
    "default_per_channel_qconfig",
    "per_channel_dynamic_qconfig",
    "float16_dynamic_qconfig",
    "default_qat_qconfig",
    "float_qparams_weight_only_qconfig",
    "propagate_qconfig_",
)


class Qconfig(PythonRule):
    """Flags eager quantization configs: `.qconfig = ...` and the qconfig helpers.

    ## What it does
    Reports assignments to a module's `qconfig` attribute, and `QConfig`,
    `get_default_qconfig(...)`, `QConfigMapping` and the `default_*qconfig` presets.

    ## Why is this bad?
    PT2E describes quantization with a quantizer, not per-module qconfigs:
    `XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True))`,
    with `set_module_type` / `set_module_name` for per-module choices.

    ## Example
    ```python
    model.qconfig = torch.ao.quantization.get_default_qconfig("qnnpack")
    ```

    Use instead:
    ```python
    quantizer = XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True))
    ```

    ## Fix safety
    Unsafe: the qconfig is removed; per-module settings must be restated on the quantizer.
    """

    code = "MIG505"
    name = "qconfig"
    message = (
        "eager qconfigs do not apply to PT2E: configure `XNNPACKQuantizer().set_global("
        "get_symmetric_quantization_config(...))` (`set_module_type` for per-module choices)"
    )
    fix_title = "Remove the qconfig (configure the PT2E quantizer)"
    fix_safety = FixSafety.UNSAFE
    names = frozenset(f"torch.ao.quantization.{n}" for n in _HELPERS) | frozenset(
        {"torch.ao.quantization.qconfig.*", "torch.ao.quantization.qconfig_mapping.*"}
    )
    tokens = ((".qconfig",),)

    VALID = [Valid("config = model.config\n"), Valid("print(model.qconfig)\n")]
    INVALID = [
        Invalid(
            "import torch\nmodel.qconfig = torch.ao.quantization.get_default_qconfig('qnnpack')\n",
            expected="\n",
        ),
        Invalid("model.fc.qconfig = None\n", line=1, column=1, expected="\n"),
        Invalid("from torch.quantization import default_qconfig\nqc = default_qconfig\n"),
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        if not self._in_qconfig_assignment():
            self.report(node)

    def visit_Assign(self, node: cst.Assign) -> None:
        if any(
            isinstance(t.target, cst.Attribute) and t.target.attr.value == "qconfig" for t in node.targets
        ):
            line = statement_line(self, node)
            dropped = [n for n in subtree(node.value) if isinstance(n, (cst.Name, cst.Attribute))]
            self.report(node, edit=None if line is None else remove_statement(self, line, dropped))

    def _in_qconfig_assignment(self) -> bool:
        """A helper used on the right of `m.qconfig = ...` is reported with that assignment."""
        return any(
            isinstance(n, cst.Assign)
            and any(
                isinstance(t.target, cst.Attribute) and t.target.attr.value == "qconfig" for t in n.targets
            )
            for n in self.ctx.ancestors()
        )
