"""Pre-activation residual modules (He, Zhang, Ren, Sun, "Identity Mappings in Deep Residual
Networks", ECCV 2016, https://arxiv.org/abs/1603.05027): ResNet v2.

BatchNormalization and ReLU come before each convolution ("full pre-activation", Figure 4(e) of
the paper), and nothing follows the addition: the shortcut path stays a pure identity from one
module to the next. The input's BN-ReLU (`{name}_preact_bn`, `{name}_preact_relu`) feeds both
the residual branch and, where there is one, the projection shortcut.

Layer names follow keras.applications' ResNetV2 grammar, so `name="conv2_block1"` gives
`conv2_block1_preact_bn`, `conv2_block1_preact_relu`, `conv2_block1_0_conv` (projection),
`conv2_block1_1_conv`, `conv2_block1_1_bn`, `conv2_block1_1_relu`, `conv2_block1_2_pad`,
`conv2_block1_2_conv`, ..., `conv2_block1_3_conv`, `conv2_block1_out` (the addition). The
shortcut is the first input of the addition, as in keras.applications, so weight order matches.
"""

from keras import layers

from cnnblocks import _validation as check
from cnnblocks.blocks.common import (channels, check_input, conv_bn_act, layer_name,
                                     resolve_data_format, stride_text)
from cnnblocks.blocks.residual import RESNET_BN_EPSILON, SHORTCUTS
from cnnblocks.identity import block_function


def _check(x, filters, strides, shortcut, data_format):
    data_format, axis = resolve_data_format(data_format)
    filters = check.positive_int(filters, "filters")
    strides = check.pair(strides, "strides")
    check.choice(shortcut, "shortcut", SHORTCUTS)
    shape = check_input(x, data_format, min_size=1)
    return data_format, axis, filters, strides, channels(shape, data_format)


def _preactivation(x, axis, bn_epsilon, name):
    """BN + ReLU of the module's input: `{name}_preact_bn`, `{name}_preact_relu`."""
    check.positive_number(bn_epsilon, "bn_epsilon")
    y = layers.BatchNormalization(axis=axis, epsilon=bn_epsilon,
                                  name=layer_name(name, "_preact_bn"))(x)
    return layers.Activation("relu", name=layer_name(name, "_preact_relu"))(y)


def _shortcut(x, preact, out_channels, strides, shortcut, *, in_channels, use_bias,
              data_format, name):
    """The pre-activation shortcut.

    `"auto"`: the input itself where the channel counts agree (subsampled by a 1x1/stride max
    pooling, `{name}_0_pool`, where the module is strided: TF-slim's and keras.applications'
    `subsample`), else a 1x1 projection `{name}_0_conv` of the pre-activated input (stride
    included, bias as `use_bias`, no BN: the next module's pre-activation normalizes the sum).
    `"identity"` is the first case (a ValueError when the channels differ); `"projection"`
    always projects.
    """
    same_channels = in_channels == out_channels
    if shortcut == "identity" and not same_channels:
        raise ValueError(
            f"`shortcut='identity'` needs the module to keep the channel count, but it maps "
            f"{in_channels} channels to {out_channels}; use shortcut='auto' or 'projection'.")
    if shortcut == "projection" or not same_channels:
        return conv_bn_act(preact, out_channels, 1, strides=strides, padding="valid",
                           use_bias=use_bias,
                           batch_norm=False, activation=None, data_format=data_format,
                           name=name, suffixes=("_0_conv", "", ""))
    if strides == (1, 1):
        return x
    return layers.MaxPooling2D(1, strides=strides, data_format=data_format,
                               name=layer_name(name, "_0_pool"))(x)


@block_function(lambda a: (f"{a['expansion'] * a['filters']}: pre 1x1 {a['filters']} → "
                           f"3x3 {a['filters']}{stride_text(a['strides'])} → "
                           f"1x1 {a['expansion'] * a['filters']}"))
def preact_bottleneck_module(x, filters, *, strides=1, expansion=4, shortcut="auto",
                             use_bias=True, bn_epsilon=RESNET_BN_EPSILON, data_format=None,
                             name=None):
    """The pre-activation bottleneck module of ResNet v2: BN-ReLU-1x1, BN-ReLU-3x3,
    BN-ReLU-1x1, plus a shortcut.

    He et al., "Identity Mappings in Deep Residual Networks", ECCV 2016,
    https://arxiv.org/abs/1603.05027, Figure 4(e) (full pre-activation), with the bottleneck
    of ResNet-50/101/152. With `name="conv2_block1"` the layers carry exactly the names of
    keras.applications' ResNet50V2.

    Args:
        x: rank-4 input tensor with `c` channels.
        filters: int `f`, channels of the 1x1 reduction and of the 3x3 convolution.
        strides: int or pair, the stride of the 3x3 convolution (and of the shortcut).
            Default 1.
        expansion: int `e`, the output has `e * f` channels. Default 4.
        shortcut: `"auto"` (the input where `c == e f`, subsampled by a 1x1/stride max pool
            `{name}_0_pool` when strided; else a 1x1 projection `{name}_0_conv` of the
            pre-activated input), `"identity"` (a ValueError when `c != e f`) or
            `"projection"`. Default `"auto"`.
        use_bias: bool, bias on the two convolutions no BN follows: the last 1x1
            (`{name}_3_conv`) and the projection (keras.applications: True). The 1x1 and 3x3
            convolutions followed by BN never have one. Default True.
        bn_epsilon: float. Default 1.001e-5 (keras.applications).
        data_format: `"channels_last"`, `"channels_first"` or None (Keras' setting).
        name: str or None, the prefix of every layer name.

    Returns:
        Tensor with `e * f` channels; spatial size `(n - 1) // s + 1` for stride `s`.
        It is the sum itself (no activation): the next module's pre-activation, or the
        network's final BN-ReLU, follows.

    Parameters (Keras counts 4 numbers per BN channel; `b` = 1 with `use_bias`, else 0):
        `4 c + c f + 4 f + 9 f^2 + 4 f + (f + b) e f`, plus `(c + b) e f` for a projection.

    Note:
        The 3x3 convolution is padded explicitly and symmetrically (`{name}_2_pad`, then a
        "valid" convolution), as keras.applications and the paper's Torch code do.

    Note:
        Biases follow keras.applications: none on the convolutions a BN follows (the paper's
        Torch code has them, redundant with BN's beta), one on the last 1x1 and on the
        projection. The stride is on the 3x3 (keras.applications, the paper's Torch code);
        which module of a stage is strided is the architecture's choice (ResNet50V2: the last).

    Example:
        >>> import keras
        >>> from cnnblocks.blocks import preact_bottleneck_module
        >>> y = preact_bottleneck_module(keras.Input((56, 56, 64)), 64, name="conv2_block1")
        >>> tuple(y.shape)
        (None, 56, 56, 256)
    """
    data_format, axis, filters, strides, c_in = _check(x, filters, strides, shortcut,
                                                       data_format)
    expansion = check.positive_int(expansion, "expansion")
    use_bias = check.boolean(use_bias, "use_bias")
    out = expansion * filters
    unit = dict(bn_epsilon=bn_epsilon, data_format=data_format, name=name)
    preact = _preactivation(x, axis, bn_epsilon, name)
    sc = _shortcut(x, preact, out, strides, shortcut, in_channels=c_in, use_bias=use_bias,
                   data_format=data_format, name=name)
    y = conv_bn_act(preact, filters, 1, padding="valid", use_bias=False, batch_norm=False,
                    activation=None, suffixes=("_1_conv", "", ""), **unit)
    y = conv_bn_act(y, filters, 3, strides=strides, padding=1, use_bias=False,
                    preactivation=True, suffixes=("_2_conv", "_1_bn", "_1_relu"), **unit)
    y = conv_bn_act(y, out, 1, padding="valid", use_bias=use_bias, preactivation=True,
                    suffixes=("_3_conv", "_2_bn", "_2_relu"), **unit)
    return layers.Add(name=layer_name(name, "_out"))([sc, y])


@block_function(lambda a: (f"pre 3x3 {a['filters']}{stride_text(a['strides'])} → "
                           f"3x3 {a['filters']}"))
def preact_residual_module(x, filters, *, strides=1, shortcut="auto", use_bias=True,
                           bn_epsilon=RESNET_BN_EPSILON, data_format=None, name=None):
    """The pre-activation basic module of ResNet v2: BN-ReLU-3x3, BN-ReLU-3x3, plus a
    shortcut.

    He et al., "Identity Mappings in Deep Residual Networks", ECCV 2016,
    https://arxiv.org/abs/1603.05027, Figure 4(e), with the two 3x3 convolutions of
    ResNet-18/34. Names in keras.applications' ResNetV2 grammar: `{name}_preact_bn`,
    `{name}_preact_relu`, `{name}_0_conv` (projection), `{name}_1_pad`, `{name}_1_conv`,
    `{name}_1_bn`, `{name}_1_relu`, `{name}_2_pad`, `{name}_2_conv`, `{name}_out`.

    Args:
        x: rank-4 input tensor with `c` channels.
        filters: int `f`, channels of both convolutions and of the output.
        strides: int or pair, the stride of the first convolution (and of the shortcut), as
            in the paper's basic module. Default 1.
        shortcut: `"auto"`, `"identity"` or `"projection"`, as in
            `preact_bottleneck_module`. Default `"auto"`.
        use_bias: bool, bias on the convolutions no BN follows: the second 3x3 and the
            projection. Default True.
        bn_epsilon: float. Default 1.001e-5.
        data_format: `"channels_last"`, `"channels_first"` or None (Keras' setting).
        name: str or None, the prefix of every layer name.

    Returns:
        Tensor with `f` channels; spatial size `(n - 1) // s + 1` for stride `s`; the sum
        itself, without activation.

    Parameters (`b` = 1 with `use_bias`, else 0):
        `4 c + 9 c f + 4 f + (9 f + b) f`, plus `(c + b) f` for a projection.

    Note:
        Both 3x3 convolutions are padded explicitly and symmetrically (`_1_pad`, `_2_pad`).
        keras.applications has no ResNet-18/34 v2; the block follows the paper's Torch code
        (stride on the first convolution).

    Example:
        >>> import keras
        >>> from cnnblocks.blocks import preact_residual_module
        >>> y = preact_residual_module(keras.Input((56, 56, 64)), 128, strides=2)
        >>> tuple(y.shape)
        (None, 28, 28, 128)
    """
    data_format, axis, filters, strides, c_in = _check(x, filters, strides, shortcut,
                                                       data_format)
    use_bias = check.boolean(use_bias, "use_bias")
    unit = dict(bn_epsilon=bn_epsilon, data_format=data_format, name=name)
    preact = _preactivation(x, axis, bn_epsilon, name)
    sc = _shortcut(x, preact, filters, strides, shortcut, in_channels=c_in, use_bias=use_bias,
                   data_format=data_format, name=name)
    y = conv_bn_act(preact, filters, 3, strides=strides, padding=1, use_bias=False,
                    batch_norm=False, activation=None, suffixes=("_1_conv", "", ""), **unit)
    y = conv_bn_act(y, filters, 3, padding=1, use_bias=use_bias, preactivation=True,
                    suffixes=("_2_conv", "_1_bn", "_1_relu"), **unit)
    return layers.Add(name=layer_name(name, "_out"))([sc, y])


def preact_bottleneck_module_cost(tally, filters, *, strides=1, expansion=4, use_bias=True):
    """Walks `preact_bottleneck_module`'s layers (shortcut "auto") on a
    `cnnblocks.cost.Tally` whose shape is the module's input, without building anything;
    `strides` is an int, the arguments are assumed checked. Returns the output shape."""
    start, out = tally.shape, expansion * filters
    tally.bn()                                                  # _preact_bn
    tally.elementwise()                                         # _preact_relu
    if start[-1] != out:
        tally.conv(out, 1, strides, bias=use_bias)              # _0_conv (of the preact)
    elif strides != 1:
        tally.pool(1, strides)                                  # _0_pool (of the input)
    tally.shape = start
    tally.conv(filters, 1)                                      # _1_conv
    tally.bn()                                                  # _1_bn
    tally.elementwise()                                         # _1_relu
    tally.pad(1)                                                # _2_pad
    tally.conv(filters, 3, strides)                             # _2_conv
    tally.bn()                                                  # _2_bn
    tally.elementwise()                                         # _2_relu
    tally.conv(out, 1, bias=use_bias)                           # _3_conv
    return tally.elementwise()                                  # _out (Add)
