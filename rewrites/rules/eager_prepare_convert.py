from __future__ import annotations

import libcst as cst

from rewrites.model import FixSafety
from rewrites.rule import Invalid, Rule, Valid

_API = ("prepare", "convert", "prepare_qat", "quantize", "quantize_qat")
_FX = ("prepare_fx", "convert_fx", "prepare_qat_fx", "convert_to_reference_fx")


class EagerPrepareConvert(Rule):
    """Flags eager-mode and FX static quantization: `prepare` / `convert` / `prepare_qat`.

    ## What it does
    Reports `torch.ao.quantization.prepare`, `convert`, `prepare_qat`, `quantize`,
    `quantize_qat` and their FX-graph-mode counterparts (`prepare_fx`, `convert_fx`, ...).

    ## Why is this bad?
    Their output holds packed quantized parameters that `torch.export` cannot capture, and
    `torch.ao.quantization.quantize_pt2e` no longer exists in torch 2.13. Re-quantize from the
    float model with PT2E, reusing the same calibration loop:

    ```python
    from torchao.quantization.pt2e.quantize_pt2e import prepare_pt2e, convert_pt2e
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
        XNNPACKQuantizer, get_symmetric_quantization_config)

    graph = torch.export.export(model.eval(), example_inputs).module()
    quantizer = XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True))
    prepared = prepare_pt2e(graph, quantizer)
    for batch in calibration_batches:
        prepared(batch)
    quantized = convert_pt2e(prepared)
    exported = torch.export.export(quantized, example_inputs)
    ```

    ## Example
    ```python
    prepared = torch.ao.quantization.prepare(model)
    calibrate(prepared)
    quantized = torch.ao.quantization.convert(prepared)
    ```

    Use instead: the PT2E flow above.

    ## Fix safety
    Unsafe: the calibration loop is kept, but quantized numerics change with the quantizer.
    """

    code = "MIG503"
    name = "eager-prepare-convert"
    message = (
        "eager/FX quantization cannot be exported: export the float model, then "
        "`prepare_pt2e(graph, XNNPACKQuantizer()...)`, calibrate, `convert_pt2e` "
        "(torchao.quantization.pt2e.quantize_pt2e)"
    )
    fix_title = "Switch to the PT2E flow"
    fix_safety = FixSafety.UNSAFE
    names = frozenset(
        {f"torch.ao.quantization.{n}" for n in _API}
        | {f"torch.ao.quantization.quantize.{n}" for n in ("prepare", "convert", "prepare_qat")}
        | {f"torch.ao.quantization.quantize_fx.{n}" for n in _FX}
    )

    VALID = [
        Valid("from torchao.quantization.pt2e.quantize_pt2e import prepare_pt2e\nm = prepare_pt2e(g, q)\n"),
        Valid("import torch\nm = prepare(model)\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\nprepared = torch.ao.quantization.prepare(model)\n"
            "quantized = torch.ao.quantization.convert(prepared)\n",
            count=2,
        ),
        Invalid("from torch.quantization import prepare_qat\nm = prepare_qat(model.train())\n"),
        Invalid(
            "from torch.ao.quantization.quantize_fx import prepare_fx\nm = prepare_fx(model, mapping, ex)\n"
        ),
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        self.report(node)
