from __future__ import annotations

import re
from collections.abc import Iterator

from rewrites.app_engine import AppRule, Hit
from rewrites.rule import Invalid, Valid
from rewrites.rules._app import NATIVE

_DIRECTIVE = re.compile(r"^[ \t]*#[ \t]*(?:include|import)[ \t]*[<\"](?P<path>[^>\"\n]+)[>\"]", re.MULTILINE)
# case-insensitive: the demo apps spell it `Libtorch-Lite`, and macOS finds it either way
_LIBTORCH = re.compile(
    r"(?:LibTorch(?:-Lite)?(?:-Nightly)?|LibTorch_Lite|torch|ATen|c10|caffe2)/", re.IGNORECASE
)


class LibTorchHeader(AppRule):
    """Flags LibTorch headers in C++ and Objective-C++ (`#import <LibTorch-Lite/LibTorch-Lite.h>`,
    `#include <torch/script.h>`).

    ## What it does
    Reports `#include` / `#import` of `LibTorch-Lite/…`, `LibTorch/…` (in any letter case),
    `torch/…`, `ATen/…`, `c10/…` and `caffe2/…` headers.

    ## Why is this bad?
    They come with the PyTorch Mobile pod or the LibTorch Android AAR, which go away with the
    migration. ExecuTorch's C++ API is `<executorch/extension/module/module.h>` and
    `<executorch/extension/tensor/tensor.h>`; from Objective-C, `#import <ExecuTorch/ExecuTorch.h>`.

    ## Example
    ```objc
    #import <LibTorch-Lite/LibTorch-Lite.h>
    ```

    Use instead:
    ```objc
    #include <executorch/extension/module/module.h>
    #include <executorch/extension/tensor/tensor.h>
    ```

    ## Fix safety
    Display-only: which header is right depends on whether the file keeps C++ (the `Module`
    API) or moves to the Objective-C / Swift `ExecuTorch` framework.
    """

    code = "MIG610"
    name = "libtorch-header"
    message = (
        "A LibTorch header: include `<executorch/extension/module/module.h>` and "
        "`<executorch/extension/tensor/tensor.h>` (or `#import <ExecuTorch/ExecuTorch.h>` from Objective-C)"
    )
    languages = NATIVE
    tokens = (("include",), ("import",))

    VALID = [
        Valid("#include <executorch/extension/module/module.h>\n// #include <torch/script.h>\n", "a.cpp"),
        Valid('#import "TorchModule.h"\n#include <vector>\n', "TorchModule.mm"),
    ]
    INVALID = [
        Invalid(
            "#import <UIKit/UIKit.h>\n#import <LibTorch-Lite/LibTorch-Lite.h>\n",
            line=2,
            column=1,
            path="TorchModule.mm",
        ),
        Invalid(
            '#include <jni.h>\n#include "torch/script.h"\n#include <torch/csrc/jit/mobile/import.h>\n',
            count=2,
            path="native-lib.cpp",
        ),
    ]

    def check(self) -> Iterator[Hit]:
        masked = self.source.masked
        for match in _DIRECTIVE.finditer(self.source.text):
            hash_at = self.source.text.index("#", match.start())
            if masked[hash_at] == "#" and _LIBTORCH.match(match.group("path")):
                yield Hit(hash_at, match.end())
