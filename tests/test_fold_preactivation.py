"""`fold_batchnorm` on pre-activation networks (issue 16): a BN right before a convolution or
dense layer is folded into that layer where this is exact, and left in place elsewhere.

Exactness (`cnnblocks.inference.input_fold_is_exact`): BN(x) = s x + t per channel, so
conv(BN(x)) = conv'(x) with the kernel's input channel c scaled by s[c] and the bias plus
sum(kernel * t), wherever the convolution reads no zero padding (Dense, "valid", "same" 1x1 or
"same" at sizes that need no padding); a padded convolution only where t = 0. Every model's BN
statistics are randomized first (`cnnblocks.testing.randomize_batchnorm`), so a wrong fold
cannot pass.
"""

import re

import numpy as np
import pytest

import keras
from keras import layers

import cnnblocks
from cnnblocks import inference, testing


def bns(model):
    return sorted(layer.name for layer in model.layers
                  if isinstance(layer, layers.BatchNormalization))


def assert_same_function(model, folded, x, rtol=1e-5):
    ref = keras.ops.convert_to_numpy(model(x, training=False))
    got = keras.ops.convert_to_numpy(folded(x))
    assert np.abs(ref - got).max() <= rtol * np.abs(ref).max(), (
        np.abs(ref - got).max(), np.abs(ref).max())


def fold(model, seed=0):
    testing.randomize_batchnorm(model, seed=seed)
    return inference.fold_batchnorm(model)


def _chain(input_shape, *make):
    inputs = keras.Input(input_shape)
    x = inputs
    for layer in make:
        x = layer(x)
    return keras.Model(inputs, x)


def _x(shape, seed=0):
    return np.random.RandomState(seed).standard_normal((2, *shape)).astype("float32")


# (id, input shape, layers after the input, BNs expected left after folding)
CASES = [
    ("valid_conv", (9, 9, 4), lambda: [layers.BatchNormalization(name="bn"),
                                       layers.Conv2D(6, 3, padding="valid", name="conv")], []),
    ("same_1x1_strided", (9, 9, 4), lambda: [layers.BatchNormalization(name="bn"),
                                             layers.Conv2D(6, 1, strides=2, padding="same",
                                                           use_bias=False, name="conv")], []),
    ("same_3x3_padded_kept", (9, 9, 4), lambda: [layers.BatchNormalization(name="bn"),
                                                 layers.Conv2D(6, 3, padding="same",
                                                               name="conv")], ["bn"]),
    # "same" 2x2/2 pads nothing on an even size: (ceil(8 / 2) - 1) * 2 + 2 - 8 = 0 ...
    ("same_2x2_even_no_padding", (8, 8, 4), lambda: [
        layers.BatchNormalization(name="bn"),
        layers.Conv2D(6, 2, strides=2, padding="same", name="conv")], []),
    # ... and 1 on an odd size.
    ("same_2x2_odd_padded_kept", (9, 9, 4), lambda: [
        layers.BatchNormalization(name="bn"),
        layers.Conv2D(6, 2, strides=2, padding="same", name="conv")], ["bn"]),
    ("dilated_valid", (11, 11, 3), lambda: [layers.BatchNormalization(name="bn"),
                                            layers.Conv2D(4, 3, dilation_rate=2,
                                                          name="conv")], []),
    ("dense_with_activation", (7,), lambda: [layers.BatchNormalization(name="bn"),
                                             layers.Dense(5, activation="relu", name="fc")], []),
    ("conv1d_valid", (10, 3), lambda: [layers.BatchNormalization(name="bn"),
                                       layers.Conv1D(4, 3, name="conv")], []),
    # BN on both sides of one convolution: both folded into it.
    ("both_sides", (9, 9, 4), lambda: [layers.BatchNormalization(name="bn_in"),
                                       layers.Conv2D(6, 3, use_bias=False, name="conv"),
                                       layers.BatchNormalization(name="bn_out")], []),
    # BN-ReLU-conv, the pre-activation unit: the ReLU is between, nothing is folded.
    ("bn_relu_conv_kept", (9, 9, 4), lambda: [layers.BatchNormalization(name="bn"),
                                              layers.ReLU(name="relu"),
                                              layers.Conv2D(6, 1, name="conv")], ["bn"]),
    ("grouped_conv_kept", (9, 9, 4), lambda: [layers.BatchNormalization(name="bn"),
                                              layers.Conv2D(6, 1, groups=2, name="conv")],
     ["bn"]),
    ("depthwise_kept", (9, 9, 4), lambda: [layers.BatchNormalization(name="bn"),
                                           layers.DepthwiseConv2D(3, name="conv")], ["bn"]),
    ("bn_over_rows_kept", (9, 9, 4), lambda: [layers.BatchNormalization(axis=1, name="bn"),
                                              layers.Conv2D(6, 1, name="conv")], ["bn"]),
]


@pytest.mark.parametrize("case,input_shape,make,left", CASES, ids=[c[0] for c in CASES])
def test_input_side_fold(case, input_shape, make, left):
    model = _chain(input_shape, *make())
    folded = fold(model)
    assert bns(folded) == left
    assert_same_function(model, folded, _x(input_shape))
    if not left:
        assert all(layer.use_bias for layer in folded.layers if hasattr(layer, "use_bias"))


def test_padded_conv_is_folded_when_the_shift_is_zero():
    model = _chain((9, 9, 4), layers.BatchNormalization(name="bn"),
                   layers.Conv2D(6, 3, padding="same", name="conv"))
    testing.randomize_batchnorm(model, seed=1)
    bn = model.get_layer("bn")
    # t = beta - mean * s = 0 exactly: beta = mean = 0, any gamma and variance.
    bn.beta.assign(np.zeros(4, "float32"))
    bn.moving_mean.assign(np.zeros(4, "float32"))
    folded = inference.fold_batchnorm(model)
    assert bns(folded) == []
    assert_same_function(model, folded, _x((9, 9, 4)))


def test_bn_with_two_readers_is_kept():
    inputs = keras.Input((6, 6, 4))
    y = layers.BatchNormalization(name="bn")(inputs)
    a = layers.Conv2D(3, 1, name="a")(y)
    b = layers.Conv2D(3, 1, name="b")(y)
    model = keras.Model(inputs, layers.Add(name="add")([a, b]))
    folded = fold(model)
    assert bns(folded) == ["bn"]
    assert_same_function(model, folded, _x((6, 6, 4)))


def test_bn_that_is_a_model_output_is_kept():
    inputs = keras.Input((6, 6, 4))
    y = layers.BatchNormalization(name="bn")(inputs)
    model = keras.Model(inputs, [y, layers.Conv2D(3, 1, name="conv")(y)])
    folded = fold(model)
    assert bns(folded) == ["bn"]


@pytest.mark.parametrize("padding,shape,exact", [
    ("valid", (None, 9, 9, 4), True), ("same", (None, 9, 9, 4), False),
    ("same", (None, None, None, 4), False), ("same", (None, 8, 8, 4), False)])
def test_exactness_rule(padding, shape, exact):
    bn = layers.BatchNormalization()
    bn.build(shape)
    bn.beta.assign(np.ones(4, "float32"))  # shift 1: padding breaks exactness
    conv = layers.Conv2D(2, 3, padding=padding)
    conv.build(shape)
    assert inference.input_fold_is_exact(bn, conv, shape) is exact


# ------------------------------------------------------- ResNet50V2 and DenseNet121 ----
# keras.applications' structure: every pre-activation BN is followed by a ReLU, so none can go
# into the convolution after it; the BNs after a convolution (1_bn, 2_bn; DenseNet's conv1_bn
# and 1_bn) fold backwards as in every post-activation network.
ARCHS = [
    # (builder, input, BN layers, folded, pattern of the BNs left)
    (cnnblocks.ResNet50V2, (64, 64, 3), 49, 32, r"conv\d_block\d+_preact_bn|post_bn"),
    (cnnblocks.DenseNet121, (64, 64, 3), 121, 59, r"conv\d_block\d+_0_bn|pool\d_bn|bn"),
]


@pytest.mark.parametrize("builder,input_shape,total,folded_count,left_pattern", ARCHS,
                         ids=["resnet50v2", "densenet121"])
def test_preactivation_networks(builder, input_shape, total, folded_count, left_pattern):
    model = builder(weights=None, input_shape=input_shape)
    folded = fold(model, seed=3)
    before, after = bns(model), bns(folded)
    assert len(before) == total
    assert len(before) - len(after) == folded_count
    assert all(re.fullmatch(left_pattern, name) for name in after), after
    assert all(not re.fullmatch(left_pattern, name) for name in set(before) - set(after))
    x = np.random.RandomState(0).uniform(size=(2, *input_shape)).astype("float32")
    # The classifier's input (pooled features) and the softmax: within 1e-4 relative.
    heads = [keras.Model(m.input, [m.get_layer("predictions").input, m.output])
             for m in (model, folded)]
    for ref, got in zip(*(h(x, training=False) for h in heads), strict=True):
        ref, got = keras.ops.convert_to_numpy(ref), keras.ops.convert_to_numpy(got)
        assert np.abs(ref - got).max() <= 1e-4 * np.abs(ref).max()
