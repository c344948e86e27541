"""Renderers for :class:`validators.model.ValidationReport`: console, JSON and the PR Markdown."""

from __future__ import annotations

import json
import math

from migrate.reports.text import markdown_text
from validators.model import OutputComparison, RuntimeResult, ValidationReport
from validators.remarks import OutputsDiffer, about, describe


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.2f} ms"


def _mib(size: int | None) -> str:
    if size is None:
        return "-"
    return f"{size / 2**20:.1f} MiB" if size >= 2**20 else f"{size / 1024:.1f} KiB"


def _max_error(report: ValidationReport, result: RuntimeResult) -> str:
    if result.label == report.reference:
        return "reference"
    comparison = next((c for c in report.comparisons if c.label == result.label), None)
    if comparison is None:
        return "-"
    if comparison.error is not None:
        return "mismatch"
    nonfinite = sum(o.nonfinite_mismatches for o in comparison.outputs)
    if nonfinite:
        return f"{nonfinite} NaN/Inf differ"
    return f"{max((o.max_abs_error for o in comparison.outputs), default=0.0):.2e}"


def _max_abs(output: OutputComparison) -> str:
    """Over the positions finite on both sides; NaN / Inf in other places are counted apart."""
    nonfinite = f" and {output.nonfinite_mismatches} NaN/Inf differ" if output.nonfinite_mismatches else ""
    return f"{output.max_abs_error:.2e}{nonfinite}"


def _status(report: ValidationReport, result: RuntimeResult) -> str:
    if result.error is not None:
        return "did not run"
    comparison = next((c for c in report.comparisons if c.label == result.label), None)
    if comparison is None:
        return "ok"
    if comparison.passed:
        return "ok"
    return (
        "differs (note)"
        if any(isinstance(n, OutputsDiffer) and n.runtime == result.label for n in report.notes)
        else "FAIL"
    )


def unexplained_failures(report: ValidationReport) -> list[RuntimeResult]:
    """Rows that did not run and that no reason or note is about (the shipped artifact or
    the baseline crashing): the reader still needs to see why."""
    explained = {about(remark) for remark in (*report.reasons, *report.notes)}
    return [r for r in report.runtimes if r.error is not None and r.label not in explained]


def _targets(report: ValidationReport) -> list[str]:
    """Where the rows ran, in order; one group per target when there are several."""
    return list(dict.fromkeys(r.target for r in report.runtimes))


EMULATED = "emulated by qemu-aarch64: numerics only; emulated time and memory say nothing about a phone"


def _emulated(target: str) -> bool:
    return target.startswith("arm64")


def _target_heading(report: ValidationReport, target: str) -> list[str]:
    if len(_targets(report)) < 2:
        return []
    emulated = f" ({markdown_text(EMULATED)})" if _emulated(target) else ""
    return [f"#### {markdown_text(target)}{emulated}", ""]


def render_json(report: ValidationReport) -> str:
    return json.dumps(report.to_dict(), indent=2) + "\n"


def render_console(report: ValidationReport) -> str:
    lines = [
        f"{'PASS' if report.passed else 'FAIL'}: validated against {report.reference} on {report.inputs}"
    ]
    lines += [f"  - {describe(reason)}" for reason in report.reasons]
    lines += [f"  note: {describe(note)}" for note in report.notes]
    width = max([22, *(len(r.label) + 2 for r in report.runtimes)])
    header = f"{'runtime':<{width}}{'p50':>11}{'p90':>11}{'load':>11}{'first run':>11}{'peak mem':>11}{'size':>11}  max abs err"
    lines += ["", header]
    for result in report.runtimes:
        latency = result.latency
        lines.append(
            f"{result.label:<{width}}{_ms(latency.p50 if latency else None):>11}{_ms(latency.p90 if latency else None):>11}"
            f"{_ms(result.load_seconds):>11}{_ms(result.first_run_seconds):>11}{_mib(result.peak_memory_bytes):>11}"
            f"{_mib(result.size_bytes):>11}  {_max_error(report, result)}"
        )
        if result.error is not None:
            lines.append(f"{'':<{width}}did not run: {result.error}")
    emulated = [t for t in _targets(report) if _emulated(t)]
    if emulated:
        lines.append(f"{', '.join(emulated)}: {EMULATED}")
    return "\n".join(lines) + "\n"


def latency_chart(report: ValidationReport) -> list[str]:
    """A Mermaid bar chart of p50 latency. The axis starts at 0 so bar heights compare as the
    numbers do (Mermaid's default starts at the smallest value)."""
    timed = [(r.label, r.latency.p50 * 1000) for r in report.runtimes if r.latency is not None]
    if not timed:
        return []
    width = max(10, 88 // len(timed))  # a label wider than its bar's slot is clipped by Mermaid
    names = ", ".join(f'"{_chart_label(label, width)}"' for label, _ in timed)
    values = ", ".join(f"{ms:.3f}" for _, ms in timed)
    top = _round_up(max(ms for _, ms in timed) * 1.05)
    return [
        "",
        "```mermaid",
        "xychart-beta",
        '    title "p50 latency (ms, lower is better)"',
        f"    x-axis [{names}]",
        f'    y-axis "ms" 0 --> {top}',
        f"    bar [{values}]",
        "```",
    ]


def _chart_label(label: str, width: int) -> str:
    """A label Mermaid shows as written (no quote, backtick or tag), at most ``width``
    characters: the runtime's name stays whole and the file name keeps its end."""
    text = " ".join(label.translate(_CHART_UNSAFE).split())
    if len(text) <= width:
        return text
    runtime, _, rest = text.partition(" ")
    if rest and len(runtime) <= width - 6:
        return f"{runtime} …{rest[len(rest) - (width - len(runtime) - 2) :]}"
    head = (width - 1) // 2
    return text[:head].rstrip() + "…" + text[len(text) - (width - 1 - head) :].lstrip()


_CHART_UNSAFE = str.maketrans({'"': "'", "`": "'", "<": "‹", ">": "›", ";": ","})


def _round_up(value: float) -> str:
    """``value`` rounded up to two significant digits, written without an exponent."""
    if value <= 0:
        return "1"
    step = 10 ** (math.floor(math.log10(value)) - 1)
    return f"{math.ceil(value / step) * step:.{max(0, -math.floor(math.log10(step)))}f}"


def render_markdown(report: ValidationReport) -> str:
    """The pull-request comment: verdict and what needs attention first, then the numbers."""
    verdict = "✅ **PASS**" if report.passed else "❌ **FAIL**"
    out = [
        "## executorch-migrate validation",
        "",
        f"{verdict}: {markdown_text(report.inputs)}, against **{markdown_text(report.reference)}**.",
        "",
    ]
    attention = [markdown_text(describe(reason)) for reason in report.reasons]
    attention += [
        f"{markdown_text(r.label)} did not run: {markdown_text(r.error or '')}"
        for r in unexplained_failures(report)
    ]
    if attention:
        out += ["### Needs attention", "", *[f"- {item}" for item in attention], ""]
    if report.notes:
        out += [
            "### Notes (not the verdict)",
            "",
            *[f"- {markdown_text(describe(note))}" for note in report.notes],
            "",
        ]
    out += [
        f"### Results ({report.environment.get('threads', 1)} thread{'s' * (report.environment.get('threads', 1) != 1)})",
        "",
    ]
    for target in _targets(report):
        out += _target_heading(report, target)
        out += [
            "| Runtime | p50 | p90 | Load | First run | Peak memory | Planned arena | Size | Max abs error | Status |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for r in (r for r in report.runtimes if r.target == target):
            latency = r.latency
            out.append(
                f"| {markdown_text(r.label)} | {_ms(latency.p50 if latency else None)} | {_ms(latency.p90 if latency else None)} "
                f"| {_ms(r.load_seconds)} | {_ms(r.first_run_seconds)} | {_mib(r.peak_memory_bytes)} "
                f"| {_mib(r.planned_arena_bytes)} | {_mib(r.size_bytes)} | {_max_error(report, r)} | {_status(report, r)} |"
            )
        out.append("")
    out.pop()
    out += latency_chart(report)
    out += _profiles_markdown(report)
    out += ["", "<details><summary>Numerics per output</summary>", ""]
    where = {r.label: r.target for r in report.runtimes}
    for target in _targets(report):
        compared = [c for c in report.comparisons if where.get(c.label, "host") == target]
        if not compared:
            continue
        out += _target_heading(report, target)
        out += [
            "| Runtime | Output | Max abs | Mean abs | Max rel | Cosine | Top-1 | Top-5 | Pass |",
            "|---|---|---:|---:|---:|---:|---:|---:|---|",
        ]
        for comparison in compared:
            if comparison.error is not None:
                out.append(
                    f"| {markdown_text(comparison.label)} | - | {markdown_text(comparison.error)} | | | | | | no |"
                )
            for o in comparison.outputs:
                top1 = "-" if o.top1_agreement is None else f"{o.top1_agreement:.0%}"
                top5 = "-" if o.top5_agreement is None else f"{o.top5_agreement:.0%}"
                out.append(
                    f"| {markdown_text(comparison.label)} | {markdown_text(o.name)} | {_max_abs(o)} | {o.mean_abs_error:.2e} "
                    f"| {o.max_rel_error:.2e} | {o.cosine:.6f} | {top1} | {top5} | {'yes' if o.passed else 'no'} |"
                )
        out.append("")
    out.pop()
    tolerances = ", ".join(f"{k} {v:g}" for k, v in report.tolerances.items())
    out += [
        "",
        f"Tolerances: {tolerances}. The smallest atol that would pass is each output's max abs error.",
        "",
        "</details>",
        "",
    ]
    delegated = [r for r in report.runtimes if r.details]
    if delegated:
        out += ["<details><summary>Delegation</summary>", ""]
        for r in delegated:
            outside = (
                ", ".join(
                    f"{markdown_text(op)} x{n}"
                    for op, n in dict(r.details.get("kernels_outside_delegates", {})).items()
                )
                or "none"
            )
            backends = ", ".join(markdown_text(b) for b in r.details.get("backends", [])) or "none"
            out.append(
                f"- {markdown_text(r.label)}: {r.details.get('delegate_calls', 0)} delegate calls ({backends}); "
                f"kernels outside delegates: {outside}"
            )
        out += ["", "</details>", ""]
    env = report.environment
    versions = ", ".join(
        f"{markdown_text(k)} {markdown_text(str(v))}" for k, v in dict(env.get("versions", {})).items()
    )
    out += [
        "<details><summary>Environment and how to reproduce</summary>",
        "",
        f"- CPU: {markdown_text(str(env.get('cpu', '?')))} ({env.get('cores', '?')} cores), {env.get('threads', 1)} thread(s), profile {markdown_text(str(env.get('profile', 'default')))}",
        f"- Python {markdown_text(str(env.get('python', '?')))}; {versions}",
        "- Each runtime ran in its own process; latency was timed in alternating rounds; peak memory is the process's high-water mark minus that of a process that only imported the same runtime.",
        "",
        "```sh",
        report.command.replace("`", "'") or "migrate validate ...",
        "```",
        "",
        "</details>",
        "",
    ]
    return "\n".join(out)


def _profiles_markdown(report: ValidationReport) -> list[str]:
    """Under the table: each profiled runtime's most expensive operators and their share."""
    if not report.profiles:
        return []
    out = ["", "### Where the time goes (ten most expensive operators)", ""]
    for profile in report.profiles:
        total = "" if profile.total_ms is None else f", one run {profile.total_ms:.3f} ms"
        out.append(f"**{markdown_text(profile.label)}**{total}")
        out.append("")
        if profile.error is not None:
            out += [f"No profile: {markdown_text(profile.error)}", ""]
            continue
        if profile.note is not None:
            out += [markdown_text(profile.note), ""]
        out += ["| Operator | Calls | Time | Share |", "|---|---:|---:|---:|"]
        for op in profile.operators:
            time = "-" if op.ms is None else f"{op.ms * 1000:.1f} µs"
            share = "-" if op.share is None else f"{op.share:.0%}"
            out.append(f"| {markdown_text(op.name)} | {op.calls or '-'} | {time} | {share} |")
        out.append("")
    return out
