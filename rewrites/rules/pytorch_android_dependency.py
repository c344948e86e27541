from __future__ import annotations

import re
from collections.abc import Iterator

from rewrites.app_checker import AppRule, Hit, TextEdit
from rewrites.app_source import Literal
from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety

# Gradle configurations that put a library on the app's classpath; others (a native build's
# `extractForNativeBuild`) use the AAR's files, which a different AAR does not have.
_CLASSPATH = re.compile(r"(?i)^(?:\w*implementation|api|\w*api|compile|\w*compileonly|\w*runtimeonly)$")
_CONFIGURATION = re.compile(r"[ \t]*(?P<name>\w+)[ \t]*(?:\(|[\"']|group\b)")
_VISION_OPS = re.compile(r"org\.pytorch:torchvision_ops(?::.*)?")
_COORDINATE = re.compile(
    r"org\.pytorch:(?P<artifact>pytorch_android(?:_torchvision)?(?:_lite)?)(?P<version>:[^:@]*)?(?P<rest>[:@].*)?"
)
_ARTIFACT = re.compile(r"pytorch_android(?:_torchvision)?(?:_lite)?")
_ALONE = re.compile(r"[ \t]*[\w.]+[ \t]*\(?[ \t]*[\"'][ \t]*[\"'][ \t]*\)?[ \t]*(?:\r\n?|\n)?")
_VERSION_KEY = re.compile(r"\bversion(?P<ref>\.ref)?[ \t]*[:=][ \t]*$")
_VERSIONS_TABLE = re.compile(r"^[ \t]*\[versions\][ \t]*$", re.MULTILINE)
_EXECUTORCH_KEY = re.compile(r"^[ \t]*executorch[ \t]*=", re.MULTILINE)


class PytorchAndroidDependency(AppRule):
    """Flags Gradle dependencies on the PyTorch Android libraries.

    ## What it does
    Reports `org.pytorch:pytorch_android_lite`, `pytorch_android`,
    `pytorch_android_torchvision_lite` and `pytorch_android_torchvision` in `build.gradle`,
    `build.gradle.kts` and version catalogs (`libs.versions.toml`): string coordinates, map
    notation (`group: 'org.pytorch', name: ...`) and catalog entries.

    ## Why is this bad?
    These AARs hold the PyTorch Mobile (lite interpreter) runtime, which no longer gets
    releases. A `.pte` runs on `org.pytorch:executorch-android`, which bundles the ExecuTorch
    runtime, the XNNPACK backend and the Java `Module` / `Tensor` / `EValue` API. The torchvision
    AAR only held `TensorImageUtils`; ExecuTorch has no counterpart (MIG606 adds a helper).

    ## Example
    ```groovy
    dependencies {
        implementation 'org.pytorch:pytorch_android_lite:1.13.1'
        implementation 'org.pytorch:pytorch_android_torchvision_lite:1.13.1'
    }
    ```

    Use instead:
    ```groovy
    dependencies {
        implementation 'org.pytorch:executorch-android:1.5.1'
    }
    ```

    ## Fix safety
    Safe: the declaration keeps its style (Groovy, Kotlin DSL or catalog) and only the
    coordinate changes; the version written is `executorch-android-version` from
    `[tool.migrate]`, by default the release matching the executorch this tool pins. In a catalog
    the version is one `executorch` entry in `[versions]`. A torchvision line next to a core
    PyTorch dependency is removed; alone, it becomes the ExecuTorch dependency.
    `org.pytorch:torchvision_ops` is reported without a fix. A coordinate in a configuration
    that feeds a native build (`extractForNativeBuild`) is MIG615's: it moves with the CMake
    build.
    """

    code = "MIG601"
    name = "pytorch-android-dependency"
    message = (
        "PyTorch Mobile's Android library: depend on `org.pytorch:executorch-android`, which runs "
        "`.pte` programs"
    )
    fix_title = "Depend on `org.pytorch:executorch-android`"
    fix_safety = FixSafety.SAFE
    languages = frozenset({"groovy", "kotlin", "toml"})
    tokens = (("pytorch_android",), ("torchvision_ops",))

    VALID = [
        Valid(
            "dependencies {\n    implementation 'org.pytorch:executorch-android:1.5.1'\n}\n", "build.gradle"
        ),
        Valid("// was: implementation 'org.pytorch:pytorch_android_lite:1.13.1'\n", "build.gradle"),
        Valid('val note = "pytorch_android_lite is gone"\n', "build.gradle.kts"),
    ]
    INVALID = [
        Invalid(
            "dependencies {\n"
            "    implementation 'org.pytorch:pytorch_android_lite:1.13.1'\n"
            "    implementation 'org.pytorch:pytorch_android_torchvision_lite:1.13.1'\n"
            "}\n",
            line=2,
            column=20,
            count=2,
            expected="dependencies {\n    implementation 'org.pytorch:executorch-android:1.5.1'\n}\n",
            path="app/build.gradle",
            message="`org.pytorch:pytorch_android_lite` is the PyTorch Mobile runtime: depend on `org.pytorch:executorch-android`, which runs `.pte` programs",
        ),
        Invalid(
            'dependencies {\n    implementation("org.pytorch:pytorch_android:1.13.1")\n}\n',
            expected='dependencies {\n    implementation("org.pytorch:executorch-android:1.5.1")\n}\n',
            path="app/build.gradle.kts",
            message="`org.pytorch:pytorch_android` is the PyTorch Mobile runtime: depend on `org.pytorch:executorch-android`, which runs `.pte` programs",
        ),
        Invalid(
            'dependencies {\n    implementation "org.pytorch:pytorch_android_torchvision_lite:$torchVersion"\n}\n',
            expected='dependencies {\n    implementation "org.pytorch:executorch-android:1.5.1"\n}\n',
            path="build.gradle",
            message="`org.pytorch:pytorch_android_torchvision_lite` only held TensorImageUtils, which ExecuTorch does not ship: depend on `org.pytorch:executorch-android` (`migrate apply --unsafe-fixes` adds a TensorImageUtils helper to the app, MIG606)",
        ),
        Invalid(
            "implementation group: 'org.pytorch', name: 'pytorch_android_lite', version: '1.13.1'\n",
            expected="implementation group: 'org.pytorch', name: 'executorch-android', version: '1.5.1'\n",
            path="build.gradle",
            message="`org.pytorch:pytorch_android_lite` is the PyTorch Mobile runtime: depend on `org.pytorch:executorch-android`, which runs `.pte` programs",
        ),
        Invalid(
            '[versions]\npytorch = "1.13.1"\n\n[libraries]\n'
            'pytorch-lite = { module = "org.pytorch:pytorch_android_lite", version.ref = "pytorch" }\n'
            'pytorch-vision = { module = "org.pytorch:pytorch_android_torchvision_lite", version.ref = "pytorch" }\n',
            line=5,
            count=2,
            expected='[versions]\nexecutorch = "1.5.1"\npytorch = "1.13.1"\n\n[libraries]\n'
            'pytorch-lite = { module = "org.pytorch:executorch-android", version.ref = "executorch" }\n'
            'pytorch-vision = { module = "org.pytorch:executorch-android", version.ref = "executorch" }\n',
            path="gradle/libs.versions.toml",
            message="`org.pytorch:pytorch_android_lite` is the PyTorch Mobile runtime: depend on `org.pytorch:executorch-android`, which runs `.pte` programs",
        ),
        Invalid(
            "dependencies {\n    extractForNativeBuild 'org.pytorch:pytorch_android:1.6.0'\n"
            "    implementation 'org.pytorch:torchvision_ops:0.10.0'\n}\n",
            line=3,
            expected="dependencies {\n    extractForNativeBuild 'org.pytorch:pytorch_android:1.6.0'\n"
            "    implementation 'org.pytorch:torchvision_ops:0.10.0'\n}\n",
            path="NativeApp/app/build.gradle",
            message="`org.pytorch:torchvision_ops` (nms, roi_align for PyTorch Mobile) has no ExecuTorch AAR: export those operators into the program (decomposed or as a custom op) and remove it",
        ),
        Invalid(
            '[libraries]\ntorch = { group = "org.pytorch", name = "pytorch_android", version = "1.13.1" }\n',
            expected='[libraries]\ntorch = { group = "org.pytorch", name = "executorch-android", version = "1.5.1" }\n',
            path="gradle/libs.versions.toml",
            message="`org.pytorch:pytorch_android` is the PyTorch Mobile runtime: depend on `org.pytorch:executorch-android`, which runs `.pte` programs",
        ),
    ]

    def check(self) -> Iterator[Hit]:
        source = self.source
        found = [(lit, _COORDINATE.fullmatch(lit.value)) for lit in source.strings]
        core = any(m is not None and "torchvision" not in m.group("artifact") for _, m in found)
        for literal, match in found:
            configuration = self._configuration(literal)
            if (match is not None or _VISION_OPS.fullmatch(literal.value)) and configuration is not None:
                if not _CLASSPATH.match(configuration):
                    continue  # it feeds the native build: MIG615 moves it with the CMake build
            if _VISION_OPS.fullmatch(literal.value):
                yield Hit(
                    literal.start,
                    literal.end,
                    "`org.pytorch:torchvision_ops` (nms, roi_align for PyTorch Mobile) has no ExecuTorch AAR: "
                    "export those operators into the program (decomposed or as a custom op) and remove it",
                )
            elif match is not None:
                yield self._coordinate(literal, match, core)
            elif _ARTIFACT.fullmatch(literal.value) and self._in_pytorch_group(literal):
                yield self._named(literal)

    def _configuration(self, literal: Literal) -> str | None:
        """The Gradle configuration a coordinate is declared in (None in a catalog)."""
        if self.source.language == "toml":
            return None
        match = _CONFIGURATION.match(self.source.masked, self.source.line_start(literal.start))
        return None if match is None else match.group("name")

    def _message(self, artifact: str) -> str:
        if "torchvision" in artifact:
            return (
                f"`org.pytorch:{artifact}` only held TensorImageUtils, which ExecuTorch does not ship: "
                "depend on `org.pytorch:executorch-android` (`migrate apply --unsafe-fixes` adds a "
                "TensorImageUtils helper to the app, MIG606)"
            )
        return (
            f"`org.pytorch:{artifact}` is the PyTorch Mobile runtime: depend on "
            "`org.pytorch:executorch-android`, which runs `.pte` programs"
        )

    def _coordinate(self, literal: Literal, match: re.Match[str], core: bool) -> Hit:
        source, artifact = self.source, match.group("artifact")
        message = self._message(artifact)
        masked = source.masked[source.line_start(literal.start) : source.line_end(literal.start)]
        if source.language != "toml" and "torchvision" in artifact and core and _ALONE.fullmatch(masked):
            return Hit(literal.start, literal.end, message, (self.delete_line(literal.start),))
        coordinate = "org.pytorch:executorch-android"
        if match.group("version") is not None:
            coordinate += f":{self.settings['executorch-android-version']}"
        edits = [TextEdit(literal.value_start, literal.value_end, coordinate + (match.group("rest") or ""))]
        if source.language == "toml":
            edits += self._catalog_version(literal)
        return Hit(literal.start, literal.end, message, tuple(edits))

    def _named(self, literal: Literal) -> Hit:
        edits = [TextEdit(literal.value_start, literal.value_end, "executorch-android")]
        edits += self._catalog_version(literal)
        return Hit(literal.start, literal.end, self._message(literal.value), tuple(edits))

    def _same_line(self, literal: Literal) -> list[Literal]:
        start, end = self.source.line_start(literal.start), self.source.line_end(literal.start)
        return [s for s in self.source.strings if start <= s.start < end and s is not literal]

    def _in_pytorch_group(self, literal: Literal) -> bool:
        return any(s.value == "org.pytorch" for s in self._same_line(literal))

    def _catalog_version(self, literal: Literal) -> list[TextEdit]:
        """The version next to a coordinate or name: a literal (Groovy map, catalog `version`)
        becomes the configured version; a catalog `version.ref` points at one `executorch` entry."""
        source, version = self.source, self.settings["executorch-android-version"]
        for other in self._same_line(literal):
            key = _VERSION_KEY.search(source.masked, source.line_start(other.start), other.start)
            if key is None or other.start < literal.start:
                continue
            if key.group("ref") is None:
                return [TextEdit(other.value_start, other.value_end, version)]
            edits = [TextEdit(other.value_start, other.value_end, "executorch")]
            if _EXECUTORCH_KEY.search(source.masked) is None:
                table = _VERSIONS_TABLE.search(source.masked)
                entry = f'executorch = "{version}"\n'
                if table is None:
                    edits.append(TextEdit(0, 0, f"[versions]\n{entry}\n"))
                else:
                    at = source.line_end(table.start())
                    edits.append(TextEdit(at, at, entry))
            return edits
        return []
