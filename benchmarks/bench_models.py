"""`make bench`: how fast the sample models' `.pte` files are next to their TFLite conversions.

Per sample model (migrated and exported by `make demo`, whose artifacts are cached): delegate
calls and kernels left outside the delegate (from the manifest), then p50 latency and peak
memory of eager, `.pte` and `.tflite` at 1 thread, measured in alternation in one
`migrate validate` run, and the `.pte` / `.tflite` ratio against its target (issue 17, below);
this benchmark reports, it does not assert.

Where the runtime is the bound: each `.pte` is profiled (`--profile-ops`, ETDump) for the number
of operators its XNNPACK delegate runs and the time a delegate call takes beyond them; the
"runtime bound" is that node count times ExecuTorch's per-node cost plus its per-call cost,
both measured here by the op chains below: what the runtime spends however fast the kernels.

The same run adds the native `.pte` (ExecuTorch's C++ runtime) and native `.tflite` (LiteRT's C
API) at 1 thread (`--target native`: no Python binding in the timed call), and their ratio.

Then what each runtime costs per operator, which bounds the ratio of models made of many
small operators (an unrolled GRU): chains of 20 and 200 small elementwise ops, lowered to
XNNPACK and converted with litert-torch, timed in the same harness; the slope is the cost of
one more op, the intercept the cost of a call.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# issue 17: the .pte's p50 at most this times its TFLite conversion's
TARGETS = {"image_classifier": 1.05, "legacy_quantized": 1.05, "text_encoder": 1.1, "speech_commands": 1.5}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--demo", type=Path, default=ROOT / "demo-out")
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--output", type=Path, default=ROOT / "bench-out" / "models.json")
    args = parser.parse_args()
    if not (args.demo / "report.json").is_file():
        subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "demo.py"), "samples", str(args.demo)],
            cwd=ROOT,
            check=True,
        )
    rows = []
    for sample in json.loads((args.demo / "report.json").read_text(encoding="utf-8"))["samples"]:
        files = sample["files"]
        if "pte" not in files:
            if sample["problems"]:  # app samples have no model: nothing to measure
                rows.append({"model": sample["name"], "error": "no .pte (see the demo report)"})
            continue
        report_path = args.demo / sample["name"] / "bench.json"
        command = [
            sys.executable, "-m", "migrate", "validate", "--model", "model:make_model",
            "--candidate", str(Path(files["pte"]).resolve()), "--threads", "1", "--runs", str(args.runs),
            "--artifacts", str(ROOT / ".migrate_cache" / "demo" / "baselines"), "--atol", "1",
            "--report-json", str(report_path.resolve()), "--target", "host", "--target", "native",
            "--profile-ops",
        ]  # fmt: skip
        print(f"{sample['name']}: measuring eager, .pte and .tflite ({args.runs} runs each) ...", flush=True)
        subprocess.run(command, cwd=args.demo / sample["name"] / "project", capture_output=True, check=False)
        report = json.loads(report_path.read_text(encoding="utf-8"))
        manifest = json.loads(Path(files["manifest"]).read_text(encoding="utf-8"))
        forward = manifest["methods"][0]
        by_kind = {r["kind"]: r for r in report["runtimes"] if r.get("target", "host") == "host"}
        native = {r["kind"]: r for r in report["runtimes"] if r.get("target") == "native"}
        pte, tflite = _p50(by_kind, "executorch"), _p50(by_kind, "tflite")
        native_pte, native_tflite = _p50(native, "executorch"), _p50(native, "tflite")
        profiled = next((p for p in report.get("profiles", ()) if p["kind"] == "executorch"), {})
        listed = next((p for p in report.get("profiles", ()) if p["kind"] == "tflite"), {})
        overhead_share = sum(
            o["share"] or 0
            for o in profiled.get("operators", ())
            if o["name"].startswith("XNNPACK delegate call")
        )
        rows.append(
            {
                "model": sample["name"],
                "quantize": manifest["options"]["quantize"],
                "delegate_calls": forward["delegation"]["delegated_subgraphs"],
                "non_delegated_ops": dict(forward["delegation"]["non_delegated_ops"]),
                "eager_p50_ms": _p50(by_kind, "eager"),
                "pte_p50_ms": pte,
                "tflite_p50_ms": tflite,
                "pte_over_tflite": None if pte is None or tflite is None else pte / tflite,
                "pte_peak_mib": _mib(by_kind.get("executorch", {}).get("peak_memory_bytes")),
                "tflite_peak_mib": _mib(by_kind.get("tflite", {}).get("peak_memory_bytes")),
                "tflite_error": by_kind.get("tflite", {}).get("error"),
                "native_pte_p50_ms": native_pte,
                "native_tflite_p50_ms": native_tflite,
                "native_pte_over_tflite": None
                if native_pte is None or native_tflite is None
                else native_pte / native_tflite,
                "native_errors": {k: r["error"] for k, r in native.items() if r.get("error")},
                "target_ratio": TARGETS.get(sample["name"]),
                "xnnpack_nodes": profiled.get("delegated_nodes"),
                "tflite_ops": listed.get("delegated_nodes"),
                "delegate_overhead_share": overhead_share if profiled else None,
            }
        )
    print("per-operator cost: chains of 20 and 200 elementwise ops ...", flush=True)
    try:
        overhead = _per_op_cost(args.runs)
    except Exception as exc:  # the model rows are measured already: keep them
        print(f"per-operator cost not measured: {type(exc).__name__}: {exc}", flush=True)
        overhead = {}
    for row in rows:
        row["runtime_bound_ms"] = _runtime_bound(row, overhead.get("executorch"))
        row["runtime_part_of_gap_ms"] = _runtime_part(row, overhead)
        judged = _judged_ratio(row) if "error" not in row else None
        row["target_met"] = (
            None if row.get("target_ratio") is None or judged is None else judged <= row["target_ratio"]
        )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    result = {"runs": args.runs, "threads": 1, "models": rows, "per_op_cost": overhead}
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"\n{'model':<18}{'delegates':>10}{'outside':>9}{'nodes':>7}{'.pte p50':>11}{'.tflite p50':>13}"
        f"{'ratio':>8}{'target':>8}  {'runtime bound':>14}{'outside ops':>13}{'gap':>10}{'runtime part':>14}"
        f"{'native .pte':>13}{'native .tflite':>16}{'ratio':>8}"
    )
    for row in rows:
        if "error" in row:
            print(f"{row['model']:<18}{row['error']}")
            continue
        outside = sum(row["non_delegated_ops"].values())
        ratio = "-" if row["pte_over_tflite"] is None else f"{row['pte_over_tflite']:.2f}x"
        native_ratio = (
            "-" if row["native_pte_over_tflite"] is None else f"{row['native_pte_over_tflite']:.2f}x"
        )
        target = row["target_ratio"]
        judged = _judged_ratio(row)
        met = "" if target is None or judged is None else (" ok" if judged <= target else " no")
        print(
            f"{row['model']:<18}{row['delegate_calls']:>10}{outside:>9}{row['xnnpack_nodes'] or '-':>7}"
            f"{_ms(row['pte_p50_ms']):>11}{_ms(row['tflite_p50_ms']):>13}{ratio:>8}"
            f"{'-' if target is None else f'{target:.2f}x':>6}{met:<3}{_ms(row['runtime_bound_ms']):>14}"
            f"{_share(row['delegate_overhead_share']):>13}{_ms(_gap(row)):>10}{_ms(row['runtime_part_of_gap_ms']):>14}"
            f"{_ms(row['native_pte_p50_ms']):>13}{_ms(row['native_tflite_p50_ms']):>16}{native_ratio:>8}"
        )
    for kind, cost in overhead.items():
        print(f"{kind:<11} {cost['per_op_us']:.3f} us per op, {cost['per_call_us']:.1f} us per call")
    print(
        "runtime bound: XNNPACK nodes x ExecuTorch's per-op cost + delegate calls x its per-call cost;"
        " outside ops: the share of a profiled run (ETDump) the delegate calls took beyond their timed\n"
        "operators (XNNPACK times them in whole microseconds: smaller ones count here; the profiled run\n"
        "is slower than the timed one, so read it as a share); gap: .pte p50 - .tflite p50; runtime part:\n"
        "the .pte's runtime bound minus the same for the .tflite (its operator count x LiteRT's per-op cost\n"
        "+ its per-call cost), the part of the gap the two runtimes' per-node and per-call costs explain.\n"
        "Ratios from one run on a shared host: a run in a quiet moment is the one to quote.\n"
        "target: ok/no judges the native ratio (ExecuTorch's and LiteRT's C++ runtimes, as an app"
        " links them), or the Python one where the native runners did not run."
    )
    print(f"\nwritten to {args.output}")
    return 0


def _judged_ratio(row: dict) -> float | None:
    """The ratio a target is judged on: native timings where the native runners ran (issue 17:
    "native timings from the `--target native` runners once they exist"), else the Python ones."""
    if row["native_pte_over_tflite"] is not None:
        return row["native_pte_over_tflite"]
    return row["pte_over_tflite"]


def _chain(length: int):  # type: ignore[no-untyped-def]
    """``length`` steps of small elementwise ops on a (1, 48) tensor: ``x + 0.5`` and
    ``sigmoid(x) * x`` in turn, so ``length * 3 // 2`` ops."""
    import torch

    class Chain(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            for i in range(length):
                x = torch.sigmoid(x) * x if i % 2 else x + 0.5
            return x

    return Chain().eval()


def _per_op_cost(runs: int) -> dict[str, dict[str, float]]:
    import tempfile

    import litert_torch
    import numpy as np
    import torch
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower

    from validators.harness import HarnessOptions, Target, measure

    x = torch.randn(1, 48)
    lengths = (20, 200)
    with tempfile.TemporaryDirectory(prefix="bench-chain-") as scratch:
        targets = []
        for length in lengths:
            model = _chain(length)
            lowered = to_edge_transform_and_lower(
                torch.export.export(model, (x,)), partitioner=[XnnpackPartitioner()]
            )
            pte = Path(scratch) / f"chain{length}.pte"
            pte.write_bytes(lowered.to_executorch().buffer)
            tflite = Path(scratch) / f"chain{length}.tflite"
            litert_torch.convert(model, (x,)).export(str(tflite))
            targets += [
                Target(f"executorch-{length}", "executorch", str(pte)),
                Target(f"tflite-{length}", "tflite", str(tflite)),
            ]
        measured = measure(targets, [[x.numpy()]], HarnessOptions(threads=1, runs=runs, rounds=5))
    p50 = {r.label: r.latency.p50 * 1e6 for r in measured.results if r.latency is not None}
    ops = [n * 3 // 2 for n in lengths]
    cost = {}
    for kind in ("executorch", "tflite"):
        short, long = (p50.get(f"{kind}-{n}", np.nan) for n in lengths)
        slope = (long - short) / (ops[1] - ops[0])
        if np.isfinite(slope):  # both chains ran
            cost[kind] = {"per_op_us": slope, "per_call_us": short - slope * ops[0]}
    return cost


def _runtime_bound(row: dict, cost: dict[str, float] | None) -> float | None:
    """What ExecuTorch spends on this .pte's delegate nodes and calls alone, in ms."""
    if "error" in row or cost is None or row.get("xnnpack_nodes") is None:
        return None
    return (row["xnnpack_nodes"] * cost["per_op_us"] + row["delegate_calls"] * cost["per_call_us"]) / 1000


def _gap(row: dict) -> float | None:
    if row.get("pte_p50_ms") is None or row.get("tflite_p50_ms") is None:
        return None
    return row["pte_p50_ms"] - row["tflite_p50_ms"]


def _runtime_part(row: dict, cost: dict[str, dict[str, float]]) -> float | None:
    """The .pte's runtime bound minus the .tflite's, in ms: how much of the gap is the runtimes'."""
    bound, lite = row.get("runtime_bound_ms"), cost.get("tflite")
    if bound is None or lite is None or row.get("tflite_ops") is None:
        return None
    return bound - (row["tflite_ops"] * lite["per_op_us"] + lite["per_call_us"]) / 1000


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _p50(by_kind: dict, kind: str) -> float | None:
    latency = by_kind.get(kind, {}).get("latency")
    return None if not latency else latency["p50"] * 1000


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f} ms"


def _mib(value: int | None) -> float | None:
    return None if value is None else value / 2**20


if __name__ == "__main__":
    sys.exit(main())
