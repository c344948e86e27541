"""Facts about the whole project that a per-file rule needs: a cheap pre-pass over every file.

The rules engine sees one file at a time, but an export script's example inputs usually live in
the module that defines the model (``example_inputs()`` next to ``make_model()``), and whether a
``@torch.jit.export`` method can be folded or exported depends on where the project calls it.
:func:`index_project` reads every Python file's text once, with regular expressions only (no
parse), and the resulting :class:`ProjectIndex` travels to each file's rules in their
``FileContext``. An empty index (one file checked alone) means "nothing known".
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass

# Functions (called with no arguments) or values that hold a model's example inputs, best first.
EXAMPLE_FUNCTIONS = (
    "example_inputs",
    "get_example_inputs",
    "example_input",
    "get_example_input",
    "dummy_inputs",
    "dummy_input",
    "get_dummy_input",
    "sample_inputs",
    "sample_input",
)
# one of these is in each of those names: a file without any defines none (the regexes below
# cost three times as much as looking for them)
EXAMPLE_WORDS = ("example_input", "dummy_input", "sample_input")
# the definitions of those names only (a pattern for every `def` and assignment cost most of
# the index's time: "example" is in most docstrings)
_NAMES = "|".join(EXAMPLE_FUNCTIONS)
_DEF = re.compile(rf"^def ({_NAMES})\(([^)]*)\)", re.MULTILINE)
_VALUE = re.compile(rf"^({_NAMES})\s*(?::[^=\n]*)?=(?!=)", re.MULTILINE)
_JIT_EXPORT = re.compile(r"@(?:torch\.)?jit\.export\s*\n\s*def (\w+)\(")
_RECEIVER = re.compile(r"(\w+)\Z")
# receivers whose methods share a name with a model's (`optimizer.step()`): not the model's calls
_NOT_A_MODEL = re.compile(r"^(self|cls|super)$|optim|sched|scaler|opt$", re.IGNORECASE)
_CONSTANT = re.compile(r"-?\d+(?:\.\d+)?|True|False|None|'[^'\\]*'|\"[^\"\\]*\"")


@dataclass(frozen=True)
class CallSite:
    """A call of a ``@torch.jit.export`` method somewhere in the project."""

    path: str
    line: int
    arguments: str  # the argument text, as written


@dataclass(frozen=True)
class ProjectIndex:
    # module (dotted, every suffix of its path: "model", "pkg.model") -> (name, is a function)
    examples: tuple[tuple[str, tuple[str, bool]], ...] = ()
    # method name -> where the project calls ``<something>.<method>(...)``
    method_calls: tuple[tuple[str, tuple[CallSite, ...]], ...] = ()
    # factory or class name -> the self-contained example a ``torch.jit.trace`` of what it made
    # was given elsewhere in the project (``torch.jit.trace(make_model(), torch.rand(1, 3))``)
    traced_examples: tuple[tuple[str, str], ...] = ()

    def example_for(self, module: str) -> tuple[str, bool] | None:
        """The example-inputs function or value the module ``module`` defines."""
        return dict(self.examples).get(module)

    def traced_example(self, factory: str) -> str | None:
        return dict(self.traced_examples).get(factory)

    def calls_of(self, method: str) -> tuple[CallSite, ...]:
        return dict(self.method_calls).get(method, ())

    def digest(self) -> str:
        return hashlib.sha256(repr(self).encode()).hexdigest()[:16]


EMPTY = ProjectIndex()


def index_project(files: Iterable[tuple[str, str]]) -> ProjectIndex:
    """The index of ``(relative path, text)`` pairs of a project's Python files."""
    sources = [(path, text) for path, text in files if path.endswith(".py")]
    examples: dict[str, tuple[str, bool]] = {}
    exported: set[str] = set()
    for path, text in sources:
        found = _example_in(text)
        if found is not None:
            for module in _module_names(path):
                examples.setdefault(module, found)
        if "jit.export" in text:
            exported.update(_JIT_EXPORT.findall(text))
    traced: dict[str, str] = {}
    for _, text in sources:
        if "jit.trace(" in text:
            for factory, example in _traces(text):
                traced.setdefault(factory, example)
    calls: dict[str, list[CallSite]] = {}
    if exported:
        # `.<exported method>(` first, then the receiver before it: as `_CALL` over the text
        # finds them, at a fraction of the cost (`_CALL` tries every word of every file)
        method_call = re.compile(r"\.(" + "|".join(map(re.escape, sorted(exported))) + r")\(")
        for path, text in sources:
            for match in method_call.finditer(text):
                receiver = _RECEIVER.search(text, max(0, match.start() - 200), match.start())
                if receiver is not None and not _NOT_A_MODEL.search(receiver.group(1)):
                    line = text.count("\n", 0, receiver.start()) + 1
                    calls.setdefault(match.group(1), []).append(
                        CallSite(path, line, " ".join(_arguments(text, match.end()).split()))
                    )
    return ProjectIndex(
        tuple(sorted(examples.items())),
        tuple(sorted((name, tuple(sites)) for name, sites in calls.items())),
        tuple(sorted(traced.items())),
    )


_TRACE = re.compile(r"\bjit\.trace\(")
_FACTORY_CALL = re.compile(r"^(\w+)(?:\.\w+)*\(\s*\)(?:\.eval\(\))?$")
_IDENTIFIER = re.compile(r"(?<![\w.])([A-Za-z_]\w*)(\s*=(?!=))?")


def _traces(text: str) -> list[tuple[str, str]]:
    """(factory, example) for each ``jit.trace(factory(), example)`` (or of a name assigned
    ``factory()`` in the file) whose example needs nothing but ``torch`` and constants."""
    found = []
    for match in _TRACE.finditer(text):
        args = _split(_arguments(text, match.end()))
        if len(args) < 2 or "=" in args[0] or "=" in args[1].split("(")[0]:
            continue
        model, example = args[0], args[1]
        factory = _FACTORY_CALL.match(model)
        if factory is None and re.fullmatch(r"\w+", model):
            assigned = re.findall(rf"^\s*{model}\s*=\s*(\w+)\(\s*\)(?:\.eval\(\))?\s*$", text, re.MULTILINE)
            name = assigned[-1] if assigned else None
        else:
            name = factory.group(1) if factory is not None else None
        free = {m.group(1) for m in _IDENTIFIER.finditer(example) if not m.group(2)}
        if name is not None and free <= {"torch", "True", "False", "None"}:
            found.append((name, " ".join(example.split())))
    return found


def _split(arguments: str) -> list[str]:
    """Top-level comma-separated parts of an argument list."""
    parts, depth, current = [], 0, ""
    for char in arguments:
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip():
        parts.append(current.strip())
    return parts


def _arguments(text: str, start: int) -> str:
    """The text between the parenthesis before ``start`` and the one that closes it."""
    depth = 1
    for index in range(start, min(len(text), start + 2000)):
        char = text[index]
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0:
                return text[start:index]
    return text[start : start + 2000]


def _example_in(text: str) -> tuple[str, bool] | None:
    if not any(word in text for word in EXAMPLE_WORDS):
        return None
    functions = {m.group(1) for m in _DEF.finditer(text) if not m.group(2).strip()}
    return first_example(functions, set(_VALUE.findall(text)))


def first_example(functions: Collection[str], values: Collection[str]) -> tuple[str, bool] | None:
    """The first name of :data:`EXAMPLE_FUNCTIONS` among ``functions`` (defined with no parameters:
    ``(name, True)``) or ``values`` (``(name, False)``), or None."""
    for name in EXAMPLE_FUNCTIONS:
        if name in functions:
            return name, True
        if name in values:
            return name, False
    return None


def _module_names(path: str) -> list[str]:
    parts = path[: -len(".py")].split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return [".".join(parts[i:]) for i in range(len(parts)) if parts[i:]]


def constant_arguments(sites: Iterable[CallSite]) -> str | None:
    """The argument text every call site passes, when they all pass the same constants."""
    texts = {site.arguments for site in sites}
    if len(texts) != 1:
        return None
    (text,) = texts
    parts = [p.strip() for p in text.split(",") if p.strip()]
    return text if parts and all(_CONSTANT.fullmatch(p) for p in parts) else None
