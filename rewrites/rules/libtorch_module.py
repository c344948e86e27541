from __future__ import annotations

from rewrites.rule import Invalid, Valid
from rewrites.rules._app import NativeNames

_ADVICE = (
    "use `executorch::extension::Module`; its `forward(inputs)` returns "
    "`Result<std::vector<EValue>>`: `module.forward(tensor)->at(0).toTensor()`"
)


class LibTorchModule(NativeNames):
    """Flags LibTorch module types in C++ and Objective-C++.

    ## What it does
    Reports `torch::jit::mobile::Module`, `torch::jit::script::Module`, `torch::jit::Module` and
    the value type their `forward` returns, `c10::IValue` (also spelled `at::` / `torch::`).

    ## Why is this bad?
    These hold a TorchScript model. Their `forward({...}).toTensor()` returns one `IValue` and
    throws on error; ExecuTorch's `executorch::extension::Module::forward` returns a `Result`
    holding one `EValue` per output.

    ## Example
    ```cpp
    torch::jit::mobile::Module _impl;
    auto out = _impl.forward({tensor}).toTensor();
    ```

    Use instead:
    ```cpp
    std::unique_ptr<executorch::extension::Module> _impl;
    auto out = _impl->forward(tensor)->at(0).toTensor();
    ```

    ## Fix safety
    Display-only: error handling moves from exceptions to `Result`, which a rewrite cannot
    decide.
    """

    code = "MIG612"
    name = "libtorch-module"
    message = "A TorchScript module type: ExecuTorch's is `executorch::extension::Module`"
    tokens = (("torch", "Module"), ("IValue",))
    spellings = {
        "torch::jit::mobile::Module": _ADVICE,
        "torch::jit::script::Module": _ADVICE,
        "torch::jit::Module": _ADVICE,
        **{
            f"{ns}::IValue": "ExecuTorch's value type is `executorch::runtime::EValue`, and it holds no "
            "lists, tuples or dicts: `module.forward(...)` returns one `EValue` per output"
            for ns in ("c10", "at", "torch", "torch::jit")
        },
    }

    VALID = [
        Valid("std::unique_ptr<executorch::extension::Module> module;\n", "a.cpp"),
        Valid(
            "/* torch::jit::mobile::Module _impl; */\n@interface TorchModule : NSObject\n@end\n",
            "TorchModule.h",
        ),
    ]
    INVALID = [
        Invalid(
            "@implementation TorchModule {\n  torch::jit::mobile::Module _impl;\n}\n",
            line=2,
            column=3,
            path="TorchModule.mm",
        ),
        Invalid("static torch::jit::script::Module module;\n", path="native-lib.cpp"),
        Invalid("c10::IValue t_out = module.forward({x, y});\nat::IValue state;\n", count=2, path="a.cpp"),
    ]
