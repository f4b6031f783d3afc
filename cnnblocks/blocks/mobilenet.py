"""The MobileNet blocks: depthwise separable convolutions (v1), inverted residuals with linear
bottlenecks (v2), and the MobileNetV3 bottleneck with squeeze-and-excitation and hard-swish.

- `depthwise_separable_block`: Howard et al., "MobileNets: Efficient Convolutional Neural
  Networks for Mobile Vision Applications", 2017, https://arxiv.org/abs/1704.04861 (Figure 3):
  3x3 depthwise - BN - ReLU6, 1x1 pointwise - BN - ReLU6.
- `inverted_residual_block`: Sandler et al., "MobileNetV2: Inverted Residuals and Linear
  Bottlenecks", CVPR 2018, https://arxiv.org/abs/1801.04381 (Table 1): 1x1 expansion - BN -
  ReLU6, 3x3 depthwise - BN - ReLU6, linear 1x1 projection - BN, identity shortcut when the
  shapes match.
- `mobilenet_v3_block`: Howard et al., "Searching for MobileNetV3", ICCV 2019,
  https://arxiv.org/abs/1905.02244 (Figure 4, Tables 1-2): the same bottleneck with a k x k
  depthwise convolution (k = 3 or 5), ReLU or hard-swish, and an optional squeeze-and-excite
  with a hard-sigmoid gate.
- `squeeze_excite`: Hu et al., "Squeeze-and-Excitation Networks", CVPR 2018,
  https://arxiv.org/abs/1709.01507 (Figure 1): global average pooling, a reducing and an
  expanding 1x1 convolution, a sigmoid (or hard-sigmoid) gate scaling the channels.

Layer names follow keras.applications' grammars, so its weight files and `get_layer(...)` calls
keep working: with `name="block_1"` an inverted residual is `block_1_expand`, `block_1_expand_BN`,
`block_1_expand_relu`, `block_1_pad`, `block_1_depthwise`, ..., `block_1_project_BN`,
`block_1_add` (MobileNetV2); with `name="expanded_conv_1"` a MobileNetV3 block is
`expanded_conv_1_expand`, `expanded_conv_1_expand_bn`, `expanded_conv_1_depthwise_pad`, ...,
`expanded_conv_1_squeeze_excite_mul`, `expanded_conv_1_project_bn`, `expanded_conv_1_add`.
Layers keras.applications leaves unnamed (MobileNetV3's activations and hard-sigmoid) get
names in the same grammar (`expanded_conv_1_expand_hard_swish`).

Channel widths are exact arguments: the width multipliers and the rounding to multiples of 8
of the MobileNetV2/V3 architectures are applied by the architectures (`make_divisible`), so a
block is a row of the papers' tables. The one exception is `depthwise_separable_block`, which
takes MobileNet v1's width multiplier `alpha`, as the paper defines the multiplier per layer.
"""

import numbers

from keras import layers

from cnnblocks import _validation as check
from cnnblocks.blocks.common import (RELU_LAYERS, activation_layer, channels, check_input,
                                     conv_bn_act, conv_bn_act_cost, downsample_padding,
                                     kernel_text, layer_name, make_divisible,
                                     resolve_data_format, stride_text)
from cnnblocks.identity import block_function

#: Shortcut choices of the inverted residual blocks: identity when the shapes match, forced, or
#: none (the papers never project).
RESIDUALS = ("auto", "identity", "none")
#: Gates of `squeeze_excite`.
GATES = ("sigmoid", "hard_sigmoid")
#: Nonlinearities of the MobileNetV3 bottleneck: the paper's RE and HS.
V3_ACTIVATIONS = ("relu", "hard_swish")
#: Nonlinearities of `inverted_residual_block`: MobileNetV2's ReLU6, MnasNet's ReLU.
IR_ACTIVATIONS = ("relu6", "relu")
#: keras.applications' BN momentum in MobileNetV2/V3 (training only).
MOBILENET_V2_BN_MOMENTUM = 0.999


def _ratio_or_none(value, arg):
    """None or a number in (0, 1]."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{arg}` must be None or a number in (0, 1], received "
                        f"{check.describe(value)}.")
    if not 0 < value <= 1:
        raise ValueError(f"`{arg}` must be None or a number in (0, 1], received "
                         f"{check.describe(value)}.")
    return float(value)


def _depthwise(x, kernel_size, strides, *, data_format, name, suffixes, pad_name, activation,
               bn_epsilon, bn_momentum, relu_layer, kernel_initializer="glorot_uniform",
               depth_multiplier=1, padding_for=None):
    """Depthwise k x k - BN - activation (layers `name + suffixes[i]`), with keras.applications'
    explicit zero padding (`pad_name`) before a stride-2 "valid" convolution;
    `padding_for(shape)` gives that padding (default `downsample_padding`)."""
    if strides != (1, 1):
        pads = (padding_for(tuple(x.shape)) if padding_for is not None else
                downsample_padding(tuple(x.shape), kernel_size, data_format, strides))
        x = layers.ZeroPadding2D(pads, data_format=data_format, name=pad_name)(x)
    return conv_bn_act(x, None, kernel_size, strides=strides,
                       padding="same" if strides == (1, 1) else "valid", use_bias=False,
                       bn_epsilon=bn_epsilon, bn_momentum=bn_momentum, activation=activation,
                       relu_layer=relu_layer, depthwise=True, depth_multiplier=depth_multiplier,
                       kernel_initializer=kernel_initializer, data_format=data_format,
                       name=name, suffixes=suffixes)


def _depthwise_cost(tally, kernel_size, strides, *, padding_for=None):
    """`_depthwise`'s layers on a `cnnblocks.cost.Tally` (ints): the explicit padding of a
    strided convolution (`padding_for(shape)`, default `downsample_padding`'s) and a "valid"
    depthwise, else a "same" one; BN and the activation."""
    if strides != 1:                                            # pad_name, then "valid"
        if padding_for is None:
            tally.downsample_pad(kernel_size)
        else:
            tally.pad(padding_for(tally.shape))
        tally.depthwise(kernel_size, strides)
    else:
        tally.depthwise(kernel_size, 1, padding="same")
    tally.bn()                                                  # BN, activation
    return tally.elementwise()


def _residual(shortcut, fits, c_in, c_out, strides):
    """Whether to add the identity shortcut (`"auto"`: when the shapes match)."""
    check.choice(shortcut, "shortcut", RESIDUALS)
    if shortcut == "identity" and not fits:
        raise ValueError(
            f"`shortcut='identity'` needs the block to keep the input's shape, but it maps "
            f"{c_in} channels to {c_out} with strides {strides}; use shortcut='auto' or 'none'.")
    return shortcut == "identity" or (shortcut == "auto" and fits)


# ------------------------------------------------------------------------ MobileNet v1 ------
#: Default layer names of `depthwise_separable_block`, as suffixes of its `name`.
DS_NAMES = {"pad": "_pad", "dw": "_dw", "pw": "_pw"}


def _ds_label(a):
    out = int(a["filters"] * a["alpha"])
    times = f" x{a['depth_multiplier']}" if a["depth_multiplier"] != 1 else ""
    return (f"dw {kernel_text(a['kernel_size'])}{times}{stride_text(a['strides'])} → "
            f"1x1 {out}")


@block_function(_ds_label)
def depthwise_separable_block(x, filters, *, strides=1, alpha=1.0, depth_multiplier=1,
                              kernel_size=3, activation="relu6", bn_epsilon=1e-3,
                              data_format=None, name=None, layer_names=None):
    """MobileNet v1's depthwise separable convolution: depthwise 3x3 - BN - ReLU6, then
    pointwise 1x1 - BN - ReLU6 (Howard et al. 2017, Figure 3 right).

    Args:
        x: rank-4 input tensor with `c` channels (already scaled by the width multiplier).
        filters: int, the pointwise convolution's width N at width multiplier 1 (the numbers
            of the paper's Table 1: 64, 128, ..., 1024).
        strides: int or pair, stride of the depthwise convolution. Default 1.
        alpha: float > 0, the paper's width multiplier: the pointwise convolution has
            `int(filters * alpha)` filters (keras.applications' rounding). Default 1.0.
        depth_multiplier: int, depthwise filters per input channel (the depthwise
            convolution outputs `c * depth_multiplier` channels). Default 1.
        kernel_size: int or pair, of the depthwise convolution. Default 3.
        activation: `"relu6"` (the released model and keras.applications) or `"relu"` (the
            paper's text); both as `keras.layers.ReLU` layers. Default `"relu6"`.
        bn_epsilon: float. Default 1e-3.
        data_format: `"channels_last"`, `"channels_first"` or None (Keras' setting).
        name: str or None, the block's name; its layers are `{name}_pad` (stride 2 only),
            `{name}_dw`, `{name}_dw_bn`, `{name}_dw_relu`, `{name}_pw`, `{name}_pw_bn`,
            `{name}_pw_relu`.
        layer_names: None, or a dict giving other names to the parts `"pad"`, `"dw"`,
            `"pw"` (BN and ReLU append `_bn` / `_relu` to the last two). keras.applications'
            MobileNet names block 1 with `{"pad": "conv_pad_1", "dw": "conv_dw_1",
            "pw": "conv_pw_1"}`.

    Returns:
        Tensor with `int(filters * alpha)` channels, spatial size divided by `strides`
        (rounded up).

    Parameters (no biases; Keras counts 4 BN numbers per channel, 2 of them trainable):
        with `m = depth_multiplier` and `f = int(filters * alpha)`:
        `k_h k_w c m + 4 c m + c m f + 4 f`.

    Note:
        - Activations are ReLU6, as in the released model and keras.applications; the
          paper's text says ReLU (`activation="relu"` gives it).
        - A stride-2 block pads the input by one row and column at the bottom and right
          (`ZeroPadding2D(((0, 1), (0, 1)))` for 3x3; `k // 2 - 1` before, `k // 2` after)
          and then convolves "valid", as keras.applications: equal to "same" padding on even
          sizes; on odd sizes the output is one smaller than "same" would give (7 -> 3).
        - keras.applications' docstring calls `depth_multiplier` the "resolution multiplier";
          it is the depthwise channel multiplier (the paper's resolution multiplier rho is the
          input size).

    Example:
        >>> import keras
        >>> from cnnblocks.blocks import depthwise_separable_block
        >>> y = depthwise_separable_block(keras.Input((112, 112, 64)), 128, strides=2,
        ...                               name="ds2")
        >>> tuple(y.shape)
        (None, 56, 56, 128)
    """
    data_format, _ = resolve_data_format(data_format)
    filters = check.positive_int(filters, "filters")
    alpha = check.positive_number(alpha, "alpha")
    depth_multiplier = check.positive_int(depth_multiplier, "depth_multiplier")
    strides = check.pair(strides, "strides")
    kernel_size = check.pair(kernel_size, "kernel_size")
    check.choice(activation, "activation", tuple(RELU_LAYERS))
    if layer_names is not None and (not isinstance(layer_names, dict)
                                    or set(layer_names) - set(DS_NAMES)):
        raise ValueError(f"`layer_names` must be None or a dict with keys among "
                         f"{sorted(DS_NAMES)}; received {check.describe(layer_names)}.")
    bad = [k for k, v in (layer_names or {}).items()
           if not (isinstance(v, str) and v and "/" not in v)]
    if bad:
        raise ValueError("`layer_names` values must be non-empty strings without '/'; "
                         f"received layer_names[{bad[0]!r}] = "
                         f"{check.describe(layer_names[bad[0]])}.")
    out = int(filters * alpha)
    if out < 1:
        raise ValueError(f"`alpha` leaves no filters: int({filters} * {alpha}) = {out}; "
                         f"received alpha={alpha!r}.")
    # Strided: k // 2 - 1 + k // 2 rows of padding must reach the kernel's extent.
    need = (1, 1) if strides == (1, 1) else tuple(
        max(1, k - max(0, k // 2 - 1) - k // 2) for k in kernel_size)
    check_input(x, data_format, min_size=need,
                why=f"a {kernel_text(kernel_size)} depthwise convolution with its padding")
    names = {part: (layer_names or {}).get(part, layer_name(name, suffix))
             for part, suffix in DS_NAMES.items()}
    y = _depthwise(x, kernel_size, strides, data_format=data_format, name=names["dw"],
                   suffixes=("", "_bn", "_relu"), pad_name=names["pad"], activation=activation,
                   bn_epsilon=bn_epsilon, bn_momentum=0.99, relu_layer=True,
                   depth_multiplier=depth_multiplier,
                   padding_for=lambda shape: tuple((max(0, k // 2 - 1), k // 2)
                                                   for k in kernel_size))
    return conv_bn_act(y, out, 1, use_bias=False, bn_epsilon=bn_epsilon, activation=activation,
                       relu_layer=True, data_format=data_format, name=names["pw"],
                       suffixes=("", "_bn", "_relu"))


def depthwise_separable_block_cost(tally, filters, *, strides=1, alpha=1.0, kernel_size=3):
    """Walks `depthwise_separable_block`'s layers (depth multiplier 1) on a
    `cnnblocks.cost.Tally` whose shape is the block's input, without building anything;
    `strides` and `kernel_size` are ints. Returns the output shape."""
    pads = (max(0, kernel_size // 2 - 1), kernel_size // 2)     # _pad (strided), _dw, _dw_bn,
    _depthwise_cost(tally, kernel_size, strides,                # _dw_relu
                    padding_for=lambda shape: (pads, pads))
    return conv_bn_act_cost(tally, int(filters * alpha), 1)     # _pw, _pw_bn, _pw_relu


# ------------------------------------------------------------------------ MobileNetV2 -------
def _ir_label(a):
    relu = " (ReLU)" if a.get("activation") == "relu" else ""
    return (f"t={a['expansion']} → dw {kernel_text(a['kernel_size'])}{stride_text(a['strides'])}"
            f" → {a['filters']}{relu}")


@block_function(_ir_label)
def inverted_residual_block(x, filters, *, expansion=6, strides=1, kernel_size=3,
                            shortcut="auto", bn_epsilon=1e-3,
                            bn_momentum=MOBILENET_V2_BN_MOMENTUM, padding="same",
                            activation="relu6", data_format=None, name=None):
    """MobileNetV2's bottleneck: 1x1 expansion - BN - ReLU6, 3x3 depthwise - BN - ReLU6,
    linear 1x1 projection - BN, and an identity shortcut when the shapes match (Sandler et al.
    2018, Table 1 and Figure 4).

    MnasNet's inverted residual (Tan et al., "MnasNet: Platform-Aware Neural Architecture
    Search for Mobile", CVPR 2019, https://arxiv.org/abs/1807.11626, Figure 7, "MBConv3/6"
    without SE: torchvision's `mnasnet`) is the same block with a 3x3 or 5x5 depthwise
    kernel and ReLU: `kernel_size=5, activation="relu", padding="symmetric"` with PyTorch's
    BN epsilon (the MNASNet family).

    Args:
        x: rank-4 input tensor with `c` channels.
        filters: int, the output channels (the paper's `c` of Table 2, after any width
            multiplier and rounding: the block uses it as given).
        expansion: int, the expansion factor `t`: the expansion convolution has `t * c`
            filters; with `t = 1` there is no expansion convolution (the first bottleneck of
            MobileNetV2). Default 6.
        strides: int or pair, stride of the depthwise convolution (the paper's `s`). Default 1.
        kernel_size: int or pair, of the depthwise convolution. Default 3.
        shortcut: `"auto"` (identity when stride 1 and `c == filters`, else none),
            `"identity"` (a ValueError when the shapes differ) or `"none"`. Default `"auto"`.
        bn_epsilon: float. Default 1e-3.
        bn_momentum: float (training only). Default 0.999 (keras.applications).
        padding: the zero padding of a strided depthwise convolution (`{name}_pad`, then
            "valid"): `"same"` (keras.applications': what "same" pads, `k // 2` at the bottom
            and right and one less at the top and left on an even size) or `"symmetric"`
            (`k // 2` on every side, PyTorch's `padding=k // 2`, torchvision's MobileNetV2).
            Unstrided depthwise convolutions pad "same", which is symmetric there. Default
            `"same"`.
        activation: the nonlinearity after the expansion and the depthwise convolution, a
            `keras.layers.ReLU` layer: `"relu6"` (MobileNetV2, the default) or `"relu"`
            (MnasNet). The projection stays linear.
        data_format: `"channels_last"`, `"channels_first"` or None (Keras' setting).
        name: str or None; with `"block_1"` the layers are keras.applications' `block_1_expand`,
            `block_1_expand_BN`, `block_1_expand_relu`, `block_1_pad` (stride 2),
            `block_1_depthwise`, `block_1_depthwise_BN`, `block_1_depthwise_relu`,
            `block_1_project`, `block_1_project_BN`, `block_1_add` (with the shortcut).

    Returns:
        Tensor with `filters` channels, spatial size divided by `strides` (rounded up).

    Parameters (no biases; BN 4 per channel): with `e = t c` (`e = c` and no expansion terms
    for `t = 1`): `c e + 4 e + k_h k_w e + 4 e + e filters + 4 filters`.

    Note:
        - A stride-2 block zero-pads explicitly and convolves "valid" (`{name}_pad`), as
          keras.applications: the same as "same" padding wherever the input size is known;
          for an unknown (dynamic) size it assumes an even one. `padding="symmetric"` pads
          as PyTorch instead (the two differ on even sizes).
        - The first bottleneck of the released model (`t = 1`) has no expansion
          convolution, unlike the paper's Table 1 which always expands.

    Example:
        >>> import keras
        >>> from cnnblocks.blocks import inverted_residual_block
        >>> y = inverted_residual_block(keras.Input((56, 56, 24)), 24, name="block_2")
        >>> tuple(y.shape)
        (None, 56, 56, 24)
    """
    data_format, _ = resolve_data_format(data_format)
    filters = check.positive_int(filters, "filters")
    expansion = check.positive_int(expansion, "expansion")
    strides = check.pair(strides, "strides")
    kernel_size = check.pair(kernel_size, "kernel_size")
    check.choice(padding, "padding", ("same", "symmetric"))
    check.choice(activation, "activation", IR_ACTIVATIONS)
    c_in = channels(check_input(x, data_format), data_format)
    residual = _residual(shortcut, c_in == filters and strides == (1, 1), c_in, filters,
                         strides)
    unit = dict(bn_epsilon=bn_epsilon, bn_momentum=bn_momentum, data_format=data_format,
                name=name)
    symmetric = None if padding == "same" else (
        lambda shape: tuple((k // 2, k // 2) for k in kernel_size))
    y = x
    if expansion != 1:
        y = conv_bn_act(y, expansion * c_in, 1, use_bias=False, activation=activation,
                        relu_layer=True, suffixes=("_expand", "_expand_BN", "_expand_relu"),
                        **unit)
    y = _depthwise(y, kernel_size, strides, suffixes=("_depthwise", "_depthwise_BN",
                                                      "_depthwise_relu"),
                   pad_name=layer_name(name, "_pad"), activation=activation, relu_layer=True,
                   padding_for=symmetric, **unit)
    y = conv_bn_act(y, filters, 1, use_bias=False, activation=None,
                    suffixes=("_project", "_project_BN", ""), **unit)
    if residual:
        y = layers.Add(name=layer_name(name, "_add"))([x, y])
    return y


def inverted_residual_block_cost(tally, filters, *, expansion=6, strides=1, kernel_size=3,
                                 shortcut="auto", padding="same"):
    """Walks `inverted_residual_block`'s layers on a `cnnblocks.cost.Tally` whose shape is the
    block's input, without building anything; `strides` and `kernel_size` are ints. Returns
    the output shape."""
    c_in = tally.shape[-1]
    fits = c_in == filters and strides == 1
    if expansion != 1:                                          # _expand, _expand_BN, _relu
        conv_bn_act_cost(tally, expansion * c_in, 1)
    symmetric = None if padding == "same" else (                # _pad, _depthwise, _BN, _relu
        lambda shape: ((kernel_size // 2,) * 2,) * 2)
    _depthwise_cost(tally, kernel_size, strides, padding_for=symmetric)
    conv_bn_act_cost(tally, filters, 1, activation=False)       # _project, _project_BN
    if shortcut == "identity" or (shortcut == "auto" and fits):
        tally.elementwise()                                     # _add
    return tally.shape


# ------------------------------------------------------------------------ squeeze-excite ----
#: Default layer suffixes of `squeeze_excite` (EfficientNet's grammar: `block2a_se_squeeze`).
SE_SUFFIXES = {"squeeze": "_squeeze", "reshape": "_reshape", "reduce": "_reduce",
               "reduce_act": "_reduce_act", "expand": "_expand", "gate": "_gate",
               "excite": "_excite"}


@block_function(lambda a: f"SE {a['filters']}")
def squeeze_excite(x, filters, *, activation="relu", gate="sigmoid", reshape=False,
                   fused_activations=False, kernel_initializer="glorot_uniform",
                   data_format=None, name=None, suffixes=None):
    """Squeeze-and-excitation: global average pooling, a reducing 1x1 convolution with
    `activation`, an expanding 1x1 convolution with the `gate`, and the input scaled channel by
    channel (Hu et al. 2018, Figure 1; the fully connected layers as 1x1 convolutions).

    Args:
        x: rank-4 input tensor with `c` channels.
        filters: int, the squeezed width (the paper's `C / r`; MobileNetV3 uses
            `make_divisible(c / 4)`, EfficientNet `max(1, int(c_block_input / 4))`).
        activation: str, after the reducing convolution. Default `"relu"` (the paper,
            MobileNetV3); EfficientNet uses `"swish"`.
        gate: `"sigmoid"` (the paper, EfficientNet) or `"hard_sigmoid"` (MobileNetV3,
            `relu6(x + 3) / 6`). Default `"sigmoid"`.
        reshape: bool, pool to a vector then `Reshape` it to 1x1 (EfficientNet's layers) rather
            than pool with `keepdims=True` (MobileNetV3's). Same numbers. Default False.
        fused_activations: bool, the activation and the gate fused into the two convolutions
            (EfficientNet) rather than separate layers (MobileNetV3). Default False.
        kernel_initializer: initializer of the two convolutions. Default `"glorot_uniform"`.
        data_format: `"channels_last"`, `"channels_first"` or None (Keras' setting).
        name: str or None; the layers are `{name}_squeeze` (pooling), `{name}_reshape`,
            `{name}_reduce`, `{name}_reduce_act`, `{name}_expand`, `{name}_gate`,
            `{name}_excite` (the Multiply).
        suffixes: None or a dict renaming some of those parts (keys `"squeeze"`, `"reshape"`,
            `"reduce"`, `"reduce_act"`, `"expand"`, `"gate"`, `"excite"`; values appended to
            `name`).

    Returns:
        Tensor of the input's shape.

    Parameters: `c filters + filters + filters c + c` (both convolutions have biases).

    Example:
        >>> import keras
        >>> from cnnblocks.blocks import squeeze_excite
        >>> y = squeeze_excite(keras.Input((14, 14, 96)), 24, name="se")
        >>> tuple(y.shape)
        (None, 14, 14, 96)
    """
    data_format, _ = resolve_data_format(data_format)
    filters = check.positive_int(filters, "filters")
    check.choice(gate, "gate", GATES)
    if not isinstance(activation, str) or not activation:
        raise TypeError(f"`activation` must be an activation name (str), received "
                        f"{check.describe(activation)}.")
    check.activation(activation)
    check.initializer(kernel_initializer)
    for arg, value in (("reshape", reshape), ("fused_activations", fused_activations)):
        check.boolean(value, arg)
    if suffixes is not None and (not isinstance(suffixes, dict)
                                 or set(suffixes) - set(SE_SUFFIXES)):
        raise ValueError(f"`suffixes` must be None or a dict with keys among "
                         f"{sorted(SE_SUFFIXES)}; received {check.describe(suffixes)}.")
    if suffixes and not all(isinstance(v, str) and "/" not in v for v in suffixes.values()):
        raise ValueError("`suffixes` values must be strings without '/'; received "
                         f"{check.describe(suffixes)}.")
    c = channels(check_input(x, data_format), data_format)
    names = {part: layer_name(name, (suffixes or {}).get(part, suffix))
             for part, suffix in SE_SUFFIXES.items()}
    if reshape:
        s = layers.GlobalAveragePooling2D(data_format=data_format, name=names["squeeze"])(x)
        target = (1, 1, c) if data_format == "channels_last" else (c, 1, 1)
        s = layers.Reshape(target, name=names["reshape"])(s)
    else:
        s = layers.GlobalAveragePooling2D(data_format=data_format, keepdims=True,
                                          name=names["squeeze"])(x)
    conv = dict(padding="same", kernel_initializer=kernel_initializer, data_format=data_format)
    s = layers.Conv2D(filters, 1, activation=activation if fused_activations else None,
                      name=names["reduce"], **conv)(s)
    if not fused_activations:
        s = activation_layer(activation, relu_layer=activation in RELU_LAYERS,
                             name=names["reduce_act"])(s)
    s = layers.Conv2D(c, 1, activation=gate if fused_activations else None,
                      name=names["expand"], **conv)(s)
    if not fused_activations:
        s = layers.Activation(gate, name=names["gate"])(s)
    return layers.Multiply(name=names["excite"])([x, s])


def squeeze_excite_cost(tally, filters, *, reshape=False, fused_activations=False):
    """Walks `squeeze_excite`'s layers on a `cnnblocks.cost.Tally` whose shape is the input,
    without building anything (fused: `Tally.squeeze_excite`). Returns the output shape."""
    if fused_activations:
        return tally.squeeze_excite(filters, reshape=reshape)
    gated = tally.shape
    if reshape:                                                 # _squeeze, _reshape
        tally.global_pool()
        tally.elementwise((1, 1, gated[-1]))
    else:                                                       # _squeeze (keepdims)
        tally.global_pool(keepdims=True)
    tally.conv(filters, 1, bias=True)                           # _reduce, _reduce_act
    tally.elementwise()
    tally.conv(gated[-1], 1, bias=True)                         # _expand, _gate
    tally.elementwise()
    return tally.elementwise(gated)                             # _excite


# ------------------------------------------------------------------------ MobileNetV3 -------
#: MobileNetV3's squeeze-and-excite layer suffixes (keras.applications' names).
V3_SE_SUFFIXES = {"squeeze": "_avg_pool", "reduce": "_conv", "reduce_act": "_relu",
                  "expand": "_conv_1", "gate": "_hard_sigmoid", "excite": "_mul"}


def _v3_label(a):
    se = ", SE" if a["se_ratio"] else ""
    nl = "HS" if a["activation"] == "hard_swish" else "RE"
    return (f"{a['exp_size']} → dw {kernel_text(a['kernel_size'])}"
            f"{stride_text(a['strides'])} → {a['filters']} ({nl}{se})")


@block_function(_v3_label)
def mobilenet_v3_block(x, exp_size, filters, *, kernel_size=3, strides=1, se_ratio=None,
                       activation="relu", shortcut="auto", bn_epsilon=1e-3,
                       bn_momentum=MOBILENET_V2_BN_MOMENTUM, data_format=None, name=None):
    """The MobileNetV3 bottleneck ("bneck"): 1x1 expansion - BN - NL, k x k depthwise - BN -
    NL, optional squeeze-and-excite, linear 1x1 projection - BN, identity shortcut when the
    shapes match (Howard et al. 2019, Figure 4; one row of Tables 1 and 2).

    Args:
        x: rank-4 input tensor with `c` channels.
        exp_size: int, the expansion width (the tables' "exp size"); when it equals `c` there
            is no expansion convolution (the first bottleneck of MobileNetV3-Large).
        filters: int, the output channels (the tables' "#out").
        kernel_size: int or pair, of the depthwise convolution: 3 or 5 in the paper. Default 3.
        strides: int or pair, the depthwise stride (the tables' "s"). Default 1.
        se_ratio: None (no squeeze-and-excite) or the squeeze ratio: the SE has
            `make_divisible(exp_size * se_ratio)` filters (multiples of 8); the paper's "SE"
            column is `se_ratio=0.25`. Default None.
        activation: the nonlinearity "NL": `"relu"` (RE, a `keras.layers.ReLU`) or
            `"hard_swish"` (HS, `x relu6(x + 3) / 6`). Default `"relu"`.
        shortcut: `"auto"`, `"identity"` or `"none"`, as in `inverted_residual_block`.
        bn_epsilon: float. Default 1e-3.
        bn_momentum: float (training only). Default 0.999 (keras.applications).
        data_format: `"channels_last"`, `"channels_first"` or None (Keras' setting).
        name: str or None; with `"expanded_conv_1"` keras.applications' `expanded_conv_1_expand`,
            `expanded_conv_1_expand_bn`, `expanded_conv_1_depthwise_pad` (stride 2),
            `expanded_conv_1_depthwise`, `expanded_conv_1_depthwise_bn`,
            `expanded_conv_1_squeeze_excite_avg_pool`, `..._conv`, `..._relu`, `..._conv_1`,
            `..._mul`, `expanded_conv_1_project`, `expanded_conv_1_project_bn`,
            `expanded_conv_1_add`; the activations keras.applications leaves unnamed are
            `{name}_expand_{activation}`, `{name}_depthwise_{activation}` and
            `{name}_squeeze_excite_hard_sigmoid`.

    Returns:
        Tensor with `filters` channels, spatial size divided by `strides` (rounded up).

    Parameters (BN 4 per channel): with `e = exp_size` and `s` the SE width:
        `[c e + 4 e] + k_h k_w e + 4 e + [e s + s + s e + e] + e filters + 4 filters`.

    Note:
        - The SE gate is a `hard_sigmoid` activation layer, `relu6(x + 3) / 6`;
          keras.applications computes the same with a `ReLU(6.)` layer between two unnamed
          arithmetic operations (`x + 3`, `* 1/6`), so outputs agree to float rounding
          (~1e-7) but that layer's type differs (Activation, not ReLU).
        - Stride-2 padding is explicit, as in `inverted_residual_block`.

    Example:
        >>> import keras
        >>> from cnnblocks.blocks import mobilenet_v3_block
        >>> y = mobilenet_v3_block(keras.Input((28, 28, 40)), 120, 40, kernel_size=5,
        ...                        se_ratio=0.25, name="expanded_conv_4")
        >>> tuple(y.shape)
        (None, 28, 28, 40)
    """
    data_format, _ = resolve_data_format(data_format)
    exp_size = check.positive_int(exp_size, "exp_size")
    filters = check.positive_int(filters, "filters")
    kernel_size = check.pair(kernel_size, "kernel_size")
    strides = check.pair(strides, "strides")
    se_ratio = _ratio_or_none(se_ratio, "se_ratio")
    check.choice(activation, "activation", V3_ACTIVATIONS)
    c_in = channels(check_input(x, data_format), data_format)
    residual = _residual(shortcut, c_in == filters and strides == (1, 1), c_in, filters,
                         strides)
    unit = dict(bn_epsilon=bn_epsilon, bn_momentum=bn_momentum, data_format=data_format,
                name=name)
    relu = activation == "relu"
    y = x
    if exp_size != c_in:
        y = conv_bn_act(y, exp_size, 1, use_bias=False, activation=activation,
                        relu_layer=relu,
                        suffixes=("_expand", "_expand_bn", f"_expand_{activation}"), **unit)
    y = _depthwise(y, kernel_size, strides,
                   suffixes=("_depthwise", "_depthwise_bn", f"_depthwise_{activation}"),
                   pad_name=layer_name(name, "_depthwise_pad"), activation=activation,
                   relu_layer=relu, **unit)
    if se_ratio:
        y = squeeze_excite(y, make_divisible(exp_size * se_ratio), activation="relu",
                           gate="hard_sigmoid", data_format=data_format,
                           name=layer_name(name, "_squeeze_excite"), suffixes=V3_SE_SUFFIXES)
    y = conv_bn_act(y, filters, 1, use_bias=False, activation=None,
                    suffixes=("_project", "_project_bn", ""), **unit)
    if residual:
        y = layers.Add(name=layer_name(name, "_add"))([x, y])
    return y


def mobilenet_v3_block_cost(tally, exp_size, filters, *, kernel_size=3, strides=1,
                            se_ratio=None, shortcut="auto"):
    """Walks `mobilenet_v3_block`'s layers on a `cnnblocks.cost.Tally` whose shape is the
    block's input, without building anything; `strides` and `kernel_size` are ints. Returns
    the output shape."""
    c_in = tally.shape[-1]
    fits = c_in == filters and strides == 1
    if exp_size != c_in:                                        # _expand, _expand_bn, _{act}
        conv_bn_act_cost(tally, exp_size, 1)
    _depthwise_cost(tally, kernel_size, strides)                # _depthwise_pad, _depthwise, ...
    if se_ratio:                                                # _squeeze_excite_*
        squeeze_excite_cost(tally, make_divisible(exp_size * se_ratio))
    conv_bn_act_cost(tally, filters, 1, activation=False)       # _project, _project_bn
    if shortcut == "identity" or (shortcut == "auto" and fits):
        tally.elementwise()                                     # _add
    return tally.shape
