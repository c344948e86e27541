from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.rules._chains import ChainRule, chain_edit, follow, locate, refused_detail, takes_late_inputs
from rewrites.rules._export import (
    PLACEHOLDER,
    eager_model,
    example_imports,
    export_call,
    find_example_args,
    project_example_args,
)
from rewrites.rules._helpers import enclosing_decorator, is_submodule_assignment

# What the fix adds to a file whose program it saves as a `.pte`
_LOWERING_IMPORTS = (
    "from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner\n"
    "from executorch.exir import to_edge_transform_and_lower\n"
)

# A file that defines its example inputs, up to the body of the function that scripts its model
_EXAMPLES_HERE = "\n\ndef example_inputs():\n    return (torch.rand(1, 3),)\n\n\ndef main(model):\n"

# A model made by a factory of another module, scripted and saved (the fix looks in the project for its
# example inputs) ...
_FACTORY_SCRIPT = (
    "import torch\n"
    "\n"
    "from nets import make_net\n"
    "\n"
    "net = make_net()\n"
    "scripted = torch.jit.script(net)\n"
    "scripted.save('net.pt')\n"
)


def _factory_exported(nets_imports: str, example: str) -> str:
    """... and what the fix makes of it, importing ``nets_imports`` and exporting with ``example``
    (new imports go into the file's isort sections)."""
    return (
        "import pathlib\n"
        "\n"
        "import torch\n" + _LOWERING_IMPORTS + "\n"
        f"from nets import {nets_imports}\n"
        "\n"
        "net = make_net()\n"
        f"exported = torch.export.export(net.eval(), {example})\n"
        "pathlib.Path('net.pte').write_bytes(to_edge_transform_and_lower(exported, partitioner=[XnnpackPartitioner()]).to_executorch().buffer)\n"
    )


class JitScript(ChainRule):
    """Flags `torch.jit.script(...)` used to compile a model or function.

    ## What it does
    Reports calls to (and other uses of) `torch.jit.script` outside decorators and
    `self.sub = torch.jit.script(Sub())` assignments, which have their own rules.

    ## Why is this bad?
    `torch.jit.script` produces a TorchScript `ScriptModule`. ExecuTorch does not load
    TorchScript, and `torch.export.export` rejects every `ScriptModule` (and any module
    holding one). The model must stay a plain `nn.Module` and be captured by `torch.export`.

    ## Example
    ```python
    scripted = torch.jit.script(model)
    ```

    Use instead:
    ```python
    exported = torch.export.export(model.eval(), example_inputs)
    ```

    ## Fix safety
    Unsafe: scripting needs no inputs but export does, so the fix uses example inputs found in
    scope or inserts a placeholder that fails loudly; control flow that scripting compiled
    must also be exportable (see the MIG4xx rules).

    The fix rewrites the scripted value and every use of it in the function as one edit, or
    nothing: wrappers (`optimize_for_mobile`, `freeze`, `optimize_for_inference`) are dropped,
    each `.save(f)`, `torch.jit.save(value, f)` and `._save_for_lite_interpreter(f)` lowers
    the program with XNNPACK and writes `f` with a `.pte` suffix, and a call `value(x)`
    becomes `value.module()(x)`. Where the value goes anywhere else (returned, handed to
    another function, assigned twice, an option the fix would drop), nothing is rewritten and
    every finding on the chain stays, with the reason in this one's message. A value fed to a
    converter for another runtime or a graph view is left as it is and noted by MIG114.

    `_extra_files` given to a save (metadata such as yolov5's `config.txt` JSON) becomes the
    program's `constant_methods`: the `.pte` stays one file, and the app reads each entry by
    running the method of that name, e.g. `program.load_method("config.txt").execute([])[0]`
    with `executorch.runtime` (strings only: ExecuTorch rejects `bytes` when lowering).
    """

    code = "MIG101"
    name = "jit-script"
    message = (
        "`torch.jit.script` makes TorchScript, which ExecuTorch cannot load: capture the eager "
        "module with `torch.export.export(model.eval(), example_inputs)` instead"
    )
    fix_title = "Replace with `torch.export.export(model.eval(), example_inputs)`"
    fix_safety = FixSafety.UNSAFE
    names = frozenset({"torch.jit.script"})

    VALID = [
        Valid("import torch\nexported = torch.export.export(model.eval(), (x,))\n"),
        Valid("import torch\n@torch.jit.script\ndef f(x):\n    return x\n"),
        Valid("from mylib import jit\njit.script(model)\n"),
        # for another runtime's converter: MIG114 notes it, nothing rewrites it
        Valid(
            "import torch\nimport coremltools as ct\nmlmodel = ct.convert(torch.jit.script(model), inputs=inputs)\n"
        ),
        Valid(
            "import torch\nclass M(torch.nn.Module):\n    def __init__(self):\n        self.sub = torch.jit.script(Sub())\n"
        ),
    ]
    INVALID = [
        Invalid(
            "import torch\nscripted = torch.jit.script(model)\n",
            line=2,
            column=12,
            expected="import torch\nexported = torch.export.export(model.eval(), EXAMPLE_INPUTS_NEEDED_BY_TORCH_EXPORT)\n",
        ),
        Invalid(
            "import torch\ndef export(model, out):\n    dummy_input = torch.zeros(1, 16)\n"
            "    scripted = torch.jit.script(model)\n    scripted.save(out, _extra_files={'labels.txt': 'yes\\nno'})\n",
            expected=(
                "import torch\nimport os\nimport pathlib\n" + _LOWERING_IMPORTS + "\n"
                "def export(model, out):\n    dummy_input = torch.zeros(1, 16)\n"
                "    exported = torch.export.export(model.eval(), (dummy_input,))\n"
                "    pathlib.Path(os.path.splitext(str(out))[0] + '.pte').write_bytes(to_edge_transform_and_lower("
                "exported, partitioner=[XnnpackPartitioner()], constant_methods={'labels.txt': 'yes\\nno'})"
                ".to_executorch().buffer)\n"
            ),
        ),
        Invalid(
            "import torch\ndef check(net, x, y):\n    reference = net(x, y)\n"
            "    scripted = torch.jit.script(net)\n    return scripted(x, y) - reference\n",
            expected=(
                "import torch\ndef check(net, x, y):\n    reference = net(x, y)\n"
                "    exported = torch.export.export(net.eval(), (x, y))\n"
                "    return exported.module()(x, y) - reference\n"
            ),
        ),
        # The caller gets the value: its uses are out of sight, so nothing is rewritten.
        Invalid(
            "import torch\ndef make(model):\n    return torch.jit.script(model)\n",
            message="`torch.jit.script` makes TorchScript, which ExecuTorch cannot load: capture the eager module with `torch.export.export(model.eval(), example_inputs)` instead (not fixed: it goes on to `return torch.jit.script(model)`, which the fix cannot follow)",
        ),
        Invalid(
            "import torch.jit as jit\nm = jit.script(model)\n",
            line=2,
            column=5,
            expected="import torch\n\nm = torch.export.export(model.eval(), EXAMPLE_INPUTS_NEEDED_BY_TORCH_EXPORT)\n",
        ),
        Invalid(
            "from torch import jit\nm = jit.script(model)\n",
            expected="import torch\n\nm = torch.export.export(model.eval(), EXAMPLE_INPUTS_NEEDED_BY_TORCH_EXPORT)\n",
        ),
        Invalid(
            "from torch.jit import script as s\nm = s(model)\n",
            line=2,
            column=5,
            expected="import torch\n\nm = torch.export.export(model.eval(), EXAMPLE_INPUTS_NEEDED_BY_TORCH_EXPORT)\n",
        ),
        Invalid(
            "from torch.jit import *\nm = script(model)\n",
            expected="from torch.jit import *\nimport torch\n\nm = torch.export.export(model.eval(), EXAMPLE_INPUTS_NEEDED_BY_TORCH_EXPORT)\n",
        ),
        # example inputs defined in this file
        Invalid(
            "import torch\n"
            + _EXAMPLES_HERE
            + "    scripted = torch.jit.script(model)\n    scripted.save('m.pt')\n",
            expected=(
                "import torch\nimport pathlib\n"
                + _LOWERING_IMPORTS
                + _EXAMPLES_HERE
                + "    exported = torch.export.export(model.eval(), example_inputs())\n"
                "    pathlib.Path('m.pte').write_bytes(to_edge_transform_and_lower(exported, partitioner=[XnnpackPartitioner()]).to_executorch().buffer)\n"
            ),
        ),
        # example inputs from the module that defines the model's factory (the import is added)
        Invalid(
            _FACTORY_SCRIPT,
            project=(
                (
                    "nets.py",
                    "def make_net():\n    return Net()\n\n\ndef get_example_inputs():\n    return (torch.rand(2, 8),)\n",
                ),
            ),
            expected=_factory_exported("get_example_inputs, make_net", "get_example_inputs()"),
        ),
        # a streaming model's sanity checks: the export takes the inputs of the first call, the checks call
        # the eager model, `step` is a program of its own and `init_state()` a constant method
        Invalid(
            (
                "import torch\n"
                "\n"
                "\n"
                "def main(model, out):\n"
                "    scripted = torch.jit.script(model)\n"
                "    clip = torch.randn(1, 10, 20)\n"
                "    print(scripted(clip))\n"
                "    state = scripted.init_state()\n"
                "    scores, state = scripted.step(clip[:, :1], state)\n"
                "    scripted._save_for_lite_interpreter(out)\n"
            ),
            expected=(
                "import torch\n"
                "import os\n"
                "import pathlib\n" + _LOWERING_IMPORTS + "\n"
                "\n"
                "class MethodAsForward(torch.nn.Module):\n"
                '    """One method of a model as the `forward` of a program of its own (a method of the `.pte`)."""\n'
                "\n"
                "    def __init__(self, model: torch.nn.Module, method: str) -> None:\n"
                "        super().__init__()\n"
                "        self.model = model\n"
                "        self.method = method\n"
                "\n"
                "    def forward(self, *args):\n"
                "        return getattr(self.model, self.method)(*args)\n"
                "\n"
                "\n"
                "def main(model, out):\n"
                "    clip = torch.randn(1, 10, 20)\n"
                "    print(model(clip))\n"
                "    state = model.init_state()\n"
                "    scores, state = model.step(clip[:, :1], state)\n"
                '    pathlib.Path(os.path.splitext(str(out))[0] + \'.pte\').write_bytes(to_edge_transform_and_lower({"forward": torch.export.export(model.eval(), (clip,)), "step": torch.export.export(MethodAsForward(model, "step"), (clip[:, :1], state))}, partitioner=[XnnpackPartitioner()], constant_methods={"init_state": model.init_state()}).to_executorch().buffer)\n'
            ),
        ),
        # a method called after the save: its inputs come too late, nothing is rewritten
        Invalid(
            (
                "import torch\n"
                "\n"
                "\n"
                "def main(model, out, frame, state):\n"
                "    scripted = torch.jit.script(model)\n"
                "    scripted.save(out)\n"
                "    scripted.step(frame, state)\n"
            ),
            line=5,
            message="`torch.jit.script` makes TorchScript, which ExecuTorch cannot load: capture the eager module with `torch.export.export(model.eval(), example_inputs)` instead (not fixed: `scripted.step` is called after the save, so its example inputs come too late)",
        ),
        # the example a trace of a model from the same factory was given elsewhere comes first
        Invalid(
            _FACTORY_SCRIPT,
            project=(
                (
                    "bench.py",
                    "import torch\nfrom nets import make_net\nts = torch.jit.trace(make_net().eval(), torch.rand(2, 8))\n",
                ),
                (
                    "nets.py",
                    "def make_net():\n    return Net()\n\n\ndef example_inputs():\n    return (torch.rand(1, 8),)\n",
                ),
            ),
            expected=_factory_exported("make_net", "(torch.rand(2, 8),)"),
        ),
        # a print of the program keeps working; a print of the saved path names the .pte
        Invalid(
            (
                "import torch\n"
                "\n"
                "\n"
                "def main(model, out, x):\n"
                "    scripted = torch.jit.script(model)\n"
                "    print(scripted(x))\n"
                "    scripted.save(out)\n"
                "    print(scripted)\n"
                "    print(f'saved {out}')\n"
            ),
            expected=(
                "import torch\n"
                "import os\n"
                "import pathlib\n" + _LOWERING_IMPORTS + "\n"
                "\n"
                "def main(model, out, x):\n"
                "    print(model(x))\n"
                "    pte_path = os.path.splitext(str(out))[0] + '.pte'\n"
                "    pathlib.Path(pte_path).write_bytes(to_edge_transform_and_lower(torch.export.export(model.eval(), (x,)), partitioner=[XnnpackPartitioner()]).to_executorch().buffer)\n"
                "    print(model)\n"
                "    print(f'saved {pte_path}')\n"
            ),
        ),
        # one name for the program, no alias left, and one `.pte` where a `.pt` and a `.ptl` were saved
        Invalid(
            (
                "import torch\n"
                "from torch.utils.mobile_optimizer import optimize_for_mobile\n"
                "\n"
                "\n"
                "def main(model, x):\n"
                "    scripted = torch.jit.script(model)\n"
                "    optimized = optimize_for_mobile(scripted)\n"
                "    optimized.save('app/model.pt')\n"
                "    optimized._save_for_lite_interpreter('app/model.ptl')\n"
            ),
            expected=(
                "import torch\n"
                "import pathlib\n" + _LOWERING_IMPORTS + "\n"
                "\n"
                "def main(model, x):\n"
                "    exported = torch.export.export(model.eval(), EXAMPLE_INPUTS_NEEDED_BY_TORCH_EXPORT)\n"
                "    pathlib.Path('app/model.pte').write_bytes(to_edge_transform_and_lower(exported, partitioner=[XnnpackPartitioner()]).to_executorch().buffer)\n"
            ),
        ),
        Invalid(
            "import torch\ncompiled = [torch.jit.script(m) for m in models]\n",
            message="`torch.jit.script` makes TorchScript, which ExecuTorch cannot load: capture the eager module with `torch.export.export(model.eval(), example_inputs)` instead (not fixed: it goes on to `compiled = [torch.jit.script(m) for m in models]`, which the fix cannot follow)",
        ),
        Invalid("import torch\ncompile_fn = torch.jit.script\n"),
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        if enclosing_decorator(self.ctx) is not None or is_submodule_assignment(self.ctx):
            return
        call = self.ctx.parent()
        if not (isinstance(call, cst.Call) and call.func is node):
            self.report(node)
            return
        exported = model = from_project = None
        if len(call.args) == 1 and not call.args[0].keyword:
            model = call.args[0].value
            example = find_example_args(self, model, project=False)
            if example is None:  # calls after the scripting line come before the project's examples
                project_example = project_example_args(self, model)
                if project_example is not None:
                    from_project = export_call(self, model, project_example)
            exported = export_call(self, model, example or cst.Name(PLACEHOLDER))
            model = eager_model(self, model)
        place = locate(self.ctx)

        def step() -> None:
            nonlocal exported
            chain = follow(self.ctx, call, place)
            if chain.foreign is not None:
                return  # not PyTorch Mobile's: MIG114 notes it
            if from_project is not None and not (exported and takes_late_inputs(chain, exported, model)):
                exported = from_project
            imports: list[tuple[str, str | None]] = [("torch", None)]
            if exported is not None:
                imports += example_imports(self, cst.Module([]).code_for_node(exported))
            edit = None if exported is None else chain_edit(self, chain, exported, node, imports, model)
            self.report(node, edit, detail=refused_detail(chain))

        self.later(step)
