"""The examples build the tutorial's networks with their exact counts and draw them."""

import importlib
import shutil
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

# (module, builder, parameters as in the blocks tutorial's summaries)
ROWS = [
    ("vgg_blocks", "one_block", 38_720),
    ("vgg_blocks", "three_blocks", 2_325_568),
    ("naive_inception", "naive_module", 6_272),
    ("reduced_inception", "two_modules", 513_120),
    ("residual_module", "plain_residual", 38_976),
]


@pytest.fixture(scope="module")
def examples():
    sys.path.insert(0, str(EXAMPLES))
    try:
        yield {name: importlib.import_module(name) for name in {row[0] for row in ROWS}}
    finally:
        sys.path.remove(str(EXAMPLES))


@pytest.mark.parametrize("module,builder,params", ROWS, ids=[r[1] for r in ROWS])
def test_example_counts(examples, module, builder, params):
    assert getattr(examples[module], builder)().count_params() == params


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot not installed")
def test_example_writes_its_diagram(examples, tmp_path, capsys):
    show = importlib.import_module("_show").show
    path = show(examples["residual_module"].plain_residual(), tmp_path)
    assert path.exists() and path.stat().st_size > 10_000
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    out = capsys.readouterr().out
    assert "38,976 parameters" in out
    assert "res    residual_module" in out  # cnnblocks.summarize's per-block rows
