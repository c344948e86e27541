"""Outcomes by content digest, so an unchanged file is neither screened nor parsed twice.

One JSON file per rule selection and engine version (a hash of the ``rewrites`` sources), in
``.migrate_cache/``. JSON, not pickle: a cache folder is not trusted input. A cache that cannot be
read or written is ignored; it never fails a scan.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from rewrites.engine import FileOutcome
from rewrites.model import Finding
from rewrites.rule import Rule

_PACKAGE = Path(__file__).resolve().parent


@lru_cache(maxsize=1)
def engine_fingerprint() -> str:
    digest = hashlib.blake2b(digest_size=12)
    for source in sorted(_PACKAGE.rglob("*.py")):
        digest.update(source.relative_to(_PACKAGE).as_posix().encode())
        digest.update(source.read_bytes())
    return digest.hexdigest()


def content_digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


class ResultCache:
    def __init__(self, directory: Path | None, rules: Sequence[type[Rule]]) -> None:
        self.path: Path | None = None
        self._entries: dict[str, dict] = {}
        self._dirty = False
        if directory is None:
            return
        selection = ",".join(sorted(rule.code for rule in rules))
        key = hashlib.blake2b(f"{engine_fingerprint()}|{selection}".encode(), digest_size=10)
        self.path = directory / f"scan-{key.hexdigest()}.json"
        try:
            loaded = json.loads(self.path.read_text(encoding="utf-8"))
            if isinstance(loaded, dict):
                self._entries = loaded
        except (OSError, ValueError):
            pass

    def get(self, digest: str) -> FileOutcome | None:
        entry = self._entries.get(digest)
        if not isinstance(entry, dict):
            return None
        try:
            return FileOutcome(
                findings=tuple(Finding.from_dict({**f, "path": ""}) for f in entry.get("findings", ())),
                error=entry.get("error"),
                parsed=bool(entry.get("parsed", False)),
            )
        except (KeyError, TypeError, ValueError):
            return None

    def put(self, digest: str, outcome: FileOutcome) -> None:
        if self.path is None:
            return
        entry: dict = {}
        if outcome.findings:
            entry["findings"] = [
                {k: v for k, v in f.to_dict().items() if k != "path"} for f in outcome.findings
            ]
        if outcome.error is not None:
            entry["error"] = outcome.error
        if outcome.parsed:
            entry["parsed"] = True
        self._entries[digest] = entry
        self._dirty = True

    def save(self) -> None:
        if self.path is None or not self._dirty:
            return
        try:
            directory = self.path.parent
            directory.mkdir(parents=True, exist_ok=True)
            ignore = directory / ".gitignore"
            if not ignore.exists():
                ignore.write_text("# Written by executorch-migrate.\n*\n", encoding="utf-8")
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=".scan-", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(self._entries, handle, separators=(",", ":"))
            os.replace(tmp, self.path)
        except OSError:
            pass
