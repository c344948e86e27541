from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.python_checker import PythonRule

_FUNCTIONS = (
    "quantize_jit",
    "quantize_dynamic_jit",
    "prepare_jit",
    "prepare_dynamic_jit",
    "convert_jit",
    "convert_dynamic_jit",
    "fuse_conv_bn_jit",
)


class JitQuantization(PythonRule):
    """Flags JIT-mode quantization: `quantize_jit`, `prepare_jit`, `convert_jit` and friends.

    ## What it does
    Reports `quantize_jit`, `quantize_dynamic_jit`, `prepare_jit`, `prepare_dynamic_jit`,
    `convert_jit`, `convert_dynamic_jit` and `fuse_conv_bn_jit` from `torch.quantization`,
    `torch.ao.quantization` or `torch.ao.quantization.quantize_jit`.

    ## Why is this bad?
    They quantize a scripted or traced `ScriptModule`: the result is TorchScript with quantized
    ops ExecuTorch cannot load, and the API is deprecated. The ExecuTorch way quantizes the
    exported float graph with PT2E: `torch.export.export(model.eval(), example_inputs).module()`,
    `prepare_pt2e(graph, XNNPACKQuantizer().set_global(get_symmetric_quantization_config(...)))`
    (`is_dynamic=True` for the dynamic variants), run calibration data through it,
    `convert_pt2e`, then export and lower the result with the `XnnpackPartitioner`.

    ## Example
    ```python
    scripted = torch.jit.script(model.eval())
    quantized = torch.ao.quantization.quantize_jit(scripted, {"": qconfig}, calibrate, [data])
    ```

    Use instead:
    ```python
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
        XNNPACKQuantizer, get_symmetric_quantization_config)
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    graph = torch.export.export(model.eval(), example_inputs).module()
    prepared = prepare_pt2e(graph, XNNPACKQuantizer().set_global(get_symmetric_quantization_config()))
    calibrate(prepared, data)
    quantized = convert_pt2e(prepared)
    ```

    ## Fix safety
    Display-only: the scripted model, its qconfig dictionary and the calibration function are
    replaced by a different flow whose inputs the rule cannot know.
    """

    code = "MIG509"
    name = "jit-quantization"
    message = (
        "JIT-mode quantization (`{name}`) quantizes TorchScript, which ExecuTorch cannot load: "
        "export the float model, then `prepare_pt2e(graph, XNNPACKQuantizer().set_global("
        "get_symmetric_quantization_config({config})))`, calibrate, `convert_pt2e` "
        "(torchao.quantization.pt2e.quantize_pt2e)"
    )
    placeholders = {"name": "this API", "config": "is_per_channel=True"}
    names = frozenset(
        {f"torch.ao.quantization.{n}" for n in _FUNCTIONS}
        | {f"torch.ao.quantization.quantize_jit.{n}" for n in _FUNCTIONS}
    )

    VALID = [
        Valid("from torchao.quantization.pt2e.quantize_pt2e import prepare_pt2e\nm = prepare_pt2e(g, q)\n"),
        Valid("import torch\nm = torch.ao.quantization.quantize_dynamic(model)\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\nq = torch.quantization.quantize_jit(scripted, {'': qconfig}, calibrate, [data])\n",
            line=2,
            column=5,
            message="JIT-mode quantization (`quantize_jit`) quantizes TorchScript, which ExecuTorch cannot load: export the float model, then `prepare_pt2e(graph, XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True)))`, calibrate, `convert_pt2e` (torchao.quantization.pt2e.quantize_pt2e)",
        ),
        Invalid(
            "from torch.ao.quantization import prepare_dynamic_jit, convert_dynamic_jit\n"
            "p = prepare_dynamic_jit(traced, {'': qconfig})\nq = convert_dynamic_jit(p)\n",
            count=2,
            message="JIT-mode quantization (`prepare_dynamic_jit`) quantizes TorchScript, which ExecuTorch cannot load: export the float model, then `prepare_pt2e(graph, XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True, is_dynamic=True)))`, calibrate, `convert_pt2e` (torchao.quantization.pt2e.quantize_pt2e)",
        ),
        Invalid(
            "from torch.ao.quantization.quantize_jit import prepare_jit, convert_jit\n"
            "q = convert_jit(prepare_jit(scripted, {'': qconfig}))\n",
            count=2,
            message="JIT-mode quantization (`convert_jit`) quantizes TorchScript, which ExecuTorch cannot load: export the float model, then `prepare_pt2e(graph, XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True)))`, calibrate, `convert_pt2e` (torchao.quantization.pt2e.quantize_pt2e)",
        ),
        Invalid(
            "import torch.ao.quantization.quantize_jit as qj\nq = qj.quantize_dynamic_jit(scripted, {'': qconfig})\n",
            message="JIT-mode quantization (`quantize_dynamic_jit`) quantizes TorchScript, which ExecuTorch cannot load: export the float model, then `prepare_pt2e(graph, XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True, is_dynamic=True)))`, calibrate, `convert_pt2e` (torchao.quantization.pt2e.quantize_pt2e)",
        ),
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        function = qualified_name.rsplit(".", 1)[-1]
        config = "is_per_channel=True, is_dynamic=True" if "dynamic" in function else "is_per_channel=True"
        self.report(node, args={"name": function, "config": config})
