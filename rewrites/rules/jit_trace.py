from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.rules._chains import ChainRule, chain_edit, follow, locate, refused_detail
from rewrites.rules._export import as_args, export_call
from rewrites.rules._helpers import is_submodule_assignment


class JitTrace(ChainRule):
    """Flags `torch.jit.trace(model, example)`.

    ## What it does
    Reports uses of `torch.jit.trace` other than `self.sub = torch.jit.trace(...)` (see
    MIG111).

    ## Why is this bad?
    Tracing records a TorchScript graph that ExecuTorch cannot load, and `torch.export.export`
    rejects traced modules. `torch.export` is the successor: it also traces with example
    inputs, but it checks the trace (guards) instead of silently baking in Python control flow.

    ## Example
    ```python
    traced = torch.jit.trace(model, example)
    ```

    Use instead:
    ```python
    exported = torch.export.export(model.eval(), (example,))
    ```

    ## Fix safety
    Unsafe: `torch.export` fails where tracing silently specialised (data-dependent `if`,
    `.item()`), and `int`/`bool` inputs become specialised constants.

    The fix rewrites the traced value and every use of it in the function as one edit, or
    nothing, exactly as MIG101's fix does for a scripted value: see MIG101 for what becomes of
    wrappers, saves, calls, `_extra_files` and values that go elsewhere.
    """

    code = "MIG103"
    name = "jit-trace"
    message = (
        "`torch.jit.trace` makes TorchScript, which ExecuTorch cannot load: use "
        "`torch.export.export(model.eval(), (example,))` with the same example inputs"
    )
    fix_title = "Replace with `torch.export.export(model.eval(), example_args)`"
    fix_safety = FixSafety.UNSAFE
    names = frozenset({"torch.jit.trace"})

    VALID = [
        Valid("import torch\nep = torch.export.export(model.eval(), (x,))\n"),
        Valid(
            "import torch\nclass M(torch.nn.Module):\n    def __init__(self):\n        self.enc = torch.jit.trace(Enc(), x)\n"
        ),
        Valid("import torch\ntorch.autograd.profiler.trace(model)\n"),
        # for a graph view: MIG114 notes it, nothing rewrites it
        Valid("import torch\nwriter.add_graph(torch.jit.trace(model, im, strict=False), [])\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\nexample = torch.rand(1, 3, 224, 224)\ntraced = torch.jit.trace(model, example)\n",
            line=3,
            column=10,
            expected=(
                "import torch\nexample = torch.rand(1, 3, 224, 224)\n"
                "exported = torch.export.export(model.eval(), (example,))\n"
            ),
        ),
        Invalid(
            "from torch.jit import trace\ntraced = trace(model, (a, b))\n",
            expected="import torch\n\nexported = torch.export.export(model.eval(), (a, b))\n",
        ),
        Invalid(
            "import torch as T\ntraced = T.jit.trace(model.eval(), example, strict=False)\n",
            expected=(
                "import torch\n\n"
                "exported = torch.export.export(model.eval(), example if isinstance(example, tuple) else (example,))\n"
            ),
        ),
        Invalid(
            "import json\nimport torch\nfrom torch.utils.mobile_optimizer import optimize_for_mobile\n\n"
            "def export_torchscript(model, im, f, optimize):\n"
            "    ts = torch.jit.trace(model, im, strict=False)\n"
            "    extra_files = {'config.txt': json.dumps({'stride': 32})}\n"
            "    if optimize:\n"
            "        optimize_for_mobile(ts)._save_for_lite_interpreter(str(f), _extra_files=extra_files)\n"
            "    else:\n"
            "        ts.save(str(f), _extra_files=extra_files)\n",
            line=6,
            expected=(
                "import json\nimport torch\nimport os\nimport pathlib\n"
                "from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner\n"
                "from executorch.exir import to_edge_transform_and_lower\n\n"
                "def export_torchscript(model, im, f, optimize):\n"
                "    exported = torch.export.export(model.eval(), im if isinstance(im, tuple) else (im,))\n"
                "    extra_files = {'config.txt': json.dumps({'stride': 32})}\n"
                "    if optimize:\n"
                "        pathlib.Path(os.path.splitext(str(f))[0] + '.pte').write_bytes(to_edge_transform_and_lower("
                "exported, partitioner=[XnnpackPartitioner()], constant_methods=extra_files).to_executorch().buffer)\n"
                "    else:\n"
                "        pathlib.Path(os.path.splitext(str(f))[0] + '.pte').write_bytes(to_edge_transform_and_lower("
                "exported, partitioner=[XnnpackPartitioner()], constant_methods=extra_files).to_executorch().buffer)\n"
            ),
        ),
        Invalid(
            "import torch\nfrom torch.utils.mobile_optimizer import optimize_for_mobile\n"
            "tsl = torch.jit.trace(model, img, strict=False)\ntsl = optimize_for_mobile(tsl)\n"
            "tsl._save_for_lite_interpreter(f)\n",
            expected=(
                "import torch\nimport os\nimport pathlib\n"
                "from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner\n"
                "from executorch.exir import to_edge_transform_and_lower\n\n"
                "exported = torch.export.export(model.eval(), img if isinstance(img, tuple) else (img,))\n"
                "pathlib.Path(os.path.splitext(str(f))[0] + '.pte').write_bytes(to_edge_transform_and_lower("
                "exported, partitioner=[XnnpackPartitioner()]).to_executorch().buffer)\n"
            ),
        ),
        # `ts` also goes to a function the fix cannot see into: nothing in the chain changes.
        Invalid(
            "import torch\ndef export(model, im, f):\n    ts = torch.jit.trace(model, im)\n"
            "    ts.save(f)\n    upload(ts)\n",
            line=3,
            message="`torch.jit.trace` makes TorchScript, which ExecuTorch cannot load: use `torch.export.export(model.eval(), (example,))` with the same example inputs (not fixed: it goes on to `upload(ts)`, which the fix cannot follow)",
        ),
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        if is_submodule_assignment(self.ctx):
            return
        call = self.ctx.parent()
        if not (isinstance(call, cst.Call) and call.func is node):
            self.report(node)
            return
        args = {a.keyword.value if a.keyword else i: a.value for i, a in enumerate(call.args) if not a.star}
        model, example = args.get(0, args.get("func")), args.get(1, args.get("example_inputs"))
        exported = None
        if model is not None and example is not None:
            exported = export_call(self, model, as_args(self, example))
        place = locate(self.ctx)

        def step() -> None:
            chain = follow(self.ctx, call, place)
            if chain.foreign is not None:
                return  # not PyTorch Mobile's: MIG114 notes it
            edit = (
                None
                if exported is None
                else chain_edit(self, chain, exported, node, [("torch", None)], model)
            )
            self.report(node, edit, detail=refused_detail(chain))

        self.later(step)
