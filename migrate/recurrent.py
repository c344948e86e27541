"""GRU and LSTM layers, lowered so that XNNPACK takes the whole recurrence.

ExecuTorch 1.5.1's default decomposition of ``aten.gru`` / ``aten.lstm`` unrolls the time steps
with ``split_with_sizes`` for the gates and ``select`` / ``squeeze`` for the steps, which the
XNNPACK partitioner does not take: each step leaves the delegate (the sample keyword spotter:
18 delegate calls, 52 kernels outside). These decompositions compute the same thing with ops
it does take: one input projection for all steps, gates and steps cut with ``narrow`` (slices),
reshapes instead of squeezes. The sample: 2 delegate calls, 2 kernels outside, a 23 % smaller
``.pte``, the same outputs.

Layers they do not cover (LSTM projections, unbatched input, no biases) keep the default
decomposition.
"""

from __future__ import annotations

from typing import Any


def lower_recurrent(program: Any) -> tuple[Any, list[str]]:
    """``program`` with its GRU / LSTM ops decomposed for XNNPACK, and a note naming what changed."""
    import torch

    aten = torch.ops.aten
    table = {aten.gru.input: _gru, aten.lstm.input: _lstm}
    wanted = {op: fn for op, fn in table.items() if op in _ops(program)}
    if not wanted:
        return program, []
    try:
        lowered = program.run_decompositions(wanted)
    except Exception as exc:  # torch cannot always re-trace a program (unbacked sizes in a cond)
        reason = " ".join(str(exc).split())[:160]
        return program, [f"recurrent layers keep ExecuTorch's own lowering: re-tracing failed ({reason})"]
    left = _ops(lowered)
    changed = sorted(str(op).split(".")[1].upper() for op in wanted if op not in left)
    if not changed:  # every layer was of a kind these decompositions leave alone
        return program, []
    note = (
        f"{' and '.join(changed)} lowered step by step for XNNPACK (one input projection, gates and "
        "steps as slices) so the recurrence stays inside the delegate"
    )
    return lowered, [note]


def _ops(program: Any) -> set[Any]:
    return {node.target for node in program.graph.nodes if node.op == "call_function"}


def _gru(
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
    return _recurrence(_gru_cell, input, [hx], params, has_biases, num_layers, bidirectional, batch_first)


def _lstm(
    input: Any,
    hx: list[Any],
    params: list[Any],
    has_biases: bool,
    num_layers: int,
    dropout: float,
    train: bool,
    bidirectional: bool,
    batch_first: bool,
) -> Any:
    return _recurrence(
        _lstm_cell, input, list(hx), params, has_biases, num_layers, bidirectional, batch_first
    )


def _gru_cell(gi: Any, state: list[Any], w_hh: Any, b_hh: Any, size: int) -> list[Any]:
    import torch
    from torch.nn.functional import linear

    (h,) = state
    gh = linear(h, w_hh, b_hh)
    r = torch.sigmoid(gi.narrow(1, 0, size) + gh.narrow(1, 0, size))
    z = torch.sigmoid(gi.narrow(1, size, size) + gh.narrow(1, size, size))
    n = torch.tanh(gi.narrow(1, 2 * size, size) + r * gh.narrow(1, 2 * size, size))
    return [n + z * (h - n)]


def _lstm_cell(gi: Any, state: list[Any], w_hh: Any, b_hh: Any, size: int) -> list[Any]:
    import torch
    from torch.nn.functional import linear

    h, c = state
    gates = gi + linear(h, w_hh, b_hh)
    i = torch.sigmoid(gates.narrow(1, 0, size))
    f = torch.sigmoid(gates.narrow(1, size, size))
    g = torch.tanh(gates.narrow(1, 2 * size, size))
    o = torch.sigmoid(gates.narrow(1, 3 * size, size))
    c = f * c + i * g
    return [o * torch.tanh(c), c]


def _recurrence(
    cell: Any,
    input: Any,
    hx: list[Any],
    params: list[Any],
    has_biases: bool,
    num_layers: int,
    bidirectional: bool,
    batch_first: bool,
) -> Any:
    """Layers x directions x steps of ``cell``; the outputs and final states as aten returns them."""
    import torch
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
            projected = linear(x, w_ih, b_ih)  # every step's input projection at once
            state = [s.narrow(0, k, 1).reshape(batch, size) for s in hx]
            per_step: list[Any] = [None] * steps
            for t in reversed(range(steps)) if direction else range(steps):
                state = cell(projected.narrow(1, t, 1).reshape(batch, -1), state, w_hh, b_hh, size)
                per_step[t] = state[0].reshape(batch, 1, size)
            outputs.append(torch.cat(per_step, 1))
            for kept, s in zip(finals, state, strict=True):
                kept.append(s.reshape(1, batch, size))
        x = outputs[0] if directions == 1 else torch.cat(outputs, 2)
    out = x if batch_first else x.transpose(0, 1)
    return (out, *(torch.cat(kept, 0) for kept in finals))
