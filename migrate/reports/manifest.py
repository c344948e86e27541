"""A `.pte` manifest as text for the console (the JSON form is `Manifest.to_json`)."""

from __future__ import annotations

from migrate.manifest import Manifest, TensorInfo


def _tensor(tensor: TensorInfo) -> str:
    dims = [str(d) for d in tensor.shape]
    for dim, low, high in tensor.dynamic:
        dims[dim] = f"{low}..{high}"
    return f"{tensor.name}: {tensor.dtype}[{', '.join(dims)}]"


def render_manifest(manifest: Manifest) -> str:
    lines = [f"{manifest.output}  ({manifest.file_size:,} bytes, from {manifest.source})"]
    for method in manifest.methods:
        d = method.delegation
        lines.append(f"  method {method.name}")
        lines.append(f"    inputs:  {'; '.join(_tensor(t) for t in method.inputs) or '-'}")
        lines.append(f"    outputs: {'; '.join(_tensor(t) for t in method.outputs) or '-'}")
        backends = ", ".join(method.backends) or "none (portable kernels only)"
        lines.append(f"    delegate calls: {d.subgraphs} ({backends})")
        if d.delegated_nodes is not None:
            lines.append(f"    graph nodes: {d.delegated_nodes} delegated, {d.non_delegated_nodes} not")
        outside = ", ".join(f"{op} x{count}" for op, count in d.non_delegated_ops) or "none"
        lines.append(f"    kernels outside delegates: {outside}")
        lines.append(
            f"    planned memory arena: {method.planned_arena_bytes:,} bytes (excludes the delegate's own buffers)"
        )
    if manifest.export_seconds is not None:
        lines.append(f"  export {manifest.export_seconds:.1f} s, lowering {manifest.lowering_seconds:.1f} s")
    if manifest.versions:
        lines.append("  " + ", ".join(f"{k} {v}" for k, v in sorted(manifest.versions.items())))
    for tried in manifest.optimize.get("candidates", ()):
        timing = "did not run" if tried.get("p50_ms") is None else f"p50 {tried['p50_ms']:.3f} ms"
        error = tried.get("max_abs_error")
        numerics = "" if error is None else f", max abs error {error:.1e}"
        mark = "  <- chosen" if tried.get("chosen") else ""
        lines.append(f"  --optimize: {tried['lowering']}: {timing}{numerics}{mark}")
    for note in manifest.notes:
        lines.append(f"  note: {note}")
    return "\n".join(lines) + "\n"
