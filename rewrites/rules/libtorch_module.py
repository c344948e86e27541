from __future__ import annotations

import re
from collections.abc import Iterator

from rewrites.app_engine import Hit
from rewrites.rule import Invalid, Valid
from rewrites.rules._app import NativeNames, closing

# `module.forward({...}).toTensor()`: a TorchScript IValue read straight off the call
_READ = re.compile(r"\.\s*forward\s*\(")
_ACCESSOR = re.compile(r"\s*\.\s*(?P<to>to\w+)\s*\(")

_ADVICE = (
    "use `executorch::extension::Module`; its `forward(inputs)` returns "
    "`Result<std::vector<EValue>>`: `module.forward(tensor)->at(0).toTensor()`"
)


class LibTorchModule(NativeNames):
    """Flags LibTorch module types in C++ and Objective-C++.

    ## What it does
    Reports `torch::jit::mobile::Module`, `torch::jit::script::Module`, `torch::jit::Module`,
    the value type their `forward` returns, `c10::IValue` (also spelled `at::` / `torch::`), and
    results read straight off the call (`_impl.forward({tensor}).toTensor()`, `.toTuple()`,
    `.toGenericDict()`).

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
    tokens = (("torch", "Module"), ("IValue",), ("forward",))
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
        Invalid(
            "auto outputTuple = _impl.forward({ tensor, hypo }).toTuple();\n",
            column=26,
            path="InferenceModule.mm",
        ),
    ]

    def check(self) -> Iterator[Hit]:
        yield from super().check()
        masked = self.source.masked
        for match in self.search(_READ):
            close = closing(masked, match.end() - 1)
            read = None if close is None else _ACCESSOR.match(masked, close + 1)
            if close is not None and read is not None:
                yield Hit(
                    match.start() + 1,
                    read.end("to"),
                    f"`forward(...).{read.group('to')}()` reads a TorchScript `IValue`: ExecuTorch's "
                    "`Module::forward` returns `Result<std::vector<EValue>>`; check `.ok()`, then "
                    "`->at(0).toTensor()` (there are no tuple, list or dict values: one `EValue` per output)",
                )
