"""Errors the CLI turns into one line and exit code 2."""

from __future__ import annotations


class UsageError(Exception):
    """The user asked for something that cannot be done as asked (bad option, bad config)."""


class MissingExtraError(UsageError):
    """An optional runtime is not installed."""

    def __init__(self, extra: str, module: str) -> None:
        super().__init__(
            f"this needs `{module}`, which is not installed: pip install 'executorch-migrate[{extra}]'"
        )
        self.extra = extra
        self.module = module


def require(module: str, extra: str) -> None:
    """Import check for an optional dependency, raising a one-line install hint."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise MissingExtraError(extra, module)


def first_line(exc: BaseException) -> str:
    """An exception as one line for a message: its first line, or its type when it has no text."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
