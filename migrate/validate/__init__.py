"""`migrate validate`: the legacy artifact, the new `.pte` and a TFLite baseline, side by side.

One module a concern: ``pipeline`` (the options, the runtimes and inputs, the verdict: a
``ValidationReport``), ``targets`` (``--target``: where each artifact runs), ``baseline`` (the
default TFLite baseline, converted by litert-torch in a process of its own: ``python -m
migrate.validate.baseline``) and ``native_build`` (CMake builds of native code against LibTorch
before its migration and the ExecuTorch SDK after). Running and measuring is
``validators.harness``; judging numerics is ``validators.compare``.

The public names are imported when first asked for, so that ``python -m
migrate.validate.baseline`` starts without loading the pipeline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from migrate.validate.pipeline import ValidateOptions, validate

__all__ = ["ValidateOptions", "validate"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from migrate.validate import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
