"""The installed version of a package, for reports, cache keys and the builds of native runners."""

from __future__ import annotations

import importlib.metadata


def installed_version(package: str) -> str:
    """``package``'s installed version (a distribution name: ``ai-edge-litert``), or "" if absent."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return ""
