"""EfficientNet's mobile inverted bottleneck, MBConv (Tan & Le, "EfficientNet: Rethinking Model
Scaling for Convolutional Neural Networks", ICML 2019, https://arxiv.org/abs/1905.11946,
Table 1; the block of MnasNet, Tan et al. 2019): 1x1 expansion - BN - swish, k x k depthwise -
BN - swish, squeeze-and-excite, linear 1x1 projection - BN, and an identity shortcut with
stochastic depth ("drop connect") when the shapes match; and EfficientNetV2's Fused-MBConv
(Tan & Le, "EfficientNetV2: Smaller Models and Faster Training", ICML 2021,
https://arxiv.org/abs/2104.00298, Figure 2), whose expansion and depthwise convolutions are
one regular k x k convolution.

With `name="block2a"` the layers carry keras.applications' EfficientNet names:
`block2a_expand_conv`, `block2a_expand_bn`, `block2a_expand_activation`, `block2a_dwconv_pad`,
`block2a_dwconv`, `block2a_bn`, `block2a_activation`, `block2a_se_squeeze`, `block2a_se_reshape`,
`block2a_se_reduce`, `block2a_se_expand`, `block2a_se_excite`, `block2a_project_conv`,
`block2a_project_bn`, `block2a_drop`, `block2a_add`. With `version=2` (EfficientNetV2's MBConv
stages) the depthwise convolution is `block2a_dwconv2` and no padding layer precedes it.

`fused_mbconv_block(x, f, name="block2a")` carries keras.applications' EfficientNetV2 names:
`block2a_expand_conv`, `block2a_expand_bn`, `block2a_expand_activation`, (`block2a_se_*`),
`block2a_project_conv`, `block2a_project_bn`, `block2a_drop`, `block2a_add`; without expansion
(`expand_ratio=1`) the one k x k convolution is `block2a_project_conv`, followed by
`block2a_project_bn` and `block2a_project_activation`.
"""

import numbers

from keras import layers

from cnnblocks import _validation as check
from cnnblocks.blocks.common import (channels, check_input, conv_bn_act, conv_bn_act_cost,
                                     kernel_text, layer_name, resolve_data_format, stride_text)
from cnnblocks.blocks.mobilenet import (_depthwise, _depthwise_cost, _ratio_or_none, _residual,
                                        squeeze_excite)
from cnnblocks.identity import block_function

#: keras.applications' EfficientNet convolution initializer (the TF reference's
#: `conv_kernel_initializer`): He-style truncated normal over the fan-out.
CONV_KERNEL_INITIALIZER = {"class_name": "VarianceScaling",
                           "config": {"scale": 2.0, "mode": "fan_out",
                                      "distribution": "truncated_normal"}}


def _label(a, kind="MBConv"):
    se = ", SE" if a["se_ratio"] else ""
    return (f"{kind}{a['expand_ratio']} {kernel_text(a['kernel_size'])}"
            f"{stride_text(a['strides'])} → {a['filters']}{se}")


def _fused_label(a):
    return _label(a, "Fused-MBConv")


#: `mbconv_block(version=...)`: keras.applications' EfficientNet (1) or EfficientNetV2 (2).
VERSIONS = (1, 2)
#: The k x k convolution's padding: Keras' "same" or PyTorch's `(k - 1) // 2` on every side.
PADDINGS = ("same", "symmetric")


def _common_checks(filters, expand_ratio, kernel_size, strides, se_ratio, drop_rate,
                   activation, bn_momentum):
    """The argument checks MBConv and Fused-MBConv share; returns the normalized values."""
    check.fraction(bn_momentum, "bn_momentum")
    filters = check.positive_int(filters, "filters")
    expand_ratio = check.positive_int(expand_ratio, "expand_ratio")
    kernel_size = check.pair(kernel_size, "kernel_size")
    strides = check.pair(strides, "strides")
    if isinstance(se_ratio, numbers.Real) and not isinstance(se_ratio, bool) and se_ratio == 0:
        se_ratio = None  # 0: no squeeze-and-excite, as None
    se_ratio = _ratio_or_none(se_ratio, "se_ratio")
    if isinstance(drop_rate, bool) or not isinstance(drop_rate, numbers.Real):
        raise TypeError(f"`drop_rate` must be a number in [0, 1), received "
                        f"{check.describe(drop_rate)}.")
    if not 0 <= drop_rate < 1:
        raise ValueError(f"`drop_rate` must be a number in [0, 1), received "
                         f"{check.describe(drop_rate)}.")
    if not isinstance(activation, str) or not activation:
        raise TypeError(f"`activation` must be an activation name (str), received "
                        f"{check.describe(activation)}.")
    return filters, expand_ratio, kernel_size, strides, se_ratio


def _drop_and_add(y, x, drop_rate, name):
    """Stochastic depth (`{name}_drop`, when the rate is positive) and the shortcut."""
    if drop_rate > 0:
        y = layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1),
                           name=layer_name(name, "_drop"))(y)
    return layers.Add(name=layer_name(name, "_add"))([y, x])


def _se(y, c_in, se_ratio, activation, kernel_initializer, data_format, name):
    return squeeze_excite(y, max(1, int(c_in * se_ratio)), activation=activation,
                          gate="sigmoid", reshape=True, fused_activations=True,
                          kernel_initializer=kernel_initializer, data_format=data_format,
                          name=layer_name(name, "_se"))


@block_function(_label)
def mbconv_block(x, filters, *, expand_ratio=6, kernel_size=3, strides=1, se_ratio=0.25,
                 drop_rate=0.0, activation="swish", shortcut="auto", bn_epsilon=1e-3,
                 bn_momentum=0.99, version=1, padding="same",
                 kernel_initializer=CONV_KERNEL_INITIALIZER, data_format=None, name=None):
    """EfficientNet's MBConv block: expansion, k x k depthwise, squeeze-and-excite, linear
    projection, identity shortcut with drop-connect (Tan & Le 2019, Table 1: "MBConv6, k3x3").

    Args:
        x: rank-4 input tensor with `c` channels.
        filters: int, the output channels (Table 1's "#Channels", after width scaling).
        expand_ratio: int, the "6" of MBConv6: the expansion has `expand_ratio * c` filters;
            1 means no expansion convolution (MBConv1). Default 6.
        kernel_size: int or pair, of the depthwise convolution (3 or 5). Default 3.
        strides: int or pair, of the depthwise convolution. Default 1.
        se_ratio: None / 0 (no squeeze-and-excite) or a number in (0, 1]: the SE squeezes to
            `max(1, int(c * se_ratio))` channels, a fraction of the block's *input* channels
            (as the reference implementation). Default 0.25.
        drop_rate: float in [0, 1), the stochastic-depth rate: in training the residual branch
            of a block with a shortcut is dropped for a whole sample with this probability
            (`Dropout(drop_rate, noise_shape=(None, 1, 1, 1))`, surviving samples scaled by
            `1 / (1 - drop_rate)`); nothing at inference. Default 0.
        activation: str, the nonlinearity. Default `"swish"` (x sigmoid(x), also called SiLU).
        shortcut: `"auto"` (identity when stride 1 and `c == filters`), `"identity"` (a
            ValueError when the shapes differ) or `"none"`. Default `"auto"`.
        bn_epsilon: float. Default 1e-3.
        bn_momentum: float in [0, 1), the BN moving-average momentum (training only). Default
            0.99 (keras.applications' EfficientNet; its EfficientNetV2 uses 0.9).
        version: 1 or 2, keras.applications' layout: 1 (EfficientNet) pads a stride-2
            depthwise convolution explicitly (`{name}_dwconv_pad`) and names it
            `{name}_dwconv`; 2 (EfficientNetV2's MBConv stages) pads it "same" and names it
            `{name}_dwconv2`. Default 1.
        padding: `"same"` (Keras': on an even input a stride-2 depthwise convolution pads
            only the bottom and right) or `"symmetric"` (PyTorch's `(k - 1) // 2` on every
            side, torchvision's EfficientNetV2; a `ZeroPadding2D` before a strided depthwise
            convolution). Default `"same"`.
        kernel_initializer: initializer of every convolution. Default keras.applications'
            `VarianceScaling(2.0, "fan_out", "truncated_normal")`.
        data_format: `"channels_last"`, `"channels_first"` or None (Keras' setting).
        name: str or None, e.g. `"block2a"` (layer names in the module docstring).

    Returns:
        Tensor with `filters` channels, spatial size divided by `strides` (rounded up).

    Parameters (BN 4 per channel): with `e = expand_ratio c` (no expansion terms when 1) and
        `s = max(1, int(c se_ratio))`:
        `[c e + 4 e] + k_h k_w e + 4 e + [e s + s + s e + e] + e filters + 4 filters`.

    Note:
        - Stochastic depth is the `Dropout` layer `{name}_drop` keras.applications uses
          (present only with a shortcut and `drop_rate > 0`); the reference implementation
          drops the same way.
        - A stride-2 block zero-pads explicitly and convolves "valid" (`{name}_dwconv_pad`),
          as keras.applications: the same as "same" padding wherever the input size is
          known (the reference implementation pads "same").

    Example:
        >>> import keras
        >>> from cnnblocks.blocks import mbconv_block
        >>> y = mbconv_block(keras.Input((112, 112, 16)), 24, strides=2, name="block2a")
        >>> tuple(y.shape)
        (None, 56, 56, 24)
    """
    data_format, _ = resolve_data_format(data_format)
    filters, expand_ratio, kernel_size, strides, se_ratio = _common_checks(
        filters, expand_ratio, kernel_size, strides, se_ratio, drop_rate, activation,
        bn_momentum)
    if (isinstance(version, bool) or not isinstance(version, numbers.Integral)
            or int(version) not in VERSIONS):
        raise ValueError(f"`version` must be 1 or 2, received {check.describe(version)}.")
    check.choice(padding, "padding", PADDINGS)
    c_in = channels(check_input(x, data_format), data_format)
    residual = _residual(shortcut, c_in == filters and strides == (1, 1), c_in, filters,
                         strides)
    unit = dict(bn_epsilon=bn_epsilon, bn_momentum=bn_momentum,
                kernel_initializer=kernel_initializer, data_format=data_format, name=name)
    y = x
    if expand_ratio != 1:
        y = conv_bn_act(y, expand_ratio * c_in, 1, use_bias=False, activation=activation,
                        suffixes=("_expand_conv", "_expand_bn", "_expand_activation"), **unit)
    if version == 1:
        symmetric = tuple((k - 1) // 2 for k in kernel_size)
        y = _depthwise(y, kernel_size, strides, suffixes=("_dwconv", "_bn", "_activation"),
                       pad_name=layer_name(name, "_dwconv_pad"), activation=activation,
                       relu_layer=False,
                       padding_for=(lambda shape: symmetric) if padding == "symmetric" else None,
                       **unit)
    else:
        y = conv_bn_act(y, None, kernel_size, strides=strides, padding=padding, use_bias=False,
                        activation=activation, depthwise=True,
                        suffixes=("_dwconv2", "_bn", "_activation"), **unit)
    if se_ratio:
        y = _se(y, c_in, se_ratio, activation, kernel_initializer, data_format, name)
    y = conv_bn_act(y, filters, 1, use_bias=False, activation=None,
                    suffixes=("_project_conv", "_project_bn", ""), **unit)
    if residual:
        y = _drop_and_add(y, x, drop_rate, name)
    return y


@block_function(_fused_label)
def fused_mbconv_block(x, filters, *, expand_ratio=4, kernel_size=3, strides=1, se_ratio=None,
                       drop_rate=0.0, activation="swish", shortcut="auto", bn_epsilon=1e-3,
                       bn_momentum=0.9, padding="same",
                       kernel_initializer=CONV_KERNEL_INITIALIZER, data_format=None, name=None):
    """EfficientNetV2's Fused-MBConv block: one k x k expansion convolution (MBConv's 1x1
    expansion and depthwise convolution fused), optional squeeze-and-excite, linear 1x1
    projection, identity shortcut with drop-connect (Tan & Le 2021, Figure 2 and Table 4:
    "Fused-MBConv4, k3x3").

    Args:
        x: rank-4 input tensor with `c` channels.
        filters: int, the output channels (Table 4's "#Channels").
        expand_ratio: int, the "4" of Fused-MBConv4: the k x k convolution has
            `expand_ratio * c` filters and the 1x1 projection follows it; 1 means no
            expansion: one k x k convolution to `filters` - BN - activation (Table 4's
            "Fused-MBConv1"). Default 4.
        kernel_size: int or pair, of the k x k convolution. Default 3.
        strides: int or pair, of the k x k convolution. Default 1.
        se_ratio: None / 0 (no squeeze-and-excite, as every Fused-MBConv stage of the paper's
            models) or a number in (0, 1]: an SE after the expansion squeezing to
            `max(1, int(c * se_ratio))` channels (as keras.applications). Default None.
        drop_rate: float in [0, 1), the stochastic-depth rate of a block with a shortcut
            (`Dropout(drop_rate, noise_shape=(None, 1, 1, 1))`, training only). Default 0.
        activation: str, the nonlinearity. Default `"swish"` (SiLU).
        shortcut: `"auto"` (identity when stride 1 and `c == filters`), `"identity"` (a
            ValueError when the shapes differ) or `"none"`. Default `"auto"`.
        bn_epsilon: float. Default 1e-3.
        bn_momentum: float in [0, 1), the BN moving-average momentum (training only).
            Default 0.9 (keras.applications' EfficientNetV2).
        padding: `"same"` (Keras') or `"symmetric"` (PyTorch's `(k - 1) // 2` on every side,
            torchvision's EfficientNetV2: a `ZeroPadding2D` before a strided k x k
            convolution). Default `"same"`.
        kernel_initializer: initializer of every convolution. Default keras.applications'
            `VarianceScaling(2.0, "fan_out", "truncated_normal")`.
        data_format: `"channels_last"`, `"channels_first"` or None (Keras' setting).
        name: str or None, e.g. `"block2a"` (layer names in the module docstring).

    Returns:
        Tensor with `filters` channels, spatial size divided by `strides` (rounded up).

    Parameters (BN 4 per channel): with `e = expand_ratio c` and `s = max(1, int(c se_ratio))`:
        `k_h k_w c e + 4 e + [e s + s + s e + e] + e filters + 4 filters` when
        `expand_ratio > 1`; `[c s + s + s c + c] + k_h k_w c filters + 4 filters` when
        `expand_ratio == 1` (an SE then gates the block's input, as keras.applications).

    Note:
        - With `padding="same"` (keras.applications) a stride-2 3x3 convolution on an even
          input pads only the bottom and right, where PyTorch (torchvision) pads (1, 1):
          `padding="symmetric"`.
        - Stochastic depth is the `Dropout` layer `{name}_drop` (present only with a
          shortcut and `drop_rate > 0`), as keras.applications.

    Example:
        >>> import keras
        >>> from cnnblocks.blocks import fused_mbconv_block
        >>> y = fused_mbconv_block(keras.Input((64, 64, 24)), 48, strides=2, name="block2a")
        >>> tuple(y.shape)
        (None, 32, 32, 48)
    """
    data_format, _ = resolve_data_format(data_format)
    filters, expand_ratio, kernel_size, strides, se_ratio = _common_checks(
        filters, expand_ratio, kernel_size, strides, se_ratio, drop_rate, activation,
        bn_momentum)
    check.choice(padding, "padding", PADDINGS)
    c_in = channels(check_input(x, data_format), data_format)
    residual = _residual(shortcut, c_in == filters and strides == (1, 1), c_in, filters,
                         strides)
    unit = dict(bn_epsilon=bn_epsilon, bn_momentum=bn_momentum, use_bias=False,
                kernel_initializer=kernel_initializer, data_format=data_format, name=name)
    y = x
    if expand_ratio != 1:
        y = conv_bn_act(y, expand_ratio * c_in, kernel_size, strides=strides, padding=padding,
                        activation=activation,
                        suffixes=("_expand_conv", "_expand_bn", "_expand_activation"), **unit)
        if se_ratio:
            y = _se(y, c_in, se_ratio, activation, kernel_initializer, data_format, name)
        y = conv_bn_act(y, filters, 1, activation=None,
                        suffixes=("_project_conv", "_project_bn", ""), **unit)
    else:
        if se_ratio:  # keras.applications: the SE of an unexpanded block sees its input
            y = _se(y, c_in, se_ratio, activation, kernel_initializer, data_format, name)
        y = conv_bn_act(y, filters, kernel_size, strides=strides, padding=padding,
                        activation=activation,
                        suffixes=("_project_conv", "_project_bn", "_project_activation"),
                        **unit)
    if residual:
        y = _drop_and_add(y, x, drop_rate, name)
    return y


def _se_cost(tally, c_in, se_ratio):
    """`_se`'s layers (fused activations, a Reshape) on a `cnnblocks.cost.Tally`."""
    tally.squeeze_excite(max(1, int(c_in * se_ratio)), reshape=True)


def _drop_and_add_cost(tally, drop_rate):
    """`_drop_and_add`'s layers on a `cnnblocks.cost.Tally`."""
    if drop_rate > 0:                                           # _drop
        tally.elementwise()
    tally.elementwise()                                         # _add


def mbconv_block_cost(tally, filters, *, expand_ratio=6, kernel_size=3, strides=1,
                      se_ratio=0.25, drop_rate=0.0, version=1, padding="same"):
    """Walks `mbconv_block`'s layers (shortcut "auto") on a `cnnblocks.cost.Tally` whose shape
    is the block's input, without building anything; `kernel_size` and `strides` are ints.
    Returns the output shape. The arguments are assumed checked (a design's are)."""
    start = tally.shape
    c_in = start[-1]
    if expand_ratio != 1:                           # _expand_conv, _expand_bn, _expand_activation
        conv_bn_act_cost(tally, expand_ratio * c_in, 1)
    if version == 1:                                # _dwconv_pad (strided), _dwconv, _bn, _act
        symmetric = ((kernel_size - 1) // 2,) * 2
        _depthwise_cost(tally, kernel_size, strides, padding_for=(
            (lambda shape: (symmetric, symmetric)) if padding == "symmetric" else None))
    else:                                           # _dwconv2 (its _pad if symmetric, strided),
        conv_bn_act_cost(tally, None, kernel_size,  # _bn, _activation
                         strides=strides, padding=padding, depthwise=True)
    if se_ratio:
        _se_cost(tally, c_in, se_ratio)
    conv_bn_act_cost(tally, filters, 1, activation=False)   # _project_conv, _project_bn
    if c_in == filters and strides == 1:
        _drop_and_add_cost(tally, drop_rate)
    return tally.shape


def fused_mbconv_block_cost(tally, filters, *, expand_ratio=4, kernel_size=3, strides=1,
                            se_ratio=None, drop_rate=0.0, padding="same"):
    """Walks `fused_mbconv_block`'s layers (shortcut "auto") on a `cnnblocks.cost.Tally` whose
    shape is the block's input, without building anything; `kernel_size` and `strides` are
    ints. Returns the output shape. The arguments are assumed checked."""
    c_in = tally.shape[-1]
    if expand_ratio != 1:                           # _expand_conv, _expand_bn, _expand_activation
        conv_bn_act_cost(tally, expand_ratio * c_in, kernel_size, strides=strides,
                         padding=padding)
        if se_ratio:
            _se_cost(tally, c_in, se_ratio)
        conv_bn_act_cost(tally, filters, 1, activation=False)   # _project_conv, _project_bn
    else:
        if se_ratio:
            _se_cost(tally, c_in, se_ratio)
        conv_bn_act_cost(tally, filters, kernel_size, strides=strides,  # _project_conv, _bn,
                         padding=padding)                               # _activation
    if c_in == filters and strides == 1:
        _drop_and_add_cost(tally, drop_rate)
    return tally.shape
