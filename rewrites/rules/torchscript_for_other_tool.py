from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.rules._chains import ChainRule, follow, locate


class TorchScriptForOtherTool(ChainRule):
    """Notes TorchScript made for another tool than PyTorch Mobile; `apply` leaves it alone.

    ## What it does
    Reports, as information, a `torch.jit.trace` or `torch.jit.script` whose result goes
    to one of these instead of a TorchScript or PyTorch Mobile file:

    - converters for other runtimes: `coremltools.convert` (and the rest of `coremltools`),
      `torch.onnx.export` (and the rest of `torch.onnx`), `tvm.relay.frontend.from_pytorch`,
      `torch_tensorrt`, `openvino` (`convert_model`);
    - graph views: any `.add_graph(...)` (TensorBoard's `SummaryWriter`, `tensorboardX`),
      `torch.utils.tensorboard`, `hiddenlayer`;
    - profiling: `thop`, and a trace made inside `with torch.profiler.profile(...)`,
      `torch.autograd.profiler.profile`, `record_function` or `emit_nvtx`.

    MIG101 and MIG103 do not report these, and `migrate apply` never rewrites them, even when
    the value is also saved: the whole chain is left as it is.

    ## Why is this bad?
    It is not: the tool takes TorchScript (some versions take an `ExportedProgram` too), and it
    is no PyTorch Mobile dependency. Rewriting the trace to `torch.export.export` would break
    the converter or the dashboard. The note is there so that nothing TorchScript goes unseen
    in the scan; once checked, silence it with `# migrate: ignore[MIG114]` on its line (or
    `--ignore MIG114`).

    ## Example
    ```python
    writer.add_graph(torch.jit.trace(model, im, strict=False), [])
    ct_model = coremltools.convert(torch.jit.trace(model, im), inputs=[...])
    ```

    Leave it, or, where the tool takes one, give it an `ExportedProgram`:
    ```python
    ct_model = coremltools.convert(torch.export.export(model.eval(), (im,)), inputs=[...])
    ```

    ## Fix safety
    Display-only: whether the tool takes an `ExportedProgram` depends on its version.
    """

    code = "MIG114"
    name = "torchscript-for-other-tool"
    message = (
        "information: this TorchScript feeds another tool, not PyTorch Mobile; `migrate apply` "
        "leaves it as it is (`# migrate: ignore[MIG114]` once checked)"
    )
    names = frozenset({"torch.jit.trace", "torch.jit.script"})

    VALID = [
        Valid("import torch\nts = torch.jit.trace(model, im)\nts.save('m.pt')\n"),
        Valid("import torch\n@torch.jit.script\ndef f(x):\n    return x\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\nfrom torch.utils.tensorboard import SummaryWriter\n"
            "def log_graph(model, im):\n    tb = SummaryWriter()\n"
            "    tb.add_graph(torch.jit.trace(model, im, strict=False), [])\n",
            line=5,
            column=18,
            message="information: this `torch.jit.trace` feeds a dashboard's graph view (`add_graph`), not PyTorch Mobile; `migrate apply` leaves it as it is (`# migrate: ignore[MIG114]` once checked)",
        ),
        Invalid(
            "import torch\nimport coremltools as ct\n"
            "def export_coreml(model, im):\n    ts = torch.jit.trace(model, im, strict=False)\n"
            "    return ct.convert(ts, inputs=[ct.ImageType('image', shape=im.shape)])\n",
            line=4,
            message="information: this `torch.jit.trace` feeds Core ML's converter, not PyTorch Mobile; `migrate apply` leaves it as it is (`# migrate: ignore[MIG114]` once checked)",
        ),
        Invalid(
            "import torch\ntorch.onnx.export(torch.jit.script(model), (x,), 'm.onnx')\n",
            message="information: this `torch.jit.script` feeds the ONNX exporter, not PyTorch Mobile; `migrate apply` leaves it as it is (`# migrate: ignore[MIG114]` once checked)",
        ),
        Invalid(
            "import torch\nwith torch.profiler.profile() as prof:\n    traced = torch.jit.trace(model, x)\n"
            "    traced(x)\n",
            message="information: this `torch.jit.trace` feeds the profiler, not PyTorch Mobile; `migrate apply` leaves it as it is (`# migrate: ignore[MIG114]` once checked)",
        ),
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        call = self.ctx.parent()
        if not (isinstance(call, cst.Call) and call.func is node):
            return
        place = locate(self.ctx)

        def step() -> None:
            assert isinstance(call, cst.Call)
            chain = follow(self.ctx, call, place)
            if chain.foreign is not None:
                name = qualified_name.rsplit(".", 1)[-1]
                self.report(
                    node,
                    message=f"information: this `torch.jit.{name}` feeds {chain.foreign}, not PyTorch Mobile; "
                    "`migrate apply` leaves it as it is (`# migrate: ignore[MIG114]` once checked)",
                )

        self.later(step)
