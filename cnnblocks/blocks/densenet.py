"""The dense block and the transition block (Huang, Liu, van der Maaten, Weinberger, "Densely
Connected Convolutional Networks", CVPR 2017, https://arxiv.org/abs/1608.06993).

In a dense block, layer `l` receives the concatenation of the block's input and of every
earlier layer's output, and adds `k` (the growth rate) feature maps of its own. Each layer is
the composite function BN-ReLU-Conv (pre-activation order, section 3 "Composite function");
DenseNet-B puts a BN-ReLU-1x1 bottleneck of `4 k` channels before the 3x3. A transition block
(BN-ReLU-1x1 conv-2x2/2 average pool) between dense blocks halves the resolution and, in
DenseNet-C, compresses the channels by `theta` (DenseNet-BC: both).

Layer names follow keras.applications' DenseNet grammar: `dense_block(..., name="conv2")`
gives `conv2_block1_0_bn`, `conv2_block1_0_relu`, `conv2_block1_1_conv`, `conv2_block1_1_bn`,
`conv2_block1_1_relu`, `conv2_block1_2_conv`, `conv2_block1_concat`, ..., and
`transition_block(..., name="pool2")` gives `pool2_bn`, `pool2_relu`, `pool2_conv`, `pool2_pool`.
"""

import numbers

from keras import layers

from cnnblocks import _validation as check
from cnnblocks.blocks.common import (channels, check_input, conv_bn_act, layer_name,
                                     resolve_data_format)
from cnnblocks.identity import block_function

#: BatchNormalization epsilon of keras.applications' DenseNet.
DENSENET_BN_EPSILON = 1.001e-5


def _dense_label(a):
    if a["bottleneck"]:
        inner = f"1x1 {a['bottleneck_width'] * a['growth_rate']} → 3x3 {a['growth_rate']}"
    else:
        inner = f"3x3 {a['growth_rate']}"
    return f"{a['num_layers']} × [{inner}]"


@block_function(_dense_label)
def dense_block(x, num_layers, growth_rate=32, *, bottleneck=True, bottleneck_width=4,
                bn_epsilon=DENSENET_BN_EPSILON, data_format=None, name=None):
    """A dense block: `num_layers` BN-ReLU-Conv layers, each fed with all earlier outputs.

    Huang et al., "Densely Connected Convolutional Networks", CVPR 2017,
    https://arxiv.org/abs/1608.06993, section 3 and Table 1 ("[1x1 conv, 3x3 conv] x 6").
    With `name="conv2"` the layers carry exactly the names of keras.applications' DenseNet121
    (`conv2_block1_0_bn` ... `conv2_block6_concat`).

    Args:
        x: rank-4 input tensor with `c` channels.
        num_layers: int `L`, the number of layers (Table 1's "x 6").
        growth_rate: int `k`, the feature maps each layer adds. Default 32 (the ImageNet
            DenseNets).
        bottleneck: bool. True (DenseNet-B, the ImageNet models): each layer is BN-ReLU-1x1
            conv (`bottleneck_width * k` filters), then BN-ReLU-3x3 conv (`k` filters).
            False: BN-ReLU-3x3 conv only (names `_0_bn`, `_0_relu`, `_1_conv`). Default True.
        bottleneck_width: int, the 1x1 convolution has `bottleneck_width * k` filters ("we let
            each 1x1 convolution produce 4k feature-maps"). Default 4.
        bn_epsilon: float. Default 1.001e-5 (keras.applications).
        data_format: `"channels_last"`, `"channels_first"` or None (Keras' setting).
        name: str or None; layer `i` (from 1) is named `{name}_block{i}_...`.

    Returns:
        Tensor of the input's spatial size with `c + L k` channels (the input first, then
        each layer's `k` maps in order).

    Parameters:
        Convolutions without bias; Keras counts 4 numbers per BN channel. With
        `c_i = c + i k` and `w = bottleneck_width`: with the bottleneck
        `sum_{i=0}^{L-1} (4 c_i + w k c_i + 4 w k + 9 w k^2)`; without it
        `sum_{i=0}^{L-1} (4 c_i + 9 k c_i)`.

    Example:
        >>> import keras
        >>> from cnnblocks.blocks import dense_block
        >>> y = dense_block(keras.Input((56, 56, 64)), 6, 32, name="conv2")
        >>> tuple(y.shape)
        (None, 56, 56, 256)
    """
    data_format, axis = resolve_data_format(data_format)
    num_layers = check.positive_int(num_layers, "num_layers")
    growth_rate = check.positive_int(growth_rate, "growth_rate")
    bottleneck = check.boolean(bottleneck, "bottleneck")
    bottleneck_width = check.positive_int(bottleneck_width, "bottleneck_width")
    check_input(x, data_format)
    unit = dict(use_bias=False, preactivation=True, bn_epsilon=bn_epsilon,
                data_format=data_format, name=name)
    for i in range(1, num_layers + 1):
        b = f"_block{i}"
        if bottleneck:
            y = conv_bn_act(x, bottleneck_width * growth_rate, 1, padding="valid",
                            suffixes=(f"{b}_1_conv", f"{b}_0_bn", f"{b}_0_relu"), **unit)
            y = conv_bn_act(y, growth_rate, 3, padding="same",
                            suffixes=(f"{b}_2_conv", f"{b}_1_bn", f"{b}_1_relu"), **unit)
        else:
            y = conv_bn_act(x, growth_rate, 3, padding="same",
                            suffixes=(f"{b}_1_conv", f"{b}_0_bn", f"{b}_0_relu"), **unit)
        x = layers.Concatenate(axis=axis, name=layer_name(name, f"{b}_concat"))([x, y])
    return x


@block_function(lambda a: f"θ={a['compression']:g}, avg 2x2 /2")
def transition_block(x, compression=0.5, *, bn_epsilon=DENSENET_BN_EPSILON, data_format=None,
                     name=None):
    """A transition block: BN-ReLU-1x1 conv (compressing the channels), 2x2/2 average pool.

    Huang et al., "Densely Connected Convolutional Networks", CVPR 2017,
    https://arxiv.org/abs/1608.06993, section 3 ("Transition layers", "Compression") and
    Table 1. With `name="pool2"` the layers are `pool2_bn`, `pool2_relu`, `pool2_conv`,
    `pool2_pool`, as in keras.applications.

    Args:
        x: rank-4 input tensor with `m` channels, at least 2x2.
        compression: float `theta` in (0, 1]: the 1x1 convolution has `int(theta * m)`
            filters (DenseNet-C; 1 keeps every channel). Default 0.5 (the ImageNet models).
        bn_epsilon: float. Default 1.001e-5 (keras.applications).
        data_format: `"channels_last"`, `"channels_first"` or None (Keras' setting).
        name: str or None, the prefix of every layer name.

    Returns:
        Tensor with `int(theta m)` channels and half the spatial size (floor).

    Parameters:
        `4 m + m int(theta m)` (no bias; 4 numbers per BN channel).

    Note:
        The paper's text names BN, a 1x1 convolution and the pool; the authors' code and
        keras.applications also apply a ReLU after the BN, and so does this block.

    Example:
        >>> import keras
        >>> from cnnblocks.blocks import transition_block
        >>> y = transition_block(keras.Input((56, 56, 256)), 0.5, name="pool2")
        >>> tuple(y.shape)
        (None, 28, 28, 128)
    """
    data_format, _ = resolve_data_format(data_format)
    if isinstance(compression, bool) or not isinstance(compression, numbers.Real):
        raise TypeError(f"`compression` must be a number in (0, 1], received "
                        f"{check.describe(compression)}.")
    if not 0.0 < compression <= 1.0:
        raise ValueError(f"`compression` must be in (0, 1], received "
                         f"{check.describe(compression)}.")
    shape = check_input(x, data_format, min_size=2, why="the 2x2/2 average pooling")
    filters = int(channels(shape, data_format) * compression)
    if filters < 1:
        raise ValueError(f"`compression`={compression!r} leaves no channel of the "
                         f"{channels(shape, data_format)} input channels.")
    y = conv_bn_act(x, filters, 1, padding="valid", use_bias=False, preactivation=True,
                    bn_epsilon=bn_epsilon, data_format=data_format, name=name,
                    suffixes=("_conv", "_bn", "_relu"))
    return layers.AveragePooling2D(2, strides=2, data_format=data_format,
                                   name=layer_name(name, "_pool"))(y)


def dense_block_cost(tally, num_layers, growth_rate=32, *, bottleneck=True,
                     bottleneck_width=4):
    """Walks `dense_block`'s layers on a `cnnblocks.cost.Tally` whose shape is the block's
    input, without building anything (the arguments are assumed checked). Returns the output
    shape."""
    for _ in range(num_layers):
        start = tally.shape
        tally.bn()                                              # _block{i}_0_bn, _0_relu
        tally.elementwise()
        if bottleneck:
            tally.conv(bottleneck_width * growth_rate, 1)       # _block{i}_1_conv
            tally.bn()                                          # _block{i}_1_bn, _1_relu
            tally.elementwise()
        tally.conv(growth_rate, 3, padding="same")              # _block{i}_2_conv (_1_conv)
        tally.concat(start[-1], growth_rate)                    # _block{i}_concat
    return tally.shape


def transition_block_cost(tally, compression=0.5):
    """Walks `transition_block`'s layers on a `cnnblocks.cost.Tally` whose shape is the
    block's input, without building anything. Returns the output shape."""
    filters = int(tally.shape[-1] * compression)
    tally.bn()                                                  # _bn, _relu
    tally.elementwise()
    tally.conv(filters, 1)                                      # _conv
    return tally.pool(2, 2)                                     # _pool
