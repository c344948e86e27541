"""Ops that ExecuTorch 1.5.1's XNNPACK partitioner leaves out, computed with ops it takes.

A transformer encoder lowered as it is splits into many delegate calls around portable kernels
(the sample text encoder: 9 calls, 38 kernels outside), and ExecuTorch pays for every call and
every node (``XNNExecutor::prepare_args`` reshapes the whole runtime at each call). Three ops
cause it, each rewritten here on the exported ATen program:

- ``layer_norm`` over the last dimension: XNNPACK has no layer norm, and its mean takes only 4-D
  tensors averaged over dims 2 and 3. The means are products with a constant ``1/D`` row
  (a linear, which it takes at any rank), ``eps`` is that linear's bias, then ``rsqrt``, ``mul``,
  ``add``.
- ``scaled_dot_product_attention`` without dropout, with no mask or an additive float one:
  torch's own decomposition gives
  ``expand_copy``, scalar ``mul`` and the ``_safe_softmax`` guard (``eq``, ``any``,
  ``logical_not``, ``where``), none of which it takes. Here it is ``bmm``, ``permute``,
  ``softmax`` and the scale folded into a constant. ``_safe_softmax`` only differs on a row that
  is all ``-inf``, which without a mask needs an infinite input.
- the mean over a prefix whose length is read from data (``x[:, :n].mean(1)``, ``n`` from
  ``.item()``): the slice has a data-dependent size, which XNNPACK never takes, and everything
  after it became a second delegate call. It is the product of ``x`` with weights ``(j < n) / n``,
  computed outside from the tensor ``n`` was read from: only what depends on data stays outside.

The constants (``1/D`` rows, the scale) are folded at export, like the recurrent lowering's
weight cuts. Each rewrite keeps the outputs within float rounding (1e-6 on the samples); shapes
must be static, and anything else is left as it was.
"""

from __future__ import annotations

from typing import Any


def decompose_for_xnnpack(program: Any) -> tuple[Any, list[str]]:
    """``program`` with its layer norms, attention and data-sized prefix means rewritten as ops
    XNNPACK takes, and a note naming what changed."""
    import torch

    aten = torch.ops.aten
    notes: list[str] = []
    prefix = _prefix_means(program)
    table = {
        aten.layer_norm.default: _layer_norm,
        aten.scaled_dot_product_attention.default: _attention,
    }
    counts = {op: _count(program, op) for op in table}
    wanted = {op: fn for op, fn in table.items() if counts[op]}
    if wanted:
        try:
            program = program.run_decompositions(wanted)
        except Exception as exc:  # torch cannot re-trace every program
            reason = " ".join(str(exc).split())[:160]
            notes.append(
                f"layer norm and attention keep ExecuTorch's own lowering: {type(exc).__name__} ({reason})"
            )
        else:
            done = [
                f"{counts[op] - _count(program, op)} {name}"
                for op, name in (
                    (aten.layer_norm.default, "layer norm(s)"),
                    (aten.scaled_dot_product_attention.default, "attention(s)"),
                )
                if counts[op] - _count(program, op)
            ]
            if done:
                notes.append(
                    f"{' and '.join(done)} computed with ops XNNPACK takes (linear, bmm, softmax, rsqrt)"
                )
    if wanted or prefix:
        program = _fold_constants(program)
    if prefix:
        notes.append(
            f"{prefix} mean(s) over a prefix sized by data computed as a product with weights from that size"
        )
    return program, notes


def _count(program: Any, op: Any) -> int:
    return sum(1 for node in program.graph.nodes if node.target is op)


def _fold_constants(program: Any) -> Any:
    """Fold the constants the decompositions made (``full``, and the scale or row products of
    constants) so XNNPACK sees them as static weights."""
    import torch
    from executorch.exir.passes.constant_prop_pass import constant_prop_pass

    aten = torch.ops.aten
    made = {
        aten.full.default,
        aten.mul.Tensor,
        aten.arange.default,
        aten.arange.start_step,
        aten.view.default,
    }
    ops = {node.target for node in program.graph.nodes if node.op == "call_function"}
    return constant_prop_pass(program, custom_skip_targets=ops - made)


def _layer_norm(
    x: Any, shape: list[int], weight: Any = None, bias: Any = None, eps: float = 1e-5, cudnn: bool = True
) -> Any:
    import torch
    from torch.nn.functional import linear

    size = x.shape[-1]
    if len(shape) != 1 or not isinstance(size, int) or x.dtype != torch.float32:
        return NotImplemented
    row = torch.full((1, size), 1.0 / size, dtype=x.dtype)
    centered = x - linear(x, row)
    out = centered * torch.rsqrt(linear(centered * centered, row, torch.full((1,), eps, dtype=x.dtype)))
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def _attention(
    q: Any,
    k: Any,
    v: Any,
    attn_mask: Any = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    *,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Any:
    import math

    import torch

    shapes = [list(t.shape) for t in (q, k, v)]
    mask = None if attn_mask is None else list(attn_mask.shape)
    if (
        (mask is not None and not _additive_mask(attn_mask, q, shapes[0][:3] + shapes[1][2:3]))
        or dropout_p
        or is_causal
        or enable_gqa
        or q.dtype != torch.float32
        or any(len(s) != 4 or not all(isinstance(d, int) for d in s) for s in shapes)
        or shapes[0][:2] != shapes[1][:2]
        or shapes[1][:3] != shapes[2][:3]
    ):
        return NotImplemented
    (b, h, length, e), (_, _, source, _), (_, _, _, ev) = shapes
    factor = torch.full((), scale if scale is not None else 1.0 / math.sqrt(e), dtype=q.dtype)
    keys = k.reshape(b * h, source, e).permute(0, 2, 1)
    scores = torch.bmm(q.reshape(b * h, length, e) * factor, keys)
    if attn_mask is not None:  # added to the scores, broadcast as (batch, heads, length, source)
        scores = (scores.reshape(b, h, length, source) + attn_mask).reshape(b * h, length, source)
    out = torch.bmm(torch.softmax(scores, -1), v.reshape(b * h, source, ev))
    return out.reshape(b, h, length, ev)


def _additive_mask(mask: Any, q: Any, scores: list[Any]) -> bool:
    """A float mask of the queries' dtype with a static shape that broadcasts to the scores
    (batch, heads, length, source): added before the softmax, as torch does. A boolean mask is
    left to torch, whose ``_safe_softmax`` gives a row with nothing to attend to zeros, where a
    plain softmax would give NaN."""
    import torch

    shape = list(mask.shape)
    if mask.dtype != q.dtype or len(shape) > 4 or not all(isinstance(d, int) for d in shape):
        return False
    try:
        return list(torch.broadcast_shapes(tuple(shape), tuple(scores))) == list(scores)
    except RuntimeError:
        return False


def _prefix_means(program: Any) -> int:
    """Rewrite ``mean(x[:, :n], dim=1)`` with ``n = t.item()`` (in place); the count."""
    import torch

    from validators.internals import detect_fake_mode

    aten = torch.ops.aten
    graph = program.graph
    count = 0
    weights: dict[tuple[Any, Any], Any] = {}
    for node in list(graph.nodes):
        if node.target is not aten.mean.dim or node.kwargs.get("dtype") is not None:
            continue
        sliced = node.args[0]
        if getattr(sliced, "target", None) is not aten.slice.Tensor:
            continue
        source, dim, start, end = (*sliced.args, None, None, None)[:4]
        step = sliced.args[4] if len(sliced.args) > 4 else 1
        size = getattr(end, "target", None)
        x = source.meta.get("val")
        if (
            size is not aten.item.default
            or start not in (None, 0)
            or step != 1
            or x is None
            or x.dim() != 3
            or dim % 3 != 1
            or list(node.args[1]) not in ([1], [-2])
            or not all(isinstance(d, int) for d in x.shape)
            or x.dtype != torch.float32
        ):
            continue
        keepdim = bool(node.args[2]) if len(node.args) > 2 else False
        held = end.args[0]  # the 0-d tensor n was read from
        if held.meta["val"].dim() != 0:
            continue
        batch, steps, width = x.shape
        with graph.inserting_before(node):
            made = _Maker(graph, detect_fake_mode([x]))
            key = (source, held)
            if key not in weights:  # the heads pooling the same prefix share its weights
                # (n - j) clamped to [0, 1] is 1 for j < n and 0 after (n and j are whole numbers):
                # float ops XNNPACK takes, where a comparison would need casts outside.
                n = made(aten._to_copy.default, held, dtype=torch.float32)
                positions = made(aten.arange.default, steps, dtype=torch.float32)
                positions = made(aten.view.default, positions, [1, 1, steps])
                kept = made(aten.clamp.default, made(aten.sub.Tensor, n, positions), 0.0, 1.0)
                weights[key] = made(aten.div.Tensor, kept, n)
                if batch != 1:
                    weights[key] = made(aten.expand.default, weights[key], [batch, 1, steps])
            pooled = made(aten.bmm.default, weights[key], source)
            result = made(aten.view.default, pooled, [batch, 1, width] if keepdim else [batch, width])
        result.meta = {**node.meta, "val": result.meta["val"]}
        node.replace_all_uses_with(result)
        graph.erase_node(node)
        count += 1
    if count:
        graph.eliminate_dead_code()
        program.graph_module.recompile()
    return count


class _Maker:
    """Adds call_function nodes with their fake values, so later passes see their shapes."""

    def __init__(self, graph: Any, fake: Any) -> None:
        self.graph, self.fake = graph, fake

    def __call__(self, target: Any, *args: Any, **kwargs: Any) -> Any:
        import torch

        node = self.graph.call_function(target, args, kwargs)
        values = torch.fx.node.map_arg((args, kwargs), lambda n: n.meta["val"])
        with self.fake:
            node.meta["val"] = target(*values[0], **values[1])
        return node


def for_litert(module: Any, args: tuple[Any, ...]) -> Any:
    """``module`` as litert-torch can convert it, for the TFLite baseline: its converter needs
    every size known while it traces, so a prefix mean sized by ``.item()`` ends the conversion.
    Rewritten as weights (the same rewrite as the ``.pte``'s) and with the bound checks that only
    guarded the slice dropped, the program converts; ``module`` itself when there is no such
    mean, or anything else still reads data into a size."""
    import torch

    try:
        program = torch.export.export(module, tuple(args))
    except Exception:
        return module
    if not _prefix_means(program):
        return module
    graph = program.graph
    for node in list(graph.nodes):
        if node.target is torch.ops.aten._assert_scalar.default:
            graph.erase_node(node)
    graph.eliminate_dead_code()
    if any(node.target is torch.ops.aten.item.default for node in graph.nodes):
        return module
    program.graph_module.recompile()
    return program.module()
