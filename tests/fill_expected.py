"""Dev tool: write `expected=` into a rule's INVALID examples that a fix now changes.

    python -m tests.fill_expected [--refresh] MIG101 [MIG103 ...]

It prints each new expected source for review and edits the rule's file with libcst; review the
diff as you would a golden file. Examples that already give `expected` are left alone unless
`--refresh` rewrites them from what the fix now produces.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import libcst as cst

from rewrites.project import index_project
from rewrites.python_checker import fix_text
from rewrites.registry import find_rule


def fill(code: str, refresh: bool = False) -> None:
    rule = find_rule(code)
    if rule is None:
        raise SystemExit(f"no rule {code}")
    path = Path(inspect.getfile(rule))
    module_namespace = inspect.getmodule(rule)
    module = cst.parse_module(path.read_text())
    fixed = {}
    for case in rule.INVALID:
        if case.expected is None or refresh:
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
            kept = [a for a in updated.args if not (a.keyword and a.keyword.value == "expected")]
            if len(kept) != len(updated.args) and not refresh:
                return updated
            source = cst.Module([]).code_for_node(updated.args[0].value)
            value = eval(f"({source})", vars(module_namespace))  # our own rule file, not user input
            if not isinstance(value, str) or value not in fixed:
                return updated
            expected = cst.Arg(cst.parse_expression(repr(fixed[value])), keyword=cst.Name("expected"))
            return updated.with_changes(args=[*kept, expected])

    path.write_text(module.visit(AddExpected()).code)


if __name__ == "__main__":
    refresh = "--refresh" in sys.argv
    for argument in sys.argv[1:]:
        if argument != "--refresh":
            fill(argument, refresh)
