"""The grouped (and widened) bottleneck module of ResNeXt and Wide ResNet, in torchvision's
conventions.

- ResNeXt (Xie, Girshick, Dollár, Tu, He, "Aggregated Residual Transformations for Deep Neural
  Networks", CVPR 2017, https://arxiv.org/abs/1611.05431): the 3x3 convolution of the
  bottleneck is split into `cardinality` groups of `base_width` channels each (at the first
  stage; widths double with each stage), Figure 3(c) of the paper. "32x4d" is cardinality 32,
  base width 4.
- Wide ResNet (Zagoruyko & Komodakis, "Wide Residual Networks", BMVC 2016,
  https://arxiv.org/abs/1605.07146): the inner width of the bottleneck is multiplied by the
  width factor `k` ("WRN-50-2": k = 2); the outer 1x1 convolutions keep ResNet-50's widths.

Both are the one block `grouped_bottleneck_module`: the inner (1x1 and 3x3) width is
`int(filters * base_width / 64) * cardinality * width_factor`, which is `filters` for the
plain ResNet bottleneck (cardinality 1, base width 64, width factor 1), the formula of
torchvision's `Bottleneck` (whose `width_per_group` = 64 k expresses WRN's factor).

Why a block of its own rather than options of `cnnblocks.blocks.bottleneck_module`: that block
is keras.applications' ResNet v1 unit (stride on the first 1x1, conv biases, BN epsilon
1.001e-5, "same" padding); this one is torchvision's (stride on the grouped 3x3 as the ResNeXt
paper says, explicit symmetric padding of the strided 3x3, no conv bias, BN epsilon 1e-5), so
that torchvision's weights can be converted to it. Sharing one function would give every
argument of one family a default wrong for the other.

Layer names follow keras.applications' ResNet grammar: `name="conv2_block1"` gives
`conv2_block1_0_conv`, `conv2_block1_0_bn` (projection), `conv2_block1_1_conv`, `_1_bn`,
`_1_relu`, `_2_pad` (strided modules only), `_2_conv`, `_2_bn`, `_2_relu`, `_3_conv`, `_3_bn`,
`_add`, `_out`.
"""

from keras import layers

from cnnblocks import _validation as check
from cnnblocks.blocks.common import (channels, check_input, conv_bn_act, conv_bn_act_cost,
                                     layer_name, resolve_data_format, stride_text)
from cnnblocks.blocks.residual import SHORTCUTS, _shortcut_cost
from cnnblocks.identity import block_function

#: BatchNormalization epsilon of PyTorch (torch.nn.BatchNorm2d's default) and torchvision.
TORCH_BN_EPSILON = 1e-5


def inner_width(filters, *, cardinality=1, base_width=64, width_factor=1):
    """The width of the 1x1 and 3x3 convolutions of a grouped bottleneck:
    `int(filters * base_width / 64) * cardinality * width_factor` (torchvision's formula,
    with WRN's factor `k` as `width_per_group = 64 k`)."""
    return int(filters * base_width / 64) * cardinality * width_factor


def _label(a):
    w = inner_width(a["filters"], cardinality=a["cardinality"], base_width=a["base_width"],
                    width_factor=a["width_factor"])
    groups = f" g{a['cardinality']}" if a["cardinality"] > 1 else ""
    return (f"1x1 {w} → 3x3 {w}{groups}{stride_text(a['strides'])} → "
            f"1x1 {a['expansion'] * a['filters']}")


@block_function(_label)
def grouped_bottleneck_module(x, filters, *, strides=1, cardinality=1, base_width=64,
                              width_factor=1, expansion=4, shortcut="auto", use_bias=False,
                              bn_epsilon=TORCH_BN_EPSILON, data_format=None, name=None):
    """The ResNeXt / Wide ResNet bottleneck: 1x1, grouped 3x3 (strided), 1x1, each with BN,
    plus a shortcut, then ReLU.

    Xie et al., "Aggregated Residual Transformations for Deep Neural Networks", CVPR 2017,
    https://arxiv.org/abs/1611.05431, Figure 3(c) and Table 1; Zagoruyko & Komodakis, "Wide
    Residual Networks", BMVC 2016, https://arxiv.org/abs/1605.07146. Structure and parameters
    equal torchvision's `Bottleneck` (`resnext50_32x4d`, `resnext101_32x8d`,
    `wide_resnet50_2`).

    Args:
        x: rank-4 input tensor with `c` channels.
        filters: int `f`: the stage's width (64, 128, 256, 512 in ResNet-50); the output has
            `expansion * f` channels.
        strides: int or pair, the stride of the 3x3 convolution and of the projection (the
            ResNeXt paper: "downsampling ... by stride-2 convolutions in the 3x3 layer").
            Default 1.
        cardinality: int `C`, the groups of the 3x3 convolution (ResNeXt-50 32x4d: 32).
            Default 1.
        base_width: int `d`, the width of one group at `f = 64` (32x4d: 4). Default 64.
        width_factor: int `k`, Wide ResNet's multiplier of the inner width (WRN-50-2: 2).
            Default 1.
        expansion: int `e`. Default 4.
        shortcut: `"auto"` (identity when the shapes agree, else a 1x1 projection with BN),
            `"identity"` or `"projection"`, as in `cnnblocks.blocks.bottleneck_module`.
            Default `"auto"`.
        use_bias: bool, convolutions with bias. Default False (torchvision: no bias before BN).
        bn_epsilon: float. Default 1e-5 (PyTorch's).
        data_format: `"channels_last"`, `"channels_first"` or None (Keras' setting).
        name: str or None, the prefix of every layer name.

    Returns:
        Tensor with `e f` channels; spatial size `(n - 1) // s + 1` for stride `s`.

    Parameters:
        No bias; Keras counts 4 numbers per BN channel. With the inner width
        `w = int(f d / 64) C k`: `c w + 4 w + 9 w^2 / C + 4 w + w e f + 4 e f`, plus
        `c e f + 4 e f` for a projection.
        (torchvision's `parameters()` count is this minus the 2 moving statistics per BN
        channel.)

    Note:
        A strided 3x3 convolution is padded explicitly and symmetrically (`{name}_2_pad`, then
        "valid"), as PyTorch pads: Keras' "same" would pad (0, 1) on even sizes and sample
        other pixels. Unstrided ones use "same", which is the same symmetric padding.

    Example:
        >>> import keras
        >>> from cnnblocks.blocks import grouped_bottleneck_module
        >>> y = grouped_bottleneck_module(keras.Input((56, 56, 64)), 64, cardinality=32,
        ...                               base_width=4, name="conv2_block1")
        >>> tuple(y.shape)
        (None, 56, 56, 256)
    """
    data_format, _ = resolve_data_format(data_format)
    filters = check.positive_int(filters, "filters")
    strides = check.pair(strides, "strides")
    cardinality = check.positive_int(cardinality, "cardinality")
    base_width = check.positive_int(base_width, "base_width")
    width_factor = check.positive_int(width_factor, "width_factor")
    expansion = check.positive_int(expansion, "expansion")
    check.choice(shortcut, "shortcut", SHORTCUTS)
    use_bias = check.boolean(use_bias, "use_bias")
    c_in = channels(check_input(x, data_format), data_format)
    width = inner_width(filters, cardinality=cardinality, base_width=base_width,
                        width_factor=width_factor)
    if width < cardinality:
        raise ValueError(f"`base_width`={base_width} gives no channel per group at "
                         f"filters={filters} (int(filters * base_width / 64) = 0).")
    out = expansion * filters
    unit = dict(use_bias=use_bias, bn_epsilon=bn_epsilon, data_format=data_format, name=name)

    fits = c_in == out and strides == (1, 1)
    if shortcut == "identity" and not fits:
        raise ValueError(
            f"`shortcut='identity'` needs the residual branch to keep the input's shape, but "
            f"the block maps {c_in} channels to {out} with strides {strides}; use "
            "shortcut='auto' or 'projection'.")
    if shortcut == "projection" or (shortcut == "auto" and not fits):
        sc = conv_bn_act(x, out, 1, strides=strides, padding="valid", activation=None,
                         suffixes=("_0_conv", "_0_bn", ""), **unit)
    else:
        sc = x
    y = conv_bn_act(x, width, 1, padding="valid", suffixes=("_1_conv", "_1_bn", "_1_relu"),
                    **unit)
    y = conv_bn_act(y, width, 3, strides=strides, padding=1 if strides != (1, 1) else "same",
                    groups=cardinality, suffixes=("_2_conv", "_2_bn", "_2_relu"), **unit)
    y = conv_bn_act(y, out, 1, padding="valid", activation=None,
                    suffixes=("_3_conv", "_3_bn", ""), **unit)
    y = layers.Add(name=layer_name(name, "_add"))([sc, y])
    return layers.Activation("relu", name=layer_name(name, "_out"))(y)


def grouped_bottleneck_module_cost(tally, filters, *, strides=1, cardinality=1, base_width=64,
                                   width_factor=1, expansion=4, use_bias=False):
    """Walks `grouped_bottleneck_module`'s layers (shortcut "auto") on a
    `cnnblocks.cost.Tally` whose shape is the module's input, without building anything;
    `strides` is an int, the arguments are assumed checked. Returns the output shape."""
    width = inner_width(filters, cardinality=cardinality, base_width=base_width,
                        width_factor=width_factor)
    out = expansion * filters
    unit = dict(use_bias=use_bias, padding="symmetric")
    _shortcut_cost(tally, out, strides, **unit)                 # _0_conv, _0_bn (projection)
    conv_bn_act_cost(tally, width, 1, **unit)                   # _1_conv, _1_bn, _1_relu
    if strides != 1:
        tally.pad(1)                                            # _2_pad
    tally.conv(width, 3, strides, groups=cardinality, bias=use_bias,
               padding=0 if strides != 1 else "same")           # _2_conv
    tally.bn()                                                  # _2_bn
    tally.elementwise()                                         # _2_relu
    conv_bn_act_cost(tally, out, 1, activation=False, **unit)   # _3_conv, _3_bn
    tally.elementwise()                                         # _add
    return tally.elementwise()                                  # _out
