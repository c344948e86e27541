"""One Markdown document from the JSON of earlier steps (scan, apply, export, validate),
sized for a pull-request comment: it drops detail, never the verdict, to stay under GitHub's
65,536-character limit. Everything taken from files or messages is escaped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migrate.artifacts import read_regular
from migrate.errors import UsageError
from migrate.manifest import Manifest
from migrate.reports.scan import render_markdown as render_scan_markdown
from migrate.reports.text import WORD_JOINER, code_span, html_text, markdown_text
from migrate.reports.typed import check_types
from migrate.reports.validation import render_markdown as render_validation_markdown
from migrate.reports.validation import unexplained_failures
from rewrites.model import ScanResult
from validators.model import ValidationReport
from validators.remarks import describe

GITHUB_COMMENT_LIMIT = 65_536
MARKER = "<!-- executorch-migrate report -->"
MAX_ATTENTION = 40
MAX_NAME = 200  # characters of a title or section name: a long one must not crowd out the verdict


@dataclass
class Section:
    """What is known about one model or project: any of the step results."""

    name: str
    scan: ScanResult | None = None
    apply: ScanResult | None = None
    manifest: Manifest | None = None
    validation: ValidationReport | None = None
    problems: list[str] = field(default_factory=list)  # steps that failed, one line each
    notes: list[str] = field(default_factory=list)  # how it was judged, e.g. a quantization tolerance

    @property
    def passed(self) -> bool:
        """Ready: every step ran, the new artifact validated, and no finding is left to fix by hand."""
        if self.problems or (self.validation is not None and not self.validation.passed):
            return False
        left = self.apply if self.apply is not None else self.scan
        if left is None:
            return self.validation is not None
        return not left.findings and not left.errors


def load_result(path: Path) -> ScanResult | ValidationReport | Manifest:
    """Whichever result a JSON file holds, by its shape."""
    try:
        data: dict[str, Any] = json.loads(read_regular(path).decode("utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise UsageError(f"{path}: not a readable JSON report: {exc}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: not a JSON object, so not a report")
    result: ScanResult | ValidationReport | Manifest | None = None
    try:
        if "runtimes" in data:
            result = ValidationReport.from_dict(data)
        elif "findings" in data:
            result = ScanResult.from_dict(data)
        elif "methods" in data:
            result = Manifest.from_dict(data)
        if result is not None:
            check_types(result)  # "passed": "no" must not read as a pass
            return result
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UsageError(f"{path}: a report this version cannot read: {exc}") from None
    raise UsageError(f"{path}: neither a scan, an apply, an export manifest nor a validation report")


def section_from_files(name: str, paths: list[Path]) -> Section:
    section = Section(name)
    for path in paths:
        result = load_result(path)
        if isinstance(result, ValidationReport):
            section.validation = result
        elif isinstance(result, Manifest):
            section.manifest = result
        elif result.command == "apply":
            section.apply = result
        else:
            section.scan = result
    return section


def render_report(
    sections: list[Section], title: str = "executorch-migrate report", limit: int = GITHUB_COMMENT_LIMIT
) -> str:
    verdict = "✅ **Ready**" if all(s.passed for s in sections) else "❌ **Needs work**"
    head = [MARKER, f"# {markdown_text(title, MAX_NAME)}", "", f"{verdict}: {_summary(sections)}", ""]
    attention = [
        f"- **{markdown_text(s.name, MAX_NAME)}**: {item}" for s in sections for item in _attention(s)
    ]
    if len(attention) > MAX_ATTENTION:
        extra = len(attention) - MAX_ATTENTION
        attention = [*attention[:MAX_ATTENTION], f"- ... and {extra} more (see the details below)"]
    if attention:
        head += ["## Needs attention", "", *attention, ""]
    head += _overview(sections)
    details = [_details(s) for s in sections]
    document = "\n".join(head)
    for index, detail in enumerate(details):
        room = limit - len(document) - 400
        if len(detail) > room:
            omitted = sum(len(d) for d in details[index + 1 :]) + len(detail)
            if room > 2000:  # as much of this section as fits, cut between lines, tags closed
                shown = _cut(detail, room)
                document += "\n" + shown
                omitted -= len(shown)
            document += (
                f"\n_{omitted:,} characters of detail left out to fit a pull-request comment; "
                "the JSON reports have everything._\n"
            )
            break
        document += "\n" + detail
    # the marker opens our comment and nothing else: no HTML comment from outside text survives
    body = document.removeprefix(MARKER).replace("<!--", "<!--" + WORD_JOINER)
    return (MARKER + body)[:limit]


def _cut(markdown: str, size: int) -> str:
    """The first ``size`` characters of ``markdown``, ended at a line, with open code fences
    and <details> closed so the rest of the comment renders."""
    text = markdown[:size].rsplit("\n", 1)[0]
    lines = text.splitlines()
    closing = ["```"] if sum(line.startswith("```") for line in lines) % 2 else []
    opened = sum(line.startswith("<details>") for line in lines) - sum(
        line.startswith("</details>") for line in lines
    )
    return "\n".join([*lines, *closing, "", "_(cut here)_", "", *["</details>"] * max(opened, 0), ""])


def _summary(sections: list[Section]) -> str:
    ready = sum(s.passed for s in sections)
    return (
        f"{ready} of {len(sections)} ready"
        if len(sections) > 1
        else ("ready to merge" if ready else "see below")
    )


def _attention(section: Section) -> list[str]:
    items = [markdown_text(problem) for problem in section.problems]
    if section.validation is not None:
        items += [markdown_text(describe(reason)) for reason in section.validation.reasons]
        items += [
            f"{markdown_text(r.label)} did not run: {markdown_text(r.error or '')}"
            for r in unexplained_failures(section.validation)
        ]
        items += [f"note: {markdown_text(describe(note))}" for note in section.validation.notes]
    left = section.apply if section.apply is not None else section.scan
    if section.apply is None and section.scan is not None:
        fixable = [f for f in section.scan.findings if f.fix is not None]
        if fixable:
            items.append(f"{len(fixable)} finding(s) have an automatic fix: run `migrate apply`")
    if left is not None:
        manual = [f for f in left.findings if f.fix is None]
        if manual:
            codes = sorted({f.code for f in manual})
            items.append(
                f"{len(manual)} finding(s) need a manual change ({', '.join(codes)}): "
                f"see `migrate rules show {codes[0]}`"
            )
        items += [f"could not scan {markdown_text(e.path)}: {markdown_text(e.message)}" for e in left.errors]
    return items


def _overview(sections: list[Section]) -> list[str]:
    rows = [
        "| | Findings before | Fixed | Left | Export | Validation | .pte p50 | TFLite p50 | Max abs error |",
        "|---|---:|---:|---:|---|---|---:|---:|---:|",
    ]
    for s in sections:
        before = "-" if s.scan is None else str(len(s.scan.findings))
        fixed = "-" if s.apply is None else str(len(s.apply.fixed))
        left_report = s.apply if s.apply is not None else None
        left = "-" if left_report is None else str(len(left_report.findings))
        export = "-"
        if s.manifest is not None:
            method = s.manifest.methods[0]
            export = f"{_size(s.manifest.file_size)}, {method.delegation.subgraphs} delegate call(s)"
        validation = "-" if s.validation is None else ("pass" if s.validation.passed else "FAIL")
        pte = tflite = error = "-"
        if s.validation is not None:
            for r in (r for r in s.validation.runtimes if r.target == "host"):  # the other targets: below
                if r.kind == "executorch" and r.latency:
                    pte = f"{r.latency.p50 * 1000:.2f} ms"
                if r.kind == "tflite" and r.latency:
                    tflite = f"{r.latency.p50 * 1000:.2f} ms"
            kinds = {r.label: r.kind for r in s.validation.runtimes}
            errors = [
                o.max_abs_error
                for c in s.validation.comparisons
                if kinds.get(c.label) == "executorch"
                for o in c.outputs
            ]
            error = f"{max(errors):.1e}" if errors else "-"
        rows.append(
            f"| {markdown_text(s.name, MAX_NAME)} | {before} | {fixed} | {left} | {export} | {validation} | {pte} | {tflite} | {error} |"
        )
    return [*rows, ""]


def _size(size: int) -> str:
    return f"{size / 2**20:.1f} MiB" if size >= 2**20 else f"{size / 2**10:.1f} KiB"


def _details(section: Section) -> str:
    # an HTML block: GitHub shows Markdown escapes there literally, so entities only
    parts = [f"<details><summary><b>{html_text(section.name, MAX_NAME)}</b></summary>", ""]
    parts += [f"_{markdown_text(note)}_\n" for note in section.notes]
    if section.validation is not None:
        parts.append(_demote(render_validation_markdown(section.validation)))
    if section.manifest is not None:
        m = section.manifest
        parts += ["#### Export", ""]
        for method in m.methods:
            outside = (
                ", ".join(f"{markdown_text(op)} x{n}" for op, n in method.delegation.non_delegated_ops)
                or "none"
            )
            parts.append(
                f"- `{code_span(method.name)}`: {method.delegation.subgraphs} delegate call(s) "
                f"({', '.join(markdown_text(b) for b in method.backends) or 'portable only'}); kernels outside delegates: "
                f"{outside}; planned arena {method.planned_arena_bytes:,} bytes"
            )
        parts += [f"- {markdown_text(note)}" for note in m.notes]
        parts.append("")
    if section.apply is not None:
        # the scan report of what is left, under the apply's heading
        apply = render_scan_markdown(section.apply, Path(section.apply.root), title="after `migrate apply`")
        parts.append(_demote(apply))
    elif section.scan is not None:
        parts.append(_demote(render_scan_markdown(section.scan, Path(section.scan.root))))
    parts += ["</details>", ""]
    return "\n".join(parts)


def _demote(markdown: str) -> str:
    """Nest a report's headings two levels down."""
    return "\n".join("##" + line if line.startswith("#") else line for line in markdown.splitlines()) + "\n"
