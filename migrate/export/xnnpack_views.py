"""Views that ExecuTorch 1.5.1's XNNPACK partitioner leaves out, as the ops it takes.

``select_copy``, ``squeeze_copy`` and ``unsqueeze_copy`` have no XNNPACK partitioner config, so
each one runs in a portable kernel between two delegate calls (a seq2seq decoder's
``embedded[0]``, ``hidden[0]``, ``.unsqueeze(0)``: 6 delegate calls, 1 with this). With static shapes they
are a reshape (``view_copy``, XNNPACK's static reshape), and a select on a dimension longer than
one is a one-wide slice (``slice_copy``, XNNPACK's static slice) and then that reshape. The
rewrite is on the exported graph itself, so it needs no re-tracing (which programs with a data
dependent ``cond`` do not survive); anything with a symbolic size is left alone.
"""

from __future__ import annotations

from typing import Any


def views_for_xnnpack(program: Any) -> tuple[Any, list[str]]:
    """``program`` with its static selects, squeezes and unsqueezes rewritten (in place), and a
    note counting them."""
    import torch

    aten = torch.ops.aten
    views = {aten.squeeze.dim, aten.squeeze.dims, aten.squeeze.default, aten.unsqueeze.default}
    graph = program.graph
    count = 0
    for node in list(graph.nodes):
        if node.op != "call_function" or (node.target not in views and node.target is not aten.select.int):
            continue
        if any(user.op == "output" for user in node.users):  # the signature names outputs: keep them
            continue
        source = node.args[0]
        shape = static_shape(node)
        if shape is None or static_shape(source) is None:
            continue
        cut = node.target is aten.select.int and source.meta["val"].shape[node.args[1]] != 1
        if cut and not isinstance(node.args[2], int):  # an index computed from data: leave it
            continue
        with graph.inserting_before(node):
            if cut:
                dim, size = node.args[1], source.meta["val"].shape[node.args[1]]
                start = node.args[2] % size
                source = graph.call_function(aten.slice_copy.Tensor, (source, dim, start, start + 1))
                source.meta["val"] = node.args[0].meta["val"].narrow(dim, start, 1)
            reshaped = graph.call_function(aten.view_copy.default, (source, list(shape)))
        reshaped.meta = dict(node.meta)
        node.replace_all_uses_with(reshaped)
        graph.erase_node(node)
        count += 1
    if not count:
        return program, []
    program.graph_module.recompile()
    return program, [
        f"{count} select / squeeze / unsqueeze view(s) rewritten as the reshapes and slices XNNPACK takes"
    ]


def static_shape(node: Any) -> list[int] | None:
    """A graph node's shape when every size is a plain int (None when unknown or symbolic)."""
    value = getattr(node, "meta", {}).get("val")
    if value is None or not hasattr(value, "shape"):
        return None
    shape = list(value.shape)
    return shape if all(isinstance(size, int) for size in shape) else None
