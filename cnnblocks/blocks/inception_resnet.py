"""The Inception-ResNet modules (Szegedy, Ioffe, Vanhoucke, Alemi, "Inception-v4,
Inception-ResNet and the Impact of Residual Connections on Learning", AAAI 2017,
https://arxiv.org/abs/1602.07261), with the widths of Inception-ResNet-v2:

- `inception_resnet_a`: the 35x35 residual module (Figure 16: 1x1 | 1x1-3x3 | 1x1-3x3-3x3);
- `inception_resnet_reduction_a`: 35x35 -> 17x17 (Figure 7, widths k, l, m, n);
- `inception_resnet_b`: the 17x17 residual module (Figure 17: 1x1 | 1x1-1x7-7x1);
- `inception_resnet_reduction_b`: 17x17 -> 8x8 (Figure 18);
- `inception_resnet_c`: the 8x8 residual module (Figure 19: 1x1 | 1x1-1x3-3x1).

A residual module concatenates its branches (`{name}_mixed`), maps them back to the input's
channel count with a linear 1x1 convolution with bias and without BN (`{name}_conv`), scales
that residual by `scale` and adds it to the input (`{name}_add`, a `cnnblocks.layers.ScaledAdd`,
section 3.3 of the paper), then applies ReLU (`{name}_ac`). These are keras.applications'
InceptionResNetV2 names (`block35_1_mixed`, `block35_1_conv`, `block35_1_ac`); the branch
convolutions it leaves unnamed are `{name}_b<branch>_<unit>_conv` / `_bn` / `_ac` here, e.g.
`block35_1_b2_3_conv` (branch 2, third unit). Every branch convolution is conv (no bias) - BN
(no scale, epsilon 1e-3) - ReLU, as in the released model.
"""

import numbers

from keras import layers

from cnnblocks import _validation as check
from cnnblocks.blocks.common import (channels, check_input, conv_bn_act, layer_name,
                                     resolve_data_format)
from cnnblocks.blocks.inception_v3 import conv_unit_cost
from cnnblocks.identity import block_function
from cnnblocks.layers import ScaledAdd

_ACTIVATIONS = ("relu", None)


def _check_residual(scale, activation):
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real) or not (
            0 <= scale < float("inf")):
        raise ValueError(f"`scale` must be a finite non-negative number, received "
                         f"{check.describe(scale)}.")
    check.choice(activation, "activation", _ACTIVATIONS)


def _prepare(x, widths, name, data_format, use_bias, bn_scale, bn_epsilon, *, min_size=1,
             why="the module"):
    """Validates the common arguments; returns (axis, c_in, data_format, unit) for the module
    body."""
    data_format, axis = resolve_data_format(data_format)
    for arg, value in widths.items():
        check.positive_int(value, arg)
    shape = check_input(x, data_format, min_size=min_size, why=why)

    def unit(t, filters, kernel_size, branch, index, *, strides=1, padding="same"):
        prefix = f"_b{branch}_{index}"
        return conv_bn_act(t, filters, kernel_size, strides=strides, padding=padding,
                           use_bias=use_bias, bn_scale=bn_scale, bn_epsilon=bn_epsilon,
                           data_format=data_format, name=name,
                           suffixes=(f"{prefix}_conv", f"{prefix}_bn", f"{prefix}_ac"))

    return axis, channels(shape, data_format), data_format, unit


def _residual(x, branches, *, axis, c_in, scale, activation, data_format, name):
    """Concatenation, linear 1x1 back to `c_in` channels, scaled sum, activation."""
    mixed = layers.Concatenate(axis=axis, name=layer_name(name, "_mixed"))(branches)
    up = conv_bn_act(mixed, c_in, 1, use_bias=True, batch_norm=False, activation=None,
                     data_format=data_format, name=name, suffixes=("_conv", "", ""))
    y = ScaledAdd(scale, name=layer_name(name, "_add"))([x, up])
    if activation is not None:
        y = layers.Activation(activation, name=layer_name(name, "_ac"))(y)
    return y


_OPTIONS_DOC = """
        scale: float, the residual's factor before the addition (section 3.3: "between 0.1
            and 0.3"). Default: the released model's value for this module.
        activation: `"relu"` or None, after the addition (keras.applications' last 8x8
            module, `block8_10`, has none). Default `"relu"`.
        use_bias: bool, branch convolutions with bias. Default False (released model).
        bn_scale: bool, branch BNs learn gamma. Default False (released model).
        bn_epsilon: float. Default 1e-3.
        data_format: `"channels_last"`, `"channels_first"` or None (Keras' setting).
        name: str or None, the prefix of every layer name (e.g. `"block35_1"`)."""

_RED_OPTIONS_DOC = """
        use_bias: bool, convolutions with bias. Default False (released model).
        bn_scale: bool, BNs learn gamma. Default False (released model).
        bn_epsilon: float. Default 1e-3.
        data_format: `"channels_last"`, `"channels_first"` or None (Keras' setting).
        name: str or None, the name of the final concatenation (e.g. `"mixed_6a"`) and the
            prefix of every layer name."""


@block_function(lambda a: (f"{a['f1']} | {a['f3_reduce']}→{a['f3']} | "
                           f"{a['f3dbl_reduce']}→{a['f3dbl_1']}→{a['f3dbl_2']} | "
                           f"×{a['scale']:g} +"))
def inception_resnet_a(x, f1, f3_reduce, f3, f3dbl_reduce, f3dbl_1, f3dbl_2, *, scale=0.17,
                       activation="relu", use_bias=False, bn_scale=False, bn_epsilon=1e-3,
                       data_format=None, name=None):
    """The 35x35 Inception-ResNet module (Inception-ResNet-A, Figure 16 of the paper).

    Branches 1x1 (`f1`) | 1x1-3x3 (`f3_reduce`, `f3`) | 1x1-3x3-3x3 (`f3dbl_reduce`,
    `f3dbl_1`, `f3dbl_2`), concatenated, a linear 1x1 back to the input's `c` channels,
    scaled by `scale`, added to the input, ReLU. Inception-ResNet-v2 (released model,
    keras.applications `block35_*`): `(32, 32, 32, 32, 48, 64)`, scale 0.17.

    Args:
        x: rank-4 input tensor with `c` channels.
        f1, f3_reduce, f3, f3dbl_reduce, f3dbl_1, f3dbl_2: ints, the branch widths.{options}

    Returns:
        Tensor of the input's shape.

    Parameters (conv without bias, BN without scale: 3 numbers per channel):
        each unit `k k c_in c_out + 3 c_out`, plus the 1x1 `(f1 + f3 + f3dbl_2 + 1) c`.

    Note:
        The linear 1x1 maps back to the input's channel count, which the addition needs;
        Figures 16, 17 and 19 print fixed widths (384, 1154, 2048), two of which do not match
        what enters those modules in the paper's network (Reduction-A gives 1152 channels,
        Reduction-B at least 2144). `scale` defaults to the released model's factor; the
        paper only gives the range 0.1-0.3.

    Example:
        >>> import keras
        >>> from cnnblocks.blocks import inception_resnet_a
        >>> y = inception_resnet_a(keras.Input((35, 35, 320)), 32, 32, 32, 32, 48, 64,
        ...                        name="block35_1")
        >>> tuple(y.shape)
        (None, 35, 35, 320)
    """
    _check_residual(scale, activation)
    axis, c_in, data_format, unit = _prepare(
        x, dict(f1=f1, f3_reduce=f3_reduce, f3=f3, f3dbl_reduce=f3dbl_reduce, f3dbl_1=f3dbl_1,
                f3dbl_2=f3dbl_2), name, data_format, use_bias, bn_scale, bn_epsilon)
    b0 = unit(x, f1, 1, 0, 1)
    b1 = unit(unit(x, f3_reduce, 1, 1, 1), f3, 3, 1, 2)
    b2 = unit(unit(unit(x, f3dbl_reduce, 1, 2, 1), f3dbl_1, 3, 2, 2), f3dbl_2, 3, 2, 3)
    return _residual(x, [b0, b1, b2], axis=axis, c_in=c_in, scale=scale,
                     activation=activation, data_format=data_format, name=name)


@block_function(lambda a: (f"{a['f1']} | {a['f7_reduce']}→1x7 {a['f1x7']}→7x1 {a['f7x1']} | "
                           f"×{a['scale']:g} +"))
def inception_resnet_b(x, f1, f7_reduce, f1x7, f7x1, *, scale=0.1, activation="relu",
                       use_bias=False, bn_scale=False, bn_epsilon=1e-3, data_format=None,
                       name=None):
    """The 17x17 Inception-ResNet module (Inception-ResNet-B, Figure 17 of the paper).

    Branches 1x1 (`f1`) | 1x1 (`f7_reduce`) - 1x7 (`f1x7`) - 7x1 (`f7x1`), concatenated, a
    linear 1x1 back to the input's `c` channels, scaled, added, ReLU. Inception-ResNet-v2
    (released model, keras.applications `block17_*`): `(192, 128, 160, 192)`, scale 0.1.

    Args:
        x: rank-4 input tensor with `c` channels.
        f1, f7_reduce, f1x7, f7x1: ints, the branch widths.{options}

    Returns:
        Tensor of the input's shape.

    Parameters:
        `c f1 + 3 f1 + c r + 3 r + 7 r a + 3 a + 7 a b + 3 b + (f1 + b + 1) c` with
        `r = f7_reduce, a = f1x7, b = f7x1`.

    Note:
        The linear 1x1 maps back to the input's channel count, which the addition needs;
        Figures 16, 17 and 19 print fixed widths (384, 1154, 2048), two of which do not match
        what enters those modules in the paper's network (Reduction-A gives 1152 channels,
        Reduction-B at least 2144). `scale` defaults to the released model's factor; the
        paper only gives the range 0.1-0.3.

    Example:
        >>> import keras
        >>> from cnnblocks.blocks import inception_resnet_b
        >>> y = inception_resnet_b(keras.Input((17, 17, 1088)), 192, 128, 160, 192)
        >>> tuple(y.shape)
        (None, 17, 17, 1088)
    """
    _check_residual(scale, activation)
    axis, c_in, data_format, unit = _prepare(
        x, dict(f1=f1, f7_reduce=f7_reduce, f1x7=f1x7, f7x1=f7x1), name, data_format,
        use_bias, bn_scale, bn_epsilon)
    b0 = unit(x, f1, 1, 0, 1)
    b1 = unit(unit(unit(x, f7_reduce, 1, 1, 1), f1x7, (1, 7), 1, 2), f7x1, (7, 1), 1, 3)
    return _residual(x, [b0, b1], axis=axis, c_in=c_in, scale=scale, activation=activation,
                     data_format=data_format, name=name)


@block_function(lambda a: (f"{a['f1']} | {a['f3_reduce']}→1x3 {a['f1x3']}→3x1 {a['f3x1']} | "
                           f"×{a['scale']:g} +"))
def inception_resnet_c(x, f1, f3_reduce, f1x3, f3x1, *, scale=0.2, activation="relu",
                       use_bias=False, bn_scale=False, bn_epsilon=1e-3, data_format=None,
                       name=None):
    """The 8x8 Inception-ResNet module (Inception-ResNet-C, Figure 19 of the paper).

    Branches 1x1 (`f1`) | 1x1 (`f3_reduce`) - 1x3 (`f1x3`) - 3x1 (`f3x1`), concatenated, a
    linear 1x1 back to the input's `c` channels, scaled, added, ReLU. Inception-ResNet-v2
    (released model, keras.applications `block8_*`): `(192, 192, 224, 256)`, scale 0.2; the
    last one (`block8_10`) has scale 1.0 and no activation.

    Args:
        x: rank-4 input tensor with `c` channels.
        f1, f3_reduce, f1x3, f3x1: ints, the branch widths.{options}

    Returns:
        Tensor of the input's shape.

    Parameters:
        `c f1 + 3 f1 + c r + 3 r + 3 r a + 3 a + 3 a b + 3 b + (f1 + b + 1) c` with
        `r = f3_reduce, a = f1x3, b = f3x1`.

    Note:
        The linear 1x1 maps back to the input's channel count, which the addition needs;
        Figures 16, 17 and 19 print fixed widths (384, 1154, 2048), two of which do not match
        what enters those modules in the paper's network (Reduction-A gives 1152 channels,
        Reduction-B at least 2144). `scale` defaults to the released model's factor; the
        paper only gives the range 0.1-0.3.

    Example:
        >>> import keras
        >>> from cnnblocks.blocks import inception_resnet_c
        >>> y = inception_resnet_c(keras.Input((8, 8, 2080)), 192, 192, 224, 256)
        >>> tuple(y.shape)
        (None, 8, 8, 2080)
    """
    _check_residual(scale, activation)
    axis, c_in, data_format, unit = _prepare(
        x, dict(f1=f1, f3_reduce=f3_reduce, f1x3=f1x3, f3x1=f3x1), name, data_format,
        use_bias, bn_scale, bn_epsilon)
    b0 = unit(x, f1, 1, 0, 1)
    b1 = unit(unit(unit(x, f3_reduce, 1, 1, 1), f1x3, (1, 3), 1, 2), f3x1, (3, 1), 1, 3)
    return _residual(x, [b0, b1], axis=axis, c_in=c_in, scale=scale, activation=activation,
                     data_format=data_format, name=name)


@block_function(lambda a: f"{a['n']} /2 | {a['k']}→{a['l']}→{a['m']} /2 | max /2")
def inception_resnet_reduction_a(x, k, l, m, n, *, use_bias=False, bn_scale=False,  # noqa: E741
                                 bn_epsilon=1e-3, data_format=None, name=None):
    """Grid reduction 35x35 -> 17x17 (Reduction-A, Figure 7 of the paper).

    Branches 3x3/2 (`n`) | 1x1 (`k`) - 3x3 (`l`) - 3x3/2 (`m`) | 3x3/2 max pool, the stride-2
    layers "valid", concatenated in that order (keras.applications' `mixed_6a`). The paper's
    Table 1 gives `k, l, m, n = 256, 256, 384, 384` for Inception-ResNet-v2.

    Args:
        x: rank-4 input tensor with `c` channels, at least 3x3.
        k, l, m, n: ints, the paper's filter-bank sizes.{options}

    Returns:
        Tensor of spatial size `(s - 3) // 2 + 1` with `n + m + c` channels.

    Parameters:
        `9 c n + 3 n + c k + 3 k + 9 k l + 3 l + 9 l m + 3 m`.

    Example:
        >>> import keras
        >>> from cnnblocks.blocks import inception_resnet_reduction_a
        >>> y = inception_resnet_reduction_a(keras.Input((35, 35, 320)), 256, 256, 384, 384,
        ...                                  name="mixed_6a")
        >>> tuple(y.shape)
        (None, 17, 17, 1088)
    """
    axis, _, data_format, unit = _prepare(
        x, dict(k=k, l=l, m=m, n=n), name, data_format, use_bias, bn_scale, bn_epsilon,
        min_size=3, why="3x3 'valid' stride-2 reductions")
    b0 = unit(x, n, 3, 0, 1, strides=2, padding="valid")
    b1 = unit(unit(x, k, 1, 1, 1), l, 3, 1, 2)
    b1 = unit(b1, m, 3, 1, 3, strides=2, padding="valid")
    bp = layers.MaxPooling2D(3, strides=2, data_format=data_format,
                             name=layer_name(name, "_pool"))(x)
    return layers.Concatenate(axis=axis, name=name)([b0, b1, bp])


@block_function(lambda a: (f"{a['f3_reduce']}→{a['f3']} /2 | {a['f3b_reduce']}→{a['f3b']} /2 | "
                           f"{a['f3dbl_reduce']}→{a['f3dbl_1']}→{a['f3dbl_2']} /2 | max /2"))
def inception_resnet_reduction_b(x, f3_reduce, f3, f3b_reduce, f3b, f3dbl_reduce, f3dbl_1,
                                 f3dbl_2, *, use_bias=False, bn_scale=False, bn_epsilon=1e-3,
                                 data_format=None, name=None):
    """Grid reduction 17x17 -> 8x8 (Reduction-B of Inception-ResNet-v2, Figure 18).

    Branches 1x1-3x3/2 (`f3_reduce`, `f3`) | 1x1-3x3/2 (`f3b_reduce`, `f3b`) |
    1x1-3x3-3x3/2 (`f3dbl_reduce`, `f3dbl_1`, `f3dbl_2`) | 3x3/2 max pool, the stride-2 layers
    "valid", concatenated in that order (keras.applications' `mixed_7a`). Figure 18:
    `(256, 384, 256, 288, 256, 288, 320)`.

    Args:
        x: rank-4 input tensor with `c` channels, at least 3x3.
        f3_reduce, f3, f3b_reduce, f3b, f3dbl_reduce, f3dbl_1, f3dbl_2: ints, the branch
            widths.{options}

    Returns:
        Tensor of spatial size `(s - 3) // 2 + 1` with `f3 + f3b + f3dbl_2 + c` channels.

    Parameters:
        sum over the units of `k k c_in c_out + 3 c_out`.

    Example:
        >>> import keras
        >>> from cnnblocks.blocks import inception_resnet_reduction_b
        >>> y = inception_resnet_reduction_b(keras.Input((17, 17, 1088)), 256, 384, 256, 288,
        ...                                  256, 288, 320, name="mixed_7a")
        >>> tuple(y.shape)
        (None, 8, 8, 2080)
    """
    axis, _, data_format, unit = _prepare(
        x, dict(f3_reduce=f3_reduce, f3=f3, f3b_reduce=f3b_reduce, f3b=f3b,
                f3dbl_reduce=f3dbl_reduce, f3dbl_1=f3dbl_1, f3dbl_2=f3dbl_2), name,
        data_format, use_bias, bn_scale, bn_epsilon, min_size=3,
        why="3x3 'valid' stride-2 reductions")
    b0 = unit(unit(x, f3_reduce, 1, 0, 1), f3, 3, 0, 2, strides=2, padding="valid")
    b1 = unit(unit(x, f3b_reduce, 1, 1, 1), f3b, 3, 1, 2, strides=2, padding="valid")
    b2 = unit(unit(x, f3dbl_reduce, 1, 2, 1), f3dbl_1, 3, 2, 2)
    b2 = unit(b2, f3dbl_2, 3, 2, 3, strides=2, padding="valid")
    bp = layers.MaxPooling2D(3, strides=2, data_format=data_format,
                             name=layer_name(name, "_pool"))(x)
    return layers.Concatenate(axis=axis, name=name)([b0, b1, b2, bp])


for _f in (inception_resnet_a, inception_resnet_b, inception_resnet_c):
    _f.__doc__ = _f.__doc__.replace("{options}", _OPTIONS_DOC)
for _f in (inception_resnet_reduction_a, inception_resnet_reduction_b):
    _f.__doc__ = _f.__doc__.replace("{options}", _RED_OPTIONS_DOC)
del _f


# ---------------------------------------------------------------- cost walks (cnnblocks.cost) ---
# Each walks its module's layers on a `cnnblocks.cost.Tally` from the tally's current shape,
# branch by branch as the module builds them; a branch unit is Inception-V3's (conv, BN, ReLU).

def _units_cost(tally, x, units, opt):
    """A branch of `unit`s from input shape `x`: `(filters, kernel[, strides, padding])` each."""
    for filters, kernel, *where in units:
        strides, padding = where or (1, "same")
        x = conv_unit_cost(tally, x, filters, kernel, strides=strides, padding=padding, **opt)
    return x


def _residual_cost(tally, x, branches, *, activation):
    """`_residual`: `_mixed` (concatenation), the linear 1x1 with bias `_conv`, the scaled sum
    `_add` (a ScaledAdd, no weights), the ReLU `_ac` unless `activation` is None."""
    tally.concat(*branches)
    tally.conv(x[-1], 1, bias=True)
    tally.elementwise()
    if activation is not None:
        tally.elementwise()
    return tally.shape


def inception_resnet_a_cost(tally, f1, f3_reduce, f3, f3dbl_reduce, f3dbl_1, f3dbl_2, *,
                            activation="relu", use_bias=False, bn_scale=False):
    """`inception_resnet_a`'s costs (its arguments, checked by the caller; `scale` changes
    none)."""
    x, opt = tally.shape, dict(use_bias=use_bias, bn_scale=bn_scale)
    branches = [_units_cost(tally, x, units, opt) for units in (
        [(f1, 1)], [(f3_reduce, 1), (f3, 3)], [(f3dbl_reduce, 1), (f3dbl_1, 3), (f3dbl_2, 3)])]
    return _residual_cost(tally, x, branches, activation=activation)


def inception_resnet_b_cost(tally, f1, f7_reduce, f1x7, f7x1, *, activation="relu",
                            use_bias=False, bn_scale=False):
    """`inception_resnet_b`'s costs."""
    x, opt = tally.shape, dict(use_bias=use_bias, bn_scale=bn_scale)
    branches = [_units_cost(tally, x, units, opt) for units in (
        [(f1, 1)], [(f7_reduce, 1), (f1x7, (1, 7)), (f7x1, (7, 1))])]
    return _residual_cost(tally, x, branches, activation=activation)


def inception_resnet_c_cost(tally, f1, f3_reduce, f1x3, f3x1, *, activation="relu",
                            use_bias=False, bn_scale=False):
    """`inception_resnet_c`'s costs."""
    x, opt = tally.shape, dict(use_bias=use_bias, bn_scale=bn_scale)
    branches = [_units_cost(tally, x, units, opt) for units in (
        [(f1, 1)], [(f3_reduce, 1), (f1x3, (1, 3)), (f3x1, (3, 1))])]
    return _residual_cost(tally, x, branches, activation=activation)


def _reduction_cost(tally, branches, opt):
    """A reduction: the unit branches, the 3x3/2 "valid" max pool `_pool`, the concatenation."""
    x = tally.shape
    outputs = [_units_cost(tally, x, units, opt) for units in branches]
    tally.shape = x
    outputs.append(tally.pool(3, 2))
    return tally.concat(*outputs)


def inception_resnet_reduction_a_cost(tally, k, l, m, n, *, use_bias=False,  # noqa: E741
                                      bn_scale=False):
    """`inception_resnet_reduction_a`'s costs."""
    return _reduction_cost(tally, ([(n, 3, 2, "valid")],
                                   [(k, 1), (l, 3), (m, 3, 2, "valid")]),
                           dict(use_bias=use_bias, bn_scale=bn_scale))


def inception_resnet_reduction_b_cost(tally, f3_reduce, f3, f3b_reduce, f3b, f3dbl_reduce,
                                      f3dbl_1, f3dbl_2, *, use_bias=False, bn_scale=False):
    """`inception_resnet_reduction_b`'s costs."""
    return _reduction_cost(tally, ([(f3_reduce, 1), (f3, 3, 2, "valid")],
                                   [(f3b_reduce, 1), (f3b, 3, 2, "valid")],
                                   [(f3dbl_reduce, 1), (f3dbl_1, 3), (f3dbl_2, 3, 2, "valid")]),
                           dict(use_bias=use_bias, bn_scale=bn_scale))
