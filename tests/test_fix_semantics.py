"""A fix never turns running code into failing (or differently computing) code.

Every rule example that a fix rewrites is run as written and as fixed, each in a fresh module
in one worker interpreter: when the original runs, the fixed code must run too and leave the
same plain values (numbers, strings, containers, tensors) behind. Examples that cannot run on
their own (fragments using names they never define) are skipped by the same measure, so making
an example runnable is how a rule's fix gets this check.

MIG313 writes `torch.jit.isinstance` out as plain checks; hypothesis feeds it generated type
expressions and values and compares the two in eager mode.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rewrites.python_checker import fix_text, python_rules
from rewrites.registry import all_rules
from rewrites.rules.jit_isinstance import JitIsinstance
from tests.conftest import NEEDS_EXPORT, case_id

pytest.importorskip("torch", reason=NEEDS_EXPORT)  # the worker runs each example with torch
pytest.importorskip("executorch", reason=NEEDS_EXPORT)

_WORKER = r"""
import json, os, runpy, shutil, sys, tempfile, warnings
warnings.simplefilter("ignore")
import torch

def plain(value, depth=0):
    if depth > 5:
        raise TypeError
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return [type(value).__name__, repr(value)]
    if isinstance(value, torch.Tensor):
        return ["tensor", str(value.dtype), value.detach().tolist()]
    if isinstance(value, (list, tuple)):
        return [type(value).__name__, [plain(v, depth + 1) for v in value]]
    if isinstance(value, dict):
        return ["dict", [[plain(k, depth + 1), plain(v, depth + 1)] for k, v in value.items()]]
    raise TypeError

def run(code, folder, name):
    path = os.path.join(folder, name + ".py")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(code)
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        namespace = runpy.run_path(path, run_name="__main__")
    except BaseException as exc:
        return {"raised": type(exc).__name__, "message": str(exc)[:300]}
    finally:
        os.chdir(cwd)
    values = {}
    for key, value in namespace.items():
        if not key.startswith("__"):
            try:
                values[key] = plain(value)
            except TypeError:
                pass
    return {"values": values}

for line in sys.stdin:
    case = json.loads(line)
    folder = tempfile.mkdtemp(prefix="fix-semantics-")
    before = run(case["original"], folder, "original_" + str(case["index"]))
    after = run(case["fixed"], folder, "fixed_" + str(case["index"])) if "values" in before else None
    shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps({"id": case["id"], "before": before, "after": after}), flush=True)
"""

FIX_CASES = [
    (case_id(rule, case).replace("-invalid-", "-fix-"), rule, case)
    for rule in python_rules(all_rules())
    for case in rule.INVALID
    if case.expected is not None
]


def run_cases(cases: list[tuple[str, str, str]]) -> dict[str, dict]:
    """Each (id, original, fixed) run in the worker; what each left behind, by id."""
    lines = "".join(
        json.dumps({"id": cid, "index": i, "original": original, "fixed": fixed}) + "\n"
        for i, (cid, original, fixed) in enumerate(cases)
    )
    done = subprocess.run(
        [sys.executable, "-c", _WORKER], input=lines, capture_output=True, text=True, timeout=900, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = [json.loads(line) for line in done.stdout.splitlines() if line.startswith('{"id"')]
    return {r["id"]: r for r in results}


@pytest.fixture(scope="module")
def executed() -> dict[str, dict]:
    cases = []
    for cid, rule, case in FIX_CASES:
        fixed, _, _ = fix_text(case.code, [rule], unsafe=True)
        cases.append((cid, case.code, fixed))
    return run_cases(cases)


def assert_same_behaviour(result: dict) -> None:
    before, after = result["before"], result["after"]
    if "values" not in before:
        return  # the example does not run on its own: nothing to compare
    assert after is not None and "values" in after, f"the fixed code fails: {after}"
    for name, value in before["values"].items():
        assert after["values"].get(name) == value, (
            f"{name}: {value} before the fix, {after['values'].get(name)} after"
        )


@pytest.mark.parametrize(("cid", "rule", "case"), FIX_CASES, ids=[c[0] for c in FIX_CASES])
def test_fixed_example_runs_like_the_original(executed: dict[str, dict], cid: str, rule, case) -> None:
    assert_same_behaviour(executed[cid])


def test_a_fix_that_breaks_running_code_is_caught() -> None:
    """The check itself: the fix MIG313 used to offer (`isinstance(v, Tuple[...])`) fails it."""
    original = (
        "import torch\nfrom typing import Tuple\nv = (1, 2)\nok = torch.jit.isinstance(v, Tuple[int, int])\n"
    )
    broken = "import torch\nfrom typing import Tuple\nv = (1, 2)\nok = isinstance(v, Tuple[int, int])\n"
    lossy = "import torch\nfrom typing import Tuple\nv = (1, 2)\nok = isinstance(v, tuple) and len(v) == 3\n"
    results = run_cases([("broken", original, broken), ("lossy", original, lossy)])
    for result in results.values():
        with pytest.raises(AssertionError):
            assert_same_behaviour(result)


def test_runnable_examples_cover_the_isinstance_fix(executed: dict[str, dict]) -> None:
    ran = [cid for cid, result in executed.items() if "values" in result["before"]]
    assert sum(cid.startswith("MIG313") for cid in ran) >= 4


# ---- MIG313 on generated types and values -------------------------------------------------

_LEAVES = ["int", "float", "str", "bool", "Tensor", "torch.Tensor"]


def _types(depth: int = 3) -> st.SearchStrategy[str]:
    leaf = st.sampled_from(_LEAVES)
    if depth == 0:
        return leaf
    inner = _types(depth - 1)
    return st.one_of(
        leaf,
        inner.map(lambda t: f"List[{t}]"),
        inner.map(lambda t: f"list[{t}]"),
        st.tuples(leaf, inner).map(lambda kv: f"Dict[{kv[0]}, {kv[1]}]"),
        st.lists(inner, min_size=1, max_size=3).map(lambda ts: f"Tuple[{', '.join(ts)}]"),
        inner.map(lambda t: f"Optional[{t}]"),
        st.lists(inner, min_size=2, max_size=3).map(lambda ts: f"Union[{', '.join(ts)}]"),
    )


_SCALARS = st.sampled_from(["1", "2.5", "'a'", "True", "None", "torch.ones(2)", "torch.tensor(3)"])
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda vs: f"[{', '.join(vs)}]"),
        st.lists(inner, max_size=3).map(lambda vs: f"({''.join(v + ', ' for v in vs)})"),
        st.lists(st.tuples(st.sampled_from(["'k'", "1", "'j'"]), inner), max_size=2).map(
            lambda kvs: "{" + ", ".join(f"{k}: {v}" for k, v in kvs) + "}"
        ),
    ),
    max_leaves=6,
)
_PRELUDE = "import torch\nfrom typing import Dict, List, Optional, Tuple, Union\nfrom torch import Tensor\n"


def _outcome(code: str) -> tuple[str, object]:
    namespace: dict[str, object] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            exec(compile(code, "<case>", "exec"), namespace)
        except Exception as exc:
            return "raised", type(exc).__name__
    return "ok", namespace["ok"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    _types(),
    _VALUES,
    st.sampled_from(["ok = {}\n", "ok = not {}\n", "ok = [{}][0]\n", "ok = 1 if {} else 0\n"]),
)
# typing flattens a union in a union, and a union of one type is that type (no None shortcut)
@example("Optional[Union[Optional[int], List[int]]]", "[]", "ok = {}\n")
@example("Union[Tensor, torch.Tensor]", "None", "ok = {}\n")
@example("Union[List[int], List[int]]", "None", "ok = {}\n")
@example("List[Union[Optional[str], Optional[str]]]", "[None, 'a']", "ok = {}\n")
def test_isinstance_fix_computes_what_torch_jit_isinstance_computes(
    type_: str, value: str, shape: str
) -> None:
    original = _PRELUDE + f"v = {value}\n" + shape.format(f"torch.jit.isinstance(v, {type_})")
    fixed, done, _ = fix_text(original, [JitIsinstance], unsafe=True)
    assert done, f"no fix offered for {type_}"
    assert "torch.jit.isinstance" not in fixed
    assert _outcome(fixed) == _outcome(original), fixed
