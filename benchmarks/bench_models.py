"""`make bench`: how fast the sample models' `.pte` files are next to their TFLite conversions.

Per sample model (migrated and exported by `make demo`, whose artifacts are cached): delegate
calls and kernels left outside the delegate (from the manifest), then p50 latency and peak
memory of eager, `.pte` and `.tflite` at 1 thread, measured in alternation in one
`migrate validate` run, and the `.pte` / `.tflite` ratio. The target (issue 4) is a ratio of
at most 1.0 for every model; this benchmark reports, it does not assert.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--demo", type=Path, default=ROOT / "demo-out")
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--output", type=Path, default=ROOT / "bench-out" / "models.json")
    args = parser.parse_args()
    if not (args.demo / "report.json").is_file():
        subprocess.run(
            [sys.executable, "-m", "migrate.demo", "samples", str(args.demo)], cwd=ROOT, check=True
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
            "--report-json", str(report_path.resolve()),
        ]  # fmt: skip
        print(f"{sample['name']}: measuring eager, .pte and .tflite ({args.runs} runs each) ...", flush=True)
        subprocess.run(command, cwd=args.demo / sample["name"] / "project", capture_output=True, check=False)
        report = json.loads(report_path.read_text(encoding="utf-8"))
        manifest = json.loads(Path(files["manifest"]).read_text(encoding="utf-8"))
        forward = manifest["methods"][0]
        by_kind = {r["kind"]: r for r in report["runtimes"]}
        pte, tflite = _p50(by_kind, "executorch"), _p50(by_kind, "tflite")
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
            }
        )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"runs": args.runs, "threads": 1, "models": rows}, indent=2) + "\n")
    print(f"\n{'model':<18}{'delegates':>10}{'outside':>9}{'.pte p50':>11}{'.tflite p50':>13}{'ratio':>8}")
    for row in rows:
        if "error" in row:
            print(f"{row['model']:<18}{row['error']}")
            continue
        outside = sum(row["non_delegated_ops"].values())
        ratio = "-" if row["pte_over_tflite"] is None else f"{row['pte_over_tflite']:.2f}x"
        print(
            f"{row['model']:<18}{row['delegate_calls']:>10}{outside:>9}{_ms(row['pte_p50_ms']):>11}"
            f"{_ms(row['tflite_p50_ms']):>13}{ratio:>8}"
        )
    print(f"\nwritten to {args.output}")
    return 0


def _p50(by_kind: dict, kind: str) -> float | None:
    latency = by_kind.get(kind, {}).get("latency")
    return None if not latency else latency["p50"] * 1000


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f} ms"


def _mib(value: int | None) -> float | None:
    return None if value is None else value / 2**20


if __name__ == "__main__":
    sys.exit(main())
