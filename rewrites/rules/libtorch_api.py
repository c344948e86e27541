from __future__ import annotations

import re
from collections.abc import Iterator

from rewrites.app_engine import AppRule, Hit
from rewrites.rule import Invalid, Valid
from rewrites.rules._app import NATIVE, QUALIFIED, _known_prefix
from rewrites.rules.libtorch_inference_mode import LibTorchInferenceMode
from rewrites.rules.libtorch_load import LibTorchLoad
from rewrites.rules.libtorch_module import LibTorchModule
from rewrites.rules.libtorch_tensor import _DTYPE, LibTorchTensor

_CLAIMED = frozenset(
    name
    for rule in (LibTorchLoad, LibTorchModule, LibTorchTensor, LibTorchInferenceMode)
    for name in rule.spellings
)


class LibTorchApi(AppRule):
    """Flags any other LibTorch API in C++ and Objective-C++ (`torch::`, `at::`, `c10::`,
    `caffe2::`).

    ## What it does
    The catch-all of the native family: reports qualified LibTorch names that MIG611-MIG614 do
    not cover, such as `at::globalContext().setQEngine(...)`, `torch::RegisterOperators`,
    `at::TensorList` or `torch::jit::GraphOptimizerEnabledGuard`.

    ## Why is this bad?
    The ExecuTorch runtime has none of LibTorch's API: no global context, no quantized-engine
    switch (the program's delegates decide), no operator registration at run time (custom ops
    are compiled into the runtime), no tensor lists.

    ## Example
    ```cpp
    at::globalContext().setQEngine(at::QEngine::QNNPACK);
    ```

    Use instead: remove it; the `.pte` was quantized and lowered for XNNPACK when it was
    exported (`migrate export --quantize ...`).

    ## Fix safety
    Display-only: what replaces each call depends on what it was for.
    """

    code = "MIG699"
    name = "libtorch-api"
    message = "LibTorch API that the ExecuTorch runtime does not have"
    languages = NATIVE
    tokens = (("torch::",), ("at::",), ("c10::",), ("caffe2::",))

    VALID = [
        Valid("executorch::extension::Module module(path);\n// at::globalContext()\n", "a.cpp"),
        Valid("at::Tensor t;\nc10::InferenceMode guard;\n", "TorchModule.mm"),
    ]
    INVALID = [
        Invalid(
            "at::globalContext().setQEngine(at::QEngine::QNNPACK);\n",
            column=1,
            count=2,
            path="InferenceModule.mm",
        ),
        Invalid('static auto registry = torch::RegisterOperators("my::op", &op);\n', path="native.cpp"),
    ]

    def check(self) -> Iterator[Hit]:
        for match in self.search(QUALIFIED):
            name = re.sub(r"\s+", "", match.group(0))
            using = re.search(
                r"\busing\s+namespace\s+$", self.source.masked[max(0, match.start() - 30) : match.start()]
            )
            if _known_prefix(name, _CLAIMED) is None and not _DTYPE.fullmatch(name) and using is None:
                yield Hit(
                    match.start(),
                    match.end(),
                    f"`{name}`: {self.message}; remove it or move the work into the exported program",
                )
