from __future__ import annotations

from rewrites.rule import Invalid, Valid
from rewrites.rules._app import NativeNames

_REMOVE = "an ExecuTorch program has no autograd to turn off: remove the guard"


class LibTorchInferenceMode(NativeNames):
    """Flags LibTorch autograd guards in C++ and Objective-C++ (`c10::InferenceMode`).

    ## What it does
    Reports `c10::InferenceMode`, `torch::NoGradGuard`, `torch::autograd::AutoGradMode`,
    `AutoNonVariableTypeMode` and `AutoDispatchBelowADInplaceOrView` (under `at`, `c10` or
    `torch`).

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
    tokens = (
        ("InferenceMode",),
        ("NoGradGuard",),
        ("AutoNonVariableTypeMode",),
        ("AutoGradMode",),
        ("AutoDispatchBelow",),
    )
    spellings = {
        name: _REMOVE
        for name in (
            "c10::InferenceMode",
            "torch::NoGradGuard",
            "at::AutoNonVariableTypeMode",
            "c10::AutoNonVariableTypeMode",
            "torch::AutoNonVariableTypeMode",
            "torch::autograd::AutoGradMode",
            "c10::AutoGradMode",
            "at::AutoGradMode",
            "torch::AutoGradMode",
            "at::AutoDispatchBelowADInplaceOrView",
            "c10::AutoDispatchBelowADInplaceOrView",
        )
    }

    VALID = [Valid("// c10::InferenceMode guard;\nint x = 0;\n", "a.cpp")]
    INVALID = [
        Invalid("void f() {\n  c10::InferenceMode guard;\n}\n", line=2, column=3, path="TorchModule.mm"),
        Invalid("torch::NoGradGuard no_grad;\n", path="native-lib.cpp"),
        Invalid(
            "torch::autograd::AutoGradMode guard(false);\ntorch::AutoNonVariableTypeMode non_var_guard{true};\n",
            count=2,
            path="pytorch_nativeapp.cpp",
        ),
    ]
