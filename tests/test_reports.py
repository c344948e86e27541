"""Scan renderers against reviewed golden files, and the JSON round trip."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import pytest

from migrate import REPOSITORY
from migrate.cli import _ProgressBar
from migrate.reports.scan import FORMATS, render, render_markdown
from migrate.reports.text import markdown_text
from rewrites.model import FileError, Finding, Fix, FixSafety, ScanResult

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

RESULT = ScanResult(
    root="/project",
    files_scanned=7,
    files_parsed=3,
    tool_version="0.1.0",
    rules=("MIG101", "MIG202", "MIG301"),
    findings=(
        Finding(
            "MIG301",
            "jit-ignore",
            "models/net.py",
            12,
            5,
            12,
            22,
            "`@torch.jit.ignore` is TorchScript-only",
            Fix(FixSafety.SAFE, "Remove it"),
        ),
        Finding(
            "MIG101",
            "jit-script",
            "scripts/export | <b>x</b>.py",
            3,
            10,
            3,
            26,
            "`torch.jit.script` makes TorchScript",
        ),
        Finding(
            "MIG202",
            "save-for-lite-interpreter",
            "scripts/export | <b>x</b>.py",
            4,
            1,
            5,
            2,
            "`_save_for_lite_interpreter` writes a `.ptl`",
        ),
    ),
    errors=(FileError("broken`name.py", "syntax error at line 2, column 1: expected one of ), <tag>"),),
)


@pytest.mark.parametrize("fmt", FORMATS)
def test_golden_render(fmt: str, golden) -> None:  # type: ignore[no-untyped-def]
    golden(f"scan.{fmt}", render(RESULT, fmt, Path("/project")))


def test_the_markdown_is_under_the_title_it_is_given() -> None:
    """The apply section of the PR report titles the scan Markdown itself (no heading swap)."""
    default = render_markdown(RESULT, Path("/project"))
    titled = render_markdown(RESULT, Path("/project"), title="after `migrate apply`")
    assert default.startswith("## executorch-migrate scan\n")
    assert titled == "## after `migrate apply`" + default.removeprefix("## executorch-migrate scan")


def test_json_round_trip() -> None:
    assert ScanResult.from_dict(RESULT.to_dict()) == RESULT


def test_json_from_a_newer_tool_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported scan report version 99"):
        ScanResult.from_dict({**RESULT.to_dict(), "version": 99})


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        "[link](javascript:alert(1))",
        "| a | b |",
        "**bold** _it_ `code`",
        "# title",
    ],
)
def test_markdown_text_neutralises_markup(hostile: str) -> None:
    escaped = markdown_text(hostile)
    assert "<" not in escaped and ">" not in escaped
    assert all(f"\\{ch}" in escaped for ch in "[]|*_`#" if ch in hostile)


def test_progress_bar_draws_only_when_enabled(capsys: pytest.CaptureFixture[str]) -> None:
    bar = _ProgressBar(enabled=True, delay=0.0)
    bar(5, 10)
    bar.close()
    assert "[###############...............] 5/10 files" in capsys.readouterr().err
    quiet = _ProgressBar(enabled=False, delay=0.0)
    quiet(5, 10)
    quiet.close()
    assert capsys.readouterr().err == ""


def test_sarif_links_each_rule_to_its_docs_and_fingerprints_results() -> None:
    document = json.loads(render(RESULT, "sarif", Path("/project")))
    run = document["runs"][0]
    project = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())["project"]
    assert run["tool"]["driver"]["informationUri"] == REPOSITORY == project["urls"]["Repository"]
    for rule in run["tool"]["driver"]["rules"]:
        assert rule["helpUri"] == f"{project['urls']['Documentation']}/{rule['id']}.md"
        assert (Path(__file__).parent.parent / "docs" / "rules" / f"{rule['id']}.md").is_file()
    assert run["columnKind"] == "unicodeCodePoints"
    prints = [r["partialFingerprints"]["executorchMigrate/v1"] for r in run["results"]]
    assert len(set(prints)) == len(prints)
    moved = dataclasses.replace(
        RESULT,
        findings=tuple(
            dataclasses.replace(f, line=f.line + 7, end_line=f.end_line + 7) for f in RESULT.findings
        ),
    )
    again = json.loads(render(moved, "sarif", Path("/project")))["runs"][0]["results"]
    assert [r["partialFingerprints"]["executorchMigrate/v1"] for r in again] == prints  # lines moved
    twice = dataclasses.replace(RESULT, findings=(RESULT.findings[0], RESULT.findings[0]))
    doubled = json.loads(render(twice, "sarif", Path("/project")))["runs"][0]["results"]
    assert len({r["partialFingerprints"]["executorchMigrate/v1"] for r in doubled}) == 2


def test_sarif_from_the_filesystem_root_has_a_valid_base() -> None:
    result = ScanResult(root="/", files_scanned=1, findings=RESULT.findings[:1])
    run = json.loads(render(result, "sarif", Path("/")))["runs"][0]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == "file:///"
    assert run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "models/net.py"


def test_every_format_fills_a_rules_message_from_the_same_arguments(tmp_path: Path) -> None:
    """MIG507's `{old}`/`{new}` (and every rule's fields) are filled the same way in each format:
    findings carry the message their arguments made, and rule descriptions describe the fields."""
    from rewrites.python_checker import check_source
    from rewrites.registry import all_rules

    source = "from torch.ao.quantization.quantize_pt2e import prepare_pt2e\n"
    findings = check_source(source.encode(), all_rules()).findings
    assert [f.code for f in findings] == ["MIG507"]
    message = "`torch.ao.quantization.quantize_pt2e` was removed from torch: import `torchao.quantization.pt2e.quantize_pt2e` instead"
    assert findings[0].message == message
    found = dataclasses.replace(findings[0], path="q.py")
    result = ScanResult(
        root=str(tmp_path), files_scanned=1, findings=(found,), rules=tuple(r.code for r in all_rules())
    )
    for fmt in FORMATS:
        text = render(result, fmt, tmp_path)
        assert markdown_text(message) in text or message in text or json.dumps(message)[1:-1] in text, fmt
        assert "{old}" not in text and "{new}" not in text and "{name}" not in text, fmt
    driver = json.loads(render(result, "sarif", tmp_path))["runs"][0]["tool"]["driver"]
    summaries = {r["id"]: r["shortDescription"]["text"] for r in driver["rules"]}
    assert summaries["MIG507"] == "`the old module` was removed from torch: import `the new module` instead"
    assert "{" not in summaries["MIG509"] and "{" not in summaries["MIG199"]
