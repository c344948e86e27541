"""`migrate report` and the pull-request comment: one document, sized and escaped for GitHub,
posted once and then updated (against a real HTTP server on loopback)."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner
from github_render import render

from migrate.cli import main
from migrate.errors import UsageError
from migrate.github import upsert_comment
from migrate.reports.combined import GITHUB_COMMENT_LIMIT, MARKER, Section, render_report, section_from_files
from rewrites.model import FileError, Finding, Fix, FixSafety, ScanResult
from validators.model import Comparison, Latency, OutputComparison, RuntimeResult, ValidationReport
from validators.remarks import OutputsDiffer

HOSTILE = "<img src=x onerror=alert(1)> [click](javascript:alert(1)) | ``` <!-- **"


def finding(
    path: str = "model.py", message: str = "`torch.jit.script` is deprecated", fix: bool = True
) -> Finding:
    return Finding(
        "MIG101", "jit-script", path, 3, 1, 3, 20, message,
        Fix(FixSafety.SAFE, "Call the function") if fix else None,
    )  # fmt: skip


def validation(passed: bool = True, error: str | None = None, output: str = "output_0") -> ValidationReport:
    latency = Latency(0.002, 0.003, 0.0015, 0.0021, 30)
    return ValidationReport(
        reference="TorchScript .pt",
        runtimes=(
            RuntimeResult("TorchScript .pt", "torchscript", "model.pt", 1000, latency=latency),
            RuntimeResult("ExecuTorch .pte", "executorch", "model.pte", 900, latency=latency, error=error),
            RuntimeResult("TFLite", "tflite", "model.tflite", 800, latency=latency),
        ),
        comparisons=(Comparison("ExecuTorch .pte", (OutputComparison(output, 2e-6, 1e-7, 1e-6, 1.0),)),),
        passed=passed,
        reasons=() if passed else (OutputsDiffer("ExecuTorch .pte", "TorchScript .pt", max_abs_error=0.5),),
    )


def test_a_ready_migration_reads_as_ready() -> None:
    scan = ScanResult("/p", 2, (finding(), finding(fix=False)))
    applied = ScanResult("/p", 2, (), fixed=(finding(), finding()), command="apply")
    text = render_report([Section("speech", scan=scan, apply=applied, validation=validation())])
    assert text.startswith(MARKER)
    assert "✅ **Ready**" in text.splitlines()[3]
    assert "| speech | 2 | 2 | 0 |" in text
    assert "2.00 ms" in text and "2.0e-06" in text
    assert "Needs attention" not in text


def test_what_fails_is_at_the_top() -> None:
    scan = ScanResult("/p", 1, (finding(fix=False),), errors=(FileError("bad.py", "not UTF-8"),))
    text = render_report(
        [
            Section("a", scan=scan),
            Section("b", validation=validation(passed=False)),
            Section("c", problems=["export failed: boom"]),
        ]
    )
    head = text.split("<details>")[0]
    assert "❌ **Needs work**: 0 of 3 ready" in head
    assert "1 finding(s) need a manual change (MIG101)" in head
    assert "could not scan bad.py: not UTF\\-8" in head
    assert "max abs error 0.5" in head
    assert "export failed: boom" in head


def test_hostile_names_and_messages_cannot_inject_markdown_or_html() -> None:
    scan = ScanResult(
        "/p", 1, (finding(path=HOSTILE, message=HOSTILE, fix=False),), errors=(FileError(HOSTILE, HOSTILE),)
    )
    report = validation(passed=False, error=HOSTILE)
    text = render_report([Section(HOSTILE, scan=scan, validation=report, problems=[HOSTILE])], title=HOSTILE)
    shown = render(text)
    assert shown.images == [] and shown.links == [] and shown.comments == [MARKER[4:-3]]
    assert shown.headings[0] == " ".join(HOSTILE.split()) and HOSTILE in shown.text
    for rows in shown.tables:  # every table row keeps its header's columns
        assert len(set(rows)) == 1, rows


OUTSIDE = [
    "www.evil-example.com.py",
    "@octocat please approve.py",
    "see https://evil.example/pwn and mailto:a@b.example",
    "fixes #123 and GH-45, ping a@b.example",
    "android_app ios_app <b>&amp;</b>",
    MARKER,
]


def test_outside_text_renders_as_written_without_links_or_mentions() -> None:
    """File names, messages, titles and model names: GitHub shows them as written, with no link
    the tool did not mean, no mention, no issue reference and no stray backslash."""
    for name in OUTSIDE:
        scan = ScanResult(
            "/p", 1, (finding(path=name, message=name, fix=False),), errors=(FileError(name, name),)
        )
        report = validation(passed=False, error=name, output=name)
        text = render_report([Section(name, scan=scan, validation=report, problems=[name])], title=name)
        shown = render(text)
        assert all(len(set(rows)) == 1 for rows in shown.tables), name
        assert shown.links == [] and shown.mentions == [], (name, shown.links, shown.mentions)
        assert shown.headings[0] == name, name
        assert shown.summaries[0] == name, name  # the collapsed section, an HTML block
        assert f"could not scan {name}: {name}" in shown.text, name
        assert "\\" not in shown.text and "\\_" not in shown.text, name
        assert text.count(MARKER) == 1 and text.startswith(MARKER), name


def test_the_collapsed_sections_show_no_backslashes() -> None:
    sections = [Section("android_app", scan=ScanResult("/p", 1, ())), Section("ios_app")]
    text = render_report(sections, title="executorch-migrate: acme/ml_models")
    shown = render(text)
    assert shown.summaries == ["android_app", "ios_app"]
    assert shown.headings[0] == "executorch-migrate: acme/ml_models"


def test_a_huge_title_keeps_the_verdict_first() -> None:
    title = "t" * 70_000
    scan = ScanResult("/p", 1, (finding(fix=False),))
    text = render_report([Section(title, scan=scan)], title=title)
    assert len(text) <= GITHUB_COMMENT_LIMIT
    shown = render(text)
    assert shown.headings[0].endswith("…") and len(shown.headings[0]) <= 200
    assert "❌ **Needs work**" in text[:1000]
    assert shown.summaries[0].endswith("…")


def test_a_huge_report_fits_a_comment_and_keeps_the_verdict() -> None:
    many = tuple(finding(path=f"pkg/module_{i}.py", fix=False) for i in range(3000))
    sections = [Section(f"project {n}", scan=ScanResult("/p", 3000, many)) for n in range(5)]
    text = render_report(sections)
    assert len(text) <= GITHUB_COMMENT_LIMIT
    assert "❌ **Needs work**: 0 of 5 ready" in text
    assert "left out to fit a pull-request comment" in text
    assert text.count("| project ") == 5  # the overview survives whole
    assert "and 0 more" not in text


def test_one_huge_section_shows_what_fits_and_stays_well_formed() -> None:
    many = tuple(finding(path=f"pkg/module_{i}.py", fix=i % 2 == 0) for i in range(4000))
    text = render_report([Section("timm", scan=ScanResult("/p", 4000, many))])
    assert GITHUB_COMMENT_LIMIT - 5000 < len(text) <= GITHUB_COMMENT_LIMIT
    assert "2000 finding(s) have an automatic fix" in text and "2000 finding(s) need a manual change" in text
    assert "pkg/module\\_1.py" in text or "pkg/module_1.py" in text  # detail, not just the summary
    assert text.count("<details>") == text.count("</details>")
    assert text.count("```") % 2 == 0
    assert text.rstrip().endswith("the JSON reports have everything._")


def golden_sections() -> list[Section]:
    """Three projects with fixed numbers: every step's result, every kind of attention item."""
    from test_validation_report import FAILED, NO_REFERENCE, TARGETS

    from migrate.manifest import Delegation, Manifest, MethodInfo, TensorInfo

    scan = ScanResult(
        "/p",
        4,
        (finding(), finding("pkg/audio.py", "`torch.jit.trace` makes TorchScript"), finding(fix=False)),
        errors=(FileError("broken.py", "syntax error at line 2, column 1"),),
    )
    applied = ScanResult(
        "/p", 4, (finding(fix=False),), fixed=(finding(), finding("pkg/audio.py")), command="apply"
    )
    tensor = TensorInfo("x", (1, 3, 32, 32), "float32")
    method = MethodInfo(
        "forward",
        (tensor,),
        (TensorInfo("output_0", (1, 10), "float32"),),
        6 * 2**20,
        Delegation(2, 30, 1, (("aten::_softmax.out", 1),)),
        ("XnnpackBackend",),
    )
    manifest = Manifest("models:make", "/m/model.pte", 900 * 1024, (method,), notes=("dim 0 is static",))
    return [
        Section(
            "speech",
            scan=scan,
            apply=applied,
            manifest=manifest,
            validation=FAILED,
            problems=["the export failed: see the Export step's log"],
            notes=["quantized: judged with atol 0.05"],
        ),
        Section("image_classifier", scan=ScanResult("/p", 2, (finding(),)), validation=TARGETS),
        Section("ios_app", validation=NO_REFERENCE),
    ]


def test_golden_pr_markdown(golden) -> None:  # type: ignore[no-untyped-def]
    golden("pr.markdown", render_report(golden_sections(), title="executorch-migrate: acme/models"))


def test_the_pr_markdown_from_json_files_is_the_same(tmp_path: Path, golden) -> None:  # type: ignore[no-untyped-def]
    """What `migrate report` reads back from the steps' JSON renders as the results themselves."""
    (section,) = golden_sections()[:1]
    paths = []
    for name, result in (
        ("scan", section.scan),
        ("apply", section.apply),
        ("manifest", section.manifest),
        ("validate", section.validation),
    ):
        assert result is not None
        paths.append(tmp_path / f"{name}.json")
        paths[-1].write_text(json.dumps(result.to_dict()), encoding="utf-8")
    loaded = section_from_files(section.name, paths)
    loaded.problems, loaded.notes = section.problems, section.notes
    assert loaded == section
    golden(
        "pr.markdown",
        render_report([loaded, *golden_sections()[1:]], title="executorch-migrate: acme/models"),
    )


def test_the_overview_error_is_the_executorch_rows_by_kind() -> None:
    """A TFLite file named like an ExecuTorch one is still the baseline (the label decided it)."""
    base = validation()
    report = dataclasses.replace(
        base,
        runtimes=(*base.runtimes, RuntimeResult("TFLite ExecuTorch.tflite", "tflite", "ExecuTorch.tflite")),
        comparisons=(
            *base.comparisons,
            Comparison("TFLite ExecuTorch.tflite", (OutputComparison("output_0", 0.9, 0.1, 0.5, 0.9),)),
        ),
    )
    text = render_report([Section("speech", validation=report)])
    assert "| speech | - | - | - | - | pass | 2.00 ms | 2.00 ms | 2.0e-06 |" in text


def test_the_apply_section_keeps_a_file_named_like_the_scan_heading() -> None:
    name = "executorch-migrate scan.py"
    applied = ScanResult("/p", 1, (finding(path=name, fix=False),), fixed=(finding(),), command="apply")
    text = render_report([Section("speech", apply=applied)])
    assert f"#### `{name}`" in text and "#### after `migrate apply`" in text


def test_a_report_says_which_command_wrote_it(tmp_path: Path) -> None:
    """The key is written for an apply only (a scan's JSON is unchanged); a file written before
    the key is an apply when it fixed something; any other command is one line naming the file."""
    applied = ScanResult("/p", 1, (finding(fix=False),), command="apply")
    assert applied.to_dict()["command"] == "apply" and "command" not in ScanResult("/p", 1).to_dict()
    assert ScanResult.from_dict(applied.to_dict()) == applied
    old = ScanResult("/p", 1, (), fixed=(finding(),)).to_dict()
    assert "command" not in old and ScanResult.from_dict(old).command == "apply"
    assert ScanResult.from_dict({**old, "fixed": []}).command == "scan"
    path = tmp_path / "other.json"
    path.write_text(json.dumps({**old, "command": "export"}), encoding="utf-8")
    with pytest.raises(
        UsageError, match=r"other\.json: .*command: expected one of scan, apply, got 'export'"
    ):
        section_from_files("x", [path])


@pytest.fixture
def reports(tmp_path: Path) -> dict[str, Path]:
    paths = {
        "scan": (tmp_path / "scan.json", json.dumps(ScanResult("/p", 1, (finding(),)).to_dict())),
        "apply": (tmp_path / "apply.json", json.dumps(ScanResult("/p", 1, (), fixed=(finding(),)).to_dict())),
        "validate": (tmp_path / "validate.json", json.dumps(validation().to_dict())),
        "failed": (tmp_path / "failed.json", json.dumps(validation(passed=False).to_dict())),
        "broken": (tmp_path / "broken.json", "{not json"),
        "other": (tmp_path / "other.json", '{"hello": 1}'),
    }
    for path, text in paths.values():
        path.write_text(text, encoding="utf-8")
    return {name: path for name, (path, _) in paths.items()}


def test_report_cli_exit_codes(reports: dict[str, Path], tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(
        main, ["report", str(reports["scan"]), str(reports["apply"]), str(reports["validate"])]
    )
    assert ok.exit_code == 0, ok.output
    assert "✅ **Ready**" in ok.output and "| executorch\\-migrate report | 1 | 1 | 0 |" in ok.output
    out = tmp_path / "report.md"
    failed = runner.invoke(main, ["report", str(reports["failed"]), "-o", str(out)])
    assert failed.exit_code == 1 and "❌ **Needs work**" in out.read_text(encoding="utf-8")
    for bad, message in (("broken", "not a readable JSON report"), ("other", "neither a scan")):
        result = runner.invoke(main, ["report", str(reports[bad])])
        assert result.exit_code == 2 and message in result.output and str(reports[bad]) in result.output


class FakeGitHub(BaseHTTPRequestHandler):
    """The three REST calls the comment needs, with pagination, on loopback."""

    comments: ClassVar[list[dict[str, Any]]] = []
    requests: ClassVar[list[tuple[str, str]]] = []
    fail_with: ClassVar[int | None] = None
    login: ClassVar[str | None] = None  # GET /user answers 403 without one, as for the Actions token

    def _send(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict[str, Any]:
        return json.loads(self.rfile.read(int(self.headers["Content-Length"])))

    def do_GET(self) -> None:
        self.requests.append(("GET", self.path))
        if self.path == "/user":
            if self.login is None:
                return self._send(403, {"message": "Resource not accessible by integration"})
            return self._send(200, {"login": self.login})
        if self.fail_with:
            return self._send(self.fail_with, {"message": "Bad credentials"})
        assert self.headers["Authorization"] == "Bearer t0ken"
        page = int(self.path.rsplit("page=", 1)[1])
        self._send(200, self.comments[(page - 1) * 100 : page * 100])

    def do_POST(self) -> None:
        self.requests.append(("POST", self.path))
        if self.fail_with:
            return self._send(self.fail_with, {"message": "Resource not accessible by integration"})
        comment = {
            "id": 1000 + len(self.comments),
            "body": self._body()["body"],
            "user": {"login": self.login or "github-actions[bot]"},
        }
        comment["html_url"] = f"https://github.test/c/{comment['id']}"
        self.comments.append(comment)
        self._send(201, comment)

    def do_PATCH(self) -> None:
        self.requests.append(("PATCH", self.path))
        number = int(self.path.rsplit("/", 1)[1])
        comment = next(c for c in self.comments if c["id"] == number)
        comment["body"] = self._body()["body"]
        self._send(200, comment)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def github() -> Iterator[str]:
    FakeGitHub.comments = [
        {"id": i, "body": f"someone else's comment {i}", "html_url": "", "user": {"login": "someone"}}
        for i in range(150)
    ]
    FakeGitHub.requests = []
    FakeGitHub.fail_with = None
    FakeGitHub.login = None
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeGitHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_the_comment_is_created_once_then_updated(github: str, reports: dict[str, Path]) -> None:
    first = upsert_comment(f"{MARKER}\nfirst", "o/r", 7, "t0ken", github)
    assert first == "https://github.test/c/1150"
    second = upsert_comment(f"{MARKER}\nsecond", "o/r", 7, "t0ken", github + "/")
    assert second == first
    ours = [c for c in FakeGitHub.comments if MARKER in c["body"]]
    assert len(ours) == 1 and ours[0]["body"].endswith("second")
    assert ("PATCH", "/repos/o/r/issues/comments/1150") in FakeGitHub.requests
    assert [m for m, _ in FakeGitHub.requests].count("POST") == 1
    # and the same through the CLI, as the Action calls it
    result = CliRunner().invoke(
        main,
        [
            "report",
            str(reports["failed"]),
            "--github-comment",
            "--repo",
            "o/r",
            "--pr",
            "7",
            "--api-url",
            github,
        ],
        env={"GITHUB_TOKEN": "t0ken"},
    )
    assert result.exit_code == 1, result.output
    assert "comment: https://github.test/c/1150" in result.output
    assert (
        "Needs work" in ours[0]["body"] and len([c for c in FakeGitHub.comments if MARKER in c["body"]]) == 1
    )


def test_only_our_own_comment_that_starts_with_the_marker_is_updated(github: str) -> None:
    quoted = f"{MARKER}\nI quote the bot's marker"
    FakeGitHub.comments[3]["body"] = quoted  # a reviewer's comment that starts with the marker
    FakeGitHub.comments[4].update(body=f"see {MARKER}", user={"login": "github-actions[bot]"})
    first = upsert_comment(f"{MARKER}\nfirst", "o/r", 7, "t0ken", github)
    assert [m for m, _ in FakeGitHub.requests].count("PATCH") == 0, "someone else's comment was edited"
    second = upsert_comment(f"{MARKER}\nsecond", "o/r", 7, "t0ken", github)
    assert second == first and FakeGitHub.comments[3]["body"] == quoted
    assert FakeGitHub.comments[4]["body"] == f"see {MARKER}"
    assert FakeGitHub.comments[-1]["body"].endswith("second")
    # a personal token: the comment is matched by the login GitHub's /user names
    FakeGitHub.login = "ci-user"
    FakeGitHub.comments[5].update(body=f"{MARKER}\nold", user={"login": "ci-user"})
    upsert_comment(f"{MARKER}\nthird", "o/r", 7, "t0ken", github)
    assert FakeGitHub.comments[5]["body"].endswith("third")


def test_github_failures_are_one_line(github: str) -> None:
    with pytest.raises(UsageError, match="needs a token"):
        upsert_comment("x", "o/r", 7, "", github)
    FakeGitHub.fail_with = 401
    with pytest.raises(UsageError, match=r"GitHub API GET .* HTTP 401"):
        upsert_comment("x", "o/r", 7, "t0ken", github)
    with pytest.raises(UsageError, match="GitHub API GET"):
        upsert_comment("x", "o/r", 7, "t0ken", "http://127.0.0.1:9")
