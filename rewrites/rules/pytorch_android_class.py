from __future__ import annotations

import re
from collections.abc import Iterator

from rewrites.app_checker import AppRule, Hit
from rewrites.core import Invalid, Valid
from rewrites.rules._app import JVM

_CALL = re.compile(
    r"(?<![\w.])(?:org\s*\.\s*pytorch\s*\.\s*)?(?P<cls>PyTorchAndroid|LitePyTorchAndroid|LiteModuleLoader)"
    r"\s*\.\s*(?P<method>loadModuleFromAsset|setNumThreads)\s*\("
)
_LOAD_LIBRARY = re.compile(r"(?<![\w.])(?:System|NativeLoader|SoLoader)\s*\.\s*loadLibrary\s*\(\s*$")
LIBRARIES = frozenset({"pytorch_jni", "pytorch_jni_lite", "torchvision_ops", "pytorch_vision_jni"})
_ADVICE = {
    "loadModuleFromAsset": (
        "ExecuTorch has no asset loader: copy the asset to a file once (the demo apps' "
        "`assetFilePath(context, name)`) and `Module.load(path)` the `.pte`"
    ),
    "setNumThreads": (
        "ExecuTorch takes the thread count when it loads a program: "
        "`Module.load(path, Module.LOAD_MODE_FILE, numThreads)` (0 picks one for the device)"
    ),
}


class PytorchAndroidClass(AppRule):
    """Flags `PyTorchAndroid.loadModuleFromAsset`, `LiteModuleLoader.loadModuleFromAsset` and
    `PyTorchAndroid.setNumThreads`.

    ## What it does
    Reports the PyTorch Android helpers that load a model straight from the APK's assets or set
    the interpreter's thread count, and explicit loads of its native libraries
    (`NativeLoader.loadLibrary("pytorch_jni")`).

    ## Why is this bad?
    `org.pytorch:executorch-android` loads programs from a file path only (`Module.load`), and
    its thread count is an argument of `Module.load(path, loadMode, numThreads)`. Code calling
    these helpers stops compiling.

    ## Example
    ```java
    Module module = PyTorchAndroid.loadModuleFromAsset(getAssets(), "model.pt");
    ```

    Use instead:
    ```java
    Module module = Module.load(assetFilePath(this, "model.pte"));
    ```

    ## Fix safety
    Display-only: copying an asset to a file needs a `Context` and a place to keep it, which
    the app decides.
    """

    code = "MIG608"
    name = "pytorch-android-class"
    message = "A PyTorch Android helper with no ExecuTorch counterpart"
    languages = JVM
    tokens = (
        ("loadModuleFromAsset",),
        ("setNumThreads", "org.pytorch"),
        ("loadLibrary", "pytorch_jni"),
        ("loadLibrary", "torchvision_ops"),
    )

    VALID = [
        Valid("import org.pytorch.executorch.Module;\nModule m = Module.load(path);\n", "A.java"),
        Valid("// PyTorchAndroid.setNumThreads(1) was here\nimport org.pytorch.executorch.Module\n", "A.kt"),
    ]
    INVALID = [
        Invalid(
            'Module m = PyTorchAndroid.loadModuleFromAsset(getAssets(), "model.pt");\n',
            column=12,
            path="A.java",
            message="`PyTorchAndroid.loadModuleFromAsset`: ExecuTorch has no asset loader: copy the asset to a file once (the demo apps' `assetFilePath(context, name)`) and `Module.load(path)` the `.pte`",
        ),
        Invalid(
            "import org.pytorch.PyTorchAndroid\nfun f() { PyTorchAndroid.setNumThreads(1) }\n",
            line=2,
            path="A.kt",
            message="`PyTorchAndroid.setNumThreads`: ExecuTorch takes the thread count when it loads a program: `Module.load(path, Module.LOAD_MODE_FILE, numThreads)` (0 picks one for the device)",
        ),
    ]

    def check(self) -> Iterator[Hit]:
        source = self.source
        for literal in source.strings:
            if literal.value in LIBRARIES and _LOAD_LIBRARY.search(
                source.masked, source.line_start(literal.start), literal.start
            ):
                yield Hit(
                    literal.start,
                    literal.end,
                    f"`{literal.value}` is PyTorch Mobile's native library, gone with its AAR: the ExecuTorch AAR "
                    "loads its own (`executorch`), so remove the call",
                )
        masked = self.source.masked
        for match in self.search(_CALL):
            end = masked.find(")", match.end())
            yield Hit(
                match.start(),
                match.end() - 1 if end < 0 else end + 1,
                f"`{match.group('cls')}.{match.group('method')}`: {_ADVICE[match.group('method')]}",
            )
