"""Parsing only the slice of a file the rules can report in finds exactly what parsing the whole
file finds (rewrites.source_slice)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rewrites.python_checker import _is_known, check_source, lint_text, python_rules
from rewrites.registry import all_rules
from rewrites.rules._values import EntryMethodRule
from rewrites.source_slice import source_slice
from tests.conftest import case_id

ENTRY_RULES = [rule for rule in all_rules() if issubclass(rule, EntryMethodRule)]
PYTHON_RULES = python_rules(all_rules())
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
    # branches export takes at trace time: nothing to report, so libcst parses nothing
    "static branches": "import torch\nclass M(torch.nn.Module):\n"
    "    def forward(self, x, mask=None, output_attentions: bool = False):\n"
    "        if mask is not None and self.training:\n            x = x * mask\n"
    "        for layer in self.layers:\n            x = layer(x)\n"
    "        assert x.dim() == 3, 'batch, time, features'\n"
    "        return (x, _is_known) if output_attentions else x\n",
    # a submodule with a scalar parameter that also branches on a tensor: MIG401 reports, MIG405
    # must still see it called inside another class
    "called scalar class that branches": _MODEL.replace("k: int = 2", "k: int").replace(
        "        return x * k\n", "        if x.mean() > 0:\n            x = -x\n        return x * k\n"
    ),
    # what `np` is depends on where it was imported: above (in another function) it is numpy
    # (static), below it is unknown (a local helper: tensors in, tensors out)
    "imported in an earlier function": "import torch\ndef load():\n    import numpy as np\n"
    "class M(torch.nn.Module):\n    def forward(self, x):\n        if np.sum(x) > 0:\n"
    "            return x\n        return -x\n",
    "imported after the model": "import torch\nclass M(torch.nn.Module):\n    def forward(self, x):\n"
    "        if np.sum(x) > 0:\n            return x\n        return -x\nimport numpy as np\n",
    "shadowed after the model": "import torch\nfrom torch import where\nclass M(torch.nn.Module):\n"
    "    def forward(self, x):\n        if where(x > 0, x, x).sum() > 0:\n            return x\n"
    "        return x\ndef where(c, a, b):\n    return a\n",
    "star import": "from torch import *\nclass M(nn.Module):\n    def forward(self, x):\n"
    "        if is_tensor(x) and where(x > 0, x, x).sum() > 0:\n            return x\n        return x\n",
    "nested model": "import torch\nclass Outer(torch.nn.Module):\n    def forward(self, x, n: int = 2):\n"
    "        class Inner(torch.nn.Module):\n            def forward(self, y):\n"
    "                if n > 1:\n                    return y\n                return -y\n"
    "        return Inner()(x)\n",
    "walrus in a conditional": "import torch\nclass M(torch.nn.Module):\n    def forward(self, x, n: int = 2):\n"
    "        y = (n := x.sum()) if n > 1 else x\n        if n > 0:\n            return y\n        return x\n",
    # a kept method whose string holds blank lines (the compacted slice keeps them), after a
    # suppression comment whose next line in the file is blanked
    "blank lines in a kept string": "import torch\n# migrate: ignore[MIG401]\nX = 1\n\n"
    "class M(torch.nn.Module):\n    def helper(self):\n        return 1\n\n    def forward(self, x):\n"
    '        """Doubles.\n\n        Twice.\n        """\n        s = """\n\n"""\n'
    "        if x.sum() > 0:  # tensor branch\n            return x * 2\n        return x\n",
    "loops": "import torch\nclass M(torch.nn.Module):\n    def forward(self, x, xs: List[torch.Tensor]):\n"
    "        for i, row in enumerate(xs):\n            pass\n        for k in range(len(xs)):\n            pass\n"
    "        b, t = x.shape\n        for j in reversed(range(t)):\n            pass\n"
    "        n = int(x.max())\n        while n > 0:\n            n -= 1\n        return x\n",
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


@pytest.mark.parametrize("rules", ["export blockers", "all"])
@pytest.mark.parametrize("name", list(EXAMPLES))
def test_the_slice_finds_what_the_whole_file_finds(name: str, rules: str) -> None:
    text = EXAMPLES[name]
    selected = ENTRY_RULES if rules == "export blockers" else PYTHON_RULES
    try:
        whole = lint_text(text, selected)
    except Exception:
        return  # does not parse: the engine reports that from the whole file
    outcome = check_source(text.encode("utf-8"), selected)  # prefiltered, as a scan does
    assert outcome.error is None
    assert outcome.findings == whole


def test_the_slice_keeps_lines_and_drops_what_cannot_report() -> None:
    part = source_slice(_MODEL, _is_known)
    assert part is not None
    assert part.count("\n") == _MODEL.count("\n")
    assert "def helper" not in part and "class Plain" not in part and "import math" not in part
    assert "n = x.max().item()" in part and "while x.sum() > 0" in part
    assert source_slice(CASES["no constructs"], _is_known) == ""
    assert source_slice(CASES["inside an if"], _is_known) is None
    assert source_slice(CASES["static branches"], _is_known) == ""
    # the submodule's forward reports nothing: it is left out, and the model's is kept
    part = source_slice(CASES["called scalar class"], _is_known)
    assert part is not None and "return x * k" not in part and "n = x.max().item()" in part
    part = source_slice(CASES["called scalar class that branches"], _is_known)
    assert part is not None and part.endswith("class _MigrateSubmodules:\n    Block()\n")
