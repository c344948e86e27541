"""Every app rule's (MIG6xx) VALID / INVALID examples through the real app engine: findings,
positions, the fixed text, idempotency, and that what a fix writes still parses."""

from __future__ import annotations

import pytest

from rewrites.app_checker import AppRule, app_rules, check_app, fix_app
from rewrites.app_source import language_of, parse_app
from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.registry import all_rules
from tests.conftest import case_id

RULES = app_rules(all_rules())
CASES = [
    pytest.param(rule, case, id=case_id(rule, case))
    for rule in RULES
    for case in (*rule.VALID, *rule.INVALID)
]


def _path(rule: type[AppRule], case: Valid | Invalid) -> str:
    assert case.path is not None, f"{rule.code}: an app rule's example names its file"
    return case.path


@pytest.mark.parametrize(("rule", "case"), CASES)
def test_app_rule_case(rule: type[AppRule], case: Valid | Invalid) -> None:
    path = _path(rule, case)
    assert language_of(path.rsplit("/", 1)[-1]) in rule.languages
    outcome = check_app(case.code.encode(), path, all_rules())
    assert outcome.error is None, outcome.error
    found = [f for f in outcome.findings if f.code == rule.code]
    if isinstance(case, Valid):
        assert found == [], f"{rule.code} reported valid code:\n{case.code}"
        return
    assert case.count >= 1 and len(found) == case.count, f"{rule.code} found {found} in:\n{case.code}"
    assert found[0].message == (case.message or rule.message)
    if case.line is not None:
        assert found[0].line == case.line
    if case.column is not None:
        assert found[0].column == case.column
    fixed = fix_app(case.code.encode(), path, [rule], unsafe=True)
    assert fixed.error is None, fixed.error
    if rule.fix_safety is FixSafety.DISPLAY_ONLY:
        assert fixed.text is None and not fixed.created
        return
    if case.expected is not None:
        assert (fixed.text or case.code) == case.expected
        again = fix_app(case.expected.encode(), path, [rule], unsafe=True)
        assert again.text is None, f"{rule.code} is not idempotent:\n{again.text}"
        language = language_of(path.rsplit("/", 1)[-1])
        assert language is not None
        before = parse_app(case.code, language, count_errors=True).errors
        assert parse_app(case.expected, language, count_errors=True).errors <= before


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_fixable_app_rules_show_their_fix(rule: type[AppRule]) -> None:
    if rule.fix_safety is not FixSafety.DISPLAY_ONLY:
        assert any(case.expected is not None for case in rule.INVALID)
