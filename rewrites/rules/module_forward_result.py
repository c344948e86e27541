from __future__ import annotations

import re
from collections.abc import Iterator

from rewrites.app_checker import AppRule, Hit, TextEdit
from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.rules._app import JVM, closing

_CALL = re.compile(r"(?<![\w.])(?P<receiver>\w+)(?:\s*!!)?\s*\??\.\s*(?P<method>forward|runMethod)\s*\(")
_AFTER = re.compile(r"\s*\.\s*(?P<to>to\w+)\s*\(\s*\)")
# PyTorch IValue accessor -> what follows `[0]` on an ExecuTorch EValue
_SCALARS = {
    "toTensor": ".toTensor()",
    "toBool": ".toBool()",
    "toDouble": ".toDouble()",
    "toLong": ".toInt()",
}
_CONTAINERS = (
    "toList",
    "toTensorList",
    "toDictStringKey",
    "toDictLongKey",
    "toGenericList",
    "toLongList",
    "toDoubleList",
    "toBoolList",
    "toStr",
)
# a container accessor anywhere (on a value read from forward's outputs earlier)
_ACCESSOR = re.compile(r"\.\s*(?P<to>" + "|".join(_CONTAINERS) + r")\s*\(\s*\)")
# `IValue out = m.forward(x)`: one value is wanted (an `EValue[] outs = ...` is already right)
_ONE_VALUE = re.compile(r"\b[IE]Value\s+\w+\s*=\s*$")


class ModuleForwardResult(AppRule):
    """Flags `module.forward(...)` / `runMethod(...)` results read the PyTorch Mobile way.

    ## What it does
    Reports calls of `forward` and `runMethod` on a PyTorch Android `Module` (a receiver declared
    as `Module`, or called with `IValue` / `EValue` arguments), with how their result is read.

    ## Why is this bad?
    PyTorch Mobile returns one `IValue` (`.toTensor()`, or `.toTuple()` for several outputs).
    ExecuTorch's `Module.forward(EValue...)` and `Module.execute(method, EValue...)` return an
    `EValue[]`, one element per output, and have no list or dict values.

    ## Example
    ```java
    Tensor out = module.forward(IValue.from(input)).toTensor();
    IValue[] outs = module.forward(IValue.from(input)).toTuple();
    ```

    Use instead:
    ```java
    Tensor out = module.forward(EValue.from(input))[0].toTensor();
    EValue[] outs = module.forward(EValue.from(input));
    ```

    ## Fix safety
    Unsafe: `.toTensor()` (and the scalar accessors) become `[0].…`, `.toTuple()` is dropped,
    `runMethod` becomes `execute`, and `IValue out = m.forward(x)` takes `[0]`. Lists and dicts
    are left as findings: the model must return a tuple of tensors instead.
    """

    code = "MIG605"
    name = "module-forward-result"
    message = "ExecuTorch's `Module.forward` returns `EValue[]`, one per output, not one `IValue`"
    fix_title = "Read the outputs from the `EValue[]`"
    fix_safety = FixSafety.UNSAFE
    languages = JVM
    tokens = (
        ("forward", "org.pytorch"),
        ("runMethod", "org.pytorch"),
        *((to, "org.pytorch") for to in _CONTAINERS),
    )

    VALID = [
        Valid(
            "import org.pytorch.executorch.EValue;\nTensor t = module.forward(EValue.from(x))[0].toTensor();\n",
            "A.java",
        ),
        Valid(
            "import org.pytorch.executorch.Module\nval layer = Linear()\nval y = layer.forward(x)\n", "A.kt"
        ),
    ]
    INVALID = [
        Invalid(
            "import org.pytorch.IValue;\n"
            "class A {\n  Tensor f(Tensor t) {\n    return mModule.forward(IValue.from(t)).toTensor();\n  }\n}\n",
            line=4,
            column=12,
            expected="import org.pytorch.IValue;\n"
            "class A {\n  Tensor f(Tensor t) {\n    return mModule.forward(IValue.from(t))[0].toTensor();\n  }\n}\n",
            path="A.java",
        ),
        Invalid(
            "import org.pytorch.Module\nclass D(private val module: Module) {\n"
            "    fun run(x: Tensor) = module.forward(IValue.from(x)).toTuple()\n}\n",
            expected="import org.pytorch.Module\nclass D(private val module: Module) {\n"
            "    fun run(x: Tensor) = module.forward(IValue.from(x))\n}\n",
            path="D.kt",
        ),
        Invalid(
            "import org.pytorch.Module;\nclass A {\n  Module m;\n"
            '  void f() { IValue out = m.runMethod("encode", IValue.from(x)); }\n}\n',
            expected="import org.pytorch.Module;\nclass A {\n  Module m;\n"
            '  void f() { IValue out = m.execute("encode", IValue.from(x))[0]; }\n}\n',
            path="A.java",
        ),
        Invalid(
            'import org.pytorch.executorch.EValue;\nclass A {\n  EValue out = m.execute("get_classes")[0];\n'
            "  List<EValue> classes = out.toList();\n}\n",
            line=4,
            expected='import org.pytorch.executorch.EValue;\nclass A {\n  EValue out = m.execute("get_classes")[0];\n'
            "  List<EValue> classes = out.toList();\n}\n",
            path="A.java",
            message="ExecuTorch has no list or dict values (`.toList()`): make the model return a tuple of tensors and read them from the `EValue[]` that `forward` returns",
        ),
        Invalid(
            "import org.pytorch.IValue\nval answer = mModule!!.forward(IValue.from(t)).toTensor()\n",
            expected="import org.pytorch.IValue\nval answer = mModule!!.forward(IValue.from(t))[0].toTensor()\n",
            path="A.kt",
        ),
        Invalid(
            "import org.pytorch.IValue;\nMap<String, IValue> d = module.forward(IValue.from(x)).toDictStringKey();\n",
            expected="import org.pytorch.IValue;\nMap<String, IValue> d = module.forward(IValue.from(x)).toDictStringKey();\n",
            path="A.java",
            message="ExecuTorch has no list or dict values (`.toDictStringKey()`): make the model return a tuple of tensors and read them from the `EValue[]` that `forward` returns",
        ),
    ]

    def check(self) -> Iterator[Hit]:
        reported: set[int] = set()
        for hit in self._calls():
            reported.add(hit.end)
            yield hit
        for match in self.search(_ACCESSOR):
            if match.start() not in reported:
                yield Hit(match.start() + 1, match.end(), _container_message(match.group("to")))

    def _calls(self) -> Iterator[Hit]:
        masked = self.source.masked
        for match in self.search(_CALL):
            opening = match.end() - 1
            close = closing(masked, opening)
            if close is None or not self._is_module(match.group("receiver"), masked[opening:close]):
                continue
            edits = []
            if match.group("method") == "runMethod":
                edits.append(TextEdit(match.start("method"), match.end("method"), "execute"))
            after = _AFTER.match(masked, close + 1)
            to = after.group("to") if after else None
            if to in _SCALARS and after is not None:
                edits.append(TextEdit(close + 1, after.end(), "[0]" + _SCALARS[to]))
            elif to == "toTuple" and after is not None:
                edits.append(TextEdit(close + 1, after.end(), ""))
            elif to in _CONTAINERS:
                yield Hit(match.start(), close + 1, _container_message(to))
                continue
            elif to is None and masked[close + 1 : close + 2] != "[":
                if _ONE_VALUE.search(masked, self.source.line_start(match.start()), match.start()) is None:
                    if not edits:
                        continue  # the result is not used
                else:
                    edits.append(TextEdit(close + 1, close + 1, "[0]"))
            if edits:
                yield Hit(match.start(), close + 1, edits=tuple(edits))

    def _is_module(self, receiver: str, arguments: str) -> bool:
        if "IValue" in arguments or "EValue" in arguments:
            return True
        declared = rf"\bModule\s+{re.escape(receiver)}\b|\b{re.escape(receiver)}\s*:\s*Module\b"
        loaded = rf"\b{re.escape(receiver)}\s*=\s*(?:LiteModuleLoader|Module)\s*\.\s*load\b"
        return re.search(f"{declared}|{loaded}", self.source.masked) is not None


def _container_message(to: str) -> str:
    if to == "toStr":
        return "an ExecuTorch program cannot return a string (`.toStr()`): return tensors and decode them in the app"
    return (
        f"ExecuTorch has no list or dict values (`.{to}()`): make the model return a tuple of tensors and "
        "read them from the `EValue[]` that `forward` returns"
    )
