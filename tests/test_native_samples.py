"""The native code moves too: built and run before and after `migrate apply --fix --unsafe-fixes`.

Before: against the LibTorch in the torch wheel, running the TorchScript `.pt`. After: against
the C++ SDK in the executorch wheel (its CMake package only), running the `.pte` that
`migrate export` writes. Both print the same scores, which are the eager model's. Builds are
cached by content hash for the session (`migrate.validate.native_build`), so each project builds once.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from migrate import api
from migrate.validate import native_build as nb
from tests.conftest import NEEDS_EXPORT

pytest.importorskip("torch", reason=NEEDS_EXPORT)
pytest.importorskip("executorch", reason=NEEDS_EXPORT)

ROOT = Path(__file__).resolve().parent.parent
DESKTOP = ROOT / "samples" / "cpp_classifier"
ANDROID = ROOT / "samples" / "android_app"
NATIVE = Path(__file__).resolve().parent / "fixtures" / "native"
TOLERANCE = 1e-5
_LIBTORCH = re.compile(r"(?<![\w:])(?:torch|at|c10)::|<torch/|<ATen/")

pytestmark = pytest.mark.skipif(
    not (shutil.which("cmake") and shutil.which("g++") and shutil.which("javac") and shutil.which("java")),
    reason="needs cmake, g++ and a JDK (make native-tools)",
)


def _scores(output: str) -> list[float]:
    return [float(v) for v in re.findall(r"^score \d+ (\S+)$", output, re.MULTILINE)]


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The sample's model: the `.pt` its own script saves, the `.pte` from `migrate export`, and
    the eager scores on the image the programs build."""
    work = tmp_path_factory.mktemp("cpp-model")
    for name in ("model.py", "export_mobile.py"):
        shutil.copy(DESKTOP / name, work / name)
    env = {"PYTHONPATH": str(ROOT)}
    subprocess.run(
        [sys.executable, "export_mobile.py", "model.pt"], cwd=work, check=True, capture_output=True
    )
    result = subprocess.run(
        [sys.executable, "-m", "migrate", "export", "model:make_model", "-o", "model.pte"],
        cwd=work,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    spec = importlib.util.spec_from_file_location("cpp_classifier_model", DESKTOP / "model.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    eager = module.make_model()(*module.example_inputs()).detach().flatten().tolist()
    return {"pt": work / "model.pt", "pte": work / "model.pte", "eager": eager}


@pytest.fixture(scope="session")
def build_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("native-builds")


def _migrated(folder: Path) -> list[str]:
    """`migrate apply --fix --unsafe-fixes` on the folder; what is left afterwards."""
    applied = api.apply([folder], unsafe=True)
    api.write_changes(applied, allow_dirty=True)
    return [f"{f.path}:{f.line} {f.code} {f.message}" for f in api.scan([folder], use_cache=False).findings]


def _assert_close(got: list[float], want: list[float]) -> None:
    assert len(got) == len(want) == 10
    assert max(abs(a - b) for a, b in zip(got, want, strict=True)) <= TOLERANCE, (got, want)


def test_desktop_sample_runs_the_same_before_and_after(
    tmp_path: Path, models: dict[str, object], build_cache: Path
) -> None:
    project = tmp_path / "cpp_classifier"
    shutil.copytree(DESKTOP, project)

    before = nb.build(project, build_cache, nb.libtorch_cmake_prefix())
    assert before.folder is not None, before.error
    status, printed = nb.run([str(before.folder / "classifier"), str(models["pt"])])
    assert status == 0, printed
    _assert_close(_scores(printed), models["eager"])  # type: ignore[arg-type]

    left = _migrated(project)
    assert [f for f in left if " MIG6" in f] == [], left
    main = (project / "main.cpp").read_text()
    assert not _LIBTORCH.search(re.sub(r"//[^\n]*", "", main))
    cmake = (project / "CMakeLists.txt").read_text()
    assert "find_package(executorch REQUIRED)" in cmake and not re.search(r"\bTORCH_|\bTorch\b", cmake)

    after = nb.build(project, build_cache, nb.executorch_cmake_prefix())
    assert after.folder is not None, after.error
    status, printed_after = nb.run([str(after.folder / "classifier"), str(models["pte"])])
    assert status == 0, printed_after
    _assert_close(_scores(printed_after), _scores(printed))
    assert re.findall(r"^class \d+$", printed_after, re.M) == re.findall(r"^class \d+$", printed, re.M) != []


def _jdk_include() -> list[str]:
    javac = Path(shutil.which("javac") or "javac").resolve()
    include = javac.parent.parent / "include"
    return [str(include), str(include / "linux")]


def _android_host_project(root: Path, cpp: Path, *, libtorch: bool) -> Path:
    """The wrapper that builds the app's JNI folder on this machine (see its CMakeLists.txt)."""
    host = root / "host"
    shutil.copytree(NATIVE / "host", host)
    shutil.copytree(cpp, host / "app" / "src" / "main" / "cpp")
    if libtorch:  # the extracted AAR, made of the torch wheel's LibTorch
        import torch

        aar = host / "app" / "build" / "pytorch_android_lite-1.13.1.aar"
        (aar / "jni" / "x86_64").mkdir(parents=True)
        (aar / "headers").symlink_to(Path(torch.__file__).parent / "include", target_is_directory=True)
        lib = nb.libtorch_library_dir()
        (aar / "jni" / "x86_64" / "libpytorch_jni_lite.so").write_text(
            f"INPUT({lib / 'libtorch.so'} {lib / 'libtorch_cpu.so'} {lib / 'libc10.so'})\n"
        )
    return host


def _java_driver(root: Path) -> Path:
    classes = root / "classes"
    source = NATIVE / "java" / "org" / "pytorch" / "demo" / "classifier" / "NativeClassifier.java"
    subprocess.run(["javac", "-d", str(classes), str(source)], check=True, capture_output=True)
    return classes


def test_android_jni_runs_the_same_before_and_after(
    tmp_path: Path, models: dict[str, object], build_cache: Path
) -> None:
    import torch

    app = tmp_path / "android_app"
    shutil.copytree(ANDROID, app)
    cpp = app / "app" / "src" / "main" / "cpp"
    classes = _java_driver(tmp_path)
    defines = [f"-DSTANDIN_DIR={NATIVE}", f"-DJNI_INCLUDE_DIRS={';'.join(_jdk_include())}"]

    before_host = _android_host_project(tmp_path / "before", cpp, libtorch=True)
    api_include = Path(torch.__file__).parent / "include" / "torch" / "csrc" / "api" / "include"
    before = nb.build(
        before_host, build_cache, nb.libtorch_cmake_prefix(), *defines, f"-DEXTRA_INCLUDE_DIRS={api_include}"
    )
    assert before.folder is not None, before.error
    library = before.folder / "native" / "libnative-lib.so"
    java = ["java", "-cp", str(classes), "org.pytorch.demo.classifier.NativeClassifier"]
    status, printed = nb.run([*java, str(library), str(models["pt"])], library_path=nb.libtorch_library_dir())
    assert status == 0, printed
    _assert_close(_scores(printed), models["eager"])  # type: ignore[arg-type]

    left = _migrated(app)
    assert [f for f in left if re.search(r"/cpp/.* MIG6", f)] == [], left
    native = (cpp / "native-lib.cpp").read_text()
    assert not _LIBTORCH.search(re.sub(r"//[^\n]*", "", native))

    after_host = _android_host_project(tmp_path / "after", cpp, libtorch=False)
    after = nb.build(after_host, build_cache, nb.executorch_cmake_prefix(), *defines)
    assert after.folder is not None, after.error
    status, printed_after = nb.run(
        [*java, str(after.folder / "native" / "libnative-lib.so"), str(models["pte"])]
    )
    assert status == 0, printed_after
    _assert_close(_scores(printed_after), _scores(printed))
