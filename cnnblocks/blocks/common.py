"""The small helpers every block shares: data format, layer naming, the conv-BN-activation unit.

The channel axis is resolved once, by the public block (or architecture) that is called, and passed
down; helpers never read Keras' global configuration themselves.
"""

import numbers

import keras
from keras import layers

from cnnblocks import _validation as check
from cnnblocks.identity import block_function

_DATA_FORMATS = ("channels_last", "channels_first")


def resolve_data_format(data_format=None):
    """Returns `(data_format, channel_axis)`.

    Args:
        data_format: `"channels_last"`, `"channels_first"`, or None for
            `keras.config.image_data_format()`.

    Returns:
        A pair such as `("channels_last", -1)`.
    """
    if data_format is None:
        data_format = keras.config.image_data_format()
    check.choice(data_format, "data_format", _DATA_FORMATS)
    return data_format, (-1 if data_format == "channels_last" else 1)


def layer_name(prefix, suffix):
    """`prefix + suffix`, or None (Keras picks a unique name) when the block has no name."""
    return None if prefix is None else prefix + suffix


def spatial_size(shape, data_format):
    """(height, width) of a rank-4 shape; entries may be None when unknown."""
    return tuple(shape[1:3]) if data_format == "channels_last" else tuple(shape[2:4])


def channels(shape, data_format):
    """The channel count of a rank-4 shape."""
    return shape[-1] if data_format == "channels_last" else shape[1]


def check_input(x, data_format, *, min_size=1, why="the block", arg="x"):
    """Validates a block's input tensor; returns its shape.

    Args:
        x: the block's input.
        data_format: the resolved data format.
        min_size: smallest height and width the block can take.
        why: what needs `min_size`, for the message.
        arg: the argument's name.

    Raises:
        TypeError / ValueError: `x` is not a rank-4 tensor, or its known spatial size is
            below `min_size`, or its channel count is unknown.
    """
    shape = check.image_tensor(x, arg)
    if channels(shape, data_format) is None:
        raise ValueError(f"`{arg}` must have a known channel count; received shape {shape}.")
    for size in spatial_size(shape, data_format):
        if size is not None and size < min_size:
            raise ValueError(f"`{arg}` has spatial size {spatial_size(shape, data_format)}, "
                             f"too small for {why} (needs at least {min_size}x{min_size}); "
                             f"received shape {shape}.")
    return shape


def stride_text(strides):
    """`" /2"` for a stride of 2 (or `" /(2, 1)"`), `""` for 1: the diagrams' stride mark."""
    pair = tuple(strides) if isinstance(strides, (list, tuple)) else (strides, strides)
    if pair == (1, 1):
        return ""
    return f" /{pair[0]}" if pair[0] == pair[1] else f" /{pair}"


def kernel_text(kernel_size):
    """`"3x3"`, `"1x7"`: a kernel size as the papers write it."""
    pair = tuple(kernel_size) if isinstance(kernel_size, (list, tuple)) else (kernel_size,) * 2
    return f"{pair[0]}x{pair[1]}"


PADDINGS = ("same", "valid", "symmetric")


def _padding_amounts(padding, kernel_size):
    """`(rows, cols)` of explicit zero padding on each side, or None for "same"/"valid"."""
    if isinstance(padding, str):
        check.choice(padding, "padding", PADDINGS)
        if padding == "symmetric":
            return ((kernel_size[0] - 1) // 2, (kernel_size[1] - 1) // 2)
        return None
    values = padding if isinstance(padding, (list, tuple)) else (padding, padding)
    if len(values) != 2 or any(isinstance(v, bool) or not isinstance(v, numbers.Integral)
                               or v < 0 for v in values):
        raise ValueError("`padding` must be 'same', 'valid', 'symmetric', a non-negative "
                         f"integer or a pair of them; received {padding!r}.")
    return (int(values[0]), int(values[1]))


def resolve_padding(padding, kernel_size, strides):
    """`(keras padding, explicit amounts or None)` for a convolution or a pool.

    `"same"` and `"valid"` are Keras' (on an even input, a stride-2 "same" convolution pads
    only the bottom and right). An int, a pair `(rows, cols)` or `"symmetric"` (`(k - 1) // 2`)
    is zero padding on every side, as PyTorch's `padding=`: where that equals "same" (stride 1,
    `2 p = k - 1`) the convolution is "same" with no extra layer; else explicit padding then a
    "valid" convolution.
    """
    amounts = _padding_amounts(padding, kernel_size)
    if amounts is None:
        return padding, None
    if strides == (1, 1) and all(2 * p == k - 1 for p, k in zip(amounts, kernel_size)):
        return "same", None
    if amounts == (0, 0):
        return "valid", None
    return "valid", amounts


def _pad_suffix(conv_suffix):
    return (conv_suffix[:-len("_conv")] if conv_suffix.endswith("_conv") else conv_suffix) + "_pad"


def _conv_label(a):
    sep = "sep " if a["separable"] else ""
    return f"{sep}{kernel_text(a['kernel_size'])} {a['filters']}{stride_text(a['strides'])}"


@block_function(_conv_label)
def conv_bn_act(
    x,
    filters,
    kernel_size,
    *,
    strides=1,
    padding="same",
    use_bias=True,
    batch_norm=True,
    bn_scale=True,
    bn_epsilon=1e-3,
    activation="relu",
    separable=False,
    data_format=None,
    name=None,
    suffixes=None,
):
    """Convolution, optional batch normalization, optional activation: the unit every block uses.

    Args:
        x: rank-4 input tensor.
        filters: int, output channels.
        kernel_size: int or pair.
        strides: int or pair. Default 1.
        padding: `"same"` or `"valid"` (Keras'), or zero padding on every side as PyTorch's
            `padding=`: an int, a pair `(rows, cols)`, or `"symmetric"` (`(k - 1) // 2`, e.g.
            1 for a 3x3). Explicit padding is a `ZeroPadding2D` layer before a "valid"
            convolution, except where it equals "same" (stride 1, `2 p = k - 1`). On an even
            input a stride-2 "same" convolution pads only the bottom and right (0, 1), where
            PyTorch's `padding=1` pads (1, 1). Default `"same"`.
        use_bias: bool, whether the convolution has a bias. Default True.
        batch_norm: bool, add a `BatchNormalization` after the convolution. Default True.
        bn_scale: bool, whether that BN learns gamma (InceptionV3 uses False). Default True.
        bn_epsilon: float, the BN epsilon. Default 1e-3 (Keras' default).
        activation: str or None. A separate `Activation` layer when batch norm is on, else
            fused into the convolution. Default `"relu"`.
        separable: bool, use `SeparableConv2D` (depthwise then pointwise). Default False.
        data_format: `"channels_last"`, `"channels_first"` or None (Keras' setting).
        name: str or None, the prefix of the layer names.
        suffixes: triple `(conv, bn, act)` appended to `name`; default
            `("_conv", "_bn", "_" + activation)`, e.g. `conv1_conv`, `conv1_bn`, `conv1_relu`.
            An explicit padding layer is named after the convolution: `_conv` becomes `_pad`
            (`conv1_pad`), any other conv suffix gets `_pad` appended.

    Returns:
        The output tensor: `filters` channels, spatial size divided by `strides`
        (rounded up for `"same"`).
    """
    data_format, axis = resolve_data_format(data_format)
    filters = check.positive_int(filters, "filters")
    kernel_size = check.pair(kernel_size, "kernel_size")
    strides = check.pair(strides, "strides")
    padding, amounts = resolve_padding(padding, kernel_size, strides)
    if suffixes is None:
        suffixes = ("_conv", "_bn", f"_{activation}" if isinstance(activation, str) else "_act")
    conv_name, bn_name, act_name = (layer_name(name, s) for s in suffixes)
    if amounts is not None:
        x = layers.ZeroPadding2D(amounts, data_format=data_format,
                                 name=layer_name(name, _pad_suffix(suffixes[0])))(x)
    fused = None if batch_norm else activation
    conv = layers.SeparableConv2D if separable else layers.Conv2D
    x = conv(filters, kernel_size, strides=strides, padding=padding, use_bias=use_bias,
             activation=fused, data_format=data_format, name=conv_name)(x)
    if batch_norm:
        x = layers.BatchNormalization(axis=axis, epsilon=bn_epsilon, scale=bn_scale,
                                      name=bn_name)(x)
        if activation is not None:
            x = layers.Activation(activation, name=act_name)(x)
    return x
