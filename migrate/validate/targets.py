"""`migrate validate --target`: where each artifact runs.

``host`` (the default) is today's rows: every runtime through its Python bindings on this CPU.
``native`` adds the ExecuTorch C++ runtime and LiteRT's C API on this CPU, no Python in the timed
call. ``arm64:CPU`` adds the same runners cross-built for arm64 and run under qemu's model of
that CPU: the kernels that CPU gets (NEON, dotprod, i8mm, SVE ...), numerics only. The
reference always runs on the host: every target is compared with the same outputs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from migrate.errors import UsageError
from validators.harness import Target
from validators.native.build import NativeSetupError, Platform, build
from validators.remarks import NoNativeRunner, NotOnTarget, Remark

NATIVE_KINDS = ("executorch", "tflite")  # what the native runners run


def parse(texts: Sequence[str]) -> list[Platform]:
    """The requested targets in order, without repeats; one line for an unknown one."""
    platforms: list[Platform] = []
    for text in texts or ("host",):
        try:
            platform = Platform.parse(text)
        except NativeSetupError as exc:
            raise UsageError(str(exc)) from None
        if platform not in platforms:
            platforms.append(platform)
    return platforms


def expand(
    host: Sequence[Target], platforms: Sequence[Platform], progress: Callable[[str], None]
) -> tuple[list[Target], list[Remark]]:
    """The rows for every target: the reference (``host[0]``) always on the host, the other host
    rows when ``host`` is asked for, and each .pte / .tflite again on every native target
    (emulated ones untimed: the report says why from their target). Also what the report should
    say about a target where nothing could run."""
    several = len(platforms) > 1 or platforms[0].name != "host"
    rows = [_labelled(host[0], Platform("host"), several)]
    notes: list[Remark] = []
    if Platform("host") in platforms:
        rows += [_labelled(t, Platform("host"), several) for t in host[1:]]
    builds = {}
    for platform in platforms:
        if not platform.native:
            continue
        if platform.arch not in builds:
            try:
                builds[platform.arch] = build(platform.arch, progress=progress)
            except NativeSetupError as exc:
                raise UsageError(f"--target {platform.name}: {exc}") from None
        runnable = [t for t in host if t.kind in NATIVE_KINDS]
        if not runnable:
            notes.append(NoNativeRunner(platform.name))
        for target in runnable:
            try:
                command = builds[platform.arch].command(target.kind, platform)
            except NativeSetupError as exc:
                notes.append(NotOnTarget(target.label, platform.name, str(exc)))
                continue
            rows.append(
                replace(
                    _labelled(target, platform, True),
                    command=command,
                    timed=not platform.emulated,
                )
            )
    return rows, notes


def _labelled(target: Target, platform: Platform, tagged: bool) -> Target:
    label = f"{target.label} [{platform.name}]" if tagged else target.label
    return replace(target, label=label, platform=platform.name)
