"""The `cnnblocks` command line: version and list (more commands have their own tests)."""

import re
import subprocess
import sys

import pytest

import cnnblocks
from cnnblocks import cli, commands


def test_version_in_a_subprocess():
    result = subprocess.run([sys.executable, "-m", "cnnblocks", "--version"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"cnnblocks {cnnblocks.__version__}"


def test_list_prints_every_registered_model_and_every_block(capsys):
    assert cli.main(["list"]) == 0
    models, blocks = capsys.readouterr().out.split("blocks:\n")
    assert models.split()[1:] == cnnblocks.list_models()  # after "architectures:"
    assert blocks.split() == cnnblocks.blocks.__all__


def test_every_command_has_its_function(capsys):
    parser = cli.build_parser()
    for name in commands.COMMANDS:
        with pytest.raises(SystemExit) as info:
            parser.parse_args([name, "--help"])
        assert info.value.code == 0, name
    listed = re.findall(r"^    (\w+)  ", parser.format_help(), re.M)  # the COMMAND lines
    assert sorted(listed) == sorted(commands.COMMANDS)


def test_no_command_prints_help(capsys):
    assert cli.main([]) == 2
    assert "usage" in capsys.readouterr().out


# --- issue 17: plot and summary take saved files; plot's options are cnnblocks.plot's ----------

import importlib  # noqa: E402
import inspect  # noqa: E402

import keras  # noqa: E402

from cnnblocks import analysis, family  # noqa: E402
from cnnblocks.blocks import vgg_block  # noqa: E402

plot_module = importlib.import_module("cnnblocks.plot")


def test_plot_command_has_the_options_and_defaults_of_cnnblocks_plot():
    args = cli.build_parser().parse_args(["plot", "m.keras", "-o", "m.svg"])
    signature = inspect.signature(cnnblocks.plot).parameters
    for option in ("level", "rankdir", "show_shapes", "collapse_repeats", "dpi"):
        assert getattr(args, option) == signature[option].default, option
    assert cli.PLOT_LEVELS == plot_module.LEVELS
    assert cli.PLOT_RANKDIRS == plot_module.RANKDIRS


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    inputs = keras.Input((16, 16, 3), name="image")
    x = vgg_block(inputs, 8, 2, name="block1")
    x = vgg_block(x, 16, 2, name="block2")
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D(name="gap")(x), name="mine")
    path = tmp_path_factory.mktemp("saved") / "mine.keras"
    model.save(path)
    return path, model.count_params()


def test_plot_a_saved_file_at_every_level(saved, tmp_path, capsys):
    path, _ = saved
    for level in ("layer", "module", "block"):
        out = tmp_path / f"{level}.dot"
        assert cli.main(["plot", str(path), "-o", str(out), "--level", level]) == 0
        source = out.read_text()
        assert "block2" in source
        assert ("subgraph \"cluster_block2\"" in source) == (level == "module")
    assert "mine (block level)" in capsys.readouterr().out
    out = tmp_path / "m.svg"
    assert cli.main(["plot", str(path), "-o", str(out), "--rankdir", "LR",
                     "--no-show-shapes"]) == 0
    assert "block2_conv2" in out.read_text()


def test_summary_of_a_saved_file(saved, capsys):
    path, params = saved
    assert cli.main(["summary", str(path)]) == 0
    out = capsys.readouterr().out
    assert "block2_conv2" in out and f"mine: {params:,} parameters" in out


@pytest.mark.parametrize("argv, message", [
    (["plot", "missing.keras", "-o", "m.svg"], "no such file: 'missing.keras'"),
    (["summary", "./nowhere/m.keras"], "no such file"),
])
def test_missing_files_exit_2_with_one_line(argv, message, capsys):
    assert cli.main(argv) == 2
    assert message in capsys.readouterr().err


def test_input_shape_is_for_registered_models_only(saved, capsys):
    path, _ = saved
    assert cli.main(["summary", str(path), "--input-shape", "32,32,3"]) == 2
    assert "--input-shape applies to registered models" in capsys.readouterr().err


# --- the paper-table printer: generic over any family's PaperRows (its numbers by hand:
# block1 (3*3*3 + 1) * 8 + (3*3*8 + 1) * 8 = 808, block2 3,488, total 4,296)

def test_paper_table_prints_the_papers_columns_within_100_characters(saved):
    path, _ = saved
    summary = analysis.summarize(keras.models.load_model(path))
    source = "Somebody 2024, Table 9"
    long = "[3x3, 8; 3x3, 8] x 2 with a long description of what the paper prints here"
    table = (
        family.PaperRow("first stage, two convolutions and a pool", "block1", "8x8x8",
                        params=family.rounded(800, 50, source),
                        columns={"#conv": 2, "spec": long, "stride": "1/2"}),
        family.PaperRow("second stage", "block2", "4x4",
                        params=family.exact(3_488, "exact"),
                        columns={"#conv": 2, "#filters": 16, "spec": "[3x3, 16] x 2",
                                 "printed params": 35_000},
                        erratum="the paper prints 35K, ten times the count"),
        family.PaperRow("missing", "block9"),
        family.PaperRow("total", None, params=family.rounded(4_300, 50, source)),
    )
    ref = family.Reference(paper="x", input_shape=(16, 16, 3), params=None,
                           trainable_params=None, depth=None, macs=None, table=table,
                           table_source=source)
    text = commands._paper_table(summary, ref)
    lines = text.splitlines()
    assert max(map(len, lines)) <= 100
    # the paper's column order, a new column placed after the one before it in its row
    assert lines[1].index("#conv") < lines[1].index("#filters") < lines[1].index("spec")
    params_block = text.split("\n\n")[1]
    headings = params_block.splitlines()[0].split() + params_block.splitlines()[1].split()
    assert headings.count("check") == 1  # unique headings: "params check"
    row = next(line for line in params_block.splitlines() if line.startswith("second stage"))
    assert row.split()[2:] == ["35K", "3,488", "✓", "erratum", "[1]"]  # printed, ours, exact
    assert "✗" not in text
    note = text.split("\n\n")[-1]
    assert note.startswith("[1] second stage: the paper's figure is an erratum; exact: params "
                           "3,488. the paper prints 35K")
    missing = next(line for line in text.splitlines() if line.startswith("missing"))
    assert "-" in missing  # a paper row no block matches
