"""The per-block index behind the export fixes' look-backs answers as a walk of every earlier
statement does (rewrites.rules._export: it made ``apply`` linear in findings)."""

from __future__ import annotations

import libcst as cst
import pytest

from rewrites.names import ImportTable, subtree
from rewrites.python_checker import FileContext, _Dispatcher, _is_known
from rewrites.python_checker import PythonRule as Rule
from rewrites.registry import all_rules
from rewrites.rules._export import (
    _EXAMPLE_NAMES,
    _calls_in,
    assigned_value,
    find_example_args,
    plain_assignments,
)


def _statements_before(rule: Rule, innermost_scope: bool = False) -> list[cst.BaseStatement]:
    """The walk the index replaced: earlier statements of each enclosing block, outermost first."""
    before: list[cst.BaseStatement] = []
    stack = rule.ctx.stack
    start = 0
    if innermost_scope:
        functions = [i for i, node in enumerate(stack) if isinstance(node, cst.FunctionDef)]
        start = functions[-1] if functions else 0
    for depth, block in enumerate(stack[:-1]):
        if depth >= start and isinstance(block, (cst.Module, cst.IndentedBlock)):
            for statement in block.body:
                if statement is stack[depth + 1]:
                    break
                before.append(statement)
    return before


def _walked_assigned_value(rule: Rule, name: str) -> cst.BaseExpression | None:
    found = None
    for statement in _statements_before(rule):
        for assigned, value in plain_assignments(statement):
            if assigned == name:
                found = value
    return found


def _walked_call_args(rule: Rule, model_code: str) -> cst.Tuple | None:
    for statement in _statements_before(rule, innermost_scope=True):
        for func, args in _calls_in(statement):
            if func == model_code:
                return args
    return None


class _Probe(Rule):
    """At every name, asks the index and the walk the same questions."""

    checked = 0

    def visit_Name(self, node: cst.Name) -> None:
        empty = cst.Module([])
        for name in {node.value, *_EXAMPLE_NAMES[:3]}:
            assert assigned_value(self, name) is _walked_assigned_value(self, name), name
        walked = _walked_call_args(self, node.value)
        found = find_example_args(self, node, project=False)
        if walked is not None:  # the same call's arguments (each answer is a new tuple of them)
            assert isinstance(found, cst.Tuple)
            assert [e.value for e in found.elements] == [e.value for e in walked.elements]
        elif found is not None:  # from an example-named variable: same as the walk finds it
            assert any(_walked_assigned_value(self, n) is not None for n in _EXAMPLE_NAMES)
            assert empty.code_for_node(found)
        type(self).checked += 1


SOURCES = [
    "x = 1\nm = make()\nm(x, y)\nx = 2\nif a:\n    x = 3\n    m(z)\n    f(x)\nf(x)\n",
    "a = 1; a = 2; g(a)\ndef f():\n    a = 3\n    m(1, 2)\n    for i in r:\n        a = 4\n        m(3)\n        h(a)\n    h(a)\n",
    "example_inputs = (t,)\nclass C:\n    x = 1\n    def g(self):\n        y = x\n        m(y)\n        return y\n",
    "m(1)\nm(2)\ndef f():\n    m(3)\n    def g():\n        m(4)\n        k(m)\n    k(m)\n",
    "",
]


@pytest.mark.parametrize(
    "source",
    SOURCES
    + [
        case.code
        for rule in all_rules()
        if "python" in rule.languages
        for cases in (rule.VALID, rule.INVALID)
        for case in cases
    ],
)
def test_index_answers_as_the_walk(source: str) -> None:
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError:
        pytest.skip("not Python")
    ctx = FileContext(ImportTable(_is_known))
    _Probe.checked = 0
    _Dispatcher(ctx, [_Probe(ctx)]).walk(module)
    # every name outside import statements was asked about
    imported = {
        id(n) for s in subtree(module) if isinstance(s, (cst.Import, cst.ImportFrom)) for n in subtree(s)
    }
    assert _Probe.checked == sum(isinstance(n, cst.Name) and id(n) not in imported for n in subtree(module))
