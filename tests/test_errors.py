"""One clear line, exit 2: for a missing optional runtime, and for artifacts, inputs and reports
that are not what they should be (never an internal error, a hang or a wrong verdict)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from migrate.errors import MissingExtraError, require
from tests.conftest import FIXTURES, needs_export, run_migrate, validate_conv_args


def test_missing_module_names_the_extra() -> None:
    with pytest.raises(MissingExtraError) as caught:
        require("no_such_runtime_module", "tflite")
    message = str(caught.value)
    assert "\n" not in message
    assert message == (
        "this needs `no_such_runtime_module`, which is not installed: pip install 'executorch-migrate[tflite]'"
    )


def test_installed_module_passes() -> None:
    require("libcst", "export")


# --- bad artifacts, inputs and reports: one line with the path, exit 2, never an internal error ---

MODELS = FIXTURES / "export_models"


def run(*args: str, cwd: Path = MODELS, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """`migrate ...` in its own process, so a hang is a timeout here and not a stuck suite."""
    return run_migrate(*args, cwd=cwd, timeout=timeout)


def one_error_line(stderr: str) -> str:
    errors = [line for line in stderr.splitlines() if not line.endswith(" ...")]
    assert len(errors) == 1 and errors[0].startswith("migrate: error: "), stderr
    return errors[0]


def special_files(folder: Path) -> dict[str, Path]:
    fifo = folder / "fifo"
    os.mkfifo(fifo)
    zero = folder / "zero"
    zero.symlink_to("/dev/zero")
    return {"fifo": fifo, "zero": zero}


@needs_export
@pytest.mark.parametrize("kind", ["fifo", "zero"])
def test_only_regular_files_are_read_as_artifacts(kind: str, tmp_path: Path) -> None:
    """A FIFO blocks its reader forever and /dev/zero never ends (st_size 0): refused at once."""
    special = special_files(tmp_path)[kind]
    named = {suffix: tmp_path / f"{kind}{suffix}" for suffix in (".pte", ".pt", ".npz")}
    for path in named.values():
        path.symlink_to(special)
    garbage = tmp_path / "garbage.pte"
    garbage.write_bytes(b"not a program")
    for args in (
        ["inspect", str(named[".pte"])],
        ["export", str(named[".pt"]), "--input-shape", "x=1x4", "-o", str(tmp_path / "o.pte")],
        ["validate", "--model", "tiny_models:make_conv", "--candidate", str(named[".pte"]), "--no-tflite"],
        validate_conv_args(garbage, "--inputs", str(named[".npz"])),
        ["export", "tiny_models:make_conv", "--inputs", str(named[".npz"]), "-o", str(tmp_path / "o.pte")],
    ):
        done = run(*args, timeout=120)
        assert done.returncode == 2, (args, done.stderr)
        assert "not a regular file" in one_error_line(done.stderr), args


def _npz(path: Path, **arrays: np.ndarray) -> Path:
    np.savez(path, **arrays)  # type: ignore[arg-type]
    return path


@needs_export
def test_validate_inputs_that_are_not_samples_are_one_line(tmp_path: Path) -> None:
    import torch

    garbage = tmp_path / "garbage.pte"
    garbage.write_bytes(b"not a program")
    tensors_file = tmp_path / "not-arrays.npz"
    torch.save({"a": "text", "b": 3}, tensors_file)  # a zip whose members np.load hands back as bytes
    cases = {
        _npz(tmp_path / "empty.npz"): "found 0 array(s)",
        _npz(tmp_path / "ragged.npz", a=np.zeros((3, 4)), b=np.zeros((2, 4))): "(3, 4), (2, 4)",
        _npz(tmp_path / "scalar.npz", a=np.float32(1)): "found 1 array(s) with ()",
        _npz(tmp_path / "no-samples.npz", a=np.zeros((0, 4))): "(0, 4)",
        tensors_file: "is not an array saved by numpy",
    }
    for inputs, message in cases.items():
        done = run(*validate_conv_args(garbage, "--inputs", str(inputs)))
        assert done.returncode == 2, done.stderr
        line = one_error_line(done.stderr)
        assert line.startswith(f"migrate: error: {inputs}: ") and message in line, line


@needs_export
def test_export_inputs_that_are_not_examples_are_one_line(tmp_path: Path) -> None:
    empty = _npz(tmp_path / "empty.npz")
    done = run("export", "tiny_models:make_conv", "--inputs", str(empty), "-o", str(tmp_path / "o.pte"))
    assert done.returncode == 2
    assert one_error_line(done.stderr) == f"migrate: error: {empty}: holds no arrays"


@needs_export
def test_an_unwritable_output_is_refused_before_the_export(cli) -> None:  # type: ignore[no-untyped-def]
    done = cli(
        "export",
        "tiny_models:make_conv",
        "--inputs",
        "tiny_models:conv_inputs",
        "-o",
        "/proc/nope/x.pte",
        cwd=MODELS,
    )
    assert done.exit_code == 2
    assert done.stderr.splitlines() == [
        "migrate: error: /proc/nope/x.pte: cannot write there: No such file or directory"
    ]


@needs_export
def test_an_export_failure_is_one_line_without_torch_graph_dumps(tmp_path: Path) -> None:
    """torch.export prints the failed trace's partial FX graph to sys.stderr (23 lines here)."""
    done = run(
        "export", "tiny_models:make_data_dependent", "--input-shape", "x=4", "-o", str(tmp_path / "o.pte")
    )
    assert done.returncode == 2
    assert all(line.startswith("migrate: ") for line in done.stderr.splitlines()), done.stderr
    assert "torch.export failed for forward" in one_error_line(done.stderr)


VALIDATION = {
    "version": 1,
    "reference": "eager",
    "passed": True,
    "runtimes": [{"label": "eager", "kind": "eager", "artifact": "m:f"}],
    "comparisons": [
        {
            "label": "ExecuTorch .pte",
            "outputs": [
                {
                    "name": "output_0",
                    "max_abs_error": 0.0,
                    "mean_abs_error": 0.0,
                    "max_rel_error": 0.0,
                    "cosine": 1.0,
                }
            ],
        }
    ],
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"passed": "no"}, "passed: expected bool, got str 'no'"),  # read as a pass before
        ({"reference": 5}, "reference: expected str, got int 5"),
        ({"runtimes": [{"label": 5, "kind": "eager", "artifact": "m:f"}]}, "runtimes[0].label: expected str"),
        (
            {"runtimes": [{"label": "e", "kind": "eager", "artifact": "m:f", "size_bytes": "big"}]},
            "size_bytes",
        ),
        ({"reasons": [1]}, "reasons[0]: expected str, got int 1"),
        ({"structured_notes": [{"kind": "nope"}]}, "unknown kind of validation remark 'nope'"),
        ({"structured_reasons": [{"kind": "did_not_run", "runtime": 5, "error": "e"}]}, "reasons[0].runtime"),
        (
            {
                "comparisons": [
                    {
                        "label": "c",
                        "outputs": [{**VALIDATION["comparisons"][0]["outputs"][0], "cosine": None}],
                    }
                ]
            },
            "cosine: expected float",
        ),  # type: ignore[index]
    ],
)
def test_a_report_of_wrong_types_is_one_line(change: dict, message: str, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    report = tmp_path / "validation.json"
    report.write_text(json.dumps({**VALIDATION, **change}))
    done = cli("report", str(report))
    assert done.exit_code == 2
    (line,) = done.stderr.splitlines()
    assert (
        line.startswith(f"migrate: error: {report}: a report this version cannot read: ") and message in line
    )


def test_declared_inputs_too_large_or_negative_are_not_synthesised() -> None:
    """Shapes come from the artifact; a hostile one can declare 2**31 x 2**31 floats."""
    from migrate.validate.pipeline import _plausible
    from validators.model import TensorSpec

    assert _plausible([TensorSpec("x", (1, 3, 224, 224), "float32")])
    assert not _plausible([TensorSpec("x", (1, 3, 2**31 - 1, 2**31 - 1), "float32")])
    assert not _plausible([TensorSpec("x", (1, -5), "float32")])
    assert not _plausible([TensorSpec("x", (1, 4), "no-such-dtype")])


def test_a_report_that_is_not_a_regular_file_or_too_deep_is_one_line(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "zero.json").symlink_to("/dev/zero")
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    for name, message in (("zero.json", "not a regular file"), ("deep.json", "not a readable JSON report")):
        done = cli("report", str(tmp_path / name))
        assert done.exit_code == 2
        (line,) = done.stderr.splitlines()
        assert line.startswith(f"migrate: error: {tmp_path / name}: {message}")
