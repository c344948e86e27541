"""`make demo` (``python scripts/demo.py samples demo-out``): the whole migration of every project in ``samples/``, on a copy, as a user runs it.

For each model sample: build the artifact the app ships today with the sample's own export script
(in the legacy interpreter when there is one: torch 2.13 cannot run ``optimize_for_mobile``),
scan, apply every fix, scan again, export the migrated model to ``.pte``, then validate the
shipped artifact, the ``.pte`` and a TFLite baseline side by side, on every target (``TARGETS``:
the Python bindings, the C++ runtimes on this CPU, and two arm64 CPUs under qemu). App samples
(Android, iOS source trees) are scanned and rewritten only; a model sample with a CMake project (a
C++ program) has it built and run before the rewrite (LibTorch, the shipped ``.pt``) and after it
(ExecuTorch, the ``.pte``). One section per sample in
``report.md`` (what a pull request shows) and ``report.json``.

Each step is the CLI a user would type, run in the sample's folder (the samples all name their
module ``model``, so each needs its own process), or the library's ``migrate.api``. A script, not
part of the library: nothing in ``migrate/`` imports it. Legacy artifacts, ``.pte`` files and
validations are cached (``.migrate_cache/demo``) by what made them: the project's files, the
options, and the version of the tool that ran (``tool_version``: the installed packages' files
and the runtimes' versions), so a second run of the same code only copies them.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from migrate import api
from migrate.manifest import Manifest
from migrate.output import unified_diff, write_text_atomic
from migrate.reports.combined import Section, render_report
from migrate.reports.scan import render, summary_line
from migrate.validate import native_build
from validators.model import ValidationReport
from validators.versions import installed_version

LEGACY_PYTHON = Path(".venv-legacy/bin/python")
# where each sample's artifacts are validated: a little (cortex-a53) and a big (cortex-a76) core
TARGETS = ("host", "native", "arm64:cortex-a53", "arm64:cortex-a76")
# what `migrate` is: its packages' files, and the runtimes it exports for and measures on
PACKAGES = ("migrate", "rewrites", "validators")
RUNTIMES = ("torch", "executorch", "litert-torch", "ai-edge-litert", "tensorflow-cpu", "numpy")


@dataclass(frozen=True)
class Recipe:
    """How the sample's team built its artifact, and the matching `migrate` options."""

    legacy_script: tuple[str, ...] = ()  # the sample's own export command, after `python`; none: app code
    legacy_artifact: str = ""
    export: tuple[str, ...] = ()  # extra `migrate export` options
    validate: tuple[str, ...] = ()  # extra `migrate validate` options
    uniform_inputs: bool = False  # the model was calibrated on [0, 1) images: validate on those
    why: str = ""


RECIPES = {
    "image_classifier": Recipe(("export_mobile.py", "--out", "classifier.ptl"), "classifier.ptl"),
    "speech_commands": Recipe(
        ("export_mobile.py", "keyword_spotter.ptl"),
        "keyword_spotter.ptl",
        export=("--quantize", "int8-dynamic"),
        validate=("--atol", "2e-2"),
        why="int8 (dynamic) artifacts are compared with the float model at atol 2e-2",
    ),
    "text_encoder": Recipe(("export_mobile.py", "text_encoder.pt"), "text_encoder.pt"),
    "legacy_quantized": Recipe(
        ("export_mobile.py", "quantized_net.ptl"),
        "quantized_net.ptl",
        export=("--quantize", "int8-static"),
        validate=("--atol", "1e-1"),
        uniform_inputs=True,
        why="int8 (static) artifacts are compared with the float model at atol 1e-1, on [0, 1) images "
        "like the calibration data",
    ),
    "cpp_classifier": Recipe(
        ("export_mobile.py", "model.pt"),
        "model.pt",
        why="a desktop LibTorch program: built and run before (LibTorch from the torch wheel, the .pt) "
        "and after apply (the executorch wheel's CMake package, the .pte)",
    ),
    "android_app": Recipe(
        why="app code: Gradle fixes are safe; Java, Kotlin, JNI C++ and CMake fixes unsafe "
        "(the JNI code is built and run on this machine by tests/test_native_samples.py)"
    ),
    "ios_app": Recipe(
        why="app code: the Objective-C++ bridge moves to ExecuTorch's C++ Module; the Podfile and resource "
        "names stay findings"
    ),
}


@dataclass
class Outcome:
    section: Section
    files: dict[str, str] = field(default_factory=dict)


class Log:
    """The demo's progress lines; a result line (indented) says how long its step took."""

    def __init__(self) -> None:
        self.last = time.monotonic()

    def say(self, text: str) -> None:
        print(text, flush=True)

    def step(self, text: str) -> None:
        now = time.monotonic()
        took = f" [{now - self.last:.0f} s]" if text.startswith("  ") else ""
        self.last = now
        print(f"    {text}{took}", flush=True)


def run(samples: Path, out: Path) -> int:
    started = time.monotonic()
    log = Log()
    names = [p.name for p in sorted(samples.iterdir()) if p.is_dir() and not p.name.startswith((".", "_"))]
    unknown = [n for n in names if n not in RECIPES]
    if unknown:
        log.say(f"no demo recipe for {', '.join(unknown)}: add one to scripts/demo.py; skipping")
    names = [n for n in names if n in RECIPES]
    legacy = str(LEGACY_PYTHON.absolute()) if LEGACY_PYTHON.is_file() else None  # a venv: keep the link
    if legacy is None:
        log.say(
            f"{LEGACY_PYTHON} is missing (`make legacy-env`): legacy artifacts are built with "
            f"torch {_version('torch')}, which cannot run optimize_for_mobile"
        )
    cache = Path(".migrate_cache") / "demo"
    out.mkdir(parents=True, exist_ok=True)
    outcomes = []
    for index, name in enumerate(names, 1):
        log.say(f"[{index}/{len(names)}] {name}")
        outcomes.append(_migrate_sample(samples / name, out / name, RECIPES[name], legacy, cache, log))
    sections = [o.section for o in outcomes]
    title = "executorch-migrate demo: the samples/ projects, migrated"
    markdown = render_report(sections, title)
    write_text_atomic(out / "report.md", markdown)
    write_text_atomic(
        out / "report.json",
        json.dumps(
            {
                "passed": all(s.passed for s in sections),
                "samples": [{**_section_dict(o.section), "files": o.files} for o in outcomes],
            },
            indent=2,
        )
        + "\n",
    )
    ready = sum(s.passed for s in sections)
    log.say(f"{ready} of {len(sections)} samples ready, in {time.monotonic() - started:.0f} s")
    log.say(f"report: {out / 'report.md'} (and report.json)")
    # The verdicts are the report's content; the demo fails only when a step could not run.
    return 1 if any(s.problems for s in sections) else 0


def _migrate_sample(
    source: Path, out: Path, recipe: Recipe, legacy: str | None, cache: Path, log: Log
) -> Outcome:
    section = Section(source.name, notes=[recipe.why] if recipe.why else [])
    outcome = Outcome(section)
    work = out / "project"
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(source, work, ignore=shutil.ignore_patterns("__pycache__", "*.pt", "*.ptl", "*.pte"))

    if not recipe.legacy_script:
        _rewrite(work, out, section, outcome, log)
        return outcome

    # 1. the artifact the app ships today, made by the sample's own (unmigrated) script
    log.step("building the shipped artifact with the legacy export script")
    shipped = out / recipe.legacy_artifact
    shipped.unlink(missing_ok=True)
    problem = _legacy_artifact(work, recipe, shipped, legacy or sys.executable, cache)
    if problem:
        section.problems.append(f"could not build the legacy {recipe.legacy_artifact}: {problem}")
        log.step(f"  {section.problems[-1]}")
    else:
        outcome.files["legacy"] = str(shipped)
        log.step(f"  {shipped} ({shipped.stat().st_size / 1024:,.0f} KiB)")

    # 2. scan, apply every fix (the diff is what the pull request changes), scan again
    _rewrite(work, out, section, outcome, log)
    migrated = _tree_digest(work)  # before export and validate run in it (__pycache__ and all)

    # 3. the migrated model becomes a .pte
    pte = out / f"{source.name}.pte"
    data = _sample_data(out, recipe)
    export_args = [*recipe.export]
    if "int8-static" in recipe.export:
        export_args += ["--calibration", str(data["calibration"].resolve())]
    log.step(f"exporting: migrate export model:make_model {' '.join(recipe.export)}".rstrip())
    problem = _export(work, pte, export_args, cache)
    if problem:
        section.problems.append(f"export failed: {problem}")
        log.step(f"  {section.problems[-1]}")
        return outcome
    manifest_file = pte.with_name(pte.stem + ".manifest.json")
    section.manifest = Manifest.from_dict(json.loads(manifest_file.read_text(encoding="utf-8")))
    log.step(f"  {pte} ({pte.stat().st_size / 1024:,.0f} KiB), manifest {manifest_file.name}")
    outcome.files |= {"pte": str(pte), "manifest": str(manifest_file)}

    # 4. native code (a CMake project): built and run before and after the rewrite
    if (source / "CMakeLists.txt").is_file() and shipped.is_file():
        _native(source, work, shipped, pte, section, cache, log)

    # 5. old, new and TFLite side by side
    log.step(f"validating: eager vs shipped artifact vs .pte vs TFLite on {', '.join(TARGETS)}")
    report_json, report_md = out / "validate.json", out / "validate.md"
    command = ["validate", "--model", "model:make_model", "--candidate", str(pte.resolve())]
    if shipped.is_file():
        command += ["--reference", str(shipped.resolve())]
    if legacy:
        command += ["--legacy-python", legacy]
    if recipe.uniform_inputs:
        command += ["--inputs", str(data["inputs"].resolve())]
    command += [*recipe.validate, "--artifacts", str(cache.resolve() / "baselines")]
    command += [option for target in TARGETS for option in ("--target", target)]
    command += ["--report-json", str(report_json.resolve()), "--report-md", str(report_md.resolve())]
    python = _interpreter(legacy or sys.executable)
    key = _digest(migrated, *command[:-4], _file_digest(pte), _file_digest(shipped), python, tool_version())
    cached = cache / "validations" / key
    if (cached / "validate.json").is_file():
        log.say("      (the same artifacts and options were measured before; `make clean` measures again)")
        shutil.copyfile(cached / "validate.json", report_json)
        shutil.copyfile(cached / "validate.md", report_md)
        result = subprocess.CompletedProcess(command, 0, "", "")
    else:
        result = _migrate(command, work)
        if report_json.is_file() and result.returncode in (0, 1):
            cached.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(report_json, cached / "validate.json")
            shutil.copyfile(report_md, cached / "validate.md")
    if report_json.is_file() and result.returncode in (0, 1):
        section.validation = ValidationReport.from_dict(json.loads(report_json.read_text(encoding="utf-8")))
        outcome.files |= {"validate": str(report_json), "validate_md": str(report_md)}
        log.step(f"  {'PASS' if section.validation.passed else 'FAIL'}: " + _latencies(section.validation))
    else:
        section.problems.append(f"validate failed: {_last_line(result)}")
        log.step(f"  {section.problems[-1]}")
    return outcome


def _rewrite(work: Path, out: Path, section: Section, outcome: Outcome, log: Log) -> None:
    """Scan, apply every fix (the diff is what the pull request changes), scan again."""
    log.step("scanning")
    section.scan = api.scan([work], use_cache=False)
    write_text_atomic(out / "scan.json", render(section.scan, "json", work))
    log.step(f"  {summary_line(section.scan)}")
    log.step("rewriting: migrate apply --fix --unsafe-fixes")
    applied = api.apply([work], unsafe=True)
    write_text_atomic(
        out / "apply.diff", "".join(unified_diff(c.path, c.original, c.text) for c in applied.changes)
    )
    api.write_changes(applied, allow_dirty=True)
    section.apply = applied.report
    write_text_atomic(out / "apply.json", render(applied.report, "json", work))
    outcome.files |= {
        "scan": str(out / "scan.json"),
        "apply": str(out / "apply.json"),
        "diff": str(out / "apply.diff"),
    }
    log.step(
        f"  fixed {len(applied.report.fixed)}, left {len(applied.report.findings)}; diff: {out / 'apply.diff'}"
    )


def _native(
    source: Path, work: Path, shipped: Path, pte: Path, section: Section, cache: Path, log: Log
) -> None:
    """Build the sample's C++ program as it was (LibTorch) and as rewritten (ExecuTorch), run
    each on its model, and say what they printed."""
    printed: list[list[str]] = []
    for label, folder, prefix, model in (
        ("LibTorch (torch wheel)", source, native_build.libtorch_cmake_prefix(), shipped),
        ("ExecuTorch (executorch wheel)", work, native_build.executorch_cmake_prefix(), pte),
    ):
        log.step(f"building and running the C++ program against {label}")
        built = native_build.build(folder, cache.resolve() / "native", prefix)
        if built.folder is None:
            section.problems.append(f"native build against {label} failed: {built.error}")
            log.step(f"  {section.problems[-1]}")
            return
        programs = [p for p in built.folder.iterdir() if p.is_file() and os.access(p, os.X_OK)]
        if not programs:
            section.problems.append(f"the native build against {label} made no program")
            return
        status, output = native_build.run([str(programs[0]), str(model.resolve())])
        lines = [line for line in output.splitlines() if line.strip() and not _ET_LOG.match(line)]
        if status != 0:
            section.problems.append(f"the C++ program built against {label} failed: {lines[-1:] or status}")
            log.step(f"  {section.problems[-1]}")
            return
        printed.append(lines)
        log.step(f"  {model.name}: {'; '.join(lines[-2:])}")
    before, after = (_numbers(lines) for lines in printed)
    worst = max((abs(a - b) for a, b in zip(before, after, strict=False)), default=0.0)
    if len(before) != len(after) or worst > 1e-4:
        section.problems.append(
            f"the C++ program printed different values after the migration (max |diff| {worst:g})"
        )
        return
    section.notes.append(
        f"native code built and run: main.cpp against LibTorch on {shipped.name}, and after apply against "
        f"the executorch wheel's CMake package on {pte.name}: both printed `{printed[1][-1]}` and "
        f"{len(after)} values, max difference {worst:g}"
    )


_ET_LOG = re.compile(r"^[IWE] \d\d:\d\d:\d\d\.\d+ executorch:")


def _numbers(lines: list[str]) -> list[float]:
    return [float(n) for line in lines for n in re.findall(r"-?\d+\.\d+(?:e-?\d+)?", line)]


def _legacy_artifact(work: Path, recipe: Recipe, shipped: Path, python: str, cache: Path) -> str | None:
    key = _digest(_tree_digest(work), _interpreter(python), *recipe.legacy_script)
    cached = cache / f"{key}-{recipe.legacy_artifact}"
    if not cached.is_file():
        scratch = shipped.parent / "legacy-build"
        if scratch.exists():
            shutil.rmtree(scratch)
        shutil.copytree(work, scratch)
        result = subprocess.run(
            [python, *recipe.legacy_script], cwd=scratch, capture_output=True, text=True, check=False
        )
        built = scratch / recipe.legacy_artifact
        if result.returncode != 0 or not built.is_file():
            return _last_line(result)
        cached.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(built, cached)
        shutil.rmtree(scratch)
    shutil.copyfile(cached, shipped)
    return None


def _export(work: Path, pte: Path, args: list[str], cache: Path) -> str | None:
    key = _digest(_tree_digest(work), *args, tool_version())
    cached = cache / f"{key}.pte"
    cached_manifest = cache / f"{key}.manifest.json"
    if not (cached.is_file() and cached_manifest.is_file()):
        cache.mkdir(parents=True, exist_ok=True)
        result = _migrate(["export", "model:make_model", *args, "-o", str(cached.resolve())], work)
        if result.returncode != 0:
            return _last_line(result)
    shutil.copyfile(cached, pte)
    manifest = json.loads(cached_manifest.read_text(encoding="utf-8"))
    manifest["output"] = str(pte)
    write_text_atomic(pte.with_name(pte.stem + ".manifest.json"), json.dumps(manifest, indent=2) + "\n")
    return None


def _sample_data(out: Path, recipe: Recipe) -> dict[str, Path]:
    """Calibration and validation images for a model calibrated on [0, 1) images, seeded."""
    if not recipe.uniform_inputs:
        return {}
    generator = np.random.default_rng(7)
    paths = {"calibration": out / "calibration.npz", "inputs": out / "inputs.npz"}
    for name, count in (("calibration", 16), ("inputs", 3)):
        images = generator.random((count, 1, 3, 64, 64), dtype=np.float32)
        np.savez(paths[name], image=images)
    return paths


def _migrate(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    # the `migrate` that tool_version() hashed, wherever it is installed
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(_package_root()), os.environ.get("PYTHONPATH", "")]),
    }
    # one build of the native runners for every sample (validate runs in the sample's folder)
    env.setdefault("MIGRATE_NATIVE_CACHE", str(Path(".migrate_cache", "native").absolute()))
    return subprocess.run(
        [sys.executable, "-m", "migrate", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def _tree_digest(folder: Path) -> str:
    """Every file of a project (its path and its content), but Python's bytecode caches."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "__pycache__" not in path.relative_to(folder).parts:
            digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _package_root() -> Path:
    """The folder `migrate` is imported from here, and by the `python -m migrate` this starts."""
    spec = importlib.util.find_spec("migrate")
    assert spec is not None and spec.submodule_search_locations, "migrate is not installed"
    return Path(next(iter(spec.submodule_search_locations))).resolve().parent


def tool_version() -> str:
    """The version of what runs: every file of the installed packages (Python, and the C++ and
    CMake of the native runners) and the versions of the runtimes. Any change to them exports
    and measures again; nothing else does."""
    digest = hashlib.sha256()
    for package in PACKAGES:
        folder = _package_root() / package
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder)
            if path.is_file() and "__pycache__" not in relative.parts:
                digest.update(f"{package}/{relative.as_posix()}".encode() + b"\0" + path.read_bytes() + b"\0")
    for runtime in RUNTIMES:
        digest.update(f"{runtime} {_version(runtime)}\0".encode())
    return digest.hexdigest()[:16]


def _interpreter(python: str) -> str:
    """The Python that runs a step and its torch: the legacy artifacts are made, and loaded, by it."""
    result = subprocess.run(
        [
            python,
            "-c",
            "import sys; from importlib.metadata import version; print(sys.version, version('torch'))",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() or f"{python}: {_last_line(result)}"


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "-"


def _latencies(report: ValidationReport) -> str:
    timed = [f"{r.label} {r.latency.p50 * 1000:.2f} ms" for r in report.runtimes if r.latency is not None]
    return "p50 " + ", ".join(timed) if timed else "no runtime ran"


def _section_dict(section: Section) -> dict[str, object]:
    return {
        "name": section.name,
        "passed": section.passed,
        "problems": section.problems,
        "notes": section.notes,
        "scan": section.scan.to_dict() if section.scan else None,
        "apply": section.apply.to_dict() if section.apply else None,
        "manifest": section.manifest.to_dict() if section.manifest else None,
        "validation": section.validation.to_dict() if section.validation else None,
    }


def _last_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in (result.stderr + result.stdout).splitlines() if line.strip()]
    return lines[-1].strip() if lines else f"exit status {result.returncode}"


def _version(package: str) -> str:
    return installed_version(package) or "-"


if __name__ == "__main__":
    samples_dir, out_dir = (
        Path(a) for a in (sys.argv[1:3] if len(sys.argv) > 2 else ("samples", "demo-out"))
    )
    sys.exit(run(samples_dir, out_dir))
