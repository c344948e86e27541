from __future__ import annotations

from rewrites.rule import Invalid, Valid
from rewrites.rules._app import NativeNames

_FROM_BLOB = (
    "`executorch::extension::from_blob(data, {sizes})` (from `<executorch/extension/tensor/tensor.h>`) "
    "wraps the buffer in a `TensorPtr`"
)
_TENSOR = (
    "ExecuTorch tensors are `executorch::extension::TensorPtr` (made by `from_blob` / `make_tensor_ptr`)"
)
_DTYPES = ("Float", "Long", "Byte", "Int", "Half", "Bool", "Char", "Double")


class LibTorchTensor(NativeNames):
    """Flags LibTorch tensors in C++ and Objective-C++ (`at::Tensor`, `torch::from_blob`).

    ## What it does
    Reports `at::Tensor`, `torch::Tensor`, `torch::from_blob`, `at::from_blob` and the
    `at::kFloat`-style dtype constants.

    ## Why is this bad?
    ATen is not part of the ExecuTorch runtime. Inputs are wrapped with
    `executorch::extension::from_blob`, which returns a `TensorPtr` the `Module` takes directly,
    and outputs come back as `executorch::aten::Tensor` inside an `EValue`.

    ## Example
    ```cpp
    at::Tensor input = torch::from_blob(buffer, {1, 3, 224, 224}, at::kFloat);
    ```

    Use instead:
    ```cpp
    auto input = executorch::extension::from_blob(buffer, {1, 3, 224, 224});
    ```

    ## Fix safety
    Display-only: tensor methods (`sizes()`, `data_ptr<float>()`, arithmetic) differ, and
    ExecuTorch has no tensor arithmetic outside a program.
    """

    code = "MIG613"
    name = "libtorch-tensor"
    message = "A LibTorch (ATen) tensor: ExecuTorch wraps data in `executorch::extension::TensorPtr`"
    tokens = (("at::",), ("torch::",), ("torch ::",), ("at ::",))
    spellings = {
        "torch::from_blob": _FROM_BLOB,
        "at::from_blob": _FROM_BLOB,
        "at::Tensor": _TENSOR,
        "torch::Tensor": _TENSOR,
        **{
            f"{ns}::k{name}": f"the element type is `executorch::aten::ScalarType::{name}` in ExecuTorch"
            for name in _DTYPES
            for ns in ("at", "torch")
        },
    }

    VALID = [
        Valid("auto t = executorch::extension::from_blob(buf, {1, 3});\n", "a.cpp"),
        Valid('// at::Tensor t = torch::from_blob(...)\nNSLog(@"at::Tensor");\n', "TorchModule.mm"),
    ]
    INVALID = [
        Invalid(
            "at::Tensor tensor = torch::from_blob(imageBuffer, {1, 3, 224, 224}, at::kFloat);\n",
            column=1,
            count=3,
            path="TorchModule.mm",
        ),
    ]
