"""The samples are the demo's input: each one is complete, and the demo knows how to build it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from migrate.reports.combined import Section
from rewrites.app_source import language_of
from tests.conftest import load_script

RECIPES = load_script("demo").RECIPES

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
NAMES = sorted(p.name for p in SAMPLES.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def test_every_sample_has_a_demo_recipe_and_every_recipe_a_sample() -> None:
    assert set(NAMES) == set(RECIPES)


@pytest.mark.parametrize("name", NAMES)
def test_a_sample_is_a_project(name: str) -> None:
    folder = SAMPLES / name
    recipe = RECIPES[name]
    assert (folder / "README.md").read_text(encoding="utf-8").strip(), "say what it exercises"
    assert not list(folder.rglob("*.pt*")), "built artifacts are never committed"
    if not recipe.legacy_script:  # app code: the demo scans and rewrites it
        assert not (folder / "model.py").exists()
        assert [p for p in folder.rglob("*") if language_of(p.name) is not None], (
            "an app sample holds app code"
        )
        return
    model = (folder / "model.py").read_text(encoding="utf-8")
    assert "def make_model(" in model and "def example_inputs(" in model
    script = (folder / recipe.legacy_script[0]).read_text(encoding="utf-8")
    assert "_save_for_lite_interpreter" in script or "torch.jit.save" in script
    assert recipe.legacy_artifact.endswith((".pt", ".ptl"))


@pytest.mark.parametrize("name", NAMES)
def test_the_demo_rewrites_each_sample_into_its_golden_diff(name: str, tmp_path: Path, golden) -> None:  # type: ignore[no-untyped-def]
    """`make demo`'s apply.diff of each sample, byte for byte (the golden files are the merged
    demo's): a change to the rules or the fixer that changes what the demo rewrites shows here."""
    demo = load_script("demo")
    work = Path(shutil.copytree(SAMPLES / name, tmp_path / "project"))
    section = Section(name)
    demo._rewrite(work, tmp_path, section, demo.Outcome(section), demo.Log())
    golden(f"demo/{name}.apply.diff", (tmp_path / "apply.diff").read_text(encoding="utf-8"))
