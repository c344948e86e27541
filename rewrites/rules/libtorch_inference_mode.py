from __future__ import annotations

from rewrites.rule import Invalid, Valid
from rewrites.rules._app import NativeNames

_REMOVE = "an ExecuTorch program has no autograd to turn off: remove the guard"


class LibTorchInferenceMode(NativeNames):
    """Flags LibTorch autograd guards in C++ and Objective-C++ (`c10::InferenceMode`).

    ## What it does
    Reports `c10::InferenceMode`, `torch::NoGradGuard`, `at::AutoNonVariableTypeMode`,
    `c10::AutoNonVariableTypeMode` and `torch::AutoGradMode`.

    ## Why is this bad?
    These guards switch off autograd in the TorchScript runtime. An ExecuTorch program is
    already inference-only and the headers that define them are gone after the migration.

    ## Example
    ```cpp
    c10::InferenceMode guard;
    auto out = module.forward({input}).toTensor();
    ```

    Use instead:
    ```cpp
    auto out = module.forward(input)->at(0).toTensor();
    ```

    ## Fix safety
    Display-only: iOS and native findings do not rewrite code.
    """

    code = "MIG614"
    name = "libtorch-inference-mode"
    message = "A LibTorch autograd guard: ExecuTorch programs have no autograd"
    tokens = (("InferenceMode",), ("NoGradGuard",), ("AutoNonVariableTypeMode",), ("AutoGradMode",))
    spellings = {
        "c10::InferenceMode": _REMOVE,
        "torch::NoGradGuard": _REMOVE,
        "at::AutoNonVariableTypeMode": _REMOVE,
        "c10::AutoNonVariableTypeMode": _REMOVE,
        "torch::AutoGradMode": _REMOVE,
    }

    VALID = [Valid("// c10::InferenceMode guard;\nint x = 0;\n", "a.cpp")]
    INVALID = [
        Invalid("void f() {\n  c10::InferenceMode guard;\n}\n", line=2, column=3, path="TorchModule.mm"),
        Invalid("torch::NoGradGuard no_grad;\n", path="native-lib.cpp"),
    ]
