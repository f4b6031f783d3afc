"""Residual modules (He et al., "Deep Residual Learning for Image Recognition", CVPR 2016,
https://arxiv.org/abs/1512.03385): the basic two-3x3 module and the 1x1-3x3-1x1 bottleneck.

Layer names follow keras.applications' ResNet grammar, so that `name="conv2_block1"` gives
`conv2_block1_1_conv`, `conv2_block1_1_bn`, `conv2_block1_1_relu`, ..., `conv2_block1_0_conv`
(projection), `conv2_block1_add`, `conv2_block1_out`. The shortcut is the first input of the add,
as in keras.applications, so weight order matches.
"""

from keras import layers

from cnnblocks import _validation as check
from cnnblocks.blocks.common import (channels, check_input, check_options, conv_bn_act,
                                     conv_bn_act_cost, layer_name, resolve_data_format,
                                     stride_text)
from cnnblocks.identity import block_function

SHORTCUTS = ("auto", "identity", "projection")
STRIDE_ON = ("1x1", "3x3")
PADDINGS = ("same", "symmetric")
#: BatchNormalization epsilon of keras.applications' ResNet family.
RESNET_BN_EPSILON = 1.001e-5


def _shortcut(x, out_channels, strides, shortcut, *, in_channels, unit, name):
    """Identity or 1x1 projection (the paper's option B), decided from shapes or forced."""
    fits = in_channels == out_channels and strides == (1, 1)
    if shortcut == "identity" and not fits:
        raise ValueError(
            f"`shortcut='identity'` needs the residual branch to keep the input's shape, but "
            f"the block maps {in_channels} channels to {out_channels} with strides {strides}; "
            f"use shortcut='auto' or 'projection'.")
    if shortcut == "identity" or (shortcut == "auto" and fits):
        return x
    return unit(x, out_channels, 1, strides=strides, activation=None, name=name,
                suffixes=("_0_conv", "_0_bn", ""))


def _check_common(x, filters, strides, shortcut, name, data_format, padding):
    data_format, axis = resolve_data_format(data_format)
    filters = check.positive_int(filters, "filters")
    strides = check.pair(strides, "strides")
    check.choice(shortcut, "shortcut", SHORTCUTS)
    check.choice(padding, "padding", PADDINGS)
    shape = check_input(x, data_format)
    return data_format, filters, strides, channels(shape, data_format)


def _unit(batch_norm, use_bias, bn_epsilon, data_format, padding="same"):
    def unit(x, filters, kernel_size, *, strides=1, activation="relu", name=None, suffixes):
        return conv_bn_act(x, filters, kernel_size, strides=strides, padding=padding,
                           batch_norm=batch_norm, use_bias=use_bias, bn_epsilon=bn_epsilon,
                           activation=activation, data_format=data_format, name=name,
                           suffixes=suffixes)
    return unit


@block_function(lambda a: f"{a['filters']}, {a['filters']}{stride_text(a['strides'])}")
def residual_module(x, filters, *, strides=1, shortcut="auto", batch_norm=True, use_bias=True,
                    bn_epsilon=RESNET_BN_EPSILON, padding="same", data_format=None, name=None):
    """The basic residual module: two 3x3 convolutions plus a shortcut, then ReLU.

    Used by ResNet-18 and ResNet-34. The stride, if any, is on the first 3x3 convolution and on
    the projection.

    Args:
        x: rank-4 input tensor.
        filters: int, channels of both convolutions and of the output.
        strides: int or pair, stride of the first convolution. Default 1.
        shortcut: `"auto"` (identity when input and output shapes agree, else a 1x1 projection:
            the paper's option B), `"identity"` (a ValueError when shapes disagree) or
            `"projection"` (always a 1x1 convolution). Default `"auto"`.
        batch_norm: bool. True: BN after every convolution (the paper). False: the plain module
            of the blocks tutorial, ReLU fused into the first convolution. Default True.
        use_bias: bool, convolutions with bias (keras.applications ResNet keeps them even
            before BN). Default True.
        bn_epsilon: float. Default 1.001e-5 (keras.applications ResNet).
        padding: `"same"` (Keras: a stride-2 3x3 convolution on an even input pads only the
            bottom and right, as keras.applications) or `"symmetric"` (zero padding 1 on every
            side, as PyTorch's `padding=1`; a strided first 3x3 gets a `{name}_1_pad` layer).
            Default `"same"`.
        data_format: `"channels_last"`, `"channels_first"` or None (Keras' setting).
        name: str or None; e.g. `"conv2_block1"` gives `conv2_block1_1_conv`, ..., `_add`, `_out`.

    Returns:
        Tensor with `filters` channels, spatial size divided by `strides` (rounded up).

    Parameters (batch_norm=True, bias):
        `(9 c + 1) f + 4 f + (9 f + 1) f + 4 f`, plus `(c + 1) f + 4 f` for a projection
        (Keras counts BN's moving mean and variance: 4 per channel).

    Example:
        >>> import keras
        >>> from cnnblocks.blocks import residual_module
        >>> y = residual_module(keras.Input((56, 56, 64)), 128, strides=2, name="conv3_block1")
        >>> tuple(y.shape)
        (None, 28, 28, 128)
    """
    data_format, filters, strides, c_in = _check_common(x, filters, strides, shortcut, name,
                                                        data_format, padding)
    check_options(batch_norm=batch_norm, use_bias=use_bias, bn_epsilon=bn_epsilon)
    unit = _unit(batch_norm, use_bias, bn_epsilon, data_format, padding)
    sc = _shortcut(x, filters, strides, shortcut, in_channels=c_in, unit=unit, name=name)
    y = unit(x, filters, 3, strides=strides, name=name, suffixes=("_1_conv", "_1_bn", "_1_relu"))
    y = unit(y, filters, 3, activation=None, name=name, suffixes=("_2_conv", "_2_bn", ""))
    y = layers.Add(name=layer_name(name, "_add"))([sc, y])
    return layers.Activation("relu", name=layer_name(name, "_out"))(y)


@block_function(lambda a: (f"{a['filters']}→{a['filters']}→{a['expansion'] * a['filters']}"
                           f"{stride_text(a['strides'])}"))
def bottleneck_module(x, filters, *, strides=1, expansion=4, shortcut="auto", stride_on="1x1",
                      use_bias=True, bn_epsilon=RESNET_BN_EPSILON, padding="same", data_format=None,
                      name=None):
    """The bottleneck residual module: 1x1 (reduce), 3x3, 1x1 (expand), each with BN.

    Used by ResNet-50/101/152. With `name="conv2_block1"` the layers carry exactly the names of
    keras.applications' ResNet50 (`conv2_block1_0_conv` ... `conv2_block1_out`).

    Args:
        x: rank-4 input tensor.
        filters: int, channels of the 1x1 reduction and the 3x3 convolution.
        strides: int or pair. Default 1.
        expansion: int, the output has `expansion * filters` channels. Default 4.
        shortcut: `"auto"`, `"identity"` or `"projection"`, as in `residual_module`.
        stride_on: `"1x1"` puts the stride on the first 1x1 convolution, as the paper and
            keras.applications ResNet (v1); `"3x3"` on the 3x3, as torchvision ("v1.5": same
            parameters, more multiply-adds, slightly better accuracy). Default `"1x1"`.
        use_bias: bool, convolutions with bias (keras.applications). Default True.
        bn_epsilon: float. Default 1.001e-5 (keras.applications ResNet).
        padding: `"same"` (Keras: a stride-2 3x3 convolution on an even input pads only the
            bottom and right, as keras.applications) or `"symmetric"` (zero padding 1 on every
            side, as PyTorch's `padding=1`; a strided 3x3 gets a `{name}_2_pad` layer).
            Default `"same"`.
        data_format: `"channels_last"`, `"channels_first"` or None (Keras' setting).
        name: str or None, the prefix of every layer name.

    Returns:
        Tensor with `expansion * filters` channels, spatial size divided by `strides`.

    Parameters (bias, BN with 4 numbers per channel):
        `(c+1) f + 4f + (9f+1) f + 4f + (f+1) e f + 4 e f`, plus `(c+1) e f + 4 e f` for a
        projection.

    Example:
        >>> import keras
        >>> from cnnblocks.blocks import bottleneck_module
        >>> y = bottleneck_module(keras.Input((56, 56, 64)), 64, name="conv2_block1")
        >>> tuple(y.shape)
        (None, 56, 56, 256)
    """
    data_format, filters, strides, c_in = _check_common(x, filters, strides, shortcut, name,
                                                        data_format, padding)
    expansion = check.positive_int(expansion, "expansion")
    check.choice(stride_on, "stride_on", STRIDE_ON)
    check_options(use_bias=use_bias, bn_epsilon=bn_epsilon)
    unit = _unit(True, use_bias, bn_epsilon, data_format, padding)
    out = expansion * filters
    sc = _shortcut(x, out, strides, shortcut, in_channels=c_in, unit=unit, name=name)
    s1, s3 = (strides, 1) if stride_on == "1x1" else (1, strides)
    y = unit(x, filters, 1, strides=s1, name=name, suffixes=("_1_conv", "_1_bn", "_1_relu"))
    y = unit(y, filters, 3, strides=s3, name=name, suffixes=("_2_conv", "_2_bn", "_2_relu"))
    y = unit(y, out, 1, activation=None, name=name, suffixes=("_3_conv", "_3_bn", ""))
    y = layers.Add(name=layer_name(name, "_add"))([sc, y])
    return layers.Activation("relu", name=layer_name(name, "_out"))(y)


def _shortcut_cost(tally, out, strides, *, use_bias, padding):
    start = tally.shape
    if start[-1] != out or strides != 1:                        # _0_conv, _0_bn
        conv_bn_act_cost(tally, out, 1, strides=strides, use_bias=use_bias, padding=padding,
                         activation=False)
    tally.shape = start


def residual_module_cost(tally, filters, *, strides=1, use_bias=True, padding="same"):
    """Walks `residual_module`'s layers (BN on, shortcut "auto") on a `cnnblocks.cost.Tally`
    whose shape is the module's input, without building anything; `strides` is an int.
    Returns the output shape. The arguments are assumed checked (a design's are)."""
    _shortcut_cost(tally, filters, strides, use_bias=use_bias, padding=padding)
    conv_bn_act_cost(tally, filters, 3, strides=strides, use_bias=use_bias, padding=padding)
    conv_bn_act_cost(tally, filters, 3, use_bias=use_bias, padding=padding, activation=False)
    tally.elementwise()                                         # _add
    return tally.elementwise()                                  # _out


def bottleneck_module_cost(tally, filters, *, strides=1, expansion=4, stride_on="1x1",
                           use_bias=True, padding="same"):
    """Walks `bottleneck_module`'s layers (shortcut "auto") on a `cnnblocks.cost.Tally`, as
    `residual_module_cost`."""
    out = expansion * filters
    _shortcut_cost(tally, out, strides, use_bias=use_bias, padding=padding)
    s1, s3 = (strides, 1) if stride_on == "1x1" else (1, strides)
    conv_bn_act_cost(tally, filters, 1, strides=s1, use_bias=use_bias, padding=padding)
    conv_bn_act_cost(tally, filters, 3, strides=s3, use_bias=use_bias, padding=padding)
    conv_bn_act_cost(tally, out, 1, use_bias=use_bias, padding=padding, activation=False)
    tally.elementwise()                                         # _add
    return tally.elementwise()                                  # _out
