"""Every block through the shared harness: exact parameters (formula in the test), exact output
shape, deterministic names, `.keras` save and safe-mode load.

Conventions of the formulas: a convolution has `kh*kw*c_in*c_out` weights plus `c_out` biases;
Keras counts 4 numbers per BatchNormalization channel (gamma, beta, moving mean and variance),
3 without scale; a separable convolution has `k*k*c_in` depthwise plus `c_in*c_out` pointwise
weights.
"""

import pytest

import cnnblocks

from cnnblocks.blocks import (bottleneck_module, conv_bn_act, fire_module, inception_module,
                              inception_v3_a, inception_v3_b, inception_v3_c,
                              inception_v3_reduction_a, inception_v3_reduction_b,
                              naive_inception_module, residual_module, vgg_block,
                              xception_module)
from harness import build, check_block


def conv(k, c_in, c_out, bias=True):
    kh, kw = (k, k) if isinstance(k, int) else k
    return kh * kw * c_in * c_out + (c_out if bias else 0)


def bn(c, scale=True):
    return (4 if scale else 3) * c


def sep(c_in, c_out, k=3):
    return k * k * c_in + c_in * c_out


def v3(k, c_in, c_out):
    """An Inception-V3 unit: conv without bias, BN without scale."""
    return conv(k, c_in, c_out, bias=False) + bn(c_out, scale=False)


def three_vgg_blocks(x, name):
    x = vgg_block(x, 64, 2, name=f"{name}1")
    x = vgg_block(x, 128, 2, name=f"{name}2")
    return vgg_block(x, 256, 4, name=f"{name}3")


def two_inception_modules(x, name):
    x = inception_module(x, 64, 96, 128, 16, 32, 32, name=f"{name}_3a")
    return inception_module(x, 128, 128, 192, 32, 96, 64, name=f"{name}_3b")


def _inception(c, f1, r3, f3, r5, f5, pp):
    return (conv(1, c, f1) + conv(1, c, r3) + conv(3, r3, f3) + conv(1, c, r5)
            + conv(5, r5, f5) + conv(1, c, pp))


BLOCKS = [
    # --- the blocks tutorial's models (exact counts of its summaries) ---
    ("tutorial_one_vgg_block", lambda x, name: vgg_block(x, 64, 2, name=name), (256, 256, 3),
     conv(3, 3, 64) + conv(3, 64, 64),  # 1,792 + 36,928 = 38,720
     (128, 128, 64)),
    ("tutorial_three_vgg_blocks", three_vgg_blocks, (256, 256, 3),
     conv(3, 3, 64) + conv(3, 64, 64) + conv(3, 64, 128) + conv(3, 128, 128)
     + conv(3, 128, 256) + 3 * conv(3, 256, 256),  # 2,325,568
     (32, 32, 256)),
    ("tutorial_naive_inception", lambda x, name: naive_inception_module(x, 64, 128, 32,
                                                                        name=name),
     (256, 256, 3), conv(1, 3, 64) + conv(3, 3, 128) + conv(5, 3, 32),  # 6,272
     (256, 256, 64 + 128 + 32 + 3)),
    ("tutorial_two_inception_modules", two_inception_modules, (256, 256, 3),
     _inception(3, 64, 96, 128, 16, 32, 32) + _inception(256, 128, 128, 192, 32, 96, 64),
     (256, 256, 128 + 192 + 96 + 64)),  # 124,384 + 388,736 = 513,120
    ("tutorial_plain_residual", lambda x, name: residual_module(x, 64, batch_norm=False,
                                                                name=name),
     (256, 256, 3), conv(1, 3, 64) + conv(3, 3, 64) + conv(3, 64, 64),  # 38,976 (projection)
     (256, 256, 64)),
    # --- residual modules with batch norm (keras.applications ResNet conventions: bias + BN) ---
    ("residual_identity", lambda x, name: residual_module(x, 64, name=name), (8, 8, 64),
     2 * (conv(3, 64, 64) + bn(64)), (8, 8, 64)),
    ("residual_projection_stride2",
     lambda x, name: residual_module(x, 128, strides=2, name=name), (8, 8, 64),
     conv(3, 64, 128) + bn(128) + conv(3, 128, 128) + bn(128) + conv(1, 64, 128) + bn(128),
     (4, 4, 128)),
    ("residual_forced_projection",
     lambda x, name: residual_module(x, 16, shortcut="projection", name=name), (6, 6, 16),
     2 * (conv(3, 16, 16) + bn(16)) + conv(1, 16, 16) + bn(16), (6, 6, 16)),
    ("bottleneck_projection", lambda x, name: bottleneck_module(x, 64, name=name), (8, 8, 64),
     conv(1, 64, 64) + bn(64) + conv(3, 64, 64) + bn(64) + conv(1, 64, 256) + bn(256)
     + conv(1, 64, 256) + bn(256),  # = keras ResNet50 conv2_block1: 76,928
     (8, 8, 256)),
    ("bottleneck_identity", lambda x, name: bottleneck_module(x, 64, name=name), (8, 8, 256),
     conv(1, 256, 64) + bn(64) + conv(3, 64, 64) + bn(64) + conv(1, 64, 256) + bn(256),
     (8, 8, 256)),
    ("bottleneck_v15_stride2",
     lambda x, name: bottleneck_module(x, 128, strides=2, stride_on="3x3", name=name),
     (8, 8, 256),
     conv(1, 256, 128) + bn(128) + conv(3, 128, 128) + bn(128) + conv(1, 128, 512) + bn(512)
     + conv(1, 256, 512) + bn(512), (4, 4, 512)),
    ("bottleneck_expansion2",
     lambda x, name: bottleneck_module(x, 8, expansion=2, name=name), (4, 4, 16),
     conv(1, 16, 8) + bn(8) + conv(3, 8, 8) + bn(8) + conv(1, 8, 16) + bn(16), (4, 4, 16)),
    # --- Xception modules (separable convolutions without bias, BN with scale) ---
    ("xception_entry",
     lambda x, name: xception_module(x, (128, 128), pool=True, activate_first=False,
                                     name=name),
     (16, 16, 64),
     sep(64, 128) + bn(128) + sep(128, 128) + bn(128) + conv(1, 64, 128, bias=False) + bn(128),
     (8, 8, 128)),
    ("xception_middle", lambda x, name: xception_module(x, 32, name=name), (8, 8, 32),
     3 * (sep(32, 32) + bn(32)), (8, 8, 32)),
    ("xception_exit", lambda x, name: xception_module(x, (16, 24), pool=True, name=name),
     (8, 8, 16),
     sep(16, 16) + bn(16) + sep(16, 24) + bn(24) + conv(1, 16, 24, bias=False) + bn(24),
     (4, 4, 24)),
    # --- Inception-V3 modules at keras.applications' widths (mixed0, mixed3, mixed4, ...) ---
    ("v3_a_mixed0", lambda x, name: inception_v3_a(x, 64, 48, 64, 64, 96, 32, name=name),
     (9, 9, 192),
     v3(1, 192, 64) + v3(1, 192, 48) + v3(5, 48, 64) + v3(1, 192, 64) + v3(3, 64, 96)
     + v3(3, 96, 96) + v3(1, 192, 32),  # 256,368
     (9, 9, 256)),
    ("v3_reduction_a_mixed3",
     lambda x, name: inception_v3_reduction_a(x, 384, 64, 96, name=name), (9, 9, 288),
     v3(3, 288, 384) + v3(1, 288, 64) + v3(3, 64, 96) + v3(3, 96, 96), (4, 4, 768)),
    ("v3_b_mixed4",
     lambda x, name: inception_v3_b(x, 192, 128, 192, 128, 192, 192, name=name),
     (7, 7, 768),
     v3(1, 768, 192) + v3(1, 768, 128) + v3((1, 7), 128, 128) + v3((7, 1), 128, 192)
     + v3(1, 768, 128) + v3((7, 1), 128, 128) + v3((1, 7), 128, 128) + v3((7, 1), 128, 128)
     + v3((1, 7), 128, 192) + v3(1, 768, 192),
     (7, 7, 768)),
    ("v3_reduction_b_mixed8",
     lambda x, name: inception_v3_reduction_b(x, 192, 320, 192, 192, name=name), (9, 9, 768),
     v3(1, 768, 192) + v3(3, 192, 320) + v3(1, 768, 192) + v3((1, 7), 192, 192)
     + v3((7, 1), 192, 192) + v3(3, 192, 192), (4, 4, 1280)),
    ("v3_c_mixed9",
     lambda x, name: inception_v3_c(x, 320, 384, 384, 448, 384, 192, name=name), (4, 4, 1280),
     v3(1, 1280, 320) + v3(1, 1280, 384) + v3((1, 3), 384, 384) + v3((3, 1), 384, 384)
     + v3(1, 1280, 448) + v3(3, 448, 384) + v3((1, 3), 384, 384) + v3((3, 1), 384, 384)
     + v3(1, 1280, 192), (4, 4, 2048)),
    # --- SqueezeNet (Iandola et al. 2016, Table 1: fire2, s1x1 16, e1x1 64, e3x3 64 on 96
    # channels: 11,920 parameters) ---
    ("fire2", lambda x, name: fire_module(x, 16, 64, 64, name=name), (9, 9, 96),
     conv(1, 96, 16) + conv(1, 16, 64) + conv(3, 16, 64), (9, 9, 128)),
    # --- the shared unit ---
    ("conv_bn_act", lambda x, name: conv_bn_act(x, 8, 3, strides=2, name=name), (9, 9, 3),
     conv(3, 3, 8) + bn(8), (5, 5, 8)),
    ("conv_bn_act_separable_noscale",
     lambda x, name: conv_bn_act(x, 8, 3, separable=True, use_bias=False, bn_scale=False,
                                 name=name), (6, 6, 4), sep(4, 8) + bn(8, scale=False),
     (6, 6, 8)),
]


@pytest.mark.parametrize("block,input_shape,params,output_shape",
                         [row[1:] for row in BLOCKS], ids=[row[0] for row in BLOCKS])
def test_block(block, input_shape, params, output_shape, tmp_path):
    check_block(block, input_shape, params=params, output_shape=output_shape,
                tmp_path=tmp_path)


def test_tutorial_counts_are_the_published_summaries():
    """The totals of the blocks tutorial's model summaries, written out."""
    expected = {
        "tutorial_one_vgg_block": 38_720,
        "tutorial_three_vgg_blocks": 2_325_568,
        "tutorial_naive_inception": 6_272,
        "tutorial_two_inception_modules": 513_120,
        "tutorial_plain_residual": 38_976,
    }
    got = {row[0]: row[3] for row in BLOCKS if row[0] in expected}
    assert got == expected


def _names(model):
    return {layer.name for layer in model.layers[1:]}


def test_keras_resnet_suffix_grammar():
    names = _names(build(lambda x, name: bottleneck_module(x, 64, name=name), (8, 8, 64),
                         "conv2_block1"))
    assert names == {f"conv2_block1_{s}" for s in (
        "0_conv", "0_bn", "1_conv", "1_bn", "1_relu", "2_conv", "2_bn", "2_relu", "3_conv",
        "3_bn", "add", "out")}


def test_keras_vgg_and_xception_names():
    assert _names(build(lambda x, name: vgg_block(x, 8, 2, name=name), (8, 8, 3), "block1")) \
        == {"block1_conv1", "block1_conv2", "block1_pool"}
    names = _names(build(lambda x, name: xception_module(x, (8, 8), pool=True,
                                                         activate_first=False, name=name),
                         (8, 8, 4), "block2"))
    assert {"block2_sepconv1", "block2_sepconv1_bn", "block2_sepconv2_act", "block2_sepconv2",
            "block2_sepconv2_bn", "block2_pool"} <= names
    assert "block2_sepconv1_act" not in names


def test_shortcut_is_first_add_input_in_resnet_and_second_in_xception():
    model = build(lambda x, name: residual_module(x, 8, strides=2, name=name), (8, 8, 4), "r")
    add = model.get_layer("r_add")
    assert [t._keras_history[0].name for t in add._inbound_nodes[0].input_tensors] == \
        ["r_0_bn", "r_2_bn"]
    model = build(lambda x, name: xception_module(x, 8, pool=True, name=name), (8, 8, 4), "x")
    add = model.get_layer("x_add")
    assert [t._keras_history[0].name for t in add._inbound_nodes[0].input_tensors] == \
        ["x_pool", "x_0_bn"]


def test_stride_placement_v1_and_v15():
    v1 = build(lambda x, name: bottleneck_module(x, 4, strides=2, name=name), (8, 8, 8), "b")
    v15 = build(lambda x, name: bottleneck_module(x, 4, strides=2, stride_on="3x3", name=name),
                (8, 8, 8), "b")
    assert v1.get_layer("b_1_conv").strides == (2, 2)
    assert v1.get_layer("b_2_conv").strides == (1, 1)
    assert v15.get_layer("b_1_conv").strides == (1, 1)
    assert v15.get_layer("b_2_conv").strides == (2, 2)


def test_auto_shortcut_decisions():
    same = build(lambda x, name: residual_module(x, 8, name=name), (4, 4, 8), "s")
    assert "s_0_conv" not in _names(same)
    wider = build(lambda x, name: residual_module(x, 16, name=name), (4, 4, 8), "w")
    assert "w_0_conv" in _names(wider)
    middle = build(lambda x, name: xception_module(x, 8, name=name), (4, 4, 8), "m")
    assert "m_0_conv" not in _names(middle)


def test_inception_v3_c_inner_concat_names():
    model = build(lambda x, name: inception_v3_c(x, 4, 4, 4, 4, 4, 4,
                                                 concat_names=("mixed9_0", "c2"), name=name),
                  (3, 3, 8), "mixed9")
    assert {"mixed9", "mixed9_0", "c2"} <= _names(model)


def test_unnamed_blocks_get_unique_prefixes():
    import keras
    x = keras.Input((8, 8, 4))
    y = residual_module(residual_module(x, 4), 4)
    model = keras.Model(x, y)
    names = [layer.name for layer in model.layers]
    assert len(names) == len(set(names))
    first, second = (row.name for row in cnnblocks.summarize(model))
    assert first.startswith("residual_module") and second.startswith("residual_module")
    assert f"{second}_1_conv" in names and f"{second}_out" in names


@pytest.mark.parametrize("name, message", [("", TypeError), ("a/b", ValueError),
                                           (3, TypeError)])
def test_block_names_are_checked(name, message):
    import keras
    with pytest.raises(message, match="`name`"):
        fire_module(keras.Input((8, 8, 4)), 2, 2, 2, name=name)


def test_batchnorm_inception_module():
    model = build(lambda x, name: inception_module(x, 4, 4, 8, 2, 4, 4, norm="batchnorm",
                                                   name=name), (6, 6, 8), "i")
    expected = (conv(1, 8, 4, False) + bn(4) + conv(1, 8, 4, False) + bn(4)
                + conv(3, 4, 8, False) + bn(8) + conv(1, 8, 2, False) + bn(2)
                + conv(5, 2, 4, False) + bn(4) + conv(1, 8, 4, False) + bn(4))
    assert model.count_params() == expected
    assert {"i_1x1_bn", "i_5x5_relu", "i_pool_proj_bn"} <= _names(model)
