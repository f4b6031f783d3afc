"""Inception-V3's modules (Szegedy et al., "Rethinking the Inception Architecture for Computer
Vision", CVPR 2016, https://arxiv.org/abs/1512.00567).

- `inception_v3_a`: the 35x35 module (Figure 5; the 5x5 branch kept, as in the released model);
- `inception_v3_reduction_a`: 35x35 -> 17x17 grid reduction (Figure 10);
- `inception_v3_b`: the 17x17 module with 7x7 convolutions factorized into 1x7 and 7x1 (Figure 6);
- `inception_v3_reduction_b`: 17x17 -> 8x8 grid reduction;
- `inception_v3_c`: the 8x8 module with expanded 1x3 / 3x1 filter banks (Figure 7).

Every convolution is conv (no bias) - BatchNormalization (no scale, as the released model and
keras.applications) - ReLU; the widths are the arguments, so the InceptionV3 architecture is a
table of rows. With `name="mixed0"` the final concatenation is named `mixed0`, as in
keras.applications; the convolutions are `mixed0_1x1_conv`, `mixed0_1x1_bn`, `mixed0_1x1_relu`,
`mixed0_5x5_reduce_conv`, ... (keras.applications leaves them unnamed).
"""

from keras import layers

from cnnblocks import _validation as check
from cnnblocks.blocks.common import (check_input, check_options, conv_bn_act, layer_name,
                                     resolve_data_format)
from cnnblocks.identity import block_function


def _prepare(x, widths, name, data_format, use_bias, bn_scale, bn_epsilon, min_size=1,
             why="the module", count_include_pad=False):
    """Validates the common arguments; returns (axis, unit, avg_pool) for the module body."""
    data_format, axis = resolve_data_format(data_format)
    for arg, value in widths.items():
        check.positive_int(value, arg)
    check_options(use_bias=use_bias, bn_scale=bn_scale, bn_epsilon=bn_epsilon,
                  count_include_pad=count_include_pad)
    check_input(x, data_format, min_size=min_size, why=why)

    def unit(t, filters, kernel_size, branch, *, strides=1, padding="same"):
        return conv_bn_act(t, filters, kernel_size, strides=strides, padding=padding,
                           use_bias=use_bias, bn_scale=bn_scale, bn_epsilon=bn_epsilon,
                           data_format=data_format, name=layer_name(name, f"_{branch}"))

    def pool():
        if not count_include_pad:  # Keras "same": the average over the input pixels only
            return layers.AveragePooling2D(3, strides=1, padding="same", data_format=data_format,
                                           name=layer_name(name, "_pool"))
        pad = layers.ZeroPadding2D(1, data_format=data_format, name=layer_name(name, "_pool_pad"))
        avg = layers.AveragePooling2D(3, strides=1, padding="valid", data_format=data_format,
                                      name=layer_name(name, "_pool"))
        return lambda t: avg(pad(t))

    return axis, unit, pool, data_format


_POOL_DOC = """
        count_include_pad: bool. False: the 3x3/1 average pool is Keras' "same" pool, which
            averages the input pixels under the window only (keras.applications). True: zero
            padding 1 (`{name}_pool_pad`) then a "valid" pool, so border averages count the
            padding, as PyTorch's `avg_pool2d(3, 1, 1)` (torchvision's Inception-V3).
            Default False."""

_OPTIONS_DOC = """
        use_bias: bool, convolutions with bias. Default False (keras.applications).
        bn_scale: bool, BN learns gamma. Default False (keras.applications).
        bn_epsilon: float. Default 1e-3.
        data_format: `"channels_last"`, `"channels_first"` or None (Keras' setting).
        name: str or None; the final concatenation's name and the prefix of every layer."""


@block_function(lambda a: (f"{a['f1']} | {a['f5_reduce']}→{a['f5']} | {a['f3_reduce']}→{a['f3']}→{a['f3']} | "
                           f"pool→{a['pool_proj']}"))
def inception_v3_a(x, f1, f5_reduce, f5, f3_reduce, f3, pool_proj, *, use_bias=False,
                   bn_scale=False, bn_epsilon=1e-3, count_include_pad=False, data_format=None,
                   name=None):
    """The 35x35 Inception-V3 module: 1x1 | 1x1-5x5 | 1x1-3x3-3x3 | avgpool-1x1.

    Args:
        x: rank-4 input tensor.
        f1: int, the 1x1 branch.
        f5_reduce, f5: ints, the 1x1 and 5x5 convolutions of the second branch.
        f3_reduce, f3: ints, the 1x1 and the two 3x3 convolutions of the third branch.
        pool_proj: int, the 1x1 after the 3x3/1 average pool.{pool}{options}

    Returns:
        Tensor of the input's spatial size, `f1 + f5 + f3 + pool_proj` channels.

    Example:
        >>> import keras
        >>> from cnnblocks.blocks import inception_v3_a
        >>> y = inception_v3_a(keras.Input((35, 35, 192)), 64, 48, 64, 64, 96, 32, name="mixed0")
        >>> tuple(y.shape)
        (None, 35, 35, 256)
    """
    axis, unit, pool, _ = _prepare(
        x, dict(f1=f1, f5_reduce=f5_reduce, f5=f5, f3_reduce=f3_reduce, f3=f3,
                pool_proj=pool_proj), name, data_format, use_bias, bn_scale, bn_epsilon,
        count_include_pad=count_include_pad)
    b1 = unit(x, f1, 1, "1x1")
    b5 = unit(unit(x, f5_reduce, 1, "5x5_reduce"), f5, 5, "5x5")
    b3 = unit(x, f3_reduce, 1, "3x3dbl_reduce")
    b3 = unit(unit(b3, f3, 3, "3x3dbl_1"), f3, 3, "3x3dbl_2")
    bp = unit(pool()(x), pool_proj, 1, "pool_proj")
    return layers.Concatenate(axis=axis, name=name)([b1, b5, b3, bp])


@block_function(lambda a: f"{a['f3']} /2 | {a['f3dbl_reduce']}→{a['f3dbl']}→{a['f3dbl']} /2 | pool /2")
def inception_v3_reduction_a(x, f3, f3dbl_reduce, f3dbl, *, use_bias=False, bn_scale=False,
                             bn_epsilon=1e-3, data_format=None, name=None):
    """Grid reduction 35x35 -> 17x17: 3x3/2 | 1x1-3x3-3x3/2 | maxpool 3x3/2 (all "valid").

    Args:
        x: rank-4 input tensor, at least 3x3.
        f3: int, the stride-2 3x3 branch.
        f3dbl_reduce, f3dbl: ints, the 1x1 and the two 3x3 convolutions (the second with
            stride 2).{options}

    Returns:
        Tensor of spatial size `(n - 3) // 2 + 1`, `f3 + f3dbl + c_in` channels.

    Example:
        >>> import keras
        >>> from cnnblocks.blocks import inception_v3_reduction_a
        >>> y = inception_v3_reduction_a(keras.Input((35, 35, 288)), 384, 64, 96, name="mixed3")
        >>> tuple(y.shape)
        (None, 17, 17, 768)
    """
    axis, unit, _, data_format = _prepare(
        x, dict(f3=f3, f3dbl_reduce=f3dbl_reduce, f3dbl=f3dbl), name, data_format, use_bias,
        bn_scale, bn_epsilon, min_size=3, why="3x3 'valid' stride-2 reductions")
    b3 = unit(x, f3, 3, "3x3", strides=2, padding="valid")
    bd = unit(unit(x, f3dbl_reduce, 1, "3x3dbl_reduce"), f3dbl, 3, "3x3dbl_1")
    bd = unit(bd, f3dbl, 3, "3x3dbl_2", strides=2, padding="valid")
    bp = layers.MaxPooling2D(3, strides=2, data_format=data_format,
                             name=layer_name(name, "_pool"))(x)
    return layers.Concatenate(axis=axis, name=name)([b3, bd, bp])


@block_function(lambda a: (f"{a['f1']} | {a['f7_reduce']}→1x7→7x1 {a['f7']} | "
                           f"{a['f7dbl_reduce']}→7x1→1x7→7x1→1x7 {a['f7dbl']} | pool→{a['pool_proj']}"))
def inception_v3_b(x, f1, f7_reduce, f7, f7dbl_reduce, f7dbl, pool_proj, *, use_bias=False,
                   bn_scale=False, bn_epsilon=1e-3, count_include_pad=False, data_format=None,
                   name=None):
    """The 17x17 module with factorized 7x7s: 1x1 | 1x1-1x7-7x1 | 1x1-7x1-1x7-7x1-1x7 | pool-1x1.

    Args:
        x: rank-4 input tensor.
        f1: int, the 1x1 branch.
        f7_reduce, f7: ints; the second branch is 1x1 (f7_reduce), 1x7 (f7_reduce), 7x1 (f7).
        f7dbl_reduce, f7dbl: ints; the third branch is 1x1, 7x1, 1x7, 7x1 (all f7dbl_reduce)
            and a final 1x7 (f7dbl).
        pool_proj: int, the 1x1 after the 3x3/1 average pool.{pool}{options}

    Returns:
        Tensor of the input's spatial size, `f1 + f7 + f7dbl + pool_proj` channels.

    Example:
        >>> import keras
        >>> from cnnblocks.blocks import inception_v3_b
        >>> y = inception_v3_b(keras.Input((17, 17, 768)), 192, 128, 192, 128, 192, 192)
        >>> tuple(y.shape)
        (None, 17, 17, 768)
    """
    axis, unit, pool, _ = _prepare(
        x, dict(f1=f1, f7_reduce=f7_reduce, f7=f7, f7dbl_reduce=f7dbl_reduce, f7dbl=f7dbl,
                pool_proj=pool_proj), name, data_format, use_bias, bn_scale, bn_epsilon,
        count_include_pad=count_include_pad)
    b1 = unit(x, f1, 1, "1x1")
    b7 = unit(x, f7_reduce, 1, "7x7_reduce")
    b7 = unit(unit(b7, f7_reduce, (1, 7), "7x7_1"), f7, (7, 1), "7x7_2")
    bd = unit(x, f7dbl_reduce, 1, "7x7dbl_reduce")
    bd = unit(bd, f7dbl_reduce, (7, 1), "7x7dbl_1")
    bd = unit(bd, f7dbl_reduce, (1, 7), "7x7dbl_2")
    bd = unit(bd, f7dbl_reduce, (7, 1), "7x7dbl_3")
    bd = unit(bd, f7dbl, (1, 7), "7x7dbl_4")
    bp = unit(pool()(x), pool_proj, 1, "pool_proj")
    return layers.Concatenate(axis=axis, name=name)([b1, b7, bd, bp])


@block_function(lambda a: (f"{a['f3_reduce']}→{a['f3']} /2 | {a['f7_reduce']}→1x7→7x1→{a['f7']} /2 | "
                           "pool /2"))
def inception_v3_reduction_b(x, f3_reduce, f3, f7_reduce, f7, *, use_bias=False,
                             bn_scale=False, bn_epsilon=1e-3, data_format=None, name=None):
    """Grid reduction 17x17 -> 8x8: 1x1-3x3/2 | 1x1-1x7-7x1-3x3/2 | maxpool 3x3/2.

    Args:
        x: rank-4 input tensor, at least 3x3.
        f3_reduce, f3: ints, the 1x1 and the stride-2 3x3 of the first branch.
        f7_reduce, f7: ints; the second branch is 1x1 (f7_reduce), 1x7, 7x1 and the stride-2
            3x3 (f7).{options}

    Returns:
        Tensor of spatial size `(n - 3) // 2 + 1`, `f3 + f7 + c_in` channels.

    Example:
        >>> import keras
        >>> from cnnblocks.blocks import inception_v3_reduction_b
        >>> y = inception_v3_reduction_b(keras.Input((17, 17, 768)), 192, 320, 192, 192)
        >>> tuple(y.shape)
        (None, 8, 8, 1280)
    """
    axis, unit, _, data_format = _prepare(
        x, dict(f3_reduce=f3_reduce, f3=f3, f7_reduce=f7_reduce, f7=f7), name, data_format,
        use_bias, bn_scale, bn_epsilon, min_size=3, why="3x3 'valid' stride-2 reductions")
    b3 = unit(unit(x, f3_reduce, 1, "3x3_reduce"), f3, 3, "3x3", strides=2, padding="valid")
    b7 = unit(x, f7_reduce, 1, "7x7x3_reduce")
    b7 = unit(unit(b7, f7_reduce, (1, 7), "7x7x3_1"), f7_reduce, (7, 1), "7x7x3_2")
    b7 = unit(b7, f7, 3, "7x7x3_3", strides=2, padding="valid")
    bp = layers.MaxPooling2D(3, strides=2, data_format=data_format,
                             name=layer_name(name, "_pool"))(x)
    return layers.Concatenate(axis=axis, name=name)([b3, b7, bp])


@block_function(lambda a: (f"{a['f1']} | {a['f3_reduce']}→(1x3, 3x1) {a['f3']} | "
                           f"{a['f3dbl_reduce']}→{a['f3dbl']}→(1x3, 3x1) {a['f3dbl']} | pool→{a['pool_proj']}"))
def inception_v3_c(x, f1, f3_reduce, f3, f3dbl_reduce, f3dbl, pool_proj, *, use_bias=False,
                   bn_scale=False, bn_epsilon=1e-3, count_include_pad=False, concat_names=None,
                   data_format=None, name=None):
    """The 8x8 module with expanded filter banks: 1x1 | 1x1-(1x3,3x1) | 1x1-3x3-(1x3,3x1) | pool.

    Args:
        x: rank-4 input tensor.
        f1: int, the 1x1 branch.
        f3_reduce, f3: ints; 1x1 (f3_reduce) then parallel 1x3 and 3x1 (f3 each).
        f3dbl_reduce, f3dbl: ints; 1x1 (f3dbl_reduce), 3x3 (f3dbl), then parallel 1x3 and 3x1
            (f3dbl each).
        pool_proj: int, the 1x1 after the 3x3/1 average pool.
        concat_names: None or a pair, the names of the two inner concatenations (each a str,
            or None for its default); default `{name}_3x3_concat` and `{name}_3x3dbl_concat`.
            (keras.applications names the first `mixed9_0` in mixed9 and `mixed9_1` in
            mixed10.){pool}{options}

    Returns:
        Tensor of the input's spatial size, `f1 + 2 f3 + 2 f3dbl + pool_proj` channels.

    Example:
        >>> import keras
        >>> from cnnblocks.blocks import inception_v3_c
        >>> y = inception_v3_c(keras.Input((8, 8, 1280)), 320, 384, 384, 448, 384, 192)
        >>> tuple(y.shape)
        (None, 8, 8, 2048)
    """
    axis, unit, pool, _ = _prepare(
        x, dict(f1=f1, f3_reduce=f3_reduce, f3=f3, f3dbl_reduce=f3dbl_reduce, f3dbl=f3dbl,
                pool_proj=pool_proj), name, data_format, use_bias, bn_scale, bn_epsilon,
        count_include_pad=count_include_pad)
    concat_names = _concat_names(concat_names, name)
    b1 = unit(x, f1, 1, "1x1")
    b3 = unit(x, f3_reduce, 1, "3x3_reduce")
    b3 = layers.Concatenate(axis=axis, name=concat_names[0])(
        [unit(b3, f3, (1, 3), "3x3_1x3"), unit(b3, f3, (3, 1), "3x3_3x1")])
    bd = unit(unit(x, f3dbl_reduce, 1, "3x3dbl_reduce"), f3dbl, 3, "3x3dbl")
    bd = layers.Concatenate(axis=axis, name=concat_names[1])(
        [unit(bd, f3dbl, (1, 3), "3x3dbl_1x3"), unit(bd, f3dbl, (3, 1), "3x3dbl_3x1")])
    bp = unit(pool()(x), pool_proj, 1, "pool_proj")
    return layers.Concatenate(axis=axis, name=name)([b1, b3, bd, bp])


def _concat_names(concat_names, name):
    """The names of inception_v3_c's two inner concatenations: `concat_names` (a pair; None
    for either gives its default, `{name}_3x3_concat` / `{name}_3x3dbl_concat`), checked to be
    layer names different from each other and from `name` (the final concatenation)."""
    defaults = (layer_name(name, "_3x3_concat"), layer_name(name, "_3x3dbl_concat"))
    if concat_names is None:
        return defaults
    if not isinstance(concat_names, (list, tuple)) or len(concat_names) != 2:
        raise ValueError(f"`concat_names` must be None or a pair of names, "
                         f"received {check.describe(concat_names)}.")
    for i, value in enumerate(concat_names):
        check.layer_prefix(value, f"concat_names[{i}]")
    names = tuple(d if n is None else n for n, d in zip(concat_names, defaults))
    if names[0] == names[1] or name in names:
        raise ValueError(f"`concat_names` must differ from each other and from `name` "
                         f"({name!r:.40}); received {check.describe(concat_names)}.")
    return names


for _f in (inception_v3_a, inception_v3_reduction_a, inception_v3_b, inception_v3_reduction_b,
           inception_v3_c):
    _f.__doc__ = _f.__doc__.replace("{pool}", _POOL_DOC).replace("{options}", _OPTIONS_DOC)
del _f


# ---------------------------------------------------------------- cost walks (cnnblocks.cost) ---
# Each walks its module's layers on a `cnnblocks.cost.Tally` from the tally's current shape,
# branch by branch as the module builds them, and leaves the tally at the final concatenation.

def conv_unit_cost(tally, x, filters, kernel, *, strides=1, padding="same", bn_scale=False,
               use_bias=False):
    """One `unit` on input shape `x`: conv (`{branch}_conv`), BN (`_bn`), ReLU (`_relu`)."""
    tally.shape = x
    kernel = (kernel, kernel) if isinstance(kernel, int) else kernel
    tally.conv_hw(filters, kernel, strides, bias=use_bias, padding=padding)
    tally.bn() if bn_scale else tally.bn_unscaled()
    return tally.elementwise()


def _pool_cost(tally, x, count_include_pad):
    """`pool()` on `x`: the 3x3/1 "same" average pool (`_pool`), or with `count_include_pad`
    `_pool_pad` then a "valid" one."""
    tally.shape = x
    if count_include_pad:
        tally.pad(1)
        return tally.pool(3, 1)
    return tally.pool(3, 1, padding="same")


def inception_v3_a_cost(tally, f1, f5_reduce, f5, f3_reduce, f3, pool_proj, *, use_bias=False,
                        bn_scale=False, count_include_pad=False):
    """`inception_v3_a`'s costs (its arguments, checked by the caller)."""
    x, opt = tally.shape, dict(use_bias=use_bias, bn_scale=bn_scale)
    b1 = conv_unit_cost(tally, x, f1, 1, **opt)                                 # _1x1
    b5 = conv_unit_cost(tally, conv_unit_cost(tally, x, f5_reduce, 1, **opt), f5, 5, **opt)
    b3 = conv_unit_cost(tally, x, f3_reduce, 1, **opt)                          # _3x3dbl_*
    b3 = conv_unit_cost(tally, conv_unit_cost(tally, b3, f3, 3, **opt), f3, 3, **opt)
    bp = conv_unit_cost(tally, _pool_cost(tally, x, count_include_pad), pool_proj, 1, **opt)
    return tally.concat(b1, b5, b3, bp)                                     # {name}


def inception_v3_reduction_a_cost(tally, f3, f3dbl_reduce, f3dbl, *, use_bias=False,
                                  bn_scale=False):
    """`inception_v3_reduction_a`'s costs."""
    x, opt = tally.shape, dict(use_bias=use_bias, bn_scale=bn_scale)
    b3 = conv_unit_cost(tally, x, f3, 3, strides=2, padding="valid", **opt)     # _3x3
    bd = conv_unit_cost(tally, conv_unit_cost(tally, x, f3dbl_reduce, 1, **opt), f3dbl, 3, **opt)
    bd = conv_unit_cost(tally, bd, f3dbl, 3, strides=2, padding="valid", **opt)
    tally.shape = x                                                         # _pool
    bp = tally.pool(3, 2)
    return tally.concat(b3, bd, bp)


def inception_v3_b_cost(tally, f1, f7_reduce, f7, f7dbl_reduce, f7dbl, pool_proj, *,
                        use_bias=False, bn_scale=False, count_include_pad=False):
    """`inception_v3_b`'s costs."""
    x, opt = tally.shape, dict(use_bias=use_bias, bn_scale=bn_scale)
    b1 = conv_unit_cost(tally, x, f1, 1, **opt)                                 # _1x1
    b7 = conv_unit_cost(tally, x, f7_reduce, 1, **opt)                          # _7x7_*
    b7 = conv_unit_cost(tally, conv_unit_cost(tally, b7, f7_reduce, (1, 7), **opt), f7, (7, 1),
                        **opt)
    bd = conv_unit_cost(tally, x, f7dbl_reduce, 1, **opt)                       # _7x7dbl_*
    for filters, kernel in ((f7dbl_reduce, (7, 1)), (f7dbl_reduce, (1, 7)),
                            (f7dbl_reduce, (7, 1)), (f7dbl, (1, 7))):
        bd = conv_unit_cost(tally, bd, filters, kernel, **opt)
    bp = conv_unit_cost(tally, _pool_cost(tally, x, count_include_pad), pool_proj, 1, **opt)
    return tally.concat(b1, b7, bd, bp)


def inception_v3_reduction_b_cost(tally, f3_reduce, f3, f7_reduce, f7, *, use_bias=False,
                                  bn_scale=False):
    """`inception_v3_reduction_b`'s costs."""
    x, opt = tally.shape, dict(use_bias=use_bias, bn_scale=bn_scale)
    b3 = conv_unit_cost(tally, x, f3_reduce, 1, **opt)                          # _3x3_reduce, _3x3
    b3 = conv_unit_cost(tally, b3, f3, 3, strides=2, padding="valid", **opt)
    b7 = conv_unit_cost(tally, x, f7_reduce, 1, **opt)                          # _7x7x3_*
    b7 = conv_unit_cost(tally, conv_unit_cost(tally, b7, f7_reduce, (1, 7), **opt), f7_reduce,
                        (7, 1), **opt)
    b7 = conv_unit_cost(tally, b7, f7, 3, strides=2, padding="valid", **opt)
    tally.shape = x                                                         # _pool
    bp = tally.pool(3, 2)
    return tally.concat(b3, b7, bp)


def inception_v3_c_cost(tally, f1, f3_reduce, f3, f3dbl_reduce, f3dbl, pool_proj, *,
                        use_bias=False, bn_scale=False, count_include_pad=False):
    """`inception_v3_c`'s costs (its two inner concatenations included)."""
    x, opt = tally.shape, dict(use_bias=use_bias, bn_scale=bn_scale)
    b1 = conv_unit_cost(tally, x, f1, 1, **opt)                                 # _1x1
    b3 = conv_unit_cost(tally, x, f3_reduce, 1, **opt)                          # _3x3_*, concat 0
    b3 = tally.concat(conv_unit_cost(tally, b3, f3, (1, 3), **opt),
                      conv_unit_cost(tally, b3, f3, (3, 1), **opt))
    bd = conv_unit_cost(tally, conv_unit_cost(tally, x, f3dbl_reduce, 1, **opt), f3dbl, 3, **opt)
    bd = tally.concat(conv_unit_cost(tally, bd, f3dbl, (1, 3), **opt),          # concat 1
                      conv_unit_cost(tally, bd, f3dbl, (3, 1), **opt))
    bp = conv_unit_cost(tally, _pool_cost(tally, x, count_include_pad), pool_proj, 1, **opt)
    return tally.concat(b1, b3, bd, bp)
