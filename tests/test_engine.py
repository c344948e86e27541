"""The engine on single files: resolution, suppressions, positions, encodings, the prefilter."""

from __future__ import annotations

import pytest

from rewrites.python_checker import check_source, lint_text
from rewrites.registry import all_rules

RULES = all_rules()


def codes(source: str | bytes) -> list[tuple[str, int, int]]:
    data = source.encode() if isinstance(source, str) else source
    outcome = check_source(data, RULES)
    assert outcome.error is None, outcome.error
    return [(f.code, f.line, f.column) for f in outcome.findings]


@pytest.mark.parametrize(
    "source",
    [
        "import torch\ntorch.jit.script(m)\n",
        "import torch.jit\ntorch.jit.script(m)\n",
        "import torch.jit as J\nJ.script(m)\n",
        "import torch as T\nT.jit.script(m)\n",
        "from torch import jit\njit.script(m)\n",
        "from torch import jit as tj\ntj.script(m)\n",
        "from torch.jit import script\nscript(m)\n",
        "from torch.jit import *\nscript(m)\n",
        "def export():\n    from torch.jit import script\n    return script(m)\n",
        "from .layers import *\nm = torch.jit.script(m)\n",
    ],
)
def test_every_import_spelling_resolves(source: str) -> None:
    assert [c for c, *_ in codes(source)] == ["MIG101"]


@pytest.mark.parametrize(
    "source",
    [
        "from mypkg import jit\njit.script(m)\n",
        "from . import jit\njit.script(m)\n",
        "import torch\nfrom torch.jit import script\ndef script(m):\n    return m\nscript(m)\n",
        "import torch\n# torch.jit.script(m)\ns = 'torch.jit.script(m)'\n",
        "import torch\nclass A:\n    def script(self):\n        pass\nA().script()\n",
        "import torch\nf(script=True)\n",
    ],
)
def test_lookalikes_are_not_findings(source: str) -> None:
    assert codes(source) == []


def test_suppression_comments() -> None:
    source = (
        "import torch\n"
        "a = torch.jit.script(m)  # migrate: ignore[MIG101]\n"
        "b = torch.jit.script(m)  # migrate: ignore[jit-script]\n"
        "c = torch.jit.script(m)  # migrate: ignore\n"
        "# migrate: ignore[MIG101]\n"
        "d = torch.jit.script(m)\n"
        "e = torch.jit.script(m)  # migrate: ignore[MIG102]\n"
        "f = torch.jit.trace(m, x)  # migrate: ignore[MIG101, MIG103]\n"
    )
    assert codes(source) == [("MIG101", 7, 5)]


def test_positions_survive_crlf_bom_tabs_and_unicode() -> None:
    source = "\ufeffimport torch\r\n# é ü\r\nif True:\r\n\tm = torch.jit.script(x)\r\n"
    assert codes(source.encode("utf-8")) == [("MIG101", 4, 6)]


def test_declared_encoding_is_honoured() -> None:
    source = "# -*- coding: latin-1 -*-\nimport torch\ns = 'caf\xe9'\nm = torch.jit.script(x)\n"
    assert codes(source.encode("latin-1")) == [("MIG101", 4, 5)]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"import torch\x00\n", "binary"),
        (b"import torch\nx = '\xff\xfe'\n", "not valid utf-8"),
        (b"# -*- coding: no-such-codec -*-\nimport torch\n", "encoding"),
        (b"import torch\ntorch.jit.script(\n", "syntax error at line"),
        (
            b"import torch\n" + b"x = " + b"(" * 5000 + b")" * 5000 + b"\ntorch.jit.script(m)\n",
            "nested 5000 deep",
        ),
        (b"import torch\nx = " + b"lambda: " * 3000 + b"1\ntorch.jit.script(m)\n", "too deeply nested"),
    ],
)
def test_bad_sources_are_one_line_errors(data: bytes, reason: str) -> None:
    outcome = check_source(data, RULES)
    assert outcome.error is not None and "\n" not in outcome.error
    assert reason in outcome.error.lower()


def test_multiline_finding_span() -> None:
    source = "import torch\nm = torch.jit.trace(\n    model,\n    example,\n)\n"
    outcome = check_source(source.encode(), RULES)
    (finding,) = outcome.findings
    assert (finding.line, finding.column, finding.end_line, finding.end_column) == (2, 5, 2, 20)


def _corpus() -> list[str]:
    sources = [case.code for rule in RULES for case in (*rule.VALID, *rule.INVALID)]
    return [*sources, "\n".join(sources[:40]), "\n".join(sources[40:80])]


@pytest.mark.parametrize("source", _corpus())
def test_prefilter_never_hides_a_finding(source: str) -> None:
    """Running every rule without the prefilter finds nothing more than with it."""
    try:
        unfiltered = lint_text(source, RULES)
    except Exception:
        pytest.skip("concatenated examples do not always parse together")
    assert check_source(source.encode(), RULES).findings == unfiltered
