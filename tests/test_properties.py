"""Whatever bytes it is given, the engine returns a value and never raises."""

from __future__ import annotations

import libcst
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rewrites.core import FileOutcome, FixOutcome
from rewrites.python_checker import check_source, fix_source
from rewrites.registry import all_rules

RULES = all_rules()
EXAMPLES = [case.code for rule in RULES for case in (*rule.VALID, *rule.INVALID)]
SNIPPETS = [
    "import torch",
    "from torch import jit",
    "from torch.jit import *",
    "torch.jit.script(m)",
    "class M(torch.nn.Module):",
    "    def forward(self, x):",
    "        if x.sum() > 0:",
    "            return x.item()",
    "@torch.jit.ignore",
    "# migrate: ignore[MIG101]",
    "(",
    ")",
    "'''",
    "\\",
    "\t",
    "lambda: ",
    "\x00",
    "é",
    "\r\n",
    "x[:k]",
    "while",
    "for t in x:",
]
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_is_an_outcome(data: bytes) -> None:
    outcome = check_source(data, RULES)
    assert isinstance(outcome, FileOutcome)
    assert outcome.error is None or "\n" not in outcome.error
    for finding in outcome.findings:
        assert finding.line >= 1 and finding.column >= 1
        assert (finding.end_line, finding.end_column) >= (finding.line, finding.column)


@SETTINGS
@given(st.binary(max_size=2000))
def test_arbitrary_bytes(data: bytes) -> None:
    assert_is_an_outcome(b"import torch\n" + data)


@SETTINGS
@given(st.lists(st.sampled_from(SNIPPETS), max_size=40), st.sampled_from(["\n", " ", ""]))
def test_arbitrary_arrangements_of_relevant_code(parts: list[str], joiner: str) -> None:
    assert_is_an_outcome(joiner.join(parts).encode("utf-8", "surrogatepass"))


@st.composite
def mutated_example(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(EXAMPLES))
    for _ in range(draw(st.integers(1, 4))):
        if not text:
            break
        at = draw(st.integers(0, len(text) - 1))
        action = draw(st.sampled_from(["delete", "insert", "duplicate"]))
        if action == "delete":
            text = text[:at] + text[at + 1 :]
        elif action == "insert":
            text = (
                text[:at] + draw(st.sampled_from(["(", ":", "\n", " ", "'", "#", "torch.jit."])) + text[at:]
            )
        else:
            text = text[:at] + text[at:] + text[at:]
    return text


@SETTINGS
@given(mutated_example())
def test_mutated_rule_examples(source: str) -> None:
    assert_is_an_outcome(source.encode())


def assert_fix_is_stable(data: bytes) -> None:
    outcome = fix_source(data, RULES, unsafe=True)
    assert isinstance(outcome, FixOutcome)
    if outcome.data is None:
        return
    assert outcome.text is not None
    libcst.parse_module(outcome.text)  # what a fix writes always parses
    again = fix_source(outcome.data, RULES, unsafe=True)
    assert again.data is None and again.fixed == (), "a second apply changed something"


@SETTINGS
@given(mutated_example())
def test_apply_on_mutated_examples_is_stable(source: str) -> None:
    assert_fix_is_stable(source.encode())


@SETTINGS
@given(st.lists(st.sampled_from(EXAMPLES), min_size=1, max_size=4))
def test_apply_on_combined_examples_is_stable(sources: list[str]) -> None:
    assert_fix_is_stable("\n".join(sources).encode())


APP_FILES = [
    "A.java",
    "A.kt",
    "build.gradle",
    "build.gradle.kts",
    "libs.versions.toml",
    "Podfile",
    "a.cpp",
    "T.mm",
    "V.swift",
    "CMakeLists.txt",
]
APP_EXAMPLES = [
    case.code for rule in RULES if "python" not in rule.languages for case in (*rule.VALID, *rule.INVALID)
]
APP_SNIPPETS = [
    "/*",
    "*/",
    "//",
    '"',
    "'",
    '"""',
    "{",
    "}",
    "(",
    ")",
    "[0]",
    "::",
    "#include <",
    "\\",
    "\r\n",
    "é",
    "\x00",
    "${",
    '@"',
]


@SETTINGS
@given(
    name=st.sampled_from(APP_FILES),
    parts=st.lists(st.sampled_from(APP_EXAMPLES + APP_SNIPPETS), max_size=6),
    noise=st.binary(max_size=40),
)
def test_app_files_never_raise_and_fixes_converge(name: str, parts: list[str], noise: bytes) -> None:
    """Mutated app examples: scanning returns a value, and a fixed file has nothing left to fix."""
    from rewrites.app_checker import check_app, fix_app

    data = "\n".join(parts).encode("utf-8", "surrogatepass") + noise
    outcome = check_app(data, name, RULES)
    assert isinstance(outcome, FileOutcome)
    fixed = fix_app(data, name, RULES, unsafe=True)
    assert isinstance(fixed, FixOutcome)
    if fixed.data is not None:
        again = fix_app(fixed.data, name, RULES, unsafe=True)
        assert again.error is None and again.data is None, (data, fixed.text, again.text)
