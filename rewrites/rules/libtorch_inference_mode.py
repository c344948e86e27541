from __future__ import annotations

import re
from collections.abc import Iterator

from rewrites.app_checker import Hit, TextEdit
from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.rules._app import NativeNames, closing, delete_statement

# `Guard name;`, `Guard name(false);`, `Guard name{true};` after the guard's type
_DECLARATION = re.compile(r"\s+(?P<var>\w+)\s*(?:\([^()]*\)|\{[^{}]*\})?\s*;")
_STRUCT = re.compile(r"\b(?:struct|class)\s+(?P<name>\w+)\s*\{")

_REMOVE = "an ExecuTorch program has no autograd to turn off: remove the guard"


class LibTorchInferenceMode(NativeNames):
    """Flags LibTorch autograd guards in C++ and Objective-C++ (`c10::InferenceMode`).

    ## What it does
    Reports `c10::InferenceMode`, `torch::NoGradGuard`, `torch::autograd::AutoGradMode`,
    `AutoNonVariableTypeMode` and `AutoDispatchBelowADInplaceOrView` (under `at`, `c10` or
    `torch`).

    ## Why is this bad?
    These guards switch off autograd in the TorchScript runtime. An ExecuTorch program is
    already inference-only and the headers that define them are gone after the migration.

    ## Example
    ```cpp
    c10::InferenceMode guard;
    auto out = module.forward({input}).toTensor();
    ```

    Use instead:
    ```cpp
    auto out = module.forward(input)->at(0).toTensor();
    ```

    ## Fix safety
    Unsafe: the guard's declaration is removed, and a struct that holds only guards (the
    demo apps' `JITCallGuard`) is removed with the variables of its type.
    """

    code = "MIG614"
    name = "libtorch-inference-mode"
    message = "A LibTorch autograd guard: ExecuTorch programs have no autograd"
    fix_safety = FixSafety.UNSAFE
    fix_title = "Remove the autograd guard"
    tokens = (
        ("GraphOptimizerEnabledGuard",),
        ("InferenceMode",),
        ("NoGradGuard",),
        ("AutoNonVariableTypeMode",),
        ("AutoGradMode",),
        ("AutoDispatchBelow",),
    )
    spellings = {
        name: _REMOVE
        for name in (
            "c10::InferenceMode",
            "torch::NoGradGuard",
            "at::AutoNonVariableTypeMode",
            "c10::AutoNonVariableTypeMode",
            "torch::AutoNonVariableTypeMode",
            "torch::autograd::AutoGradMode",
            "c10::AutoGradMode",
            "at::AutoGradMode",
            "torch::AutoGradMode",
            "at::AutoDispatchBelowADInplaceOrView",
            "c10::AutoDispatchBelowADInplaceOrView",
            "torch::jit::GraphOptimizerEnabledGuard",
        )
    }

    VALID = [Valid("// c10::InferenceMode guard;\nint x = 0;\n", "a.cpp")]
    INVALID = [
        Invalid(
            "void f() {\n  c10::InferenceMode guard;\n}\n",
            line=2,
            column=3,
            expected="void f() {\n}\n",
            path="TorchModule.mm",
            message="`c10::InferenceMode`: an ExecuTorch program has no autograd to turn off: remove the guard",
        ),
        Invalid(
            "torch::NoGradGuard no_grad;\nrun();\n",
            expected="run();\n",
            path="native-lib.cpp",
            message="`torch::NoGradGuard`: an ExecuTorch program has no autograd to turn off: remove the guard",
        ),
        Invalid(
            "void f() {\n  torch::autograd::AutoGradMode guard(false);\n"
            "  torch::AutoNonVariableTypeMode non_var_guard{true}; int x = 0;\n}\n",
            count=2,
            expected="void f() {\n   int x = 0;\n}\n",
            path="pytorch_nativeapp.cpp",
            message="`torch::autograd::AutoGradMode`: an ExecuTorch program has no autograd to turn off: remove the guard",
        ),
        Invalid(
            "struct JITCallGuard {\n  torch::autograd::AutoGradMode no_autograd_guard{false};\n"
            "  torch::jit::GraphOptimizerEnabledGuard no_optimizer_guard{false};\n};\n\n"
            "void f() {\n  JITCallGuard guard;\n  g();\n}\n",
            count=2,
            expected="\nvoid f() {\n  g();\n}\n",
            path="pytorch_nativeapp.cpp",
            message="`torch::autograd::AutoGradMode`: an ExecuTorch program has no autograd to turn off: remove the guard",
        ),
    ]

    def check(self) -> Iterator[Hit]:
        masked = self.source.masked
        structs = self._guard_structs()
        for hit in super().check():
            struct = next((s for s in structs if s[0] <= hit.start < s[1]), None)
            if struct is not None:
                yield Hit(hit.start, hit.end, hit.message, struct[2])
                continue
            declaration = _DECLARATION.match(masked, hit.end)
            if declaration is None:
                yield hit
            else:
                yield Hit(
                    hit.start,
                    hit.end,
                    hit.message,
                    (delete_statement(self.source, hit.start, declaration.end()),),
                )

    def _guard_structs(self) -> list[tuple[int, int, tuple[TextEdit, ...]]]:
        """(start, end, edits) of each struct whose members are all guards: it and its variables go."""
        masked, found = self.source.masked, []
        for match in _STRUCT.finditer(masked):
            close = closing(masked, match.end() - 1)
            end = None if close is None else re.compile(r"\s*;").match(masked, close + 1)
            if close is None or end is None:
                continue
            body = masked[match.end() : close]
            members = [m for m in body.split(";") if m.strip()]
            if not members or not all(_guard_member(m, self.spellings) for m in members):
                continue
            edits = [delete_statement(self.source, match.start(), end.end())]
            uses = re.compile(
                rf"(?<![\w:]){re.escape(match.group('name'))}\s+\w+\s*(?:\(\s*\)|\{{\s*\}})?\s*;"
            )
            edits += [
                delete_statement(self.source, u.start(), u.end()) for u in uses.finditer(masked, end.end())
            ]
            found.append((match.start(), end.end(), tuple(edits)))
        return found


def _guard_member(member: str, spellings: dict[str, str]) -> bool:
    name = re.sub(r"\s+", "", member.strip().split()[0]) if member.strip() else ""
    return name in spellings
