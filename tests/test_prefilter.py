"""The prefilter's reading of a line: a name written only in a comment or a one-line string
admits no rule (so its file is not parsed), a name in code always does."""

from __future__ import annotations

import pytest

from rewrites.prefilter import FilePrefilter
from rewrites.python_checker import check_source
from rewrites.registry import select_rules

(TRACE,) = select_rules(["MIG103"])


@pytest.mark.parametrize(
    "source",
    [
        'import torch\nskips = ("torch.jit.trace; covered by unchunked variant",)\n',
        "import torch\nx = 1  # torch.jit.trace(m, x) was slow\n",
        "import torch\n# torch.jit.trace(m, x)\n",
        "import torch\nmessage = 'see \\'torch.jit.trace\\''\n",
    ],
)
def test_a_name_only_in_comments_or_strings_admits_nothing(source: str) -> None:
    assert not FilePrefilter(source).admits(TRACE)


@pytest.mark.parametrize(
    "source",
    [
        "import torch\nt = torch.jit.trace(m, x)\n",
        'import torch\nprint(f"{torch.jit.trace(m, x)}")\n',
        'import torch\nt = ("a#b", torch.jit.trace(m, x))\n',
        'import torch\nt = ("it\'s", "q\\"", torch.jit.trace(m, x))\n',
        'import torch\ndoc = """a\nb""", torch.jit.trace(m, x)\n',
        "import torch\nt = ['#'] + [torch.jit.trace(m, x)]  # torch.jit.trace\n",
    ],
)
def test_a_name_in_code_is_admitted_and_found(source: str) -> None:
    assert FilePrefilter(source).admits(TRACE)
    assert [f.code for f in check_source(source.encode(), [TRACE]).findings] == ["MIG103"]
