from __future__ import annotations

import re
from collections.abc import Iterator

from rewrites.app_checker import AppRule, Hit, TextEdit
from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.rules._app import JVM

_FILE = re.compile(r"[\w./-]*\w\.ptl?")
_EXTENSION = {"pt", "ptl"}
_OF_TYPE = re.compile(r"ofType\s*:\s*@?\s*$")
_NO_COMPRESS = re.compile(r"noCompress\s*(?:\+=|\(|=)?\s*(?:listOf\s*\(|\[)?[^\n]*$")


class ModelAssetName(AppRule):
    """Flags `.ptl` / `.pt` model file names in app code.

    ## What it does
    Reports string literals naming a TorchScript model file: `"model.ptl"` in Java and Kotlin,
    `noCompress 'ptl'` in Gradle, and `ofType: "pt"` resource lookups in Swift and
    Objective-C.

    ## Why is this bad?
    After the migration the app ships the `.pte` that `migrate export` wrote; code that still
    opens `model.ptl` fails at run time, not at build time.

    ## Example
    ```java
    mModule = Module.load(assetFilePath(this, "model.ptl"));
    ```

    Use instead:
    ```java
    mModule = Module.load(assetFilePath(this, "model.pte"));
    ```

    ## Fix safety
    Unsafe: the name becomes `.pte` in Java, Kotlin and Gradle, and the `.pte` has to be put in
    the assets under that name. In Swift and Objective-C the finding is display-only (iOS
    findings do not rewrite code).
    """

    code = "MIG607"
    name = "model-asset-name"
    message = "A TorchScript model file name: the app ships the `.pte` from `migrate export` instead"
    fix_title = "Name the `.pte`"
    fix_safety = FixSafety.UNSAFE
    languages = JVM | {"groovy", "swift", "objc"}
    tokens = (("org.pytorch", ".pt"), ("noCompress", "pt"), ("ofType",))

    VALID = [
        Valid(
            'import org.pytorch.executorch.Module;\nString m = "model.pte";\nString w = "weights.pth";\n',
            "A.java",
        ),
        Valid("// noCompress 'ptl'\nandroid { aaptOptions { noCompress 'tflite' } }\n", "build.gradle"),
        Valid('let path = Bundle.main.path(forResource: "words", ofType: "txt")\n', "ViewController.swift"),
    ]
    INVALID = [
        Invalid(
            'import org.pytorch.LiteModuleLoader;\nclass A { String p = assetFilePath(this, "model.ptl"); }\n',
            line=2,
            column=42,
            expected='import org.pytorch.LiteModuleLoader;\nclass A { String p = assetFilePath(this, "model.pte"); }\n',
            path="A.java",
        ),
        Invalid(
            "android {\n    aaptOptions {\n        noCompress 'ptl'\n    }\n}\n",
            expected="android {\n    aaptOptions {\n        noCompress 'pte'\n    }\n}\n",
            path="app/build.gradle",
        ),
        Invalid(
            'let path = Bundle.main.path(forResource: "model", ofType: "ptl")\n',
            expected='let path = Bundle.main.path(forResource: "model", ofType: "ptl")\n',
            path="ViewController.swift",
            message='A TorchScript model resource: bundle the `.pte` from `migrate export` and look up its path with `ofType: "pte"`',
        ),
    ]

    def check(self) -> Iterator[Hit]:
        source = self.source
        for literal in source.strings:
            value = literal.value
            if source.language in {"java", "kotlin"} and _FILE.fullmatch(value):
                new = value[: value.rindex(".")] + ".pte"
            elif value in _EXTENSION and _NO_COMPRESS.search(
                source.masked, source.line_start(literal.start), literal.start
            ):
                new = "pte"
            elif value in _EXTENSION and _OF_TYPE.search(source.masked, 0, literal.start):
                new = None
            else:
                continue
            if source.language in {"swift", "objc"}:
                yield Hit(
                    literal.start,
                    literal.end,
                    "A TorchScript model resource: bundle the `.pte` from `migrate export` and look up "
                    'its path with `ofType: "pte"`',
                )
            elif new is not None:
                yield Hit(
                    literal.start, literal.end, edits=(TextEdit(literal.value_start, literal.value_end, new),)
                )
