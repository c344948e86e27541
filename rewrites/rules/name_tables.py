"""Rules that differ only in data: a table of names, each row a rule with its code, message,
fix and examples.

``ReportedName`` rows report every use of one of their ``names`` (display-only: what to write
instead is the message). ``RemovedDecorator`` rows remove a ``decorator`` that means nothing
outside TorchScript; ``DroppedWrapper`` rows drop a call of a ``wrapper`` of a TorchScript
value. Those two kinds derive their fix's title (and the names they match) from it. A rule with
logic of its own has a file of its own.
"""

from __future__ import annotations

from typing import ClassVar

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.python_checker import PythonRule
from rewrites.rules._chains import ChainRule, unwrap
from rewrites.rules._fixes import remove_decorator
from rewrites.rules._helpers import enclosing_decorator


class ReportedName(PythonRule):
    """Every use of one of ``names`` is a finding."""

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        self.report(node)


class RemovedDecorator(PythonRule):
    """``decorator`` (or another of ``names``) used as a decorator: remove it. Other uses are
    reported without a fix unless another rule owns them (``other_uses``)."""

    decorator: ClassVar[str]
    other_uses: ClassVar[bool] = True
    fix_safety = FixSafety.SAFE

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.names = cls.names | {cls.decorator}
        cls.fix_title = f"Remove `@{cls.decorator}`"

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        decorator = enclosing_decorator(self.ctx)
        if decorator is not None:
            self.report(decorator, edit=remove_decorator(self, decorator, node))
        elif self.other_uses:
            self.report(node)


class DroppedWrapper(ChainRule):
    """A call of ``wrapper`` wraps a TorchScript value: drop it, and rewrite the uses of what it
    returned for the value it wrapped (``rules._chains.unwrap``)."""

    wrapper: ClassVar[str]
    fix_safety = FixSafety.UNSAFE

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.names = cls.names | {cls.wrapper}
        cls.fix_title = f"Remove the `{cls.wrapper}` call"

    @classmethod
    def doc(cls) -> str:
        """The row's docs, then every wrapper's fix safety and how its fix goes with the chain it
        is part of."""
        return (
            f"{super().doc()}\n\n"
            "## Fix safety\n"
            "Unsafe: the fix drops the call and keeps its argument.\n\n"
            "When what it wraps is TorchScript made in the same file, the fix of what made it drops\n"
            "this call along with the rest of the chain (MIG101, MIG103); otherwise this fix rewrites\n"
            "every use of the result with it, or none."
        )

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        call = self.ctx.parent()
        if not (isinstance(call, cst.Call) and call.func is node):
            self.report(node)
            return
        unwrap(self, call, node)


# --- decorators to remove -------------------------------------------------------------------


class JitScriptDecorator(RemovedDecorator):
    """Flags `@torch.jit.script` on functions and classes.

    ## What it does
    Reports `@torch.jit.script` used as a decorator.

    ## Why is this bad?
    The decorator compiles the function (or TorchScript class) when it is defined. Under
    `torch.export` the compiled `ScriptFunction` cannot be traced, so a model calling it fails
    to export. Plain Python functions are traced as they are.

    ## Example
    ```python
    @torch.jit.script
    def swish(x):
        return x * torch.sigmoid(x)
    ```

    Use instead:
    ```python
    def swish(x):
        return x * torch.sigmoid(x)
    ```

    ## Fix safety
    Safe: outside TorchScript the decorated function behaves exactly like the plain one.
    """

    code = "MIG102"
    name = "jit-script-decorator"
    message = (
        "`@torch.jit.script` compiles this to TorchScript, which `torch.export` cannot trace: "
        "remove the decorator"
    )
    decorator = "torch.jit.script"
    other_uses = False  # `torch.jit.script(model)` is MIG101's

    VALID = [
        Valid("import torch\ndef swish(x):\n    return x * torch.sigmoid(x)\n"),
        Valid("import torch\nm = torch.jit.script(model)\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\n@torch.jit.script\ndef swish(x):\n    return x * torch.sigmoid(x)\n",
            line=2,
            column=1,
            expected="import torch\ndef swish(x):\n    return x * torch.sigmoid(x)\n",
        ),
        Invalid(
            "from torch import jit\n\n@jit.script\nclass Pair:\n    pass\n",
            line=3,
            expected="\nclass Pair:\n    pass\n",
        ),
    ]


class ScriptMethod(RemovedDecorator):
    """Flags `@torch.jit.script_method`.

    ## What it does
    Reports the `@torch.jit.script_method` decorator on methods of `ScriptModule` subclasses.

    ## Why is this bad?
    It only means something on a `ScriptModule`, which cannot be exported (MIG109). On an
    `nn.Module` the method is a plain method that `torch.export` traces.

    ## Example
    ```python
    @torch.jit.script_method
    def forward(self, x):
        return x
    ```

    Use instead:
    ```python
    def forward(self, x):
        return x
    ```

    ## Fix safety
    Safe: the eager method is unchanged.
    """

    code = "MIG110"
    name = "script-method"
    message = "`@torch.jit.script_method` is TorchScript-only: remove it (and derive from `nn.Module`)"
    decorator = "torch.jit.script_method"

    VALID = [Valid("import torch\nclass M(torch.nn.Module):\n    def forward(self, x):\n        return x\n")]
    INVALID = [
        Invalid(
            "import torch\nclass M(torch.jit.ScriptModule):\n"
            "    @torch.jit.script_method\n    def forward(self, x):\n        return x\n",
            line=3,
            column=5,
            expected=(
                "import torch\nclass M(torch.jit.ScriptModule):\n    def forward(self, x):\n        return x\n"
            ),
        ),
    ]


class ScriptIfTracing(RemovedDecorator):
    """Flags `@torch.jit.script_if_tracing`.

    ## What it does
    Reports the `torch.jit.script_if_tracing` decorator (and calls of it).

    ## Why is this bad?
    It scripts the function only while `torch.jit.trace` runs, so that its control flow
    survives tracing. `torch.export` does not honour it; the function is traced as Python, and
    its control flow must be exportable (`torch.cond`, bounded loops).

    ## Example
    ```python
    @torch.jit.script_if_tracing
    def pad_to(x, n: int):
        ...
    ```

    Use instead:
    ```python
    def pad_to(x, n: int):
        ...
    ```

    ## Fix safety
    Safe: outside `torch.jit.trace` the decorator already does nothing.
    """

    code = "MIG112"
    name = "script-if-tracing"
    message = (
        "`torch.jit.script_if_tracing` has no effect under `torch.export`: remove it and make "
        "the function's control flow exportable"
    )
    decorator = "torch.jit.script_if_tracing"
    names = frozenset({"torch.jit._script_if_tracing"})

    VALID = [Valid("import torch\ndef pad_to(x, n: int):\n    return x\n")]
    INVALID = [
        Invalid(
            "import torch\n@torch.jit.script_if_tracing\ndef pad_to(x, n: int):\n    return x\n",
            line=2,
            expected="def pad_to(x, n: int):\n    return x\n",
        ),
    ]


class JitIgnore(RemovedDecorator):
    """Flags `@torch.jit.ignore` (with or without `drop=True`).

    ## What it does
    Reports the `torch.jit.ignore` decorator.

    ## Why is this bad?
    It tells the TorchScript compiler to leave a method as Python. `torch.export` does not
    honour it: the body is traced like any other code, so the decorator only misleads readers.
    If the body cannot be traced (file I/O, numpy, logging of tensor values), move it out of the
    exported path.

    ## Example
    ```python
    @torch.jit.ignore
    def debug_stats(self, x):
        return x.mean()
    ```

    Use instead:
    ```python
    def debug_stats(self, x):
        return x.mean()
    ```

    ## Fix safety
    Safe: outside TorchScript the decorator returns the function unchanged.
    """

    code = "MIG301"
    name = "jit-ignore"
    message = (
        "`@torch.jit.ignore` is TorchScript-only and `torch.export` traces the body anyway: "
        "remove it (and keep untraceable code out of `forward`)"
    )
    decorator = "torch.jit.ignore"

    VALID = [Valid("import torch\nclass M(torch.nn.Module):\n    def stats(self, x):\n        return x\n")]
    INVALID = [
        Invalid(
            "import torch\nclass M(torch.nn.Module):\n    @torch.jit.ignore\n    def stats(self, x):\n        return x\n",
            line=3,
            column=5,
            expected="import torch\nclass M(torch.nn.Module):\n    def stats(self, x):\n        return x\n",
        ),
        Invalid(
            "from torch import jit\n@jit.ignore(drop=True)\ndef f(x):\n    return x\n",
            line=2,
            expected="def f(x):\n    return x\n",
        ),
        Invalid(
            "import torch\n\n# Debug only.\n@torch.jit.ignore  # not scriptable\n@staticmethod\ndef f(x):\n    return x\n",
            expected="\n# Debug only.\n# not scriptable\n@staticmethod\ndef f(x):\n    return x\n",
        ),
    ]


class JitUnused(RemovedDecorator):
    """Flags `@torch.jit.unused`.

    ## What it does
    Reports the `torch.jit.unused` decorator.

    ## Why is this bad?
    It replaces a method with a stub that raises when scripted. `torch.export` ignores it and
    traces the real body if it is reached, so it documents nothing true after migration.

    ## Example
    ```python
    @torch.jit.unused
    def forward_train(self, x):
        ...
    ```

    Use instead:
    ```python
    def forward_train(self, x):
        ...
    ```

    ## Fix safety
    Safe: in eager mode the decorator returns the function unchanged.
    """

    code = "MIG302"
    name = "jit-unused"
    message = "`@torch.jit.unused` is TorchScript-only: remove it"
    decorator = "torch.jit.unused"

    VALID = [Valid("import torch\ndef f(x):\n    return x\n")]
    INVALID = [
        Invalid(
            "import torch\n@torch.jit.unused\ndef f(x):\n    return x\n",
            line=2,
            column=1,
            expected="def f(x):\n    return x\n",
        )
    ]


# --- wrappers to drop ------------------------------------------------------------------------


class JitFreeze(DroppedWrapper):
    """Flags `torch.jit.freeze(scripted)`.

    ## What it does
    Reports uses of `torch.jit.freeze`.

    ## Why is this bad?
    Freezing inlines a `ScriptModule`'s parameters as constants. `torch.export` already lifts
    parameters into the program and ExecuTorch stores them as constants in the `.pte`, so the
    call has no ExecuTorch counterpart and needs a `ScriptModule` to run at all.

    ## Example
    ```python
    frozen = torch.jit.freeze(torch.jit.script(model.eval()))
    ```

    Use instead:
    ```python
    exported = torch.export.export(model.eval(), example_inputs)
    ```
    """

    code = "MIG105"
    name = "jit-freeze"
    message = (
        "`torch.jit.freeze` only works on TorchScript; `torch.export` and ExecuTorch already store "
        "parameters as constants, so drop the call"
    )
    wrapper = "torch.jit.freeze"

    VALID = [Valid("import torch\nm = model.eval()\n")]
    INVALID = [
        # TorchScript made here: MIG101's fix drops the freeze with the rest of the chain.
        Invalid("import torch\nfrozen = torch.jit.freeze(torch.jit.script(model.eval()))\n"),
        Invalid(
            "from torch.jit import freeze\nm = freeze(sm, preserved_attrs=['version'])\n", expected="m = sm\n"
        ),
    ]


class JitOptimizeForInference(DroppedWrapper):
    """Flags `torch.jit.optimize_for_inference(scripted)`.

    ## What it does
    Reports uses of `torch.jit.optimize_for_inference`.

    ## Why is this bad?
    It freezes a `ScriptModule` and runs TorchScript-only graph passes (conv-bn folding, MKLDNN
    layouts). ExecuTorch applies its own equivalents when lowering:
    `to_edge_transform_and_lower(..., partitioner=[XnnpackPartitioner()])` folds batch norms
    and prepacks weights for XNNPACK.

    ## Example
    ```python
    model = torch.jit.optimize_for_inference(torch.jit.script(model.eval()))
    ```

    Use instead:
    ```python
    exported = torch.export.export(model.eval(), example_inputs)
    program = to_edge_transform_and_lower(exported, partitioner=[XnnpackPartitioner()])
    ```
    """

    code = "MIG106"
    name = "jit-optimize-for-inference"
    message = (
        "`torch.jit.optimize_for_inference` is a TorchScript pass; ExecuTorch folds and prepacks "
        "in `to_edge_transform_and_lower(..., partitioner=[XnnpackPartitioner()])`: drop the call"
    )
    wrapper = "torch.jit.optimize_for_inference"

    VALID = [Valid("import torch\nm = torch.compile(model)\n")]
    INVALID = [
        # TorchScript made here: MIG101's fix drops the call with the rest of the chain.
        Invalid("import torch\nm = torch.jit.optimize_for_inference(torch.jit.script(model))\n"),
        Invalid(
            "import torch\ndef save(scripted, path):\n    m = torch.jit.optimize_for_inference(scripted)\n    torch.jit.save(m, path)\n",
            expected=(
                "import os\nimport pathlib\n"
                "from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner\n"
                "from executorch.exir import to_edge_transform_and_lower\n\n"
                "def save(scripted, path):\n    m = scripted\n"
                "    pathlib.Path(os.path.splitext(str(path))[0] + '.pte').write_bytes(to_edge_transform_and_lower("
                "m, partitioner=[XnnpackPartitioner()]).to_executorch().buffer)\n"
            ),
        ),
    ]


# --- names whose every use is a finding -----------------------------------------------------


class JitTraceModule(ReportedName):
    """Flags `torch.jit.trace_module(model, {"method": inputs, ...})`.

    ## What it does
    Reports uses of `torch.jit.trace_module`, which traces several methods of one module.

    ## Why is this bad?
    The result is TorchScript. ExecuTorch expresses several entry points as a multi-method
    program: one `torch.export.export` per method, passed together as a dict to
    `to_edge_transform_and_lower`.

    ## Example
    ```python
    traced = torch.jit.trace_module(model, {"forward": x, "encode": y})
    ```

    Use instead:
    ```python
    programs = {
        "forward": torch.export.export(model.eval(), (x,)),
        "encode": torch.export.export(EncodeWrapper(model).eval(), (y,)),
    }
    et_program = to_edge_transform_and_lower(
        programs, partitioner=[XnnpackPartitioner()]
    ).to_executorch()
    ```

    ## Fix safety
    Display-only: each extra method needs a small wrapper module whose `forward` calls it.
    """

    code = "MIG104"
    name = "jit-trace-module"
    message = (
        "`torch.jit.trace_module` makes TorchScript: export one program per method (a wrapper "
        "module whose `forward` calls it) and pass them as a dict to `to_edge_transform_and_lower`"
    )
    names = frozenset({"torch.jit.trace_module"})

    VALID = [Valid("import torch\nep = torch.export.export(model, (x,))\n")]
    INVALID = [
        Invalid('import torch\nt = torch.jit.trace_module(m, {"forward": x, "encode": y})\n'),
        Invalid("from torch.jit import trace_module\nt = trace_module(m, inputs)\n"),
    ]


class JitLoad(ReportedName):
    """Flags `torch.jit.load(path)`.

    ## What it does
    Reports uses of `torch.jit.load`, which loads a TorchScript archive.

    ## Why is this bad?
    Code that loads `.pt` archives for inference (tests, servers, evaluation scripts) keeps
    the TorchScript runtime alive. ExecuTorch programs load with `executorch.runtime`. Archives
    whose source is gone can still be converted: `migrate export model.pt -o model.pte`.

    ## Example
    ```python
    model = torch.jit.load("model.pt")
    out = model(x)
    ```

    Use instead:
    ```python
    from executorch.runtime import Runtime

    method = Runtime.get().load_program("model.pte").load_method("forward")
    out = method.execute([x])[0]
    ```

    ## Fix safety
    Display-only: outputs come back as a list, and what to load depends on where the `.pte`
    is written.
    """

    code = "MIG108"
    name = "jit-load"
    message = (
        "`torch.jit.load` loads TorchScript: run the `.pte` with "
        "`executorch.runtime.Runtime.get().load_program(path).load_method('forward')`, or "
        "convert a source-less archive with `migrate export model.pt -o model.pte`"
    )
    names = frozenset({"torch.jit.load"})

    VALID = [Valid("import torch\nstate = torch.load('w.pt', weights_only=True)\n")]
    INVALID = [
        Invalid("import torch\nmodel = torch.jit.load('model.pt', map_location='cpu')\n"),
        Invalid("from torch import jit\nm = jit.load(buffer)\n"),
    ]


class LoadForLiteInterpreter(ReportedName):
    """Flags `torch.jit.mobile._load_for_lite_interpreter` and `LiteScriptModule`.

    ## What it does
    Reports loading `.ptl` files with the lite interpreter from Python (usually tests or
    evaluation scripts that check the mobile artifact).

    ## Why is this bad?
    The lite interpreter is deprecated and its archives stop loading once they hold ops a
    newer torch dropped. The migrated artifact is a `.pte`, which `executorch.runtime` runs
    from Python with the same kernels as the app.

    ## Example
    ```python
    from torch.jit.mobile import _load_for_lite_interpreter
    m = _load_for_lite_interpreter("model.ptl")
    out = m(x)
    ```

    Use instead:
    ```python
    from executorch.runtime import Runtime
    method = Runtime.get().load_program("model.pte").load_method("forward")
    out = method.execute([x])[0]
    ```

    ## Fix safety
    Display-only: outputs come back as a list and the file changes.
    """

    code = "MIG204"
    name = "load-for-lite-interpreter"
    message = (
        "the lite interpreter is deprecated: run the `.pte` with "
        "`executorch.runtime.Runtime.get().load_program(path).load_method('forward')`"
    )
    names = frozenset(
        {
            "torch.jit.mobile._load_for_lite_interpreter",
            "torch.jit.mobile.LiteScriptModule",
            "torch._C._load_for_lite_interpreter",
        }
    )

    VALID = [Valid("from executorch.runtime import Runtime\nRuntime.get().load_program('m.pte')\n")]
    INVALID = [
        Invalid(
            "from torch.jit.mobile import _load_for_lite_interpreter\n"
            "m = _load_for_lite_interpreter('model.ptl')\n",
            line=2,
            column=5,
        ),
        Invalid("import torch\nm = torch.jit.mobile._load_for_lite_interpreter(path)\n"),
    ]


class OperatorList(ReportedName):
    """Flags operator-list exports used for PyTorch Mobile selective builds.

    ## What it does
    Reports `torch.jit.export_opnames`, `torch.jit.mobile._export_operator_list` and
    `torch.jit.mobile._get_model_ops_and_info`.

    ## Why is this bad?
    These list the ops of a TorchScript model to build a trimmed PyTorch Mobile library.
    ExecuTorch's selective build reads the ops from the `.pte` itself: pass the program to
    `gen_oplist` (`python -m executorch.codegen.tools.gen_oplist --model_file_path=model.pte`)
    or, in CMake, `gen_selected_ops(... OPS_FROM_MODEL model.pte)`.

    ## Example
    ```python
    ops = torch.jit.export_opnames(scripted)
    ```

    Use instead:
    ```shell
    python -m executorch.codegen.tools.gen_oplist --model_file_path=model.pte --output_path=ops.yaml
    ```

    ## Fix safety
    Display-only: the op list moves from Python to the native build.
    """

    code = "MIG206"
    name = "operator-list"
    message = (
        "operator lists of TorchScript models feed PyTorch Mobile selective builds: generate "
        "ExecuTorch's from the `.pte` (`executorch.codegen.tools.gen_oplist --model_file_path`)"
    )
    names = frozenset(
        {
            "torch.jit.export_opnames",
            "torch.jit.mobile._export_operator_list",
            "torch.jit.mobile._get_model_ops_and_info",
            "torch._C._export_opnames",
        }
    )

    VALID = [Valid("ops = sorted(set(ops))\n")]
    INVALID = [
        Invalid("import torch, yaml\nops = torch.jit.export_opnames(scripted)\n", line=2, column=7),
        Invalid("from torch.jit.mobile import _export_operator_list\nops = _export_operator_list(m)\n"),
    ]


class BytecodeVersion(ReportedName):
    """Flags lite-interpreter bytecode version helpers and backports.

    ## What it does
    Reports `_backport_for_mobile*`, `_get_model_bytecode_version*` and
    `_get_mobile_model_contained_types` from `torch.jit.mobile` / `torch._C`.

    ## Why is this bad?
    They manage compatibility between `.ptl` bytecode and the app's runtime version. A `.pte`
    is versioned by the ExecuTorch release that wrote it: regenerate the program with the
    `executorch` Python version matching the runtime the app links (pin both).

    ## Example
    ```python
    _backport_for_mobile("model.ptl", "model_v5.ptl", 5)
    ```

    Use instead:
    ```shell
    pip install executorch==<the runtime version the app links>  # and re-export
    ```

    ## Fix safety
    Display-only.
    """

    code = "MIG207"
    name = "bytecode-version"
    message = (
        "`.ptl` bytecode versioning has no `.pte` counterpart: re-export with the `executorch` "
        "version that matches the app's runtime"
    )
    names = frozenset(
        {
            "torch.jit.mobile._backport_for_mobile",
            "torch.jit.mobile._backport_for_mobile_to_buffer",
            "torch.jit.mobile._get_model_bytecode_version",
            "torch.jit.mobile._get_mobile_model_contained_types",
            "torch._C._backport_for_mobile",
            "torch._C._backport_for_mobile_to_buffer",
            "torch._C._backport_for_mobile_from_buffer",
            "torch._C._backport_for_mobile_from_buffer_to_buffer",
            "torch._C._get_model_bytecode_version",
            "torch._C._get_model_bytecode_version_from_buffer",
        }
    )

    VALID = [Valid("version = program.version\n")]
    INVALID = [
        Invalid("from torch.jit.mobile import _backport_for_mobile\n_backport_for_mobile(a, b, 5)\n"),
        Invalid(
            "import torch\nv = torch.jit.mobile._get_model_bytecode_version('m.ptl')\n", line=2, column=5
        ),
    ]


class JitToBackend(ReportedName):
    """Flags `torch._C._jit_to_backend` (TorchScript backend delegation).

    ## What it does
    Reports `torch._C._jit_to_backend` and `torch._C._jit_to_backend_selective`.

    ## Why is this bad?
    TorchScript's backend API (used for NNAPI, Core ML and custom delegates) does not carry
    over. ExecuTorch delegates through partitioners given to `to_edge_transform_and_lower`:
    `XnnpackPartitioner`, `CoreMLPartitioner`, `VulkanPartitioner`, `QnnPartitioner`, ...

    ## Example
    ```python
    lowered = torch._C._jit_to_backend("coreml", scripted, compile_spec)
    ```

    Use instead:
    ```python
    program = to_edge_transform_and_lower(exported, partitioner=[CoreMLPartitioner()])
    ```

    ## Fix safety
    Display-only: compile specs differ per backend.
    """

    code = "MIG208"
    name = "jit-to-backend"
    message = (
        "TorchScript backend delegation does not carry over: pass the backend's partitioner to "
        "`to_edge_transform_and_lower(exported, partitioner=[...])`"
    )
    names = frozenset({"torch._C._jit_to_backend", "torch._C._jit_to_backend_selective"})

    VALID = [Valid("import torch\nfrom executorch.exir import to_edge_transform_and_lower\n")]
    INVALID = [Invalid("import torch\nm = torch._C._jit_to_backend('coreml', sm, spec)\n", line=2, column=5)]
