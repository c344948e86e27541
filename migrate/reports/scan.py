"""Renderers for :class:`rewrites.model.ScanResult`."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from urllib.parse import quote

from migrate import REPOSITORY, RULE_DOCS, __version__
from migrate.reports.text import code_span, display_path, markdown_text
from rewrites.core import Rule
from rewrites.model import Finding, FixSafety, ScanResult
from rewrites.registry import all_rules

FORMATS = ("concise", "json", "sarif", "markdown", "github")


def render(result: ScanResult, fmt: str, base: Path) -> str:
    return {
        "concise": render_concise,
        "json": render_json,
        "sarif": render_sarif,
        "markdown": render_markdown,
        "github": render_github,
    }[fmt](result, base)


def _rules() -> dict[str, type[Rule]]:
    return {rule.code: rule for rule in all_rules()}


def _fixable(finding: Finding, safety: FixSafety = FixSafety.SAFE) -> bool:
    return finding.fix is not None and finding.fix.applicability is safety


def summary_line(result: ScanResult) -> str:
    files = len({f.path for f in result.findings})
    fixable = sum(_fixable(f) for f in result.findings)
    unsafe = sum(_fixable(f, FixSafety.UNSAFE) for f in result.findings)
    text = (
        f"Found {len(result.findings)} finding{'s' * (len(result.findings) != 1)} in {files} "
        f"file{'s' * (files != 1)} ({result.files_scanned} scanned)"
        if result.findings
        else f"No TorchScript or PyTorch Mobile dependencies found ({result.files_scanned} files scanned)"
    )
    if fixable:
        text += f"; {fixable} fixable with `migrate apply --fix`"
    if unsafe:
        text += f"; {unsafe} more with `--unsafe-fixes`"
    if result.errors:
        text += f"; {len(result.errors)} file{'s' * (len(result.errors) != 1)} could not be scanned"
    return text + "."


def render_concise(result: ScanResult, base: Path) -> str:
    lines = []
    for f in result.findings:
        marker = " [*]" if _fixable(f) else ""
        path = display_path(result.root, f.path, base)
        lines.append(f"{path}:{f.line}:{f.column} {f.code}{marker} {f.message}")
    if lines:
        lines.append("")
    lines.append(summary_line(result))
    counts = Counter((f.code, f.name) for f in result.findings)
    for (code, name), count in sorted(counts.items()):
        lines.append(f"{count:>6}  {code}  {name}")
    return "\n".join(lines) + "\n"


def render_json(result: ScanResult, base: Path) -> str:
    return json.dumps(result.to_dict(), indent=2) + "\n"


def render_github(result: ScanResult, base: Path) -> str:
    """GitHub Actions workflow commands: one annotation per finding and per unreadable file."""
    lines = []
    for f in result.findings:
        props = ",".join(
            [
                f"file={_gh_property(display_path(result.root, f.path, base))}",
                f"line={f.line}",
                f"col={f.column}",
                f"endLine={f.end_line}",
                f"endColumn={f.end_column}",
                f"title={_gh_property(f'{f.code} {f.name}')}",
            ]
        )
        lines.append(f"::warning {props}::{_gh_data(f.message)}")
    for e in result.errors:
        lines.append(
            f"::error file={_gh_property(display_path(result.root, e.path, base))}::{_gh_data(e.message)}"
        )
    return "".join(line + "\n" for line in lines)


def _gh_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_property(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


def render_sarif(result: ScanResult, base: Path) -> str:
    """SARIF 2.1.0, as GitHub code scanning reads it (paths relative to ``base``)."""
    rules = _rules()
    selected = [rules[code] for code in result.rules if code in rules] or list(rules.values())
    index = {rule.code: i for i, rule in enumerate(selected)}
    results = []
    seen: Counter[tuple[str, str, str]] = Counter()
    for f in result.findings:
        path = display_path(result.root, f.path, base)
        seen[(f.code, path, f.message)] += 1
        entry: dict[str, object] = {
            "ruleId": f.code,
            "level": "warning",
            "message": {"text": f.message},
            "locations": [_sarif_location(path, f)],
            "partialFingerprints": {"executorchMigrate/v1": _fingerprint(f.code, path, f.message, seen)},
        }
        if f.code in index:
            entry["ruleIndex"] = index[f.code]
        results.append(entry)
    notifications = [
        {
            "level": "error",
            "message": {"text": e.message},
            "locations": [_sarif_location(display_path(result.root, e.path, base), None)],
        }
        for e in result.errors
    ]
    document = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "executorch-migrate",
                        "version": result.tool_version or __version__,
                        "informationUri": REPOSITORY,
                        "rules": [_sarif_rule(rule) for rule in selected],
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": _folder_uri(base)}},
                "columnKind": "unicodeCodePoints",
                "invocations": [
                    {"executionSuccessful": not result.errors, "toolExecutionNotifications": notifications}
                ],
                "results": results,
            }
        ],
    }
    return json.dumps(document, indent=2) + "\n"


def _folder_uri(folder: Path) -> str:
    """``file:///project/`` (and ``file:///`` for the root, not ``file:////``)."""
    uri = folder.resolve().as_uri()
    return uri if uri.endswith("/") else uri + "/"


def _fingerprint(code: str, path: str, message: str, seen: Counter[tuple[str, str, str]]) -> str:
    """Stable while lines move: the rule, the file, the message (which names the API) and
    which occurrence of that triple in the file this is."""
    key = f"{code}\0{path}\0{message}\0{seen[(code, path, message)]}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def _sarif_location(path: str, finding: Finding | None) -> dict:
    location: dict = {
        "physicalLocation": {"artifactLocation": {"uri": quote(path), "uriBaseId": "%SRCROOT%"}}
    }
    if finding is not None:
        location["physicalLocation"]["region"] = {
            "startLine": finding.line,
            "startColumn": finding.column,
            "endLine": finding.end_line,
            "endColumn": finding.end_column,
        }
    return location


def _sarif_rule(rule: type[Rule]) -> dict:
    doc = rule.doc()
    return {
        "id": rule.code,
        "name": rule.name,
        "helpUri": f"{RULE_DOCS}/{rule.code}.md",
        "shortDescription": {"text": rule.summary()},
        "fullDescription": {"text": doc.split("\n\n")[0]},
        "help": {"text": doc, "markdown": doc},
        "defaultConfiguration": {"level": "warning"},
        "properties": {"fix-safety": rule.fix_safety.value, "tags": ["torchscript", "executorch"]},
    }


def render_markdown(result: ScanResult, base: Path, title: str = "executorch-migrate scan") -> str:
    """For a pull request: the verdict, what needs attention, then collapsible detail, under
    ``title`` (Markdown of ours, not escaped)."""
    rules = _rules()
    out = [f"## {title}", ""]
    verdict = "✅" if not result.findings and not result.errors else ("⚠️" if not result.findings else "❌")
    out += [f"{verdict} {summary_line(result)}", ""]
    manual = [f for f in result.findings if f.fix is None]
    if result.errors or manual:
        out += ["### Needs attention", ""]
        for e in result.errors:
            out.append(
                f"- could not scan `{code_span(display_path(result.root, e.path, base))}`: {markdown_text(e.message)}"
            )
        if manual:
            counts = Counter(f.code for f in manual)
            for code, count in sorted(counts.items()):
                name = rules[code].name if code in rules else ""
                out.append(
                    f"- {count} × **{code}** {name}: no automatic fix, see `migrate rules show {code}`"
                )
        out.append("")
    if result.findings:
        out += ["### By rule", "", "| Code | Rule | Findings | Fix |", "|---|---|---:|---|"]
        counts = Counter(f.code for f in result.findings)
        for code, count in sorted(counts.items()):
            rule = rules.get(code)
            out.append(
                f"| {code} | {rule.name if rule else ''} | {count} | {rule.fix_safety.value if rule else ''} |"
            )
        out += ["", "<details><summary>Findings by file</summary>", ""]
        by_file: dict[str, list[Finding]] = {}
        for f in result.findings:
            by_file.setdefault(f.path, []).append(f)
        for path, findings in by_file.items():
            out.append(f"#### `{code_span(display_path(result.root, path, base))}`")
            out.append("")
            for f in findings:
                out.append(f"- L{f.line}:{f.column} **{f.code}** {_ours(f.message)}")
            out.append("")
        out += ["</details>", ""]
    return "\n".join(out)


def _ours(text: str) -> str:
    """Rule messages are Markdown with code spans, but may quote the user's code: keep the spans
    (verbatim inside, so safe) and escape everything between them."""
    parts = text.split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: no spans at all
        return markdown_text(text)
    return "".join(
        f"`{code_span(part)}`" if index % 2 else _spaced(part, markdown_text(part))
        for index, part in enumerate(parts)
    )


def _spaced(original: str, escaped: str) -> str:
    """``escaped`` with the spaces ``original`` had at its ends (they separate it from a span)."""
    if not escaped:
        return " " if original[:1].isspace() else ""
    return (" " if original[:1].isspace() else "") + escaped + (" " if original[-1:].isspace() else "")
