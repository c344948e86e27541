from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.names import subtree
from rewrites.python_checker import Edit, PythonRule
from rewrites.rules._pt2e import call_statement, code, example_args, quantizer, replace_line


class QuantizeDynamic(PythonRule):
    """Flags `torch.ao.quantization.quantize_dynamic`.

    ## What it does
    Reports eager dynamic quantization (`quantize_dynamic(model, {nn.Linear, nn.LSTM}, ...)`).

    ## Why is this bad?
    It swaps modules for `torch.ao.nn.quantized.dynamic` ones with packed weights that
    `torch.export` cannot capture. The ExecuTorch counterpart is PT2E with a dynamic config:
    `XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True,
    is_dynamic=True))`, `prepare_pt2e`, one calibration call, `convert_pt2e`, then lower to
    XNNPACK, which runs the int8 dynamic linear kernels.

    ## Example
    ```python
    qmodel = torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
    ```

    Use instead:
    ```python
    graph = torch.export.export(model.eval(), example_inputs).module()
    quantizer = XNNPACKQuantizer().set_global(
        get_symmetric_quantization_config(is_per_channel=True, is_dynamic=True))
    prepared = prepare_pt2e(graph, quantizer)
    prepared(*example_inputs)
    qmodel = convert_pt2e(prepared)
    ```

    ## Fix safety
    Unsafe: quantized numerics change with the quantizer, and LSTMs are quantized through
    their linear layers only.
    """

    code = "MIG504"
    name = "quantize-dynamic"
    message = (
        "`quantize_dynamic` makes packed modules `torch.export` cannot capture: use PT2E with "
        "`get_symmetric_quantization_config(is_per_channel=True, is_dynamic=True)` and XNNPACKQuantizer"
    )
    fix_title = "Quantize dynamically with PT2E"
    fix_safety = FixSafety.UNSAFE
    names = frozenset(
        {"torch.ao.quantization.quantize_dynamic", "torch.ao.quantization.quantize.quantize_dynamic"}
    )

    VALID = [Valid("import torch\nm = torch.compile(model)\n")]
    INVALID = [
        Invalid(
            "import torch\nq = torch.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)\n",
            line=2,
            column=5,
            expected="import torch\nfrom executorch.backends.xnnpack.quantizer.xnnpack_quantizer import XNNPACKQuantizer, get_symmetric_quantization_config\nfrom torchao.quantization.pt2e import allow_exported_model_train_eval\nfrom torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e\n\nq = prepare_pt2e(torch.export.export(model.eval(), EXAMPLE_INPUTS_NEEDED_BY_TORCH_EXPORT).module(), XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True, is_dynamic=True)))\nq(*EXAMPLE_INPUTS_NEEDED_BY_TORCH_EXPORT)  # one calibration run records the weight ranges\nq = convert_pt2e(q)\nallow_exported_model_train_eval(q)\n",
        ),
        Invalid(
            "from torch.ao.quantization import quantize_dynamic\nq = quantize_dynamic(m)\n",
            expected="import torch\nfrom executorch.backends.xnnpack.quantizer.xnnpack_quantizer import XNNPACKQuantizer, get_symmetric_quantization_config\nfrom torchao.quantization.pt2e import allow_exported_model_train_eval\nfrom torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e\n\nq = prepare_pt2e(torch.export.export(m.eval(), EXAMPLE_INPUTS_NEEDED_BY_TORCH_EXPORT).module(), XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True, is_dynamic=True)))\nq(*EXAMPLE_INPUTS_NEEDED_BY_TORCH_EXPORT)  # one calibration run records the weight ranges\nq = convert_pt2e(q)\nallow_exported_model_train_eval(q)\n",
        ),
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        self.report(node, edit=self._pt2e(node))

    def _pt2e(self, node: cst.BaseExpression) -> Edit | None:
        call = self.ctx.parent()
        if not isinstance(call, cst.Call) or call.func is not node or not call.args or call.args[0].keyword:
            return None
        found = call_statement(self, call)
        if found is None or found[1] is None:
            return None
        line, target = found
        model = call.args[0].value
        args = example_args(self, model)
        sources = [
            f"{target} = prepare_pt2e(torch.export.export({code(model)}.eval(), {args}).module(), {quantizer(dynamic=True)})",
            f"{target}(*{args})  # one calibration run records the weight ranges",
            f"{target} = convert_pt2e({target})",
            f"allow_exported_model_train_eval({target})",
        ]
        return replace_line(
            self,
            line,
            sources,
            dropped=[n for n in subtree(call) if isinstance(n, (cst.Name, cst.Attribute))],
        )
