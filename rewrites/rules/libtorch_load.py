from __future__ import annotations

from rewrites.rule import Invalid, Valid
from rewrites.rules._app import NativeNames

_MODULE = (
    "construct `executorch::extension::Module module(path)` (from "
    "`<executorch/extension/module/module.h>`) for the `.pte`; it loads on first use, or call `module.load()`"
)


class LibTorchLoad(NativeNames):
    """Flags LibTorch model loading in C++ and Objective-C++ (`torch::jit::_load_for_mobile`,
    `torch::jit::load`).

    ## What it does
    Reports the calls that load a `.ptl` into the lite interpreter or a `.pt` into the full
    TorchScript runtime, in native Android (JNI) and iOS code.

    ## Why is this bad?
    ExecuTorch's C++ entry point is `executorch::extension::Module`, built from the `.pte` path
    (the same class backs the Swift / Objective-C `ExecuTorch` framework and the Android AAR).

    ## Example
    ```cpp
    auto module = torch::jit::_load_for_mobile(path);
    ```

    Use instead:
    ```cpp
    executorch::extension::Module module(path);
    ```

    ## Fix safety
    Display-only: the module's type, its error handling (`Result` instead of exceptions) and
    every call on it change with it.
    """

    code = "MIG611"
    name = "libtorch-load"
    message = "LibTorch loads TorchScript: load the `.pte` with `executorch::extension::Module`"
    tokens = (("_load_for_mobile",), ("torch", "load"))
    spellings = {
        "torch::jit::_load_for_mobile": _MODULE,
        "torch::jit::mobile::_load_for_mobile": _MODULE,
        "torch::jit::load": _MODULE,
    }
    unqualified = frozenset({"_load_for_mobile"})

    VALID = [
        Valid(
            '// torch::jit::load(path)\nexecutorch::extension::Module module("m.pte");\n', "native-lib.cpp"
        ),
        Valid('auto m = my::load(path);\nconst char* s = "torch::jit::load";\n', "a.cpp"),
    ]
    INVALID = [
        Invalid(
            "_impl = torch::jit::_load_for_mobile(filePath.UTF8String);\n", column=9, path="TorchModule.mm"
        ),
        Invalid("auto module = torch :: jit :: load(path);\n", path="native-lib.cpp"),
        Invalid("using namespace torch::jit;\nauto m = _load_for_mobile(p);\n", line=2, path="a.cpp"),
    ]
