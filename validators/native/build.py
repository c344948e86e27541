"""Builds the native runners for a platform and says how to start them.

``host``: CMake against the installed ``executorch`` / ``ai-edge-litert`` wheels' SDKs.
``arm64``: cross-built with Debian's ``g++-aarch64-linux-gnu`` against the aarch64 wheels of
the same pinned versions, fetched once by ``pip download`` into the cache, and run under
``qemu-aarch64 -cpu CPU`` (numerics on the kernels that CPU gets; emulated time means nothing).
qemu-user passes the host's ``/proc/cpuinfo`` through, an x86 description that LiteRT's CPU
detection dies on (SIGSEGV) and that hides the core from XNNPACK's (which picks kernels tuned
per core, e.g. for the in-order Cortex-A53). So each CPU gets a small sysroot for ``-L``: the
cross toolchain's ``lib`` and a ``proc/cpuinfo`` naming that core (qemu looks up every path the
program opens under ``-L`` first).

Builds are cached by the content hash of the sources, the SDK versions and paths, the compiler
and the platform. A build happens in a private temporary folder that is renamed into place
only when complete, so nothing half-built is ever reused.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from validators.versions import installed_version

SOURCES = Path(__file__).resolve().parent
SYSROOT = Path("/usr/aarch64-linux-gnu")
# /proc/cpuinfo as Linux writes it on each core qemu models (`qemu-aarch64 -cpu help` in Debian's
# qemu 7.2): implementer, variant, part, revision (the MIDR fields) and the features of its
# hwcaps. qemu's `max` is no real core: implementer 0.
_BASE = "fp asimd evtstrm aes pmull sha1 sha2 crc32 cpuid"
_V82 = _BASE + " atomics fphp asimdhp asimdrdm lrcpc dcpop asimddp"
CORES = {
    "a64fx": (
        "0x46",
        "0x1",
        "0x001",
        0,
        "fp asimd evtstrm sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm fcma dcpop sve",
    ),
    "cortex-a35": ("0x41", "0x0", "0xd04", 2, _BASE),
    "cortex-a53": ("0x41", "0x0", "0xd03", 4, _BASE),
    "cortex-a57": ("0x41", "0x1", "0xd07", 1, _BASE),
    "cortex-a72": ("0x41", "0x0", "0xd08", 2, _BASE),
    "cortex-a76": ("0x41", "0x4", "0xd0b", 1, _V82),
    "max": (
        "0x00",
        "0x0",
        "0x051",
        0,
        _V82 + " sha3 sm3 sm4 sha512 sve asimdfhm dit uscat ilrcpc flagm ssbs sb",
    ),
    "neoverse-n1": ("0x41", "0x4", "0xd0c", 1, _V82 + " ssbs"),
}
ARM64_CPUS = tuple(CORES)
DEFAULT_ARM64_CPU = "cortex-a76"
# the tools each architecture needs, and the Debian package that has each
TOOLS = {
    "host": {"cmake": "cmake", "c++": "g++"},
    "arm64": {
        "cmake": "cmake",
        "aarch64-linux-gnu-g++": "g++-aarch64-linux-gnu",
        "qemu-aarch64": "qemu-user",
    },
}
# the aarch64 wheels' platform tags (executorch 1.5.1: 2_28; ai-edge-litert 2.3.0: 2_27)
WHEEL_PLATFORMS = ("manylinux_2_28_aarch64", "manylinux_2_27_aarch64", "manylinux2014_aarch64")


class NativeSetupError(Exception):
    """What the native targets need is missing (a tool, the network for a download, a build)."""


@dataclass(frozen=True)
class Platform:
    """Where a runtime row runs: ``host`` (the Python bindings), ``native`` (the C++ runners on
    this CPU) or ``arm64:CPU`` (the C++ runners cross-built, under qemu's model of CPU)."""

    name: str
    arch: str = "host"  # what the runners are built for: host or arm64
    cpu: str | None = None  # qemu's CPU model for arm64

    @property
    def native(self) -> bool:
        return self.name != "host"

    @property
    def emulated(self) -> bool:
        return self.arch == "arm64"

    @classmethod
    def parse(cls, text: str) -> Platform:
        name, _, cpu = text.strip().partition(":")
        if name in {"host", "native"} and not cpu:
            return cls(name)
        if name == "arm64":
            cpu = cpu or DEFAULT_ARM64_CPU
            if cpu not in ARM64_CPUS:
                raise NativeSetupError(
                    f"--target {text}: unknown arm64 CPU {cpu!r}; known: {', '.join(ARM64_CPUS)}"
                )
            return cls(f"arm64:{cpu}", "arm64", cpu)
        raise NativeSetupError(f"--target {text}: expected host, native or arm64[:CPU]")


@dataclass(frozen=True)
class NativeBuild:
    arch: str
    directory: Path
    runners: dict[str, Path]  # kind (executorch, tflite) -> executable
    problems: dict[str, str]  # kind -> why there is no runner for it

    def command(self, kind: str, platform: Platform) -> tuple[str, ...]:
        runner = self.runners.get(kind)
        if runner is None:
            raise NativeSetupError(self.problems.get(kind, f"no native runner for {kind}"))
        if platform.emulated:
            cpu = platform.cpu or DEFAULT_ARM64_CPU
            sysroot = _sysroot(cpu, self.directory.parent)
            return ("qemu-aarch64", "-cpu", cpu, "-L", str(sysroot), str(runner))
        return (str(runner),)


def cpuinfo(cpu: str) -> str:
    implementer, variant, part, revision, features = CORES[cpu]
    return (
        f"processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: {features}\nCPU implementer\t: {implementer}\n"
        f"CPU architecture: 8\nCPU variant\t: {variant}\nCPU part\t: {part}\nCPU revision\t: {revision}\n\n"
    )


def _sysroot(cpu: str, cache: Path) -> Path:
    """``lib`` of the cross toolchain and this core's ``proc/cpuinfo``, made once."""
    text = cpuinfo(cpu)
    final = cache / f"sysroot-{cpu}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"
    if final.is_dir():
        return final
    cache.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=cache))
    (scratch / "proc").mkdir()
    (scratch / "proc" / "cpuinfo").write_text(text, encoding="ascii")
    (scratch / "lib").symlink_to(SYSROOT / "lib")
    try:
        os.rename(scratch, final)
    except OSError:
        shutil.rmtree(scratch, ignore_errors=True)
        if not final.is_dir():
            raise
    return final


def missing_tools(arch: str) -> list[str]:
    """The Debian packages holding the tools this architecture needs that are not on PATH."""
    missing = [package for tool, package in TOOLS[arch].items() if shutil.which(tool) is None]
    if arch == "arm64" and not (SYSROOT / "lib").is_dir() and "g++-aarch64-linux-gnu" not in missing:
        missing.append("g++-aarch64-linux-gnu")
    return missing


def default_cache() -> Path:
    return Path(os.environ.get("MIGRATE_NATIVE_CACHE", Path(".migrate_cache") / "native")).absolute()


def build(
    arch: str, cache: Path | None = None, progress: Callable[[str], None] = lambda m: None
) -> NativeBuild:
    """The runners for ``arch`` (host or arm64), built once per content hash."""
    missing = missing_tools(arch)
    if missing:
        raise NativeSetupError(
            f"the {arch} native runners need {', '.join(missing)}: apt-get install {' '.join(missing)} "
            "(`make native-tools` does it as root)"
        )
    cache = cache or default_cache()
    executorch_version = installed_version("executorch")
    litert_version = installed_version("ai-edge-litert")
    if not executorch_version:
        raise NativeSetupError("the native runners need the executorch package: pip install executorch")
    if arch == "host":
        executorch_root = _package_dir("executorch")
        litert_root = _package_dir("ai_edge_litert") if litert_version else None
    else:
        executorch_root = _aarch64_wheel("executorch", executorch_version, cache, progress) / "executorch"
        litert_root = (
            _aarch64_wheel("ai-edge-litert", litert_version, cache, progress) / "ai_edge_litert"
            if litert_version
            else None
        )
    key = _key(arch, executorch_version, litert_version, executorch_root, litert_root)
    final = cache / f"{arch}-{key}"
    if not (final / "build.json").is_file():
        if final.exists():  # not ours (ours appear whole, by rename): never reuse a part of it
            shutil.rmtree(final)
        _build(arch, final, executorch_root, litert_root, progress)
    recorded = json.loads((final / "build.json").read_text(encoding="utf-8"))
    runners = {kind: final / name for kind, name in recorded["runners"].items()}
    return NativeBuild(arch, final, runners, dict(recorded["problems"]))


def _build(
    arch: str, final: Path, executorch_root: Path, litert_root: Path | None, progress: Callable[[str], None]
) -> None:
    progress(f"building the {arch} native runners (once per source and SDK version) in {final.parent}")
    final.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=final.parent))
    try:
        configure = [
            "cmake",
            "-S",
            str(SOURCES),
            "-B",
            str(scratch / "build"),
            "-DCMAKE_BUILD_TYPE=Release",
            f"-DCMAKE_PREFIX_PATH={executorch_root / 'share' / 'cmake'}",
        ]
        library = litert_root / "libLiteRt.so" if litert_root is not None else None
        if library is not None and library.is_file():
            configure.append(f"-DLITERT_LIBRARY={library}")
        if arch == "arm64":
            configure.append(f"-DCMAKE_TOOLCHAIN_FILE={SOURCES / 'aarch64-linux-gnu.cmake'}")
        _run(configure, "configuring the native runners")
        _run(["cmake", "--build", str(scratch / "build"), "-j2"], "building the native runners")
        out = scratch / "out"
        out.mkdir()
        runners, problems = {}, {}
        for kind, name in (("executorch", "pte_runner"), ("tflite", "tflite_runner")):
            if (scratch / "build" / name).is_file():
                shutil.copy2(scratch / "build" / name, out / name)
                runners[kind] = name
            else:
                problems[kind] = (
                    "no LiteRT library (pip install ai-edge-litert) for the native .tflite runner"
                )
        (out / "build.json").write_text(
            json.dumps({"runners": runners, "problems": problems}) + "\n", encoding="utf-8"
        )
        try:
            os.rename(out, final)  # atomic: a build is there whole or not at all
        except OSError:
            if not (final / "build.json").is_file():  # another process won the race: theirs is whole
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = [line for line in (done.stdout + done.stderr).splitlines() if "error" in line.lower()]
        lines = lines or [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
        raise NativeSetupError(
            f"{what} failed: {lines[0].strip() if lines else f'exit status {done.returncode}'}"
        )


def _aarch64_wheel(package: str, version: str, cache: Path, progress: Callable[[str], None]) -> Path:
    """The aarch64 wheel of ``package==version``, downloaded once and unpacked into the cache."""
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    final = cache / "wheels" / f"{package}-{version}-cp{python.replace('.', '')}-aarch64"
    if final.is_dir():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=final.parent))
    try:
        progress(f"downloading the aarch64 wheel of {package}=={version} (once)")
        command = [
            sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
            *(f"--platform={tag}" for tag in WHEEL_PLATFORMS), "--python-version", python,
            f"{package}=={version}", "-d", str(scratch / "wheel"), "--quiet", "--disable-pip-version-check",
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=900)
        wheels = list((scratch / "wheel").glob("*.whl"))
        if done.returncode != 0 or not wheels:
            lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
            raise NativeSetupError(
                f"could not download the aarch64 wheel of {package}=={version} for the arm64 targets "
                f"(is the package registry reachable?): {lines[-1] if lines else 'pip download failed'}"
            )
        unpacked = scratch / "unpacked"
        with zipfile.ZipFile(wheels[0]) as wheel:
            for member in wheel.namelist():
                if _wanted(member):
                    wheel.extract(member, unpacked)
        try:
            os.rename(unpacked, final)
        except OSError:
            if not final.is_dir():
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return final


def _wanted(member: str) -> bool:
    """Only the SDK: headers, the runtime libraries, the CMake package, LiteRT's C API."""
    return member.startswith(
        ("executorch/include/", "executorch/lib/", "executorch/share/cmake/")
    ) or member in {"ai_edge_litert/libLiteRt.so"}


def _key(arch: str, *parts: object) -> str:
    digest = hashlib.sha256("\0".join(map(str, (arch, *parts))).encode())
    for path in sorted(SOURCES.iterdir()):
        if path.suffix in {".cpp", ".h", ".txt", ".cmake"}:
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    compiler = "aarch64-linux-gnu-g++" if arch == "arm64" else "c++"
    version = subprocess.run([compiler, "--version"], capture_output=True, text=True, check=False).stdout
    digest.update(version.split("\n", 1)[0].encode())
    return digest.hexdigest()[:16]


def _package_dir(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise NativeSetupError(f"the native runners need the {module} package")
    return Path(next(iter(spec.submodule_search_locations)))
