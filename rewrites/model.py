"""The data a scan produces: findings and per-file errors, as frozen dataclasses.

They round-trip through plain dicts (``to_dict`` / ``from_dict``) so reports can be saved as
JSON and combined later without re-running the scan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal

SCHEMA_VERSION = 1
COMMANDS = ("scan", "apply")


class FixSafety(str, Enum):
    """How far a fix can be trusted (ruff's applicability levels)."""

    SAFE = "safe"
    UNSAFE = "unsafe"
    DISPLAY_ONLY = "display-only"


@dataclass(frozen=True)
class Fix:
    applicability: FixSafety
    title: str


@dataclass(frozen=True)
class Finding:
    code: str
    name: str
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    message: str
    fix: Fix | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
            "message": self.message,
            "fix": None
            if self.fix is None
            else {"applicability": self.fix.applicability.value, "title": self.fix.title},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        fix = data.get("fix")
        return cls(
            code=data["code"],
            name=data["name"],
            path=data["path"],
            line=data["line"],
            column=data["column"],
            end_line=data["end_line"],
            end_column=data["end_column"],
            message=data["message"],
            fix=None if fix is None else Fix(FixSafety(fix["applicability"]), fix["title"]),
        )


@dataclass(frozen=True)
class FileError:
    """A file that could not be scanned, with a one-line reason."""

    path: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "message": self.message}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FileError:
        return cls(path=data["path"], message=data["message"])


@dataclass(frozen=True)
class ScanResult:
    """Everything one scan found; paths are relative to ``root`` (POSIX separators)."""

    root: str
    files_scanned: int
    findings: tuple[Finding, ...] = ()
    errors: tuple[FileError, ...] = ()
    files_parsed: int = 0
    cache_hits: int = 0
    tool_version: str = ""
    rules: tuple[str, ...] = field(default=())
    # Filled by `apply`: the findings its changes fix (``findings`` is then what is left).
    fixed: tuple[Finding, ...] = ()
    command: Literal["scan", "apply"] = "scan"  # which one produced it

    def to_dict(self) -> dict[str, Any]:
        # only an apply says so: a scan's JSON is as before the key existed
        command = {"command": self.command} if self.command != "scan" else {}
        return {
            "version": SCHEMA_VERSION,
            **command,
            "tool_version": self.tool_version,
            "root": self.root,
            "files_scanned": self.files_scanned,
            "files_parsed": self.files_parsed,
            "cache_hits": self.cache_hits,
            "rules": list(self.rules),
            "findings": [f.to_dict() for f in self.findings],
            "fixed": [f.to_dict() for f in self.fixed],
            "errors": [e.to_dict() for e in self.errors],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScanResult:
        if data.get("version") != SCHEMA_VERSION:
            raise ValueError(
                f"unsupported scan report version {data.get('version')!r} "
                f"(this tool reads version {SCHEMA_VERSION})"
            )
        # a report written before the key: an apply is one that fixed something
        command = data.get("command", "apply" if data.get("fixed") else "scan")
        if command not in COMMANDS:
            raise ValueError(f"command: expected one of {', '.join(COMMANDS)}, got {command!r}")
        return cls(
            root=data["root"],
            files_scanned=data["files_scanned"],
            files_parsed=data.get("files_parsed", 0),
            cache_hits=data.get("cache_hits", 0),
            tool_version=data.get("tool_version", ""),
            rules=tuple(data.get("rules", ())),
            findings=tuple(Finding.from_dict(f) for f in data["findings"]),
            fixed=tuple(Finding.from_dict(f) for f in data.get("fixed", ())),
            errors=tuple(FileError.from_dict(e) for e in data["errors"]),
            command=command,
        )
