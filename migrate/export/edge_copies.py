"""Copies in the edge program that move no data: fewer nodes for ExecuTorch's XNNPACK runtime.

Torch's decompositions leave chains of ``view_copy``, ``permute_copy`` and ``clone`` between
the ops that compute (a transformer's attention: ``view``, ``view``, ``view``, ``permute``,
``view``, ``slice``, ``view``, ``view``, ``permute``, ``view``, ``view`` from the input projection
to one head). Each is a node of the delegate's runtime, and ExecuTorch 1.5.1 reshapes every node
at every call (``XNNExecutor::prepare_args``). This pass, run on the edge program before
partitioning (``to_edge_transform_and_lower(transform_passes=...)``), removes those that move
no data, to a fixed point:

- a view of a view is one view; a view to the shape it has is nothing;
- a permute that only moves dimensions of size one is a view; a permute of a permute is one
  permute, and nothing when it restores the order;
- a contiguous ``clone`` of a contiguous tensor (``.contiguous()`` after a copy) is nothing;
- an ``expand_copy`` to the shape the tensor has is nothing;
- a reshape that keeps the last dimension, before a ``linear``, moves after it (the linear maps
  that dimension alone), where it merges with the reshape that usually follows.

A node that is a graph output is kept (the output must not become an input or another output).
Each rewrite gives the same values bit for bit.
"""

from __future__ import annotations

from typing import Any

from migrate.export.xnnpack_views import static_shape


def drop_data_free_copies(graph_module: Any) -> Any:
    """The pass (``PassResult``): ``graph_module`` rewritten in place."""
    import torch
    from torch.fx.passes.infra.pass_base import PassResult

    from validators.internals import edge_ops

    exir_ops = edge_ops()

    aten = exir_ops.edge.aten
    view, permute, expand = aten.view_copy.default, aten.permute_copy.default, aten.expand_copy.default
    linear = aten.linear.default
    clones = {aten.clone.default, exir_ops.edge.dim_order_ops._clone_dim_order.default}
    graph = graph_module.graph
    changed = True
    count = 0
    while changed:
        changed = False
        for node in list(graph.nodes):
            if node.op != "call_function" or not node.users or _is_output(node):
                continue
            source = node.args[0] if node.args else None
            if not isinstance(source, torch.fx.Node):
                continue
            shape = static_shape(node)
            if node.target is view and shape is not None:
                if static_shape(source) == shape:
                    node.replace_all_uses_with(source)
                    changed = True
                elif source.target is view:
                    node.args = (source.args[0], *node.args[1:])
                    changed = True
            elif node.target is permute and shape is not None:
                dims: Any = node.args[1]
                order = [int(d) for d in dims]
                if source.target is permute:
                    inner_dims: Any = source.args[1]
                    inner = [int(d) for d in inner_dims]
                    composed = [inner[d] for d in order]
                    if composed == sorted(composed):
                        node.replace_all_uses_with(source.args[0])
                    else:
                        node.args = (source.args[0], composed)
                    changed = True
                elif _moves_only_ones(static_shape(source), order):
                    with graph.inserting_before(node):
                        reshaped = graph.call_function(view, (source, shape))
                    reshaped.meta = dict(node.meta)
                    node.replace_all_uses_with(reshaped)
                    changed = True
            elif (
                node.target is linear
                and source.target is view
                and len(source.users) == 1
                and _same_last(source.args[0], source)
            ):
                # a linear maps the last dimension alone: reshape after it, where the reshape can
                # merge with the one that usually follows (an attention's input projection)
                x = source.args[0]
                node.args = (x, *node.args[1:])
                with graph.inserting_after(node):
                    reshaped = graph.call_function(view, (node, shape))
                reshaped.meta = dict(node.meta)
                node.replace_all_uses_with(
                    reshaped, delete_user_cb=lambda user, kept=reshaped: user is not kept
                )
                node.meta = {**node.meta, "val": _fake_linear(node, x)}
                changed = True
            elif node.target in clones and _plain_clone(node, source):
                node.replace_all_uses_with(source)
                changed = True
            elif node.target is expand and shape is not None and static_shape(source) == shape:
                node.replace_all_uses_with(source)
                changed = True
            count += changed
        graph.eliminate_dead_code()
    graph_module.recompile()
    return PassResult(graph_module, bool(count))


def _same_last(before: Any, after: Any) -> bool:
    """A reshape that keeps the last dimension (and so commutes with a linear)."""
    a, b = static_shape(before), static_shape(after)
    return a is not None and b is not None and len(a) > 0 and len(b) > 0 and a[-1] == b[-1]


def _fake_linear(node: Any, x: Any) -> Any:
    from validators.internals import detect_fake_mode

    value, weight = x.meta["val"], node.args[1].meta["val"]
    with detect_fake_mode([value]) or _nothing():
        return value.new_empty((*value.shape[:-1], weight.shape[0]))


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *args: object) -> None:
        return None


def _is_output(node: Any) -> bool:
    return any(user.op == "output" for user in node.users)


def _moves_only_ones(shape: list[int] | None, order: list[int]) -> bool:
    """The permutation keeps the dimensions longer than one in their order (so it is a view)."""
    if shape is None:
        return False
    kept = [d for d in order if shape[d] != 1]
    return kept == sorted(kept)


def _plain_clone(node: Any, source: Any) -> bool:
    """A clone to the same dtype and a contiguous layout, of a contiguous tensor."""
    before, after = source.meta.get("val"), node.meta.get("val")
    if before is None or after is None or static_shape(node) is None:
        return False
    memory = node.kwargs.get("memory_format")
    dim_order = node.kwargs.get("dim_order")
    import torch

    return (
        before.dtype == after.dtype
        and memory in (None, torch.contiguous_format, torch.preserve_format)
        and (dim_order is None or list(dim_order) == list(range(after.dim())))
        and before.is_contiguous()
        and after.is_contiguous()
    )
