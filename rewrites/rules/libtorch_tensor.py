from __future__ import annotations

import re
from collections.abc import Iterator

from rewrites.app_checker import Hit, TextEdit
from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.rules._app import (
    ET_SCALAR,
    ET_TENSOR,
    NativeNames,
    arguments,
    call_after,
    closing,
    spaceless,
    statement_end,
    statement_start,
)

_FROM_BLOB = (
    "`executorch::extension::from_blob(data, {sizes}, executorch::aten::ScalarType::Float)` (from "
    "`<executorch/extension/tensor/tensor.h>`) wraps the buffer in a `TensorPtr`"
)
_TENSOR = (
    "ExecuTorch tensors are `executorch::extension::TensorPtr` (made by `from_blob` / `make_tensor_ptr`) "
    "and, read off an `EValue`, `executorch::aten::Tensor`"
)
# LibTorch's dtype constants (`at::kFloat`, `torch::kInt64`) and ExecuTorch's ScalarType names
_DTYPES = {
    "Float": "Float", "Float32": "Float", "Long": "Long", "Int64": "Long", "Int": "Int", "Int32": "Int",
    "Byte": "Byte", "UInt8": "Byte", "Char": "Char", "Int8": "Char", "Short": "Short", "Int16": "Short",
    "Half": "Half", "Float16": "Half", "Double": "Double", "Float64": "Double", "Bool": "Bool",
    "BFloat16": "BFloat16",
}  # fmt: skip
_SCALAR_TYPES = sorted(set(_DTYPES.values()))
_DTYPE = re.compile(
    r"(?<![\w:])(?:(?:torch|at|c10)\s*::\s*k(?P<k>\w+)|(?:torch|at|c10)\s*::\s*ScalarType\s*::\s*(?P<s>\w+))\b"
)
_ET_DTYPE = re.compile(r"\s*executorch\s*::\s*aten\s*::\s*ScalarType\s*::\s*(?P<s>\w+)\s*")
_RESULT = re.compile(r"\btoTensor\b|\bforward\b|\bexecute\b|\brun_method\b|->\s*at\s*\(")
_DATA_PTR = re.compile(r"(?P<op>\.|->)\s*(?P<call>data_ptr\s*<)")
_POINTER_DECL = re.compile(r"^\s*(?P<type>[\w:]+)\s*\*\s*\w+\s*=\s*$")
_DECLARED = re.compile(r"\s+(?P<var>\w+)\s*=\s*")
_LIBTORCH_OR_EXECUTORCH = re.compile(
    r"#\s*(?:include|import)\s*[<\"](?:torch/|ATen/|LibTorch|executorch/)", re.I
)


_DECLARED_EMPTY = re.compile(r"\s+(?P<var>\w+)\s*;")
# what a TensorPtr may be assigned as it is: a new one, or a copy already made
_OWNED = re.compile(
    r"(?:torch|at|executorch\s*::\s*extension)\s*::\s*(?:from_blob|clone_tensor_ptr|make_tensor_ptr)\b"
)


def _sizes(text: str, masked: str, start: int, end: int) -> str:
    """The sizes argument, with each element that is an expression (not a number or a name)
    cast to ExecuTorch's 32-bit `SizesType`: a braced list would not narrow it silently."""
    written = text[start:end].strip()
    open_at = masked.find("{", start, end)
    close = None if open_at < 0 else closing(masked, open_at)
    if close is None or masked[start:open_at].strip() or masked[close + 1 : end].strip():
        return written
    parts = []
    for s, e in arguments(masked, open_at, close):
        item = text[s:e].strip()
        simple = re.fullmatch(r"\d+|[A-Za-z_]\w*", re.sub(r"/\*.*?\*/", "", item).strip())
        parts.append(item if simple else f"static_cast<executorch::aten::SizesType>({item})")
    inner = text[open_at + 1 : close]
    pad = " " if inner.startswith(" ") else ""
    return text[start:open_at].strip() + "{" + pad + ", ".join(parts) + pad + "}"


def _scope_end(masked: str, index: int) -> int:
    """The end of the innermost `{ }` block holding ``index`` (the file's end at top level)."""
    depth = 0
    for i in range(index - 1, -1, -1):
        if masked[i] == "}":
            depth += 1
        elif masked[i] == "{":
            if depth == 0:
                close = closing(masked, i)
                return len(masked) if close is None else close
            depth -= 1
    return len(masked)


def _free_name(text: str, stem: str) -> str:
    """``stem``, or ``stem1``, ``stem2``...: the first that the file does not use."""
    names = set(re.findall(r"\w+", text))
    return next(n for n in (stem, *(f"{stem}{i}" for i in range(1, 1000))) if n not in names)


def _scalar(match: re.Match[str]) -> str | None:
    name = match.group("k") or match.group("s")
    if match.group("s") is not None:
        return name if name in _SCALAR_TYPES else None
    return _DTYPES.get(name)


class LibTorchTensor(NativeNames):
    """Flags LibTorch tensors in C++ and Objective-C++ (`at::Tensor`, `torch::from_blob`).

    ## What it does
    Reports `at::Tensor`, `torch::Tensor`, `torch::from_blob`, `at::from_blob`, the dtype
    constants (`at::kFloat`, `torch::kInt64`, `c10::ScalarType::Float`) and `data_ptr<T>()`.

    ## Why is this bad?
    ATen is not part of the ExecuTorch runtime. Inputs are wrapped with
    `executorch::extension::from_blob`, which returns a `TensorPtr` the `Module` takes directly,
    and outputs come back as `executorch::aten::Tensor` inside an `EValue`, read with
    `const_data_ptr<T>()` (`data_ptr` is deprecated there). `size(d)`, `sizes()`, `numel()` and
    `dim()` keep their spelling.

    ## Example
    ```cpp
    at::Tensor input = torch::from_blob(buffer, {1, 3, 224, 224}, at::kFloat);
    ```

    Use instead:
    ```cpp
    auto input = executorch::extension::from_blob(buffer, {1, 3, 224, 224}, executorch::aten::ScalarType::Float);
    ```

    ## Fix safety
    Unsafe: `from_blob(data, sizes[, dtype or options with a dtype])` becomes ExecuTorch's (sizes
    are 32-bit there), a tensor declared from it becomes `auto` (a `TensorPtr`: its uses take
    `->`); a `from_blob` used in place (`inputs.push_back(torch::from_blob(...))`) moves into a
    variable first, because an `EValue` does not own the tensor a `TensorPtr` does; a later
    assignment of an output to that variable keeps a copy (`clone_tensor_ptr`), because the
    program writes over its outputs at the next call; other `at::Tensor` / `torch::Tensor` become `executorch::aten::Tensor`, dtype constants
    become `executorch::aten::ScalarType::...`, and `data_ptr<T>()` becomes `const_data_ptr<T>()`
    (a `T*` it initialises becomes `const T*`). A tensor declared empty (`at::Tensor out;`)
    becomes a `TensorPtr` (an ExecuTorch `Tensor` cannot be empty). A size that is an expression
    is cast to the 32-bit `executorch::aten::SizesType`. Options other than a dtype, and tensor
    math (MIG699), stay findings.
    """

    code = "MIG613"
    name = "libtorch-tensor"
    message = "A LibTorch (ATen) tensor: ExecuTorch wraps data in `executorch::extension::TensorPtr`"
    fix_safety = FixSafety.UNSAFE
    fix_title = "Use ExecuTorch's from_blob, Tensor and ScalarType"
    tokens = (("at::",), ("torch::",), ("torch ::",), ("at ::",), ("c10::",), ("data_ptr",))
    spellings = {
        "torch::from_blob": _FROM_BLOB,
        "at::from_blob": _FROM_BLOB,
        "at::Tensor": _TENSOR,
        "torch::Tensor": _TENSOR,
    }

    VALID = [
        Valid("auto t = executorch::extension::from_blob(buf, {1, 3});\n", "a.cpp"),
        Valid('// at::Tensor t = torch::from_blob(...)\nNSLog(@"at::Tensor");\n', "TorchModule.mm"),
        Valid("#include <vector>\nfloat* p = buffer.data_ptr<float>();\n", "other.cpp"),
        Valid(  # a PyTorch C++ extension's binding (custom ops of the Python package)
            "#include <ATen/ATen.h>\nat::Tensor add(at::Tensor a, at::Tensor b) { return a + b; }\n"
            'PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) { m.def("add", &add); }\n',
            "binding.cpp",
        ),
    ]
    # (a tensor that is not an output: `void f(at::Tensor image) { use(image.data_ptr<float>()); }`
    # becomes `image.mutable_data_ptr<float>()`, see the last example)
    INVALID = [
        Invalid(
            "at::Tensor tensor = torch::from_blob(imageBuffer, {1, 3, 224, 224}, at::kFloat);\n"
            "auto n = tensor.numel();\n",
            column=1,
            count=3,
            expected="auto tensor = executorch::extension::from_blob(imageBuffer, {1, 3, 224, 224}, "
            "executorch::aten::ScalarType::Float);\nauto n = tensor->numel();\n",
            path="TorchModule.mm",
            message="`at::Tensor`: ExecuTorch tensors are `executorch::extension::TensorPtr` (made by `from_blob` / `make_tensor_ptr`) and, read off an `EValue`, `executorch::aten::Tensor`",
        ),
        Invalid(
            "#include <torch/script.h>\n"
            "auto t = torch::from_blob(ids.data(), {1, n}, torch::TensorOptions().dtype(torch::kInt64));\n"
            "torch::Tensor out = module.forward(t)->at(0).toTensor();\n"
            "float* scores = out.data_ptr<float>();\n",
            line=2,
            count=4,
            expected="#include <torch/script.h>\n"
            "auto t = executorch::extension::from_blob(ids.data(), {1, n}, executorch::aten::ScalarType::Long);\n"
            "executorch::aten::Tensor out = module.forward(t)->at(0).toTensor();\n"
            "const float* scores = out.const_data_ptr<float>();\n",
            path="native-lib.cpp",
            message="`torch::from_blob`: `executorch::extension::from_blob(data, {sizes}, executorch::aten::ScalarType::Float)` (from `<executorch/extension/tensor/tensor.h>`) wraps the buffer in a `TensorPtr`",
        ),
        Invalid(
            "void f(std::vector<float>& pixels) {\n"
            "  inputs.push_back(torch::from_blob(pixels.data(), {1, 3, 2, 2}));\n}\n",
            line=2,
            expected="void f(std::vector<float>& pixels) {\n"
            "  auto input = executorch::extension::from_blob(pixels.data(), {1, 3, 2, 2}, "
            "executorch::aten::ScalarType::Float);\n  inputs.push_back(input);\n}\n",
            path="main.cpp",
            message="`torch::from_blob`: `executorch::extension::from_blob(data, {sizes}, executorch::aten::ScalarType::Float)` (from `<executorch/extension/tensor/tensor.h>`) wraps the buffer in a `TensorPtr`",
        ),
        Invalid(
            "void step(float* h, long* ids) {\n"
            "  at::Tensor hidden = torch::from_blob(h, {1, 8});\n"
            "  at::Tensor tokens = torch::from_blob(ids, {1}, at::kLong);\n"
            "  for (int i = 0; i < 4; i++) {\n"
            "    auto outputs = decoder.forward(std::vector<executorch::runtime::EValue>{tokens, hidden});\n"
            "    hidden = outputs->at(1).toTensor();\n"
            "    tokens = torch::from_blob(ids, {1}, at::kLong);\n  }\n}\n",
            line=2,
            count=7,
            expected="void step(float* h, long* ids) {\n"
            "  auto hidden = executorch::extension::from_blob(h, {1, 8}, executorch::aten::ScalarType::Float);\n"
            "  auto tokens = executorch::extension::from_blob(ids, {1}, executorch::aten::ScalarType::Long);\n"
            "  for (int i = 0; i < 4; i++) {\n"
            "    auto outputs = decoder.forward(std::vector<executorch::runtime::EValue>{tokens, hidden});\n"
            "    hidden = executorch::extension::clone_tensor_ptr(outputs->at(1).toTensor());\n"
            "    tokens = executorch::extension::from_blob(ids, {1}, executorch::aten::ScalarType::Long);\n"
            "  }\n}\n",
            path="InferenceModule.mm",
            message="`at::Tensor`: ExecuTorch tensors are `executorch::extension::TensorPtr` (made by `from_blob` / `make_tensor_ptr`) and, read off an `EValue`, `executorch::aten::Tensor`",
        ),
        Invalid(
            "void run(const char* text) {\n"
            "  at::Tensor out;\n"
            "  auto in = torch::from_blob((void*)text, {1, (int64_t)(strlen(text))}, at::kByte);\n"
            "  out = m.forward(in)->at(0).toTensor();\n  auto n = out.numel();\n}\n",
            line=2,
            count=3,
            expected="void run(const char* text) {\n"
            "  executorch::extension::TensorPtr out;\n"
            "  auto in = executorch::extension::from_blob((void*)text, {1, "
            "static_cast<executorch::aten::SizesType>((int64_t)(strlen(text)))}, "
            "executorch::aten::ScalarType::Byte);\n"
            "  out = executorch::extension::clone_tensor_ptr(m.forward(in)->at(0).toTensor());\n"
            "  auto n = out->numel();\n}\n",
            path="TorchModule.mm",
            message="`at::Tensor`: ExecuTorch tensors are `executorch::extension::TensorPtr` (made by `from_blob` / `make_tensor_ptr`) and, read off an `EValue`, `executorch::aten::Tensor`",
        ),
        Invalid(
            "#include <torch/script.h>\nvoid warp(at::Tensor image) {\n  fill(image.data_ptr<float>());\n}\n",
            line=2,
            count=2,
            expected="#include <torch/script.h>\n"
            "void warp(executorch::aten::Tensor image) {\n  fill(image.mutable_data_ptr<float>());\n}\n",
            path="native.cpp",
            message="`at::Tensor`: ExecuTorch tensors are `executorch::extension::TensorPtr` (made by `from_blob` / `make_tensor_ptr`) and, read off an `EValue`, `executorch::aten::Tensor`",
        ),
        Invalid(
            "auto dtype = c10::ScalarType::Byte;\n",
            expected="auto dtype = executorch::aten::ScalarType::Byte;\n",
            path="a.cpp",
            message="`c10::ScalarType::Byte`: the element type is `executorch::aten::ScalarType::Byte` in ExecuTorch",
        ),
    ]

    def fixed(self, hit: Hit, name: str) -> Hit:
        return self._from_blob(hit) if name.endswith("from_blob") else self._tensor(hit)

    def check(self) -> Iterator[Hit]:
        yield from super().check()
        for match in self.search(_DTYPE):
            scalar = _scalar(match)
            if scalar is not None:
                yield Hit(
                    match.start(),
                    match.end(),
                    f"`{spaceless(match.group(0))}`: the element type is `{ET_SCALAR}::{scalar}` in ExecuTorch",
                    (TextEdit(match.start(), match.end(), f"{ET_SCALAR}::{scalar}"),),
                )
        if _LIBTORCH_OR_EXECUTORCH.search(self.source.text):
            yield from self._data_ptrs()

    def _from_blob(self, hit: Hit) -> Hit:
        masked, text = self.source.masked, self.source.text
        found = call_after(masked, hit.end)
        if found is None:
            return hit
        close, spans = found
        if len(spans) not in (2, 3):
            return hit
        args = [text[spans[0][0] : spans[0][1]].strip(), _sizes(text, masked, *spans[1])]
        already = None if len(spans) < 3 else _ET_DTYPE.fullmatch(masked, *spans[2])
        if already is not None:  # the dtype's own fix came first
            scalar = already.group("s")
        elif len(spans) == 3:
            dtypes = list(_DTYPE.finditer(masked, *spans[2]))
            scalar = _scalar(dtypes[0]) if len(dtypes) == 1 else None
            rest = masked[spans[2][0] : spans[2][1]].replace(dtypes[0].group(0), "") if dtypes else ""
            if scalar is None or not re.fullmatch(
                r"\s*(?:(?:torch|at|c10)\s*::\s*TensorOptions\s*\(\s*\)\s*\.\s*dtype\s*\(\s*\)|(?:torch|at|c10)\s*::\s*(?:TensorOptions|dtype)\s*\(\s*\))?\s*",
                rest,
            ):
                return hit
        else:
            scalar = "Float"
        call = f"executorch::extension::from_blob({', '.join(args)}, {ET_SCALAR}::{scalar})"
        start = statement_start(masked, hit.start)
        prefix = masked[start : hit.start]
        declared = re.fullmatch(r"\s*(?P<type>(?:at|torch)\s*::\s*Tensor|auto)\s+(?P<var>\w+)\s*=\s*", prefix)
        assigned = re.fullmatch(r"\s*(?P<var>\w+)\s*=\s*", prefix)
        if declared is None and assigned is not None and self._from_blob_variable(assigned.group("var")):
            # `tensorInput = torch::from_blob(...)` to a TensorPtr: it takes the ownership
            return Hit(hit.start, hit.end, hit.message, (TextEdit(hit.start, close + 1, call),))
        if declared is None:
            # a TensorPtr owns the tensor that an EValue only points at: keep it in a variable
            var = _free_name(text, "input")
            at = start + len(prefix) - len(prefix.lstrip())
            indent = (
                text[self.source.line_start(at) : at]
                if not text[self.source.line_start(at) : at].strip()
                else ""
            )
            return Hit(
                hit.start,
                hit.end,
                hit.message,
                (TextEdit(at, at, f"auto {var} = {call};\n{indent}"), TextEdit(hit.start, close + 1, var)),
            )
        edits = [TextEdit(hit.start, close + 1, call)]
        if declared.group("type") != "auto":
            var = declared.group("var")
            edits.append(TextEdit(start + declared.start("type"), start + declared.end("type"), "auto"))
            edits += self._pointer_uses(var, close)
        return Hit(hit.start, hit.end, hit.message, tuple(edits))

    def _from_blob_variable(self, var: str) -> bool:
        """Whether ``var`` is declared from a `from_blob` (so it is, or becomes, a TensorPtr)."""
        pattern = (
            rf"(?:(?:at|torch)\s*::\s*Tensor|auto)\s+{re.escape(var)}\s*=\s*"
            r"(?:torch|at|executorch\s*::\s*extension)\s*::\s*from_blob\b"
        )
        return re.search(pattern, self.source.masked) is not None

    def _pointer_uses(self, var: str, after: int) -> list[TextEdit]:
        """``var`` became a TensorPtr: in its scope, `var.x` becomes `var->x`, and an assignment
        of an output (`hidden = outputs->at(1).toTensor();`) keeps a copy it owns (the output's
        memory is the program's, and the next call writes over it)."""
        masked, edits = self.source.masked, []
        scope_end = _scope_end(masked, after)
        uses = re.compile(rf"(?<![\w.>:]){re.escape(var)}\s*\.(?=\s*\w)")
        edits += [TextEdit(u.start(), u.end(), var + "->") for u in uses.finditer(masked, after, scope_end)]
        assignment = re.compile(rf"(?<![\w.>:]){re.escape(var)}\s*=(?!=)\s*")
        for match in assignment.finditer(masked, after, scope_end):
            start = match.end()
            end = statement_end(masked, start)
            if end is None or _OWNED.match(masked, start):
                continue
            edits += [
                TextEdit(start, start, "executorch::extension::clone_tensor_ptr("),
                TextEdit(end - 1, end - 1, ")"),
            ]
        return edits

    def _tensor(self, hit: Hit) -> Hit:
        masked = self.source.masked
        declared = _DECLARED.match(masked, hit.end)
        if declared is not None and re.match(r"(?:torch|at)\s*::\s*from_blob\b", masked[declared.end() :]):
            return hit  # the from_blob fix makes it `auto`
        empty = _DECLARED_EMPTY.match(masked, hit.end)
        if empty is not None and not masked[statement_start(masked, hit.start) : hit.start].strip():
            # an ExecuTorch Tensor has no empty state: a TensorPtr holds what is assigned later
            edits = [TextEdit(hit.start, hit.end, "executorch::extension::TensorPtr")]
            edits += self._pointer_uses(empty.group("var"), empty.end())
            return Hit(hit.start, hit.end, hit.message, tuple(edits))
        return Hit(hit.start, hit.end, hit.message, (TextEdit(hit.start, hit.end, ET_TENSOR),))

    def _is_output(self, receiver: str) -> bool:
        """Whether the tensor read is a model output: read off a result, or a variable that is
        set from one (outputs are read with `const_data_ptr`, others `mutable_data_ptr`)."""
        if _RESULT.search(receiver):
            return True
        name = re.match(r"\s*(\w+)", receiver)
        if name is None:
            return False
        sets = re.finditer(
            rf"(?<![\w.>:]){re.escape(name.group(1))}\s*=(?!=)(?P<value>[^;]*);", self.source.masked
        )
        return any(_RESULT.search(m.group("value")) for m in sets)

    def _data_ptrs(self) -> Iterator[Hit]:
        masked = self.source.masked
        for match in self.search(_DATA_PTR):
            start = statement_start(masked, match.start())
            receiver = re.search(r"[\w\s.>\-()]*$", masked[start : match.start()])
            output = receiver is not None and self._is_output(receiver.group(0))
            edits = [TextEdit(match.start("call"), match.start("call"), "const_" if output else "mutable_")]
            prefix = masked[start : match.start() - (len(receiver.group(0)) if receiver else 0)]
            declared = _POINTER_DECL.match(prefix)
            if output and declared is not None and declared.group("type") != "const":
                edits.append(
                    TextEdit(start + declared.start("type"), start + declared.start("type"), "const ")
                )
            yield Hit(
                match.start("call"),
                match.end("call") - 1,
                "`data_ptr<T>()`: ExecuTorch tensors have `const_data_ptr<T>()` (read) and "
                "`mutable_data_ptr<T>()` (write)",
                tuple(edits),
            )
