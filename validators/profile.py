"""Where a runtime's time goes: its most expensive operators and their share of a run.

- ExecuTorch: the program is loaded with ETDump enabled, run, and the dump read with
  ``executorch.devtools.Inspector``. Portable kernels are ``native_call_<op>`` events; the XNNPACK
  delegate records one event per operator of its runtime (``Fully Connected (NC, F32) GEMM #3``,
  grouped here by kind). What a delegate call takes beyond its operators is a row of its own: in
  ExecuTorch 1.5.1 that is mostly ``xnn_reshape_runtime`` and setup over every node, at every
  call (``XNNExecutor::prepare_args``), the cost a model of many small nodes pays. XNNPACK
  times its operators in whole microseconds (``xnn_get_runtime_profiling_info``), so an operator
  under 1 us reads 0 and its time is counted in that row: for a model of tiny operators (an
  unrolled GRU) the row is the runtime's overhead and its operators' time together.
- TFLite on the host (the Python ``Interpreter``): ai-edge-litert 2.3.0's Python API gives no
  per-operator times. Its ``Interpreter`` takes no profiler
  (``experimental_force_delegate_node_profiling`` only matters to a profiler attached in C++),
  and its ``CompiledModel`` wrapper exposes none. What Python gives is the list of operators in
  the model; the profile lists those (counts, no times) and says why.
- TFLite on ``--target native`` (LiteRT's C API, ``validators/native/tflite_runner.cpp``): the
  model is compiled with the runtime option ``enable_profiling`` and read through
  ``LiteRtCompiledModelGetProfiler`` / ``LiteRtGetProfilerEvents``. XNNPACK's operators are
  events it times itself in whole microseconds (grouped by kind, as for a ``.pte``); operators
  left to TFLite's builtin kernels are events of their own (``builtin CONV_2D``); what the
  interpreter's ``Invoke`` takes beyond its operators is a row, and so is each of LiteRT's own
  steps of a run (``LiteRT::Run[buffer registration]``, ``LiteRT::Run[Buffer sync]``). Those
  steps and ``Invoke`` begin by reading the process's memory usage (TFLite's ``ProfileBuffer``:
  ``getrusage``, ``/proc/self/status``, ``mallinfo2``), inside their time: on a run of a few
  microseconds they are mostly the profiler's own cost; the call's time outside those steps
  (copying the inputs in, the reads as each step ends) is a row too. Only the signature's own
  subgraph is counted (a control-flow body's time is in its ``WHILE`` / ``IF`` row). The total
  is the profiled call's wall time as the sum of those rows (each a median over the runs).

Each profile runs in its own process (``python -m validators.profile``, or the native runner),
like the measurements. Times are medians over the runs, per event, so the first (slow) run does
not count.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPOSITORY = Path(__file__).resolve().parent.parent
TOP = 10
TFLITE_NOTE = (
    "ai-edge-litert 2.3.0's Python API gives no per-operator times (its Interpreter takes no "
    "profiler; the profiler is in LiteRT's C API, which --target native profiles): operators in "
    "the model, by count"
)
TFLITE_NATIVE_NOTE = (
    "LiteRT's C API profiler: XNNPACK times its operators in whole microseconds (one under 1 us "
    "reads 0, its time counted in the Invoke row); LiteRT's steps, Invoke and the time outside "
    "them include the profiler's own reading of memory usage (six reads a run): the total is "
    "more than the unprofiled latency"
)
INVOKE_OVERHEAD = (
    "Invoke, outside its operators (XNNPACK's setup, the profiler's bookkeeping, and the "
    "sub-microsecond remainders of XNNPACK's operators)"
)
OUTSIDE_STEPS = (
    "the call, outside LiteRT's steps (copying the inputs in, and the profiler's reading of memory "
    "usage as each step ends)"
)
# LiteRtProfilerEventType (litert/c/litert_profiler_event.h)
_DEFAULT_EVENT, _OPERATOR_EVENT, _DELEGATE_EVENTS = 1, 2, (4, 8)
DELEGATE_OVERHEAD = (
    "XNNPACK delegate call, outside its operators (reshape and setup of every node, and the "
    "sub-microsecond remainders of its operators)"
)


@dataclass(frozen=True)
class OperatorTime:
    name: str
    calls: int  # per run
    ms: float | None  # per run (median over runs); None where the runtime gives no times
    share: float | None  # of the whole run

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "calls": self.calls, "ms": self.ms, "share": self.share}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OperatorTime:
        return cls(data["name"], data["calls"], data.get("ms"), data.get("share"))


@dataclass(frozen=True)
class OperatorProfile:
    label: str
    kind: str
    runs: int = 0
    total_ms: float | None = None  # one run, as the profiler saw it
    operators: tuple[OperatorTime, ...] = ()  # the most expensive first, at most TOP
    note: str | None = None
    error: str | None = None
    # operators in one run, all of them: a .pte's delegates' (XNNPACK's), a .tflite's whole list
    # (on the native runner: the XNNPACK operators and builtin kernels LiteRT's profiler saw)
    delegated_nodes: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "kind": self.kind,
            "runs": self.runs,
            "total_ms": self.total_ms,
            "operators": [o.to_dict() for o in self.operators],
            "note": self.note,
            "error": self.error,
            "delegated_nodes": self.delegated_nodes,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OperatorProfile:
        return cls(
            data["label"],
            data["kind"],
            data.get("runs", 0),
            data.get("total_ms"),
            tuple(OperatorTime.from_dict(o) for o in data.get("operators", ())),
            data.get("note"),
            data.get("error"),
            data.get("delegated_nodes"),
        )


PROFILED_KINDS = ("executorch", "tflite")


def profile(
    label: str,
    kind: str,
    artifact: str,
    inputs: Sequence[np.ndarray],
    runs: int = 20,
    threads: int = 1,
    timeout: float = 300.0,
    method: str = "forward",
    command: Sequence[str] = (),
    layout: str = "nchw",
) -> OperatorProfile:
    """Profile one artifact in a fresh process; a failure is a profile with the reason.
    ``command``: the native runner a ``.tflite`` row ran on (its LiteRT C API profiler is used)."""
    if kind not in PROFILED_KINDS:
        return OperatorProfile(label, kind, error=f"no per-operator profile for {kind}")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPOSITORY), *filter(None, [env.get("PYTHONPATH")])])
    with tempfile.TemporaryDirectory(prefix="migrate-profile-") as scratch:
        arrays = Path(scratch) / "inputs.npz"
        named: dict[str, Any] = {str(i): a for i, a in enumerate(inputs)}
        np.savez(arrays, **named)
        if kind == "tflite" and command:
            return _native_tflite(
                label,
                [*command, "--profile", artifact, str(arrays), str(runs), str(threads), layout],
                runs,
                timeout,
            )
        argv = [
            sys.executable,
            "-m",
            "validators.profile",
            kind,
            artifact,
            str(arrays),
            str(runs),
            str(threads),
            method,
            scratch,
        ]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, check=False)
        except subprocess.TimeoutExpired:
            return OperatorProfile(label, kind, error=f"the profile took longer than {timeout:g} s")
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        return OperatorProfile(label, kind, error=f"the profiler failed: {last}")
    return OperatorProfile.from_dict({**json.loads(lines[-1]), "label": label, "kind": kind})


def _executorch(
    artifact: str, inputs: list[np.ndarray], runs: int, threads: int, method_name: str, scratch: str
) -> OperatorProfile:
    import torch
    from executorch.devtools import Inspector
    from executorch.runtime import Runtime

    from validators.internals import reset_threadpool

    reset_threadpool(threads)  # XNNPACK's threads, as the measurement had them
    program = Runtime.get().load_program(artifact, enable_etdump=True, debug_buffer_size=0)
    method = program.load_method(method_name)
    tensors = [torch.from_numpy(np.ascontiguousarray(a)) for a in inputs]
    for _ in range(runs):
        method.execute(tensors)
    dump = Path(scratch) / "profile.etdump"
    program.write_etdump_result_to_file(str(dump), str(Path(scratch) / "debug.bin"))
    blocks = [b for b in Inspector(etdump_path=str(dump)).event_blocks if b.name == "Execute"]
    if not blocks:
        raise RuntimeError("the ETDump has no Execute events")
    times: dict[str, list[float]] = {}
    calls: dict[str, int] = {}
    total = delegate = inside = 0.0
    delegate_calls = 0
    for event in blocks[0].events:
        if event.perf_data is None:
            continue
        ms = statistics.median(event.perf_data.raw)
        name = event.name
        if name == "Method::execute":
            total += ms
        elif name == "DELEGATE_CALL":
            delegate += ms
            delegate_calls += 1
        elif event.is_delegated_op:
            inside += ms
            key = f"XNNPACK {name.split(' #')[0]}"
            times.setdefault(key, []).append(ms)
        elif name.startswith("native_call_"):
            key = f"portable {name.removeprefix('native_call_').rsplit('.', 1)[0]}"
            times.setdefault(key, []).append(ms)
    for key, values in times.items():
        calls[key] = len(values)
    if delegate:
        times[DELEGATE_OVERHEAD] = [max(delegate - inside, 0.0)]
        calls[DELEGATE_OVERHEAD] = delegate_calls
    ranked = sorted(times, key=lambda k: -sum(times[k]))[:TOP]
    operators = tuple(
        OperatorTime(
            k,
            calls[k],
            sum(times[k]),
            sum(times[k]) / total if total else None,
        )
        for k in ranked
    )
    nodes = sum(n for k, n in calls.items() if k.startswith("XNNPACK ") and k != DELEGATE_OVERHEAD)
    return OperatorProfile("", "executorch", runs, total or None, operators, delegated_nodes=nodes)


def _native_tflite(label: str, argv: list[str], runs: int, timeout: float) -> OperatorProfile:
    """The native runner's ``--profile``: one JSON line per run, read by ``tflite_times``."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return OperatorProfile(label, "tflite", error=f"the profile took longer than {timeout:g} s")
    except OSError as exc:
        return OperatorProfile(label, "tflite", error=f"the profiler failed: {exc}")
    if done.returncode != 0:
        said = [line for line in done.stderr.splitlines() if line.startswith("tflite_runner: ")]
        reason = (
            said[-1].removeprefix("tflite_runner: ")
            if said
            else f"killed by signal {-done.returncode}"
            if done.returncode < 0
            else f"exit status {done.returncode}"
        )
        return OperatorProfile(label, "tflite", error=f"the profiler failed: {reason}")
    try:
        result = tflite_times([json.loads(line) for line in done.stdout.splitlines() if line.strip()])
    except (ValueError, KeyError, TypeError) as exc:
        return OperatorProfile(label, "tflite", error=f"the profiler failed: {exc}")
    return OperatorProfile.from_dict({**result.to_dict(), "label": label})


def tflite_times(runs: Sequence[Mapping[str, Any]]) -> OperatorProfile:
    """LiteRT's profiler events, one mapping per run (``{"us": wall, "events": [...]}``), as the
    most expensive operators: each event's median over the runs (0 in a run without it), an
    event seen in no more than half the runs (the first run's AllocateTensors) left out."""
    if not runs:
        raise ValueError("the native runner wrote no runs")
    values: dict[tuple[str, int, int, int], list[float]] = {}  # (row, node, subgraph, nth) -> per run
    rests: list[float] = []
    outside: list[float] = []
    for run in runs:
        events = run["events"]
        invoke = next((e for e in events if e["type"] == _DEFAULT_EVENT and e["tag"] == "Invoke"), None)
        if invoke is None:
            raise ValueError("LiteRT's profiler recorded no Invoke")
        root = invoke["subgraph"]
        seen: dict[tuple[str, int, int], int] = {}
        inside, steps = 0.0, float(invoke["us"])
        for event in events:
            row = _tflite_row(event, root)
            if row is None:
                continue
            if row.startswith(("XNNPACK ", "builtin ")):
                inside += event["us"]
            else:
                steps += event["us"]
            key = (row, event["node"], event["subgraph"])
            seen[key] = seen.get(key, 0) + 1
            values.setdefault((*key, seen[key]), []).append(float(event["us"]))
        rests.append(max(float(invoke["us"]) - inside, 0.0))
        outside.append(max(float(run["us"]) - steps, 0.0))
    times = {INVOKE_OVERHEAD: statistics.median(rests), OUTSIDE_STEPS: statistics.median(outside)}
    calls = {INVOKE_OVERHEAD: 1, OUTSIDE_STEPS: 1}
    for (row, *_), per_run in values.items():
        if len(per_run) * 2 <= len(runs):
            continue
        times[row] = times.get(row, 0.0) + statistics.median(per_run + [0.0] * (len(runs) - len(per_run)))
        calls[row] = calls.get(row, 0) + 1
    total = sum(times.values()) / 1000  # the profiled call, split: its parts' medians add up
    ranked = sorted(times, key=lambda k: -times[k])[:TOP]
    operators = tuple(
        OperatorTime(k, calls[k], times[k] / 1000, times[k] / 1000 / total if total else None) for k in ranked
    )
    nodes = sum(n for k, n in calls.items() if k.startswith(("XNNPACK ", "builtin ")))
    return OperatorProfile(
        "", "tflite", len(runs), total or None, operators, note=TFLITE_NATIVE_NOTE, delegated_nodes=nodes
    )


def _tflite_row(event: Mapping[str, Any], root: int) -> str | None:
    """The row an event of LiteRT's profiler adds to; None for one counted elsewhere or not
    time (Invoke itself, a control-flow body's events, telemetry)."""
    kind, tag = event["type"], event["tag"]
    if kind == _DEFAULT_EVENT:
        own = tag.startswith("LiteRT::") or (event["subgraph"] == root and tag != "Invoke")
        return tag if own else None
    if event["subgraph"] != root:
        return None
    if kind in _DELEGATE_EVENTS:
        return f"XNNPACK {tag.split(' #')[0]}"
    if kind == _OPERATOR_EVENT:
        return f"builtin {tag}"
    return None


def _tflite(artifact: str) -> OperatorProfile:
    from ai_edge_litert.interpreter import Interpreter

    from validators.internals import tflite_ops

    interpreter = Interpreter(model_path=artifact, num_threads=1)
    counts: dict[str, int] = {}
    for op in tflite_ops(interpreter):
        counts[op["op_name"]] = counts.get(op["op_name"], 0) + 1
    ranked = sorted(counts, key=lambda k: -counts[k])[:TOP]
    operators = tuple(OperatorTime(k, counts[k], None, None) for k in ranked)
    return OperatorProfile(
        "", "tflite", 0, None, operators, note=TFLITE_NOTE, delegated_nodes=sum(counts.values())
    )


def main(argv: list[str]) -> int:
    kind, artifact, arrays, runs, threads, method, scratch = argv
    with np.load(arrays, allow_pickle=False) as data:
        inputs = [data[str(i)] for i in range(len(data.files))]
    stdout = os.dup(1)
    os.dup2(2, 1)  # whatever a runtime prints goes to stderr, not into the result
    if kind == "executorch":
        result = _executorch(artifact, inputs, int(runs), int(threads), method, scratch)
    else:
        result = _tflite(artifact)
    os.write(stdout, (json.dumps(result.to_dict()) + "\n").encode())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
