"""The one place that times and measures: each runtime in its own worker process.

Measured on this kind of machine: several runtimes in one process slowed torch 5-10x at 2
threads, and ``ru_maxrss`` of a child is inherited from a large parent. So every artifact gets
a fresh worker; latency is timed in rounds that alternate the workers, so machine noise hits
them all alike, and what is timed is each runtime's own call with the inputs already converted
to its types (``Runner.call``: the bindings' array conversions differ by tens of microseconds,
more than a small model's whole run); peak memory is the worker's ``VmHWM`` minus that of a worker that only imported
the same runtime. A worker that crashes or hangs becomes a result with the reason. A native runner
(``validators/native``: C++, no Python) is a worker too: it speaks the same protocol, and the
harness times and measures it the same way; an emulated one is run for its numerics only.
"""

from __future__ import annotations

import json
import math
import os
import select
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from validators import sandbox
from validators.model import Latency, RuntimeResult, TensorSpec

REPOSITORY = Path(__file__).resolve().parent.parent
SANDBOXED = {"torchscript", "lite"}  # loading a TorchScript archive runs its code: validators.sandbox
_MAX_REPLY = 16 * 2**20  # a reply line longer than this is not one a runtime worker writes
_MAX_OUTPUTS = 4 * 2**30  # bytes of outputs a worker may hand back for one sample


@dataclass(frozen=True)
class Target:
    label: str
    kind: str
    artifact: str
    python: str = sys.executable  # a legacy interpreter can host torchscript / lite workers
    method: str = "forward"
    layout: str = "nchw"  # "nhwc": a declared adapter for a TFLite model converted from TensorFlow
    # a native runner's argv (validators/native), which speaks the worker's protocol itself;
    # empty: a Python worker on `python`
    command: tuple[str, ...] = ()
    timed: bool = True  # False: numerics only (an emulated CPU's time and memory mean nothing)
    platform: str = "host"  # where it runs: host, native, arm64:CPU (the result's `target`)


@dataclass(frozen=True)
class HarnessOptions:
    threads: int = 1
    warmup: int = 3
    runs: int = 30
    rounds: int = 5
    timeout: float = 300.0
    constrained: bool = False  # one core, and a memory cap: the closest stand-in for a phone here
    memory_cap_mb: int = 4096
    sandbox: bool = True  # archive workers (SANDBOXED kinds) run in validators.sandbox


@dataclass
class Measurement:
    results: list[RuntimeResult]
    outputs: dict[str, list[list[np.ndarray]]]  # label -> per sample, flattened outputs
    specs: dict[str, list[TensorSpec] | None]


class WorkerError(Exception):
    pass


class _Worker:
    def __init__(
        self, python: str, options: HarnessOptions, kind: str = "", command: Sequence[str] = ()
    ) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(REPOSITORY), *filter(None, [env.get("PYTHONPATH")])])
        env.setdefault("PYTHONUNBUFFERED", "1")
        self.log = tempfile.TemporaryFile()
        self.timeout = options.timeout
        self.sandboxed = options.sandbox and kind in SANDBOXED
        # where the worker may write (its outputs): a folder of its own when it is sandboxed
        self.scratch = Path(tempfile.mkdtemp(prefix="migrate-sandbox-")) if self.sandboxed else None
        argv = list(command) or [python, "-m", "validators.worker"]
        self.failure: str | None = None
        if self.scratch is not None:
            try:
                argv = sandbox.command(argv, self.scratch, env)
            except sandbox.SandboxUnavailable as exc:
                self.failure = f"not loaded: {exc}"
                return
        self.process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            env=env,
            preexec_fn=_constrain(options) if options.constrained else None,
        )

    def call(self, op: str, **arguments: Any) -> dict[str, Any]:
        if self.failure is not None:
            raise WorkerError(self.failure)
        assert self.process.stdin is not None and self.process.stdout is not None
        try:
            self.process.stdin.write((json.dumps({"op": op, **arguments}) + "\n").encode())
            self.process.stdin.flush()
        except BrokenPipeError:
            raise WorkerError(self._death()) from None
        ready, _, _ = select.select([self.process.stdout], [], [], self.timeout)
        if not ready:
            self.process.kill()
            raise WorkerError(f"timed out after {self.timeout:.0f} s ({op})")
        line = self.process.stdout.readline(_MAX_REPLY)
        if not line:
            raise WorkerError(self._death())
        return _checked(line)

    def _death(self) -> str:
        code = self.process.wait(timeout=30)
        if self.sandboxed:
            code = sandbox.exit_status(code)
        self.log.seek(max(0, self.log.seek(0, os.SEEK_END) - 4096))
        tail = [line for line in self.log.read().decode(errors="replace").splitlines() if line.strip()][-1:]
        how = f"killed by signal {-code}" if code < 0 else f"exited with code {code}"
        return f"the runtime crashed ({how})" + (f": {tail[0][:200]}" if tail else "")

    def close(self) -> None:
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
        if self.failure is not None:
            self.log.close()
            return
        if self.process.poll() is None:
            try:
                self.call("exit")
            except WorkerError:
                pass
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()


_REPLY_TYPES: dict[str, Any] = {
    "seconds": (int, float),
    "times": list,
    "bytes": int,
    "specs": (list, type(None)),
}


def _checked(line: bytes) -> dict[str, Any]:
    """A worker's reply, or WorkerError: a sandboxed worker runs the archive's code, so what it
    says is data to check, like its outputs."""
    try:
        reply = json.loads(line)
    except ValueError:
        raise WorkerError("the runtime's reply is not a JSON line") from None
    if not isinstance(reply, dict):
        raise WorkerError("the runtime's reply is not a JSON object")
    if not reply.get("ok"):
        text = (str(reply.get("error", "")).strip().splitlines() or ["failed"])[0][:500]
        raise WorkerError("".join(c if c.isprintable() else " " for c in text))
    for key, kind in _REPLY_TYPES.items():
        if key in reply and (not isinstance(reply[key], kind) or isinstance(reply[key], bool)):
            raise WorkerError(f"the runtime's reply has a {type(reply[key]).__name__} for {key}")
    if not all(isinstance(t, (int, float)) and not isinstance(t, bool) for t in reply.get("times", ())):
        raise WorkerError("the runtime's reply has times that are not numbers")
    return reply


def _load_outputs(path: Path) -> list[np.ndarray]:
    """The arrays a worker wrote, read as untrusted: a regular file (not a link, a FIFO or a
    device it put there), arrays only, of a bounded size."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise WorkerError(f"no outputs from the runtime ({exc.strerror})") from None
    with open(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise WorkerError("the runtime's outputs are not a regular file")
        try:
            with np.load(handle, allow_pickle=False) as data:
                if sum(info.file_size for info in data.zip.infolist()) > _MAX_OUTPUTS:
                    raise WorkerError("the runtime's outputs are larger than 4 GiB")
                return [data[str(k)] for k in range(len(data.files))]
        except WorkerError:
            raise
        except Exception as exc:
            raise WorkerError(f"the runtime's outputs are not readable arrays ({exc})") from None


def _constrain(options: HarnessOptions):  # type: ignore[no-untyped-def]
    def apply() -> None:
        import resource

        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        cap = options.memory_cap_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    return apply


def _load_arguments(target: Target, options: HarnessOptions) -> dict[str, Any]:
    return {
        "kind": target.kind,
        "artifact": target.artifact,
        "threads": options.threads,
        "method": target.method,
        "layout": target.layout,
    }


def _save(directory: Path, name: str, arrays: Sequence[np.ndarray]) -> str:
    path = directory / f"{name}.npz"
    np.savez(path, **{str(i): a for i, a in enumerate(arrays)})  # type: ignore[arg-type]
    return str(path)


def load_specs(targets: Sequence[Target], options: HarnessOptions) -> dict[str, list[TensorSpec] | None]:
    """Only load each artifact and ask what inputs it declares (to synthesise inputs)."""
    specs: dict[str, list[TensorSpec] | None] = {}
    for target in targets:
        worker = _Worker(target.python, options, target.kind, target.command)
        try:
            reply = worker.call("load", **_load_arguments(target, options))
            raw = reply.get("specs")
            specs[target.label] = None if raw is None else [TensorSpec.from_dict(s) for s in raw]
        except WorkerError:
            specs[target.label] = None
        finally:
            worker.close()
    return specs


def measure(
    targets: Sequence[Target], samples: Sequence[Sequence[np.ndarray]], options: HarnessOptions
) -> Measurement:
    """Load every target in its own worker, run every sample (outputs kept for comparison),
    then time the first sample in alternating rounds and read peak memory."""
    with tempfile.TemporaryDirectory(prefix="migrate-validate-") as scratch:
        directory = Path(scratch)
        sample_files = [_save(directory, f"input_{i}", sample) for i, sample in enumerate(samples)]
        workers: dict[str, _Worker] = {}
        results: dict[str, dict[str, Any]] = {t.label: {} for t in targets}
        errors: dict[str, str] = {}
        outputs: dict[str, list[list[np.ndarray]]] = {}
        specs: dict[str, list[TensorSpec] | None] = {}
        try:
            for target in targets:
                worker = workers[target.label] = _Worker(target.python, options, target.kind, target.command)
                try:
                    worker.call("import", kind=target.kind)  # so load time is the artifact's alone
                    reply = worker.call("load", **_load_arguments(target, options))
                    results[target.label]["load_seconds"] = reply["seconds"]
                    raw = reply.get("specs")
                    specs[target.label] = None if raw is None else [TensorSpec.from_dict(s) for s in raw]
                    runs = []
                    for i, inputs in enumerate(sample_files):
                        out = (worker.scratch or directory) / f"{target.label}-{i}.npz".replace("/", "_")
                        reply = worker.call("run", inputs=inputs, outputs=str(out))
                        if i == 0:
                            results[target.label]["first_run_seconds"] = reply["seconds"]
                        runs.append(_load_outputs(out))
                    outputs[target.label] = runs
                    if options.warmup and target.timed:
                        worker.call("time", inputs=sample_files[0], runs=options.warmup)
                except WorkerError as exc:
                    errors[target.label] = str(exc)
            live = [t for t in targets if t.label not in errors and t.timed]
            per_round = max(1, math.ceil(options.runs / max(options.rounds, 1)))
            times: dict[str, list[float]] = {t.label: [] for t in live}
            for _ in range(max(options.rounds, 1)):
                for target in list(live):
                    try:
                        times[target.label] += workers[target.label].call(
                            "time", inputs=sample_files[0], runs=per_round
                        )["times"]
                    except WorkerError as exc:
                        errors[target.label] = str(exc)
                        live.remove(target)
            peaks = {}
            for target in live:
                try:
                    peaks[target.label] = workers[target.label].call("memory")["bytes"]
                except WorkerError as exc:
                    errors[target.label] = str(exc)
        finally:
            for worker in workers.values():
                worker.close()
        baselines = _baselines({(t.python, t.kind, t.command) for t in targets if t.label in peaks}, options)

    final = []
    for target in targets:
        info = results[target.label]
        peak = peaks.get(target.label) if target.label not in errors else None
        baseline = baselines.get((target.python, target.kind, target.command))
        final.append(
            RuntimeResult(
                label=target.label,
                kind=target.kind,
                artifact=target.artifact,
                size_bytes=os.path.getsize(target.artifact) if os.path.isfile(target.artifact) else None,
                load_seconds=info.get("load_seconds") if target.timed else None,
                first_run_seconds=info.get("first_run_seconds") if target.timed else None,
                latency=Latency.of(times[target.label])
                if target.label not in errors and times.get(target.label)
                else None,
                peak_memory_bytes=None if peak is None or baseline is None else max(peak - baseline, 0),
                error=errors.get(target.label),
                target=target.platform,
            )
        )
    return Measurement(final, outputs, specs)


def _baselines(
    groups: set[tuple[str, str, tuple[str, ...]]], options: HarnessOptions
) -> dict[tuple[str, str, tuple[str, ...]], int]:
    """Peak memory of a worker that imported the runtime and loaded nothing."""
    found = {}
    for python, kind, command in groups:
        worker = _Worker(python, options, kind, command)
        try:
            worker.call("import", kind=kind)
            found[(python, kind, command)] = worker.call("memory")["bytes"]
        except WorkerError:
            pass
        finally:
            worker.close()
    return found
