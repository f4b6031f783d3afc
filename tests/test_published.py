"""Tests of cnnblocks.published (the numbers and their derivations) and of `cnnblocks verify` /
`cnnblocks table`.

The derivations recorded in published.py's comments are recomputed here from the papers'
configuration tables, independently of the hard-coded values.
"""

import dataclasses
import math
import re

import keras
import pytest
from keras import layers

import cnnblocks
from cnnblocks import cli, published, registry

keras.utils.set_random_seed(0)

REQUIRED = ("vgg11", "vgg13", "vgg16", "vgg19", "resnet18", "resnet34", "resnet50", "resnet101",
            "resnet152", "xception", "inception_v3", "googlenet", "squeezenet1_0",
            "squeezenet1_1")


def test_every_model_has_every_figure_with_a_source():
    assert set(REQUIRED) <= set(published.MODELS)
    for name, ref in published.MODELS.items():
        assert ref.name == name
        for figure in (ref.params, ref.trainable_params, ref.depth, ref.macs):
            assert figure.value > 0 and figure.source and 0 <= figure.rel_tol <= 0.1, name
        assert ref.trainable_params.value <= ref.params.value
        for row in ref.table:
            for figure in (row.params, row.macs):
                assert figure is None or figure.source
            if row.blocks is not None:
                re.compile(row.blocks)
        for label, figure in ref.others:
            assert label and figure.source


EXACT = [
    # (model, total, trainable): published.md (Keras Applications docs; keras 3.15 builds).
    ("vgg16", 138_357_544, 138_357_544),
    ("vgg19", 143_667_240, 143_667_240),
    ("resnet50", 25_636_712, 25_583_592),
    ("resnet101", 44_707_176, 44_601_832),
    ("resnet152", 60_419_944, 60_268_520),
    ("inception_v3", 23_851_784, 23_817_352),
    ("xception", 22_910_480, 22_855_952),          # trainable = Xception paper Table 3
    ("vgg11", 132_863_336, 132_863_336),           # published.md, computed Keras-style
    ("vgg13", 133_047_848, 133_047_848),           # = torchvision vgg13
]


@pytest.mark.parametrize("name, total, trainable", EXACT)
def test_transcribed_totals(name, total, trainable):
    ref = published.get(name)
    assert (ref.params.value, ref.trainable_params.value) == (total, trainable)
    assert ref.params.rel_tol == 0 and ref.trainable_params.rel_tol == 0


VGG_CONFIGS = {
    # Table 1 configurations: (width, convs) per block.
    11: [(64, 1), (128, 1), (256, 2), (512, 2), (512, 2)],
    13: [(64, 2), (128, 2), (256, 2), (512, 2), (512, 2)],
    16: [(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)],
    19: [(64, 2), (128, 2), (256, 4), (512, 4), (512, 4)],
}


@pytest.mark.parametrize("depth", sorted(VGG_CONFIGS))
def test_vgg_derivation(depth):
    params, macs, channels, size = 0, 0, 3, 224
    for width, convs in VGG_CONFIGS[depth]:
        for _ in range(convs):
            params += (9 * channels + 1) * width
            macs += size * size * 9 * channels * width
            channels = width
        size //= 2
    for fan_in, units in ((7 * 7 * 512, 4096), (4096, 4096), (4096, 1000)):
        params += (fan_in + 1) * units
        macs += fan_in * units
    ref = published.get(f"vgg{depth}")
    assert params == ref.params.value
    assert ref.macs.matches(macs)
    assert ref.table[-1].params.matches(params)       # Table 2, millions
    assert ref.depth.value == depth == sum(n for _, n in VGG_CONFIGS[depth]) + 3


RESNET_STAGES = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3), 50: (3, 4, 6, 3), 101: (3, 4, 23, 3),
                 152: (3, 8, 36, 3)}
TORCHVISION_PARAMS = {18: 11_689_512, 34: 21_797_672, 50: 25_557_032}  # published.md


def _bn_channels(depth):
    """Output channels summed over every convolution (each is followed by one BN)."""
    bottleneck = depth >= 50
    total, channels = 64, 64
    for stage, (blocks, width) in enumerate(zip(RESNET_STAGES[depth], (64, 128, 256, 512))):
        out = 4 * width if bottleneck else width
        per_block = (2 * width + out) if bottleneck else 2 * width
        total += blocks * per_block + (out if channels != out or stage else 0)
        channels = out
    return total


@pytest.mark.parametrize("depth", sorted(TORCHVISION_PARAMS))
def test_resnet_keras_convention_derivation(depth):
    # keras = torchvision + conv bias + moving mean + moving variance per BN channel.
    b = _bn_channels(depth)
    ref = published.get(f"resnet{depth}")
    assert TORCHVISION_PARAMS[depth] + 3 * b == ref.params.value
    assert ref.params.value - 2 * b == ref.trainable_params.value
    assert ref.depth.value == depth


def test_resnet_v1_multiply_adds_derivation():
    # v1 = torchvision v1.5 - (4.089 - 3.858) G: only the first blocks of stages 3-5 differ.
    gap = 4.089e9 - 3.858e9
    assert published.get("resnet101").macs.matches(7.801e9 - gap)
    assert published.get("resnet152").macs.matches(11.514e9 - gap)
    for depth, flops in ((18, 1.8), (34, 3.6), (50, 3.8), (101, 7.6), (152, 11.3)):
        total = published.get(f"resnet{depth}").table[-1].macs
        # one unit of the printed decimal: ResNet-34's 3.664 G is printed 3.6, ResNet-50's
        # 3.858 G 3.8 (truncated, not rounded)
        assert total.value == flops * 1e9 and total.rel_tol == pytest.approx(0.1 / flops)
        assert total.matches(published.get(f"resnet{depth}").macs.value)


def test_googlenet_derivation_from_table1_columns():
    ref = published.get("googlenet")
    sizes = {"3": 28, "4": 14, "5": 7}
    params = 9_472 + 4_160 + 110_784 + 1_025_000      # conv1, conv2 (1x1 + 3x3), linear
    macs = 112 * 112 * 49 * 3 * 64 + 56 * 56 * (64 * 64 + 9 * 64 * 192) + 1024 * 1000
    channels = 192
    for row in ref.table:
        if not row.label.startswith("inception"):
            continue
        c = row.columns
        f1, r3, f3, r5, f5, pp = (c[k] for k in ("#1x1", "#3x3 reduce", "#3x3", "#5x5 reduce",
                                                 "#5x5", "pool proj"))
        row_params = ((channels + 1) * (f1 + r3 + r5 + pp) + (9 * r3 + 1) * f3
                      + (25 * r5 + 1) * f5)
        n = sizes[row.label[-3]]
        row_macs = n * n * (channels * (f1 + r3 + r5 + pp) + 9 * r3 * f3 + 25 * r5 * f5)
        assert row.output == f"{n}x{n}x{f1 + f3 + f5 + pp}"
        # Table 1's figures are within 10% except where the row is marked as the paper's
        # erratum; those rows hold the exact count (and the printed figure in `columns`).
        assert row.params.matches(row_params), row.label
        if row.erratum:
            assert row.params.value == row_params and row.columns["printed params"]
        params, macs, channels = params + row_params, macs + row_macs, f1 + f3 + f5 + pp
    assert [r.label for r in ref.table if r.erratum] == ["convolution 7x7/2", "inception (4c)"]
    assert ref.table[0].params.value == 9_472 and ref.table[0].columns["printed params"] == 2_700
    googlenet = cnnblocks.architectures.googlenet
    assert params == ref.params.value == googlenet.GOOGLENET_PARAMS == 6_998_552
    assert macs == ref.macs.value == 1_582_671_872
    assert ref.table[-1].macs.matches(macs)           # "1.5 billion multiply-adds"
    assert ref.depth.value == 22


@pytest.mark.parametrize("name, key", [("ResNet50", "resnet50"), ("Inception-V3", "inception_v3"),
                                       ("GOOGLENET", "googlenet")])
def test_get_is_case_insensitive(name, key):
    assert published.get(name) is published.MODELS[key]


def test_get_errors():
    with pytest.raises(TypeError, match="`name`.*50"):
        published.get(50)
    with pytest.raises(ValueError, match="resnet51.*resnet50"):
        published.get("resnet51")


def test_squeezenet_table1():
    """Table 1 of the SqueezeNet paper: the '# parameter before pruning' column equals the
    exact counts recomputed from its s1x1 / e1x1 / e3x3 columns, and adds up to 1,248,424."""
    ref = published.get("squeezenet1_0")
    total, channels = (7 * 7 * 3 + 1) * 96, 96
    assert ref.table[0].params.value == total
    for row in ref.table:
        if row.label.startswith("fire"):
            c = row.columns
            s, e1, e3 = c["s1x1"], c["e1x1"], c["e3x3"]
            fire = (channels + 1) * s + (s + 1) * e1 + (9 * s + 1) * e3
            assert row.params.value == fire, row.label
            total, channels = total + fire, e1 + e3
    total += (512 + 1) * 1000  # conv10
    assert total == ref.table[-1].params.value == ref.params.value == 1_248_424
    assert ref.table_input == (227, 227, 3)


FIGURES = [
    # (figure, measured, matches, deviation)
    (published.Figure(100, "s"), 100, True, 0.0),
    (published.Figure(100, "s"), 101, False, 0.01),
    (published.Figure(1.8e9, "s", rel_tol=0.05 / 1.8), 1.814e9, True, 0.014 / 1.8),
    (published.Figure(3.6e9, "s", rel_tol=0.05 / 3.6), 3.664e9, False, 0.064 / 3.6),
    (published.Figure(0, "s"), 0, True, 0.0),
]


@pytest.mark.parametrize("figure, measured, matches, deviation", FIGURES)
def test_figure(figure, measured, matches, deviation):
    assert figure.matches(measured) is matches
    assert figure.deviation(measured) == pytest.approx(deviation)


# --- `cnnblocks verify` and `cnnblocks table` ---------------------------------------------------

def _tiny(name, filters):
    inputs = keras.Input((8, 8, 3))
    x = layers.Conv2D(filters, 3, padding="same", name="conv1_conv")(inputs)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    return keras.Model(inputs, layers.Dense(2, name="predictions")(x), name=name)


def _tiny_reference(params, macs):
    exact = published.Figure
    return published.Reference(
        paper="test", input_shape=(8, 8, 3), params=exact(params, "test"),
        trainable_params=exact(params, "test"), depth=exact(2, "test"),
        macs=exact(macs, "test", rel_tol=0.005))


@pytest.fixture
def fake_registry(monkeypatch):
    """Three registered models: 'good' matches its reference, 'bad' has one filter too many,
    'unpublished' has no reference."""
    from cnnblocks.family import ModelEntry
    good_params = (27 + 1) * 4 + (4 + 1) * 2
    good_macs = 8 * 8 * 4 * 27 + 4 * 2
    reference = _tiny_reference(good_params, good_macs)
    entries = {
        "good": ModelEntry("good", "Good", lambda weights=None: _tiny("good", 4), 8,
                           reference=reference),
        "bad": ModelEntry("bad", "Bad", lambda weights=None: _tiny("bad", 5), 8,
                          reference=reference),
        "unpublished": ModelEntry("unpublished", "Unpublished",
                                  lambda weights=None: _tiny("unpublished", 4), 8),
    }
    monkeypatch.setattr(registry, "_entries", lambda: entries)
    return good_params, good_macs


def test_verify_reports_mismatches(fake_registry, capsys):
    good_params, _ = fake_registry
    assert cli.main(["verify", "bad", "good"]) == 1
    captured = capsys.readouterr()
    assert "[1/2] bad: building ... done" in captured.err
    assert "[2/2] good: building ... done" in captured.err
    lines = captured.out.splitlines()
    assert lines[0].split() == ["model", "parameters", "trainable", "depth", "multiply-adds"]
    bad = next(line for line in lines if line.startswith("bad"))
    good = next(line for line in lines if line.startswith("good"))
    bad_params = (27 + 1) * 5 + (5 + 1) * 2
    assert f"✗ {bad_params} (+{bad_params - good_params}; expected {good_params})" in bad
    assert "✓ 2" in bad and "+25.00%; expected" in bad       # depth fine, MACs 25% off
    assert "✗" not in good and good.count("✓") == 4
    assert "2 models: 1 match the published numbers, 1 differ." in captured.out


def test_verify_a_model_without_reference_is_an_error(fake_registry, capsys):
    """Nothing to compare with is a failure, never a pass (it used to print "1 match")."""
    assert cli.main(["verify", "unpublished"]) == 1
    out = capsys.readouterr().out
    assert "✗ no published reference" in out and "0 match" in out


def test_verify_normalises_names(capsys):
    """`ResNet-50`, `resnet_50` and `ResNet50` are resnet50; an unknown name exits 2."""
    assert cli.main(["verify", "Squeeze-Net-1_1", "SqueezeNet1_1"]) == 0
    out = capsys.readouterr().out
    assert out.count("squeezenet1_1") == 2 and "2 models: 2 match" in out
    assert cli.main(["verify", "ResNet-5O"]) == 2
    assert "Unknown model 'ResNet-5O'" in capsys.readouterr().err


def test_verify_selected_and_failing_build(fake_registry, monkeypatch, capsys):
    assert cli.main(["verify", "good"]) == 0
    assert "1 models: 1 match" in capsys.readouterr().out

    def broken(**kwargs):
        raise ValueError("no such model")
    entries = registry._entries()
    monkeypatch.setattr(registry, "_entries", lambda: {
        **entries, "good": dataclasses.replace(entries["good"], builder=broken)})
    assert cli.main(["verify", "good"]) == 1
    captured = capsys.readouterr()
    assert "failed (ValueError)" in captured.err and "✗ ValueError: no such model" in captured.out


@pytest.fixture(scope="module")
def built_once():
    """The registry with a cache: each real model is built once for this module's CLI tests."""
    cache, create = {}, registry.create_model

    def cached(name, **kwargs):
        key = (name, tuple(sorted(kwargs.items())))
        if key not in cache:
            cache[key] = create(name, **kwargs)
        return cache[key]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(registry, "create_model", cached)
        yield cache


@pytest.mark.heavy
def test_verify_real_models(built_once, capsys):
    # The two smallest registered architectures, against the real published numbers.
    assert cli.main(["verify", "resnet18", "googlenet"]) == 0
    out = capsys.readouterr().out
    assert "✓ 11,703,912" in out and "✓ 6,998,552" in out and "✓ 22" in out


@pytest.mark.heavy
def test_table_googlenet_beside_table1(built_once, capsys):
    assert cli.main(["table", "googlenet"]) == 0
    out = capsys.readouterr().out
    assert "Szegedy et al. 2014, Table 1 beside googlenet" in out
    table = out.split("Szegedy et al. 2014, Table 1 beside googlenet")[1]
    assert max(len(line) for line in table.splitlines()) <= 100
    columns = next(part for part in table.split("\n\n") if "#1x1" in part)
    figures = next(part for part in table.split("\n\n") if "params check" in part)
    # Table 1's own columns: output, depth, #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj
    heading = next(line for line in columns.splitlines() if line.startswith("paper row"))
    assert heading.split() == ["paper", "row", "output", "our", "output", "depth", "#1x1",
                               "reduce", "#3x3", "reduce", "#5x5", "proj"]
    row = next(line for line in columns.splitlines() if line.startswith("inception (3a)"))
    assert row.split()[2:] == ["28x28x256", "28x28x256", "2", "64", "96", "128", "16", "32",
                               "32"]
    # paper 159K / 128M beside ours 163,696 / 128,049,152
    row = next(line for line in figures.splitlines() if line.startswith("inception (3a)"))
    assert row.split()[2:] == ["159K", "163,696", "✓", "+3.0%", "128M", "128,049,152", "✓",
                               "+0.0%"]
    # conv1 and inception (4c): the paper's errata, with the exact values in the notes
    row = next(line for line in figures.splitlines() if line.startswith("inception (4c)"))
    assert row.split()[2:] == ["463K", "510,104", "✓", "erratum", "[2]", "100M", "99,850,240",
                               "✓", "erratum", "[2]"]
    assert "✗" not in table
    assert "[1] convolution 7x7/2: the paper's figure is an erratum; exact: params 9,472;" in out


@pytest.mark.heavy
def test_table_resnet_stages(built_once, capsys):
    assert cli.main(["table", "resnet18"]) == 0
    out = capsys.readouterr().out
    conv3 = next(line for line in out.splitlines() if line.startswith("conv3_x"))
    assert conv3.split()[1:] == ["28x28x128", "28x28x128", "[3x3,", "128;", "3x3,", "128]", "x",
                                 "2"]                            # Table 1's layer specs
    flops = [line for line in out.splitlines() if line.startswith("FLOPs")][-1]  # figures
    assert "1.8G" in flops and "✓ +0.8%" in flops                # 1.814 G, printed 1.8
    assert math.isclose(published.get("resnet18").macs.value, 1.814e9)
    assert len(built_once) == 2                          # resnet18 and googlenet, once each


def test_registry_and_published_agree_on_names():
    assert set(registry.list_models()) == set(published.MODELS)
    assert cnnblocks.published is published
