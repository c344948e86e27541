"""A measuring subprocess: one runtime, one artifact, commands as JSON lines on stdin.

Runs standalone (``python validators/worker.py`` with the repository on PYTHONPATH), so a
legacy interpreter with an old torch can host it: it needs only numpy and the runtime.
Replies go to a private copy of stdout; the process's own stdout is pointed at stderr so
whatever a runtime prints cannot corrupt the protocol.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
from typing import Any

import numpy as np


def _load_arrays(path: str) -> list[np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return [data[str(i)] for i in range(len(data.files))]


def _peak_rss_bytes() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def serve() -> None:
    from validators.runners import RUNTIME_MODULES, create

    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    runner: Any = None
    for line in sys.stdin:
        command = json.loads(line)
        op = command["op"]
        try:
            if op == "import":
                importlib.import_module(RUNTIME_MODULES[command["kind"]])
                reply: dict[str, Any] = {}
            elif op == "load":
                started = time.perf_counter()
                runner = create(command["kind"])
                runner.load(
                    command["artifact"],
                    command["threads"],
                    command.get("method", "forward"),
                    command.get("layout", "nchw"),
                )
                seconds = time.perf_counter() - started
                specs = runner.input_specs()
                reply = {"seconds": seconds, "specs": None if specs is None else [s.to_dict() for s in specs]}
            elif op == "run":
                inputs = _load_arrays(command["inputs"])
                started = time.perf_counter()
                outputs = runner.run(inputs)
                seconds = time.perf_counter() - started
                np.savez(command["outputs"], **{str(i): o for i, o in enumerate(outputs)})
                reply = {"seconds": seconds}
            elif op == "time":
                call = runner.call(_load_arrays(command["inputs"]))
                times = []
                for _ in range(command["runs"]):
                    started = time.perf_counter()
                    call()
                    times.append(time.perf_counter() - started)
                reply = {"times": times}
            elif op == "memory":
                reply = {"bytes": _peak_rss_bytes()}
            elif op == "exit":
                if runner is not None:
                    runner.close()
                replies.write(json.dumps({"ok": True}) + "\n")
                return
            else:
                raise ValueError(f"unknown command {op!r}")
            reply["ok"] = True
        except Exception as exc:
            text = str(exc).strip()
            reply = {
                "ok": False,
                "error": f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}".strip(": "),
            }
        replies.write(json.dumps(reply) + "\n")


if __name__ == "__main__":
    serve()
