"""`migrate export`: a model factory or a legacy TorchScript archive becomes a `.pte` + manifest.

One module a step: ``options`` (what is asked, ``--dynamic`` / ``--input-shape``), ``inputs``
(the model and its example inputs), ``capture`` (torch.export, TS2EPConverter), ``diagnosis``
(why an export failed, and which rule fixes it), ``quantize`` (PT2E), ``lower`` (ExecuTorch,
``--optimize``), ``outputs`` (the manifest's facts, the bundled program) and ``pipeline``, which
runs them. The graph rewrites lowering needs are ``xnnpack_views``, ``xnnpack_decompositions``,
``edge_copies`` and ``recurrent``; ``method_inputs`` rebuilds a method's example inputs from its
calls. The private torch / executorch APIs they use are reached through ``validators.internals``.
"""

from __future__ import annotations

from migrate.export.options import DynamicDim, ExportError, ExportOptions, InputShape
from migrate.export.outputs import manifest_path
from migrate.export.pipeline import export

__all__ = ["DynamicDim", "ExportError", "ExportOptions", "InputShape", "export", "manifest_path"]
