"""The small helpers every block shares: data format, layer naming, the conv-BN-activation unit.

The channel axis is resolved once, by the public block (or architecture) that is called, and passed
down; helpers never read Keras' global configuration themselves.
"""

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


def check_options(**options):
    """Checks a block's common options by their names: `bn_epsilon` a finite number > 0, the
    flags (`use_bias`, `batch_norm`, `bn_scale`, `pool`, ...) bools."""
    for arg, value in options.items():
        if arg == "bn_epsilon":
            check.positive_number(value, arg)
        else:
            check.boolean(value, arg)


def check_input(x, data_format, *, min_size=1, why="the block", arg="x"):
    """Validates a block's input tensor; returns its shape.

    Args:
        x: the block's input.
        data_format: the resolved data format.
        min_size: smallest height and width the block can take: an int, or a pair
            (height, width).
        why: what needs `min_size`, for the message.
        arg: the argument's name.

    Raises:
        TypeError / ValueError: `x` is not a rank-4 tensor, or its known spatial size is
            below `min_size`, or its channel count is unknown.
    """
    shape = check.image_tensor(x, arg)
    if channels(shape, data_format) is None:
        raise ValueError(f"`{arg}` must have a known channel count; received shape {shape}.")
    need = tuple(min_size) if isinstance(min_size, (list, tuple)) else (min_size, min_size)
    size = spatial_size(shape, data_format)
    if any(s is not None and s < n for s, n in zip(size, need)):
        raise ValueError(f"`{arg}` has spatial size {size}, too small for {why} (needs at "
                         f"least {need[0]}x{need[1]}); received shape {shape}.")
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


def _check_suffixes(suffixes, *, batch_norm, activation):
    """`suffixes`: three strings without '/', distinct for the layers the unit creates."""
    if not isinstance(suffixes, (list, tuple)) or len(suffixes) != 3 \
            or not all(isinstance(s, str) for s in suffixes):
        raise TypeError("`suffixes` must be None or three strings (conv, bn, activation), "
                        f"received {check.describe(suffixes)}.")
    if any("/" in s for s in suffixes):
        raise ValueError(f"`suffixes` must not contain '/', received {check.describe(suffixes)}.")
    created = (suffixes[:1] if not batch_norm else
               suffixes[:2] if activation is None else suffixes)
    if len(set(created)) != len(created):
        raise ValueError("`suffixes` must differ for the layers the unit creates (conv, then BN "
                         "and activation with batch norm); received "
                         f"{check.describe(suffixes)}.")


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
        padding: `"same"` or `"valid"`. Default `"same"`.
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

    Returns:
        The output tensor: `filters` channels, spatial size divided by `strides`
        (rounded up for `"same"`).

    Parameters:
        `k_h k_w c f` weights (`k_h k_w c + c f` when separable), plus `f` biases with
        `use_bias`, plus BN's `4 f` (`3 f` without scale).

    Example:
        >>> import keras
        >>> from cnnblocks.blocks import conv_bn_act
        >>> y = conv_bn_act(keras.Input((56, 56, 64)), 128, 3, strides=2, name="conv")
        >>> tuple(y.shape)
        (None, 28, 28, 128)
    """
    data_format, axis = resolve_data_format(data_format)
    filters = check.positive_int(filters, "filters")
    kernel_size = check.pair(kernel_size, "kernel_size")
    strides = check.pair(strides, "strides")
    check.choice(padding, "padding", ("same", "valid"))
    check_options(use_bias=use_bias, batch_norm=batch_norm, bn_scale=bn_scale,
                  separable=separable, bn_epsilon=bn_epsilon)
    check.activation(activation)
    if padding == "valid":
        check_input(x, data_format, min_size=kernel_size,
                    why=f"a {kernel_text(kernel_size)} 'valid' convolution")
    else:
        check_input(x, data_format)
    if suffixes is None:
        suffixes = ("_conv", "_bn", f"_{activation}" if isinstance(activation, str) else "_act")
    else:
        _check_suffixes(suffixes, batch_norm=batch_norm, activation=activation)
    conv_name, bn_name, act_name = (layer_name(name, s) for s in suffixes)
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
