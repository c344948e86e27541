"""Outcomes by content digest, so an unchanged file is neither screened nor parsed twice.

One JSON file per rule selection and engine version (a hash of the ``rewrites`` sources), in
``.migrate_cache/``. JSON, not pickle: a cache folder is not trusted input. A cache that cannot be
read or written is ignored; it never fails a scan.

The cache lives in the project, where a pull request can commit one that says "no findings".
So each file is signed with a key kept outside any project, in the user's cache folder
(``$XDG_CACHE_HOME/executorch-migrate/cache-key``, made on first use, mode 0600), and a file
whose signature does not check is ignored. The cache never follows a link: not for the folder
(between the project and the cache), its ``.gitignore`` or its files; and it reads only regular
files, at most 256 MiB.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import tempfile
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from rewrites.core import FileOutcome, Rule
from rewrites.files import read_regular
from rewrites.model import Finding

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


_MAX_CACHE_BYTES = 256 << 20


def signing_key() -> bytes | None:
    """This user's key for cache signatures, made on first use; None when it cannot be had."""
    home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = Path(home) / "executorch-migrate" / "cache-key"
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(32))
    except FileExistsError:
        pass
    except OSError:
        return None
    key, _ = read_regular(path, 64)
    return key if key is not None and len(key) == 32 else None


class ResultCache:
    def __init__(self, directory: Path | None, rules: Sequence[type[Rule]], base: Path | None = None) -> None:
        """``base``: the project folder; no link between it and ``directory`` is followed."""
        self.path: Path | None = None
        self._entries: dict[str, dict] = {}
        self._dirty = False
        self._base = base
        self._key = signing_key() if directory is not None else None
        if directory is None or self._key is None:
            return
        selection = ",".join(sorted(rule.code for rule in rules))
        key = hashlib.blake2b(f"{engine_fingerprint()}|{selection}".encode(), digest_size=10)
        self.path = directory / f"scan-{key.hexdigest()}.json"
        data, _ = read_regular(self.path, _MAX_CACHE_BYTES)
        signature, _, body = (data or b"").partition(b"\n")
        if not hmac.compare_digest(signature, self._sign(body).encode()):
            return
        try:
            loaded = json.loads(body)
        except ValueError:
            return
        if isinstance(loaded, dict):
            self._entries = loaded

    def _sign(self, body: bytes) -> str:
        assert self._key is not None and self.path is not None
        return hmac.new(self._key, self.path.name.encode() + b"\n" + body, hashlib.sha256).hexdigest()

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

    def project_digest(self, sources: str) -> str | None:
        """The digest of the project index last built from the Python sources whose digest is
        ``sources`` ("" for an empty index): a warm scan salts its lookups with it and builds the
        index only if a file must be analysed."""
        entry = self._entries.get(f"project:{sources}")
        found = entry.get("digest") if isinstance(entry, dict) else None
        return found if isinstance(found, str) else None

    def put_project_digest(self, sources: str, digest: str) -> None:
        if self.path is None:
            return
        self._entries[f"project:{sources}"] = {"digest": digest}
        self._dirty = True

    def save(self) -> None:
        if self.path is None or not self._dirty:
            return
        directory = self.path.parent
        existing = directory
        while not os.path.lexists(existing) and existing != existing.parent:
            existing = existing.parent
        try:
            if not self._unlinked(existing):
                return
            directory.mkdir(parents=True, exist_ok=True)
            if not self._unlinked(directory):
                return
            ignore = directory / ".gitignore"
            if not os.path.lexists(ignore):
                fd = os.open(ignore, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write("# Written by executorch-migrate.\n*\n")
            body = json.dumps(self._entries, separators=(",", ":")).encode()
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=".scan-", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(self._sign(body).encode() + b"\n" + body)
                os.replace(tmp, self.path)  # replaces a link at self.path, never writes through it
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError:
            pass

    def _unlinked(self, directory: Path) -> bool:
        """No symbolic link between the project (or the folder's parent) and ``directory``."""
        absolute = Path(os.path.abspath(directory))
        base = Path(os.path.abspath(self._base)) if self._base is not None else absolute.parent
        if not absolute.is_relative_to(base):
            base = absolute.parent
        return Path(os.path.realpath(absolute)) == Path(os.path.realpath(base)) / absolute.relative_to(base)
