"""`migrate export x.pt` with the archive loaded in a sandbox (``validators.sandbox``).

Loading a TorchScript archive runs code from it, so the whole export of an archive (load,
TS2EPConverter, lowering) runs as ``python -m migrate.sandboxed REQUEST`` under bubblewrap,
writing into a scratch folder. What comes back is data from the archive and is read as such:
a regular file each, the manifest parsed and type-checked, the error a single printable line.
The files are then written where the user asked, atomically.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from migrate.artifacts import read_regular
from migrate.errors import UsageError
from migrate.manifest import Manifest
from migrate.output import write_bytes_atomic
from validators import sandbox
from validators.harness import REPOSITORY

ARCHIVES = {".pt", ".ptl"}  # TorchScript archives: loading one runs its code
_MAX_REPLY = 2**20


def require_sandbox(archive: str) -> None:
    """UsageError, naming the package and the way out, when archives cannot be sandboxed here."""
    try:
        sandbox.check()
    except sandbox.SandboxUnavailable as exc:
        raise UsageError(
            f"{archive}: loading a TorchScript archive runs code from it, and {exc}: install "
            "bubblewrap (apt-get install bubblewrap), or pass --no-sandbox to load it unconfined"
        ) from None


def export_in_sandbox(
    entry: str,
    output: Path,
    inputs: str | None,
    input_shapes: Sequence[Any],
    options: Any,
    progress: Callable[[str], None],
) -> Manifest:
    from migrate.export import ExportError, manifest_path

    require_sandbox(entry)
    request = {
        "entry": entry,
        "inputs": inputs,
        "input_shapes": [asdict(s) for s in input_shapes],
        "options": {
            **asdict(options),
            "calibration": None if options.calibration is None else str(options.calibration),
        },
    }
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPOSITORY), *filter(None, [env.get("PYTHONPATH")])])
    with tempfile.TemporaryDirectory(prefix="migrate-sandbox-") as folder:
        scratch = Path(folder)
        request["output"] = str(scratch / output.name)
        request["reply"] = str(scratch / "reply.json")
        argv = sandbox.command([sys.executable, "-m", "migrate.sandboxed", json.dumps(request)], scratch, env)
        progress("loading the archive and exporting it in a sandbox (bubblewrap)")
        with tempfile.TemporaryFile() as log:
            code = sandbox.exit_status(
                subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log).returncode
            )
        reply = _reply(scratch / "reply.json")
        if reply is None:
            how = f"killed by signal {-code}" if code < 0 else f"exited with code {code}"
            raise ExportError(f"{entry}: loading or exporting the archive crashed ({how})")
        if "error" in reply:
            raise ExportError(_one_line(reply["error"]))
        try:
            manifest = Manifest.from_dict(
                json.loads(read_regular(manifest_path(scratch / output.name), follow=False))
            )
            program = read_regular(scratch / output.name, follow=False)
            extras = {
                suffix: read_regular(scratch / output.with_suffix(suffix).name, follow=False)
                for suffix, wanted in ((".etrecord", options.etrecord), (".bpte", options.bundle))
                if wanted
            }
            if manifest.file_size != len(program) or manifest.output != output.name:
                raise ValueError("the manifest does not describe the program")
        except (UsageError, ValueError, KeyError, TypeError) as exc:
            raise ExportError(f"{entry}: the sandboxed export gave no usable program ({exc})") from None
    write_bytes_atomic(output, program)
    write_bytes_atomic(manifest_path(output), manifest.to_json().encode())
    for suffix, data in extras.items():
        write_bytes_atomic(output.with_suffix(suffix), data)
    return manifest


def _reply(path: Path) -> dict[str, Any] | None:
    try:
        if os.lstat(path).st_size > _MAX_REPLY:
            return None
        reply = json.loads(read_regular(path, follow=False))
    except (OSError, UsageError, ValueError):
        return None
    return reply if isinstance(reply, dict) else None


def _one_line(text: object) -> str:
    line = (str(text).strip().splitlines() or ["the sandboxed export failed"])[0][:1000]
    return "".join(c if c.isprintable() else " " for c in line)


def _main(request: dict[str, Any]) -> None:
    """In the sandbox: the export itself, with the archive loaded here."""
    from migrate.errors import first_line
    from migrate.export import DynamicDim, ExportOptions, InputShape, export

    raw = request["options"]
    options = ExportOptions(
        **{
            **raw,
            "dynamic": tuple(DynamicDim(**d) for d in raw["dynamic"]),
            "methods": tuple(raw["methods"]),
            "calibration": None if raw["calibration"] is None else Path(raw["calibration"]),
        }
    )
    reply: dict[str, Any] = {"ok": True}
    try:
        export(
            request["entry"],
            Path(request["output"]),
            inputs=request["inputs"],
            input_shapes=[
                InputShape(s["name"], tuple(s["shape"]), s["dtype"]) for s in request["input_shapes"]
            ],
            options=options,
            sandbox=False,
        )
    except UsageError as exc:
        reply = {"error": str(exc)}
    except Exception as exc:
        reply = {"error": f"{request['entry']}: the export failed: {type(exc).__name__}: {first_line(exc)}"}
    Path(request["reply"]).write_text(json.dumps(reply), encoding="utf-8")


if __name__ == "__main__":
    _main(json.loads(sys.argv[1]))
