"""The residual / Inception lineage's blocks (issue 16) through the shared harness: exact
parameters (formula written here), exact output shape, deterministic names, `.keras` save and
safe-mode load; their summary rows; `conv_bn_act`'s new options; every argument error.

Conventions of the formulas: a convolution has `kh*kw*c_in*c_out / groups` weights plus
`c_out` biases when it has them; Keras counts 4 numbers per BatchNormalization channel (gamma,
beta, moving mean and variance), 3 without scale (the Inception-ResNet units).
"""

import doctest
import re

import numpy as np
import pytest

import keras

import cnnblocks
from cnnblocks import layers as cb_layers
from cnnblocks.blocks import (conv_bn_act, dense_block, grouped_bottleneck_module,
                              inception_resnet_a, inception_resnet_b, inception_resnet_c,
                              inception_resnet_reduction_a, inception_resnet_reduction_b,
                              preact_bottleneck_module, preact_residual_module,
                              transition_block)
from cnnblocks.blocks import densenet as densenet_blocks
from cnnblocks.blocks import inception_resnet as inception_resnet_blocks
from cnnblocks.blocks import preact as preact_blocks
from cnnblocks.blocks import resnext as resnext_blocks
from harness import build, check_block


def conv(k, c_in, c_out, *, bias=True, groups=1):
    kh, kw = (k, k) if isinstance(k, int) else k
    return kh * kw * c_in * c_out // groups + (c_out if bias else 0)


def bn(c, scale=True):
    return (4 if scale else 3) * c


def unit(k, c_in, c_out):
    """An Inception-ResNet unit: conv without bias, BN without scale."""
    return conv(k, c_in, c_out, bias=False) + bn(c_out, scale=False)


def preact_bottleneck(c, f, e=4, projection=True):
    """4c + cf + 4f + 9f^2 + 4f + (f+1)ef [+ (c+1)ef]: preact BN, 1x1 (no bias) + BN,
    3x3 (no bias) + BN, last 1x1 (bias), projection (bias)."""
    return (bn(c) + conv(1, c, f, bias=False) + bn(f) + conv(3, f, f, bias=False) + bn(f)
            + conv(1, f, e * f) + (conv(1, c, e * f) if projection else 0))


def dense(c, layers, k, bottleneck=True, width=4):
    total = 0
    for i in range(layers):
        c_i = c + i * k
        if bottleneck:
            total += bn(c_i) + conv(1, c_i, width * k, bias=False) + bn(width * k) + conv(
                3, width * k, k, bias=False)
        else:
            total += bn(c_i) + conv(3, c_i, k, bias=False)
    return total


def grouped(c, f, w, groups=1, e=4, projection=True):
    """torchvision's Bottleneck: no bias; 1x1 (w) + BN, grouped 3x3 (w) + BN, 1x1 (ef) + BN
    [+ projection 1x1 + BN]."""
    return (conv(1, c, w, bias=False) + bn(w) + conv(3, w, w, bias=False, groups=groups)
            + bn(w) + conv(1, w, e * f, bias=False) + bn(e * f)
            + (conv(1, c, e * f, bias=False) + bn(e * f) if projection else 0))


BLOCKS = [
    # --- ResNet v2 (He et al. 2016b; keras.applications ResNet50V2 conventions) ---
    ("preact_bottleneck_projection", lambda x, name: preact_bottleneck_module(x, 64, name=name),
     (8, 8, 64), preact_bottleneck(64, 64), (8, 8, 256)),  # = keras conv2_block1: 75,008
    ("preact_bottleneck_identity", lambda x, name: preact_bottleneck_module(x, 64, name=name),
     (8, 8, 256), preact_bottleneck(256, 64, projection=False), (8, 8, 256)),
    # strided identity: 1x1/2 max pool on the shortcut (keras' last module of a stage)
    ("preact_bottleneck_subsample",
     lambda x, name: preact_bottleneck_module(x, 64, strides=2, name=name),
     (9, 9, 256), preact_bottleneck(256, 64, projection=False), (5, 5, 256)),
    ("preact_bottleneck_forced_projection",
     lambda x, name: preact_bottleneck_module(x, 64, shortcut="projection", use_bias=False,
                                              name=name),
     (8, 8, 256), preact_bottleneck(256, 64) - 256 - 256, (8, 8, 256)),  # no biases
    ("preact_basic_projection_stride2",
     lambda x, name: preact_residual_module(x, 128, strides=2, name=name), (8, 8, 64),
     bn(64) + conv(3, 64, 128, bias=False) + bn(128) + conv(3, 128, 128) + conv(1, 64, 128),
     (4, 4, 128)),
    ("preact_basic_identity", lambda x, name: preact_residual_module(x, 32, name=name),
     (7, 7, 32), bn(32) + conv(3, 32, 32, bias=False) + bn(32) + conv(3, 32, 32), (7, 7, 32)),
    # --- DenseNet (Huang et al. 2017; keras.applications DenseNet121 conv2 / pool2) ---
    ("dense_block_bc", lambda x, name: dense_block(x, 6, 32, name=name), (8, 8, 64),
     dense(64, 6, 32), (8, 8, 64 + 6 * 32)),  # = keras DenseNet121 conv2: 338,304
    ("dense_block_plain", lambda x, name: dense_block(x, 3, 12, bottleneck=False, name=name),
     (8, 8, 24), dense(24, 3, 12, bottleneck=False), (8, 8, 60)),
    ("dense_block_bottleneck_width_2",
     lambda x, name: dense_block(x, 2, 8, bottleneck_width=2, name=name), (6, 6, 16),
     dense(16, 2, 8, width=2), (6, 6, 32)),
    ("transition_half", lambda x, name: transition_block(x, 0.5, name=name), (9, 9, 256),
     bn(256) + conv(1, 256, 128, bias=False), (4, 4, 128)),  # = keras pool2: 33,792
    ("transition_no_compression", lambda x, name: transition_block(x, 1.0, name=name),
     (8, 8, 30), bn(30) + conv(1, 30, 30, bias=False), (4, 4, 30)),
    # --- Inception-ResNet-v2 (Szegedy et al. 2017; keras.applications' widths) ---
    ("inception_resnet_a",
     lambda x, name: inception_resnet_a(x, 32, 32, 32, 32, 48, 64, name=name), (7, 7, 320),
     3 * unit(1, 320, 32) + unit(3, 32, 32) + unit(3, 32, 48) + unit(3, 48, 64)
     + conv(1, 32 + 32 + 64, 320), (7, 7, 320)),  # = keras block35_1: 123,408
    ("inception_resnet_b",
     lambda x, name: inception_resnet_b(x, 192, 128, 160, 192, name=name), (5, 5, 1088),
     unit(1, 1088, 192) + unit(1, 1088, 128) + unit((1, 7), 128, 160)
     + unit((7, 1), 160, 192) + conv(1, 384, 1088), (5, 5, 1088)),  # = block17_1: 1,127,456
    ("inception_resnet_c_linear",
     lambda x, name: inception_resnet_c(x, 192, 192, 224, 256, scale=1.0, activation=None,
                                        name=name), (3, 3, 2080),
     unit(1, 2080, 192) + unit(1, 2080, 192) + unit((1, 3), 192, 224)
     + unit((3, 1), 224, 256) + conv(1, 448, 2080), (3, 3, 2080)),  # = block8_10
    ("inception_resnet_reduction_a",
     lambda x, name: inception_resnet_reduction_a(x, 256, 256, 384, 384, name=name),
     (9, 9, 320), unit(3, 320, 384) + unit(1, 320, 256) + unit(3, 256, 256)
     + unit(3, 256, 384), (4, 4, 320 + 384 + 384)),  # = keras mixed_6a: 2,666,240
    ("inception_resnet_reduction_b",
     lambda x, name: inception_resnet_reduction_b(x, 256, 384, 256, 288, 256, 288, 320,
                                                  name=name),
     (7, 7, 1088), unit(1, 1088, 256) + unit(3, 256, 384) + unit(1, 1088, 256)
     + unit(3, 256, 288) + unit(1, 1088, 256) + unit(3, 256, 288) + unit(3, 288, 320),
     (3, 3, 1088 + 384 + 288 + 320)),  # = keras mixed_7a: 3,883,008
    # --- ResNeXt / Wide ResNet (torchvision's Bottleneck) ---
    ("resnext_32x4d_projection",
     lambda x, name: grouped_bottleneck_module(x, 64, cardinality=32, base_width=4, name=name),
     (8, 8, 64), grouped(64, 64, 128, groups=32), (8, 8, 256)),
    ("resnext_32x4d_strided",  # 8 -> 4: explicit symmetric padding of the strided 3x3
     lambda x, name: grouped_bottleneck_module(x, 128, strides=2, cardinality=32, base_width=4,
                                               name=name),
     (8, 8, 256), grouped(256, 128, 256, groups=32), (4, 4, 512)),
    ("resnext_32x8d_identity",
     lambda x, name: grouped_bottleneck_module(x, 64, cardinality=32, base_width=8, name=name),
     (6, 6, 256), grouped(256, 64, 256, groups=32, projection=False), (6, 6, 256)),
    ("wide_bottleneck_k2",
     lambda x, name: grouped_bottleneck_module(x, 64, width_factor=2, name=name), (8, 8, 256),
     grouped(256, 64, 128, projection=False), (8, 8, 256)),
    ("plain_torchvision_bottleneck",  # cardinality 1, base width 64: ResNet-50 v1.5's module
     lambda x, name: grouped_bottleneck_module(x, 64, name=name), (8, 8, 64),
     grouped(64, 64, 64), (8, 8, 256)),
]


@pytest.mark.parametrize("case,block,input_shape,params,output_shape", BLOCKS,
                         ids=[b[0] for b in BLOCKS])
def test_block(case, block, input_shape, params, output_shape, tmp_path):
    check_block(block, input_shape, params=params, output_shape=output_shape,
                tmp_path=tmp_path)


def test_formulas_equal_keras_block_counts():
    """The formulas above against keras.applications' counts of the same blocks (the
    `cnnblocks summarize` rows of ResNet50V2, DenseNet121, InceptionResNetV2)."""
    assert preact_bottleneck(64, 64) == 75_008          # conv2_block1
    assert dense(64, 6, 32) == 338_304                   # conv2 dense block
    assert bn(256) + conv(1, 256, 128, bias=False) == 33_792  # pool2 transition
    assert (3 * unit(1, 320, 32) + unit(3, 32, 32) + unit(3, 32, 48) + unit(3, 48, 64)
            + conv(1, 128, 320)) == 123_408              # block35_1
    assert (unit(3, 320, 384) + unit(1, 320, 256) + unit(3, 256, 256)
            + unit(3, 256, 384)) == 2_666_240            # mixed_6a


# --------------------------------------------------------------------- layer structure ----
def _layers(block, input_shape, name="blk"):
    return {layer.name: layer for layer in build(block, input_shape, name).layers}


def test_preact_bottleneck_keras_grammar_and_stride_on_3x3():
    layers = _layers(lambda x, name: preact_bottleneck_module(x, 64, strides=2, name=name),
                     (8, 8, 64), "conv2_block1")
    expected = {"conv2_block1_preact_bn", "conv2_block1_preact_relu", "conv2_block1_0_conv",
                "conv2_block1_1_conv", "conv2_block1_1_bn", "conv2_block1_1_relu",
                "conv2_block1_2_pad", "conv2_block1_2_conv", "conv2_block1_2_bn",
                "conv2_block1_2_relu", "conv2_block1_3_conv", "conv2_block1_out"}
    assert expected <= set(layers)
    assert layers["conv2_block1_2_conv"].strides == (2, 2)
    assert layers["conv2_block1_2_conv"].padding == "valid"
    assert layers["conv2_block1_2_pad"].padding == ((1, 1), (1, 1))
    assert layers["conv2_block1_1_conv"].strides == (1, 1)
    assert not layers["conv2_block1_1_conv"].use_bias and layers["conv2_block1_3_conv"].use_bias
    assert layers["conv2_block1_0_conv"].strides == (2, 2)


def test_preact_subsample_shortcut_is_a_strided_1x1_max_pool():
    layers = _layers(lambda x, name: preact_bottleneck_module(x, 64, strides=2, name=name),
                     (9, 9, 256))
    pool = layers["blk_0_pool"]
    assert isinstance(pool, keras.layers.MaxPooling2D)
    assert pool.pool_size == (1, 1) and pool.strides == (2, 2)
    assert "blk_0_conv" not in layers


def test_dense_block_concatenates_input_first():
    model = build(lambda x, name: dense_block(x, 2, 4, name=name), (5, 5, 3))
    x = np.random.RandomState(0).standard_normal((1, 5, 5, 3)).astype("float32")
    y = model.predict(x, verbose=0)
    np.testing.assert_array_equal(y[..., :3], x)  # the block's input passes unchanged
    names = [layer.name for layer in model.layers]
    assert names.index("blk_block1_0_bn") < names.index("blk_block1_1_conv")  # pre-activation
    assert "blk_block2_concat" == names[-1]


def test_inception_resnet_residual_is_scaled():
    """x + scale * linear 1x1(mixed): with the 1x1's kernel zeroed the block is ReLU(x + s b)."""
    model = build(lambda x, name: inception_resnet_a(x, 4, 4, 4, 4, 4, 4, scale=0.25,
                                                     name=name), (5, 5, 8))
    conv_1x1 = model.get_layer("blk_conv")
    kernel, bias = conv_1x1.get_weights()
    conv_1x1.set_weights([np.zeros_like(kernel), np.full_like(bias, 2.0)])
    x = np.random.RandomState(0).standard_normal((1, 5, 5, 8)).astype("float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), np.maximum(x + 0.5, 0), rtol=1e-6)
    assert isinstance(model.get_layer("blk_add"), cb_layers.ScaledAdd)
    assert model.get_layer("blk_add").scale == 0.25


def test_scaled_add_equals_keras_custom_scale_layer_bit_for_bit():
    from keras.src.applications.inception_resnet_v2 import CustomScaleLayer  # the oracle
    rng = np.random.RandomState(0)
    a, b = (rng.standard_normal((2, 3, 3, 5)).astype("float32") for _ in range(2))
    ours = keras.ops.convert_to_numpy(cb_layers.ScaledAdd(0.17)([a, b]))
    theirs = keras.ops.convert_to_numpy(CustomScaleLayer(0.17)([a, b]))
    np.testing.assert_array_equal(ours, theirs)
    assert cb_layers.ScaledAdd(0.17).get_config()["scale"] == 0.17


def test_grouped_bottleneck_group_sizes_and_padding():
    layers = _layers(lambda x, name: grouped_bottleneck_module(
        x, 128, strides=2, cardinality=32, base_width=4, name=name), (8, 8, 256))
    conv3 = layers["blk_2_conv"]
    assert conv3.groups == 32 and conv3.filters == 256 and conv3.strides == (2, 2)
    assert tuple(conv3.kernel.shape) == (3, 3, 256 // 32, 256)
    assert layers["blk_2_pad"].padding == ((1, 1), (1, 1)) and conv3.padding == "valid"
    assert layers["blk_1_conv"].strides == (1, 1)  # stride on the 3x3 (the paper, torchvision)
    assert all(not getattr(layer, "use_bias", False) for layer in layers.values()
               if isinstance(layer, keras.layers.Conv2D))
    assert layers["blk_2_bn"].epsilon == 1e-5
    unstrided = _layers(lambda x, name: grouped_bottleneck_module(
        x, 64, cardinality=32, base_width=4, name=name), (8, 8, 256))
    assert "blk_2_pad" not in unstrided and unstrided["blk_2_conv"].padding == "same"


@pytest.mark.parametrize("filters,kwargs,width", [
    (64, {}, 64), (64, dict(cardinality=32, base_width=4), 128),
    (512, dict(cardinality=32, base_width=4), 1024), (64, dict(cardinality=32, base_width=8), 256),
    (64, dict(width_factor=2), 128), (512, dict(width_factor=2), 1024)])
def test_inner_width_formula(filters, kwargs, width):
    # torchvision: width = int(planes * base_width / 64) * groups (WRN: width_per_group = 128)
    assert resnext_blocks.inner_width(filters, **kwargs) == width


# --------------------------------------------------------------------- conv_bn_act ----
def test_conv_bn_act_explicit_padding_groups_and_preactivation():
    def block(x, name):
        return conv_bn_act(x, 8, 3, strides=2, padding=1, groups=2, preactivation=True,
                           use_bias=False, name=name)
    model = check_block(block, (8, 8, 4), params=bn(4) + conv(3, 4, 8, bias=False, groups=2),
                        output_shape=(4, 4, 8), tmp_path=None, save=False)
    assert [type(layer).__name__ for layer in model.layers[1:]] == [
        "BatchNormalization", "Activation", "ZeroPadding2D", "Conv2D"]
    assert [layer.name for layer in model.layers[1:]] == ["blk_bn", "blk_relu", "blk_pad",
                                                          "blk_conv"]
    assert model.get_layer("blk_conv").activation.__name__ == "linear"


def test_conv_bn_act_defaults_unchanged():
    """The existing unit (no new option): conv, BN, activation with the same names."""
    model = build(lambda x, name: conv_bn_act(x, 8, 3, name=name), (8, 8, 4))
    assert [layer.name for layer in model.layers[1:]] == ["blk_conv", "blk_bn", "blk_relu"]
    assert model.get_layer("blk_conv").padding == "same"


def test_conv_bn_act_explicit_padding_is_torch_symmetric():
    """`padding=1` at stride 2 on an even size samples what PyTorch does: rows 0, 2, ... of the
    padded input, i.e. input rows -1, 1, 3, ... ("same" would read 0, 2, 4, ...)."""
    inputs = keras.Input((6, 6, 1))
    y = conv_bn_act(inputs, 1, 3, strides=2, padding=1, batch_norm=False, activation=None,
                    use_bias=False, name="c")
    model = keras.Model(inputs, y)
    kernel = np.zeros((3, 3, 1, 1), "float32")
    kernel[1, 1] = 1.0  # picks the window's centre
    model.get_layer("c_conv").set_weights([kernel])
    x = np.arange(36, dtype="float32").reshape(1, 6, 6, 1)
    np.testing.assert_array_equal(model.predict(x, verbose=0)[0, :, :, 0], x[0, ::2, ::2, 0])


# --------------------------------------------------------------------- summaries ----
def test_summary_rows_have_the_block_kinds():
    inputs = keras.Input((32, 32, 64))
    x = preact_bottleneck_module(inputs, 16, name="p1")
    x = preact_residual_module(x, 64, strides=2, name="p2")
    x = dense_block(x, 2, 8, name="d1")
    x = transition_block(x, 0.5, name="t1")
    x = grouped_bottleneck_module(x, 8, cardinality=4, base_width=8, name="g1")
    x = inception_resnet_a(x, 4, 4, 4, 4, 6, 8, name="a1")
    x = inception_resnet_reduction_a(x, 8, 8, 12, 12, name="ra")
    x = inception_resnet_b(x, 8, 8, 10, 12, name="b1")
    x = inception_resnet_reduction_b(x, 8, 12, 8, 10, 8, 10, 12, name="rb")
    x = inception_resnet_c(x, 8, 8, 10, 12, name="c1")
    model = keras.Model(inputs, x)
    summary = cnnblocks.summarize(model)
    assert [(row.name, row.kind) for row in summary] == [
        ("p1", "preact_bottleneck_module"), ("p2", "preact_residual_module"),
        ("d1", "dense_block"), ("t1", "transition_block"),
        ("g1", "grouped_bottleneck_module"), ("a1", "inception_resnet_a"),
        ("ra", "inception_resnet_reduction_a"), ("b1", "inception_resnet_b"),
        ("rb", "inception_resnet_reduction_b"), ("c1", "inception_resnet_c")]
    assert sum(row.params for row in summary) == model.count_params()
    rows = {row.name: row for row in summary}
    # inner width int(8 * 8 / 64) * 4 = 4, 4 groups; output 4 * 8
    assert rows["g1"].label == "1x1 4 → 3x3 4 g4 → 1x1 32"
    assert rows["d1"].label == "2 × [1x1 32 → 3x3 8]"
    assert rows["t1"].args["compression"] == 0.5
    assert rows["a1"].args["scale"] == 0.17  # the released model's default


def test_unnamed_blocks_get_numbered_prefixes():
    inputs = keras.Input((8, 8, 16))
    x = dense_block(inputs, 1, 4)
    x = dense_block(x, 1, 4)
    names = [layer.name for layer in keras.Model(inputs, x).layers[1:]]
    prefixes = sorted({re.match(r"(.*)_block\d+_", n).group(1) for n in names})
    assert len(prefixes) == 2 and all(p.startswith("dense_block") for p in prefixes), prefixes


# --------------------------------------------------------------------- argument errors ----
def _x(shape=(8, 8, 64)):
    return keras.Input(shape)


ERRORS = [
    # (id, call, exception, fragment of the message: the argument and the value)
    ("conv_padding_negative", lambda: conv_bn_act(_x(), 8, 3, padding=-1), ValueError,
     "`padding`"),
    ("conv_padding_word", lambda: conv_bn_act(_x(), 8, 3, padding="full"), ValueError,
     "'full'"),
    ("conv_groups_not_dividing", lambda: conv_bn_act(_x(), 10, 3, groups=4), ValueError,
     "groups=4"),
    ("conv_groups_separable", lambda: conv_bn_act(_x(), 8, 3, groups=2, separable=True),
     ValueError, "groups=2"),
    ("conv_groups_type", lambda: conv_bn_act(_x(), 8, 3, groups=1.5), TypeError, "1.5"),
    ("preact_filters", lambda: preact_bottleneck_module(_x(), 0), ValueError, "`filters`"),
    ("preact_identity_mismatch",
     lambda: preact_bottleneck_module(_x(), 64, shortcut="identity"), ValueError,
     "64 channels to 256"),
    ("preact_shortcut_word", lambda: preact_bottleneck_module(_x(), 64, shortcut="none"),
     ValueError, "'none'"),
    ("preact_use_bias", lambda: preact_bottleneck_module(_x(), 64, use_bias="yes"), TypeError,
     "'yes'"),
    ("preact_expansion", lambda: preact_bottleneck_module(_x(), 64, expansion=0), ValueError,
     "`expansion`"),
    ("preact_basic_strides", lambda: preact_residual_module(_x(), 64, strides=(2, 2, 2)),
     ValueError, "`strides`"),
    ("dense_layers", lambda: dense_block(_x(), 0), ValueError, "`num_layers`"),
    ("dense_growth", lambda: dense_block(_x(), 2, 1.5), TypeError, "1.5"),
    ("dense_bottleneck", lambda: dense_block(_x(), 2, bottleneck="yes"), TypeError, "'yes'"),
    ("dense_width", lambda: dense_block(_x(), 2, bottleneck_width=0), ValueError,
     "`bottleneck_width`"),
    ("transition_zero", lambda: transition_block(_x(), 0), ValueError, "`compression`"),
    ("transition_above_one", lambda: transition_block(_x(), 1.5), ValueError, "1.5"),
    ("transition_word", lambda: transition_block(_x(), "half"), TypeError, "'half'"),
    ("transition_too_small", lambda: transition_block(_x((1, 1, 8))), ValueError,
     "average pooling"),
    ("transition_no_channel_left", lambda: transition_block(_x((4, 4, 2)), 0.4), ValueError,
     "0.4"),
    ("ir_scale", lambda: inception_resnet_a(_x(), 4, 4, 4, 4, 4, 4, scale=-1), ValueError,
     "`scale`"),
    ("ir_scale_type", lambda: inception_resnet_b(_x(), 4, 4, 4, 4, scale="big"), ValueError,
     "'big'"),
    ("ir_activation", lambda: inception_resnet_c(_x(), 4, 4, 4, 4, activation="gelu"),
     ValueError, "'gelu'"),
    ("ir_width", lambda: inception_resnet_a(_x(), 4, 0, 4, 4, 4, 4), ValueError,
     "`f3_reduce`"),
    ("ir_reduction_too_small",
     lambda: inception_resnet_reduction_a(_x((2, 2, 8)), 4, 4, 4, 4), ValueError,
     "stride-2"),
    ("ir_reduction_b_width",
     lambda: inception_resnet_reduction_b(_x(), 4, 4, 4, 4, 4, 4, -2), ValueError,
     "`f3dbl_2`"),
    ("grouped_cardinality", lambda: grouped_bottleneck_module(_x(), 64, cardinality=0),
     ValueError, "`cardinality`"),
    ("grouped_base_width_too_small",
     lambda: grouped_bottleneck_module(_x(), 32, cardinality=4, base_width=1), ValueError,
     "`base_width`=1"),
    ("grouped_width_factor", lambda: grouped_bottleneck_module(_x(), 64, width_factor=1.5),
     TypeError, "1.5"),
    ("grouped_identity_mismatch",
     lambda: grouped_bottleneck_module(_x(), 64, strides=2, shortcut="identity"), ValueError,
     "strides (2, 2)"),
    ("block_name_slash", lambda: dense_block(_x(), 1, name="a/b"), ValueError, "'a/b'"),
    ("block_input_rank", lambda: preact_bottleneck_module(keras.Input((8, 64)), 16),
     ValueError, "rank-4"),
]


@pytest.mark.parametrize("case,call,error,fragment", ERRORS, ids=[e[0] for e in ERRORS])
def test_argument_errors(case, call, error, fragment):
    with pytest.raises(error) as info:
        call()
    assert fragment in str(info.value), str(info.value)


@pytest.mark.parametrize("module", [preact_blocks, densenet_blocks, inception_resnet_blocks,
                                   resnext_blocks], ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_scaled_add_docstring_example():
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner()
    for test in finder.find(cb_layers.ScaledAdd, "ScaledAdd"):
        runner.run(test)
    assert runner.failures == 0 and runner.tries > 0
