"""`migrate export` and `migrate inspect` on real models, checked with the real ExecuTorch runtime.

Artifacts are built once per session (tiny models: lowering takes seconds).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from migrate.cli import main
from tests.conftest import EXPORT_STREAMING_STEP, FIXTURES, NEEDS_EXPORT, assert_refused_without_bubblewrap

torch = pytest.importorskip("torch", reason=NEEDS_EXPORT)
pytest.importorskip("executorch", reason=NEEDS_EXPORT)

MODELS = FIXTURES / "export_models"


def run_cli(*args: str, cwd: Path = MODELS) -> tuple[int, str, str]:
    previous = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    finally:
        os.chdir(previous)
    return result.exit_code, result.stdout, result.stderr


def load_program(path: Path):  # type: ignore[no-untyped-def]
    from executorch.runtime import Runtime

    return Runtime.get().load_program(path)


def eager(factory: str, *args: torch.Tensor, method: str = "forward") -> torch.Tensor:
    import importlib
    import sys

    sys.path.insert(0, str(MODELS))
    module = importlib.import_module("tiny_models")
    model = getattr(module, factory)()
    with torch.no_grad():
        out = getattr(model, method)(*args)
    return out


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("export")


@pytest.fixture(scope="session")
def conv_pte(artifacts: Path) -> Path:
    out = artifacts / "conv.pte"
    code, _, stderr = run_cli(
        "export",
        "tiny_models:make_conv",
        "--inputs",
        "tiny_models:conv_inputs",
        "-o",
        str(out),
        "--bundle",
        "--etrecord",
    )
    assert code == 0, stderr
    return out


def test_factory_export_runs_in_executorch_and_matches_eager(conv_pte: Path) -> None:
    x = torch.randn(1, 3, 16, 16, generator=torch.Generator().manual_seed(5))
    out = load_program(conv_pte).load_method("forward").execute([x])[0]
    assert torch.allclose(out, eager("make_conv", x), atol=1e-5)


def test_an_input_shapes_example_is_the_first_sample_validate_draws(conv_pte: Path) -> None:
    """`export --input-shape` and `validate` without --inputs draw seeded inputs one way, so the
    example a program was exported with is the first sample it is validated on."""
    from migrate.export import InputShape
    from migrate.export.inputs import factory_source
    from migrate.validate.pipeline import ValidateOptions, _inputs
    from validators.harness import Target

    sys.path.insert(0, str(MODELS))
    spec = InputShape("image", (1, 3, 16, 16), "float32")
    (_, example), *_ = factory_source("tiny_models:make_conv", None, [spec], ()).methods.values()
    options = ValidateOptions(candidates=(str(conv_pte),), samples=2)
    samples, _ = _inputs(options, [Target("ExecuTorch .pte", "executorch", str(conv_pte))])
    assert len(example) == 1 and len(samples) == 2
    assert example[0].dtype == torch.float32
    assert torch.equal(example[0], torch.from_numpy(samples[0][0]))


def test_manifest_is_read_from_the_program(conv_pte: Path) -> None:
    from executorch.exir._serialize._program import deserialize_pte_binary

    manifest = json.loads(conv_pte.with_name("conv.manifest.json").read_text())
    program = deserialize_pte_binary(conv_pte.read_bytes()).program
    plan = program.execution_plan[0]
    (method,) = manifest["methods"]
    assert method["name"] == plan.name == "forward"
    assert method["planned_arena_bytes"] == sum(list(plan.non_const_buffer_sizes)[1:]) > 0
    assert method["delegation"]["delegated_subgraphs"] == len(plan.delegates) >= 1
    assert method["backends"] == ["XnnpackBackend"]
    assert method["inputs"] == [{"name": "image", "shape": [1, 3, 16, 16], "dtype": "float32", "dynamic": {}}]
    assert method["outputs"][0]["shape"] == [1, 5]
    assert manifest["file_size"] == conv_pte.stat().st_size
    assert manifest["versions"]["executorch"] == "1.5.1"
    assert manifest["options"]["backend"] == "xnnpack"
    assert manifest["export_seconds"] > 0 and manifest["lowering_seconds"] > 0


def test_etrecord_and_bundle_are_written_and_readable(conv_pte: Path) -> None:
    from executorch.devtools.bundled_program.serialize import deserialize_from_flatbuffer_to_bundled_program

    bundle = deserialize_from_flatbuffer_to_bundled_program(conv_pte.with_suffix(".bpte").read_bytes())
    assert bundle.method_test_suites[0].method_name == "forward"
    assert conv_pte.with_suffix(".etrecord").stat().st_size > 0


def test_inspect_prints_the_same_facts(conv_pte: Path) -> None:
    code, stdout, _ = run_cli("inspect", str(conv_pte), "--format", "json")
    assert code == 0
    inspected = json.loads(stdout)
    exported = json.loads(conv_pte.with_name("conv.manifest.json").read_text())
    keys = ("name", "inputs", "outputs", "planned_arena_bytes", "backends")
    assert [{k: m[k] for k in keys} for m in inspected["methods"]] == [
        {k: m[k] for k in keys} for m in exported["methods"]
    ]


def test_multi_method_program(artifacts: Path) -> None:
    out = artifacts / "streaming.pte"
    code, _, stderr = run_cli(*EXPORT_STREAMING_STEP, "-o", str(out))
    assert code == 0, stderr
    program = load_program(out)
    assert set(program.method_names) == {"forward", "step"}
    frame, state = torch.randn(2, 16), torch.randn(2, 16)
    logits, new_state = program.load_method("step").execute([frame, state])
    expected_logits, expected_state = eager("make_streaming", frame, state, method="step")
    assert torch.allclose(logits, expected_logits, atol=1e-5) and torch.allclose(
        new_state, expected_state, atol=1e-5
    )


def test_dynamic_batch_with_a_size_one_example(artifacts: Path) -> None:
    out = artifacts / "dynamic.pte"
    code, stdout, stderr = run_cli(
        "export",
        "tiny_models:make_conv",
        "--input-shape",
        "image=1x3x16x16",
        "--dynamic",
        "image:0=1..8",
        "-o",
        str(out),
        "--format",
        "json",
    )
    assert code == 0, stderr
    manifest = json.loads(stdout)
    assert manifest["methods"][0]["inputs"][0]["dynamic"] == {"0": [1, 8]}
    assert any("size 1 on dynamic dim 0" in note for note in manifest["notes"])
    method = load_program(out).load_method("forward")
    for batch in (1, 3, 8):
        x = torch.randn(batch, 3, 16, 16)
        assert torch.allclose(method.execute([x])[0], eager("make_conv", x), atol=1e-5)


def test_int8_dynamic_quantization(artifacts: Path) -> None:
    out = artifacts / "streaming-int8.pte"
    code, _, stderr = run_cli(
        "export",
        "tiny_models:make_streaming",
        "--input-shape",
        "frames=2x10x16",
        "--quantize",
        "int8-dynamic",
        "-o",
        str(out),
    )
    assert code == 0, stderr
    x = torch.randn(2, 10, 16)
    out_q = load_program(out).load_method("forward").execute([x])[0]
    cosine = torch.nn.functional.cosine_similarity(
        out_q.flatten(), eager("make_streaming", x).flatten(), dim=0
    )
    assert cosine > 0.99


def test_static_quantization_refuses_random_calibration(artifacts: Path) -> None:
    code, _, stderr = run_cli(
        "export",
        "tiny_models:make_conv",
        "--input-shape",
        "image=1x3x16x16",
        "--quantize",
        "int8-static",
        "-o",
        str(artifacts / "x.pte"),
    )
    assert code == 2 and "--allow-random-calibration" in stderr
    assert not (artifacts / "x.pte").exists()


def test_legacy_traced_archive(artifacts: Path) -> None:
    archive = artifacts / "legacy.pt"
    x = torch.randn(1, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    torch.jit.save(torch.jit.trace(eager_model("make_conv"), (x,)), str(archive))
    out = artifacts / "legacy.pte"
    code, stdout, stderr = run_cli(
        "export", str(archive), "--input-shape", "x=1x3x16x16", "-o", str(out), "--format", "json"
    )
    assert code == 0, stderr
    assert any("TS2EPConverter" in note for note in json.loads(stdout)["notes"])
    y = torch.randn(1, 3, 16, 16)
    assert torch.allclose(
        load_program(out).load_method("forward").execute([y])[0], eager("make_conv", y), atol=1e-5
    )


def eager_model(factory: str) -> torch.nn.Module:
    import importlib
    import sys

    sys.path.insert(0, str(MODELS))
    return getattr(importlib.import_module("tiny_models"), factory)()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["no_such_module:make"], "cannot import no_such_module"),
        (["tiny_models:missing"], "tiny_models has no attribute 'missing'"),
        (["tiny_models:broken_factory"], "raised RuntimeError: weights file missing"),
        (["tiny_models:not_a_model"], "neither an nn.Module nor a function"),
        (["bare_models:make_linear"], "no example inputs"),
        (["tiny_models:make_conv", "--input-shape", "image=1x3"], "torch.export failed for forward"),
        (["tiny_models:make_data_dependent", "--input-shape", "x=4"], "tiny_models.py:37 `if x.sum() > 0:`"),
        (
            ["tiny_models:make_conv", "--input-shape", "image=1x3x16x16", "--dynamic", "image:0=8"],
            "expected NAME:DIM=MIN..MAX",
        ),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(args: list[str], message: str, tmp_path: Path) -> None:
    out = tmp_path / "bad.pte"
    code, _, stderr = run_cli("export", *args, "-o", str(out))
    assert code == 2
    lines = [line for line in stderr.splitlines() if not line.startswith("migrate: ") or "error" in line]
    assert len(lines) == 1 and lines[0].startswith("migrate: error:"), stderr
    assert message in lines[0]
    assert not out.exists() and not list(tmp_path.glob(".bad.pte.*"))


def test_bad_archives(artifacts: Path) -> None:
    garbage = artifacts / "garbage.pt"
    garbage.write_bytes(b"\x89PNG not torchscript at all" * 10)
    pickled = artifacts / "weights.pt"
    torch.save(eager_model("make_conv").state_dict(), pickled)
    for archive, message in [(garbage, "not a TorchScript archive"), (pickled, "a pickled checkpoint")]:
        code, _, stderr = run_cli(
            "export", str(archive), "--input-shape", "x=1x3x16x16", "-o", str(artifacts / "a.pte")
        )
        assert code == 2 and message in stderr, stderr


def hostile_archive(path: Path, target: Path) -> Path:
    """A scripted archive whose __setstate__ writes ``target`` while torch.jit.load reads it."""
    script = (
        "import sys; from hostile_models import write_hostile_archive; write_hostile_archive(*sys.argv[1:])"
    )
    subprocess.run(
        [sys.executable, "-c", script, str(path), str(target)],
        cwd=MODELS,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return path


def test_a_hostile_archive_is_loaded_in_a_sandbox(tmp_path: Path) -> None:
    target = tmp_path / "written-by-the-archive"
    archive = hostile_archive(tmp_path / "hostile.pt", target)
    out = tmp_path / "out" / "hostile.pte"
    code, stdout, stderr = run_cli(
        "export", str(archive), "--input-shape", "x=1x4", "-o", str(out), "--format", "json"
    )
    assert not target.exists()
    assert code == 0, stderr
    assert json.loads(stdout)["file_size"] == out.stat().st_size
    assert json.loads((tmp_path / "out" / "hostile.manifest.json").read_text())["output"] == "hostile.pte"
    x = torch.randn(1, 4)
    assert torch.allclose(load_program(out).load_method("forward").execute([x])[0], x @ torch.ones(4, 4))
    # the archive is as hostile as it says: loaded outside the sandbox, it writes the file
    subprocess.run(
        [sys.executable, "-c", "import sys, torch; torch.jit.load(sys.argv[1])", str(archive)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    assert target.exists()


def test_without_bubblewrap_an_archive_is_refused_with_the_way_out(tmp_path: Path) -> None:
    target = tmp_path / "written-by-the-archive"
    archive = hostile_archive(tmp_path / "hostile.pt", target)
    out = tmp_path / "hostile.pte"
    assert_refused_without_bubblewrap(
        tmp_path, archive, "export", str(archive), "--input-shape", "x=1x4", "-o", str(out)
    )
    assert not target.exists() and not out.exists()


def test_inspect_rejects_what_is_not_a_program(artifacts: Path) -> None:
    bad = artifacts / "bad-program.pte"
    bad.write_bytes(b"ET12" + b"\x00" * 64)
    code, _, stderr = run_cli("inspect", str(bad))
    assert code == 2 and stderr.startswith(f"migrate: error: {bad}: not a readable ExecuTorch program")


PREPACKED = """
import sys, torch, zipfile
plain = sys.argv[1] + ".plain"
torch.jit.save(torch.jit.trace(torch.nn.Sequential(torch.nn.Linear(4, 4)).eval(), (torch.randn(1, 4),)), plain)
with zipfile.ZipFile(plain) as original, zipfile.ZipFile(sys.argv[1], "w") as rewritten:
    for item in original.infolist():
        data = original.read(item.filename)
        if item.filename.endswith("modules/linear.py"):
            data = data.replace(
                b"torch.linear(input, weight, bias)",
                b"ops.prepacked.linear_clamp_run(input, ops.prepacked.linear_clamp_prepack(weight, bias, None, None))",
            )
        rewritten.writestr(item, data)
"""


def prepacked_archive(path: Path) -> Path:
    """A TorchScript archive whose code calls `prepacked::` XNNPACK ops, as archives written by
    optimize_for_mobile on torch <= 2.12 do (rewritten here, since 2.13 cannot make them; in a
    separate process, since a process that traced the module reuses its compiled code)."""
    import subprocess
    import sys

    subprocess.run([sys.executable, "-c", PREPACKED, str(path)], check=True, capture_output=True, timeout=300)
    return path


def test_archive_with_prepacked_ops_names_the_way_out(artifacts: Path) -> None:
    archive = prepacked_archive(artifacts / "mobile.ptl")
    code, _, stderr = run_cli(
        "export", str(archive), "--input-shape", "x=1x4", "-o", str(artifacts / "m.pte")
    )
    assert code == 2
    assert "prepacked:: XNNPACK ops from optimize_for_mobile" in stderr and "legacy interpreter" in stderr


def test_portable_backend_has_no_delegates(artifacts: Path) -> None:
    out = artifacts / "portable.pte"
    code, stdout, stderr = run_cli(
        "export",
        "tiny_models:make_conv",
        "--inputs",
        "tiny_models:conv_inputs",
        "--backend",
        "portable",
        "-o",
        str(out),
        "--format",
        "json",
    )
    assert code == 0, stderr
    method = json.loads(stdout)["methods"][0]
    assert method["delegation"]["delegated_subgraphs"] == 0 and method["backends"] == []
    assert dict(method["delegation"]["non_delegated_ops"])  # every op runs as a portable kernel
    x = torch.randn(1, 3, 16, 16)
    assert torch.allclose(
        load_program(out).load_method("forward").execute([x])[0], eager("make_conv", x), atol=1e-5
    )


def test_int8_static_quantization_with_calibration_data(artifacts: Path) -> None:
    import numpy as np

    calibration = artifacts / "calibration.npz"
    np.savez(
        calibration, image=np.random.default_rng(0).standard_normal((6, 1, 3, 16, 16)).astype(np.float32)
    )
    out = artifacts / "conv-int8.pte"
    code, _, stderr = run_cli(
        "export",
        "tiny_models:make_conv",
        "--inputs",
        "tiny_models:conv_inputs",
        "--quantize",
        "int8-static",
        "--calibration",
        str(calibration),
        "-o",
        str(out),
    )
    assert code == 0, stderr
    x = torch.randn(1, 3, 16, 16, generator=torch.Generator().manual_seed(3))
    quantized = load_program(out).load_method("forward").execute([x])[0]
    cosine = torch.nn.functional.cosine_similarity(
        quantized.flatten(), eager("make_conv", x).flatten(), dim=0
    )
    assert cosine > 0.98


@pytest.mark.parametrize("factory", ["make_recurrent", "make_bidirectional"])
def test_recurrent_layers_stay_inside_the_delegate(factory: str, artifacts: Path) -> None:
    """GRU and LSTM (two layers, bidirectional too) lower to XNNPACK without leaving the delegate
    at each step, and compute what eager computes."""
    out = artifacts / f"{factory}.pte"
    code, _, stderr = run_cli(
        "export", f"tiny_models:{factory}", "--input-shape", "frames=2x6x8", "-o", str(out)
    )
    assert code == 0, stderr
    x = torch.randn(2, 6, 8)
    got = load_program(out).load_method("forward").execute([x])[0]
    torch.testing.assert_close(got, eager(factory, x), atol=1e-5, rtol=0)
    manifest = json.loads(out.with_name(f"{factory}.manifest.json").read_text())
    delegation = manifest["methods"][0]["delegation"]
    assert delegation["delegated_subgraphs"] == 1
    assert not {"aten::split_with_sizes_copy", "aten::squeeze_copy"} & set(delegation["non_delegated_ops"])
    # the first states are zeros: folded into the first step, not a kernel before the delegate
    assert delegation["non_delegated_ops"] == {}
    assert any(note.startswith("GRU and LSTM lowered step by step") for note in manifest["notes"])


class _Sequence(torch.nn.Module):
    """One recurrent layer with a given first state, read as the model reads it."""

    def __init__(self, layer: torch.nn.Module, read: str) -> None:
        super().__init__()
        self.layer, self.read = layer, read

    def forward(self, x: torch.Tensor, state: Any) -> Any:
        out, final = self.layer(x, state)
        last = out[:, -1] if self.layer.batch_first else out[-1]
        return last * 2 if self.read == "last" else (out, final, last)


@pytest.mark.parametrize(
    "kind, batch_first, bidirectional, read",
    [
        ("gru", True, False, "last"),
        ("gru", False, True, "all"),
        ("lstm", True, True, "last"),
        ("lstm", False, False, "all"),
    ],
)
def test_recurrent_decompositions_compute_what_torch_computes(
    kind: str, batch_first: bool, bidirectional: bool, read: str
) -> None:
    """Two layers, either direction, a given first state, either layout; the last step used or
    returned beside the whole sequence: the decomposed program equals the layer."""
    from migrate.export.recurrent import lower_recurrent

    torch.manual_seed(3)
    layer_type = torch.nn.GRU if kind == "gru" else torch.nn.LSTM
    layer = layer_type(5, 7, num_layers=2, batch_first=batch_first, bidirectional=bidirectional)
    model = _Sequence(layer, read).eval()
    x = torch.randn(3, 4, 5)
    h = torch.randn(2 * (2 if bidirectional else 1), 3 if batch_first else 4, 7)
    state = h if kind == "gru" else (h, torch.randn_like(h))
    program = torch.export.export(model, (x, state))
    lowered, notes = lower_recurrent(program)
    assert notes and notes[0].startswith(kind.upper())
    targets = {n.target for n in lowered.graph.nodes}
    assert not {torch.ops.aten.gru.input, torch.ops.aten.lstm.input} & targets
    if read == "last" and batch_first and not bidirectional:  # the last step is read, not cut out
        assert torch.ops.aten.select.int not in targets
    torch.testing.assert_close(lowered.module()(x, state), model(x, state), atol=1e-6, rtol=0)


class _Views(torch.nn.Module):
    def forward(self, x: torch.Tensor, h: torch.Tensor) -> Any:
        a = x[0].unsqueeze(0) * 2  # select on a dimension of one, unsqueeze
        b = x[:, 2] + h.squeeze(1)  # select on a longer one, squeeze
        return a.sum() + b, h[:, 0]  # the second output is a select itself


def test_views_become_reshapes_and_slices_xnnpack_takes(artifacts: Path) -> None:
    """select / squeeze / unsqueeze with static shapes become view_copy (and slice_copy), the
    program computes the same, and no view is left for a portable kernel; a select that is an
    output stays (the signature names it)."""
    from migrate.export.xnnpack_views import views_for_xnnpack

    x, h = torch.randn(1, 4, 6), torch.randn(1, 1, 6)
    program = torch.export.export(_Views(), (x, h))
    expected = _Views()(x, h)
    lowered, notes = views_for_xnnpack(program)
    assert notes == [
        "4 select / squeeze / unsqueeze view(s) rewritten as the reshapes and slices XNNPACK takes"
    ]
    torch.testing.assert_close(lowered.module()(x, h), expected, atol=0, rtol=0)
    targets = [n.target for n in lowered.graph.nodes]
    assert targets.count(torch.ops.aten.select.int) == 1  # the output
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower

    edge = to_edge_transform_and_lower(lowered, partitioner=[XnnpackPartitioner()])
    outside = {str(n.target) for n in edge.exported_program().graph.nodes if n.op == "call_function"}
    assert not any(view in text for text in outside for view in ("squeeze_copy", "unsqueeze_copy"))
    path = artifacts / "views.pte"
    path.write_bytes(edge.to_executorch().buffer)
    got = load_program(path).load_method("forward").execute([x, h])
    torch.testing.assert_close(list(got), list(expected), atol=1e-6, rtol=0)


class _DataIndex(torch.nn.Module):
    def forward(self, x: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
        n = i.item()
        torch._check(n >= 0)
        torch._check(n < x.shape[1])
        return x[:, n] * 2


def test_a_select_at_an_index_computed_from_data_is_left_alone() -> None:
    from migrate.export.xnnpack_views import views_for_xnnpack

    x = torch.randn(2, 4, 3)
    lowered, notes = views_for_xnnpack(torch.export.export(_DataIndex(), (x, torch.tensor(1))))
    assert notes == []
    torch.testing.assert_close(lowered.module()(x, torch.tensor(2)), x[:, 2] * 2)


def test_recurrent_layers_it_does_not_cover_keep_the_default_lowering() -> None:
    """An LSTM with a projection is left to ExecuTorch's own decomposition, unchanged."""
    from migrate.export.recurrent import lower_recurrent

    model = torch.nn.LSTM(4, 6, proj_size=3, batch_first=True).eval()
    program = torch.export.export(model, (torch.randn(1, 5, 4),))
    lowered, notes = lower_recurrent(program)
    assert lowered is program and notes == []


def test_optimize_tries_each_lowering_and_keeps_one_that_matches(artifacts: Path) -> None:
    out = artifacts / "conv-optimized.pte"
    code, stdout, stderr = run_cli(
        "export", "tiny_models:make_conv", "--inputs", "tiny_models:conv_inputs", "--optimize", "-o", str(out)
    )
    assert code == 0, stderr
    manifest = json.loads(out.with_name("conv-optimized.manifest.json").read_text())
    tried = manifest["optimize"]["candidates"]
    assert [t["lowering"] for t in tried] == [
        "xnnpack",
        "xnnpack (ExecuTorch's own recurrent lowering)",
        "portable",
    ]
    assert all(t["p50_ms"] > 0 and t["max_abs_error"] <= manifest["optimize"]["error_bound"] for t in tried)
    (chosen,) = [t for t in tried if t["chosen"]]
    assert f"--optimize: {chosen['lowering']}" in stdout
    calls = manifest["methods"][0]["delegation"]["delegated_subgraphs"]
    assert (calls == 0) == (chosen["lowering"] == "portable"), "the .pte written is the lowering chosen"
    image = torch.randn(1, 3, 16, 16)
    got = load_program(out).load_method("forward").execute([image])[0]
    torch.testing.assert_close(got, eager("make_conv", image), atol=1e-5, rtol=0)


class _Encoder(torch.nn.Module):
    """Layer norms, attention and a mean over a prefix whose length is read from data."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(5)
        self.layer = torch.nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, batch_first=True)
        self.norm = torch.nn.LayerNorm(16, elementwise_affine=False, eps=1e-3)

    def forward(self, x: torch.Tensor, length: torch.Tensor) -> Any:
        h = self.norm(self.layer(x))
        n = length.max().item()
        torch._check(n >= 1)
        torch._check(n <= h.shape[1])
        kept = h[:, :n]
        return kept.mean(1), kept.mean(dim=1, keepdim=True) * 2


@pytest.mark.parametrize("batch", [1, 3])
def test_layer_norm_attention_and_prefix_means_become_ops_xnnpack_takes(batch: int) -> None:
    """Each rewrite keeps the outputs within 1e-6, for prefix lengths other than the example's,
    and leaves none of the ops it replaces."""
    from migrate.export.xnnpack_decompositions import decompose_for_xnnpack

    model = _Encoder().eval()
    x = torch.randn(batch, 8, 16)
    program = torch.export.export(model, (x, torch.tensor([5])))
    lowered, notes = decompose_for_xnnpack(program)
    assert notes == [
        "3 layer norm(s) and 1 attention(s) computed with ops XNNPACK takes (linear, bmm, softmax, rsqrt)",
        "2 mean(s) over a prefix sized by data computed as a product with weights from that size",
    ]
    aten = torch.ops.aten
    left = {n.target for n in lowered.graph.nodes}
    assert not {aten.layer_norm.default, aten.scaled_dot_product_attention.default, aten.mean.dim} & left
    for length in (5, 1, 8, 3):
        with torch.no_grad():
            expected = model(x, torch.tensor([length]))
            got = lowered.module()(x, torch.tensor([length]))
        torch.testing.assert_close(got, expected, atol=1e-6, rtol=0)


def test_the_text_encoder_lowers_to_one_delegate_call(tmp_path: Path) -> None:
    """The sample text encoder, migrated as `migrate apply` writes it, is one XNNPACK call with
    only what depends on data outside (the token lookup, the length's clamp / max / read, the
    prefix's size as a float) and matches eager at 1e-6 for every length."""
    import importlib
    import shutil
    import sys

    sample = tmp_path / "text_encoder"
    shutil.copytree(FIXTURES.parent.parent / "samples" / "text_encoder", sample)
    run_cli("apply", ".", "--fix", "--unsafe-fixes", cwd=sample)
    assert "torch.cond" not in (sample / "model.py").read_text()
    out = sample / "text_encoder.pte"
    code, _, stderr = run_cli("export", "model:make_model", "-o", str(out), cwd=sample)
    assert code == 0, stderr
    manifest = json.loads(out.with_name("text_encoder.manifest.json").read_text())
    delegation = manifest["methods"][0]["delegation"]
    assert delegation["delegated_subgraphs"] == 1
    assert set(delegation["non_delegated_ops"]) <= {
        "aten::embedding",
        "aten::clamp",
        "aten::max",
        "aten::_local_scalar_dense",
        "dim_order_ops::_to_dim_order_copy",
    }
    sys.path.insert(0, str(sample))
    try:
        sys.modules.pop("model", None)
        model = importlib.import_module("model").make_model()
    finally:
        sys.path.remove(str(sample))
        sys.modules.pop("model", None)
    method = load_program(out).load_method("forward")
    tokens = torch.randint(0, 1000, (1, 32), generator=torch.Generator().manual_seed(2))
    for length in (24, 0, 1, 32, 7):
        with torch.no_grad():
            expected = model(tokens, torch.tensor([length]))
        got = method.execute([tokens, torch.tensor([length])])
        torch.testing.assert_close(list(got), list(expected), atol=1e-6, rtol=0)


def test_a_prefix_mean_sized_by_data_converts_to_tflite(tmp_path: Path) -> None:
    """litert-torch cannot trace `.item()` into a size; the baseline is converted from the
    program with the prefix mean as weights, and TFLite computes what eager computes for every
    length."""
    import litert_torch
    from ai_edge_litert.interpreter import Interpreter

    from migrate.export.xnnpack_decompositions import for_litert

    model = _Encoder().eval()
    x = torch.randn(1, 8, 16)
    args = (x, torch.tensor([5]))
    path = tmp_path / "encoder.tflite"
    litert_torch.convert(for_litert(model, args), args).export(str(path))
    interpreter = Interpreter(model_path=str(path), num_threads=1)
    interpreter.allocate_tensors()
    inputs, outputs = interpreter.get_input_details(), interpreter.get_output_details()
    for length in (5, 1, 8):
        for detail, value in zip(inputs, (x, torch.tensor([length])), strict=True):
            interpreter.set_tensor(detail["index"], value.numpy().astype(detail["dtype"]))
        interpreter.invoke()
        with torch.no_grad():
            expected = model(x, torch.tensor([length]))
        got = [torch.from_numpy(interpreter.get_tensor(o["index"])) for o in outputs]
        torch.testing.assert_close(
            sorted(got, key=lambda t: t.dim()), sorted(expected, key=lambda t: t.dim()), atol=1e-6, rtol=0
        )


class _Copies(torch.nn.Module):
    """Views of views, a permute that only moves a dimension of one, a permute undone by another,
    `.contiguous()` after a copy; the last output is itself a view and must stay one."""

    def forward(self, x: torch.Tensor) -> Any:
        a = x.reshape(2, 3, 4).reshape(6, 4).reshape(1, 24)  # (1, 24)
        b = x.unsqueeze(0).permute(1, 0, 2).contiguous()  # (2, 1, 12): the 1 moves
        c = x.reshape(2, 3, 4).permute(2, 0, 1).permute(1, 2, 0).contiguous() * 2  # back to (2, 3, 4)
        return a + 1, b * 3, c, x.reshape(24)


def test_copies_that_move_no_data_are_dropped_from_the_edge_program() -> None:
    from executorch.exir import to_edge_transform_and_lower

    from migrate.export.edge_copies import drop_data_free_copies

    x = torch.randn(2, 12)
    program = torch.export.export(_Copies(), (x,))

    def copies(edge: Any) -> int:
        names = ("view_copy", "permute_copy", "clone", "expand_copy")
        return sum(any(name in str(n.target) for name in names) for n in edge.exported_program().graph.nodes)

    plain = to_edge_transform_and_lower(program)
    simplified = to_edge_transform_and_lower(program, transform_passes=[drop_data_free_copies])
    # what is left is one view each for a, b, c (to (2, 3, 4)) and the output view
    assert copies(simplified) == 4 < copies(plain)
    expected = _Copies()(x)
    got = simplified.exported_program().module()(x)
    torch.testing.assert_close(got, expected, atol=0, rtol=0)
    outputs = next(n for n in simplified.exported_program().graph.nodes if n.op == "output").args[0]
    assert "view_copy" in str(outputs[-1].target)  # an output view stays a node of its own


class _MaskedAttention(torch.nn.Module):
    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor) -> Any:
        float_mask = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        bool_mask = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask > 0)
        return float_mask, bool_mask


def test_attention_with_an_additive_mask_is_decomposed_and_a_boolean_one_left_to_torch() -> None:
    """A float mask is added to the scores as torch adds it; a boolean mask keeps torch's own
    lowering, whose all-masked rows give zeros where a plain softmax would give NaN."""
    from migrate.export.xnnpack_decompositions import decompose_for_xnnpack

    torch.manual_seed(4)
    q, k, v = torch.randn(2, 3, 5, 8), torch.randn(2, 3, 7, 8), torch.randn(2, 3, 7, 4)
    mask = torch.randn(2, 1, 1, 7)
    lowered, notes = decompose_for_xnnpack(torch.export.export(_MaskedAttention(), (q, k, v, mask)))
    assert notes == ["1 attention(s) computed with ops XNNPACK takes (linear, bmm, softmax, rsqrt)"]
    other = torch.randn(2, 1, 1, 7)
    torch.testing.assert_close(
        lowered.module()(q, k, v, other), _MaskedAttention()(q, k, v, other), atol=1e-6, rtol=0
    )


class _ReshapedLinear(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(6)
        self.proj = torch.nn.Linear(12, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x.reshape(2, 1, 12)).reshape(1, 2, 5) * 2


def test_a_reshape_before_a_linear_moves_after_it_and_merges(tmp_path: Path) -> None:
    """A reshape that keeps the last dimension commutes with a linear (which XNNPACK's
    partitioner keeps whole): moved after it, it merges with the reshape that follows, one node
    instead of two in the delegate, same values."""
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower

    from migrate.export.edge_copies import drop_data_free_copies

    model, x = _ReshapedLinear().eval(), torch.randn(2, 12)
    edge = to_edge_transform_and_lower(
        torch.export.export(model, (x,)),
        transform_passes=[drop_data_free_copies],
        partitioner=[XnnpackPartitioner()],
    )
    lowered = edge.exported_program().graph_module.lowered_module_0.original_module
    assert sum("view_copy" in str(n.target) for n in lowered.graph.nodes) == 1
    path = tmp_path / "linear.pte"
    path.write_bytes(edge.to_executorch().buffer)
    got = load_program(path).load_method("forward").execute([x])[0]
    torch.testing.assert_close(got, model(x), atol=1e-6, rtol=0)
