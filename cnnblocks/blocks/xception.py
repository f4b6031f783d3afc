"""Xception's separable-convolution modules (Chollet, "Xception: Deep Learning with Depthwise
Separable Convolutions", CVPR 2017, https://arxiv.org/abs/1610.02357).

One function covers the three flows:

- entry flow: `xception_module(x, (128, 128), pool=True, activate_first=False)` and then
  `(256, 256)`, `(728, 728)` with `pool=True`;
- middle flow: `xception_module(x, (728, 728, 728))` (identity shortcut);
- exit flow: `xception_module(x, (728, 1024), pool=True)`, followed by two post-activated
  separable convolutions (`conv_bn_act(..., separable=True)`).

With `name="block2"` the layers carry keras.applications' Xception names (`block2_sepconv1`,
`block2_sepconv1_bn`, `block2_sepconv2_act`, ..., `block2_pool`); the projection shortcut, which
keras.applications leaves unnamed, is `block2_0_conv` / `block2_0_bn`, and the add `block2_add`.
Unlike ResNet, the add takes `[residual, shortcut]` (keras.applications' order).
"""

import numbers

from keras import layers

from cnnblocks import _validation as check
from cnnblocks.blocks.common import (channels, check_input, check_options, conv_bn_act,
                                     layer_name, resolve_data_format)
from cnnblocks.identity import block_function

SHORTCUTS = ("auto", "identity", "projection")


def _label(a):
    widths = a["filters"] if isinstance(a["filters"], (list, tuple)) else [a["filters"]] * 3
    return " → ".join(f"sep {w}" for w in widths) + (" + pool /2" if a["pool"] else "")


@block_function(_label)
def xception_module(x, filters, *, pool=False, activate_first=True, shortcut="auto",
                    bn_epsilon=1e-3, data_format=None, name=None):
    """ReLU-SeparableConv-BN units, optional 3x3/2 max pool, and a residual connection.

    Args:
        x: rank-4 input tensor.
        filters: int or sequence of ints, one per separable convolution (3x3, no bias). An int
            means three convolutions of that width (the middle flow).
        pool: bool, end the residual branch with `MaxPooling2D(3, strides=2, padding="same")`.
            Default False.
        activate_first: bool, start with a ReLU. False for the first entry-flow module, whose
            input is already activated. Default True.
        shortcut: `"auto"` (identity when shapes agree, else a 1x1 convolution with the
            pooling's stride and BN), `"identity"` or `"projection"`. Default `"auto"`.
        bn_epsilon: float. Default 1e-3 (Keras' default, keras.applications Xception).
        data_format: `"channels_last"`, `"channels_first"` or None (Keras' setting).
        name: str or None, e.g. `"block2"`.

    Returns:
        Tensor with `filters[-1]` channels; spatial size halved (rounded up) when `pool`.

    Parameters:
        per separable convolution `9 c_in + c_in c_out` plus BN `4 c_out`; projection
        `c_in c_out + 4 c_out`.

    Example:
        >>> import keras
        >>> from cnnblocks.blocks import xception_module
        >>> y = xception_module(keras.Input((19, 19, 728)), 728, name="block5")
        >>> tuple(y.shape)
        (None, 19, 19, 728)
    """
    data_format, _ = resolve_data_format(data_format)
    widths = (check.positive_int(filters, "filters"),) * 3 \
        if isinstance(filters, numbers.Integral) and not isinstance(filters, bool) \
        else check.positive_ints(filters, "filters")
    check_options(pool=pool, activate_first=activate_first, bn_epsilon=bn_epsilon)
    check.choice(shortcut, "shortcut", SHORTCUTS)
    shape = check_input(x, data_format)
    c_in = channels(shape, data_format)
    fits = c_in == widths[-1] and not pool
    if shortcut == "identity" and not fits:
        raise ValueError(
            f"`shortcut='identity'` needs the module to keep the input's shape, but it maps "
            f"{c_in} channels to {widths[-1]} (pool={pool}); use 'auto' or 'projection'.")
    project = shortcut == "projection" or (shortcut == "auto" and not fits)

    y = x
    for i, width in enumerate(widths, start=1):
        prefix = layer_name(name, f"_sepconv{i}")
        if i > 1 or activate_first:
            y = layers.Activation("relu", name=layer_name(prefix, "_act"))(y)
        y = conv_bn_act(y, width, 3, use_bias=False, bn_epsilon=bn_epsilon, activation=None,
                        separable=True, data_format=data_format, name=prefix,
                        suffixes=("", "_bn", ""))
    if pool:
        y = layers.MaxPooling2D(3, strides=2, padding="same", data_format=data_format,
                                name=layer_name(name, "_pool"))(y)
    sc = x
    if project:
        sc = conv_bn_act(x, widths[-1], 1, strides=2 if pool else 1, use_bias=False,
                         bn_epsilon=bn_epsilon, activation=None, data_format=data_format,
                         name=name, suffixes=("_0_conv", "_0_bn", ""))
    return layers.Add(name=layer_name(name, "_add"))([y, sc])


def xception_module_cost(tally, filters, *, pool=False, activate_first=True, shortcut="auto"):
    """`xception_module`'s costs on a `cnnblocks.cost.Tally` at its current shape, walked in
    the module's layer order (the arguments as the module's, checked by the caller)."""
    widths = (filters,) * 3 if isinstance(filters, numbers.Integral) else tuple(filters)
    x = tally.shape
    project = shortcut == "projection" or (
        shortcut == "auto" and not (x[-1] == widths[-1] and not pool))
    for i, width in enumerate(widths, start=1):
        if i > 1 or activate_first:
            tally.elementwise()                                 # _sepconv{i}_act
        tally.separable_conv(width, 3)                          # _sepconv{i}, _sepconv{i}_bn
        tally.bn()
    if pool:
        tally.pool(3, 2, padding="same")                        # _pool
    y = tally.shape
    if project:
        tally.shape = x                                         # _0_conv, _0_bn
        tally.conv(widths[-1], 1, 2 if pool else 1, padding="same")
        tally.bn()
    return tally.elementwise(y)                                 # _add
