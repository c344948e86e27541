"""GRU and LSTM layers, lowered so that XNNPACK takes the whole recurrence.

ExecuTorch 1.5.1's default decomposition of ``aten.gru`` / ``aten.lstm`` unrolls the time steps
with ``split_with_sizes`` for the gates and ``select`` / ``squeeze`` for the steps, which the
XNNPACK partitioner does not take: each step leaves the delegate (the sample keyword spotter:
18 delegate calls, 52 kernels outside). These decompositions compute the same thing with ops
it does take: the input projected for all steps at once, the gates in two groups (those behind
a sigmoid, and the tanh one) with their weights cut into constants at export, steps as slices,
states kept as (batch, 1, hidden) so no step reshapes; ``outputs[:, -1]`` reads the last step.

Fewer nodes is what makes it fast: ExecuTorch's XNNPACK executor reshapes and sets up its whole
runtime at every call (``XNNExecutor::prepare_args``), 0.1 to 0.2 us per node here. The sample
keyword spotter: 1 delegate call, 243 nodes (the first version of this lowering: 2 calls, 338;
ExecuTorch's own: 18 calls), 1 kernel outside, the same outputs.

Layers they do not cover (LSTM projections, unbatched input, no biases) keep the default
decomposition.
"""

from __future__ import annotations

from typing import Any


def lower_recurrent(program: Any) -> tuple[Any, list[str]]:
    """``program`` with its GRU / LSTM ops decomposed for XNNPACK, and a note naming what changed."""
    import torch

    aten = torch.ops.aten
    table = {
        aten.gru.input: _decomposition(_gru_cell, _GRU_GATES),
        aten.lstm.input: _decomposition(_lstm_cell, _LSTM_GATES),
    }
    wanted = {op: fn for op, fn in table.items() if op in _ops(program)}
    if not wanted:
        return program, []
    try:
        lowered = _fold_weight_cuts(program.run_decompositions(wanted))
        _read_steps(lowered)
    except Exception as exc:  # torch cannot always re-trace a program (unbacked sizes in a cond)
        reason = " ".join(str(exc).split())[:160]
        return program, [f"recurrent layers keep ExecuTorch's own lowering: {type(exc).__name__} ({reason})"]
    left = _ops(lowered)
    changed = sorted(str(op).split(".")[1].upper() for op in wanted if op not in left)
    if not changed:  # every layer was of a kind these decompositions leave alone
        return program, []
    note = (
        f"{' and '.join(changed)} lowered step by step for XNNPACK (the input projected for all "
        "steps at once, gates in two groups, steps as slices) so the recurrence stays inside the delegate"
    )
    return lowered, [note]


def _fold_weight_cuts(program: Any) -> Any:
    """Fold the gates' rows cut from the weights into constants, as XNNPACK takes a linear only
    with constant weights. Only slices, concatenations and copies of constants are folded (a
    quantized weight's dequantize stays), which elsewhere in a model can only add a constant."""
    import torch
    from executorch.exir.passes.constant_prop_pass import constant_prop_pass

    aten = torch.ops.aten
    cuts = {aten.slice.Tensor, aten.cat.default, aten.clone.default}
    # A first state of zeros (``torch.zeros`` when none is given) makes the first step's
    # ``h @ W_hh + b`` a constant: folded, the step has two nodes fewer and the zeros no kernel.
    first_state = {aten.zeros.default, aten.full.default, aten.view.default, aten.linear.default}
    return constant_prop_pass(program, custom_skip_targets=_ops(program) - cuts - first_state)


def _read_steps(program: Any) -> None:
    """``outputs[:, -1]``, one step of the sequence the steps were concatenated into, reads that
    step's tensor instead: the concatenation can go, and the select, which XNNPACK does not take
    and which split the program into two delegate calls, becomes a reshape it takes."""
    import torch

    aten = torch.ops.aten
    graph = program.graph
    for node in list(graph.nodes):
        if node.target is not aten.select.int or any(user.op == "output" for user in node.users):
            continue
        source, dim, index = node.args
        if getattr(source, "target", None) is not aten.cat.default or not isinstance(index, int):
            continue
        parts = source.args[0]
        rank = source.meta["val"].dim()
        shape = node.meta["val"].shape
        if (source.args[1] if len(source.args) > 1 else 0) % rank != dim % rank:
            continue
        if not all(isinstance(size, int) for size in shape):  # dynamic sizes: leave it
            continue
        sizes = [part.meta["val"].shape[dim] for part in parts]
        if not all(isinstance(size, int) and size == 1 for size in sizes):  # one step each, not symbolic
            continue
        with graph.inserting_before(node):
            step = graph.call_function(aten.view.default, (parts[index], list(shape)))
        step.meta = dict(node.meta)
        node.replace_all_uses_with(step)
        graph.erase_node(node)
    graph.eliminate_dead_code()
    program.graph_module.recompile()


def _ops(program: Any) -> set[Any]:
    return {node.target for node in program.graph.nodes if node.op == "call_function"}


def _decomposition(cell: Any, gates: tuple[tuple[int, ...], ...]) -> Any:
    """The decomposition of ``aten.gru.input`` / ``aten.lstm.input`` (one schema: input, hx,
    params, has_biases, num_layers, dropout, train, bidirectional, batch_first) with this cell;
    hx is one tensor for a GRU, (h, c) for an LSTM."""

    def decomposed(
        input: Any,
        hx: Any,
        params: list[Any],
        has_biases: bool,
        num_layers: int,
        dropout: float,
        train: bool,
        bidirectional: bool,
        batch_first: bool,
    ) -> Any:
        states = list(hx) if isinstance(hx, (list, tuple)) else [hx]
        return _recurrence(
            cell, gates, input, states, params, has_biases, num_layers, bidirectional, batch_first
        )

    return decomposed


# Each cell reads its gates in groups, one matrix product per group, so that gates passed through
# the same function are computed together and nothing else is cut per step. Rows of the weights
# in units of the hidden size, in torch's gate order: GRU r, z, n; LSTM i, f, g, o.
_GRU_GATES = ((0, 1), (2,))  # r and z (sigmoid), n (tanh after the reset)
_LSTM_GATES = ((0, 1, 3), (2,))  # i, f and o (sigmoid), g (tanh)


def _gru_cell(gi: list[Any], hidden: list[tuple[Any, Any]], state: list[Any], size: int) -> list[Any]:
    import torch
    from torch.nn.functional import linear

    (h,) = state
    rz = torch.sigmoid(gi[0] + linear(h, *hidden[0]))
    n = torch.tanh(gi[1] + rz.narrow(2, 0, size) * linear(h, *hidden[1]))
    return [n + rz.narrow(2, size, size) * (h - n)]


def _lstm_cell(gi: list[Any], hidden: list[tuple[Any, Any]], state: list[Any], size: int) -> list[Any]:
    import torch
    from torch.nn.functional import linear

    h, c = state
    ifo = torch.sigmoid(gi[0] + linear(h, *hidden[0]))
    g = torch.tanh(gi[1] + linear(h, *hidden[1]))
    c = ifo.narrow(2, size, size) * c + ifo.narrow(2, 0, size) * g
    return [ifo.narrow(2, 2 * size, size) * torch.tanh(c), c]


def _rows(weight: Any, blocks: tuple[int, ...], size: int) -> Any:
    """The weight's (or bias's) rows of these gates, as a new tensor: export folds it into a
    constant. A view would not do: a folded narrow() kept its storage offset, and the .pte read
    the original tensor's first rows instead (wrong outputs, no error)."""
    import torch

    return torch.cat([weight.narrow(0, block * size, size) for block in blocks]).clone()


def _recurrence(
    cell: Any,
    gates: tuple[tuple[int, ...], ...],
    input: Any,
    hx: list[Any],
    params: list[Any],
    has_biases: bool,
    num_layers: int,
    bidirectional: bool,
    batch_first: bool,
) -> Any:
    """Layers x directions x steps of ``cell``; the outputs and final states as aten returns them.
    States are kept as (batch, 1, hidden), the shape a step's slice of the input has, so steps
    need no reshapes."""
    from torch.nn.functional import linear

    directions = 2 if bidirectional else 1
    if not has_biases or input.dim() != 3 or len(params) != 4 * num_layers * directions:
        return NotImplemented  # projections (LSTM proj_size), no biases, unbatched: the default
    x = input if batch_first else input.transpose(0, 1)
    batch, steps = x.shape[0], x.shape[1]
    finals: list[list[Any]] = [[] for _ in hx]
    for layer in range(num_layers):
        outputs = []
        for direction in range(directions):
            k = layer * directions + direction
            w_ih, w_hh, b_ih, b_hh = params[4 * k : 4 * k + 4]
            size = w_hh.shape[1]
            # every step's input projection at once, one per gate group
            projected = [linear(x, _rows(w_ih, g, size), _rows(b_ih, g, size)) for g in gates]
            hidden = [(_rows(w_hh, g, size), _rows(b_hh, g, size)) for g in gates]
            state = [s.narrow(0, k, 1).reshape(batch, 1, size) for s in hx]
            per_step: list[Any] = [None] * steps
            for t in reversed(range(steps)) if direction else range(steps):
                state = cell([p.narrow(1, t, 1) for p in projected], hidden, state, size)
                per_step[t] = state[0]
            outputs.append(_join(per_step, 1))
            for kept, s in zip(finals, state, strict=True):
                kept.append(s.reshape(1, batch, size))
        x = _join(outputs, 2)
    out = x if batch_first else x.transpose(0, 1)
    return (out, *(_join(kept, 0) for kept in finals))


def _join(parts: list[Any], dim: int) -> Any:
    """``torch.cat``, but one part is itself: XNNPACK does not take a one-input concatenation
    (one step, one layer: a decoder's single-token step)."""
    import torch

    return parts[0] if len(parts) == 1 else torch.cat(parts, dim)
