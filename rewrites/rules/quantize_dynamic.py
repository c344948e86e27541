from __future__ import annotations

import libcst as cst

from rewrites.model import FixSafety
from rewrites.rule import Invalid, Rule, Valid


class QuantizeDynamic(Rule):
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
        ),
        Invalid("from torch.ao.quantization import quantize_dynamic\nq = quantize_dynamic(m)\n"),
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        self.report(node)
