"""RegNet's residual bottleneck block (X and Y), in torchvision's conventions.

Radosavovic, Kosaraju, Girshick, He, Dollár, "Designing Network Design Spaces", CVPR 2020,
https://arxiv.org/abs/2003.13678, Figure 4 ("X block"): 1x1 convolution to the bottleneck
width `b = round(w b_ratio)`, grouped 3x3 convolution (strided) with groups of `group_width`
channels, 1x1 convolution to the block width `w`, each with BN (ReLU after the first two),
plus a shortcut (a strided 1x1 projection with BN where the shape changes), then ReLU.
RegNetY adds squeeze-and-excitation after the grouped 3x3 (section 4, "Y = X + SE"), whose
squeezed width is `round(se_ratio * c)` for the block's *input* width `c` (not the width it
is applied to): torchvision's `BottleneckTransform`.

Why not `cnnblocks.blocks.grouped_bottleneck_module` (ResNeXt's): RegNet states a block by its
output width, bottleneck ratio and group *width* (groups follow from the width), has no
expansion, and puts SE inside; ResNeXt states cardinality and a base width at 64 channels,
expanding 4x. One function for both would give each family's arguments meanings the other
lacks.

Layer names follow the ResNet grammar of keras.applications: `name="s1_b1"` gives
`s1_b1_0_conv`, `s1_b1_0_bn` (projection), `s1_b1_1_conv`, `_1_bn`, `_1_relu`, `_2_pad`
(strided blocks only), `_2_conv`, `_2_bn`, `_2_relu`, `_se_squeeze`, `_se_reduce`,
`_se_expand`, `_se_excite` (Y), `_3_conv`, `_3_bn`, `_add`, `_out`.
"""

from keras import layers

from cnnblocks import _validation as check
from cnnblocks.blocks.common import (channels, check_input, conv_bn_act, layer_name,
                                     resolve_data_format, stride_text)
from cnnblocks.blocks.mobilenet import squeeze_excite
from cnnblocks.blocks.resnext import TORCH_BN_EPSILON
from cnnblocks.identity import block_function


def bottleneck_width(filters, bottleneck_ratio=1.0):
    """The width of a RegNet block's 1x1 and grouped 3x3 convolutions:
    `int(round(filters * bottleneck_ratio))` (torchvision's `BottleneckTransform`)."""
    return int(round(filters * bottleneck_ratio))


def se_width(in_channels, se_ratio):
    """The squeezed width of RegNetY's SE: `int(round(se_ratio * in_channels))`, the ratio
    taken of the block's input width (torchvision's `width_se_out`)."""
    return int(round(se_ratio * in_channels))


def _label(a):
    w = bottleneck_width(a["filters"], a["bottleneck_ratio"])
    groups = w // a["group_width"]
    se = f" → SE {a['se_ratio']:g}" if a["se_ratio"] else ""
    return (f"1x1 {w} → 3x3 {w} g{groups}{stride_text(a['strides'])}{se} → "
            f"1x1 {a['filters']}")


@block_function(_label)
def regnet_block(x, filters, *, strides=1, group_width=1, bottleneck_ratio=1.0,
                 se_ratio=None, bn_epsilon=TORCH_BN_EPSILON, data_format=None, name=None):
    """RegNet's residual bottleneck block: the X block, with squeeze-and-excitation the Y block.

    Radosavovic et al., "Designing Network Design Spaces", CVPR 2020,
    https://arxiv.org/abs/2003.13678, Figure 4 and section 4 (RegNetY). Structure and
    parameters equal torchvision's `ResBottleneckBlock` (`regnet_x_*`, `regnet_y_*`).

    Args:
        x: rank-4 input tensor with `c` channels.
        filters: int `w`, the block's output width (its stage's width).
        strides: int or pair, the stride of the grouped 3x3 convolution and of the projection
            (the first block of each RegNet stage: 2). Default 1.
        group_width: int `g`, channels per group of the 3x3 convolution; it must divide the
            bottleneck width. Default 1 (depthwise).
        bottleneck_ratio: float `b_ratio` > 0; the bottleneck width is
            `round(w * b_ratio)`. Default 1.0 (every torchvision RegNet).
        se_ratio: None (X block) or a float > 0: squeeze-and-excitation after the 3x3,
            squeezed to `round(se_ratio * c)` channels (ReLU, then a sigmoid gate). RegNetY:
            0.25. Default None.
        bn_epsilon: float. Default 1e-5 (PyTorch's).
        data_format: `"channels_last"`, `"channels_first"` or None (Keras' setting).
        name: str or None, the prefix of every layer name.

    Returns:
        Tensor with `w` channels; spatial size `(n - 1) // s + 1` for stride `s`.

    Parameters:
        No convolution bias; Keras counts 4 numbers per BN channel. With the bottleneck
        width `m = round(w b_ratio)`: `c m + 4 m + 9 m g + 4 m + m w + 4 w`, plus
        `2 m r + r + m` for SE (`r = round(se_ratio c)`; both SE convolutions have biases),
        plus `c w + 4 w` for a projection (when `c != w` or the stride is not 1).
        (torchvision's `parameters()` count is this minus the 2 moving statistics per BN
        channel.)

    Note:
        A strided 3x3 convolution is padded explicitly and symmetrically (`{name}_2_pad`, then
        "valid"), as PyTorch pads; Keras' "same" would pad (0, 1) on even sizes.

    Example:
        >>> import keras
        >>> from cnnblocks.blocks import regnet_block
        >>> y = regnet_block(keras.Input((56, 56, 32)), 48, strides=2, group_width=8,
        ...                  se_ratio=0.25, name="s1_b1")
        >>> tuple(y.shape)
        (None, 28, 28, 48)
    """
    data_format, _ = resolve_data_format(data_format)
    filters = check.positive_int(filters, "filters")
    strides = check.pair(strides, "strides")
    group_width = check.positive_int(group_width, "group_width")
    bottleneck_ratio = check.positive_number(bottleneck_ratio, "bottleneck_ratio")
    if se_ratio is not None:
        se_ratio = check.positive_number(se_ratio, "se_ratio")
    c_in = channels(check_input(x, data_format), data_format)
    width = bottleneck_width(filters, bottleneck_ratio)
    if width < 1:
        raise ValueError(f"`bottleneck_ratio`={bottleneck_ratio} leaves no bottleneck channel at "
                         f"filters={filters} (round({filters} * {bottleneck_ratio}) = 0).")
    if width % group_width:
        raise ValueError(f"`group_width`={group_width} must divide the bottleneck width "
                         f"{width} (filters={filters} x bottleneck_ratio={bottleneck_ratio}).")
    squeezed = se_width(c_in, se_ratio) if se_ratio else 0
    if se_ratio and squeezed < 1:
        raise ValueError(f"`se_ratio`={se_ratio} squeezes the block's {c_in} input channels to "
                         f"none (round({se_ratio} * {c_in}) = 0).")
    unit = dict(use_bias=False, bn_epsilon=bn_epsilon, data_format=data_format, name=name)

    if c_in != filters or strides != (1, 1):
        sc = conv_bn_act(x, filters, 1, strides=strides, padding="valid", activation=None,
                         suffixes=("_0_conv", "_0_bn", ""), **unit)
    else:
        sc = x
    y = conv_bn_act(x, width, 1, padding="valid", suffixes=("_1_conv", "_1_bn", "_1_relu"),
                    **unit)
    y = conv_bn_act(y, width, 3, strides=strides, padding="symmetric",
                    groups=width // group_width, suffixes=("_2_conv", "_2_bn", "_2_relu"),
                    **unit)
    if se_ratio:
        y = squeeze_excite(y, squeezed, fused_activations=True, kernel_initializer="he_normal",
                           data_format=data_format, name=layer_name(name, "_se"))
    y = conv_bn_act(y, filters, 1, padding="valid", activation=None,
                    suffixes=("_3_conv", "_3_bn", ""), **unit)
    y = layers.Add(name=layer_name(name, "_add"))([sc, y])
    return layers.Activation("relu", name=layer_name(name, "_out"))(y)


def regnet_block_cost(tally, filters, *, strides=1, group_width=1, bottleneck_ratio=1.0,
                      se_ratio=None):
    """Walks `regnet_block`'s layers on a `cnnblocks.cost.Tally` (its shape the block's
    input), as the block creates them, without building anything; `strides` is an int. Returns
    the output shape. The arguments are assumed checked (a design's are)."""
    c_in, start = tally.shape[-1], tally.shape
    width = bottleneck_width(filters, bottleneck_ratio)
    if c_in != filters or strides != 1:
        tally.conv(filters, 1, strides)                         # _0_conv, _0_bn
        tally.bn()
    tally.shape = start
    tally.conv(width, 1)                                        # _1_conv, _1_bn, _1_relu
    tally.bn()
    tally.elementwise()
    if strides != 1:                                            # _2_pad, _2_conv (valid)
        tally.pad(1)
        tally.conv(width, 3, strides, groups=width // group_width)
    else:                                                       # _2_conv ("same")
        tally.conv(width, 3, 1, groups=width // group_width, padding=1)
    tally.bn()
    tally.elementwise()
    if se_ratio:                                                # squeeze, reduce, expand, excite
        tally.squeeze_excite(se_width(c_in, se_ratio))
    tally.conv(filters, 1)                                      # _3_conv, _3_bn
    tally.bn()
    tally.elementwise()                                         # _add
    return tally.elementwise()                                  # _out
