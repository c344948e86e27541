from __future__ import annotations

import bisect
import re
from collections.abc import Iterator

from rewrites.app_checker import AppRule, Hit, TextEdit
from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.rules._app import closing
from rewrites.rules.pytorch_android_dependency import _ALONE, _CLASSPATH, _CONFIGURATION, _COORDINATE

_LIBTORCH = re.compile(
    r"\b(?:pytorch_jni(?:_lite)?|pytorch_vision_jni|torchvision_ops|pytorch_android\w*|LibTorch(?:-Lite)?|fbjni)\b"
    r"|\bfind_package\s*\(\s*Torch\b|\$\{TORCH_(?:LIBRARIES|INCLUDE_DIRS|CXX_FLAGS)\}"
)
_COMMAND = re.compile(r"^[ \t]*(?P<name>\w+)[ \t]*\(", re.MULTILINE)
_CONFIGURE = (
    "configure with only `-DCMAKE_PREFIX_PATH=<executorch package>/share/cmake` (the package is "
    '`python -c "import executorch; print(executorch.__path__[0])"`; for Android, an ExecuTorch '
    "build for the ABI, whose `share/cmake` has the same `executorch-config.cmake`)"
)
_EXECUTORCH_FLAGS = (
    "target_include_directories({target} PRIVATE ${{EXECUTORCH_INCLUDE_DIRS}})\n"
    "target_compile_definitions({target} PRIVATE ${{EXECUTORCH_COMPILE_DEFINITIONS}})\n"
    "target_compile_features({target} PRIVATE cxx_std_${{EXECUTORCH_CXX_STANDARD}})"
)


class CMakeLibTorch(AppRule):
    """Flags LibTorch in CMake native builds (`CMakeLists.txt`, `*.cmake`).

    ## What it does
    Reports the PyTorch Mobile native libraries a native build links or finds
    (`pytorch_jni`, `pytorch_jni_lite`, `torchvision_ops`, `fbjni`), the headers it takes from
    the extracted `pytorch_android*.aar`, and desktop LibTorch (`find_package(Torch)`,
    `${TORCH_LIBRARIES}`, `${TORCH_INCLUDE_DIRS}`, `${TORCH_CXX_FLAGS}`), and the Gradle
    `extractForNativeBuild` dependency that unpacks the AAR for that build.

    ## Why is this bad?
    Those libraries go away with the PyTorch Android AAR (MIG601) or the LibTorch download, so
    the native build stops linking. ExecuTorch ships a CMake package (`executorch-config.cmake`,
    in the `executorch` Python wheel under `share/cmake`): `find_package(executorch REQUIRED)`
    gives `EXECUTORCH_LIBRARIES`, `EXECUTORCH_INCLUDE_DIRS`, `EXECUTORCH_COMPILE_DEFINITIONS` and
    `EXECUTORCH_CXX_STANDARD`, which its own documentation asks a consumer to apply.

    ## Example
    ```cmake
    find_package(Torch REQUIRED)
    add_executable(app main.cpp)
    target_link_libraries(app "${TORCH_LIBRARIES}")
    ```

    Use instead (configure with `-DCMAKE_PREFIX_PATH=<executorch package>/share/cmake`):
    ```cmake
    find_package(executorch REQUIRED)
    add_executable(app main.cpp)
    target_link_libraries(app "${EXECUTORCH_LIBRARIES}")
    target_include_directories(app PRIVATE ${EXECUTORCH_INCLUDE_DIRS})
    target_compile_definitions(app PRIVATE ${EXECUTORCH_COMPILE_DEFINITIONS})
    target_compile_features(app PRIVATE cxx_std_${EXECUTORCH_CXX_STANDARD})
    ```

    ## Fix safety
    Unsafe: `find_package(Torch)` and a `find_library` of `pytorch_jni` become
    `find_package(executorch REQUIRED)`; the AAR's header and library globs are removed and their
    variables become `${EXECUTORCH_INCLUDE_DIRS}` / `${EXECUTORCH_LIBRARIES}`; `${TORCH_CXX_FLAGS}`
    is dropped; each target linking ExecuTorch gets its include directories, definitions and C++
    standard; the Gradle `extractForNativeBuild` dependency on the PyTorch AAR is removed (its
    empty configuration and task are left). The build must then be configured with ExecuTorch's package on
    `CMAKE_PREFIX_PATH`: for Android, an ExecuTorch build for the ABI (the AAR ships no headers).
    `fbjni` and `torchvision_ops` stay findings: fbjni comes from its own prefab package
    (`com.facebook.fbjni:fbjni`, `find_package(fbjni)`), and torchvision's operators must be
    exported into the program.
    """

    code = "MIG615"
    name = "cmake-libtorch"
    message = (
        "A LibTorch / PyTorch Mobile native library in the build: `find_package(executorch REQUIRED)` and "
        f"link `${{EXECUTORCH_LIBRARIES}}`; {_CONFIGURE}"
    )
    languages = frozenset({"cmake", "groovy", "kotlin"})
    fix_safety = FixSafety.UNSAFE
    fix_title = "Build against ExecuTorch's CMake package"
    tokens = (("pytorch",), ("Torch",), ("TORCH_",), ("torchvision_ops",), ("LibTorch",), ("fbjni",))

    VALID = [
        Valid(
            "# was: find_library(PYTORCH_LIBRARY pytorch_jni)\ntarget_link_libraries(app executorch)\n",
            "CMakeLists.txt",
        ),
    ]
    INVALID = [
        Invalid(
            'file(GLOB PYTORCH_INCLUDE_DIRS "${build_DIR}/pytorch_android*.aar/headers")\n'
            'file(GLOB PYTORCH_LINK_DIRS "${build_DIR}/pytorch_android*.aar/jni/${ANDROID_ABI}")\n'
            "find_library(PYTORCH_LIBRARY pytorch_jni\n    PATHS ${PYTORCH_LINK_DIRS}\n"
            "    NO_CMAKE_FIND_ROOT_PATH)\n"
            "target_include_directories(native-lib PRIVATE ${PYTORCH_INCLUDE_DIRS})\n"
            "target_link_libraries(native-lib ${PYTORCH_LIBRARY} log)\n",
            line=1,
            column=46,
            count=3,
            expected="find_package(executorch REQUIRED)\n"
            "target_include_directories(native-lib PRIVATE ${EXECUTORCH_INCLUDE_DIRS})\n"
            "target_link_libraries(native-lib ${EXECUTORCH_LIBRARIES} log)\n"
            "target_compile_definitions(native-lib PRIVATE ${EXECUTORCH_COMPILE_DEFINITIONS})\n"
            "target_compile_features(native-lib PRIVATE cxx_std_${EXECUTORCH_CXX_STANDARD})\n",
            path="app/CMakeLists.txt",
        ),
        Invalid(
            "cmake_minimum_required(VERSION 3.18 FATAL_ERROR)\nfind_package(Torch REQUIRED)\n"
            'set(CMAKE_CXX_FLAGS "${CMAKE_CXX_FLAGS} ${TORCH_CXX_FLAGS}")\n'
            "add_executable(app main.cpp)\n"
            'target_link_libraries(app "${TORCH_LIBRARIES}")\n'
            "set_property(TARGET app PROPERTY CXX_STANDARD 17)\n",
            count=3,
            expected="cmake_minimum_required(VERSION 3.18 FATAL_ERROR)\nfind_package(executorch REQUIRED)\n"
            "add_executable(app main.cpp)\n"
            'target_link_libraries(app "${EXECUTORCH_LIBRARIES}")\n'
            "target_include_directories(app PRIVATE ${EXECUTORCH_INCLUDE_DIRS})\n"
            "target_compile_definitions(app PRIVATE ${EXECUTORCH_COMPILE_DEFINITIONS})\n"
            "target_compile_features(app PRIVATE cxx_std_${EXECUTORCH_CXX_STANDARD})\n"
            "set_property(TARGET app PROPERTY CXX_STANDARD 17)\n",
            path="CMakeLists.txt",
        ),
        Invalid(
            "dependencies {\n    implementation 'org.pytorch:pytorch_android:1.10.0'\n"
            "    extractForNativeBuild 'org.pytorch:pytorch_android:1.10.0'\n}\n",
            line=3,
            column=27,
            expected="dependencies {\n    implementation 'org.pytorch:pytorch_android:1.10.0'\n}\n",
            path="NativeApp/app/build.gradle",
            message="`extractForNativeBuild` unpacks PyTorch's AAR (headers, `libpytorch_jni.so`) for the native build: once the CMake build finds ExecuTorch's package (MIG615) it is not needed; pass `-DCMAKE_PREFIX_PATH=<executorch for the ABI>/share/cmake` in `externalNativeBuild { cmake { arguments ... } }`",
        ),
        Invalid(
            "find_library(FBJNI_LIBRARY fbjni PATHS ${FBJNI_DIRS})\n",
            column=28,
            expected="find_library(FBJNI_LIBRARY fbjni PATHS ${FBJNI_DIRS})\n",
            path="deps.cmake",
            message="`fbjni` came with the PyTorch Android AAR: take it from its own prefab package (`com.facebook.fbjni:fbjni`, `android.buildFeatures.prefab true`, `find_package(fbjni REQUIRED CONFIG)`, link `fbjni::fbjni`), or drop it if the code no longer uses it",
        ),
    ]

    def check(self) -> Iterator[Hit]:
        if self.source.language != "cmake":
            yield from self._gradle()
            return
        comments = self.source.comments
        starts = [start for start, _ in comments]
        plan = self._plan()
        for match in _LIBTORCH.finditer(self.source.text):
            i = bisect.bisect_right(starts, match.start()) - 1
            if i >= 0 and match.start() < comments[i][1]:
                continue  # inside a comment
            if match.group(0) == "fbjni":
                yield Hit(
                    match.start(),
                    match.end(),
                    "`fbjni` came with the PyTorch Android AAR: take it from its own prefab package "
                    "(`com.facebook.fbjni:fbjni`, `android.buildFeatures.prefab true`, "
                    "`find_package(fbjni REQUIRED CONFIG)`, link `fbjni::fbjni`), or drop it if the "
                    "code no longer uses it",
                )
            elif match.group(0) == "torchvision_ops":
                yield Hit(
                    match.start(),
                    match.end(),
                    "`torchvision_ops` has no ExecuTorch library: export those operators into the "
                    "program (decomposed or as a custom op) and remove it",
                )
            else:
                covered = any(start <= match.start() < end for start, end in plan[0])
                yield Hit(match.start(), match.end(), edits=plan[1] if covered else ())

    def _gradle(self) -> Iterator[Hit]:
        """`extractForNativeBuild 'org.pytorch:pytorch_android:...'` in build.gradle(.kts)."""
        source = self.source
        if not source.path.endswith((".gradle", ".gradle.kts")):
            return
        for literal in source.strings:
            if _COORDINATE.fullmatch(literal.value) is None:
                continue
            configuration = _CONFIGURATION.match(source.masked, source.line_start(literal.start))
            if configuration is None or _CLASSPATH.match(configuration.group("name")):
                continue
            line = source.masked[source.line_start(literal.start) : source.line_end(literal.start)]
            yield Hit(
                literal.start,
                literal.end,
                f"`{configuration.group('name')}` unpacks PyTorch's AAR (headers, `libpytorch_jni.so`) for "
                "the native build: once the CMake build finds ExecuTorch's package (MIG615) it is not "
                "needed; pass `-DCMAKE_PREFIX_PATH=<executorch for the ABI>/share/cmake` in "
                "`externalNativeBuild { cmake { arguments ... } }`",
                (self.delete_line(literal.start),) if _ALONE.fullmatch(line) else (),
            )

    def _plan(self) -> tuple[list[tuple[int, int]], tuple[TextEdit, ...]]:
        """What the fix rewrites (spans of the file) and its edits: one plan for the whole file."""
        masked, text = self.source.masked, self.source.text
        commands = []
        for match in _COMMAND.finditer(masked):
            close = closing(masked, match.end() - 1)
            if close is not None:
                commands.append((match.group("name").lower(), match.start(), close + 1))
        covered: list[tuple[int, int]] = []
        edits: list[TextEdit] = []
        includes, libraries, dropped = ["TORCH_INCLUDE_DIRS"], ["TORCH_LIBRARIES"], ["TORCH_CXX_FLAGS"]
        found = "find_package(executorch" in re.sub(r"\s+", "", masked)
        for name, start, end in commands:
            body = text[start:end]
            words = re.findall(r"[^\s()\"]+", body)
            if name == "find_package" and len(words) > 1 and words[1] == "Torch":
                at = start + masked[start:end].index("Torch")
                edits.append(TextEdit(at, at + len("Torch"), "executorch"))
                found = True
            elif name == "file" and len(words) > 2 and words[1] == "GLOB" and "pytorch_android" in body:
                (includes if "headers" in body else dropped).append(words[2])
                edits.append(self._delete(start, end))
            elif (
                name == "find_library" and len(words) > 2 and re.fullmatch(r"pytorch_jni(?:_lite)?", words[2])
            ):
                libraries.append(words[1])
                if found:
                    edits.append(self._delete(start, end))
                else:
                    edits.append(
                        TextEdit(
                            start + len(body) - len(body.lstrip()), end, "find_package(executorch REQUIRED)"
                        )
                    )
                    found = True
            elif name == "set" and words[1:] == [
                "CMAKE_CXX_FLAGS",
                "${CMAKE_CXX_FLAGS}",
                "${TORCH_CXX_FLAGS}",
            ]:
                edits.append(self._delete(start, end))
            else:
                continue
            covered.append((start, end))
        if not covered:
            return [], ()
        replacements = {
            **{v: "${EXECUTORCH_INCLUDE_DIRS}" for v in includes},
            **{v: "${EXECUTORCH_LIBRARIES}" for v in libraries},
            **{v: "" for v in dropped},
        }
        flagged = "${EXECUTORCH_COMPILE_DEFINITIONS}" not in text
        for name, start, end in commands:
            if any(s <= start < e for s, e in covered):
                continue
            body = text[start:end]
            for ref in re.finditer(r"\$\{(?P<var>\w+)\}", body):
                if ref.group("var") in replacements:
                    edits.append(
                        TextEdit(start + ref.start(), start + ref.end(), replacements[ref.group("var")])
                    )
                    covered.append((start + ref.start(), start + ref.end()))
            uses = re.findall(r"\$\{(\w+)\}", body)
            if name == "target_link_libraries" and flagged and any(v in libraries for v in uses):
                target = re.findall(r"[^\s()\"]+", body)[1]
                block = _EXECUTORCH_FLAGS.format(target=target).split("\n")
                if any(v in includes for v in re.findall(r"\$\{(\w+)\}", text)):
                    block = block[1:]
                edits.append(
                    TextEdit(
                        self.source.line_end(end - 1), self.source.line_end(end - 1), "\n".join(block) + "\n"
                    )
                )
        return covered, tuple(edits)

    def _delete(self, start: int, end: int) -> TextEdit:
        line_end = self.source.line_end(end - 1)
        if not self.source.text[end:line_end].strip():
            return TextEdit(self.source.line_start(start), line_end, "")
        return TextEdit(start, end, "")
