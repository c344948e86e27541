"""Loading a TorchScript archive runs code from it: a scripted ``__setstate__`` can call
``torch.save`` on any path while ``torch.jit.load`` reads the archive. Processes that load
archives start under bubblewrap (``bwrap``, Debian's ``bubblewrap``): the whole filesystem
read-only but for one scratch folder, no network, their own process and IPC namespaces, an
environment cleared down to what Python needs, and killed with the process that started them.

What this does not stop: reading what the user can read, using CPU and memory until the
caller's timeout, and lying in its own results (the outputs, timings and error text it hands
back are data from the archive, checked as such by whoever reads them).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path

# The environment a sandboxed Python keeps; everything else (tokens, keys) is dropped.
_KEPT = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "LD_LIBRARY_PATH", "PYTHONPATH", "PYTHONUNBUFFERED")


class SandboxUnavailable(Exception):
    """bubblewrap is missing or cannot create its namespaces here; the message says which."""


def _flags(scratch: str) -> list[str]:
    return [
        "--ro-bind", "/", "/",
        "--dev", "/dev",
        "--proc", "/proc",
        "--bind", scratch, scratch,
        "--unshare-net", "--unshare-ipc", "--unshare-pid", "--unshare-uts",
        "--die-with-parent",
        "--new-session",  # no controlling terminal to inject keystrokes into
    ]  # fmt: skip


@cache
def _bwrap() -> str:
    """bwrap's path, once it has shown it can start a sandbox on this machine."""
    found = shutil.which("bwrap")
    if found is None:
        raise SandboxUnavailable("bubblewrap (`bwrap`) is not installed")
    try:
        probe = subprocess.run(
            [found, *_flags(tempfile.gettempdir()), "--", "true"], capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise SandboxUnavailable(f"bubblewrap cannot start a sandbox here ({exc})") from None
    if probe.returncode != 0:
        detail = (probe.stderr.strip().splitlines() or [f"exit code {probe.returncode}"])[-1]
        raise SandboxUnavailable(f"bubblewrap cannot start a sandbox here ({detail[:200]})")
    return found


def check() -> None:
    """Raise SandboxUnavailable unless archives can be loaded in a sandbox here."""
    _bwrap()


def command(argv: Sequence[str], scratch: Path, env: Mapping[str, str]) -> list[str]:
    """``argv`` to run in a sandbox whose one writable folder (and TMPDIR) is ``scratch``,
    from the current folder, with the variables of ``env`` that Python needs."""
    folder = str(scratch.resolve())
    kept = {name: env[name] for name in _KEPT if name in env}
    kept["TMPDIR"] = folder
    settings = [flag for name, value in kept.items() for flag in ("--setenv", name, value)]
    return [_bwrap(), *_flags(folder), "--chdir", os.getcwd(), "--clearenv", *settings, "--", *argv]


def exit_status(code: int) -> int:
    """bwrap exits 128 + N when what it ran died of signal N: as Popen reports it, -N."""
    return -(code - 128) if code > 128 else code
