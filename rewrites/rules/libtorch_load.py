from __future__ import annotations

import re

from rewrites.app_checker import Hit, TextEdit
from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.rules._app import (
    ET_MODULE,
    NativeNames,
    call_after,
    in_try,
    indent_at,
    spaceless,
    statement_end,
    statement_start,
)

_MODULE = (
    "construct `executorch::extension::Module module(path)` (from "
    "`<executorch/extension/module/module.h>`) for the `.pte`; it loads on first use, or call `module.load()`"
)
_ERROR = (
    "ExecuTorch does not throw: `module.load()` returns an `executorch::runtime::Error` to check; "
    "a `catch` of `std::exception` still catches what the rewritten check throws"
)
# what may stand before the call: `std::make_unique<T>(`, `Type name = `, `name = `
_WRAPPED = re.compile(r"std\s*::\s*make_(?:unique|shared)\s*<[^<>;]*(?:<[^<>;]*>[^<>;]*)?>\s*\(\s*$")
_DECLARED = re.compile(r"^\s*(?P<type>(?:const\s+)?[\w:]+(?:\s*<[^;=]*>)?)\s+(?P<var>\w+)\s*=\s*$")
_ASSIGNED = re.compile(
    r"^\s*(?P<var>(?:this\s*->\s*)?\w+(?:\s*(?:\.|->)\s*\w+)*)\s*=\s*(?P<make>std\s*::.*)?$"
)
_CPU = re.compile(
    r"^\s*(?:(?:torch|at|c10)\s*::\s*(?:kCPU|Device\s*\(\s*(?:(?:torch|at|c10)\s*::\s*)?kCPU\s*\))|\"cpu\")\s*$"
)
_CHECK = (
    "if ({module}load() != executorch::runtime::Error::Ok) {{\n"
    '{indent}  throw std::runtime_error("could not load the ExecuTorch program");\n'
    "{indent}}}"
)


class LibTorchLoad(NativeNames):
    """Flags LibTorch model loading in C++ and Objective-C++ (`torch::jit::_load_for_mobile`,
    `torch::jit::load`) and the `c10::Error` it throws.

    ## What it does
    Reports the calls that load a `.ptl` into the lite interpreter or a `.pt` into the full
    TorchScript runtime, in native Android (JNI) and iOS code, and `catch (const c10::Error&)`.

    ## Why is this bad?
    ExecuTorch's C++ entry point is `executorch::extension::Module`, built from the `.pte` path
    (the same class backs the Swift / Objective-C `ExecuTorch` framework and the Android AAR).
    It throws nothing: `module.load()` returns an `executorch::runtime::Error`.

    ## Example
    ```cpp
    try {
      module = torch::jit::load(path);
    } catch (const c10::Error& e) {
      return -1;
    }
    ```

    Use instead:
    ```cpp
    try {
      module = std::make_unique<executorch::extension::Module>(path);
      if (module->load() != executorch::runtime::Error::Ok) {
        throw std::runtime_error("could not load the ExecuTorch program");
      }
    } catch (const std::exception& e) {
      return -1;
    }
    ```

    ## Fix safety
    Unsafe: `auto m = torch::jit::load(p);` becomes `executorch::extension::Module m(p);`,
    `std::make_unique<...>(torch::jit::load(p))` takes the path, and an assignment to a module
    declared elsewhere (MIG612 makes it a `std::unique_ptr`) assigns `std::make_unique`. Inside a
    `try`, the load is checked and a failure throws `std::runtime_error`, so the `catch` (now of
    `std::exception`) still runs. A device argument other than the CPU, extra files or a `return`
    of the module stay findings. The path must now name the `.pte` (`migrate export`).
    """

    code = "MIG611"
    name = "libtorch-load"
    message = "LibTorch loads TorchScript: load the `.pte` with `executorch::extension::Module`"
    fix_safety = FixSafety.UNSAFE
    fix_title = "Load the program with executorch::extension::Module"
    tokens = (("_load_for_mobile",), ("torch", "load"), ("c10", "Error"))
    spellings = {
        "torch::jit::_load_for_mobile": _MODULE,
        "torch::jit::mobile::_load_for_mobile": _MODULE,
        "torch::jit::load": _MODULE,
        "c10::Error": _ERROR,
    }
    unqualified = frozenset({"_load_for_mobile"})

    VALID = [
        Valid(
            '// torch::jit::load(path)\nexecutorch::extension::Module module("m.pte");\n', "native-lib.cpp"
        ),
        Valid('auto m = my::load(path);\nconst char* s = "torch::jit::load";\n', "a.cpp"),
    ]
    INVALID = [
        Invalid(
            "_impl = torch::jit::_load_for_mobile(filePath.UTF8String);\n",
            column=9,
            expected="_impl = std::make_unique<executorch::extension::Module>(filePath.UTF8String);\n",
            path="TorchModule.mm",
            message="`torch::jit::_load_for_mobile`: construct `executorch::extension::Module module(path)` (from `<executorch/extension/module/module.h>`) for the `.pte`; it loads on first use, or call `module.load()`",
        ),
        Invalid(
            "auto module = torch :: jit :: load(path);\n",
            expected="executorch::extension::Module module(path);\n",
            path="native-lib.cpp",
            message="`torch::jit::load`: construct `executorch::extension::Module module(path)` (from `<executorch/extension/module/module.h>`) for the `.pte`; it loads on first use, or call `module.load()`",
        ),
        Invalid(
            "using namespace torch::jit;\nauto m = _load_for_mobile(p, torch::kCPU);\n",
            line=2,
            expected="using namespace torch::jit;\nexecutorch::extension::Module m(p);\n",
            path="a.cpp",
            message="`torch::jit::_load_for_mobile`: construct `executorch::extension::Module module(path)` (from `<executorch/extension/module/module.h>`) for the `.pte`; it loads on first use, or call `module.load()`",
        ),
        Invalid(
            "bool load(const char* path) {\n  try {\n"
            "    g_module = std::make_unique<Model>(torch::jit::load(path));\n"
            "  } catch (const c10::Error& e) {\n    return false;\n  }\n  return true;\n}\n",
            line=3,
            count=2,
            expected="bool load(const char* path) {\n  try {\n"
            "    g_module = std::make_unique<Model>(path);\n"
            "    if (g_module->load() != executorch::runtime::Error::Ok) {\n"
            '      throw std::runtime_error("could not load the ExecuTorch program");\n    }\n'
            "  } catch (const std::exception& e) {\n    return false;\n  }\n  return true;\n}\n",
            path="native-lib.cpp",
            message="`torch::jit::load`: construct `executorch::extension::Module module(path)` (from `<executorch/extension/module/module.h>`) for the `.pte`; it loads on first use, or call `module.load()`",
        ),
    ]

    def fixed(self, hit: Hit, name: str) -> Hit:
        return self._catch(hit) if name.endswith("Error") else self._load(hit)

    def _catch(self, hit: Hit) -> Hit:
        before = self.source.masked[max(0, hit.start - 40) : hit.start]
        if re.search(r"\bcatch\s*\(\s*(?:const\s+)?$", before):
            return Hit(hit.start, hit.end, hit.message, (TextEdit(hit.start, hit.end, "std::exception"),))
        return hit

    def _load(self, hit: Hit) -> Hit:
        masked, text = self.source.masked, self.source.text
        found = call_after(masked, hit.end)
        if found is None:
            return hit
        close, spans = found
        if not spans or any(not _CPU.match(masked[s:e]) for s, e in spans[1:]):
            return hit
        path = text[spans[0][0] : spans[0][1]].strip()
        start = statement_start(masked, hit.start)
        end = statement_end(masked, close + 1)
        prefix = masked[start : hit.start]
        edits: list[TextEdit] = []
        wrapped = _WRAPPED.search(prefix)
        if wrapped is not None and re.match(r"\s*\)", masked[close + 1 :]):
            edits.append(TextEdit(hit.start, close + 1, path))
            assigned = _ASSIGNED.match(masked[start : start + wrapped.start()] + "std::")
            module = None if assigned is None else spaceless(assigned.group("var")) + "->"
        elif (declared := _DECLARED.match(prefix)) is not None:
            var = declared.group("var")
            edits.append(TextEdit(start + declared.start("type"), close + 1, f"{ET_MODULE} {var}({path})"))
            module = var + "."
        elif (assigned := _ASSIGNED.match(prefix)) is not None and assigned.group("make") is None:
            edits.append(TextEdit(hit.start, close + 1, f"std::make_unique<{ET_MODULE}>({path})"))
            module = spaceless(assigned.group("var")) + "->"
        else:
            return hit
        if end is not None and module is not None and in_try(masked, hit.start):
            indent = indent_at(text, hit.start)
            check = _CHECK.format(module=module, indent=indent)
            edits.append(TextEdit(end, end, "\n" + indent + check))
        return Hit(hit.start, hit.end, hit.message, tuple(edits))
