"""Why an export failed, in one line: the exception's text matched against what we know, where
in the user's code (from draft_export), and which `migrate` rule fixes it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from migrate.errors import first_line
from validators.internals import draft_export_failures


def archive_problem(exc: Exception, prepacked: bool) -> str:
    """Why ``torch.jit.load`` could not load a file given as a TorchScript archive."""
    text = str(exc)
    if prepacked or "prepacked::" in text:
        return (
            "the archive holds prepacked:: XNNPACK ops from optimize_for_mobile, which torch 2.13 "
            "cannot load: export from the source model (`migrate apply`, then `migrate export "
            "pkg.module:factory`), or load it with a legacy interpreter (torch <= 2.12)"
        )
    if "constants.pkl" in text or "data.pkl" in text or "code/" in text:
        return (
            "a pickled checkpoint (torch.save), not a TorchScript archive; it was not unpickled. "
            "Export from the model's source with `migrate export pkg.module:factory` and load the "
            "weights there with torch.load(..., weights_only=True)"
        )
    if "PytorchStreamReader" in text or "zip archive" in text or "central directory" in text:
        return "not a TorchScript archive (not a readable zip file)"
    return f"torch.jit.load failed: {first_line(exc)}"


def converter_failure(exc: Exception) -> str:
    """Why TS2EPConverter could not convert an archive (it is partial), and the way round it."""
    text = first_line(exc)
    if "packed" in text.lower() or "quantized::" in text:
        reason = "it holds eager-quantized (packed) parameters, which export cannot capture"
    elif "Optional" in text or "NoneType" in text:
        reason = "it takes Optional inputs"
    elif "item" in text or "data-dependent" in text.lower() or "GuardOnDataDependent" in text:
        reason = "it reads tensor values (.item() or a data-dependent branch)"
    elif "prim::Loop" in text or "loop" in text.lower():
        reason = "it has a loop over a dynamic size"
    else:
        reason = text
    return (
        f"TS2EPConverter could not convert the archive ({reason}): rewrite the source with "
        "`migrate apply` and export the eager model with `migrate export pkg.module:factory`"
    )


def explain_export_failure(
    module: Any, args: tuple[Any, ...], shapes: Any, exc: Exception, method: str
) -> str:
    """One line: what failed, where in the user's code (from draft_export), and which rule fixes it."""
    import torch

    text = first_line(exc)
    if "ScriptModule" in text or "ScriptMethod" in text or "RecursiveScriptModule" in type(exc).__name__:
        return (
            f"torch.export cannot trace TorchScript modules ({text}): run `migrate apply --fix` "
            "(MIG109 ScriptModule subclasses, MIG111 scripted submodules)"
        )
    location, rule = "", ""
    try:
        draft = torch.export.draft_export(module, args, dynamic_shapes=shapes)
    except Exception:  # draft_export fails on the model too: there is no location to add
        draft = None
    if draft is not None:
        failures, filenames = draft_export_failures(draft)
        for data in failures:
            frame = _user_frame(data, filenames)
            if frame:
                location = f" at {frame}"
                break
    if "DataDependent" in type(exc).__name__ or "data-dependent" in text or "data dependent" in text.lower():
        rule = (
            "; MIG401 (branch on tensor values: torch.cond), MIG404 (.item() sizes: torch._check) "
            "or MIG402 (while loops) fix this, see `migrate scan`"
        )
    return f"torch.export failed for {method}{location}: {type(exc).__name__}: {text}{rule}"


def _user_frame(data: Mapping[str, Any], filenames: Mapping[Any, str]) -> str:
    """The innermost frame of the failure that is in the user's code, as path:line `code`."""
    stack = data.get("user_stack") or []
    for frame in reversed(list(stack)):
        if not isinstance(frame, Mapping):
            continue
        filename = frame.get("filename")
        filename = filenames.get(filename, filename) if isinstance(filenames, Mapping) else filename
        filename = str(filename)
        if "site-packages" in filename or "/torch/" in filename:
            continue
        code = str(frame.get("loc") or "").strip()
        return f"{filename}:{frame.get('line')}" + (f" `{code}`" if code else "")
    return ""
