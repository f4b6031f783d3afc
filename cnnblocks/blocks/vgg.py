"""The VGG block (Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
Recognition", ICLR 2015, https://arxiv.org/abs/1409.1556)."""

from keras import layers

from cnnblocks import _validation as check
from cnnblocks.blocks.common import (check_input, check_options, conv_bn_act, layer_name,
                                     resolve_data_format)
from cnnblocks.identity import block_function


#: BatchNormalization epsilon of the VGG-BN models (torchvision's `vgg11_bn` ...: PyTorch's
#: default), the only published VGG with batch norm.
VGG_BN_EPSILON = 1e-5


def _label(a):
    bn = " BN" if a.get("batch_norm") else ""
    return f"{a['filters']}{bn} ×{a['convs']}" + (" + pool" if a["pool"] else "")


@block_function(_label)
def vgg_block(x, filters, convs=2, *, kernel_size=3, activation="relu", pool=True,
              batch_norm=False, bn_epsilon=VGG_BN_EPSILON, data_format=None, name=None):
    """A stack of same-padded convolutions followed by 2x2/2 max pooling.

    Each convolution has a bias and its activation fused in, as in the paper (no batch norm).
    With `name="block1"` the layers are `block1_conv1`, `block1_conv2`, ..., `block1_pool`,
    the names keras.applications' VGG16/VGG19 use. With `batch_norm=True` (torchvision's
    `vgg11_bn` ...) each convolution keeps its bias and is followed by
    `block1_conv1_bn` and `block1_conv1_relu`.

    Args:
        x: rank-4 input tensor.
        filters: int, output channels of every convolution.
        convs: int, number of convolutions. Default 2.
        kernel_size: int or pair. Default 3.
        activation: str or None. Default `"relu"`.
        pool: bool, end with `MaxPooling2D(2, strides=2)`. Default True.
        batch_norm: bool, BatchNormalization between each convolution and its activation.
            Default False (the paper).
        bn_epsilon: float, the BN epsilon. Default 1e-5 (torchvision's VGG-BN).
        data_format: `"channels_last"`, `"channels_first"` or None (Keras' setting).
        name: str or None, prefix of every layer name.

    Returns:
        Tensor with `filters` channels; height and width halved (floor) when `pool`.

    Parameters:
        `k*k*c_in*f + f` for the first convolution, `k*k*f*f + f` for each further one; with
        batch norm `4 f` more per convolution (2 trainable).

    Example:
        >>> import keras
        >>> from cnnblocks.blocks import vgg_block
        >>> inputs = keras.Input((224, 224, 3))
        >>> y = vgg_block(inputs, 64, 2, name="block1")
        >>> tuple(y.shape)
        (None, 112, 112, 64)
    """
    data_format, _ = resolve_data_format(data_format)
    filters = check.positive_int(filters, "filters")
    convs = check.positive_int(convs, "convs")
    check.pair(kernel_size, "kernel_size")
    check_options(pool=pool, batch_norm=batch_norm)
    check.activation(activation)
    check_input(x, data_format, min_size=2 if pool else 1, why="2x2/2 max pooling")
    for i in range(1, convs + 1):
        suffixes = ((f"_conv{i}", f"_conv{i}_bn", f"_conv{i}_relu") if batch_norm else
                    (f"_conv{i}", "", ""))
        x = conv_bn_act(x, filters, kernel_size, batch_norm=batch_norm, bn_epsilon=bn_epsilon,
                        activation=activation, data_format=data_format, name=name,
                        suffixes=suffixes)
    if pool:
        x = layers.MaxPooling2D(2, strides=2, data_format=data_format,
                                name=layer_name(name, "_pool"))(x)
    return x


def vgg_block_cost(tally, filters, convs=2, *, kernel_size=3, activation="relu", pool=True,
                   batch_norm=False):
    """Walks `vgg_block`'s layers on a `cnnblocks.cost.Tally` whose shape is the block's
    input, without building anything (a square `kernel_size`; the arguments are assumed
    checked). Returns the output shape."""
    for _ in range(convs):
        tally.conv(filters, kernel_size, bias=True, padding="same")  # _conv{i} (act fused)
        if batch_norm:
            tally.bn()                                          # _conv{i}_bn
            if activation is not None:
                tally.elementwise()                             # _conv{i}_relu
    if pool:
        tally.pool(2, 2)                                        # _pool
    return tally.shape
