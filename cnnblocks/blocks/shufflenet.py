"""ShuffleNet V2's unit (Ma, Zhang, Zheng, Sun, "ShuffleNet V2: Practical Guidelines for
Efficient CNN Architecture Design", ECCV 2018, https://arxiv.org/abs/1807.11164, section 4,
Figure 3(c) and (d)), in torchvision's conventions.

The basic unit (stride 1, Figure 3(c)) splits the channels in halves: the left half passes
unchanged, the right half goes through 1x1 convolution - BN - ReLU, 3x3 depthwise convolution -
BN, 1x1 convolution - BN - ReLU; the halves are concatenated and the channels shuffled (2
groups), so that the next unit's split mixes both. The unit for spatial down sampling (stride 2,
Figure 3(d)) has no split: both branches read the whole input, the left one a 3x3/2 depthwise
convolution - BN, then 1x1 convolution - BN - ReLU, the right one the right branch above with
the stride on its depthwise convolution; the concatenation doubles the width (each branch gives
half the output channels). There is no addition and no activation after the depthwise
convolutions (the paper's guideline G4: fewer elementwise operations).

Layer names follow the keras.applications grammar: `name="stage2_unit1"` gives
`stage2_unit1_left_split` and `_right_split` (stride 1: the two halves, `ChannelSplit` layers),
or `_left_1_pad`, `_left_1_conv` (depthwise), `_left_1_bn`, `_left_2_conv`, `_left_2_bn`,
`_left_2_relu` (strided units); then `_right_1_conv`, `_right_1_bn`, `_right_1_relu`,
`_right_2_pad` (strided units only), `_right_2_conv` (depthwise), `_right_2_bn`,
`_right_3_conv`, `_right_3_bn`, `_right_3_relu`, `_concat`, `_shuffle` (`ChannelShuffle`).
"""

from keras import layers

from cnnblocks import _validation as check
from cnnblocks.blocks.common import (channels, check_input, conv_bn_act, conv_bn_act_cost,
                                     layer_name, resolve_data_format, stride_text)
from cnnblocks.blocks.resnext import TORCH_BN_EPSILON
from cnnblocks.identity import block_function
from cnnblocks.layers import ChannelShuffle, ChannelSplit

#: Groups of the channel shuffle at the end of every unit: the two branches.
SHUFFLE_GROUPS = 2


def _label(a):
    half, s = a["filters"] // 2, stride_text(a["strides"])
    right = f"1x1 {half} → dw 3x3{s} → 1x1 {half}"
    if s:
        return f"dw 3x3{s} → 1x1 {half} | {right} → shuffle"
    return f"split → {right} → shuffle"


@block_function(_label)
def shufflenet_v2_unit(x, filters, *, strides=1, bn_epsilon=TORCH_BN_EPSILON, data_format=None,
                       name=None):
    """ShuffleNet V2's unit: channel split (or, strided, two branches on the whole input), a
    1x1 - depthwise 3x3 - 1x1 branch, concatenation, channel shuffle.

    Ma et al., "ShuffleNet V2: Practical Guidelines for Efficient CNN Architecture Design",
    ECCV 2018, https://arxiv.org/abs/1807.11164, Figure 3(c) (stride 1) and 3(d) (stride 2).
    Structure and parameters equal torchvision's `InvertedResidual` of `shufflenetv2.py`.

    Args:
        x: rank-4 input tensor with `c` channels.
        filters: even int `f`, the output channels; each branch gives `f / 2`. A unit of
            stride 1 keeps its width: `f` must equal `c`.
        strides: int or pair, the stride of the depthwise convolutions. 1: the basic unit
            (channel split, the left half unchanged); anything else: the down-sampling unit
            (both branches on the whole input; the first unit of each stage: 2). Default 1.
        bn_epsilon: float. Default 1e-5 (PyTorch's).
        data_format: `"channels_last"`, `"channels_first"` or None (Keras' setting).
        name: str or None, the prefix of every layer name.

    Returns:
        Tensor with `f` channels; spatial size `(n - 1) // s + 1` for stride `s`.

    Parameters:
        No convolution bias; Keras counts 4 numbers per BN channel. With `h = f / 2`: the
        basic unit `2 h^2 + 21 h` (two 1x1 of `h^2`, a depthwise 3x3 of `9 h`, three BNs);
        the down-sampling unit `13 c + 2 c h + h^2 + 25 h` (left: depthwise `9 c` + BN `4 c`,
        1x1 `c h` + BN `4 h`; right: 1x1 `c h`, depthwise `9 h`, 1x1 `h^2`, three BNs).
        (torchvision's `parameters()` count is this minus the 2 moving statistics per BN
        channel.)

    Note:
        - A strided depthwise convolution is padded explicitly and symmetrically
          (`{name}_left_1_pad`, `{name}_right_2_pad`, then "valid"), as PyTorch pads; Keras'
          "same" would pad (0, 1) on even sizes.
        - The shuffle is a fixed permutation of the concatenated channels (`ChannelShuffle(2)`,
          torchvision's `channel_shuffle(x, 2)`): output channel `2 j` is the left branch's
          `j`, `2 j + 1` the right branch's `j`.

    Example:
        >>> import keras
        >>> from cnnblocks.blocks import shufflenet_v2_unit
        >>> y = shufflenet_v2_unit(keras.Input((56, 56, 24)), 116, strides=2,
        ...                        name="stage2_unit1")
        >>> tuple(y.shape)
        (None, 28, 28, 116)
    """
    data_format, axis = resolve_data_format(data_format)
    filters = check.positive_int(filters, "filters")
    strides = check.pair(strides, "strides")
    check.positive_number(bn_epsilon, "bn_epsilon")
    if filters % 2:
        raise ValueError(f"`filters` must be even (each branch gives half the channels), "
                         f"received {filters}.")
    c_in = channels(check_input(x, data_format), data_format)
    split = strides == (1, 1)
    if split and c_in != filters:
        raise ValueError(f"`filters`={filters} must equal the input's {c_in} channels in a unit "
                         "of stride 1 (the channel split keeps the width); use strides=2 to "
                         "change it.")
    half = filters // 2
    unit = dict(use_bias=False, bn_epsilon=bn_epsilon, data_format=data_format, name=name)

    def depthwise(y, prefix):
        return conv_bn_act(y, None, 3, strides=strides, padding="symmetric", depthwise=True,
                           activation=None, suffixes=(f"{prefix}_conv", f"{prefix}_bn", ""),
                           **unit)

    def pointwise(y, prefix):
        return conv_bn_act(y, half, 1, padding="valid",
                           suffixes=(f"{prefix}_conv", f"{prefix}_bn", f"{prefix}_relu"), **unit)

    if split:
        left = ChannelSplit(0, 2, axis=axis, name=layer_name(name, "_left_split"))(x)
        right = ChannelSplit(1, 2, axis=axis, name=layer_name(name, "_right_split"))(x)
    else:
        left = pointwise(depthwise(x, "_left_1"), "_left_2")
        right = x
    right = pointwise(right, "_right_1")
    right = pointwise(depthwise(right, "_right_2"), "_right_3")
    y = layers.Concatenate(axis=axis, name=layer_name(name, "_concat"))([left, right])
    return ChannelShuffle(SHUFFLE_GROUPS, axis=axis, name=layer_name(name, "_shuffle"))(y)


def shufflenet_v2_unit_cost(tally, filters, *, strides=1):
    """Walks `shufflenet_v2_unit`'s layers on a `cnnblocks.cost.Tally` whose shape is the
    unit's input, without building anything; `strides` is an int. Returns the output shape.
    The arguments are assumed checked."""
    start, half = tally.shape, filters // 2

    def depthwise():                                            # _pad (strided), _conv, _bn
        conv_bn_act_cost(tally, None, 3, strides=strides, padding="symmetric", depthwise=True,
                         activation=False)

    def pointwise():                                            # _conv, _bn, _relu
        conv_bn_act_cost(tally, half, 1, padding="valid")

    if strides == 1:                                            # _left_split, _right_split
        tally.elementwise((*start[:2], start[-1] // 2))
        tally.elementwise((*start[:2], start[-1] // 2))
    else:                                                       # _left_1_*, _left_2_*
        depthwise()
        pointwise()
        tally.shape = start
    pointwise()                                                 # _right_1_*
    depthwise()                                                 # _right_2_*
    pointwise()                                                 # _right_3_*
    tally.elementwise((*tally.shape[:2], filters))              # _concat
    return tally.elementwise()                                  # _shuffle
