from __future__ import annotations

import re
from collections.abc import Iterator

from rewrites.app_checker import Hit, TextEdit
from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.rules._app import (
    ET_EVALUE,
    ET_MODULE,
    NativeNames,
    arguments,
    closing,
    delete_statement,
    in_try,
    indent_at,
    statement_end,
    statement_start,
)

# `module.forward({...})`, `module->run_method("name", ...)`
_CALL = re.compile(r"(?:\.|->)\s*(?P<method>forward|run_method)\s*\(")
# what is read off the result: `.toTensor()` (and a `.contiguous()` or `.cpu()` that
# ExecuTorch's outputs do not need), `.toTuple()->elements()[i]`, or another IValue accessor
_READ = re.compile(
    r"\s*\.\s*(?P<to>to\w+)\s*\(\s*\)"
    r"(?:(?<=toTensor\(\))(?:\s*\.\s*(?:contiguous|cpu)\s*\(\s*\))+"
    r"|(?<=toTuple\(\))\s*->\s*elements\s*\(\s*\)\s*\[(?P<index>[^\[\]]+)\])?"
)
_READ_VAR = re.compile(
    r"\s*\.\s*(?P<to>toTensor|toTuple)\s*\(\s*\)"
    r"(?:(?<=toTuple\(\))\s*->\s*elements\s*\(\s*\)\s*\[(?P<index>[^\[\]]+)\])?"
)
# what may stand before a declaration: storage, `@protected`, `private:`
_SPECIFIER = re.compile(r"static|thread_local|inline|@\w+|\w+:")
# the object a call is made on (`_impl`, `g_module`, `this->module_`)
_RECEIVER = re.compile(r"(?<![\w.>])\w+(?:\s*(?:\.|->)\s*\w+)*\s*$")
_RESULT_VAR = re.compile(r"\s*auto\s+(?P<var>\w+)\s*=\s*")
_MEMBER = re.compile(r"\s+(?P<var>\w+)\s*;")
_IVALUE_RESULT = re.compile(r"\s+(?P<var>\w+)\s*=\s*[\w.>\-]+\s*(?:\.|->)\s*forward\s*\([^;]*;")
_MODULE_TYPES = r"(?:torch\s*::\s*jit\s*::\s*(?:script\s*::\s*|mobile\s*::\s*)?Module|executorch\s*::\s*extension\s*::\s*Module)"
_EVAL = re.compile(r"(?<![\w.>:])(?P<var>\w+)\s*(?:\.|->)\s*(?P<call>eval\s*\(\s*\))\s*;")

_ADVICE = (
    "use `executorch::extension::Module`; its `forward(inputs)` returns "
    "`Result<std::vector<EValue>>`: `module.forward(tensor)->at(0).toTensor()`"
)


class LibTorchModule(NativeNames):
    """Flags LibTorch module types in C++ and Objective-C++.

    ## What it does
    Reports `torch::jit::mobile::Module`, `torch::jit::script::Module`, `torch::jit::Module`,
    the value type their `forward` returns, `c10::IValue` (also spelled `at::` / `torch::`), and
    results read straight off the call (`_impl.forward({tensor}).toTensor()`, `.toTuple()`,
    `.toGenericDict()`).

    ## Why is this bad?
    These hold a TorchScript model. Their `forward({...}).toTensor()` returns one `IValue` and
    throws on error; ExecuTorch's `executorch::extension::Module::forward` returns a `Result`
    holding one `EValue` per output.

    ## Example
    ```cpp
    torch::jit::mobile::Module _impl;
    auto out = _impl.forward({tensor}).toTensor();
    ```

    Use instead:
    ```cpp
    std::unique_ptr<executorch::extension::Module> _impl;
    auto out = _impl->forward(tensor)->at(0).toTensor();
    ```

    ## Fix safety
    Unsafe: module types become `executorch::extension::Module` (a module declared without a
    value, to be loaded later, becomes a `std::unique_ptr` and its uses `->`);
    `std::vector<IValue>` becomes `std::vector<EValue>`; `forward({x})` becomes `forward(x)`
    (several inputs: a `std::vector<EValue>`), `run_method` becomes `execute`; `.toTensor()` on
    the result becomes `->at(0).toTensor()` and `.toTuple()->elements()[i]` becomes `->at(i)`;
    `eval()` on a module is removed. Inside a `try`, the `Result` is checked first and a failure
    throws `std::runtime_error`, so the `catch` still runs; elsewhere a `Result` that holds an
    error aborts with ExecuTorch's log message when read, as an uncaught `c10::Error` ended the
    program. List, dict and string values stay findings: an ExecuTorch
    program returns one `EValue` per output.
    """

    code = "MIG612"
    name = "libtorch-module"
    message = "A TorchScript module type: ExecuTorch's is `executorch::extension::Module`"
    fix_safety = FixSafety.UNSAFE
    fix_title = "Use executorch::extension::Module and EValue"
    tokens = (("torch", "Module"), ("IValue",), ("forward",))
    spellings = {
        "torch::jit::mobile::Module": _ADVICE,
        "torch::jit::script::Module": _ADVICE,
        "torch::jit::Module": _ADVICE,
        **{
            f"{ns}::IValue": "ExecuTorch's value type is `executorch::runtime::EValue`, and it holds no "
            "lists, tuples or dicts: `module.forward(...)` returns one `EValue` per output"
            for ns in ("c10", "at", "torch", "torch::jit")
        },
    }

    VALID = [
        Valid(
            "std::unique_ptr<executorch::extension::Module> module;\nauto out = module->forward(x);\n",
            "a.cpp",
        ),
        Valid(
            "/* torch::jit::mobile::Module _impl; */\n@interface TorchModule : NSObject\n@end\n",
            "TorchModule.h",
        ),
    ]
    INVALID = [
        Invalid(
            "@implementation TorchModule {\n  torch::jit::mobile::Module _impl;\n}\n"
            "- (void)run {\n  auto out = _impl.forward({tensor}).toTensor();\n}\n",
            line=2,
            column=3,
            count=2,
            expected="@implementation TorchModule {\n  std::unique_ptr<executorch::extension::Module> _impl;\n}\n"
            "- (void)run {\n  auto out = _impl->forward(tensor)->at(0).toTensor();\n}\n",
            path="TorchModule.mm",
            message="`torch::jit::mobile::Module`: use `executorch::extension::Module`; its `forward(inputs)` returns `Result<std::vector<EValue>>`: `module.forward(tensor)->at(0).toTensor()`",
        ),
        Invalid(
            "static torch::jit::script::Module module;\n",
            expected="static std::unique_ptr<executorch::extension::Module> module;\n",
            path="native-lib.cpp",
            message="`torch::jit::script::Module`: use `executorch::extension::Module`; its `forward(inputs)` returns `Result<std::vector<EValue>>`: `module.forward(tensor)->at(0).toTensor()`",
        ),
        Invalid(
            "c10::IValue t_out = module.forward({x, y});\n",
            count=2,
            expected="auto t_out = module.forward(std::vector<executorch::runtime::EValue>{x, y});\n",
            path="a.cpp",
            message="`c10::IValue`: ExecuTorch's value type is `executorch::runtime::EValue`, and it holds no lists, tuples or dicts: `module.forward(...)` returns one `EValue` per output",
        ),
        Invalid(
            "auto outputTuple = _impl.forward({ tensor, hypo }).toTuple();\n"
            "auto boxes = outputTuple->elements()[0].toTensor();\n",
            column=26,
            expected="auto outputTuple = _impl.forward(std::vector<executorch::runtime::EValue>{tensor, hypo});\n"
            "auto boxes = outputTuple->at(0).toTensor();\n",
            path="InferenceModule.mm",
            message="`forward(...)` of a TorchScript module: ExecuTorch's `Module::forward` takes `EValue`s (a `TensorPtr` converts) and returns `Result<std::vector<EValue>>`: one `EValue` per output",
        ),
        Invalid(
            "std::vector<torch::jit::IValue> inputs;\ninputs.push_back(input);\n"
            "at::Tensor output = module.forward(inputs).toTensor();\n",
            count=2,
            expected="std::vector<executorch::runtime::EValue> inputs;\ninputs.push_back(input);\n"
            "at::Tensor output = module.forward(inputs)->at(0).toTensor();\n",
            path="example-app.cpp",
            message="`torch::jit::IValue`: ExecuTorch's value type is `executorch::runtime::EValue`, and it holds no lists, tuples or dicts: `module.forward(...)` returns one `EValue` per output",
        ),
        Invalid(
            "void f(torch::jit::Module& m) {\n  m.eval();\n"
            '  auto y = m.run_method("encode", x, n).toTensor();\n}\n',
            count=3,
            expected="void f(executorch::extension::Module& m) {\n"
            '  auto y = m.execute("encode", std::vector<executorch::runtime::EValue>{x, n})->at(0).toTensor();\n}\n',
            path="a.cpp",
            message="`torch::jit::Module`: use `executorch::extension::Module`; its `forward(inputs)` returns `Result<std::vector<EValue>>`: `module.forward(tensor)->at(0).toTensor()`",
        ),
        Invalid(
            "- (NSArray*)predict {\n  try {\n    auto out = _impl->forward({tensor}).toTensor();\n"
            "    auto pair = _impl->forward({tensor}).toTuple();\n    return wrap(out);\n"
            "  } catch (const std::exception& e) {\n    return nil;\n  }\n}\n",
            line=3,
            count=2,
            expected="- (NSArray*)predict {\n  try {\n    auto outputs = _impl->forward(tensor);\n"
            "    if (!outputs.ok()) {\n"
            '      throw std::runtime_error("the ExecuTorch program failed to run");\n    }\n'
            "    auto out = outputs->at(0).toTensor();\n"
            "    auto pair = _impl->forward(tensor);\n    if (!pair.ok()) {\n"
            '      throw std::runtime_error("the ExecuTorch program failed to run");\n    }\n'
            "    return wrap(out);\n"
            "  } catch (const std::exception& e) {\n    return nil;\n  }\n}\n",
            path="TorchModule.mm",
            message="`forward(...)` of a TorchScript module: ExecuTorch's `Module::forward` takes `EValue`s (a `TensorPtr` converts) and returns `Result<std::vector<EValue>>`: one `EValue` per output",
        ),
        Invalid(
            "c10::IValue out = module.forward({x});\nauto list = out.toList();\nat::IValue state;\n",
            count=3,
            expected="c10::IValue out = module.forward(x);\nauto list = out.toList();\nat::IValue state;\n",
            path="a.cpp",
            message="`c10::IValue`: ExecuTorch's value type is `executorch::runtime::EValue`, and it holds no lists, tuples or dicts: `module.forward(...)` returns one `EValue` per output",
        ),
    ]

    def fixed(self, hit: Hit, name: str) -> Hit:
        return self._ivalue(hit) if name.endswith("IValue") else self._module(hit)

    def check(self) -> Iterator[Hit]:
        masked = self.source.masked
        yield from super().check()
        for match in self.search(_CALL):
            yield from self._call(match)
        for match in self.search(_EVAL):
            var = match.group("var")
            if re.search(rf"{_MODULE_TYPES}[^;(){{}}]*\b{re.escape(var)}\b", masked):
                yield Hit(
                    match.start("call"),
                    match.end("call"),
                    "`eval()`: an ExecuTorch program is already in inference mode; remove the call",
                    (delete_statement(self.source, match.start(), match.end()),),
                )

    def _module(self, hit: Hit) -> Hit:
        masked = self.source.masked
        declared = _MEMBER.match(masked, hit.end)
        prefix = masked[statement_start(masked, hit.start) : hit.start].split()
        if declared is None or not all(_SPECIFIER.fullmatch(word) for word in prefix):
            return Hit(hit.start, hit.end, hit.message, (TextEdit(hit.start, hit.end, ET_MODULE),))
        var = declared.group("var")
        edits = [TextEdit(hit.start, hit.end, f"std::unique_ptr<{ET_MODULE}>")]
        uses = re.compile(rf"(?<![\w.>:]){re.escape(var)}\s*\.(?=\s*\w)")
        edits += [TextEdit(u.start(), u.end(), var + "->") for u in uses.finditer(masked, declared.end())]
        return Hit(hit.start, hit.end, hit.message, tuple(edits))

    def _ivalue(self, hit: Hit) -> Hit:
        masked = self.source.masked
        if re.search(r"\bvector\s*<\s*$", masked[max(0, hit.start - 20) : hit.start]):
            return Hit(hit.start, hit.end, hit.message, (TextEdit(hit.start, hit.end, ET_EVALUE),))
        declared = _IVALUE_RESULT.match(masked, hit.end)
        if declared is None:
            return hit
        var = declared.group("var")
        edits = [TextEdit(hit.start, hit.end, "auto")]
        uses = list(re.finditer(rf"(?<![\w.>:]){re.escape(var)}\b", masked[declared.end() :]))
        for use in uses:
            at = declared.end() + use.start()
            read = _READ_VAR.match(masked, at + len(var))
            if read is None:
                return hit  # used as a value: a person decides
            edits.append(TextEdit(at + len(var), read.end(), _read_text(read)))
        return Hit(hit.start, hit.end, hit.message, tuple(edits))

    def _call(self, match: re.Match[str]) -> Iterator[Hit]:
        masked, text = self.source.masked, self.source.text
        open_at = match.end() - 1
        close = closing(masked, open_at)
        if close is None:
            return
        method = match.group("method")
        spans = arguments(masked, open_at, close)
        read = _READ.match(masked, close + 1)
        braced = len(spans) == 1 and masked[spans[0][0] : spans[0][1]].strip().startswith("{")
        if method == "forward" and not braced and read is None:
            return  # already ExecuTorch's spelling
        edits = []
        values = [_strip(masked, s, e) for s, e in (spans[1:] if method == "run_method" else spans)]
        if method == "run_method":
            edits.append(TextEdit(match.start("method"), match.end("method"), "execute"))
        if len(values) == 1 and braced:
            inner_open = masked.index("{", values[0][0])
            inner_close = closing(masked, inner_open)
            items = [] if inner_close is None else arguments(masked, inner_open, inner_close)
            if inner_close is not None and masked[inner_close + 1 : values[0][1]].strip() == "":
                edits.append(TextEdit(values[0][0], values[0][1], _values(text, items)))
        elif len(values) > 1:
            edits.append(TextEdit(values[0][0], values[-1][1], _values(text, values)))
        message = (
            f"`{method}(...)` of a TorchScript module: ExecuTorch's `Module::"
            f"{'execute' if method == 'run_method' else 'forward'}` takes `EValue`s (a `TensorPtr` "
            "converts) and returns `Result<std::vector<EValue>>`: one `EValue` per output"
        )
        if read is not None:
            if read.group("to") in ("toTensor", "toTuple"):
                edits.append(TextEdit(close + 1, read.end(), _read_text(read)))
                if read.group("index") is None and read.group("to") == "toTuple":
                    edits += self._tuple_uses(match.start(), read.end())
            else:
                message = (
                    f"`{method}(...).{read.group('to')}()` reads a TorchScript `IValue`: ExecuTorch's "
                    "`Module::forward` returns `Result<std::vector<EValue>>`; check `.ok()`, then "
                    "`->at(0).toTensor()` (there are no tuple, list or dict values: one `EValue` per output)"
                )
                edits = []
        if edits and in_try(masked, match.start()):
            edits = self._checked(match, close, read, edits)
        yield Hit(match.start("method"), close + 1 if read is None else read.end("to"), message, tuple(edits))

    def _checked(
        self, match: re.Match[str], close: int, read: re.Match[str] | None, edits: list[TextEdit]
    ) -> list[TextEdit]:
        """Inside a `try`, the call's `Result` is checked and a failure throws, so the `catch`
        that handled LibTorch's exception still runs (reading a failed `Result` would abort)."""
        masked, text = self.source.masked, self.source.text
        start = statement_start(masked, match.start())
        end = statement_end(masked, close + 1)
        receiver = _RECEIVER.search(masked, start, match.start())
        if end is None or receiver is None:
            return edits
        indent = indent_at(text, start + len(masked[start:end]) - len(masked[start:end].lstrip()))
        throw = f'{indent}  throw std::runtime_error("the ExecuTorch program failed to run");\n{indent}}}'
        declared = _RESULT_VAR.fullmatch(masked, start, receiver.start())
        if read is None or (read.group("to") == "toTuple" and read.group("index") is None):
            if declared is None:
                return edits
            check = f"\n{indent}if (!{declared.group('var')}.ok()) {{\n{throw}"
            return [*edits, TextEdit(end, end, check)]
        # `auto out = m.forward(x).toTensor();` -> the result first, checked, then read
        call = text[receiver.start() : close + 1]
        for edit in sorted((e for e in edits if e.end <= close + 1), key=lambda e: e.start, reverse=True):
            offset = receiver.start()
            call = call[: edit.start - offset] + edit.text + call[edit.end - offset :]
        name = _free_name(text, "outputs")
        line = start + len(masked[start:end]) - len(masked[start:end].lstrip())
        hoisted = f"auto {name} = {call};\n{indent}if (!{name}.ok()) {{\n{throw}\n{indent}"
        return [
            TextEdit(line, line, hoisted),
            TextEdit(receiver.start(), read.end(), name + _read_text(read)),
        ]

    def _tuple_uses(self, start: int, end: int) -> list[TextEdit]:
        """`auto t = m.forward(x).toTuple();`: `t->elements()[i]` becomes `t->at(i)`."""
        masked = self.source.masked
        declared = re.search(
            r"\b(?P<var>\w+)\s*=(?!=)[\w\s.>\-]*$", masked[statement_start(masked, start) : start]
        )
        if declared is None:
            return []
        var = re.escape(declared.group("var"))
        uses = re.compile(rf"(?<![\w.>:]){var}\s*->\s*elements\s*\(\s*\)\s*\[(?P<index>[^\[\]]+)\]")
        return [
            TextEdit(u.start(), u.end(), f"{declared.group('var')}->at({u.group('index').strip()})")
            for u in uses.finditer(masked, end)
        ]


def _free_name(text: str, stem: str) -> str:
    names = set(re.findall(r"\w+", text))
    return next(n for n in (stem, *(f"{stem}{i}" for i in range(1, 1000))) if n not in names)


def _strip(masked: str, start: int, end: int) -> tuple[int, int]:
    while start < end and masked[start].isspace():
        start += 1
    while end > start and masked[end - 1].isspace():
        end -= 1
    return start, end


def _values(text: str, spans: list[tuple[int, int]]) -> str:
    items = [text[s:e].strip() for s, e in spans]
    if len(items) == 1:
        return items[0]
    return f"std::vector<{ET_EVALUE}>{{{', '.join(items)}}}"


def _read_text(read: re.Match[str]) -> str:
    if read.group("to") == "toTensor":
        return "->at(0).toTensor()"
    if read.group("index") is not None:
        return f"->at({read.group('index').strip()})"
    return ""
