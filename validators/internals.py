"""Every private API of torch, executorch and LiteRT this tool uses, in one place.

Checked against torch 2.13.0, executorch 1.5.1 and ai-edge-litert 2.3.0. Each is looked up when it
is used; one that is gone or has changed raises ``InternalAPIError``, naming it and the versions,
instead of quietly doing less. Where it exists, each does exactly what the direct use did.
Public names (``torch.export.export``, ``executorch.runtime``) are used directly, not here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from validators.versions import installed_version

CHECKED_AGAINST = {"torch": "2.13.0", "executorch": "1.5.1", "ai-edge-litert": "2.3.0"}

T = TypeVar("T")


class InternalAPIError(RuntimeError):
    """A private API this tool relies on is missing or has changed in the installed version."""

    def __init__(self, internal: str, problem: BaseException) -> None:
        package = internal.split(".")[0].replace("_", "-")  # ai_edge_litert: ai-edge-litert
        detail = str(problem).strip().splitlines()[0] if str(problem).strip() else type(problem).__name__
        super().__init__(
            f"{internal} is not usable in the installed {package} "
            f"{installed_version(package) or '(not installed)'} ({detail}); this tool was checked "
            "against " + ", ".join(f"{name} {version}" for name, version in CHECKED_AGAINST.items())
        )
        self.internal = internal


def _look_up(internal: str, find: Callable[[], T]) -> T:
    try:
        return find()
    except (ImportError, AttributeError, TypeError, KeyError) as exc:
        raise InternalAPIError(internal, exc) from exc


def _attribute(module: str, name: str) -> Any:
    return _look_up(f"{module}.{name}", lambda: getattr(importlib.import_module(module), name))


# --- torch ---------------------------------------------------------------------------------


def ts2ep_converter() -> Any:
    """``TS2EPConverter``: a TorchScript module to an ExportedProgram (partial, and private)."""
    return _attribute("torch._export.converter", "TS2EPConverter")


def draft_export_failures(program: Any) -> tuple[list[Mapping[str, Any]], dict[Any, str]]:
    """A ``torch.export.draft_export`` program's failures (each one's ``data``: ``user_stack``, …)
    and the file names their frames refer to by index into torch's string table."""
    report = _look_up("torch.export.draft_export(...)._report", lambda: program._report)
    table = _attribute("torch._logging.structured", "INTERN_TABLE")

    def read() -> tuple[list[Mapping[str, Any]], dict[Any, str]]:
        filenames = {**{index: name for name, index in table.items()}, **report.str_to_filename}
        failures = [failure.data for failure in report.failures]
        if not all(isinstance(data, Mapping) for data in failures):
            raise TypeError("a failure's data is not a mapping")
        return failures, filenames

    return _look_up("torch.export.draft_export(...)._report.failures / .str_to_filename", read)


def tree_leaves(tree: Any) -> list[Any]:
    """``torch.utils._pytree.tree_leaves``: the tensors (and other leaves) of nested outputs."""
    leaves: list[Any] = _attribute("torch.utils._pytree", "tree_leaves")(tree)
    return leaves


def tree_flatten(tree: Any) -> tuple[list[Any], Any]:
    """``torch.utils._pytree.tree_flatten``: the leaves and the structure they came from."""
    flattened: tuple[list[Any], Any] = _attribute("torch.utils._pytree", "tree_flatten")(tree)
    return flattened


def detect_fake_mode(values: Sequence[Any]) -> Any:
    """``torch._guards.detect_fake_mode``: the FakeTensorMode of graph metadata values, or None."""
    return _attribute("torch._guards", "detect_fake_mode")(values)


# --- executorch ----------------------------------------------------------------------------


def edge_ops() -> Any:
    """``executorch.exir.dialects._ops.ops``: the edge dialect's operators (``.edge.aten...``)."""
    return _attribute("executorch.exir.dialects._ops", "ops")


def pte_deserializer() -> Callable[[bytes], Any]:
    """``executorch.exir._serialize._program.deserialize_pte_binary``: reads a ``.pte`` as data."""
    deserialize: Callable[[bytes], Any] = _attribute(
        "executorch.exir._serialize._program", "deserialize_pte_binary"
    )
    return deserialize


def reset_threadpool(threads: int) -> None:
    """``_unsafe_reset_threadpool``: XNNPACK's thread count in this process."""
    _attribute("executorch.extension.pybindings.portable_lib", "_unsafe_reset_threadpool")(threads)


# --- LiteRT ---------------------------------------------------------------------------------


def tflite_ops(interpreter: Any) -> list[Mapping[str, Any]]:
    """``Interpreter._get_ops_details()``: each operator of a ``.tflite`` (``op_name``, …)."""
    details: list[Mapping[str, Any]] = _look_up(
        "ai_edge_litert.interpreter.Interpreter._get_ops_details", lambda: interpreter._get_ops_details
    )()
    return details
