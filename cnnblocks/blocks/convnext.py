"""ConvNeXt's block (Liu et al., "A ConvNet for the 2020s", CVPR 2022,
https://arxiv.org/abs/2201.03545, Figure 4 and section 2): a 7x7 depthwise convolution,
LayerNorm, a pointwise expansion to 4x the channels, GELU, a pointwise projection back, a
learned per-channel scale (LayerScale), stochastic depth, and the identity shortcut.

The two pointwise convolutions are `Dense` layers on the channels-last map (as the reference
implementation's `nn.Linear` and keras.applications), and the depthwise convolution is a
grouped `Conv2D` (groups = channels, with bias), so the kernels have keras.applications'
shapes. With `name="convnext_tiny_stage_0_block_0"` the layers carry keras.applications' names:
`{name}_depthwise_conv`, `{name}_layernorm`, `{name}_pointwise_conv_1`, `{name}_gelu`,
`{name}_pointwise_conv_2`, `{name}_layer_scale`, `{name}_identity` (or
`{name}_stochastic_depth` with a positive drop rate) and `{name}_add` (keras.applications
adds with an unnamed `x + y`).
"""

import numbers

from keras import layers

from cnnblocks import _validation as check
from cnnblocks.blocks.common import check_input, kernel_text, layer_name, resolve_data_format
from cnnblocks.identity import block_function
from cnnblocks.layers import LayerScale, StochasticDepth


def _label(a):
    return f"{kernel_text(a['kernel_size'])} dw {a['filters']}, x{a['expansion']}"


def _check_rate(value, arg):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{arg}` must be a number in [0, 1), received {check.describe(value)}.")
    if not 0 <= value < 1:
        raise ValueError(f"`{arg}` must be a number in [0, 1), received "
                         f"{check.describe(value)}.")
    return float(value)


@block_function(_label)
def convnext_block(x, filters, *, expansion=4, kernel_size=7, drop_rate=0.0,
                   layer_scale_init_value=1e-6, ln_epsilon=1e-6, data_format=None, name=None):
    """ConvNeXt's block: 7x7 depthwise conv, LayerNorm, 1x1 to 4c, GELU, 1x1 to c, LayerScale,
    stochastic depth, identity shortcut (Liu et al. 2022, Figure 4, "ConvNeXt Block").

    Args:
        x: rank-4 channels-last input tensor with `filters` channels.
        filters: int, the block's width `c` (input and output channels; the paper's `d`).
        expansion: int, the inverted-bottleneck ratio: the hidden width is `expansion * c`.
            Default 4.
        kernel_size: int or pair, of the depthwise convolution ("same" padding). Default 7.
        drop_rate: float in [0, 1), the stochastic-depth rate of the residual branch
            (`StochasticDepth`, training only; 0: a linear `Activation` `{name}_identity` in
            its place, as keras.applications). Default 0.
        layer_scale_init_value: float > 0, the initial LayerScale value, or None for no
            LayerScale. Default 1e-6.
        ln_epsilon: float > 0, of the LayerNorm. Default 1e-6.
        data_format: `"channels_last"` or None (Keras' setting, which must be channels-last).
        name: str or None, e.g. `"convnext_tiny_stage_0_block_0"` (layer names in the module
            docstring).

    Returns:
        Tensor of the input's shape.

    Parameters: `k_h k_w c + c` (depthwise with bias) `+ 2c` (LayerNorm)
        `+ (c e c + e c) + (e c c + c)` (the two Dense layers, `e = expansion`) `+ c`
        (LayerScale; none without it): `2 e c^2 + (k_h k_w + e + 5) c`, i.e. `8 c^2 + 58 c` for
        7x7 and e = 4.

    Note:
        - Channels-last only: LayerNorm and the Dense layers act on the last axis (the
          reference implementation permutes to channels-last for them too; keras.applications
          refuses channels-first for ConvNeXt).
        - GELU is the exact (erf) one, as the reference implementation's `nn.GELU()`.

    Example:
        >>> import keras
        >>> from cnnblocks.blocks import convnext_block
        >>> y = convnext_block(keras.Input((56, 56, 96)), 96, name="stage_0_block_0")
        >>> tuple(y.shape)
        (None, 56, 56, 96)
    """
    data_format, _ = resolve_data_format(data_format)
    if data_format != "channels_last":
        raise ValueError("convnext_block supports only `data_format='channels_last'` (its "
                         "LayerNorm and Dense layers act on the last axis); received "
                         f"{data_format!r}.")
    filters = check.positive_int(filters, "filters")
    expansion = check.positive_int(expansion, "expansion")
    kernel_size = check.pair(kernel_size, "kernel_size")
    drop_rate = _check_rate(drop_rate, "drop_rate")
    if layer_scale_init_value is not None:
        layer_scale_init_value = check.positive_number(layer_scale_init_value,
                                                       "layer_scale_init_value")
    ln_epsilon = check.positive_number(ln_epsilon, "ln_epsilon")
    c_in = check_input(x, data_format)[-1]
    if c_in != filters:
        raise ValueError(f"`filters` must equal the input's channels ({c_in}): the block keeps "
                         f"its width; received filters={filters}.")
    y = layers.Conv2D(filters, kernel_size, padding="same", groups=filters,
                      name=layer_name(name, "_depthwise_conv"))(x)
    y = layers.LayerNormalization(epsilon=ln_epsilon, name=layer_name(name, "_layernorm"))(y)
    y = layers.Dense(expansion * filters, name=layer_name(name, "_pointwise_conv_1"))(y)
    y = layers.Activation("gelu", name=layer_name(name, "_gelu"))(y)
    y = layers.Dense(filters, name=layer_name(name, "_pointwise_conv_2"))(y)
    if layer_scale_init_value is not None:
        y = LayerScale(layer_scale_init_value, filters, name=layer_name(name, "_layer_scale"))(y)
    if drop_rate > 0:
        y = StochasticDepth(drop_rate, name=layer_name(name, "_stochastic_depth"))(y)
    else:
        y = layers.Activation("linear", name=layer_name(name, "_identity"))(y)
    return layers.Add(name=layer_name(name, "_add"))([x, y])


def convnext_block_cost(tally, filters, *, expansion=4, kernel_size=7, drop_rate=0.0,
                        layer_scale_init_value=1e-6):
    """`convnext_block`'s costs on a `cnnblocks.cost.Tally` at its current shape (`filters`
    channels), walked in the block's layer order (its arguments, checked by the caller; a
    square `kernel_size`)."""
    x = tally.shape
    tally.conv(filters, kernel_size, groups=filters, bias=True, padding="same")  # _depthwise_conv
    tally.layer_norm()                                                          # _layernorm
    tally.dense_map(expansion * filters)                                        # _pointwise_conv_1
    tally.elementwise()                                                         # _gelu
    tally.dense_map(filters)                                                    # _pointwise_conv_2
    if layer_scale_init_value is not None:                                      # _layer_scale:
        tally.params += filters                                                 # gamma, one per
        tally.trainable += filters                                              # channel
        tally.elementwise()
    tally.elementwise()                             # _stochastic_depth or _identity (drop_rate 0)
    return tally.elementwise(x)                                                 # _add
