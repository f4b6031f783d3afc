"""Architecture snapshots (`cnnblocks.testing.assert_architecture`) and the pytest plugin
(`architecture_snapshot` fixture, `--cnnblocks-update`), run in a test session of their own with
pytest's `pytester`."""

import importlib.metadata
import os
import json
from pathlib import Path

import keras
import pytest
from keras import layers

from cnnblocks import snapshot
from cnnblocks.blocks import inception_module, vgg_block
from cnnblocks.testing import assert_architecture

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent


def net(f3=128, *, extra=False, swap=False, rename=False, frozen=False):
    """A small network with one Inception module (`mix`), to change one block at a time."""
    inputs = keras.Input((28, 28, 192))
    x = vgg_block(inputs, 16, 1, pool=False, name="stem2" if rename else "stem")
    if swap:
        x = layers.Conv2D(8, 1, name="proj")(x)
        x = inception_module(x, 64, 96, f3, 16, 32, 32, name="mix")
    else:
        x = inception_module(x, 64, 96, f3, 16, 32, 32, name="mix")
        x = layers.Conv2D(8, 1, name="proj")(x)
    if extra:
        x = vgg_block(x, 8, 1, name="tail")
    model = keras.Model(inputs, x, name="net")
    if frozen:
        model.get_layer("mix_1x1").trainable = False
    return model


@pytest.fixture
def path(tmp_path):
    return tmp_path / "snaps" / "net.json"


def _fail(model, path, **kwargs):
    with pytest.raises(AssertionError) as info:
        assert_architecture(model, path, update=False, **kwargs)
    return str(info.value)


def test_first_call_records_then_compares(path):
    before = len(snapshot.written)
    assert_architecture(net(), path)
    assert path.exists() and snapshot.written[before:] == [("created", str(path))]
    assert_architecture(net(), path)  # equal: passes, writes nothing
    assert len(snapshot.written) == before + 1


def test_file_is_stable_readable_json(path):
    assert_architecture(net(), path)
    text = path.read_text(encoding="utf-8")
    keras.backend.clear_session()
    assert snapshot.dumps(snapshot.snapshot(net())) == text  # same text from a new build
    data = json.loads(text)
    assert data["cnnblocks_snapshot"] == snapshot.FORMAT and data["model"] == "net"
    assert data["input_shape"] == [28, 28, 192]
    # stem: 192*9*16 + 16; mix: 16*64+64 + 16*96+96 + 96*9*128+128 + 16*16+16 + 16*25*32+32
    # + 16*32+32 = 127,088; proj: 256*8 + 8. MACs: 28*28 per position.
    assert data["totals"] == {"params": 27_664 + 127_088 + 2_056,
                              "trainable_params": 156_808, "macs": 122_630_144, "depth": 4,
                              "blocks": 3}
    lines = text.splitlines()
    # one block per line, keys in a fixed order, arguments sorted, integers
    mix = next(line for line in lines if '"name": "mix"' in line)
    assert mix.strip().startswith('{"name": "mix", "kind": "inception_module", "args": '
                                  '{"data_format": null, "f1": 64, "f3": 128,')
    assert '"output_shape": [28, 28, 256], "params": 127088' in mix and "." not in mix
    assert text.endswith("}\n") and len(lines) == 11
    assert [b["name"] for b in data["blocks"]] == ["stem", "mix", "proj"]


# One deliberate change per row: the message lines it must produce (the diff a person reads).
CHANGES = [
    # the 3x3 branch: 96*9*128+128 = 110,720 parameters, 96*9*96+96 = 83,040 with f3 96;
    # 28*28*96*9 = 677,376 MACs per output channel; proj reads 32 channels fewer.
    ("one_argument", dict(f3=96), [
        "block `mix` (inception_module): f3 128 → 96; params 127,088 → 99,408 (-27,680); "
        "output (28, 28, 256) → (28, 28, 224); MACs 99,348,480 → 77,672,448 (-21,676,032)",
        "block `proj` (stage): params 2,056 → 1,800 (-256); MACs 1,605,632 → 1,404,928 "
        "(-200,704)",
        "total: params 156,808 → 128,872 (-27,936); MACs 122,630,144 → 100,753,408 "
        "(-21,876,736)"]),
    # tail: 8*9*8+8 = 584 parameters, 28*28*8*72 = 451,584 MACs
    ("added_block", dict(extra=True), [
        "block `tail` (vgg_block) added (after `proj`): activation 'relu'; batch_norm False; "
        "bn_epsilon 1e-05; convs 1; data_format None; filters 8; kernel_size 3; pool True; "
        "params 584; output (14, 14, 8)",
        "total: params 156,808 → 157,392 (+584); MACs 122,630,144 → 123,081,728 (+451,584); "
        "depth 4 → 5 (+1); blocks 3 → 4 (+1)"]),
    ("renamed_block", dict(rename=True), [
        "block `stem` (vgg_block) renamed to `stem2`"]),
    # proj (16 -> 8: 136 parameters) before mix, which then reads 8 channels, not 16
    ("moved_block", dict(swap=True), [
        "block `proj` (stage) moved: now after `stem`, was after `mix`; params 2,056 → 136 "
        "(-1,920); MACs 1,605,632 → 100,352 (-1,505,280)",
        "block `mix` (inception_module): params 127,088 → 125,424 (-1,664); MACs 99,348,480 → "
        "98,043,904 (-1,304,576)"]),
    # mix_1x1 frozen: 16*64+64 = 1,088 parameters
    ("frozen_layer", dict(frozen=True), [
        "block `mix` (inception_module): trainable params 127,088 → 126,000 (-1,088)",
        "total: trainable params 156,808 → 155,720 (-1,088)"]),
]


@pytest.mark.parametrize("change,expected", [(c, e) for _, c, e in CHANGES],
                         ids=[row[0] for row in CHANGES])
def test_a_change_shows_a_readable_diff(path, change, expected):
    assert_architecture(net(), path)
    message = _fail(net(**change), path)
    lines = message.splitlines()
    assert lines[0] == f"Model 'net' differs from its architecture snapshot {path} " \
                       "(snapshot → model):"
    for line in expected:
        assert f"  {line}" in lines, message
    assert lines[-1].startswith("Rerun with --cnnblocks-update")


def test_removed_block(path):
    assert_architecture(net(extra=True), path)
    message = _fail(net(), path)
    assert "  block `tail` (vgg_block) removed (was after `proj`): activation 'relu'; " \
           "batch_norm False; bn_epsilon 1e-05; convs 1; data_format None; filters 8; " \
           "kernel_size 3; pool True; params 584; output (14, 14, 8)" in message


def test_kind_and_input_changes(path):
    assert_architecture(net(), path)
    inputs = keras.Input((30, 30, 192))
    x = vgg_block(inputs, 16, 1, pool=False, name="stem")
    model = keras.Model(inputs, layers.Conv2D(8, 1, name="mix")(x))
    message = _fail(model, path)
    assert "  input (28, 28, 192) → (30, 30, 192)" in message
    assert "  block `mix` (stage): kind inception_module → stage; arguments data_format " \
           "None, f1 64, f3 128, f3_reduce 96, f5 32, f5_kernel_size 5, f5_reduce 16, norm None, " \
           "pool_proj 32 → " \
           "none; activation 'relu' → (none); kernel_size [1, 3, 5] → 1; padding 'same' → " \
           "'valid'; pool_size 3 → (none); params 127,088 → 136 (-126,952); output " \
           "(28, 28, 256) → (30, 30, 8)" in message
    assert "  block `proj` (stage) removed (was after `mix`): params 2,056; output " \
           "(28, 28, 8)" in message


def test_model_name_is_compared(path):
    """A renamed model fails (issue 28: the name was not compared); the names Keras gives
    unnamed models (`functional`, `functional_3`, numbered as a session goes on) are equal."""
    assert_architecture(net(), path)
    model = net()
    renamed = keras.Model(model.input, model.output, name="other")
    assert _fail(renamed, path).splitlines()[1] == "  model name 'net' → 'other'"
    unnamed = path.with_name("unnamed.json")
    assert_architecture(keras.Model(model.input, model.output), unnamed)
    for _ in range(2):  # functional_<n>, functional_<n + 1>, ...
        assert_architecture(keras.Model(model.input, model.output), unnamed)
    assert "  model name 'functional" in _fail(net(), unnamed)


def small(*, activation="relu", dilation=1, strides=1, padding="same", kernel=3, groups=1,
          second="relu", swap=False, skip_from_input=False, name="small"):
    """Two convolutions and two activations of plain Keras layers (one structural block), to
    change one setting at a time."""
    inputs = keras.Input((16, 16, 4))
    x = layers.Conv2D(8, kernel, strides=strides, padding=padding, dilation_rate=dilation,
                      groups=groups, activation=activation, name="c1")(inputs)
    acts = [layers.Activation(second, name="a1"), layers.Activation("gelu", name="a2")]
    for act in (acts[::-1] if swap else acts):
        x = act(x)
    x = layers.Conv2D(8, 3, padding="same", name="c2")(x)
    source = inputs if skip_from_input else x
    x = layers.Concatenate(name="cat")([x, source])
    return keras.Model(inputs, x, name=name)


# Issue 28: with the default (block rows only) these changes were not seen at all.
SETTING_CHANGES = [
    ("activation", dict(activation="tanh"),
     'activation ["gelu", "relu"] → ["gelu", "relu", "tanh"]'),
    # relu → gelu in c1: the same set of activations, another computation
    ("same_activations", dict(activation="gelu"), "layers changed (a layer's type"),
    ("dilation", dict(dilation=2), "dilation_rate 1 → [1, 2]"),
    ("strides", dict(strides=2), "strides 1 → [1, 2]"),
    ("padding", dict(padding="valid"), "padding 'same' → [\"same\", \"valid\"]"),
    ("groups", dict(groups=2), "groups 1 → [1, 2]"),
    ("kernel", dict(kernel=5), "kernel_size 3 → [3, 5]"),
    # same kinds and settings in another order, other wiring: only the fingerprint differs
    ("order", dict(swap=True), "layers changed (a layer's type, setting or wiring"),
    ("wiring", dict(skip_from_input=True), None),
    ("activation_layer", dict(second="tanh"),
     'activation ["gelu", "relu"] → ["gelu", "relu", "tanh"]'),
]


@pytest.mark.parametrize("change,expected", [(c, e) for _, c, e in SETTING_CHANGES],
                         ids=[row[0] for row in SETTING_CHANGES])
def test_default_snapshot_sees_every_setting(path, change, expected):
    assert_architecture(small(), path)
    assert_architecture(small(), path)  # a second build is equal
    message = _fail(small(**change), path)
    assert message.splitlines()[1].startswith("  block `"), message
    if expected is not None:
        assert expected in message, message


def test_settings_are_readable(path):
    assert_architecture(small(), path)
    row = json.loads(path.read_text(encoding="utf-8"))["blocks"][0]
    assert row["settings"] == {"activation": ["gelu", "relu"], "dilation_rate": 1, "groups": 1,
                               "kernel_size": 3, "padding": "same", "strides": 1}
    assert list(row) == list(snapshot.BLOCK_KEYS)
    assert len(row["fingerprint"]) == 12


def test_snapshot_of_another_format_says_so(path):
    assert_architecture(net(), path)
    data = json.loads(path.read_text(encoding="utf-8"))
    data["cnnblocks_snapshot"] = 1
    for row in data["blocks"]:
        del row["settings"], row["fingerprint"]
    path.write_text(json.dumps(data), encoding="utf-8")
    message = _fail(net(), path)
    assert message.splitlines()[1:-1] == [
        f"  snapshot format 1 → {snapshot.FORMAT} (written by another cnnblocks; rewrite it "
        "with --cnnblocks-update)"]


def test_writes_are_atomic(path, monkeypatch):
    """Issue 28: the file was written in place; an interrupted write left half a snapshot.
    Now a temporary file in the same folder replaces it (`os.replace`) or is removed."""
    assert_architecture(net(), path)
    before = path.read_text(encoding="utf-8")
    calls = []

    def failing_replace(source, target):
        calls.append((os.path.dirname(source), str(target)))
        raise OSError("disk full")

    monkeypatch.setattr(snapshot.os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        assert_architecture(net(f3=96), path, update=True)
    assert calls == [(str(path.parent), str(path))]
    assert path.read_text(encoding="utf-8") == before  # the old file, whole
    assert sorted(p.name for p in path.parent.iterdir()) == ["net.json"]  # no temporary left
    monkeypatch.undo()
    assert_architecture(net(f3=96), path, update=True)
    assert sorted(p.name for p in path.parent.iterdir()) == ["net.json"]
    assert_architecture(net(f3=96), path, update=False)


def test_update_rewrites(path, monkeypatch):
    assert_architecture(net(), path)
    assert_architecture(net(f3=96), path, update=True)
    assert_architecture(net(f3=96), path, update=False)
    assert snapshot.written[-1] == ("updated", str(path))
    monkeypatch.setenv(snapshot.UPDATE_ENV, "1")
    assert_architecture(net(), path)
    monkeypatch.delenv(snapshot.UPDATE_ENV)
    assert_architecture(net(), path)


def test_missing_snapshot_can_be_required(path):
    with pytest.raises(AssertionError, match=r"No architecture snapshot for model 'net' at "
                       r".*net.json: run pytest with --cnnblocks-update"):
        assert_architecture(net(), path, create=False)
    assert not path.exists()


def test_layer_level_mode(path):
    assert_architecture(net(), path, layers=True)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["layers"][1] == {"name": "stem_conv1", "type": "Conv2D",
                                 "output_shape": [28, 28, 16], "params": 27_664}
    assert len(data["layers"]) == 11  # input, stem_conv1, mix's 8, proj
    message = _fail(net(f3=96), path, layers=True)
    assert "  layer `mix_3x3` (Conv2D): output (28, 28, 128) → (28, 28, 96); params " \
           "110,720 → 83,040 (-27,680)" in message
    assert "  layer rows: recorded in the snapshot but not asked for" in _fail(net(), path)


def test_long_diffs_are_cut(path):
    inputs = keras.Input((8, 8, 3))
    x = inputs
    for i in range(50):
        x = vgg_block(x, 4, 1, pool=False, name=f"b{i}")
    assert_architecture(keras.Model(inputs, x), path)
    inputs = keras.Input((8, 8, 3))
    x = inputs
    for i in range(50):
        x = vgg_block(x, 5, 1, pool=False, name=f"b{i}")
    message = _fail(keras.Model(inputs, x), path)
    assert len(message.splitlines()) == 1 + snapshot.MAX_LINES + 2
    assert f"  ... and {51 - snapshot.MAX_LINES:,} more difference(s)" in message


def test_bad_files_and_arguments(path):
    path.parent.mkdir(parents=True)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="is not a readable architecture snapshot"):
        assert_architecture(net(), path)
    path.write_text('{"a": 1}', encoding="utf-8")
    with pytest.raises(ValueError, match="is not a cnnblocks architecture snapshot"):
        assert_architecture(net(), path)
    assert_architecture(net(), path, update=True)  # rewrites a broken file
    assert_architecture(net(), path)
    with pytest.raises(TypeError, match="`path` must be a file path"):
        assert_architecture(net(), 3)
    with pytest.raises(TypeError, match="`update` must be None or a bool"):
        assert_architecture(net(), path, update="yes")
    with pytest.raises(TypeError, match="`layers` must be a bool"):
        assert_architecture(net(), path, layers=1)
    with pytest.raises(TypeError, match="`model` must be a keras.Model"):
        assert_architecture("net", path)


def test_doctests():
    import doctest
    result = doctest.testmod(snapshot, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


# --- the pytest plugin ----------------------------------------------------------------------------

def _installed_entry_point():
    return [ep for ep in importlib.metadata.entry_points(group="pytest11")
            if ep.value == "cnnblocks_pytest"]


def _run(pytester, *args):
    """Runs pytest in-process on the pytester folder with the plugin loaded (through its entry
    point when cnnblocks is installed with it, else with `-p`)."""
    plugin = [] if _installed_entry_point() else ["-p", "cnnblocks_pytest"]
    return pytester.runpytest(*plugin, "-p", "no:cacheprovider", *args)


USER_TESTS = '''
import keras
from cnnblocks.blocks import inception_module

F3 = {f3}

def build():
    inputs = keras.Input((28, 28, 192))
    return keras.Model(inputs, inception_module(inputs, 64, 96, F3, 16, 32, 32, name="mix"))

def test_net(architecture_snapshot):
    architecture_snapshot(build())

def test_direct(tmp_path_factory):
    from cnnblocks.testing import assert_architecture
    assert_architecture(build(), "{direct}")
'''


def _user_tests(pytester, f3):
    direct = (pytester.path / "direct.json").as_posix()
    pytester.makepyfile(test_user=USER_TESTS.format(f3=f3, direct=direct))


def test_plugin_records_compares_and_updates(pytester):
    outer = os.environ.get(snapshot.UPDATE_ENV)  # this session's own, restored after each run
    _user_tests(pytester, 128)
    result = _run(pytester)
    result.assert_outcomes(passed=2)
    snap = pytester.path / "snapshots" / "test_user" / "test_net.json"
    assert snap.exists() and (pytester.path / "direct.json").exists()
    result.stdout.fnmatch_lines(["*cnnblocks architecture snapshots*",
                                 f"created {snap}"])
    _run(pytester).assert_outcomes(passed=2)  # unchanged: equal

    _user_tests(pytester, 96)  # one deliberate change
    result = _run(pytester)
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines([
        "*Model 'functional*' differs from its architecture snapshot *test_net.json "
        "(snapshot → model):",
        "*block `mix` (inception_module): f3 128 → 96; params 163,696 → 136,016 (-27,680); "
        "output (28, 28, 256) → (28, 28, 224); MACs 128,049,152 → 106,373,120 (-21,676,032)"])
    result = _run(pytester, "--cnnblocks-update")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines([f"updated {snap}", f"updated {pytester.path / 'direct.json'}"])
    _run(pytester).assert_outcomes(passed=2)
    assert os.environ.get(snapshot.UPDATE_ENV) == outer


def test_plugin_does_not_import_keras_at_start(pytester):
    """pytest starts as fast as without cnnblocks, and conftest.py still picks the backend."""
    pytester.makeconftest("import os\nos.environ['KERAS_BACKEND'] = 'jax'\n")
    pytester.makepyfile(test_light="""
import sys

def test_nothing_imported():
    assert 'keras' not in sys.modules and 'cnnblocks' not in sys.modules
""")
    plugin = [] if _installed_entry_point() else ["-p", "cnnblocks_pytest"]
    result = pytester.runpytest_subprocess(*plugin, "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_fixture_names_files_after_the_test(pytester):
    pytester.makepyfile(test_names='''
import keras
import pytest

def build(width):
    inputs = keras.Input((8, 8, 3))
    return keras.Model(inputs, keras.layers.Conv2D(width, 3, name="c")(inputs))

@pytest.mark.parametrize("width", [2, 4])
def test_widths(architecture_snapshot, width):
    architecture_snapshot(build(width))

def test_two_models(architecture_snapshot):
    first = architecture_snapshot(build(2))
    second = architecture_snapshot(build(3))
    named = architecture_snapshot(build(5), name="wide_one")
    assert (first.name, second.name, named.name) == (
        "test_two_models.json", "test_two_models.2.json", "test_two_models.wide_one.json")
''')
    _run(pytester).assert_outcomes(passed=3)
    folder = pytester.path / "snapshots" / "test_names"
    assert sorted(p.name for p in folder.iterdir()) == [
        "test_two_models.2.json", "test_two_models.json", "test_two_models.wide_one.json",
        "test_widths[2].json", "test_widths[4].json"]


def test_fixture_file_names_never_collide(pytester):
    """Issue 28: `name="2"` and the second unnamed call, the ids `a/b`, `a_b`, `a b`, `a:b`,
    and the names `x/y` and `x_y` shared files; each now has its own (every model here has
    its own width, so a shared file fails the second test that writes it)."""
    pytester.makepyfile(test_clash='''
import keras
import pytest

def build(width):
    inputs = keras.Input((8, 8, 3))
    return keras.Model(inputs, keras.layers.Conv2D(width, 3, name="c")(inputs))

@pytest.mark.parametrize("width", [1, 2, 3, 4], ids=["a/b", "a_b", "a b", "a:b"])
def test_ids(architecture_snapshot, width):
    architecture_snapshot(build(width))

def test_names(architecture_snapshot):
    architecture_snapshot(build(5))
    architecture_snapshot(build(6))  # the second unnamed call
    architecture_snapshot(build(7), name="2")
    architecture_snapshot(build(8), name="x/y")
    architecture_snapshot(build(9), name="x_y")
    with pytest.raises(ValueError, match="`name` 'x_y' was given twice in this test"):
        architecture_snapshot(build(9), name="x_y")
''')
    for _ in range(2):  # recorded, then each compared with its own file
        _run(pytester).assert_outcomes(passed=5)
    names = sorted(p.name for p in (pytester.path / "snapshots" / "test_clash").iterdir())
    assert len(names) == 9, names
    # plain names are kept; the others keep a readable part and add a hash
    assert {"test_ids[a_b].json", "test_names.json", "test_names.2.json",
            "test_names.x_y.json"} <= set(names)
    assert sum(n.startswith("test_ids[a_b]~") for n in names) == 3
    assert all(n.endswith(".json") and "/" not in n and ":" not in n and " " not in n
               for n in names)


@pytest.mark.backend_independent
def test_file_stem_is_injective():
    from cnnblocks_pytest import file_stem
    cases = [("t", None, 1), ("t", None, 2), ("t", None, 3), ("t", "2", 1), ("t", "3", 1),
             ("t", "x/y", 1), ("t", "x_y", 1), ("t", "x y", 1), ("t", "x.y", 1),
             ("t", "json", 1), ("t.x_y", None, 1), ("t.2", None, 1),
             ("t[a/b]", None, 1), ("t[a_b]", None, 1), ("t[a b]", None, 1), ("t[a:b]", None, 1),
             ("t[a].b", None, 1), ("t[a]", "b", 1), ("t[a].q]", None, 1), ("t[a]", "q]", 1),
             ("t[a_b]", None, 2), ("t[a/b]", None, 2), ("T", None, 1), ("t" * 300, None, 1),
             ("t" * 300 + "x", None, 1), ("t_", None, 1), ("t\u00e9", None, 1)]
    stems = [file_stem(*case) for case in cases]
    assert len(set(stems)) == len(stems), [s for s in stems if stems.count(s) > 1]
    # plain names keep the file names snapshots had before
    assert [file_stem("test_net"), file_stem("test_net", None, 2),
            file_stem("test_net", "backbone"), file_stem("test_net[vgg16-1.5]")] == [
        "test_net", "test_net.2", "test_net.backbone", "test_net[vgg16-1.5]"]
    assert file_stem("test_net[a/b]") == file_stem("test_net[a/b]")  # deterministic
    assert file_stem("test_net[a/b]").startswith("test_net[a_b]~")
    assert all(len(s.encode("utf-8")) < 200 for s in stems)


def test_plugin_option_is_documented(pytester):
    result = _run(pytester, "--help")
    result.stdout.fnmatch_lines(["*--cnnblocks-update*"])


def test_entry_point_is_declared():
    setup = (ROOT / "setup.py").read_text(encoding="utf-8")
    assert '"pytest11": ["cnnblocks = cnnblocks_pytest"]' in setup
    for ep in _installed_entry_point():  # when installed with it: the name pytest uses
        assert ep.name == "cnnblocks"
