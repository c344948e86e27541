"""`migrate export`: a model factory or a legacy TorchScript archive becomes a `.pte` + manifest.

torch.export (non-strict) -> optional PT2E quantization -> to_edge_transform_and_lower
(XNNPACK by default) -> to_executorch. Everything the manifest says is read from the programs
that were built, not estimated. torch and executorch are imported lazily: the rest of the tool
runs without them.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from migrate.artifacts import check_regular, check_writable_folder, load_arrays, open_regular
from migrate.edge_copies import drop_data_free_copies
from migrate.errors import UsageError, require
from migrate.manifest import Manifest, TensorInfo, describe_program
from migrate.method_inputs import inputs_from_calls
from migrate.output import write_atomic, write_bytes_atomic
from migrate.quiet import audible, quiet_torch
from migrate.recurrent import lower_recurrent
from migrate.sandboxed import ARCHIVES, export_in_sandbox
from migrate.xnnpack_decompositions import decompose_for_xnnpack
from migrate.xnnpack_views import views_for_xnnpack
from rewrites.project import EXAMPLE_FUNCTIONS, constant_arguments, index_project

SEED = 0
_DTYPES = {"float32", "float16", "bfloat16", "float64", "int64", "int32", "int16", "int8", "uint8", "bool"}


class ExportError(UsageError):
    """The model could not be exported; the message says where and what to do."""


@dataclass(frozen=True)
class DynamicDim:
    """``--dynamic x:0=1..64``: input ``x`` (a name or a position), dimension 0, from 1 to 64."""

    input: str
    dim: int
    min: int
    max: int

    @classmethod
    def parse(cls, text: str) -> DynamicDim:
        match = re.fullmatch(r"([\w]+):(\d+)=(\d+)\.\.(\d+)", text.strip())
        if match is None:
            raise UsageError(
                f"--dynamic {text!r}: expected NAME:DIM=MIN..MAX, e.g. x:0=1..64 "
                "(ExecuTorch plans memory for the maximum, so it is required)"
            )
        name, dim, low, high = match.groups()
        if int(low) > int(high) or int(high) < 2:
            raise UsageError(f"--dynamic {text!r}: the range must satisfy MIN <= MAX and MAX >= 2")
        return cls(name, int(dim), int(low), int(high))


@dataclass(frozen=True)
class InputShape:
    """``--input-shape x=1x3x224x224:float32``: a seeded random example input."""

    name: str
    shape: tuple[int, ...]
    dtype: str

    @classmethod
    def parse(cls, text: str) -> InputShape:
        match = re.fullmatch(r"([\w]+)=(\d+(?:x\d+)*)(?::(\w+))?", text.strip())
        if match is None:
            raise UsageError(f"--input-shape {text!r}: expected NAME=1x3x224x224[:float32]")
        name, dims, dtype = match.groups()
        dtype = dtype or "float32"
        if dtype not in _DTYPES:
            raise UsageError(f"--input-shape {text!r}: dtype must be one of {', '.join(sorted(_DTYPES))}")
        return cls(name, tuple(int(d) for d in dims.split("x")), dtype)


@dataclass(frozen=True)
class ExportOptions:
    backend: str = "xnnpack"
    quantize: str = "none"
    dynamic: tuple[DynamicDim, ...] = ()
    methods: tuple[str, ...] = ()
    calibration: Path | None = None
    allow_random_calibration: bool = False
    etrecord: bool = False
    bundle: bool = False
    strict: bool = False
    optimize: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "quantize": self.quantize,
            "dynamic": [f"{d.input}:{d.dim}={d.min}..{d.max}" for d in self.dynamic],
            "methods": list(self.methods),
            "calibration": None if self.calibration is None else str(self.calibration),
            "allow_random_calibration": self.allow_random_calibration,
            "etrecord": self.etrecord,
            "bundle": self.bundle,
            "strict": self.strict,
            "optimize": self.optimize,
        }


@dataclass
class _Source:
    """What is being exported: per method, a module and its example inputs."""

    description: str
    methods: dict[str, tuple[Any, tuple[Any, ...]]]
    input_names: dict[str, list[str]]
    notes: list[str] = field(default_factory=list)


def export(
    entry: str,
    output: Path,
    *,
    inputs: str | None = None,
    input_shapes: Sequence[InputShape] = (),
    options: ExportOptions = ExportOptions(),
    progress: Callable[[str], None] = lambda message: None,
    sandbox: bool = True,
) -> Manifest:
    """Build ``output`` (a ``.pte``) and ``<output stem>.manifest.json`` beside it. A TorchScript
    archive is loaded, converted and lowered in a sandbox (``migrate.sandboxed``) unless
    ``sandbox`` is False: loading one runs its code."""
    require("torch", "export")
    require("executorch", "export")
    if output.suffix != ".pte":
        raise UsageError(f"{output}: the output must be a .pte file")
    if options.backend not in {"xnnpack", "portable"}:
        raise UsageError(f"--backend {options.backend!r}: use xnnpack or portable")
    if options.quantize not in {"none", "int8-dynamic", "int8-static"}:
        raise UsageError(f"--quantize {options.quantize!r}: use none, int8-dynamic or int8-static")
    if (
        options.quantize == "int8-static"
        and options.calibration is None
        and not options.allow_random_calibration
    ):
        raise UsageError(
            "--quantize int8-static needs calibration data (--calibration file.npz); random data "
            "gives meaningless ranges, so it is refused unless --allow-random-calibration"
        )
    check_writable_folder(output)  # before minutes of export, not after
    if Path(entry).suffix.lower() in ARCHIVES:
        check_regular(Path(entry))
        if sandbox:
            return export_in_sandbox(entry, output, inputs, input_shapes, options, progress)

    progress = audible(progress)
    progress("loading the model")
    with quiet_torch():
        return _export(entry, output, inputs, input_shapes, options, progress)


def _export(
    entry: str,
    output: Path,
    inputs: str | None,
    input_shapes: Sequence[InputShape],
    options: ExportOptions,
    progress: Callable[[str], None],
) -> Manifest:
    if Path(entry).suffix.lower() in ARCHIVES:
        source = _legacy_source(Path(entry), inputs, input_shapes)
    else:
        source = _factory_source(entry, inputs, input_shapes, options.methods)
    source = _apply_dynamic_examples(source, options.dynamic)

    started = time.perf_counter()
    progress("exporting with torch.export")
    programs = {
        name: _export_method(module, args, source, name, options)
        for name, (module, args) in source.methods.items()
    }
    if options.quantize != "none":
        progress(f"quantizing ({options.quantize}) with PT2E")
        programs = {name: _quantize(programs[name], source, name, options) for name in programs}
    if options.backend == "xnnpack":  # once, before the candidates: every lowering reads the same program
        for name in programs:
            programs[name], added = views_for_xnnpack(programs[name])
            source.notes.extend(n for n in added if n not in source.notes)
            programs[name], added = decompose_for_xnnpack(programs[name])
            source.notes.extend(n for n in added if n not in source.notes)
    export_seconds = time.perf_counter() - started

    candidates = _candidates(options)
    progress(
        f"lowering ({options.backend})"
        if len(candidates) == 1
        else f"lowering {len(candidates)} ways (--optimize)"
    )
    started = time.perf_counter()
    lowered = {}
    for candidate in candidates:
        try:
            lowered[candidate] = _lower(programs, candidate, options.etrecord)
        except Exception as exc:
            if len(candidates) == 1:
                raise ExportError(f"lowering failed: {_first_line(exc)}") from None
            source.notes.append(f"--optimize: the {candidate.label} lowering failed: {_first_line(exc)}")
    lowering_seconds = time.perf_counter() - started
    choice: dict[str, Any] = {}
    chosen = candidates[0]
    if len(lowered) > 1:
        progress("measuring each lowering against eager (--optimize)")
        chosen, choice = _fastest(lowered, source)
    elif chosen not in lowered:
        raise ExportError("lowering failed for every candidate (see the notes)")
    edge, program, notes = lowered[chosen]
    source.notes.extend(n for n in notes if n not in source.notes)

    buffer = program.buffer
    write_bytes_atomic(output, buffer)
    nodes = {name: _delegated_nodes(edge.exported_program(name)) for name in programs}
    methods = tuple(
        replace(
            m,
            inputs=_with_dynamic_ranges(m.inputs, options.dynamic) if m.name == "forward" else m.inputs,
            delegation=replace(
                m.delegation, delegated_nodes=nodes[m.name][0], non_delegated_nodes=nodes[m.name][1]
            ),
        )
        for m in describe_program(program.executorch_program, source.input_names)
    )
    manifest = Manifest(
        source=source.description,
        output=output.name,
        file_size=len(buffer),
        methods=methods,
        export_seconds=round(export_seconds, 3),
        lowering_seconds=round(lowering_seconds, 3),
        versions=_versions(),
        options=options.to_dict(),
        notes=tuple(source.notes),
        optimize=choice,
    )
    write_bytes_atomic(manifest_path(output), manifest.to_json().encode())
    if options.etrecord:
        record = program.get_etrecord()
        write_atomic(output.with_suffix(".etrecord"), record.save)
    if options.bundle:
        write_bytes_atomic(output.with_suffix(".bpte"), _bundle(program, source))
    return manifest


@dataclass(frozen=True)
class Lowering:
    """One way to lower: a backend, and whether recurrent layers get our step-by-step lowering."""

    backend: str
    recurrent: bool = True

    @property
    def label(self) -> str:
        if self.backend == "portable":
            return "portable"
        return "xnnpack" if self.recurrent else "xnnpack (ExecuTorch's own recurrent lowering)"


def _candidates(options: ExportOptions) -> list[Lowering]:
    first = Lowering(options.backend)
    if not options.optimize or options.backend != "xnnpack":
        return [first]
    others = [Lowering("xnnpack", recurrent=False)]
    if options.quantize == "none":  # portable kernels cannot run the quantize / dequantize ops
        others.append(Lowering("portable"))
    return [first, *others]


def _lower(programs: dict[str, Any], how: Lowering, etrecord: bool) -> tuple[Any, Any, list[str]]:
    """(edge program manager, executorch program, notes) for one way of lowering."""
    from executorch.exir import to_edge_transform_and_lower

    notes: list[str] = []
    partitioner = []
    if how.backend == "xnnpack":
        from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner

        partitioner = [XnnpackPartitioner()]
        if how.recurrent:
            programs = dict(programs)
            for name in programs:
                programs[name], added = lower_recurrent(programs[name])
                notes.extend(n for n in added if n not in notes)
    passes = [drop_data_free_copies] if how.backend == "xnnpack" else None
    edge = to_edge_transform_and_lower(
        programs, transform_passes=passes, partitioner=partitioner, generate_etrecord=etrecord
    )
    return edge, edge.to_executorch(), notes


def _fastest(
    lowered: Mapping[Lowering, tuple[Any, Any, list[str]]], source: _Source
) -> tuple[Lowering, dict[str, Any]]:
    """Time every lowering's `forward` in the harness, check its outputs against eager, and pick
    the fastest whose error is within twice the first's (or 1e-4 of the outputs' scale); the
    first (default) lowering stays unless another is at least 5 % faster."""
    import tempfile

    import numpy as np
    import torch

    from validators.harness import HarnessOptions, Target, measure

    module, args = source.methods["forward"]
    with torch.no_grad():
        expected = [
            np.asarray(t.detach())
            for t in torch.utils._pytree.tree_leaves(module(*args))
            if isinstance(t, torch.Tensor)
        ]
    sample = [
        np.asarray(a.detach()) for a in torch.utils._pytree.tree_leaves(args) if isinstance(a, torch.Tensor)
    ]
    with tempfile.TemporaryDirectory(prefix="migrate-optimize-") as scratch:
        targets = []
        for index, (how, (_, program, _)) in enumerate(lowered.items()):
            path = Path(scratch) / f"candidate_{index}.pte"
            path.write_bytes(program.buffer)
            targets.append(Target(how.label, "executorch", str(path)))
        measured = measure(targets, [sample], HarnessOptions(threads=1, runs=20, rounds=3))
    scale = max((float(np.abs(e).max()) for e in expected if e.size), default=1.0) or 1.0
    tried = []
    for how, result in zip(lowered, measured.results, strict=True):
        outputs = measured.outputs.get(how.label, [[]])[0] if result.error is None else []
        error = None
        if outputs and len(outputs) == len(expected):
            error = max(
                float(np.abs(np.asarray(o, np.float64) - e).max())
                for o, e in zip(outputs, expected, strict=True)
            )
        p50 = None if result.latency is None else round(result.latency.p50 * 1000, 4)
        tried.append(_Tried(how.label, p50, error, result.error))
    bound = max(1e-4 * scale, 2 * (tried[0].max_abs_error or 0.0))
    usable = [
        (t.p50_ms, i)
        for i, t in enumerate(tried)
        if t.p50_ms is not None and t.max_abs_error is not None and t.max_abs_error <= bound
    ]
    index = min(usable)[1] if usable else 0
    first = tried[0].p50_ms
    if first is not None and 0 in (i for _, i in usable) and (tried[index].p50_ms or first) > 0.95 * first:
        index = 0  # within 5 % of the default is measurement noise on a shared machine: keep it
    tried[index] = replace(tried[index], chosen=True)
    return list(lowered)[index], {
        "measured": "forward, 1 thread, p50 of 60 runs",
        "error_bound": bound,
        "candidates": [asdict(t) for t in tried],
    }


@dataclass(frozen=True)
class _Tried:
    lowering: str
    p50_ms: float | None
    max_abs_error: float | None
    error: str | None
    chosen: bool = False


def manifest_path(output: Path) -> Path:
    return output.with_name(output.stem + ".manifest.json")


# --- where the model and its inputs come from -------------------------------------------


def _factory_source(
    entry: str, inputs: str | None, input_shapes: Sequence[InputShape], methods: Sequence[str]
) -> _Source:
    import torch

    module_name, _, attribute = entry.partition(":")
    if not module_name or not attribute:
        raise UsageError(f"{entry!r}: give a factory as pkg.module:make_model, or a .pt / .ptl archive")
    module = _import(module_name)
    target = getattr(module, attribute, None)
    if target is None:
        raise UsageError(f"{module_name} has no attribute {attribute!r}")
    if isinstance(target, torch.nn.Module):
        model = target
    elif callable(target):
        try:
            model = target()
        except Exception as exc:
            raise UsageError(f"{entry} raised {type(exc).__name__}: {_first_line(exc)}") from None
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
    return _Source(entry, chosen, names, notes)


def _method_examples(module: Any, method: Any, notes: list[str]) -> tuple[Any, ...] | None:
    """Example inputs for a method, found the way the export-script fixes find them: none when
    every parameter has a default (an initial state), else the constants every call of it in the
    module's project passes (``init_state(1)``), else the arguments of a call of it that
    ``migrate.method_inputs`` can rebuild (``step(frame, state)``; noted in ``notes``)."""
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


def _legacy_source(path: Path, inputs: str | None, input_shapes: Sequence[InputShape]) -> _Source:
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

        problem = _archive_problem(exc, holds_prepacked_ops(str(path)))
        raise ExportError(f"{path}: {problem}") from None
    examples = _example_inputs(inputs, input_shapes, default=None, entry=str(path))
    if isinstance(examples, dict):
        examples = examples.get("forward", ())
    names = [f"input_{i}" for i in range(len(examples))]
    return _Source(str(path), {"forward": (scripted, examples)}, {"forward": names}, notes)


def _archive_problem(exc: Exception, prepacked: bool) -> str:
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
    return f"torch.jit.load failed: {_first_line(exc)}"


def _example_inputs(
    inputs: str | None, input_shapes: Sequence[InputShape], default: Any, entry: str
) -> tuple[Any, ...] | dict[str, tuple[Any, ...]]:
    import torch

    if inputs is not None and input_shapes:
        raise UsageError("give either --inputs or --input-shape, not both")
    if input_shapes:
        generator = torch.Generator().manual_seed(SEED)
        return tuple(_random_tensor(spec.shape, spec.dtype, generator) for spec in input_shapes)
    if inputs is None:
        if callable(default):
            return _as_examples(_call(default, f"{entry}'s module example_inputs"))
        raise UsageError(
            f"{entry}: no example inputs. Give --inputs pkg.module:example_inputs, --inputs file.npz "
            "or .pt, or --input-shape NAME=1x3x224x224:float32"
        )
    path = Path(inputs)
    if path.suffix == ".npz":
        return _npz_examples(path)
    if path.suffix == ".pt":
        try:
            with open_regular(path) as handle:
                loaded = torch.load(handle, map_location="cpu", weights_only=True)
        except UsageError:
            raise
        except Exception as exc:
            raise UsageError(
                f"{path}: not a tensor file torch.load(weights_only=True) accepts: {_first_line(exc)}"
            ) from None
        return _as_examples(loaded)
    module_name, _, attribute = inputs.partition(":")
    if not attribute:
        raise UsageError(f"--inputs {inputs!r}: expected pkg.module:function, a .npz or a .pt file")
    function = getattr(_import(module_name), attribute, None)
    if not callable(function):
        raise UsageError(f"--inputs {inputs!r}: {module_name} has no function {attribute!r}")
    return _as_examples(_call(function, inputs))


def _npz_examples(path: Path) -> tuple[Any, ...]:
    import numpy as np
    import torch

    arrays = load_arrays(path)
    if not arrays:
        raise UsageError(f"{path}: holds no arrays")
    try:
        return tuple(torch.from_numpy(np.array(array)) for _, array in arrays)
    except TypeError as exc:  # a dtype torch has no tensor for
        raise UsageError(f"{path}: {_first_line(exc)}") from None


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


def _random_tensor(shape: Sequence[int], dtype: str, generator: Any) -> Any:
    import torch

    torch_dtype = getattr(torch, dtype)
    if torch_dtype.is_floating_point:
        return torch.randn(*shape, generator=generator).to(torch_dtype)
    if torch_dtype == torch.bool:
        return torch.randint(0, 2, tuple(shape), generator=generator).bool()
    return torch.randint(0, 10, tuple(shape), generator=generator).to(torch_dtype)


def _apply_dynamic_examples(source: _Source, dynamic: Sequence[DynamicDim]) -> _Source:
    """Check each --dynamic names an input; widen a size-1 example dim to 2 (export would
    specialise a size-1 dim), with a note."""
    import torch

    if not dynamic:
        return source
    module, examples = source.methods["forward"]
    names = source.input_names["forward"]
    args = list(examples)
    for spec in dynamic:
        index = _input_index(spec.input, names)
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


def _input_index(name: str, names: Sequence[str]) -> int:
    if name.isdigit() and int(name) < len(names):
        return int(name)
    if name in names:
        return names.index(name)
    raise UsageError(f"--dynamic {name!r}: the inputs are {', '.join(names)} (or give a position)")


def _dynamic_shapes(
    args: tuple[Any, ...], names: Sequence[str], dynamic: Sequence[DynamicDim]
) -> tuple[Any, ...] | None:
    from torch.export import Dim

    if not dynamic:
        return None
    shapes: list[dict[int, Any] | None] = [None] * len(args)
    for spec in dynamic:
        index = _input_index(spec.input, names)
        entry = shapes[index] or {}
        entry[spec.dim] = Dim(f"{names[index]}_{spec.dim}", min=spec.min, max=spec.max)
        shapes[index] = entry
    return tuple(shapes)


# --- export, quantization, lowering ------------------------------------------------------


def _export_method(
    module: Any, args: tuple[Any, ...], source: _Source, name: str, options: ExportOptions
) -> Any:
    import torch

    dynamic = options.dynamic if name == "forward" else ()
    shapes = _dynamic_shapes(args, source.input_names[name], dynamic)
    if isinstance(module, torch.jit.ScriptModule):
        return _convert_archive(module, args, shapes)
    try:
        return torch.export.export(module, args, dynamic_shapes=shapes, strict=options.strict)
    except Exception as exc:
        raise ExportError(_explain_export_failure(module, args, shapes, exc, name)) from None


def _convert_archive(scripted: Any, args: tuple[Any, ...], shapes: tuple[Any, ...] | None) -> Any:
    import torch
    from torch._export.converter import TS2EPConverter

    try:
        converted = TS2EPConverter(scripted, args).convert()
        # The converter leaves every dim unbounded (Dim.AUTO): re-export with the bounds given.
        return torch.export.export(converted.module(), args, dynamic_shapes=shapes, strict=False)
    except Exception as exc:
        text = _first_line(exc)
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
        raise ExportError(
            f"TS2EPConverter could not convert the archive ({reason}): rewrite the source with "
            "`migrate apply` and export the eager model with `migrate export pkg.module:factory`"
        ) from None


def _explain_export_failure(
    module: Any, args: tuple[Any, ...], shapes: Any, exc: Exception, method: str
) -> str:
    """One line: what failed, where in the user's code (from draft_export), and which rule fixes it."""
    import torch

    text = _first_line(exc)
    if "ScriptModule" in text or "ScriptMethod" in text or "RecursiveScriptModule" in type(exc).__name__:
        return (
            f"torch.export cannot trace TorchScript modules ({text}): run `migrate apply --fix` "
            "(MIG109 ScriptModule subclasses, MIG111 scripted submodules)"
        )
    location, rule = "", ""
    try:
        report = torch.export.draft_export(module, args, dynamic_shapes=shapes)._report  # type: ignore[attr-defined]
        from torch._logging.structured import INTERN_TABLE

        # Frames name files by index into torch's process-wide string table.
        filenames = {**{index: name for name, index in INTERN_TABLE.items()}, **report.str_to_filename}
        for failure in report.failures:
            frame = _user_frame(failure.data, filenames)
            if frame:
                location = f" at {frame}"
                break
    except Exception:
        pass
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


def _quantize(program: Any, source: _Source, method: str, options: ExportOptions) -> Any:
    import torch
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
        XNNPACKQuantizer,
        get_symmetric_quantization_config,
    )
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    _, args = source.methods[method]
    dynamic = options.quantize == "int8-dynamic"
    config = get_symmetric_quantization_config(is_per_channel=True, is_dynamic=dynamic)
    prepared = prepare_pt2e(program.module(), XNNPACKQuantizer().set_global(config))
    for sample in _calibration_samples(args, options) if not dynamic else [args]:
        prepared(*sample)
    quantized = convert_pt2e(prepared)
    shapes = _dynamic_shapes(args, source.input_names[method], options.dynamic if method == "forward" else ())
    return torch.export.export(quantized, args, dynamic_shapes=shapes, strict=False)


def _calibration_samples(args: tuple[Any, ...], options: ExportOptions) -> list[tuple[Any, ...]]:
    import torch

    if options.calibration is None:
        generator = torch.Generator().manual_seed(SEED + 1)
        return [tuple(torch.randn(a.shape, generator=generator).to(a.dtype) for a in args) for _ in range(8)]
    arrays = _npz_examples(options.calibration)
    if (
        len(arrays) != len(args)
        or any(a.dim() == 0 or a.shape[1:] != e.shape for a, e in zip(arrays, args, strict=False))
        or len({a.shape[0] for a in arrays}) != 1
    ):
        raise UsageError(
            f"{options.calibration}: expected one array per input, shaped (samples, *example shape): "
            + ", ".join(str(tuple(e.shape)) for e in args)
        )
    return [tuple(a[i] for a in arrays) for i in range(arrays[0].shape[0])]


def _with_dynamic_ranges(
    inputs: tuple[TensorInfo, ...], dynamic: Sequence[DynamicDim]
) -> tuple[TensorInfo, ...]:
    names = [t.name for t in inputs]
    ranges: dict[int, list[tuple[int, int, int]]] = {}
    for spec in dynamic:
        ranges.setdefault(_input_index(spec.input, names), []).append((spec.dim, spec.min, spec.max))
    return tuple(replace(t, dynamic=tuple(sorted(ranges.get(i, [])))) for i, t in enumerate(inputs))


def _delegated_nodes(program: Any) -> tuple[int, int]:
    """Graph nodes inside and outside delegates (the program only knows the calls)."""
    from executorch.devtools.backend_debug import get_delegation_info

    info = get_delegation_info(program.graph_module)
    return info.num_delegated_nodes, info.num_non_delegated_nodes


def _bundle(program: Any, source: _Source) -> bytes:
    import torch
    from executorch.devtools import BundledProgram
    from executorch.devtools.bundled_program.config import MethodTestCase, MethodTestSuite
    from executorch.devtools.bundled_program.serialize import serialize_from_bundled_program_to_flatbuffer
    from torch.utils._pytree import tree_flatten

    suites = []
    for name, (module, args) in source.methods.items():
        with torch.no_grad():
            expected, _ = tree_flatten(module(*args))
        suites.append(MethodTestSuite(name, [MethodTestCase(inputs=list(args), expected_outputs=expected)]))
    return bytes(serialize_from_bundled_program_to_flatbuffer(BundledProgram(program, suites)))


# --- small helpers ----------------------------------------------------------------------


def _import(module_name: str) -> Any:
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))  # resolved as `python -m` would
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise UsageError(f"cannot import {module_name}: {exc}") from None
    except Exception as exc:
        raise UsageError(f"importing {module_name} raised {type(exc).__name__}: {_first_line(exc)}") from None


def _call(function: Callable[[], Any], label: str) -> Any:
    try:
        return function()
    except Exception as exc:
        raise UsageError(f"{label} raised {type(exc).__name__}: {_first_line(exc)}") from None


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


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _versions() -> dict[str, str]:
    versions = {}
    for package in ("torch", "executorch", "torchao"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            pass
    return versions
