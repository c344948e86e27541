"""Compare two demo outputs (``make demo``'s ``demo-out/``) file by file: what a change to the code
must leave byte for byte the same, and what differs only in what was measured.

    python scripts/compare_demo.py OLD/demo-out NEW/demo-out

Every file under both folders (``__pycache__`` aside) is compared byte for byte. A text file
that differs is compared again with the measurements masked: the checkout's folder (each
output's parent, the repository the demo ran in) becomes ``<repo>``; in JSON the measured
fields (``MEASURED``, ``*_seconds``) become ``<measured>``; in Markdown durations (``ms``,
``s``), memory (``KiB``, ``MiB``, ``GiB``) and the latency charts' bars become ``<measured>``.
A TorchScript archive (``.pt``, ``.ptl``, a zip) is compared member by member but its
``serialization_id`` (random at each save) and its ``*.debug_pkl`` (source locations: the
folder it was built in); one that differs names its members that do (a scripted module's
constants, a set, come in the order of the build's PYTHONHASHSEED). What `make bench` leaves in
a demo folder (``bench.json``, a project's ``.migrate_cache``) is not the demo's and is passed
over. A file is then ``same``, ``same but measurements`` or ``differs`` (with its first
differing lines). Exit status 1 if any file differs, or is in one output only.
"""

from __future__ import annotations

import difflib
import json
import re
import sys
import zipfile
from pathlib import Path

# what a validation measures: timings, memory, and the machine it ran on
MEASURED = frozenset(
    {
        "load_seconds",
        "first_run_seconds",
        "latency",
        "peak_memory_bytes",
        "profiles",
        "cpu",
        "cores",
    }
)
_UNITS = re.compile(r"\d[\d,]*(?:\.\d+)?(?:e[+-]?\d+)? ?(?:ms|s|KiB|MiB|GiB)\b")
_UNCOMPARED = ("/serialization_id", ".debug_pkl")
_CHART = re.compile(r"^(\s*(?:bar|line|y-axis)\b).*$", re.M)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    old, new = (Path(a).resolve() for a in argv)
    old_files, new_files = _files(old), _files(new)
    problems = 0
    counts = {"same": 0, "same but measurements": 0}
    for name in sorted(old_files | new_files):
        if name not in new_files or name not in old_files:
            print(f"only in {old if name in old_files else new}: {name}")
            problems += 1
            continue
        a, b = (old / name).read_bytes(), (new / name).read_bytes()
        if a == b:
            counts["same"] += 1
            continue
        if name.endswith((".pt", ".ptl")) and _same_archive(old / name, new / name):
            counts["same but measurements"] += 1
            print(f"same but serialization id and source paths: {name}")
            continue
        masked = [_masked(data, root.parent, name) for data, root in ((a, old), (b, new))]
        if masked[0] is not None and masked[0] == masked[1]:
            counts["same but measurements"] += 1
            print(f"same but measurements: {name}")
            continue
        problems += 1
        print(f"differs: {name}")
        if name.endswith((".pt", ".ptl")):
            print(f"    members that differ: {', '.join(_archive_differences(old / name, new / name))}")
        elif masked[0] is not None and masked[1] is not None:
            diff = difflib.unified_diff(masked[0].splitlines(), masked[1].splitlines(), lineterm="", n=0)
            for line in list(diff)[2:22]:
                print(f"    {line[:200]}")
    print(
        f"{counts['same']} same, {counts['same but measurements']} same but measurements, {problems} differ"
    )
    return 1 if problems else 0


def _files(root: Path) -> set[str]:
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file()
        and not {"__pycache__", ".migrate_cache"} & set(p.relative_to(root).parts)
        and p.name != "bench.json"
    }


def _masked(data: bytes, repo: Path, name: str) -> str | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None  # binary: only bytes count
    text = text.replace(str(repo), "<repo>")
    if name.endswith(".json"):
        try:
            return json.dumps(_mask_json(json.loads(text)), indent=1, sort_keys=True)
        except ValueError:
            return text
    if name.endswith(".md"):
        return _UNITS.sub("<measured>", _CHART.sub(r"\1 <measured>", text))
    return text


def _same_archive(a: Path, b: Path) -> bool:
    return not _archive_differences(a, b)


def _archive_differences(a: Path, b: Path) -> list[str]:
    """The members of two zips that differ, but a TorchScript archive's random id and source paths."""
    try:
        with zipfile.ZipFile(a) as first, zipfile.ZipFile(b) as second:
            names = [
                set(z.namelist()) - {n for n in z.namelist() if n.endswith(_UNCOMPARED)}
                for z in (first, second)
            ]
            return sorted(
                (names[0] ^ names[1]) | {n for n in names[0] & names[1] if first.read(n) != second.read(n)}
            )
    except zipfile.BadZipFile:
        return ["(not a zip)"]


def _mask_json(value: object) -> object:
    if isinstance(value, dict):
        return {
            k: "<measured>" if k in MEASURED or k.endswith("_seconds") else _mask_json(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_mask_json(v) for v in value]
    return value


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
