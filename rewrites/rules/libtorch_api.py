from __future__ import annotations

import re
from collections.abc import Iterator

from rewrites.app_checker import AppRule, Hit, TextEdit
from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.rules._app import NATIVE, QUALIFIED, _known_prefix, spaceless
from rewrites.rules.libtorch_inference_mode import LibTorchInferenceMode
from rewrites.rules.libtorch_load import LibTorchLoad
from rewrites.rules.libtorch_module import LibTorchModule
from rewrites.rules.libtorch_tensor import _DTYPE, LibTorchTensor

_CLAIMED = frozenset(
    name
    for rule in (LibTorchLoad, LibTorchModule, LibTorchTensor, LibTorchInferenceMode)
    for name in rule.spellings
)


_CUSTOM = (
    "a custom operator registered with LibTorch: export it into the program as an ExecuTorch kernel "
    '(`EXECUTORCH_LIBRARY(namespace, "op.out", kernel)` from `<executorch/extension/kernel_util/'
    "make_boxed_from_unboxed_functor.h>`, linked into the app), or decompose it into core ATen ops"
)
_MODEL = "move it into the model's `forward` before `migrate export` (the program returns the result)"
_LOOP = "or compute it over `output.const_data_ptr<float>()` and `output.numel()`"
# What to write instead of LibTorch tensor math, by operation
_MATH = {
    "argmax": f"{_MODEL}, {_LOOP} (`std::max_element(p, p + n) - p`)",
    "argmin": f"{_MODEL}, {_LOOP} (`std::min_element(p, p + n) - p`)",
    "softmax": f"{_MODEL}, {_LOOP} (subtract the max, `std::exp`, divide by the sum)",
    "log_softmax": f"{_MODEL}, {_LOOP}",
    "sigmoid": f"{_MODEL}, {_LOOP} (`1 / (1 + std::exp(-x))`)",
    "topk": f"{_MODEL}, {_LOOP} (`std::partial_sort` of the indices)",
    "sort": f"{_MODEL}, {_LOOP} (`std::sort` of the indices)",
    "cat": "give the exported program one input per tensor, or copy the buffers into one and "
    "`executorch::extension::from_blob` it",
    "stack": "give the exported program one input per tensor, or copy the buffers into one and "
    "`executorch::extension::from_blob` it",
    "item": "read the value with `output.const_data_ptr<T>()[0]`",
    "contiguous": "ExecuTorch's outputs are contiguous: remove the call",
    "cpu": "ExecuTorch's outputs are in CPU memory: remove the call",
    "view": "`executorch::extension::from_blob(data, new_sizes)` over the same buffer, or reshape in the model",
    "reshape": "`executorch::extension::from_blob(data, new_sizes)` over the same buffer, or reshape in the model",
    "permute": f"{_MODEL}",
    "squeeze": "read `sizes()` and index the data directly, or squeeze in the model",
    "unsqueeze": "`executorch::extension::from_blob(data, {1, ...})` with the extra dimension",
    "detach": "an ExecuTorch tensor has no autograd: remove the call",
    "clone": "copy `const_data_ptr<T>()` over `numel()` values into your own buffer (`std::vector`)",
    "accessor": "index `const_data_ptr<T>()` with the strides from `strides()`",
}
_FACTORY = (
    "fill a `std::vector` and wrap it with `executorch::extension::from_blob(data, {sizes})`, or "
    "`executorch::extension::make_tensor_ptr({sizes}, std::move(values))`"
)
_MATH |= {op: _FACTORY for op in ("randn", "rand", "zeros", "ones", "arange", "full", "empty", "tensor")}
_OTHER = {
    "Timer": "time with `std::chrono::steady_clock`",
    "TensorList": "a `std::vector<executorch::runtime::EValue>`, one per tensor",
    "globalContext": "the quantized engine is chosen at export (`migrate export --quantize`, lowered "
    "for XNNPACK): remove the `setQEngine` call and the `supportedQEngines` check around it",
    "QEngine": "the quantized engine is chosen at export (`migrate export --quantize`, lowered for "
    "XNNPACK): remove the `setQEngine` call and the `supportedQEngines` check around it",
}
# `auto q = at::globalContext().supportedQEngines(); if (std::find(...) != q.end()) { ...setQEngine(...); }`
_CALL = r"\s*\(\s*\)\s*\.\s*"
_QENGINE = re.compile(
    rf"^[ \t]*auto\s+(?P<v>\w+)\s*=\s*at\s*::\s*globalContext{_CALL}supportedQEngines\s*\(\s*\)\s*;\s*"
    rf"if\s*\(\s*std\s*::\s*find\s*\([^;{{}}]*\)\s*!=\s*(?P=v)\s*\.\s*end\s*\(\s*\)\s*\)\s*\{{\s*"
    rf"at\s*::\s*globalContext{_CALL}setQEngine\s*\([^;{{}}]*\)\s*;\s*\}}[ \t]*\n?"
    rf"|^[ \t]*at\s*::\s*globalContext{_CALL}setQEngine\s*\([^;{{}}]*\)\s*;[ \t]*\n?",
    re.MULTILINE,
)
_METHOD = re.compile(
    r"(?:\.|->)\s*(?P<op>" + "|".join(sorted(_MATH, key=len, reverse=True)) + r")\s*(?:<[^<>()]*>)?\s*\("
)
_CUSTOM_OP = re.compile(r"\bTORCH_LIBRARY(?:_IMPL|_FRAGMENT)?\s*\(")
_NATIVE_ML = re.compile(r"#\s*(?:include|import)\s*[<\"](?:torch/|ATen/|LibTorch|executorch/)", re.IGNORECASE)


class LibTorchApi(AppRule):
    """Flags any other LibTorch API in C++ and Objective-C++ (`torch::`, `at::`, `c10::`,
    `caffe2::`).

    ## What it does
    The catch-all of the native family: reports qualified LibTorch names that MIG611-MIG614 do
    not cover, such as `at::globalContext().setQEngine(...)`, `torch::RegisterOperators` or
    `at::TensorList`; tensor math (`output.argmax(1)`, `.softmax(...)`, `torch::cat`, `.item<T>()`)
    in a file that runs a model; and custom operators (`TORCH_LIBRARY`). Each message says what
    to write instead.

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
    Unsafe for the quantized-engine switch of the demo apps (`at::globalContext().setQEngine`, and
    the `supportedQEngines` check around it), which is removed: the engine was chosen when the
    `.pte` was exported. Display-only otherwise: what replaces each call depends on what it was
    for. Tensor math moves into the exported model (so the program returns the result) or
    becomes a loop over `const_data_ptr<T>()`.
    """

    code = "MIG699"
    name = "libtorch-api"
    message = "LibTorch API that the ExecuTorch runtime does not have"
    fix_safety = FixSafety.UNSAFE
    fix_title = "Remove the quantized-engine switch"
    languages = NATIVE
    tokens = (
        ("torch::",),
        ("at::",),
        ("c10::",),
        ("caffe2::",),
        ("include",),
        ("import",),
        ("TORCH_LIBRARY",),
    )

    VALID = [
        Valid("executorch::extension::Module module(path);\n// at::globalContext()\n", "a.cpp"),
        Valid("at::Tensor t;\nc10::InferenceMode guard;\n", "TorchModule.mm"),
    ]
    INVALID = [
        Invalid(
            "at::globalContext().setQEngine(at::QEngine::QNNPACK);\nload();\n",
            column=1,
            count=2,
            expected="load();\n",
            path="InferenceModule.mm",
            message="`at::globalContext`: LibTorch API that the ExecuTorch runtime does not have; the quantized engine is chosen at export (`migrate export --quantize`, lowered for XNNPACK): remove the `setQEngine` call and the `supportedQEngines` check around it",
        ),
        Invalid(
            "void init() {\n"
            "  auto qengines = at::globalContext().supportedQEngines();\n"
            "  if (std::find(qengines.begin(), qengines.end(), at::QEngine::QNNPACK) != qengines.end()) {\n"
            "    at::globalContext().setQEngine(at::QEngine::QNNPACK);\n  }\n  load();\n}\n",
            line=2,
            count=4,
            expected="void init() {\n  load();\n}\n",
            path="TorchModule.mm",
            message="`at::globalContext`: LibTorch API that the ExecuTorch runtime does not have; the quantized engine is chosen at export (`migrate export --quantize`, lowered for XNNPACK): remove the `setQEngine` call and the `supportedQEngines` check around it",
        ),
        Invalid(
            'static auto registry = torch::RegisterOperators("my::op", &op);\n',
            path="native.cpp",
            message='`torch::RegisterOperators`: LibTorch API that the ExecuTorch runtime does not have; a custom operator registered with LibTorch: export it into the program as an ExecuTorch kernel (`EXECUTORCH_LIBRARY(namespace, "op.out", kernel)` from `<executorch/extension/kernel_util/make_boxed_from_unboxed_functor.h>`, linked into the app), or decompose it into core ATen ops',
        ),
        Invalid(
            "#include <executorch/extension/module/module.h>\n"
            "auto best = output.argmax(1).item<int64_t>();\nauto both = torch::cat({a, b}, 1);\n",
            line=2,
            column=20,
            count=3,
            path="native-lib.cpp",
            message="`argmax()` is LibTorch tensor math, which the ExecuTorch runtime does not have: move it into the model's `forward` before `migrate export` (the program returns the result), or compute it over `output.const_data_ptr<float>()` and `output.numel()` (`std::max_element(p, p + n) - p`)",
        ),
        Invalid(
            'TORCH_LIBRARY(my_ops, m) {\n  m.def("nms", &nms);\n}\n',
            path="ops.cpp",
            message='`TORCH_LIBRARY`: a custom operator registered with LibTorch: export it into the program as an ExecuTorch kernel (`EXECUTORCH_LIBRARY(namespace, "op.out", kernel)` from `<executorch/extension/kernel_util/make_boxed_from_unboxed_functor.h>`, linked into the app), or decompose it into core ATen ops',
        ),
    ]

    def check(self) -> Iterator[Hit]:
        yield from self._math()
        switches = [(b, (TextEdit(b.start(), b.end(), ""),)) for b in self.search(_QENGINE)]
        for match in self.search(QUALIFIED):
            name = spaceless(match.group(0))
            using = re.search(
                r"\busing\s+namespace\s+$", self.source.masked[max(0, match.start() - 30) : match.start()]
            )
            if _known_prefix(name, _CLAIMED) is None and not _DTYPE.fullmatch(name) and using is None:
                op = name.split("::")[1] if name.startswith("at::") else name.rsplit("::", 1)[-1]
                edits = next((e for b, e in switches if b.start() <= match.start() < b.end()), ())
                if op in _MATH:
                    advice = _MATH[op]
                elif op in _OTHER:
                    advice = _OTHER[op]
                elif op in ("RegisterOperators", "Library"):
                    advice = _CUSTOM
                else:
                    advice = "remove it or move the work into the exported program"
                yield Hit(match.start(), match.end(), f"`{name}`: {self.message}; {advice}", edits)

    def _math(self) -> Iterator[Hit]:
        """Tensor math called as a method (`output.argmax(1)`) in a file that runs a model, and
        custom operators (`TORCH_LIBRARY`)."""
        for match in self.search(_CUSTOM_OP):
            yield Hit(match.start(), match.end() - 1, f"`{match.group(0)[:-1].strip()}`: {_CUSTOM}")
        if not _NATIVE_ML.search(self.source.text):
            return
        for match in self.search(_METHOD):
            op = match.group("op")
            yield Hit(
                match.start("op"),
                match.end("op"),
                f"`{op}()` is LibTorch tensor math, which the ExecuTorch runtime does not have: {_MATH[op]}",
            )
