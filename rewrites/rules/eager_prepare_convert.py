from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.names import subtree
from rewrites.python_checker import Edit, PythonRule
from rewrites.rules._pt2e import call_statement, code, example_args, inplace, quantizer, replace_line

_API = ("prepare", "convert", "prepare_qat", "quantize", "quantize_qat")
_FX = ("prepare_fx", "convert_fx", "prepare_qat_fx", "convert_to_reference_fx")


class EagerPrepareConvert(PythonRule):
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
    Unsafe: the calibration loop is kept, but quantized numerics change with the quantizer, and
    the exported graph only accepts inputs shaped like the example inputs it was exported with:
    calibration batches of another size must be reshaped (or exported with `dynamic_shapes`).
    `inplace=True` calls become assignments to the same name.
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
            expected="import torch\nfrom executorch.backends.xnnpack.quantizer.xnnpack_quantizer import XNNPACKQuantizer, get_symmetric_quantization_config\nfrom torchao.quantization.pt2e import allow_exported_model_train_eval\nfrom torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e\n\nprepared = prepare_pt2e(torch.export.export(model.eval(), EXAMPLE_INPUTS_NEEDED_BY_TORCH_EXPORT).module(), XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True)))  # calibrate with inputs shaped like these examples: the graph is specialised to them\nquantized = convert_pt2e(prepared)\nallow_exported_model_train_eval(quantized)\n",
        ),
        Invalid(
            "from torch.quantization import prepare_qat\nm = prepare_qat(model.train())\n",
            expected="import torch\nfrom executorch.backends.xnnpack.quantizer.xnnpack_quantizer import XNNPACKQuantizer, get_symmetric_quantization_config\nfrom torchao.quantization.pt2e import allow_exported_model_train_eval\nfrom torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e, prepare_qat_pt2e\n\nm = prepare_qat_pt2e(torch.export.export(model.train(), EXAMPLE_INPUTS_NEEDED_BY_TORCH_EXPORT).module(), XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True, is_qat=True)))  # calibrate with inputs shaped like these examples: the graph is specialised to them\n",
        ),
        Invalid(
            "from torch.ao.quantization.quantize_fx import prepare_fx\nm = prepare_fx(model, mapping, ex)\n",
            expected="import torch\nfrom executorch.backends.xnnpack.quantizer.xnnpack_quantizer import XNNPACKQuantizer, get_symmetric_quantization_config\nfrom torchao.quantization.pt2e import allow_exported_model_train_eval\nfrom torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e\n\nm = prepare_pt2e(torch.export.export(model.eval(), ex).module(), XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True)))  # calibrate with inputs shaped like these examples: the graph is specialised to them\n",
        ),
        Invalid(
            "import torch\ndef calibrate(model, batches):\n    torch.ao.quantization.prepare(model, inplace=True)\n"
            "    for batch in batches:\n        model(batch)\n    torch.ao.quantization.convert(model, inplace=True)\n"
            "    return model\n",
            count=2,
            expected="import torch\nfrom executorch.backends.xnnpack.quantizer.xnnpack_quantizer import XNNPACKQuantizer, get_symmetric_quantization_config\nfrom torchao.quantization.pt2e import allow_exported_model_train_eval\nfrom torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e\n\ndef calibrate(model, batches):\n    model = prepare_pt2e(torch.export.export(model.eval(), EXAMPLE_INPUTS_NEEDED_BY_TORCH_EXPORT).module(), XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True)))  # calibrate with inputs shaped like these examples: the graph is specialised to them\n    for batch in batches:\n        model(batch)\n    model = convert_pt2e(model)\n    allow_exported_model_train_eval(model)\n    return model\n",
        ),
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        self.report(node, edit=self._pt2e(node, qualified_name.rsplit(".", 1)[1]))

    def _pt2e(self, node: cst.BaseExpression, function: str) -> Edit | None:
        call = self.ctx.parent()
        if function not in _REWRITTEN or not isinstance(call, cst.Call) or call.func is not node:
            return None
        positional = [a.value for a in call.args if a.keyword is None and not a.star]
        found = call_statement(self, call)
        if not positional or found is None:
            return None
        line, target = found
        model = positional[0]
        if target is None:
            if not (inplace(call) and isinstance(model, cst.Name)):
                return None
            target = model.value  # `prepare(model, inplace=True)`: the new graph replaces the name
        dropped = [n for n in subtree(call) if isinstance(n, (cst.Name, cst.Attribute))]
        if function.startswith("convert"):
            sources = [
                f"{target} = convert_pt2e({code(model)})",
                f"allow_exported_model_train_eval({target})",
            ]
            return replace_line(self, line, sources, dropped)
        qat = "qat" in function
        args = (
            code(positional[2])
            if function.endswith("_fx") and len(positional) > 2
            else example_args(self, model)
        )
        graph = f"torch.export.export({code(model)}{'' if qat else '.eval()'}, {args}).module()"
        prepare = "prepare_qat_pt2e" if qat else "prepare_pt2e"
        sources = [
            f"{target} = {prepare}({graph}, {quantizer(qat=qat)})  "
            "# calibrate with inputs shaped like these examples: the graph is specialised to them"
        ]
        edit = replace_line(self, line, sources, dropped)
        if qat:
            edit = Edit(
                edit.changes,
                (*edit.add_imports, ("torchao.quantization.pt2e.quantize_pt2e", "prepare_qat_pt2e")),
                edit.unused_imports,
            )
        return edit


# The calls with a PT2E counterpart; `quantize` / `quantize_qat` (which run a calibration
# function for you) are left to the user.
_REWRITTEN = frozenset({"prepare", "prepare_qat", "convert", "prepare_fx", "prepare_qat_fx", "convert_fx"})
