"""Every C++ fix's output compiles: each native rule's INVALID examples, fixed as `migrate apply
--fix --unsafe-fixes` fixes them (all the native rules together), are compiled with
`g++ -fsyntax-only` against the C++ SDK in the executorch wheel (one translation unit, one
namespace and one `#line` name per example, so an error names its example)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from migrate.validate.native_build import executorch_cmake_prefix
from rewrites.app_checker import AppRule, fix_app
from rewrites.core import Invalid
from rewrites.registry import all_rules
from tests.conftest import NEEDS_EXPORT, case_id

pytest.importorskip("torch", reason=NEEDS_EXPORT)
pytest.importorskip("executorch", reason=NEEDS_EXPORT)

_NATIVE = ("MIG610", "MIG611", "MIG612", "MIG613", "MIG614", "MIG699")

# What each example's code refers to but does not declare (its surroundings in a real file);
# `True`: the example is statements, compiled inside a function.
_CONTEXT: dict[str, tuple[str, bool]] = {
    "MIG611-invalid-ba8f64ca": (
        "struct NSString { const char* UTF8String; } filePath; std::unique_ptr<Module> _impl;",
        True,
    ),
    "MIG611-invalid-38211f7f": ('const char* path = "m.pte";', False),
    "MIG611-invalid-ec2986f3": ('const char* p = "m.pte";', False),
    "MIG611-invalid-6ad95f36": ("using Model = Module; std::unique_ptr<Model> g_module;", False),
    "MIG612-invalid-7524e896": ("TensorPtr tensor;", False),
    "MIG612-invalid-43fb8d4f": ('Module module("m.pte"); TensorPtr x, y;', True),
    "MIG612-invalid-df80e6ca": ('Module _impl("m.pte"); TensorPtr tensor, hypo;', True),
    "MIG612-invalid-859e8a28": ('Module module("m.pte"); TensorPtr input;', True),
    "MIG612-invalid-206e715a": ("TensorPtr x; executorch::runtime::EValue n;", False),
    "MIG612-invalid-09ba8aa3": (
        "struct NSArray; NSArray* wrap(const executorch::aten::Tensor&);\n"
        "std::unique_ptr<Module> _impl; TensorPtr tensor;\n#define nil nullptr",
        False,
    ),
    "MIG613-invalid-2c251446": ("float image[3 * 224 * 224]; void* imageBuffer = image;", True),
    "MIG613-invalid-8481a262": ('std::vector<int64_t> ids(4); int n = 4; Module module("m.pte");', True),
    "MIG613-invalid-d9577e6b": ("std::vector<executorch::runtime::EValue> inputs;", False),
    "MIG613-invalid-896c73cb": ('Module decoder("m.pte");', False),
    "MIG613-invalid-3d506736": ('Module m("m.pte");', False),
    "MIG613-invalid-c5ed8c9e": ("void fill(float* data);", False),
    "MIG614-invalid-bfaf93f3": ("void run();", True),
    "MIG614-invalid-ac629477": ("void g();", False),
    "MIG699-invalid-7d48ef6a": ("void load();", True),
    "MIG699-invalid-3947ea93": ("void load();", False),
}
# display-only examples: what is left is a finding that says what to write, not code
_LEFT_AS_FINDINGS = {
    "MIG612-invalid-b2737d15",
    "MIG699-invalid-cce66a64",
    "MIG699-invalid-ff98e209",
    "MIG699-invalid-5463cf2a",
}


def _cases() -> list[tuple[str, type[AppRule], Invalid]]:
    cases = []
    for rule in all_rules():
        if isinstance(rule, type) and issubclass(rule, AppRule) and rule.code in _NATIVE:
            for case in rule.INVALID:
                key = case_id(rule, case)
                if key not in _LEFT_AS_FINDINGS:
                    cases.append((key, rule, case))
    return cases


def _objective_c_as_cpp(code: str) -> str:
    """An `@implementation` with instance variables and methods, as a C++ struct."""
    code = re.sub(r"^#import[^\n]*\n", "", code, flags=re.M)
    if "@implementation" not in code:  # a method alone: a function
        return re.sub(r"^[-+] \(([^)]*)\)(\w+)\s*\{", r"\1 \2() {", code, flags=re.M)
    code = re.sub(r"@implementation\s+(\w+)\s*\{", r"struct \1 {", code)
    code = re.sub(r"^ @protected$", "protected:", code, flags=re.M)
    code = re.sub(r"^\}\n- \(\w+\)(\w+)\s*\{", r"void \1() {", code, flags=re.M)
    return code + "};\n"


def _translation_unit() -> str:
    parts = [
        "#include <executorch/extension/module/module.h>\n",
        "#include <executorch/extension/tensor/tensor.h>\n",
        "#include <jni.h>\n#include <cstring>\n#include <memory>\n#include <vector>\n",
        "using executorch::extension::Module;\nusing executorch::extension::TensorPtr;\n",
    ]
    for key, _rule, case in _cases():
        path = case.path or "a.cpp"
        fixed = fix_app(case.code.encode(), path, all_rules(), unsafe=True)
        assert fixed.error is None, (key, fixed.error)
        assert not [f for f in fixed.remaining if f.code in _NATIVE], (key, fixed.remaining)
        code = fixed.text if fixed.text is not None else case.code
        if path.endswith(".mm"):
            code = _objective_c_as_cpp(code)
        directives = "".join(re.findall(r"^[ \t]*#[^\n]*\n", code, flags=re.M))
        body = re.sub(r"^[ \t]*#[^\n]*\n", "", code, flags=re.M)
        context, statements = _CONTEXT.get(key, ("", False))
        if statements:
            body = "void example() {\n" + body + "}\n"
        name = key.replace("-", "_")
        parts += [directives, f'#line 1 "{key}"\n', f"namespace {name} {{\n{context}\n{body}}}\n"]
    return "".join(parts)


@pytest.mark.skipif(
    shutil.which("g++") is None or shutil.which("javac") is None, reason="needs g++ and a JDK"
)
def test_every_native_fix_compiles_against_the_executorch_sdk(tmp_path: Path) -> None:
    source = tmp_path / "examples.cpp"
    source.write_text(_translation_unit(), encoding="utf-8")
    package = executorch_cmake_prefix().parent.parent
    include = Path(shutil.which("javac") or "").resolve().parent.parent / "include"
    command = [
        "g++", "-std=c++17", "-fsyntax-only", "-Wno-deprecated-declarations",
        "-DC10_USING_CUSTOM_GENERATED_MACROS", f"-I{package / 'include'}",
        f"-I{package / 'include' / 'executorch' / 'runtime' / 'core' / 'portable_type' / 'c10'}",
        f"-I{include}", f"-I{include / 'linux'}", str(source),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert result.returncode == 0, "\n".join(errors[:20]) or result.stderr[-3000:]


def test_every_native_example_is_compiled_or_left_as_a_finding() -> None:
    keys = {key for key, _, _ in _cases()}
    assert len(keys) >= 15
    assert set(_CONTEXT) <= keys
    native = {case_id(r, c) for r in all_rules() if r.code in _NATIVE for c in r.INVALID}
    assert _LEFT_AS_FINDINGS <= native - keys


def _objective_cpp_command() -> list[str] | None:
    """clang with GNUstep's Foundation: the closest thing to Xcode's front end on Linux. It checks
    the `.mm` as Objective-C++ (classes, blocks, `@try`, instance variables in `@implementation`)
    against the executorch SDK's headers; it proves the file parses and type-checks, not that
    UIKit-only names exist."""
    clang, gnustep = shutil.which("clang++"), Path("/usr/include/GNUstep/Foundation/Foundation.h")
    gcc_objc = sorted(Path("/usr/lib/gcc/x86_64-linux-gnu").glob("*/include/objc/objc.h"))
    if clang is None or not gnustep.exists() or not gcc_objc:
        return None
    package = executorch_cmake_prefix().parent.parent
    return [
        clang, "-x", "objective-c++", "-std=c++17", "-fsyntax-only", "-fobjc-exceptions",
        "-fexceptions", "-fobjc-runtime=gnustep-2.0", "-Wno-everything",
        f"-I{gcc_objc[-1].parent.parent}", "-I/usr/include/GNUstep", "-DGNUSTEP",
        "-DGNUSTEP_BASE_LIBRARY=1", "-DGNU_RUNTIME=1", "-DNS_SWIFT_NAME(name)=",
        "-DC10_USING_CUSTOM_GENERATED_MACROS", f"-I{package / 'include'}",
        f"-I{package / 'include' / 'executorch' / 'runtime' / 'core' / 'portable_type' / 'c10'}",
    ]  # fmt: skip


@pytest.mark.skipif(_objective_cpp_command() is None, reason="needs clang and GNUstep's Foundation headers")
def test_the_ios_bridge_compiles_as_objective_cpp_after_apply(tmp_path: Path) -> None:
    """The iOS sample's TorchModule.mm, rewritten by `apply --fix --unsafe-fixes`, parses and
    type-checks as Objective-C++ against the executorch headers; a broken rewrite fails here."""
    from migrate import api

    samples = Path(__file__).resolve().parent.parent / "samples"
    app = tmp_path / "ios_app"
    shutil.copytree(samples / "ios_app", app)
    api.write_changes(api.apply([app], unsafe=True), allow_dirty=True)
    bridge = app / "HelloWorld" / "TorchBridge" / "TorchModule.mm"
    text = bridge.read_text(encoding="utf-8")
    assert "_load_for_mobile(" not in text and "<LibTorch" not in text
    assert "executorch::extension::Module" in text
    command = [*(_objective_cpp_command() or []), str(bridge)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    broken = tmp_path / "broken.mm"
    broken.write_text(text.replace("_impl->forward(tensor)", "_impl->forward(tensor"), encoding="utf-8")
    shutil.copy(bridge.parent / "TorchModule.h", tmp_path / "TorchModule.h")
    assert subprocess.run([*command[:-1], str(broken)], capture_output=True, check=False).returncode != 0
