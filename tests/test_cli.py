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


def _listed(out):
    """`cnnblocks list`'s architectures (name -> its columns) and blocks."""
    models_text, _, blocks_text = out.partition("blocks (")
    rows = [line.split(None, 3) for line in models_text.splitlines()[3:] if line.strip()]
    return {r[0]: r[1:] for r in rows}, blocks_text.split()[1:]


def test_list_prints_every_registered_model_and_every_block(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    models, listed_blocks = _listed(out)
    assert list(models) == cnnblocks.list_models()
    assert out.startswith(f"architectures ({len(models)}):\n")
    assert models["resnet50"] == ["25,636,712", "224x224", "imagenet, torchvision, torchvision_v2"]
    assert models["inception_v3"][1] == "299x299"
    # the blocks: every public block function, not the helpers beside them
    assert listed_blocks == [n for n in cnnblocks.blocks.__all__ if n != "resolve_data_format"]
    assert "resolve_data_format" not in out


def test_list_filters_as_list_models(capsys):
    assert cli.main(["list", "resnet*v2"]) == 0
    models, listed_blocks = _listed(capsys.readouterr().out)
    assert list(models) == cnnblocks.list_models("resnet*v2") == [
        "resnet101v2", "resnet152v2", "resnet50v2"]
    assert listed_blocks == []
    assert cli.main(["list", "*inception*"]) == 0
    models, listed_blocks = _listed(capsys.readouterr().out)
    assert "inception_v3" in models and "inception_module" in listed_blocks
    assert cli.main(["list", "--weights"]) == 0
    out = capsys.readouterr().out
    assert "blocks (" not in out
    assert list(_listed(out)[0]) == cnnblocks.list_models(pretrained=True)
    assert cli.main(["list", "nothing*"]) == 1
    assert "nothing matches 'nothing*'" in capsys.readouterr().err


def test_list_models_and_list_weights(monkeypatch):
    assert cnnblocks.list_models("VGG1?") == ["vgg11", "vgg13", "vgg16", "vgg19"]
    assert cnnblocks.list_models("vgg1[16]_bn") == ["vgg11_bn", "vgg16_bn"]
    assert cnnblocks.list_weights("ResNet-50") == ("imagenet", "torchvision", "torchvision_v2")
    assert cnnblocks.list_weights("resnet18") == ("torchvision",)
    assert cnnblocks.list_weights("xception") == ("imagenet",)
    every = cnnblocks.list_models()
    assert cnnblocks.list_models(pretrained=True) == [n for n in every
                                                      if cnnblocks.list_weights(n)]
    from cnnblocks import family, registry
    entries = dict(registry._entries())
    entries["bare"] = family.ModelEntry("bare", "Bare", lambda weights=None: None, 8)
    monkeypatch.setattr(registry, "_entries", lambda: entries)
    assert "bare" in cnnblocks.list_models() and "bare" not in cnnblocks.list_models(
        pretrained=True)
    for bad, arg in ((3, "pattern"), (b"res*", "pattern")):
        with pytest.raises(TypeError, match=f"`{arg}`"):
            cnnblocks.list_models(bad)
    with pytest.raises(TypeError, match="`pretrained`.*'yes'"):
        cnnblocks.list_models(pretrained="yes")
    with pytest.raises(ValueError, match="Unknown model 'resnet51'"):
        cnnblocks.list_weights("resnet51")


def test_completion_script_completes_commands_options_models_and_files(tmp_path):
    import shutil
    import subprocess
    if shutil.which("bash") is None:
        pytest.skip("no bash")
    parser = cli.build_parser()
    script = tmp_path / "completion.bash"
    script.write_text(commands.completion_script(parser, "bash", cnnblocks.list_models()))
    (tmp_path / "mine.keras").write_text("")
    cases = {
        "cnnblocks su": "summary",
        "cnnblocks summary resnet1": "resnet101 resnet101v2 resnet152 resnet152v2 resnet18",
        "cnnblocks summary min": "mine.keras",
        "cnnblocks summary --la": "--layers",
        "cnnblocks plot m --level m": "module",
        "cnnblocks classify --model inception_v": "inception_v3",
        "cnnblocks completion z": "zsh",
        "cnnblocks plot m --dpi ": "",
    }
    lines = [f"source {script}", f"cd {tmp_path}",
             't() { read -r -a COMP_WORDS <<< "$1"; [[ "$1" == *" " ]] && COMP_WORDS+=(""); '
             'COMP_CWORD=$((${#COMP_WORDS[@]}-1)); COMPREPLY=(); _cnnblocks; '
             'echo "${COMPREPLY[*]}"; }']
    lines += [f't "{line}"' for line in cases]
    result = subprocess.run(["bash", "-c", "\n".join(lines)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == list(cases.values())
    zsh = commands.completion_script(parser, "zsh", [])
    assert "bashcompinit" in zsh and "complete -o filenames -F _cnnblocks cnnblocks" in zsh


def test_completion_command_prints_the_script(capsys):
    assert cli.main(["completion", "bash"]) == 0
    out = capsys.readouterr().out
    assert out == commands.completion_script(cli.build_parser(), "bash", cnnblocks.list_models())


def test_a_missing_backend_says_what_to_install():
    """KERAS_BACKEND=jax without jax: one line naming the extra, from Python and the CLI."""
    import os
    import subprocess
    code = ("import sys; sys.modules['jax'] = None\n"  # as if jax were not installed
            "import cnnblocks\n"
            "try:\n    cnnblocks.create_model('resnet18')\n"
            "except ModuleNotFoundError as err:\n    print(err.name, '|', err)\n"
            "from cnnblocks import cli\n"
            "sys.exit(cli.main(['summary', 'resnet18']))\n")
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, timeout=120)
    name, _, message = result.stdout.partition(" | ")
    assert name == "jax", result.stdout + result.stderr
    assert 'pip install "cnnblocks[jax]"' in message and "KERAS_BACKEND" in message
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "cnnblocks summary: error: ModuleNotFoundError: " + message.strip()
        + " (--debug shows the traceback)"]


def test_every_command_has_its_function(capsys):
    parser = cli.build_parser()
    for name in commands.COMMANDS:
        with pytest.raises(SystemExit) as info:
            parser.parse_args([name, "--help"])
        assert info.value.code == 0, name
    listed = re.findall(r"^    (\w+)(?:  |$)", parser.format_help(), re.M)  # the COMMAND lines
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
    captured = capsys.readouterr()
    assert "mine (block level)" in captured.out
    # progress on stderr: what is drawn, then how long it took
    assert re.search(r"drawing mine \(\d+ layers\) at the block level .*\n.*drawn in [\d.]+ s",
                     captured.err)
    out = tmp_path / "m.svg"
    assert cli.main(["plot", str(path), "-o", str(out), "--rankdir", "LR",
                     "--no-show-shapes"]) == 0
    assert "block2_conv2" in out.read_text()


def test_summary_of_a_saved_file(saved, capsys):
    path, params = saved
    assert cli.main(["summary", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("mine (input 16x16x3)") and "block2 " in out
    assert "block2_conv2" not in out and f"total " in out and f"{params:,}" in out
    assert cli.main(["summary", str(path), "--layers"]) == 0
    out = capsys.readouterr().out
    assert "block2_conv2" in out and f"mine: {params:,} parameters" in out


def test_every_model_command_takes_a_saved_file(saved, tmp_path, capsys):
    """table, verify and rf read a saved model as summary and plot do; a saved cnnblocks
    architecture is checked against its published numbers and shown beside its paper's
    table (its model record names it)."""
    path, _ = saved
    assert cli.main(["table", str(path)]) == 0
    assert capsys.readouterr().out.startswith("mine (input 16x16x3)")
    assert cli.main(["rf", str(path)]) == 0
    assert "block2" in capsys.readouterr().out
    squeezenet = tmp_path / "squeezenet.keras"
    cnnblocks.create_model("squeezenet1_1").save(squeezenet)
    assert cli.main(["verify", str(squeezenet), str(path)]) == 1  # mine: nothing published
    out = capsys.readouterr().out
    assert "squeezenet.keras  ✓ 1,235,496" in out
    assert "mine.keras" in out and "✗ no published reference" in out
    assert cli.main(["table", str(squeezenet)]) == 0
    saved_table = capsys.readouterr().out
    assert cli.main(["table", "squeezenet1_1"]) == 0
    assert saved_table == capsys.readouterr().out


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
