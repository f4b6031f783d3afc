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
                         f"integer or a pair of them; received {check.describe(padding)}.")
    return (int(values[0]), int(values[1]))


def resolve_padding(padding, kernel_size, strides):
    """`(keras padding, explicit amounts or None)` for a convolution or a pool.

    `"same"` and `"valid"` are Keras' (on an even input, a stride-2 "same" convolution pads
    only the bottom and right). An int or a pair `(rows, cols)` is zero padding on every side,
    as PyTorch's `padding=`, always as its own `ZeroPadding2D` layer before a "valid"
    convolution (keras.applications' ResNet v2 and DenseNet have such layers even where "same"
    would pad alike). `"symmetric"` is `(k - 1) // 2` on every side with no extra layer where
    that equals "same" (stride 1, odd kernel), else explicit padding.
    """
    amounts = _padding_amounts(padding, kernel_size)
    if amounts is None:
        return padding, None
    if padding == "symmetric" and strides == (1, 1) and all(
            2 * p == k - 1 for p, k in zip(amounts, kernel_size)):
        return "same", None
    if amounts == (0, 0):
        return "valid", None
    return "valid", amounts


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
    if a.get("depthwise"):
        multiplier = a.get("depth_multiplier", 1)
        times = f" x{multiplier}" if multiplier != 1 else ""
        return f"dw {kernel_text(a['kernel_size'])}{times}{stride_text(a['strides'])}"
    sep = "sep " if a["separable"] else ""
    groups = f" g{a['groups']}" if a.get("groups", 1) != 1 else ""
    return (f"{sep}{kernel_text(a['kernel_size'])} {a['filters']}{groups}"
            f"{stride_text(a['strides'])}")


def pad_suffix(conv_suffix):
    """The name suffix of the explicit padding before a convolution: `_2_conv` -> `_2_pad`,
    `_conv` -> `_pad` (keras.applications' grammar: `conv1_pad`, `conv2_block1_2_pad`), any
    other suffix `s` -> `s + "_pad"`."""
    if conv_suffix.endswith("conv"):
        return conv_suffix[:-len("conv")] + "pad"
    return conv_suffix + "_pad"


#: Activations `relu_layer=True` realizes as a `keras.layers.ReLU` layer: name -> max_value.
RELU_LAYERS = {"relu": None, "relu6": 6.0}


def activation_layer(activation, *, relu_layer=False, name=None):
    """The layer of an activation: `Activation(activation)`, or with `relu_layer` a
    `keras.layers.ReLU` (max_value 6 for `"relu6"`), as keras.applications' MobileNets use.

    Args:
        activation: str, a Keras activation name.
        relu_layer: bool, realize `"relu"` / `"relu6"` as a `ReLU` layer (same numbers).
        name: the layer's name.
    """
    if relu_layer:
        check.choice(activation, "activation", tuple(RELU_LAYERS))
        return layers.ReLU(RELU_LAYERS[activation], name=name)
    return layers.Activation(activation, name=name)


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
    bn_momentum=0.99,
    activation="relu",
    relu_layer=False,
    separable=False,
    depthwise=False,
    depth_multiplier=1,
    groups=1,
    preactivation=False,
    kernel_initializer="glorot_uniform",
    data_format=None,
    name=None,
    suffixes=None,
):
    """Convolution, optional batch normalization, optional activation: the unit every block uses.

    The convolution is plain (`Conv2D`, grouped with `groups`), `separable` or `depthwise`;
    `preactivation` puts BN and the activation before it.

    Args:
        x: rank-4 input tensor.
        filters: int, output channels; None for a depthwise convolution (whose output has
            `channels * depth_multiplier` channels; an int must equal that).
        kernel_size: int or pair.
        strides: int or pair. Default 1.
        padding: `"same"` or `"valid"` (Keras'), or zero padding on every side as PyTorch's
            `padding=`: an int or a pair `(rows, cols)` (a `ZeroPadding2D` layer named with
            `pad_suffix`, e.g. `conv2_block1_2_pad`, before a "valid" convolution), or
            `"symmetric"` (`(k - 1) // 2`, e.g. 1 for a 3x3, with no extra layer where it equals
            "same": stride 1). On an even input a stride-2 "same" convolution pads only the
            bottom and right (0, 1), where PyTorch's `padding=1` pads (1, 1). Default
            `"same"`.
        use_bias: bool, whether the convolution has a bias. Default True.
        batch_norm: bool, add a `BatchNormalization` after the convolution. Default True.
        bn_scale: bool, whether that BN learns gamma (InceptionV3 uses False). Default True.
        bn_epsilon: float, the BN epsilon. Default 1e-3 (Keras' default).
        bn_momentum: float, the BN moving-average momentum (training only). Default 0.99
            (Keras' default; keras.applications' MobileNetV2/V3 use 0.999).
        activation: str or None. A separate `Activation` layer when batch norm is on, else
            fused into the convolution. Default `"relu"`.
        relu_layer: bool, make a `"relu"` / `"relu6"` activation a `keras.layers.ReLU` layer
            (max_value 6 for relu6) instead of an `Activation` layer, as keras.applications'
            MobileNets do (same numbers, their layer type). Default False.
        separable: bool, use `SeparableConv2D` (depthwise then pointwise). Default False.
        depthwise: bool, use `DepthwiseConv2D` (one `kernel_size` filter per input channel,
            `depth_multiplier` of them). Default False.
        depth_multiplier: int, output channels per input channel of a depthwise convolution.
            Default 1.
        groups: int, grouped convolution (`Conv2D(groups=...)`): the input and output
            channels are split into `groups` groups convolved separately (ResNeXt's
            cardinality). Must divide `filters` and the input channels; only for a plain
            convolution. Default 1.
        preactivation: bool. False: convolution, BN, activation. True: BN, activation, then
            the convolution (the pre-activation order of ResNet v2 and DenseNet); the
            activation is then never fused into the convolution. Default False.
        kernel_initializer: initializer of the kernel (the depthwise kernel for `depthwise`).
            Default `"glorot_uniform"` (Keras' default).
        data_format: `"channels_last"`, `"channels_first"` or None (Keras' setting).
        name: str or None, the prefix of the layer names.
        suffixes: triple `(conv, bn, act)` appended to `name`; default
            `("_conv", "_bn", "_" + activation)`, e.g. `conv1_conv`, `conv1_bn`, `conv1_relu`.
            An explicit padding layer is named after the convolution: `_conv` becomes `_pad`
            (`conv1_pad`), any other conv suffix gets `_pad` appended.

    Returns:
        The output tensor: `filters` channels (`channels * depth_multiplier` for a depthwise
        convolution), spatial size divided by `strides` (rounded up for `"same"`;
        `(n + 2 p - k) // s + 1` for an int padding `p`).

    Parameters:
        `k_h k_w c f / groups` (+ `f` bias) for a convolution, `k_h k_w c m` (+ `c m` bias)
        for a depthwise one, `k_h k_w c + c f` (+ `f`) for a separable one; plus BN's `4 f`
        (`3 f` with `bn_scale=False`; `4 c` before the convolution with `preactivation`).

    Example:
        >>> import keras
        >>> from cnnblocks.blocks import conv_bn_act
        >>> y = conv_bn_act(keras.Input((56, 56, 64)), 128, 3, strides=2, name="conv")
        >>> tuple(y.shape)
        (None, 28, 28, 128)
    """
    data_format, axis = resolve_data_format(data_format)
    check_options(use_bias=use_bias, batch_norm=batch_norm, bn_scale=bn_scale,
                  separable=separable, depthwise=depthwise, preactivation=preactivation,
                  relu_layer=relu_layer, bn_epsilon=bn_epsilon)
    check.fraction(bn_momentum, "bn_momentum")
    check.activation(activation)
    check.initializer(kernel_initializer)
    shape = check_input(x, data_format)
    depth_multiplier = check.positive_int(depth_multiplier, "depth_multiplier")
    groups = check.positive_int(groups, "groups")
    if depthwise:
        if separable:
            raise ValueError("`depthwise=True` and `separable=True` exclude each other; "
                             "received both.")
        expected = channels(shape, data_format) * depth_multiplier
        if filters is not None and check.positive_int(filters, "filters") != expected:
            raise ValueError(f"`filters` of a depthwise convolution must be None or the input "
                             f"channels x depth_multiplier ({expected}); received "
                             f"{check.describe(filters)}.")
        filters = expected
    else:
        filters = check.positive_int(filters, "filters")
    if groups > 1 and (separable or depthwise):
        raise ValueError(f"`groups` must be 1 for a separable or depthwise convolution; "
                         f"received groups={groups}.")
    if filters % groups:
        raise ValueError(f"`groups` must divide `filters`; received groups={groups}, "
                         f"filters={filters}.")
    kernel_size = check.pair(kernel_size, "kernel_size")
    strides = check.pair(strides, "strides")
    padding, amounts = resolve_padding(padding, kernel_size, strides)
    if padding == "valid":  # explicit padding counts towards the kernel's extent
        pads = amounts or (0, 0)
        check_input(x, data_format,
                    min_size=tuple(max(1, k - 2 * p) for k, p in zip(kernel_size, pads)),
                    why=f"a {kernel_text(kernel_size)} 'valid' convolution"
                        + (f" after padding {pads}" if amounts else ""))
    if suffixes is not None:
        _check_suffixes(suffixes, batch_norm=batch_norm or preactivation,
                        activation=activation)
    if suffixes is None:
        suffixes = ("_conv", "_bn", f"_{activation}" if isinstance(activation, str) else "_act")
    else:
        _check_suffixes(suffixes, batch_norm=batch_norm, activation=activation)
    conv_name, bn_name, act_name = (layer_name(name, s) for s in suffixes)
    pad_name = layer_name(name, pad_suffix(suffixes[0]))
    fused = None if batch_norm or preactivation else activation

    def convolve(x):
        pad = padding
        if amounts is not None:
            x = layers.ZeroPadding2D(amounts, data_format=data_format, name=pad_name)(x)
        if depthwise:
            return layers.DepthwiseConv2D(kernel_size, strides=strides, padding=pad,
                                          depth_multiplier=depth_multiplier, use_bias=use_bias,
                                          activation=fused,
                                          depthwise_initializer=kernel_initializer,
                                          data_format=data_format, name=conv_name)(x)
        if separable:
            return layers.SeparableConv2D(filters, kernel_size, strides=strides, padding=pad,
                                          use_bias=use_bias, activation=fused,
                                          data_format=data_format, name=conv_name)(x)
        return layers.Conv2D(filters, kernel_size, strides=strides, padding=pad,
                             groups=groups, use_bias=use_bias, activation=fused,
                             kernel_initializer=kernel_initializer, data_format=data_format,
                             name=conv_name)(x)

    def normalize(x):
        if batch_norm:
            x = layers.BatchNormalization(axis=axis, momentum=bn_momentum, epsilon=bn_epsilon,
                                          scale=bn_scale, name=bn_name)(x)
        if activation is not None and (batch_norm or preactivation):
            x = activation_layer(activation, relu_layer=relu_layer, name=act_name)(x)
        return x

    return convolve(normalize(x)) if preactivation else normalize(convolve(x))


def conv_bn_act_cost(tally, filters, kernel_size=1, *, strides=1, padding="same",
                     use_bias=False, batch_norm=True, activation=True, depthwise=False,
                     groups=1):
    """Walks `conv_bn_act`'s layers (a plain or `depthwise` convolution, not preactivated) on
    a `cnnblocks.cost.Tally` whose shape is the input, without building anything: the explicit
    `_pad` layer `padding` asks for (`resolve_padding`), the convolution, BN, and the
    activation layer when `activation` (fused into the convolution, no layer, without BN);
    `kernel_size` and `strides` are ints. Returns the output shape."""
    keras_padding, amounts = resolve_padding(padding, (kernel_size,) * 2, (strides,) * 2)
    if amounts is not None:                                     # _pad, then "valid"
        tally.pad(tuple((a, a) for a in amounts))
    pad = "same" if keras_padding == "same" else 0
    if depthwise:                                               # _conv
        tally.depthwise(kernel_size, strides, bias=use_bias, padding=pad)
    else:
        tally.conv(filters, kernel_size, strides, groups=groups, bias=use_bias, padding=pad)
    if batch_norm:                                              # _bn, _act
        tally.bn()
        if activation:
            tally.elementwise()
    return tally.shape


def make_divisible(value, divisor=8, min_value=None):
    """`value` rounded to the nearest multiple of `divisor` (at least `min_value`, default
    `divisor`), rounded up one step more if that lost over 10%: the width rounding of
    MobileNetV2/V3 and EfficientNet (TF-Slim's `_make_divisible`, their `round_filters`).

    Example:
        >>> make_divisible(32 * 0.35), make_divisible(20), make_divisible(16 * 0.25)
        (16, 24, 8)
    """
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def downsample_padding(shape, kernel_size, data_format, strides=(2, 2)):
    """The zero padding `((top, bottom), (left, right))` keras.applications puts before a
    stride-2 "valid" convolution (MobileNetV2/V3, EfficientNet): `k // 2` on each side, one less
    on the top/left where the size is even or unknown. For a known size this is exactly what
    "same" padding does at stride 2; for an unknown one it assumes an even size. Along a
    dimension of stride 1, or of a stride >= 3 and known size, it is "same" padding of that
    stride (total `max((ceil(n / s) - 1) s + k - n, 0)`, the smaller half first; `k - 1` at
    stride 1); an unknown size at stride >= 3 gets the stride-2 padding.
    """
    pads = []
    for size, k, s in zip(spatial_size(shape, data_format), kernel_size, strides):
        if s == 2 or (size is None and s != 1):
            adjust = 1 if size is None else 1 - size % 2
            pads.append((max(0, k // 2 - adjust), k // 2))
        else:
            total = k - 1 if s == 1 else max((-(-size // s) - 1) * s + k - size, 0)
            pads.append((total // 2, total - total // 2))
    return tuple(pads)
