"""GoogLeNet's Inception modules (Szegedy et al., "Going Deeper with Convolutions", CVPR 2015,
https://arxiv.org/abs/1409.4842), naive (Figure 2a) and with dimension reductions (Figure 2b)."""

from keras import layers

from cnnblocks import _validation as check
from cnnblocks.blocks.common import check_input, conv_bn_act, layer_name, resolve_data_format
from cnnblocks.identity import block_function


def _branch_conv(x, filters, kernel_size, *, norm, data_format, name, branch):
    """One convolution of a branch: ReLU, bias, and the module's normalization."""
    return conv_bn_act(x, filters, kernel_size, batch_norm=(norm == "batchnorm"),
                       use_bias=(norm != "batchnorm"), data_format=data_format, name=name,
                       suffixes=(f"_{branch}", f"_{branch}_bn", f"_{branch}_relu"))


@block_function(lambda a: f"{a['f1']} | {a['f3']} | {a['f5']} | pool")
def naive_inception_module(x, f1, f3, f5, *, data_format=None, name=None):
    """The naive Inception module: parallel 1x1, 3x3 and 5x5 convolutions and a 3x3/1 max pool.

    The four branches are concatenated on the channel axis, so the pool branch passes the
    input's channels straight through and the width grows with every module (the problem the
    dimension-reduced module solves).

    Args:
        x: rank-4 input tensor.
        f1: int, filters of the 1x1 branch.
        f3: int, filters of the 3x3 branch.
        f5: int, filters of the 5x5 branch.
        data_format: `"channels_last"`, `"channels_first"` or None (Keras' setting).
        name: str or None; layers are `{name}_1x1`, `{name}_3x3`, `{name}_5x5`, `{name}_pool`,
            `{name}_concat`.

    Returns:
        Tensor of the input's spatial size with `f1 + f3 + f5 + c_in` channels.

    Parameters:
        `(c_in + 1) * f1 + (9 c_in + 1) * f3 + (25 c_in + 1) * f5`.

    Example:
        >>> import keras
        >>> from cnnblocks.blocks import naive_inception_module
        >>> y = naive_inception_module(keras.Input((32, 32, 3)), 64, 128, 32)
        >>> tuple(y.shape)
        (None, 32, 32, 227)
    """
    data_format, axis = resolve_data_format(data_format)
    f1, f3, f5 = (check.positive_int(v, a) for v, a in ((f1, "f1"), (f3, "f3"), (f5, "f5")))
    check_input(x, data_format)
    conv = dict(norm=None, data_format=data_format, name=name)
    b1 = _branch_conv(x, f1, 1, branch="1x1", **conv)
    b3 = _branch_conv(x, f3, 3, branch="3x3", **conv)
    b5 = _branch_conv(x, f5, 5, branch="5x5", **conv)
    pool = layers.MaxPooling2D(3, strides=1, padding="same", data_format=data_format,
                               name=layer_name(name, "_pool"))(x)
    return layers.Concatenate(axis=axis, name=layer_name(name, "_concat"))([b1, b3, b5, pool])


@block_function(lambda a: (f"{a['f1']} | {a['f3_reduce']}→{a['f3']} | "
                           f"{a['f5_reduce']}→{a['f5']} | pool→{a['pool_proj']}"))
def inception_module(x, f1, f3_reduce, f3, f5_reduce, f5, pool_proj, *, norm=None,
                     f5_kernel_size=5, data_format=None, name=None):
    """The Inception module with dimension reductions (GoogLeNet, Figure 2b).

    The arguments are the columns of GoogLeNet's Table 1 (`#1x1`, `#3x3 reduce`, `#3x3`,
    `#5x5 reduce`, `#5x5`, `pool proj`). Every convolution is followed by a ReLU; the branches
    are concatenated in that order: 1x1, 3x3, 5x5, pool.

    Args:
        x: rank-4 input tensor.
        f1: int, filters of the 1x1 branch.
        f3_reduce: int, 1x1 filters before the 3x3 convolution.
        f3: int, filters of the 3x3 convolution.
        f5_reduce: int, 1x1 filters before the 5x5 convolution.
        f5: int, filters of the 5x5 convolution.
        pool_proj: int, 1x1 filters after the 3x3/1 max pool.
        norm: None (the paper: convolutions with bias, no normalization) or `"batchnorm"`
            (BN after every convolution, convolutions without bias). Default None.
        f5_kernel_size: int, the kernel of the "5x5" branch's convolution (its layers keep the
            names `{name}_5x5*`). Default 5 (the paper); torchvision's GoogLeNet has 3
            (pytorch/vision#906), which its weights need.
        data_format: `"channels_last"`, `"channels_first"` or None (Keras' setting).
        name: str or None; layers are `{name}_1x1`, `{name}_3x3_reduce`, `{name}_3x3`,
            `{name}_5x5_reduce`, `{name}_5x5`, `{name}_pool`, `{name}_pool_proj`,
            `{name}_concat` (with `_bn`/`_relu` after each convolution when `norm="batchnorm"`).

    Returns:
        Tensor of the input's spatial size with `f1 + f3 + f5 + pool_proj` channels.

    Parameters (norm=None):
        `(c+1) f1 + (c+1) r3 + (9 r3 + 1) f3 + (c+1) r5 + (25 r5 + 1) f5 + (c+1) pp`
        (`k*k r5` for the 5x5 branch with `f5_kernel_size=k`).

    Example:
        >>> import keras
        >>> from cnnblocks.blocks import inception_module
        >>> x = keras.Input((28, 28, 192))
        >>> y = inception_module(x, 64, 96, 128, 16, 32, 32, name="inception_3a")
        >>> tuple(y.shape)
        (None, 28, 28, 256)
    """
    data_format, axis = resolve_data_format(data_format)
    widths = dict(f1=f1, f3_reduce=f3_reduce, f3=f3, f5_reduce=f5_reduce, f5=f5,
                  pool_proj=pool_proj)
    for arg, value in widths.items():
        check.positive_int(value, arg)
    check.choice(norm, "norm", (None, "batchnorm"))
    f5_kernel_size = check.positive_int(f5_kernel_size, "f5_kernel_size")
    check_input(x, data_format)
    conv = dict(norm=norm, data_format=data_format, name=name)
    b1 = _branch_conv(x, f1, 1, branch="1x1", **conv)
    b3 = _branch_conv(x, f3_reduce, 1, branch="3x3_reduce", **conv)
    b3 = _branch_conv(b3, f3, 3, branch="3x3", **conv)
    b5 = _branch_conv(x, f5_reduce, 1, branch="5x5_reduce", **conv)
    b5 = _branch_conv(b5, f5, f5_kernel_size, branch="5x5", **conv)
    bp = layers.MaxPooling2D(3, strides=1, padding="same", data_format=data_format,
                             name=layer_name(name, "_pool"))(x)
    bp = _branch_conv(bp, pool_proj, 1, branch="pool_proj", **conv)
    return layers.Concatenate(axis=axis, name=layer_name(name, "_concat"))([b1, b3, b5, bp])


def _branch_conv_cost(tally, x, filters, kernel_size, *, norm):
    """`_branch_conv` on input shape `x`: the convolution (`{name}_{branch}`; ReLU fused
    without BN), or with `norm="batchnorm"` no bias, `_bn` and `_relu`."""
    tally.shape = x
    batch_norm = norm == "batchnorm"
    tally.conv(filters, kernel_size, bias=not batch_norm, padding="same")
    if batch_norm:
        tally.bn()
        tally.elementwise()
    return tally.shape


def inception_module_cost(tally, f1, f3_reduce, f3, f5_reduce, f5, pool_proj, *, norm=None,
                          f5_kernel_size=5):
    """`inception_module`'s costs on a `cnnblocks.cost.Tally` at its current shape, branch by
    branch as the module builds them (its arguments, checked by the caller)."""
    x = tally.shape
    b1 = _branch_conv_cost(tally, x, f1, 1, norm=norm)                        # _1x1
    b3 = _branch_conv_cost(tally, x, f3_reduce, 1, norm=norm)                 # _3x3_reduce
    b3 = _branch_conv_cost(tally, b3, f3, 3, norm=norm)                       # _3x3
    b5 = _branch_conv_cost(tally, x, f5_reduce, 1, norm=norm)                 # _5x5_reduce
    b5 = _branch_conv_cost(tally, b5, f5, f5_kernel_size, norm=norm)          # _5x5
    tally.shape = x                                                           # _pool
    bp = _branch_conv_cost(tally, tally.pool(3, 1, padding="same"), pool_proj, 1,
                           norm=norm)                                         # _pool_proj
    return tally.concat(b1, b3, b5, bp)                                       # _concat
