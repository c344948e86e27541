"""Every rule's VALID / INVALID examples, run through the real engine (prefilter included)."""

from __future__ import annotations

import pytest

from rewrites.core import Invalid, Rule, Valid
from rewrites.model import FixSafety
from rewrites.prefilter import FilePrefilter
from rewrites.project import ProjectIndex, index_project
from rewrites.python_checker import check_source, fix_text, lint_text, python_rules
from rewrites.registry import all_rules
from tests.conftest import case_id

PYTHON_RULES = python_rules(all_rules())  # app rules (MIG6xx): tests/test_app_rules.py
CASES = [
    pytest.param(rule, case, id=case_id(rule, case))
    for rule in PYTHON_RULES
    for case in (*rule.VALID, *rule.INVALID)
]


def _project(case: Valid | Invalid) -> ProjectIndex:
    """The project an example sits in: its own file (``example.py``) and ``case.project``."""
    return index_project([("example.py", case.code), *case.project])


def _findings(rule: type[Rule], code: str, project: ProjectIndex | None = None) -> list:
    outcome = check_source(code.encode(), all_rules(), project or index_project([]))
    assert outcome.error is None, outcome.error
    return [f for f in outcome.findings if f.code == rule.code]


@pytest.mark.parametrize(("rule", "case"), CASES)
def test_rule_case(rule: type[Rule], case: Valid | Invalid) -> None:
    found = _findings(rule, case.code, _project(case))
    if isinstance(case, Valid):
        assert found == [], f"{rule.code} reported valid code:\n{case.code}"
        return
    assert case.count >= 1 and len(found) == case.count, f"{rule.code} found {found} in:\n{case.code}"
    first = found[0]
    assert first.name == rule.name
    assert first.message == (case.message or rule.message)
    if case.line is not None:
        assert first.line == case.line
    if case.column is not None:
        assert first.column == case.column


@pytest.mark.parametrize("rule", PYTHON_RULES, ids=lambda r: r.code)
def test_invalid_cases_survive_the_prefilter(rule: type[Rule]) -> None:
    for case in rule.INVALID:
        assert FilePrefilter(case.code).admits(rule), f"{rule.code} prefilter rejects:\n{case.code}"


@pytest.mark.parametrize("rule", PYTHON_RULES, ids=lambda r: r.code)
def test_prefilter_admits_every_spelled_out_name(rule: type[Rule]) -> None:
    for name in rule.names:
        if not name.endswith("*"):
            module, _, attr = name.rpartition(".")
            for source in (
                f"import {module}\n{name}(x)\n",
                f"from {module} import {attr} as a\na(x)\n",
                f"from {module} import (\n    b,\n    {attr},\n)\n{attr}(x)\n",
                f"import {module} as m  # comment\nm.{attr}(x)\n",
                f"from {module} import *\n{attr}(x)\n",
            ):
                assert FilePrefilter(source).admits(rule), source
                # every spelling of the name is the same use: found as often as spelled out
                assert len(check_source(source.encode(), [rule]).findings) == len(
                    check_source(f"import {module}\n{name}(x)\n".encode(), [rule]).findings
                ), source


FIX_CASES = [
    pytest.param(rule, case, id=case_id(rule, case).replace("-invalid-", "-fix-"))
    for rule in PYTHON_RULES
    for case in rule.INVALID
    if case.expected is not None
]


@pytest.mark.parametrize(("rule", "case"), FIX_CASES)
def test_fix_gives_the_expected_source_and_is_idempotent(rule: type[Rule], case: Invalid) -> None:
    project = _project(case)
    text, fixed, _ = fix_text(case.code, [rule], unsafe=True, project=project)
    assert text == case.expected
    assert fixed and {f.code for f in fixed} == {rule.code}
    again, fixed_again, remaining = fix_text(text, [rule], unsafe=True, project=project)
    assert again == text and fixed_again == ()
    assert all(f.fix is None for f in remaining), "a fix left something it could still fix"


@pytest.mark.parametrize("rule", PYTHON_RULES, ids=lambda r: r.code)
def test_every_fix_a_rule_offers_is_pinned_by_an_example(rule: type[Rule]) -> None:
    for case in rule.INVALID:
        offered = any(f.fix is not None for f in lint_text(case.code, [rule], _project(case)))
        if rule.fix_safety is FixSafety.DISPLAY_ONLY:
            assert not offered, f"{rule.code} is display-only but offers a fix"
        elif offered:
            assert case.expected is not None, (
                f"{rule.code} fixes this example but gives no expected source:\n{case.code}"
            )


def test_a_tensor_branch_shown_by_no_call_is_reported_without_a_fix() -> None:
    """fairseq's `if update_num < 2 * warmup:` (an int the trainer passes) became torch.cond."""
    from rewrites.rules.tensor_condition import TensorCondition

    model = "import torch\nclass M(torch.nn.Module):\n    def forward(self, x, step):\n"
    bare = lint_text(
        model + "        if step < 2 * self.warmup:\n            x = x * 2\n        return x\n",
        [TensorCondition],
    )
    shown = lint_text(
        model + "        if x.sum() > 0:\n            x = x * 2\n        return x\n", [TensorCondition]
    )
    assert [f.fix for f in bare] == [None]
    assert [f.fix is not None for f in shown] == [True]


@pytest.mark.parametrize(
    "branch",
    [
        "        if not x.any():\n            x = None\n",  # a Python bool, and None on one side
        "        if x.sum() > 0:\n            x = None\n",
        "        if x.any():\n            masks = [x]\n        else:\n            masks = []\n",
        "        y = [x] if x.any() else []\n",
        "        if x is not None and x.any():\n            x = x * 2\n",
    ],
)
def test_no_torch_cond_where_a_branch_is_no_tensor_or_the_test_a_python_bool(branch: str) -> None:
    """What fairseq's encoders showed: torch.cond over `None`, `[x]` or `not t.any()` fails where
    the branch ran before."""
    from rewrites.rules.tensor_condition import TensorCondition

    source = (
        "import torch\nclass M(torch.nn.Module):\n    def forward(self, x):\n" + branch + "        return x\n"
    )
    found = lint_text(source, [TensorCondition])
    assert found and all(f.fix is None for f in found)
