"""EfficientNet's mobile inverted bottleneck, MBConv (Tan & Le, "EfficientNet: Rethinking Model
Scaling for Convolutional Neural Networks", ICML 2019, https://arxiv.org/abs/1905.11946,
Table 1; the block of MnasNet, Tan et al. 2019): 1x1 expansion - BN - swish, k x k depthwise -
BN - swish, squeeze-and-excite, linear 1x1 projection - BN, and an identity shortcut with
stochastic depth ("drop connect") when the shapes match.

With `name="block2a"` the layers carry keras.applications' EfficientNet names:
`block2a_expand_conv`, `block2a_expand_bn`, `block2a_expand_activation`, `block2a_dwconv_pad`,
`block2a_dwconv`, `block2a_bn`, `block2a_activation`, `block2a_se_squeeze`, `block2a_se_reshape`,
`block2a_se_reduce`, `block2a_se_expand`, `block2a_se_excite`, `block2a_project_conv`,
`block2a_project_bn`, `block2a_drop`, `block2a_add`.
"""

import numbers

from keras import layers

from cnnblocks import _validation as check
from cnnblocks.blocks.common import (channels, check_input, conv_bn_act, kernel_text,
                                     layer_name, resolve_data_format, stride_text)
from cnnblocks.blocks.mobilenet import _depthwise, _ratio_or_none, _residual, squeeze_excite
from cnnblocks.identity import block_function

#: keras.applications' EfficientNet convolution initializer (the TF reference's
#: `conv_kernel_initializer`): He-style truncated normal over the fan-out.
CONV_KERNEL_INITIALIZER = {"class_name": "VarianceScaling",
                           "config": {"scale": 2.0, "mode": "fan_out",
                                      "distribution": "truncated_normal"}}


def _label(a):
    se = ", SE" if a["se_ratio"] else ""
    return (f"MBConv{a['expand_ratio']} {kernel_text(a['kernel_size'])}"
            f"{stride_text(a['strides'])} → {a['filters']}{se}")


@block_function(_label)
def mbconv_block(x, filters, *, expand_ratio=6, kernel_size=3, strides=1, se_ratio=0.25,
                 drop_rate=0.0, activation="swish", shortcut="auto", bn_epsilon=1e-3,
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
    c_in = channels(check_input(x, data_format), data_format)
    residual = _residual(shortcut, c_in == filters and strides == (1, 1), c_in, filters,
                         strides)
    unit = dict(bn_epsilon=bn_epsilon, bn_momentum=0.99, kernel_initializer=kernel_initializer,
                data_format=data_format, name=name)
    y = x
    if expand_ratio != 1:
        y = conv_bn_act(y, expand_ratio * c_in, 1, use_bias=False, activation=activation,
                        suffixes=("_expand_conv", "_expand_bn", "_expand_activation"), **unit)
    y = _depthwise(y, kernel_size, strides, suffixes=("_dwconv", "_bn", "_activation"),
                   pad_name=layer_name(name, "_dwconv_pad"), activation=activation,
                   relu_layer=False, **unit)
    if se_ratio:
        y = squeeze_excite(y, max(1, int(c_in * se_ratio)), activation=activation,
                           gate="sigmoid", reshape=True, fused_activations=True,
                           kernel_initializer=kernel_initializer, data_format=data_format,
                           name=layer_name(name, "_se"))
    y = conv_bn_act(y, filters, 1, use_bias=False, activation=None,
                    suffixes=("_project_conv", "_project_bn", ""), **unit)
    if residual:
        if drop_rate > 0:
            y = layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1),
                               name=layer_name(name, "_drop"))(y)
        y = layers.Add(name=layer_name(name, "_add"))([y, x])
    return y
