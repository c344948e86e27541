"""The default TFLite baseline of `migrate validate --model`: the source model through litert-torch,
in a process of its own.

Converting calls the user's factory and traces the model, so a model that crashes the
interpreter or never returns would take `migrate validate` with it. The conversion runs as
``python -m migrate.validate.baseline REQUEST`` under the validation's ``--timeout``, like every runtime,
and its failure is the baseline's row, never the end of the validation.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from migrate.errors import UsageError, first_line
from validators.harness import REPOSITORY, HarnessOptions
from validators.versions import installed_version


class BaselineProblem(Exception):
    """The converter failed, crashed or hung: why, in one line."""


def convert_with_litert(
    model: str, candidates: Sequence[str], directory: Path, harness: HarnessOptions
) -> tuple[Path, bool]:
    """The baseline's path, and whether it was reused from ``directory`` (same model source
    and inputs). Raises UsageError when the model itself cannot be loaded (the user's to fix),
    BaselineProblem for anything else."""
    request = {
        "model": model,
        "candidates": list(candidates),
        "directory": str(directory),
        "harness": asdict(harness),
    }
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPOSITORY), *filter(None, [env.get("PYTHONPATH")])])
    with tempfile.TemporaryDirectory(prefix="migrate-baseline-") as scratch:
        reply_path = Path(scratch) / "reply.json"
        request["reply"] = str(reply_path)
        with open(Path(scratch) / "log", "w+b") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "migrate.validate.baseline", json.dumps(request)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=env,
                start_new_session=True,  # a timeout ends the whole group, workers included
            )
            try:
                code = process.wait(timeout=harness.timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                raise BaselineProblem(f"the conversion timed out after {harness.timeout:g} s") from None
            if code != 0 or not reply_path.is_file():
                log.seek(0)
                lines = [line for line in log.read().decode(errors="replace").splitlines() if line.strip()]
                how = f"killed by signal {-code}" if code < 0 else f"exited with code {code}"
                tail = f": {lines[-1][:200]}" if lines else ""
                raise BaselineProblem(f"the conversion crashed ({how}){tail}")
        reply = json.loads(reply_path.read_text(encoding="utf-8"))
    if "path" in reply:
        return Path(reply["path"]), bool(reply["reused"])
    if reply.get("usage"):
        raise UsageError(reply["error"])
    raise BaselineProblem(reply["error"])


def _convert(
    model: str, candidates: Sequence[str], directory: Path, harness: HarnessOptions
) -> tuple[Path, bool]:
    """In the child: litert-torch keeps NCHW at the boundary, so inputs need no layout adapter."""
    from migrate.export import InputShape
    from migrate.export.inputs import factory_source, import_module
    from migrate.output import write_atomic
    from migrate.quiet import quiet_torch
    from validators.harness import Target, load_specs
    from validators.runners import kind_for

    shapes: list[InputShape] = []
    with quiet_torch():
        module = import_module(model.partition(":")[0])
    if not callable(getattr(module, "example_inputs", None)):
        # no example_inputs() beside the factory: the shapes the first .pte candidate declares
        pte = next((c for c in candidates if kind_for(str(c)) == "executorch"), None)
        if pte is not None:
            declared = load_specs([Target("candidate", "executorch", str(pte))], harness)
            shapes = [InputShape(s.name, tuple(s.shape), s.dtype) for s in declared["candidate"] or []]
    with quiet_torch():
        source = factory_source(model, None, shapes, ())
    module, args = source.methods["forward"]
    path = directory / f"{model.replace(':', '.')}-{_source_key(model, args)}.tflite"
    if path.is_file():
        return path, True
    with quiet_torch():
        import litert_torch

        from migrate.export.xnnpack_decompositions import for_litert

        edge = litert_torch.convert(for_litert(module, args), args)
        write_atomic(path, edge.export)  # a cache never holds half a file
    return path, False


def _source_key(model: str, args: Sequence[object]) -> str:
    """A baseline's cache key: the entry point, the example shapes, the converter's version and
    every Python file beside the model's module (its weights are seeded there, or shipped)."""
    digest = hashlib.sha256(f"{model}|{[tuple(getattr(a, 'shape', ())) for a in args]}".encode())
    digest.update(installed_version("litert-torch").encode())  # "" (nothing) when absent
    # the rewrite that lets litert-torch convert a prefix mean sized by data (for_litert), found
    # where it is imported from, not by a path written here (a move of this file broke that once)
    from migrate.export import xnnpack_decompositions

    digest.update(Path(xnnpack_decompositions.__file__).read_bytes())
    module = sys.modules.get(model.partition(":")[0])
    source = Path(getattr(module, "__file__", None) or ".")
    if source.is_file():
        for path in sorted(source.parent.glob("*.py")):
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def _main(request: dict[str, Any]) -> None:
    reply: dict[str, Any]
    try:
        path, reused = _convert(
            request["model"],
            request["candidates"],
            Path(request["directory"]),
            HarnessOptions(**request["harness"]),
        )
        reply = {"path": str(path), "reused": reused}
    except UsageError as exc:
        reply = {"error": str(exc), "usage": True}
    except Exception as exc:  # the converter's own failure, whatever its type
        reply = {"error": f"the converter failed: {type(exc).__name__}: {first_line(exc)}"}
    Path(request["reply"]).write_text(json.dumps(reply), encoding="utf-8")


if __name__ == "__main__":
    _main(json.loads(sys.argv[1]))
