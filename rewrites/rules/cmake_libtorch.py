from __future__ import annotations

import bisect
import re
from collections.abc import Iterator

from rewrites.app_engine import AppRule, Hit
from rewrites.rule import Invalid, Valid

_LIBTORCH = re.compile(
    r"\b(?:pytorch_jni(?:_lite)?|pytorch_vision_jni|torchvision_ops|pytorch_android\w*|LibTorch(?:-Lite)?)\b"
    r"|\bfind_package\s*\(\s*Torch\b|\$\{TORCH_(?:LIBRARIES|INCLUDE_DIRS)\}"
)


class CMakeLibTorch(AppRule):
    """Flags LibTorch in CMake native builds (`CMakeLists.txt`, `*.cmake`).

    ## What it does
    Reports the PyTorch Mobile native libraries a native build links or finds
    (`pytorch_jni`, `pytorch_jni_lite`, `torchvision_ops`), the headers it takes from the
    extracted `pytorch_android*.aar`, and desktop LibTorch (`find_package(Torch)`,
    `${TORCH_LIBRARIES}`).

    ## Why is this bad?
    Those libraries go away with the PyTorch Android AAR (MIG601), so the native build stops
    linking. ExecuTorch's C++ runtime is built from its CMake project: `find_package(executorch)`
    (or `add_subdirectory` of the source tree) and link `executorch`, `extension_module_static`,
    `extension_tensor` and `xnnpack_backend`.

    ## Example
    ```cmake
    find_library(PYTORCH_LIBRARY pytorch_jni PATHS ${PYTORCH_LINK_DIRS} NO_CMAKE_FIND_ROOT_PATH)
    target_link_libraries(app ${PYTORCH_LIBRARY})
    ```

    Use instead:
    ```cmake
    find_package(executorch CONFIG REQUIRED)
    target_link_libraries(app executorch extension_module_static extension_tensor xnnpack_backend)
    ```

    ## Fix safety
    Display-only: where ExecuTorch's libraries come from (a prebuilt package or the source tree)
    is the project's choice.
    """

    code = "MIG615"
    name = "cmake-libtorch"
    message = (
        "A LibTorch / PyTorch Mobile native library in the build: link ExecuTorch's C++ libraries "
        "(`executorch`, `extension_module_static`, `extension_tensor`, `xnnpack_backend`) instead"
    )
    languages = frozenset({"cmake"})
    tokens = (("pytorch",), ("Torch",), ("TORCH_",), ("torchvision_ops",), ("LibTorch",))

    VALID = [
        Valid(
            "# was: find_library(PYTORCH_LIBRARY pytorch_jni)\ntarget_link_libraries(app executorch)\n",
            "CMakeLists.txt",
        ),
    ]
    INVALID = [
        Invalid(
            "find_library(PYTORCH_LIBRARY pytorch_jni\n    PATHS ${PYTORCH_LINK_DIRS}\n    NO_CMAKE_FIND_ROOT_PATH)\n",
            line=1,
            column=30,
            path="app/CMakeLists.txt",
        ),
        Invalid(
            'file(GLOB PYTORCH_INCLUDE_DIRS "${build_DIR}/pytorch_android*.aar/headers")\n',
            path="CMakeLists.txt",
        ),
        Invalid(
            'find_package(Torch REQUIRED)\ntarget_link_libraries(app "${TORCH_LIBRARIES}")\n',
            count=2,
            path="deps.cmake",
        ),
    ]

    def check(self) -> Iterator[Hit]:
        comments = self.source.comments
        starts = [start for start, _ in comments]
        for match in _LIBTORCH.finditer(self.source.text):
            i = bisect.bisect_right(starts, match.start()) - 1
            if i >= 0 and match.start() < comments[i][1]:
                continue  # inside a comment
            yield Hit(match.start(), match.end())
