"""Scanning only the methods export traces finds exactly what parsing the whole file finds."""

from __future__ import annotations

from pathlib import Path

import pytest

from rewrites.entry_slice import entry_slice
from rewrites.python_checker import analyse, lint_text
from rewrites.registry import all_rules
from rewrites.rules._values import EntryMethodRule
from tests.conftest import case_id

ENTRY_RULES = [rule for rule in all_rules() if issubclass(rule, EntryMethodRule)]
ROOT = Path(__file__).resolve().parent.parent

_MODEL = """\
import torch
from torch import nn
try:
    from typing import Optional
except ImportError:  # pragma: no cover
    Optional = None


def where(x):  # shadows nothing, but is defined before the model
    return x


class Block(nn.Module):
    def __init__(self, k: int):
        super().__init__()
        import math
        self.k = math.floor(k)

    def forward(self, x, k: int = 2):
        return x * k


class Model(nn.Module):
    \"\"\"Docs.\"\"\"

    def __init__(self):
        super().__init__()
        self.block = Block(3)

    @torch.no_grad()
    def forward(self, x, scale: float):
        if x.sum() > 0:
            x = x * 2
        n = x.max().item()
        return self.block(x[:n], 2)

    def helper(self, x):
        if x.sum() > 0:
            return x
        return -x


def build():
    class Local(nn.Module):
        def forward(self, x):
            while x.sum() > 0:
                x = x - 1
            return x

    return Local()


class Plain(nn.Module):
    def forward(self, x):
        return x + 1
"""

CASES = {
    "model": _MODEL,
    "no constructs": "import torch\nclass M(torch.nn.Module):\n    def forward(self, x):\n        return x * 2\n",
    "inside an if": "import torch\nif True:\n    class M(torch.nn.Module):\n        def forward(self, x):\n"
    "            if x.sum() > 0:\n                return x\n            return -x\n",
    "crlf": "import torch\r\nclass M(torch.nn.Module):\r\n    def forward(self, x):\r\n        if x.sum() > 0:\r\n"
    "            return x\r\n        return -x\r\n",
    "shadowed import": "from torch import where\ndef where(c, a, b):\n    return a\nclass M:\n    def forward(self, x):\n"
    "        if where(x > 0, x, x).sum() > 0:\n            return x\n        return x\n",
    "called scalar class": _MODEL.replace("k: int = 2", "k: int"),
    "not python 3": "import torch\nclass M(torch.nn.Module):\n    def forward(self, x):\n        print x\n",
    "suppressed": "import torch\nclass M(torch.nn.Module):\n    def forward(self, x):\n"
    "        if x.sum() > 0:  # migrate: ignore[MIG401]\n            return x\n        return -x\n",
}


def _examples() -> dict[str, str]:
    found = dict(CASES)
    for rule in all_rules():
        for case in (*rule.VALID, *rule.INVALID):
            if case.path is None:
                found[case_id(rule, case)] = case.code
    for path in sorted((ROOT / "samples").rglob("*.py")) + sorted(
        (ROOT / "tests" / "fixtures").rglob("*.py")
    ):
        found[str(path.relative_to(ROOT))] = path.read_text(encoding="utf-8")
    return found


EXAMPLES = _examples()


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_the_slice_finds_what_the_whole_file_finds(name: str) -> None:
    text = EXAMPLES[name]
    try:
        whole = lint_text(text, ENTRY_RULES)
    except Exception:
        return  # does not parse: the engine reports that from the whole file
    outcome = analyse(text, ENTRY_RULES)
    assert outcome.error is None
    assert outcome.findings == whole


def test_the_slice_keeps_lines_and_drops_what_cannot_report() -> None:
    part = entry_slice(_MODEL)
    assert part is not None
    assert part.count("\n") == _MODEL.count("\n")
    assert "def helper" not in part and "class Plain" not in part and "import math" not in part
    assert "n = x.max().item()" in part and "while x.sum() > 0" in part
    assert entry_slice(CASES["no constructs"]) == ""
    assert entry_slice(CASES["inside an if"]) is None
    assert entry_slice(CASES["called scalar class"]) is None  # MIG405 needs every class
