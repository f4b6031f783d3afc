"""The documentation builds without a warning and covers what the code has: a page per block,
per registered architecture and per example, every public module in the API reference, and
block diagrams that still match the code."""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

import cnnblocks
from cnnblocks import blocks

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
REGENERATE = "run `python scripts/make_diagrams.py` (or `--only NAME`) and commit the result"


def _load_script():
    spec = importlib.util.spec_from_file_location("make_diagrams",
                                                  ROOT / "scripts" / "make_diagrams.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def script():
    return _load_script()


@pytest.mark.heavy
def test_docs_build_without_warnings(tmp_path):
    # the documented command, into a fresh folder so that every page is read again
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(tmp_path / "doctrees"), str(DOCS), str(tmp_path / "html")],
        capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-6000:]
    page = (tmp_path / "html" / "blocks" / "vgg_block.html").read_text(encoding="utf-8")
    assert "vgg_block.svg" in page and "38,720 parameters" in page
    assert (tmp_path / "html" / "api.html").read_text(encoding="utf-8").count(
        'id="cnnblocks.plot.plot"') == 1


def test_every_block_has_a_page_and_a_diagram(script):
    documented = set(script.block_names())
    assert documented == set(blocks.__all__) - {"resolve_data_format"}
    index = (DOCS / "blocks" / "index.md").read_text(encoding="utf-8")
    for name in documented:
        assert (DOCS / "blocks" / f"{name}.md").exists(), f"docs/blocks/{name}.md is missing"
        assert f"\n{name}\n" in index, f"docs/blocks/index.md does not list {name}"
        for suffix in (".svg",):
            path = DOCS / "diagrams" / "blocks" / f"{name}{suffix}"
            assert path.exists(), f"{path.relative_to(ROOT)} is missing: {REGENERATE}"


def test_every_registered_architecture_has_a_page():
    index = (DOCS / "architectures" / "index.md").read_text(encoding="utf-8")
    for name in cnnblocks.list_models():
        files = [DOCS / "architectures" / f"{name}.md",
                 DOCS / "diagrams" / "architectures" / f"{name}_blocks.svg",
                 DOCS / "diagrams" / "architectures" / f"{name}_layers.svg"]
        for path in files:
            assert path.exists(), f"{path.relative_to(ROOT)} is missing: {REGENERATE}"
        assert f"\n{name}\n" in index, f"docs/architectures/index.md: {REGENERATE}"


def test_every_example_is_on_the_examples_page():
    page = (DOCS / "examples.md").read_text(encoding="utf-8")
    for path in sorted((ROOT / "examples").glob("[!_]*.py")):
        assert f"../examples/{path.name}" in page, f"docs/examples.md: {REGENERATE}"


def test_every_public_module_is_in_the_api_reference():
    api = (DOCS / "api.md").read_text(encoding="utf-8")
    modules = {p.stem for p in (ROOT / "cnnblocks").glob("[!_]*.py")}
    modules |= {p.parent.name for p in (ROOT / "cnnblocks").glob("[!_]*/__init__.py")}
    missing = sorted(m for m in modules if f"automodule:: cnnblocks.{m}\n" not in api)
    assert not missing, f"add `.. automodule:: cnnblocks.<module>` to docs/api.md: {missing}"


def test_block_diagrams_match_the_code(script):
    """The committed SVGs have the nodes the code draws now (Graphviz versions aside)."""
    stale = []
    for function in script.block_names():
        model, _ = script.block_example(function)
        svg = (DOCS / "diagrams" / "blocks" / f"{function}.svg").read_text(encoding="utf-8")
        drawn = set(re.findall(r'<g id="node\d+" class="node">\s*<title>([^<]*)</title>', svg))
        if drawn != {layer.name for layer in model.layers}:
            stale.append(function)
    assert not stale, f"stale diagrams {stale}: {REGENERATE} --only blocks"
