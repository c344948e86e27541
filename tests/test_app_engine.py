"""The app-code engine (MIG6xx) on real files: what comments and strings hide, suppressions, bad
input, the fixes on the sample apps (written, parsed again, idempotent), created helper files,
the configured ExecuTorch Android version, and a fix that would break the file being refused."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from migrate import api
from rewrites.app_checker import (
    EXECUTORCH_ANDROID_VERSION,
    AppRule,
    Hit,
    TextEdit,
    app_rules,
    check_app,
    fix_app,
)
from rewrites.app_source import language_of, parse_app
from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.registry import all_rules
from tests.conftest import case_id

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
APP_RULES = app_rules(all_rules())


def _hidden(code: str, language: str, how: str) -> str:
    """``code`` turned into a comment, or into the contents of string literals."""
    if how == "comment":
        if language in {"ruby", "toml", "cmake"}:
            return "".join(f"# {line}\n" for line in code.splitlines())
        return "/* " + code.replace("*/", "* /") + " */\n"
    if language in {"ruby", "toml", "groovy"}:
        return "".join(f"x = '{line.replace(chr(39), '')}'\n" for line in code.splitlines())
    if language in {"cpp", "objc"}:
        return "".join(f'const char* s = "{line.replace(chr(34), "")}";\n' for line in code.splitlines())
    return "".join(f'val s = "{line.replace(chr(34), "").replace("$", "")}"\n' for line in code.splitlines())


HIDDEN = [
    pytest.param(rule, case, how, id=f"{case_id(rule, case)}-{how}")
    for rule in APP_RULES
    for case in rule.INVALID
    for how in ("comment", "string")
]


@pytest.mark.parametrize(("rule", "case", "how"), HIDDEN)
def test_comments_and_strings_are_not_findings(rule: type[AppRule], case: Invalid, how: str) -> None:
    assert case.path is not None
    language = language_of(case.path.rsplit("/", 1)[-1])
    assert language is not None
    if how == "string" and rule.code in {"MIG601", "MIG607", "MIG609", "MIG615"}:
        pytest.skip("this rule reads string literals: a coordinate, a file name, a pod")
    text = _hidden(case.code, language, how)
    outcome = check_app(text.encode(), case.path, all_rules())
    assert outcome.error is None
    assert [f for f in outcome.findings if f.code == rule.code] == [], text


def test_suppression_comments() -> None:
    code = (
        "class A {\n"
        "  Module a = LiteModuleLoader.load(p);  // migrate: ignore[MIG602]\n"
        "  // migrate: ignore[lite-module-loader]\n"
        "  Module b = LiteModuleLoader.load(p);\n"
        "  Module c = LiteModuleLoader.load(p);  // migrate: ignore[MIG603]\n"
        "  Module d = LiteModuleLoader.load(p);  /* migrate: ignore */\n"
        "}\n"
    )
    outcome = check_app(code.encode(), "A.java", all_rules())
    assert [(f.line, f.code) for f in outcome.findings] == [(5, "MIG602")]


@pytest.mark.parametrize(
    ("name", "data", "error"),
    [
        ("A.java", b'import org.pytorch.Module;\nString s = "\xff\xfe";\n', "not valid UTF-8"),
        ("build.gradle", b"\x00\x01org.pytorch:pytorch_android_lite\x00", "binary file"),
    ],
)
def test_unreadable_app_files_are_one_line(name: str, data: bytes, error: str) -> None:
    outcome = check_app(data, name, all_rules())
    assert outcome.error is not None and error in outcome.error and "\n" not in outcome.error
    assert fix_app(data, name, all_rules(), unsafe=True).error == outcome.error


def test_broken_java_is_still_scanned_and_never_fixed_into_worse() -> None:
    code = "import org.pytorch.LiteModuleLoader;\nclass A {\n  void f( {\n    m = LiteModuleLoader.load(p);\n"
    found = {f.code for f in check_app(code.encode(), "A.java", all_rules()).findings}
    assert {"MIG602", "MIG603"} <= found
    fixed = fix_app(code.encode(), "A.java", all_rules(), unsafe=True)
    assert fixed.error is None and fixed.text is not None and "Module.load(p)" in fixed.text


class _Breaks(AppRule):
    """Deletes a closing brace (a rule with a bug)."""

    code = "MIG698"
    name = "test-breaks"
    message = "breaks"
    fix_safety = FixSafety.SAFE
    languages = frozenset({"java"})
    tokens = (("}",),)

    def check(self) -> Iterator[Hit]:
        end = self.source.text.rindex("}")
        yield Hit(end, end + 1, edits=(TextEdit(end, end + 1, ""),))


def test_a_fix_that_would_stop_the_file_parsing_is_refused() -> None:
    outcome = fix_app(b"class A {\n  int x;\n}\n", "A.java", [_Breaks])
    assert outcome.error is not None and "does not parse" in outcome.error
    assert outcome.text is None


class _Grows(AppRule):
    """Appends to the file every round (a rule whose fix never settles)."""

    code = "MIG697"
    name = "test-grows"
    message = "grows"
    fix_safety = FixSafety.SAFE
    languages = frozenset({"java"})
    tokens = (("class",),)

    def check(self) -> Iterator[Hit]:
        end = len(self.source.text)
        yield Hit(0, 5, edits=(TextEdit(end, end, "//\n"),))


def test_app_fixes_left_at_the_round_cap_are_an_error_as_in_python() -> None:
    """The one fixer (rewrites.core.fix_rounds) says so for every language, and keeps the text."""
    outcome = fix_app(b"class A {}\n", "A.java", [_Grows])
    assert outcome.error == "fixes still pending after 10 rounds: run apply again"
    assert outcome.text == "class A {}\n" + "//\n" * 10 and len(outcome.fixed) == 10


@pytest.fixture()
def android(tmp_path: Path) -> Path:
    return Path(shutil.copytree(SAMPLES / "android_app", tmp_path / "android_app"))


def test_apply_migrates_the_android_sample(android: Path) -> None:
    safe = api.apply([android])
    assert {c.path for c in safe.changes} == {
        "app/build.gradle",
        "benchmark/build.gradle.kts",
        "gradle/libs.versions.toml",
    }
    applied = api.apply([android], unsafe=True)
    written = api.write_changes(applied, allow_dirty=True)
    assert not written.errors
    sources = android / "app/src/main/java/org/pytorch/demo/classifier"
    helper = sources / "TensorImageUtils.java"
    assert helper.is_file() and "package org.pytorch.demo.classifier;" in helper.read_text()
    for path in [helper, sources / "MainActivity.java", sources / "Detector.kt"]:
        text = path.read_text()
        assert "org.pytorch.executorch." in text
        assert not re.search(r"import org\.pytorch\.(?!executorch\.)", text), path
        assert parse_app(text, language_of(path.name) or "", count_errors=True).errors == 0, (
            f"{path.name} no longer parses"
        )
    main = (sources / "MainActivity.java").read_text()
    assert 'Module.load(assetFilePath(this, "model.pte"))' in main
    assert ".forward(EValue.from(inputTensor))[0].toTensor()" in main
    assert 'Log.e(TAG, "LiteModuleLoader failed to read model.ptl", e);' in main, "strings are kept"
    gradle = (android / "app/build.gradle").read_text()
    assert f"implementation 'org.pytorch:executorch-android:{EXECUTORCH_ANDROID_VERSION}'" in gradle
    assert "pytorch_android_torchvision_lite" not in gradle
    assert "// pytorch_android_lite ships" in gradle, "comments are kept"
    catalog = (android / "gradle/libs.versions.toml").read_text()
    assert f'executorch = "{EXECUTORCH_ANDROID_VERSION}"' in catalog
    # idempotent: nothing left to change, and what is left is what a rescan finds
    again = api.apply([android], unsafe=True)
    assert again.changes == ()
    rescan = api.scan([android], use_cache=False)
    assert {f.code for f in rescan.findings} <= {
        "MIG610",
        "MIG611",
        "MIG612",
        "MIG613",
        "MIG614",
        "MIG615",
        "MIG699",
    }


def test_a_helper_file_that_exists_is_not_overwritten(android: Path) -> None:
    helper = android / "app/src/main/java/org/pytorch/demo/classifier/TensorImageUtils.java"
    applied = api.apply([android], unsafe=True)
    helper.write_text("// the app's own\n")
    written = api.write_changes(applied, allow_dirty=True)
    assert [e.path for e in written.errors] == [
        "app/src/main/java/org/pytorch/demo/classifier/TensorImageUtils.java"
    ]
    assert helper.read_text() == "// the app's own\n"


def test_the_executorch_android_version_is_configurable(android: Path) -> None:
    (android / "pyproject.toml").write_text('[tool.migrate]\nexecutorch-android-version = "1.4.0"\n')
    applied = api.apply([android], select=["MIG601"])
    texts = {c.path: c.text for c in applied.changes}
    assert "org.pytorch:executorch-android:1.4.0" in texts["app/build.gradle"]
    assert 'executorch = "1.4.0"' in texts["gradle/libs.versions.toml"]


def test_the_default_version_is_the_pinned_executorch_release() -> None:
    pinned = re.search(r'"executorch==([\w.]+)"', (ROOT / "pyproject.toml").read_text())
    assert pinned is not None and pinned.group(1) == EXECUTORCH_ANDROID_VERSION


def test_scan_cli_reports_app_code_in_every_format(tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "migrate", "scan", str(SAMPLES / "ios_app"), "--no-cache", *args],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            check=False,
        )

    result = run("--format", "json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    codes = {f["code"] for f in report["findings"]}
    assert codes == {"MIG607", "MIG609", "MIG610", "MIG611", "MIG612", "MIG613", "MIG614"}
    assert not report["errors"]
    sarif = json.loads(run("--format", "sarif").stdout)
    assert {r["ruleId"] for r in sarif["runs"][0]["results"]} == codes


def test_every_example_file_name_is_read_as_a_rule_language() -> None:
    for rule in APP_RULES:
        for case in [*rule.VALID, *rule.INVALID]:
            assert isinstance(case, Valid | Invalid) and case.path is not None
            assert language_of(case.path.rsplit("/", 1)[-1]) in rule.languages, (rule.code, case.path)


def test_an_insertion_at_the_start_of_another_fixs_edit_waits_a_round() -> None:
    # MIG613 wraps `hidden = <output>` in clone_tensor_ptr (an insertion where the right-hand
    # side starts) while MIG612 rewrites that right-hand side: one round would interleave them.
    from rewrites.app_checker import fix_app
    from rewrites.registry import all_rules

    code = (
        "void f(float* h) {\n  at::Tensor hidden = torch::from_blob(h, {1, 8}, at::kFloat);\n"
        "  auto out = m.forward({hidden}).toTuple();\n  hidden = out->elements()[1].toTensor();\n}\n"
    )
    fixed = fix_app(code.encode(), "a.mm", all_rules(), unsafe=True)
    assert fixed.text is not None
    assert "  hidden = executorch::extension::clone_tensor_ptr(out->at(1).toTensor());\n" in fixed.text
