from __future__ import annotations

import re
from collections.abc import Iterator

from rewrites.app_checker import AppRule, Hit, TextEdit
from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.rules._app import NATIVE

_DIRECTIVE = re.compile(r"^[ \t]*#[ \t]*(?:include|import)[ \t]*[<\"](?P<path>[^>\"\n]+)[>\"]", re.MULTILINE)
# case-insensitive: the demo apps spell it `Libtorch-Lite`, and macOS finds it either way
_EXECUTORCH = (
    "#include <executorch/extension/module/module.h>",
    "#include <executorch/extension/tensor/tensor.h>",
)
# `using namespace torch::jit;`: nothing is left in those namespaces once the calls are rewritten
_USING = re.compile(
    r"^[ \t]*using[ \t]+namespace[ \t]+(?:torch|at|c10|caffe2)(?:[ \t]*::[ \t]*\w+)*[ \t]*;", re.MULTILINE
)
_LIBTORCH = re.compile(
    r"(?:LibTorch(?:-Lite)?(?:-Nightly)?|LibTorch_Lite|torch|ATen|c10|caffe2)/", re.IGNORECASE
)


class LibTorchHeader(AppRule):
    """Flags LibTorch headers in C++ and Objective-C++ (`#import <LibTorch-Lite/LibTorch-Lite.h>`,
    `#include <torch/script.h>`).

    ## What it does
    Reports `#include` / `#import` of `LibTorch-Lite/…`, `LibTorch/…` (in any letter case),
    `torch/…`, `ATen/…`, `c10/…` and `caffe2/…` headers, and `using namespace torch::jit;`
    (or another LibTorch namespace).

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
    Unsafe: the first LibTorch header becomes the two ExecuTorch C++ headers (those the file does
    not include yet) and the others are removed; the file keeps C++ (MIG611-MIG614 rewrite the
    calls), also in Objective-C++, where the Objective-C `ExecuTorch` framework would be the other
    choice. `using namespace` of a LibTorch namespace is removed.

    A PyTorch C++ extension (a file that includes `<torch/extension.h>` or defines
    `PYBIND11_MODULE`) holds custom ops built for the Python package, not an app's LibTorch: no
    native rule reports in it.
    """

    code = "MIG610"
    name = "libtorch-header"
    message = (
        "A LibTorch header: include `<executorch/extension/module/module.h>` and "
        "`<executorch/extension/tensor/tensor.h>` (or `#import <ExecuTorch/ExecuTorch.h>` from Objective-C)"
    )
    languages = NATIVE
    tokens = (("include",), ("import",), ("using",))
    fix_safety = FixSafety.UNSAFE
    fix_title = "Include ExecuTorch's C++ headers instead"

    VALID = [
        Valid("#include <executorch/extension/module/module.h>\n// #include <torch/script.h>\n", "a.cpp"),
        Valid('#import "TorchModule.h"\n#include <vector>\n', "TorchModule.mm"),
        # a PyTorch C++ extension: custom ops of the Python package, not app code
        Valid(
            "#include <torch/extension.h>\n#include <ATen/ATen.h>\n"
            "torch::Tensor scale(torch::Tensor x) { return x * 2; }\n"
            'PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) { m.def("scale", &scale); }\n',
            "scale.cpp",
        ),
    ]
    INVALID = [
        Invalid(
            "#import <UIKit/UIKit.h>\n#import <LibTorch-Lite/LibTorch-Lite.h>\n",
            line=2,
            column=1,
            expected="#import <UIKit/UIKit.h>\n" + "\n".join(_EXECUTORCH) + "\n",
            path="TorchModule.mm",
        ),
        Invalid(
            '#include <jni.h>\n#include "torch/script.h"\n#include <torch/csrc/jit/mobile/import.h>\n',
            count=2,
            expected="#include <jni.h>\n" + "\n".join(_EXECUTORCH) + "\n",
            path="native-lib.cpp",
        ),
        Invalid(
            "#include <torch/script.h>\nusing namespace torch::jit;\nint x = 0;\n",
            count=2,
            expected="#include <executorch/extension/module/module.h>\n"
            "#include <executorch/extension/tensor/tensor.h>\nint x = 0;\n",
            path="a.cpp",
        ),
        Invalid(
            "#include <executorch/extension/module/module.h>\n#include <ATen/ATen.h>\n",
            line=2,
            expected="#include <executorch/extension/module/module.h>\n"
            "#include <executorch/extension/tensor/tensor.h>\n",
            path="a.cpp",
        ),
    ]

    def check(self) -> Iterator[Hit]:
        masked, text = self.source.masked, self.source.text
        missing = [line for line in _EXECUTORCH if line.split()[1][1:-1] not in text]
        for match in _DIRECTIVE.finditer(text):
            hash_at = text.index("#", match.start())
            if masked[hash_at] == "#" and _LIBTORCH.match(match.group("path")):
                if missing:  # the first LibTorch header becomes the ExecuTorch ones
                    edit = TextEdit(hash_at, match.end(), "\n".join(missing))
                    missing = []
                else:
                    edit = self.delete_line(hash_at)
                yield Hit(hash_at, match.end(), edits=(edit,))
        for match in self.search(_USING):
            start = match.start() + len(match.group(0)) - len(match.group(0).lstrip())
            yield Hit(
                start,
                match.end(),
                "`using namespace` of a LibTorch namespace: remove it (ExecuTorch's names are "
                "`executorch::extension::Module`, `executorch::extension::from_blob`, `executorch::runtime::EValue`)",
                (self.delete_line(start),),
            )
