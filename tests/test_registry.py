"""The rule catalogue is consistent: unique codes and names, complete docs, real examples."""

from __future__ import annotations

import re

import pytest

from rewrites.core import DOC_SECTIONS, Rule
from rewrites.model import FixSafety
from rewrites.registry import (
    SelectorError,
    all_rules,
    check_selectors,
    find_rule,
    select_rules,
    unknown_selectors,
)

RULES = all_rules()


def test_codes_and_names_are_unique() -> None:
    assert len({r.code for r in RULES}) == len(RULES)
    assert len({r.name for r in RULES}) == len(RULES)


def test_every_family_is_present() -> None:
    assert {r.code[:4] for r in RULES} == {"MIG1", "MIG2", "MIG3", "MIG4", "MIG5", "MIG6"}
    assert len(RULES) >= 40


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_rule_is_complete(rule: type[Rule]) -> None:
    assert re.fullmatch(r"MIG[1-9]\d\d", rule.code)
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.name)
    assert rule.message and not rule.message.endswith(".")
    doc = rule.doc()
    headings = re.findall(r"^## (.+)$", doc, flags=re.M)
    assert headings == list(DOC_SECTIONS), f"{rule.code} doc sections: {headings}"
    assert rule.VALID and rule.INVALID, f"{rule.code} needs VALID and INVALID examples"
    assert rule.tokens or rule.names, f"{rule.code} has no prefilter, so it would never run"
    if rule.fix_safety is not FixSafety.DISPLAY_ONLY:
        assert rule.fix_title, f"{rule.code} can be fixed but names no fix"
    safety_section = doc.split("## Fix safety", 1)[1].strip().split(":")[0].split()[0].lower()
    expected = {FixSafety.SAFE: "safe", FixSafety.UNSAFE: "unsafe", FixSafety.DISPLAY_ONLY: "display-only"}
    assert safety_section.rstrip(".") == expected[rule.fix_safety], f"{rule.code} doc disagrees on fix safety"


def test_select_by_prefix_code_and_name() -> None:
    assert {r.code[:4] for r in select_rules(["MIG3"])} == {"MIG3"}
    assert [r.code for r in select_rules(["MIG301"])] == ["MIG301"]
    assert [r.code for r in select_rules(["jit-ignore"])] == ["MIG301"]
    assert "MIG301" not in {r.code for r in select_rules(None, ["MIG3"])}
    assert select_rules(["ALL"]) == RULES


def test_unknown_selectors_are_reported() -> None:
    assert unknown_selectors(["MIG3", "MIG9", "no-such-rule"]) == ["MIG9", "no-such-rule"]
    assert find_rule("mig301") is find_rule("jit-ignore") is not None


def test_selectors_are_checked_by_one_function_that_names_where() -> None:
    assert check_selectors(["mig3", "ALL", "jit-ignore"], "--select") == ("mig3", "ALL", "jit-ignore")
    with pytest.raises(
        SelectorError, match=r"^x\.toml: \[tool\.migrate\] ignore: no rule matches 'MIG9', 'jit-scirpt' "
    ):
        check_selectors(["MIG3", "MIG9", "jit-scirpt"], "x.toml: [tool.migrate] ignore")
    with pytest.raises(SelectorError, match=r"^--select holds an empty rule selector$"):
        check_selectors(["MIG3", " "], "--select")  # it would match every rule


def test_docs_rules_are_generated_from_the_rules(capsys) -> None:
    """docs/rules/ is stale when a rule, its docs or its examples change: `python -m migrate.docs`."""
    from migrate import docs

    assert docs.main(["--check"]) == 0, capsys.readouterr().out
    assert set(docs.pages()) == {"README.md", *(f"{r.code}.md" for r in all_rules())}
