from __future__ import annotations

import re
from collections.abc import Iterator

from rewrites.app_checker import AppRule, Hit, TextEdit
from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.rules._app import JVM

# org.pytorch.<name> -> org.pytorch.executorch.<name>
RENAMES = {
    "LiteModuleLoader": "Module",
    "Module": "Module",
    "Tensor": "Tensor",
    "IValue": "EValue",
    "DType": "DType",
    "*": "*",
}
GONE = {
    "MemoryFormat": "ExecuTorch tensors from Java are contiguous (NCHW): drop the memory format",
    "Device": "a `.pte` runs where its delegates put it: drop the device argument",
    "PyTorchAndroid": "it has no ExecuTorch counterpart (see MIG608 for its calls)",
    "LitePyTorchAndroid": "it has no ExecuTorch counterpart (see MIG608 for its calls)",
    "INativePeer": "it has no ExecuTorch counterpart",
    "NativePeer": "it has no ExecuTorch counterpart",
    "LiteNativePeer": "it has no ExecuTorch counterpart",
}
_CONTAINERS = re.compile(
    r"\bIValue\s*\.\s*(?:listFrom|tupleFrom|dictStringKeyFrom|dictLongKeyFrom|optionalNull)\b"
)


class PytorchAndroidImport(AppRule):
    """Flags Java and Kotlin imports of the PyTorch Android API (`org.pytorch.*`).

    ## What it does
    Reports `import org.pytorch.Module`, `Tensor`, `IValue`, `LiteModuleLoader`, `DType`,
    `org.pytorch.*` and the classes that have no ExecuTorch counterpart (`MemoryFormat`,
    `Device`, `PyTorchAndroid`). `org.pytorch.torchvision` is MIG606's; other packages under
    `org.pytorch` (the demo apps' own `org.pytorch.demo`) are not PyTorch's.

    ## Why is this bad?
    `org.pytorch:executorch-android` puts its Java API in `org.pytorch.executorch`: `Module`
    (which also replaces `LiteModuleLoader`), `Tensor`, `EValue` (for `IValue`) and `DType`.
    The old imports stop compiling once the dependency changes (MIG601).

    ## Example
    ```java
    import org.pytorch.IValue;
    import org.pytorch.LiteModuleLoader;
    import org.pytorch.Module;
    ```

    Use instead:
    ```java
    import org.pytorch.executorch.EValue;
    import org.pytorch.executorch.Module;
    ```

    ## Fix safety
    Unsafe: it goes with the call-site fixes (MIG602, MIG604, MIG605); alone it leaves
    `LiteModuleLoader` and `IValue` uses that no longer resolve. An import that would repeat one
    already there is removed, and so is an import of a class with no counterpart that the file
    never uses. `IValue` stays imported while `IValue.listFrom` (and the like) is still there.
    """

    code = "MIG603"
    name = "pytorch-android-import"
    message = "PyTorch Android API import: ExecuTorch's Java API is in `org.pytorch.executorch`"
    fix_title = "Import from `org.pytorch.executorch`"
    fix_safety = FixSafety.UNSAFE
    languages = JVM
    tokens = (("org.pytorch",),)

    VALID = [
        Valid("import org.pytorch.executorch.Module;\nimport org.pytorch.executorch.EValue;\n", "A.java"),
        Valid("// import org.pytorch.Module;\nimport org.pytorchx.Module\n", "A.kt"),
        Valid("import org.pytorch.torchvision.TensorImageUtils;\n", "A.java"),
        Valid("import org.pytorch.demo.aslrecognition.MainActivity;\nimport org.pytorch.demo.R;\n", "A.java"),
    ]
    INVALID = [
        Invalid(
            "package a;\n\nimport org.pytorch.IValue;\nimport org.pytorch.LiteModuleLoader;\n"
            "import org.pytorch.Module;\nimport org.pytorch.Tensor;\n",
            line=3,
            column=8,
            count=4,
            expected="package a;\n\nimport org.pytorch.executorch.EValue;\nimport org.pytorch.executorch.Module;\n"
            "import org.pytorch.executorch.Tensor;\n",
            path="MainActivity.java",
        ),
        Invalid(
            "import org.pytorch.IValue\nimport org.pytorch.Module as TorchModule\n",
            count=2,
            expected="import org.pytorch.executorch.EValue\nimport org.pytorch.executorch.Module as TorchModule\n",
            path="Detector.kt",
        ),
        Invalid(
            "import org.pytorch.MemoryFormat;\nclass A { MemoryFormat f = MemoryFormat.CHANNELS_LAST; }\n",
            expected="import org.pytorch.MemoryFormat;\nclass A { MemoryFormat f = MemoryFormat.CHANNELS_LAST; }\n",
            path="A.java",
            message="`org.pytorch.MemoryFormat` is PyTorch Mobile's and ExecuTorch tensors from Java are contiguous (NCHW): drop the memory format",
        ),
        Invalid(
            "import org.pytorch.PyTorchAndroid;\nimport org.pytorch.demo.R;\nclass A {}\n",
            expected="import org.pytorch.demo.R;\nclass A {}\n",
            path="A.java",
            message="`org.pytorch.PyTorchAndroid` is PyTorch Mobile's and unused",
        ),
        Invalid(
            "import org.pytorch.IValue;\nclass A { Object x = m.forward(IValue.listFrom(t)); }\n",
            expected="import org.pytorch.IValue;\nclass A { Object x = m.forward(IValue.listFrom(t)); }\n",
            path="A.java",
            message="`org.pytorch.IValue` stays until the `IValue.listFrom` / `tupleFrom` / `dict...From` inputs are restructured (MIG604): ExecuTorch has no container values",
        ),
    ]

    def check(self) -> Iterator[Hit]:
        seen: set[tuple[str, str | None]] = set()
        for match in self.imports():
            name = match.group("name")
            if name.startswith("org.pytorch.executorch."):
                seen.add((name, match.group("alias")))
        for match in self.imports():
            name, alias = match.group("name"), match.group("alias")
            if not name.startswith("org.pytorch.") or name.startswith(
                ("org.pytorch.executorch.", "org.pytorch.torchvision.")
            ):
                continue
            short = name[len("org.pytorch.") :]
            start, end = match.start("name"), match.end("name")
            if short in GONE:
                if len(re.findall(rf"\b{short}\b", self.source.masked)) == 1:  # imported, never used
                    yield Hit(
                        start, end, f"`{name}` is PyTorch Mobile's and unused", (self.delete_line(start),)
                    )
                else:
                    yield Hit(start, end, f"`{name}` is PyTorch Mobile's and {GONE[short]}")
                continue
            if short not in RENAMES:
                continue  # the app's own package (org.pytorch.demo...)
            if short in ("IValue", "*") and _CONTAINERS.search(self.source.masked):
                yield Hit(
                    start,
                    end,
                    f"`{name}` stays until the `IValue.listFrom` / `tupleFrom` / `dict...From` inputs are "
                    "restructured (MIG604): ExecuTorch has no container values",
                )
                continue
            target = f"org.pytorch.executorch.{RENAMES[short]}"
            if (target, alias) in seen:
                yield Hit(start, end, edits=(self.delete_line(start),))
            else:
                seen.add((target, alias))
                yield Hit(start, end, edits=(TextEdit(start, end, target),))
