"""The steps of `migrate export` in order, and what they write.

torch.export (non-strict) -> optional PT2E quantization -> to_edge_transform_and_lower
(XNNPACK by default) -> to_executorch. Everything the manifest says is read from the programs
that were built, not estimated. torch and executorch are imported lazily: the rest of the tool
runs without them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from migrate.artifacts import check_regular, check_writable_folder
from migrate.errors import UsageError, first_line, require
from migrate.export.capture import export_method
from migrate.export.inputs import apply_dynamic_examples, factory_source, legacy_source
from migrate.export.lower import fastest, lower, lowering_candidates
from migrate.export.options import ExportError, ExportOptions, InputShape
from migrate.export.outputs import bundle, delegated_nodes, manifest_path, versions, with_dynamic_ranges
from migrate.export.quantize import quantize
from migrate.export.xnnpack_decompositions import decompose_for_xnnpack
from migrate.export.xnnpack_views import views_for_xnnpack
from migrate.manifest import Manifest, describe_program
from migrate.output import write_atomic, write_bytes_atomic
from migrate.quiet import audible, quiet_torch
from migrate.sandboxed import ARCHIVES, export_in_sandbox

_DEFAULTS = ExportOptions()


def export(
    entry: str,
    output: Path,
    *,
    inputs: str | None = None,
    input_shapes: Sequence[InputShape] = (),
    options: ExportOptions = _DEFAULTS,
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
        source = legacy_source(Path(entry), inputs, input_shapes)
    else:
        source = factory_source(entry, inputs, input_shapes, options.methods)
    source = apply_dynamic_examples(source, options.dynamic)

    started = time.perf_counter()
    progress("exporting with torch.export")
    programs = {
        name: export_method(module, args, source, name, options)
        for name, (module, args) in source.methods.items()
    }
    if options.quantize != "none":
        progress(f"quantizing ({options.quantize}) with PT2E")
        programs = {name: quantize(programs[name], source, name, options) for name in programs}
    if options.backend == "xnnpack":  # once, before the candidates: every lowering reads the same program
        for name in programs:
            programs[name], added = views_for_xnnpack(programs[name])
            source.notes.extend(n for n in added if n not in source.notes)
            programs[name], added = decompose_for_xnnpack(programs[name])
            source.notes.extend(n for n in added if n not in source.notes)
    export_seconds = time.perf_counter() - started

    candidates = lowering_candidates(options)
    progress(
        f"lowering ({options.backend})"
        if len(candidates) == 1
        else f"lowering {len(candidates)} ways (--optimize)"
    )
    started = time.perf_counter()
    lowered = {}
    for candidate in candidates:
        try:
            lowered[candidate] = lower(programs, candidate, options.etrecord)
        except Exception as exc:
            if len(candidates) == 1:
                raise ExportError(f"lowering failed: {first_line(exc)}") from None
            source.notes.append(f"--optimize: the {candidate.label} lowering failed: {first_line(exc)}")
    lowering_seconds = time.perf_counter() - started
    choice: dict[str, Any] = {}
    chosen = candidates[0]
    if len(lowered) > 1:
        progress("measuring each lowering against eager (--optimize)")
        chosen, choice = fastest(lowered, source)
    elif chosen not in lowered:
        raise ExportError("lowering failed for every candidate (see the notes)")
    edge, program, notes = lowered[chosen]
    source.notes.extend(n for n in notes if n not in source.notes)

    buffer = program.buffer
    write_bytes_atomic(output, buffer)
    nodes = {name: delegated_nodes(edge.exported_program(name)) for name in programs}
    methods = tuple(
        replace(
            m,
            inputs=with_dynamic_ranges(m.inputs, options.dynamic) if m.name == "forward" else m.inputs,
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
        versions=versions(),
        options=options.to_dict(),
        notes=tuple(source.notes),
        optimize=choice,
    )
    write_bytes_atomic(manifest_path(output), manifest.to_json().encode())
    if options.etrecord:
        record = program.get_etrecord()
        write_atomic(output.with_suffix(".etrecord"), record.save)
    if options.bundle:
        write_bytes_atomic(output.with_suffix(".bpte"), bundle(program, source))
    return manifest
