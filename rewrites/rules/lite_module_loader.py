from __future__ import annotations

import re
from collections.abc import Iterator

from rewrites.app_checker import AppRule, Hit, TextEdit
from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.rules._app import JVM, arguments, closing

_LOAD = re.compile(r"(?<![\w.])(?P<qualifier>org\s*\.\s*pytorch\s*\.\s*)?LiteModuleLoader\s*\.\s*load\s*\(")


class LiteModuleLoader(AppRule):
    """Flags `LiteModuleLoader.load(path)` in Java and Kotlin.

    ## What it does
    Reports `LiteModuleLoader.load(...)`, which loads a `.ptl` model into the lite interpreter.

    ## Why is this bad?
    The lite interpreter is PyTorch Mobile's runtime. With `org.pytorch:executorch-android`,
    `org.pytorch.executorch.Module.load(path)` loads a `.pte` program from a file path. The
    extra-files map and the device argument of the lite loader have no ExecuTorch counterpart
    (a program's delegates decide where it runs).

    ## Example
    ```java
    Module module = LiteModuleLoader.load(assetFilePath(this, "model.pte"));
    ```

    Use instead:
    ```java
    Module module = Module.load(assetFilePath(this, "model.pte"));
    ```

    ## Fix safety
    Unsafe: the call changes class (`org.pytorch.executorch.Module`, whose import MIG603 writes),
    extra arguments are dropped, and the file must be a `.pte` made by `migrate export`.
    """

    code = "MIG602"
    name = "lite-module-loader"
    message = (
        "`LiteModuleLoader.load` loads a `.ptl` into PyTorch Mobile's lite interpreter: load the `.pte` "
        "with `org.pytorch.executorch.Module.load(path)`"
    )
    fix_title = "Load with `org.pytorch.executorch.Module.load(path)`"
    fix_safety = FixSafety.UNSAFE
    languages = JVM
    tokens = (("LiteModuleLoader",),)

    VALID = [
        Valid("import org.pytorch.executorch.Module;\nclass A { Module m = Module.load(path); }\n", "A.java"),
        Valid('// LiteModuleLoader.load(path) was here\nval s = "LiteModuleLoader.load(p)"\n', "A.kt"),
    ]
    INVALID = [
        Invalid(
            'class A {\n  void f() {\n    mModule = LiteModuleLoader.load(assetFilePath(this, "m.pte"));\n  }\n}\n',
            line=3,
            column=15,
            expected='class A {\n  void f() {\n    mModule = Module.load(assetFilePath(this, "m.pte"));\n  }\n}\n',
            path="MainActivity.java",
        ),
        Invalid(
            "class A { Module m = org.pytorch.LiteModuleLoader.load(path, extraFiles, Device.CPU); }\n",
            expected="class A { Module m = org.pytorch.executorch.Module.load(path); }\n",
            path="A.java",
        ),
        Invalid(
            "class Detector(path: String) {\n    private val module = LiteModuleLoader.load(path)\n}\n",
            expected="class Detector(path: String) {\n    private val module = Module.load(path)\n}\n",
            path="Detector.kt",
        ),
    ]

    def check(self) -> Iterator[Hit]:
        masked, text = self.source.masked, self.source.text
        for match in self.search(_LOAD):
            opening = match.end() - 1
            close = closing(masked, opening)
            if close is None:
                continue
            target = "org.pytorch.executorch.Module" if match.group("qualifier") else "Module"
            args = arguments(masked, opening, close)
            if len(args) > 1:
                first = text[args[0][0] : args[0][1]].strip()
                edit = TextEdit(match.start(), close + 1, f"{target}.load({first})")
            else:
                dot = masked.rindex(".", match.start(), opening)
                edit = TextEdit(match.start(), dot, target)
            yield Hit(match.start(), close + 1, edits=(edit,))
