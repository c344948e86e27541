"""Dev tool: write `expected=` into a rule's INVALID examples that a fix now changes.

    python -m tests.fill_expected [--refresh] [--messages] MIG101 [MIG103 ...]

It prints each new expected source for review and edits the rule's file with libcst; review the
diff as you would a golden file. Examples that already give `expected` are left alone unless
`--refresh` rewrites them from what the fix now produces. With `--messages` it writes `message=`
instead: the message of the example's first finding, where it is not the rule's own `message`.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import libcst as cst

from rewrites.app_checker import check_app
from rewrites.core import Invalid, Rule
from rewrites.project import index_project
from rewrites.python_checker import check_source, fix_text
from rewrites.registry import all_rules, find_rule


def first_message(rule: type[Rule], case: Invalid) -> str | None:
    """The message of the first finding of ``rule`` in the example, as the tests check it."""
    if "python" in rule.languages:
        project = index_project([("example.py", case.code), *case.project])
        outcome = check_source(case.code.encode(), all_rules(), project)
    else:
        outcome = check_app(case.code.encode(), case.path or "", all_rules())
    return next((f.message for f in outcome.findings if f.code == rule.code), None)


def fill(code: str, refresh: bool = False, field: str = "expected") -> None:
    rule = find_rule(code)
    if rule is None:
        raise SystemExit(f"no rule {code}")
    path = Path(inspect.getfile(rule))
    module_namespace = inspect.getmodule(rule)
    module = cst.parse_module(path.read_text())
    fixed = {}
    for case in rule.INVALID:
        if field == "message":
            message = first_message(rule, case)
            if message is not None and message != rule.message and (case.message is None or refresh):
                # examples are found by their code: one code with two messages is left to you
                same = [c for c in rule.INVALID if c.code == case.code and first_message(rule, c) != message]
                if same:
                    print(f"{code}: two examples of this code differ in message, not written:\n{case.code}")
                    continue
                fixed[case.code] = message
                print(f"{code}:\n{case.code}=>\n{message}")
        elif case.expected is None or refresh:
            project = index_project([("example.py", case.code), *case.project])
            text, applied, _ = fix_text(case.code, [rule], unsafe=True, project=project)
            if applied:
                fixed[case.code] = text
                print(f"{code}:\n{case.code}=>\n{text}")

    class AddExpected(cst.CSTTransformer):
        def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
            if (
                not (isinstance(updated.func, cst.Name) and updated.func.value == "Invalid")
                or not updated.args
            ):
                return updated
            kept = [a for a in updated.args if not (a.keyword and a.keyword.value == field)]
            if len(kept) != len(updated.args) and not refresh:
                return updated
            source = cst.Module([]).code_for_node(updated.args[0].value)
            value = eval(f"({source})", vars(module_namespace))  # our own rule file, not user input
            if not isinstance(value, str) or value not in fixed:
                return updated
            no_space = cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace(""))
            expected = cst.Arg(
                cst.parse_expression(repr(fixed[value])), keyword=cst.Name(field), equal=no_space
            )
            comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
            return updated.with_changes(args=[*kept[:-1], kept[-1].with_changes(comma=comma), expected])

    path.write_text(module.visit(AddExpected()).code)


if __name__ == "__main__":
    refresh = "--refresh" in sys.argv
    field = "message" if "--messages" in sys.argv else "expected"
    for argument in sys.argv[1:]:
        if not argument.startswith("--"):
            fill(argument, refresh, field)
