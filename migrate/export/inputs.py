"""Where the model and its example inputs come from: a factory (``pkg.module:make_model``) or a
TorchScript archive, and ``--inputs`` / ``--input-shape`` / the module's ``example_inputs()``."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migrate.artifacts import check_regular, load_arrays, open_regular
from migrate.errors import UsageError, first_line
from migrate.export.diagnosis import archive_problem
from migrate.export.method_inputs import inputs_from_calls
from migrate.export.options import DynamicDim, ExportError, InputShape, input_index
from rewrites.project import EXAMPLE_FUNCTIONS, constant_arguments, index_project
from validators.inputs import seeded_samples


@dataclass
class Source:
    """What is being exported: per method, a module and its example inputs."""

    description: str
    methods: dict[str, tuple[Any, tuple[Any, ...]]]
    input_names: dict[str, list[str]]
    notes: list[str] = field(default_factory=list)


def factory_source(
    entry: str, inputs: str | None, input_shapes: Sequence[InputShape], methods: Sequence[str]
) -> Source:
    """``pkg.module:make_model`` (a factory or a module), its ``forward`` and each of ``methods``
    with example inputs from ``inputs`` / ``input_shapes`` / the module's ``example_inputs()``."""
    import torch

    module_name, _, attribute = entry.partition(":")
    if not module_name or not attribute:
        raise UsageError(f"{entry!r}: give a factory as pkg.module:make_model, or a .pt / .ptl archive")
    module = import_module(module_name)
    target = getattr(module, attribute, None)
    if target is None:
        raise UsageError(f"{module_name} has no attribute {attribute!r}")
    if isinstance(target, torch.nn.Module):
        model = target
    elif callable(target):
        try:
            model = target()
        except Exception as exc:
            raise UsageError(f"{entry} raised {type(exc).__name__}: {first_line(exc)}") from None
    else:
        raise UsageError(f"{entry} is neither an nn.Module nor a function returning one")
    if not isinstance(model, torch.nn.Module):
        raise UsageError(f"{entry} returned {type(model).__name__}, not a torch.nn.Module")
    model = model.eval()
    default = next(
        (getattr(module, n) for n in EXAMPLE_FUNCTIONS if callable(getattr(module, n, None))), None
    )
    examples = _example_inputs(inputs, input_shapes, default=default, entry=entry)
    per_method = examples if isinstance(examples, dict) else {"forward": examples}
    notes: list[str] = []
    wanted = ["forward", *[m for m in methods if m != "forward"]]
    for name in wanted:
        if name not in per_method and callable(getattr(model, name, None)):
            found = _method_examples(module, getattr(model, name), notes)
            if found is not None:
                per_method[name] = found
    missing = [m for m in wanted if m not in per_method]
    if methods and missing:
        raise UsageError(
            f"no example inputs for method(s) {', '.join(missing)} (not all parameters have defaults, "
            f"and no call of them in {Path(getattr(module, '__file__', None) or '.').parent} passes "
            "constants or names built from literals, torch.randn-style creators, the model's own "
            "methods or example_inputs()): make --inputs return a dict {method_name: args}"
        )
    chosen: dict[str, tuple[Any, tuple[Any, ...]]] = {}
    names: dict[str, list[str]] = {}
    for name in wanted:
        if name not in per_method:
            continue
        if name != "forward" and not callable(getattr(model, name, None)):
            raise UsageError(f"{entry} has no method {name!r}")
        function = model.forward if name == "forward" else getattr(model, name)
        chosen[name] = (model if name == "forward" else _method_as_forward(model, name), per_method[name])
        names[name] = _parameter_names(function, len(per_method[name]))
    return Source(entry, chosen, names, notes)


def _method_examples(module: Any, method: Any, notes: list[str]) -> tuple[Any, ...] | None:
    """Example inputs for a method, found the way the export-script fixes find them: none when
    every parameter has a default (an initial state), else the constants every call of it in the
    module's project passes (``init_state(1)``), else the arguments of a call of it that
    ``migrate.export.method_inputs`` can rebuild (``step(frame, state)``; noted in ``notes``)."""
    import ast
    import inspect

    try:
        parameters = list(inspect.signature(method).parameters.values())
    except (TypeError, ValueError):
        return None
    if all(p.default is not inspect.Parameter.empty for p in parameters):
        return ()
    folder = Path(getattr(module, "__file__", None) or ".").parent
    files = [p for p in sorted(folder.rglob("*.py"))[:2000] if p.is_file()]
    index = index_project((p.relative_to(folder).as_posix(), p.read_text(errors="replace")) for p in files)
    sites = index.calls_of(method.__name__)
    constants = constant_arguments(sites)
    if constants is not None:
        try:
            return tuple(ast.literal_eval(f"({constants},)"))
        except (ValueError, SyntaxError):
            pass
    found = inputs_from_calls(folder, sites, method.__name__, method.__self__, module)
    if found is None:
        return None
    notes.append(f"{method.__name__}'s example inputs were rebuilt from its call at {found[1]}")
    return found[0]


def _method_as_forward(model: Any, method: str) -> Any:
    """A module whose ``forward`` calls ``model.<method>``: one exported program per method."""
    import torch

    class MethodAsForward(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *args: Any) -> Any:
            return getattr(self.model, method)(*args)

    return MethodAsForward()


def legacy_source(path: Path, inputs: str | None, input_shapes: Sequence[InputShape]) -> Source:
    """A TorchScript archive, loaded (run it only where it may run: ``migrate.sandboxed``)."""
    import torch

    check_regular(path)
    notes = [
        f"converted from the TorchScript archive {path.name} with TS2EPConverter, which is partial: "
        "exporting from the source model (after `migrate apply`) is more reliable"
    ]
    try:
        scripted = torch.jit.load(str(path), map_location="cpu")
    except Exception as exc:
        from validators.runners import holds_prepacked_ops

        problem = archive_problem(exc, holds_prepacked_ops(str(path)))
        raise ExportError(f"{path}: {problem}") from None
    examples = _example_inputs(inputs, input_shapes, default=None, entry=str(path))
    if isinstance(examples, dict):
        examples = examples.get("forward", ())
    names = [f"input_{i}" for i in range(len(examples))]
    return Source(str(path), {"forward": (scripted, examples)}, {"forward": names}, notes)


def _example_inputs(
    inputs: str | None, input_shapes: Sequence[InputShape], default: Any, entry: str
) -> tuple[Any, ...] | dict[str, tuple[Any, ...]]:
    import torch

    if inputs is not None and input_shapes:
        raise UsageError("give either --inputs or --input-shape, not both")
    if input_shapes:
        # the first of the samples `migrate validate` draws for the same shapes
        (sample,) = seeded_samples([(spec.shape, spec.dtype) for spec in input_shapes], 1)
        return tuple(
            torch.from_numpy(array).to(getattr(torch, spec.dtype))
            for array, spec in zip(sample, input_shapes, strict=True)
        )
    if inputs is None:
        if callable(default):
            return _as_examples(_call(default, f"{entry}'s module example_inputs"))
        raise UsageError(
            f"{entry}: no example inputs. Give --inputs pkg.module:example_inputs, --inputs file.npz "
            "or .pt, or --input-shape NAME=1x3x224x224:float32"
        )
    path = Path(inputs)
    if path.suffix == ".npz":
        return npz_examples(path)
    if path.suffix == ".pt":
        try:
            with open_regular(path) as handle:
                loaded = torch.load(handle, map_location="cpu", weights_only=True)
        except UsageError:
            raise
        except Exception as exc:
            raise UsageError(
                f"{path}: not a tensor file torch.load(weights_only=True) accepts: {first_line(exc)}"
            ) from None
        return _as_examples(loaded)
    module_name, _, attribute = inputs.partition(":")
    if not attribute:
        raise UsageError(f"--inputs {inputs!r}: expected pkg.module:function, a .npz or a .pt file")
    function = getattr(import_module(module_name), attribute, None)
    if not callable(function):
        raise UsageError(f"--inputs {inputs!r}: {module_name} has no function {attribute!r}")
    return _as_examples(_call(function, inputs))


def npz_examples(path: Path) -> tuple[Any, ...]:
    """The arrays of an ``.npz``, in order, as tensors."""
    import numpy as np
    import torch

    arrays = load_arrays(path)
    if not arrays:
        raise UsageError(f"{path}: holds no arrays")
    try:
        return tuple(torch.from_numpy(np.array(array)) for _, array in arrays)
    except TypeError as exc:  # a dtype torch has no tensor for
        raise UsageError(f"{path}: {first_line(exc)}") from None


def _as_examples(value: Any) -> tuple[Any, ...] | dict[str, tuple[Any, ...]]:
    import torch

    if isinstance(value, Mapping):
        return {str(k): _as_examples(v) for k, v in value.items()}  # type: ignore[misc]
    if isinstance(value, torch.Tensor):
        return (value,)
    if isinstance(value, (tuple, list)):
        return tuple(value)
    raise UsageError(
        f"example inputs must be a tensor, a tuple of them or a dict per method, not {type(value).__name__}"
    )


def apply_dynamic_examples(source: Source, dynamic: Sequence[DynamicDim]) -> Source:
    """Check each --dynamic names an input; widen a size-1 example dim to 2 (export would
    specialise a size-1 dim), with a note."""
    import torch

    if not dynamic:
        return source
    module, examples = source.methods["forward"]
    names = source.input_names["forward"]
    args = list(examples)
    for spec in dynamic:
        index = input_index(spec.input, names)
        tensor = args[index]
        if not isinstance(tensor, torch.Tensor) or spec.dim >= tensor.dim():
            raise UsageError(f"--dynamic {spec.input}:{spec.dim}: that input has no dimension {spec.dim}")
        size = tensor.shape[spec.dim]
        if size == 1:
            args[index] = torch.cat([tensor, tensor], dim=spec.dim)
            source.notes.append(
                f"the example of {spec.input} has size 1 on dynamic dim {spec.dim}; export specialises "
                "size-1 dims, so it was exported with size 2 (the .pte accepts "
                f"{spec.min}..{spec.max})"
            )
        elif not spec.min <= size <= spec.max:
            raise UsageError(
                f"--dynamic {spec.input}:{spec.dim}: the example's size {size} is outside {spec.min}..{spec.max}"
            )
    source.methods["forward"] = (module, tuple(args))
    return source


def import_module(module_name: str) -> Any:
    """The user's module, imported as ``python -m`` would from here; a failure is a UsageError."""
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))  # resolved as `python -m` would
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise UsageError(f"cannot import {module_name}: {exc}") from None
    except Exception as exc:
        raise UsageError(f"importing {module_name} raised {type(exc).__name__}: {first_line(exc)}") from None


def _call(function: Callable[[], Any], label: str) -> Any:
    try:
        return function()
    except Exception as exc:
        raise UsageError(f"{label} raised {type(exc).__name__}: {first_line(exc)}") from None


def _parameter_names(function: Callable[..., Any], count: int) -> list[str]:
    import inspect

    try:
        params = [
            p.name
            for p in inspect.signature(function).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        params = []
    return [params[i] if i < len(params) else f"input_{i}" for i in range(count)]
