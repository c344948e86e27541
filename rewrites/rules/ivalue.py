from __future__ import annotations

import re
from collections.abc import Iterator

from rewrites.app_checker import AppRule, Hit, TextEdit
from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.rules._app import JVM

_IVALUE = re.compile(
    r"(?<![\w.])(?P<qualifier>org\s*\.\s*pytorch\s*\.\s*)?IValue\b"
    r"(?P<container>\s*\.\s*(?:listFrom|tupleFrom|dictStringKeyFrom|dictLongKeyFrom|optionalNull)\b)?"
)
_IMPORT_LINE = re.compile(r"[ \t]*import\b")


class IValueType(AppRule):
    """Flags `IValue` in Java and Kotlin code that uses PyTorch Android.

    ## What it does
    Reports each use of `IValue` (types, `IValue.from(tensor)`), and the list, tuple, dict and
    optional constructors (`IValue.listFrom`, `tupleFrom`, `dictStringKeyFrom`, ...).

    ## Why is this bad?
    ExecuTorch's Java value type is `org.pytorch.executorch.EValue`, with the same
    `EValue.from(tensor)` / `toTensor()` shape. It holds tensors and scalars only: a model that
    takes a list, tuple or dict has to take its tensors as separate inputs.

    ## Example
    ```java
    IValue input = IValue.from(tensor);
    ```

    Use instead:
    ```java
    EValue input = EValue.from(tensor);
    ```

    ## Fix safety
    Unsafe: `IValue` becomes `EValue` (imported by MIG603's fix); container constructors are
    left as findings, since the model's signature has to change first.
    """

    code = "MIG604"
    name = "ivalue"
    message = "`IValue` is PyTorch Mobile's value type: ExecuTorch's is `org.pytorch.executorch.EValue`"
    fix_title = "Use `EValue`"
    fix_safety = FixSafety.UNSAFE
    languages = JVM
    tokens = (("IValue", "org.pytorch"),)

    VALID = [
        Valid("import org.pytorch.executorch.EValue;\nEValue v = EValue.from(t);\n", "A.java"),
        Valid('import org.pytorch.executorch.EValue\n// IValue.from(t)\nval s = "IValue"\n', "A.kt"),
    ]
    INVALID = [
        Invalid(
            "import org.pytorch.executorch.EValue;\nclass A { IValue f(Tensor t) { return IValue.from(t); } }\n",
            line=2,
            column=11,
            count=2,
            expected="import org.pytorch.executorch.EValue;\nclass A { EValue f(Tensor t) { return EValue.from(t); } }\n",
            path="A.java",
        ),
        Invalid(
            "import org.pytorch.Tensor\nval out = module.forward(org.pytorch.IValue.from(input))\n",
            expected="import org.pytorch.Tensor\nval out = module.forward(org.pytorch.executorch.EValue.from(input))\n",
            path="A.kt",
        ),
        Invalid(
            "import org.pytorch.IValue;\nclass A { Object x = IValue.listFrom(a, b); }\n",
            line=2,
            expected="import org.pytorch.IValue;\nclass A { Object x = IValue.listFrom(a, b); }\n",
            path="A.java",
            message="ExecuTorch values hold tensors and scalars, not lists, tuples, dicts or optionals: make the model take its tensors as separate inputs",
        ),
    ]

    def check(self) -> Iterator[Hit]:
        source = self.source
        for match in self.search(_IVALUE):
            if _IMPORT_LINE.match(source.masked, source.line_start(match.start())):
                continue  # MIG603's
            if match.group("container"):
                yield Hit(
                    match.start(),
                    match.end(),
                    "ExecuTorch values hold tensors and scalars, not lists, tuples, dicts or optionals: "
                    "make the model take its tensors as separate inputs",
                )
                continue
            name = "org.pytorch.executorch.EValue" if match.group("qualifier") else "EValue"
            yield Hit(match.start(), match.end(), edits=(TextEdit(match.start(), match.end(), name),))
