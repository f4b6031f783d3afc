"""ShuffleNet V2: `shufflenet_v2_unit` through the shared harness, the `ChannelShuffle` and
`ChannelSplit` layers, the four torchvision widths (0.5x, 1x, 1.5x, 2x), and torchvision as the
oracle.

keras.applications has no ShuffleNet; torchvision is the oracle: its metadata's `num_params`
and GFLOPS (the family's records) and, in this process, its models (parameter counts of all
four; random weights with randomized BN statistics converted into ours for 1x, at 64x64 where
the maps are 32, 16, 8, 4 and 2 pixels: even sizes, where Keras' "same" would pad otherwise
than PyTorch). Each model is built once per module, at 64x64 (parameters do not depend on the
input size; the head pools globally); multiply-adds are counted symbolically at 224x224.
"""

import re

import numpy as np
import pytest

import keras

import cnnblocks
from cnnblocks import registry
from cnnblocks.architectures import shufflenet_v2
from cnnblocks.blocks import shufflenet_v2_unit
from cnnblocks.layers import ChannelShuffle, ChannelSplit
from harness import check_block
from parity import bn, conv, dw

# One check repeated over many architectures: the extra-backend passes run its light cases.
pytestmark = pytest.mark.per_architecture

TOLERANCE = 1e-4  # max |ours - torch| / max |torch|
KEYS = list(shufflenet_v2.SHUFFLENET_V2_SPECS)


# ------------------------------------------------------------------------------ layers -----
def _torch_shuffle(x, groups):
    """torchvision's `channel_shuffle` on an NCHW array, written with NumPy: view as
    (n, groups, c / groups, h, w), swap axes 1 and 2, flatten."""
    n, c, h, w = x.shape
    return x.reshape(n, groups, c // groups, h, w).transpose(0, 2, 1, 3, 4).reshape(n, c, h, w)


@pytest.mark.parametrize("groups, c", [(2, 6), (2, 116), (3, 12), (4, 8), (1, 5)])
def test_channel_shuffle_is_torchvisions_permutation(groups, c):
    x = np.random.RandomState(0).standard_normal((2, c, 3, 4)).astype("float32")
    expected = _torch_shuffle(x, groups)
    last = keras.ops.convert_to_numpy(ChannelShuffle(groups)(x.transpose(0, 2, 3, 1)))
    np.testing.assert_array_equal(last.transpose(0, 3, 1, 2), expected)
    first = keras.ops.convert_to_numpy(ChannelShuffle(groups, axis=1)(x))
    np.testing.assert_array_equal(first, expected)


@pytest.mark.parametrize("parts", [1, 2, 3])
def test_channel_split_is_torch_chunk(parts):
    x = np.random.RandomState(0).standard_normal((2, 3, 4, 6 * parts)).astype("float32")
    for part, expected in enumerate(np.split(x, parts, axis=-1)):
        got = keras.ops.convert_to_numpy(ChannelSplit(part, parts)(x))
        np.testing.assert_array_equal(got, expected)
        first = ChannelSplit(part, parts, axis=1)(x.transpose(0, 3, 1, 2))
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(first),
                                      expected.transpose(0, 3, 1, 2))


def test_layers_save_and_load_in_safe_mode(tmp_path):
    """A `.keras` file with both layers (either channel axis) loads with safe_mode=True and
    computes the same; their configs round-trip."""
    inputs = keras.Input((4, 4, 12))
    a, b = ChannelSplit(0, name="left")(inputs), ChannelSplit(1, name="right")(inputs)
    y = keras.layers.Concatenate(name="concat")([b, keras.layers.Dense(6, name="mix")(a)])
    y = ChannelShuffle(3, name="shuffle")(y)
    y = keras.layers.Permute((3, 1, 2), name="to_first")(y)
    y = ChannelShuffle(2, axis=1, name="shuffle_first")(y)
    y = ChannelSplit(1, 3, axis=1, name="split_first")(y)
    model = keras.Model(inputs, y)
    assert tuple(model.output.shape) == (None, 4, 4, 4)
    x = np.random.RandomState(0).standard_normal((2, 4, 4, 12)).astype("float32")
    path = tmp_path / "layers.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.get_layer("shuffle").get_config()["groups"] == 3
    assert loaded.get_layer("split_first").get_config() == model.get_layer(
        "split_first").get_config()
    for layer in (ChannelShuffle(4, axis=1, name="s"), ChannelSplit(2, 3, name="p")):
        assert type(layer).from_config(layer.get_config()).get_config() == layer.get_config()


@pytest.mark.parametrize("make, shape, error, arg", [
    (lambda: ChannelShuffle(0), None, ValueError, "groups"),
    (lambda: ChannelShuffle(2.0), None, TypeError, "groups"),
    (lambda: ChannelShuffle(True), None, TypeError, "groups"),
    (lambda: ChannelShuffle(2, axis="1"), None, TypeError, "axis"),
    (lambda: ChannelShuffle(3), (4, 4, 8), ValueError, "groups"),      # 3 does not divide 8
    (lambda: ChannelShuffle(2, axis=4), (4, 4, 8), ValueError, "axis"),
    (lambda: ChannelSplit(2), None, ValueError, "part"),                # parts=2: 0 or 1
    (lambda: ChannelSplit(-1), None, ValueError, "part"),
    (lambda: ChannelSplit(0.0), None, TypeError, "part"),
    (lambda: ChannelSplit(0, parts=0), None, ValueError, "parts"),
    (lambda: ChannelSplit(0, 4), (4, 4, 6), ValueError, "parts"),       # 4 does not divide 6
    (lambda: ChannelSplit(0, axis=None), None, TypeError, "axis"),
    (lambda: ChannelSplit(0, axis=-5), (4, 4, 6), ValueError, "axis"),
])
def test_layer_argument_errors(make, shape, error, arg):
    with pytest.raises(error, match=f"`{arg}`"):
        layer = make()
        layer(keras.Input(shape))


@pytest.mark.parametrize("layer", [ChannelShuffle(2), ChannelSplit(0)])
def test_layers_need_a_known_channel_count(layer):
    with pytest.raises(ValueError, match="known channel count"):
        layer(keras.Input((4, 4, None)))


# ------------------------------------------------------------------------------- block -----
# h = f / 2. Basic unit (c = f): 2 h^2 + 21 h. Down-sampling unit: left dw 9c + BN 4c + 1x1 c h
# + BN 4h; right 1x1 c h + BN, dw 9h + BN, 1x1 h^2 + BN: 13 c + 2 c h + h^2 + 25 h.
def _unit_params(c, f, *, strided):
    h = f // 2
    right = conv(1, c if strided else h, h) + bn(h) + dw(3, h) + bn(h) + conv(1, h, h) + bn(h)
    return right + (dw(3, c) + bn(c) + conv(1, c, h) + bn(h) if strided else 0)


BLOCKS = [
    ("stride2", lambda x, name: shufflenet_v2_unit(x, 116, strides=2, name=name),
     (16, 16, 24), _unit_params(24, 116, strided=True), (8, 8, 116)),
    ("stride2_odd", lambda x, name: shufflenet_v2_unit(x, 64, strides=2, name=name),
     (15, 15, 32), _unit_params(32, 64, strided=True), (8, 8, 64)),
    ("basic", lambda x, name: shufflenet_v2_unit(x, 116, name=name),
     (8, 8, 116), _unit_params(116, 116, strided=False), (8, 8, 116)),
    ("basic_small", lambda x, name: shufflenet_v2_unit(x, 2, name=name),
     (5, 7, 2), _unit_params(2, 2, strided=False), (5, 7, 2)),
]


@pytest.mark.parametrize("label,block,input_shape,params,output_shape", BLOCKS,
                         ids=[b[0] for b in BLOCKS])
def test_block_harness(label, block, input_shape, params, output_shape, tmp_path):
    check_block(block, input_shape, params=params, output_shape=output_shape,
                tmp_path=tmp_path)


def test_block_formula_values():
    """The docstring's formulas at torchvision's first units of the 1x model."""
    assert _unit_params(24, 116, strided=True) == 13 * 24 + 2 * 24 * 58 + 58 ** 2 + 25 * 58
    assert _unit_params(116, 116, strided=False) == 2 * 58 ** 2 + 21 * 58


def test_block_layer_names_and_labels():
    inputs = keras.Input((16, 16, 24))
    y = shufflenet_v2_unit(inputs, 48, strides=2, name="stage2_unit1")
    y = shufflenet_v2_unit(y, 48, name="stage2_unit2")
    model = keras.Model(inputs, y)
    strided = ["left_1_pad", "left_1_conv", "left_1_bn", "left_2_conv", "left_2_bn",
               "left_2_relu", "right_1_conv", "right_1_bn", "right_1_relu", "right_2_pad",
               "right_2_conv", "right_2_bn", "right_3_conv", "right_3_bn", "right_3_relu",
               "concat", "shuffle"]
    basic = ["left_split", "right_split", "right_1_conv", "right_1_bn", "right_1_relu",
             "right_2_conv", "right_2_bn", "right_3_conv", "right_3_bn", "right_3_relu",
             "concat", "shuffle"]
    assert sorted(layer.name for layer in model.layers[1:]) == sorted(
        [f"stage2_unit1_{n}" for n in strided] + [f"stage2_unit2_{n}" for n in basic])
    assert isinstance(model.get_layer("stage2_unit1_left_1_conv"), keras.layers.DepthwiseConv2D)
    assert model.get_layer("stage2_unit1_left_1_pad").padding == ((1, 1), (1, 1))
    assert model.get_layer("stage2_unit2_right_2_conv").padding == "same"
    assert model.get_layer("stage2_unit2_shuffle").groups == 2
    assert not any(getattr(layer, "use_bias", False) for layer in model.layers)
    assert {layer.epsilon for layer in model.layers
            if isinstance(layer, keras.layers.BatchNormalization)} == {1e-5}
    rows = cnnblocks.summarize(model)
    assert [(r.name, r.kind) for r in rows] == [("stage2_unit1", "shufflenet_v2_unit"),
                                                ("stage2_unit2", "shufflenet_v2_unit")]
    assert rows[0].label == "dw 3x3 /2 → 1x1 24 | 1x1 24 → dw 3x3 /2 → 1x1 24 → shuffle"
    assert rows[1].label == "split → 1x1 24 → dw 3x3 → 1x1 24 → shuffle"


def test_block_channels_first_shapes():
    inputs = keras.Input((24, 16, 16))
    y = shufflenet_v2_unit(inputs, 48, strides=2, data_format="channels_first", name="u1")
    y = shufflenet_v2_unit(y, 48, data_format="channels_first", name="u2")
    assert tuple(y.shape) == (None, 48, 8, 8)


@pytest.mark.parametrize("kwargs, shape, error, arg", [
    (dict(filters=0), (8, 8, 24), ValueError, "filters"),
    (dict(filters=2.0), (8, 8, 24), TypeError, "filters"),
    (dict(filters=25, strides=2), (8, 8, 24), ValueError, "filters"),   # odd
    (dict(filters=48), (8, 8, 24), ValueError, "filters"),              # stride 1: 48 != 24
    (dict(filters=24, strides=0), (8, 8, 24), ValueError, "strides"),
    (dict(filters=24, strides=(2, 2, 2)), (8, 8, 24), ValueError, "strides"),
    (dict(filters=24, bn_epsilon=0), (8, 8, 24), ValueError, "bn_epsilon"),
    (dict(filters=24, bn_epsilon="1e-5"), (8, 8, 24), TypeError, "bn_epsilon"),
    (dict(filters=24, data_format="NHWC"), (8, 8, 24), ValueError, "data_format"),
    (dict(filters=24, name="a/b"), (8, 8, 24), ValueError, "name"),
    (dict(filters=24), (8, 8, None), ValueError, "x"),
])
def test_block_argument_errors(kwargs, shape, error, arg):
    with pytest.raises(error, match=f"`{arg}`"):
        shufflenet_v2_unit(keras.Input(shape), **kwargs)


# -------------------------------------------------------------------------- registered -----
@pytest.fixture(scope="module", params=KEYS)
def key(request):
    return request.param


@pytest.fixture(scope="module")
def small(key):
    model = cnnblocks.create_model(key, input_shape=(64, 64, 3))
    yield model
    del model
    keras.backend.clear_session()


@pytest.mark.backend_independent  # counts and records: checked once, on TensorFlow
def test_counts_equal_torchvision_and_the_records(key, small, tv):
    """Trainable = torchvision's `num_params` and its model's `parameters()`; multiply-adds
    at 224x224 round to its GFLOPS; the records hold the same numbers."""
    title, width, total, trainable, gflops, flops, weights = shufflenet_v2.COUNTS[key]
    assert small.count_params() == total
    assert sum(int(np.prod(w.shape)) for w in small.trainable_weights) == trainable
    assert sum(p.numel() for p in getattr(tv.models, key)().parameters()) == trainable
    for config in registry.entry(key).pretrained.values():
        assert config.num_params == trainable
    assert cnnblocks.weight_depth(small) == shufflenet_v2.DEPTH
    macs = cnnblocks.count_macs(small, input_shape=(224, 224, 3))
    assert round(macs / 1e9, 3) == gflops
    ref = cnnblocks.published.get(key)
    assert ref.params.matches(total) and ref.macs.matches(macs)
    assert ref.trainable_params.value == trainable and ref.depth.matches(shufflenet_v2.DEPTH)
    assert ref.table[-2].macs.matches(macs)            # Table 5's FLOPs, about 1% above
    weights_row = ref.table[-1]                        # Table 5's "# of Weights", 1 decimal
    assert weights_row.params.value == weights
    assert weights_row.params.matches(trainable) and weights_row.params.matches(total)


@pytest.mark.backend_independent  # the layer graph's grouping: checked once, on TensorFlow
def test_one_summary_row_per_unit_and_stage_taps(key, small):
    rows = cnnblocks.summarize(small)
    assert [r.kind for r in rows] == (["stem", "max_pool"] + ["shufflenet_v2_unit"] * 16
                                      + ["conv", "head"])
    assert [r.name for r in rows[2:18]] == [f"stage{s}_unit{u}" for s, n in
                                           zip((2, 3, 4), shufflenet_v2.STAGE_UNITS)
                                           for u in range(1, n + 1)]
    assert sum(r.params for r in rows) == small.count_params()
    assert cnnblocks.features.stage_layers(small) == {
        "C1": "conv1_relu",  # structural: the stride-2 stem
        "C2": "pool1_pool", "C3": "stage2_unit4_shuffle", "C4": "stage3_unit8_shuffle",
        "C5": "conv5_relu"}
    for row in registry.entry(key).reference.table:   # Table 5's rows name our rows
        if row.blocks not in (None, "head"):
            assert any(re.fullmatch(row.blocks, r.name) for r in rows), row


def test_layer_names_and_the_torchvision_layout(small, key):
    """Every layer with weights is in the layout, and every layout entry is a layer (with
    the top); the names are keras.applications-style and deterministic."""
    layout = registry.entry(key).torch_layout.layers
    weighted = {layer.name for layer in small.layers if layer.weights}
    assert weighted | {"predictions"} == set(layout)
    assert layout["stage2_unit1_left_1_conv"] == ("stage2.0.branch1.0",)
    assert layout["stage3_unit2_right_2_bn"] == ("stage3.1.branch2.4",)
    assert layout["conv5_conv"] == ("conv5.0",)
    assert [layer.name for layer in small.layers[:6]] == [
        "input_layer", "conv1_pad", "conv1_conv", "conv1_bn", "conv1_relu", "pool1_pad"]


def test_table5_output_sizes_at_224():
    """Table 5's output sizes, read off a 224x224 build of the 1x model."""
    model = cnnblocks.create_model("shufflenet_v2_x1_0")
    rows = {r.name: r for r in cnnblocks.summarize(model)}
    for row in registry.entry("shufflenet_v2_x1_0").reference.table:
        if row.blocks not in (None, "head"):
            matched = [r for name, r in rows.items()
                       if re.fullmatch(row.blocks, name)]
            channels = row.columns["Output channels 1x"]
            assert {tuple(r.output_shape) for r in matched} == {(*map(int, row.output.split("x")),
                                                    channels)}, row
    keras.backend.clear_session()


def test_builders_registry_and_weight_sets():
    for key in KEYS:
        entry = registry.entry(key)
        assert entry.name == key and entry.family == "shufflenet_v2"
        assert entry.builder.__doc__.startswith(shufflenet_v2.COUNTS[key][0])
        assert list(entry.pretrained) == ["torchvision"]
    assert registry.entry("ShuffleNetV2_x0_5").name == "shufflenet_v2_x0_5"
    assert registry.entry("shufflenet_v2_x1_5").name != registry.entry(
        "shufflenet_v2_x1_0").name
    half = registry.entry("shufflenet_v2_x0_5").pretrained["torchvision"]
    assert half.file.filename == "shufflenetv2_x0.5-f707e7126e.pth"
    assert half.file.sha256 == "f707e7126e"
    assert (half.resize_size, half.top1) == (256, 60.552)
    two = registry.entry("shufflenet_v2_x2_0").pretrained["torchvision"]
    assert (two.file.filename, two.resize_size, two.top5) == (
        "shufflenetv2_x2_0-8be3c8ee.pth", 232, 93.006)


def test_model_saves_and_loads_in_safe_mode(tmp_path):
    model = cnnblocks.create_model("shufflenet_v2_x0_5", input_shape=(64, 64, 3), classes=10)
    x = np.random.RandomState(0).uniform(-2, 2, (1, 64, 64, 3)).astype("float32")
    path = tmp_path / "shufflenet.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6, atol=1e-6)
    keras.backend.clear_session()


# -------------------------------------------------------------------------- torchvision ----
def _outputs(model, x):
    return keras.ops.convert_to_numpy(model(x, training=False))


def test_weights_file_converts_from_torchvision(oracle, tv, tmp_path):
    """`weights=<torchvision .pth>` and the same state dict as `.safetensors`, 1x at 64x64."""
    key = "shufflenet_v2_x1_0"
    oracle.torch.manual_seed(0)
    theirs = oracle.randomize(getattr(tv.models, key)())
    x = oracle.images(64)
    expected = oracle.run(theirs, x)
    pth, safetensors = oracle.save(theirs, tmp_path, key)
    for path in (pth, safetensors):
        keras.backend.clear_session()
        ours = cnnblocks.create_model(key, weights=str(path), input_shape=(64, 64, 3),
                                      classifier_activation=None)
        error = oracle.relative_error([_outputs(ours, x)], expected)
        print(f"[conversion, {keras.backend.backend()}] {key} {path.suffix} at 64: max "
              f"relative error {error:.2e}")
        assert error <= TOLERANCE
    keras.backend.clear_session()
