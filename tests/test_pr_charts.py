"""The report's charts as a reader sees them: every Mermaid chart of a report, rendered by
Mermaid's own renderer (mermaid-cli in Debian's Chromium, installed by `make tools`)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from github_render import render

from migrate.reports.combined import Section, render_report
from validators.model import Comparison, Latency, OutputComparison, RuntimeResult, ValidationReport

ROOT = Path(__file__).resolve().parent.parent
MMDC = ROOT / ".tools" / "node_modules" / ".bin" / "mmdc"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SVG = "{http://www.w3.org/2000/svg}"
LONG = "ExecuTorch keyword_spotter_int8_dynamic_per_channel_quantized.pte"

pytestmark = pytest.mark.skipif(
    not (MMDC.exists() and CHROMIUM), reason="Mermaid's renderer is not installed: run `make tools`"
)


def report(latencies_ms: dict[str, float]) -> ValidationReport:
    runtimes = tuple(
        RuntimeResult(label, "executorch" if ".pte" in label else "eager", label, 1000,
                      latency=Latency(ms / 1000, ms / 1000, ms / 1000, ms / 1000, 30))
        for label, ms in latencies_ms.items()
    )  # fmt: skip
    first = next(iter(latencies_ms))
    comparisons = tuple(
        Comparison(label, (OutputComparison("output_0", 1e-7, 1e-8, 1e-7, 1.0),))
        for label in latencies_ms
        if label != first
    )
    return ValidationReport(first, runtimes, comparisons, passed=True, reasons=())


def render_svg(chart: str, tmp_path: Path, name: str) -> ET.Element:
    config = tmp_path / "puppeteer.json"
    config.write_text(json.dumps({"executablePath": CHROMIUM, "args": ["--no-sandbox"]}))
    source, target = tmp_path / f"{name}.mmd", tmp_path / f"{name}.svg"
    source.write_text(chart, encoding="utf-8")
    done = subprocess.run(
        [str(MMDC), "-p", str(config), "-i", str(source), "-o", str(target)],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return ET.parse(target).getroot()


def _translate_y(element: ET.Element) -> float:
    match = re.search(r"translate\(([-\d.]+),\s*([-\d.]+)\)", element.get("transform", ""))
    assert match, element.attrib
    return float(match.group(2))


def bars_and_labels(svg: ET.Element) -> tuple[list[tuple[float, float]], float, list[str]]:
    """(top, height) of each bar, the y of the axis' 0, and the x-axis labels as drawn."""
    groups = {g.get("class"): g for g in svg.iter(f"{SVG}g")}
    bars = [
        (float(r.get("y", 0)), float(r.get("height", 0))) for r in groups["bar-plot-0"].iter(f"{SVG}rect")
    ]
    ticks = {t.text: _translate_y(t) for t in groups["left-axis"].iter(f"{SVG}text") if t.text}
    assert "0" in ticks, f"the y axis does not start at 0: {sorted(ticks)}"
    labels = [t.text or "" for t in groups["bottom-axis"].iter(f"{SVG}text")]
    return bars, ticks["0"], labels


def test_every_chart_of_a_report_starts_at_zero_and_shows_labels_as_written(tmp_path: Path) -> None:
    """A report with the numbers of the demo's image classifier (the .pte 4.9x faster than eager),
    a non-ASCII label and a label too long for its bar."""
    sections = [
        Section("image_classifier", validation=report(
            {"eager": 8.62, "TorchScript .pt": 4.1, "ExecuTorch .pte": 1.76, "TFLite": 1.71})),
        Section("modèles", validation=report(
            {"eager": 0.5, "ExecuTorch modèle.pte": 0.25, LONG: 0.125})),
    ]  # fmt: skip
    charts = [text for lang, text in render(render_report(sections)).code_blocks if lang == "mermaid"]
    assert len(charts) == 2
    expected_labels = [
        ["eager", "TorchScript .pt", "ExecuTorch .pte", "TFLite"],
        ["eager", "ExecuTorch modèle.pte", "ExecuTorch …nel_quantized.pte"],
    ]
    values = [[8.62, 4.1, 1.76, 1.71], [0.5, 0.25, 0.125]]
    for index, chart in enumerate(charts):
        bars, zero, labels = bars_and_labels(render_svg(chart, tmp_path, f"chart{index}"))
        assert labels == expected_labels[index]
        scale = [(zero - top) / value for (top, _), value in zip(bars, values[index], strict=True)]
        assert max(scale) / min(scale) == pytest.approx(1.0, abs=0.01), scale
        heights = [zero - top for top, _ in bars]
        ratio = heights[0] / heights[2]
        assert ratio == pytest.approx(values[index][0] / values[index][2], rel=0.01)
