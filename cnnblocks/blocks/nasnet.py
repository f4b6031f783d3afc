"""NASNet-A's blocks (Zoph, Vasudevan, Shlens, Le, "Learning Transferable Architectures for
Scalable Image Recognition", CVPR 2018, https://arxiv.org/abs/1707.07012): the stem, the
normal and reduction cells of the paper's Figure 4, and the adjust step that aligns a cell's
second input.

Two inputs. A NASNet cell reads the outputs of the two cells before it: `x` (the last one,
`h_i` in the paper) and `previous` (the one before, `h_{i-1}`). Both are arguments of the
block, and the block returns its new output only; the caller keeps the pair moving:

    >>> import keras
    >>> from cnnblocks.blocks import nasnet_normal_cell
    >>> x = keras.Input((28, 28, 44))
    >>> y = nasnet_normal_cell(x, None, 44, name="0")  # previous=None: x is both inputs
    >>> z = nasnet_normal_cell(y, x, 44, name="1")  # the next cell: its x, the one before
    >>> tuple(z.shape)
    (None, 28, 28, 264)

Before a cell uses `previous`, `nasnet_adjust` aligns it with `x`: a *factorized reduction*
(two 1x1 convolutions of stride 2 on pixel grids shifted by one, concatenated) when `previous`
has twice `x`'s spatial size (it comes from before a reduction cell), else a 1x1 projection
when its channel count is not the cell's `filters`, else nothing. Both recorded inputs are the
block's inputs (`cnnblocks.summarize` gives one row per cell; the adjust layers belong to
the cell that uses them).

Names. Layer names follow keras.applications' NASNet grammar, where the block's `name` (its
*block id*: `"stem_1"`, `"0"`, `"reduce_4"`) ends every layer name: `normal_conv_1_0`,
`separable_conv_1_normal_left1_0`, `adjust_conv_projection_0`, `reduction_concat_reduce_4`.
The layers keras.applications leaves unnamed (ReLUs, the adjust step's shift, one addition)
are named in the same grammar: `normal_relu_1_0`, `separable_conv_1_relu_normal_left1_0`,
`adjust_pad_2_0` / `adjust_crop_2_0` / `adjust_concat_0`, `adjust_relu_projection_0`,
`reduction_add_left4_reduce_4`. Every batch normalization has momentum 0.9997 and epsilon
1e-3, every convolution no bias, as keras.applications' NASNet (the released TF-slim model).
"""

from keras import layers

from cnnblocks import _validation as check
from cnnblocks.blocks.common import (channels, check_input, check_options, downsample_padding,
                                     resolve_data_format, spatial_size)
from cnnblocks.identity import block_function

#: keras.applications' NASNet batch normalization (TF-slim's NASNet-A): momentum, epsilon.
BN_MOMENTUM = 0.9997
BN_EPSILON = 1e-3

_PREVIOUS_STRIDES = ("auto", 1, 2)


class _Units:
    """The layer makers of one block: data format, channel axis and BN settings decided once."""

    def __init__(self, data_format, bn_momentum, bn_epsilon):
        self.data_format = data_format
        self.axis = -1 if data_format == "channels_last" else 1
        self.bn_momentum, self.bn_epsilon = bn_momentum, bn_epsilon

    def bn(self, t, name):
        return layers.BatchNormalization(axis=self.axis, momentum=self.bn_momentum,
                                         epsilon=self.bn_epsilon, name=name)(t)

    def conv1x1(self, t, filters, name):
        return layers.Conv2D(filters, 1, padding="same", use_bias=False,
                             kernel_initializer="he_normal", data_format=self.data_format,
                             name=name)(t)

    def pool(self, kind, t, strides, padding, name, size=3):
        pool = layers.AveragePooling2D if kind == "avg" else layers.MaxPooling2D
        return pool(size, strides=strides, padding=padding, data_format=self.data_format,
                    name=name)(t)

    def separable(self, t, filters, kernel_size, bid, strides=1):
        """keras.applications' `_separable_conv_block`: (ReLU - SeparableConv - BN) twice, the
        first with `strides` (zero padding + "valid" at stride 2), layers `*_{bid}`."""
        for i in (1, 2):
            t = layers.Activation("relu", name=f"separable_conv_{i}_relu_{bid}")(t)
            padding = "same"
            if i == 1 and strides == 2:
                pads = downsample_padding(t.shape, (kernel_size, kernel_size), self.data_format)
                t = layers.ZeroPadding2D(pads, data_format=self.data_format,
                                         name=f"separable_conv_1_pad_{bid}")(t)
                padding = "valid"
            t = layers.SeparableConv2D(filters, kernel_size, strides=strides if i == 1 else 1,
                                       padding=padding, use_bias=False,
                                       data_format=self.data_format,
                                       name=f"separable_conv_{i}_{bid}")(t)
            t = self.bn(t, f"separable_conv_{i}_bn_{bid}")
        return t


def _check_common(filters, bn_momentum, bn_epsilon, data_format):
    check.positive_int(filters, "filters")
    check_options(bn_epsilon=bn_epsilon)
    if isinstance(bn_momentum, bool) or not isinstance(bn_momentum, (int, float)) or not (
            0 <= bn_momentum < 1):
        raise ValueError(f"`bn_momentum` must be a number in [0, 1), received "
                         f"{check.describe(bn_momentum)}.")
    data_format, _ = resolve_data_format(data_format)
    return data_format


def _stride_between(x, previous, previous_stride, data_format):
    """1 or 2: how much larger `previous`'s grid is than `x`'s (`previous_stride`, or from
    their static widths for `"auto"`)."""
    check.choice(previous_stride, "previous_stride", _PREVIOUS_STRIDES)
    if previous_stride != "auto":
        return previous_stride
    width_x = spatial_size(x.shape, data_format)[1]
    width_p = spatial_size(previous.shape, data_format)[1]
    if width_x is None or width_p is None:
        raise ValueError("`previous_stride='auto'` needs the static widths of `x` and "
                         f"`previous`; received shapes {tuple(x.shape)} and "
                         f"{tuple(previous.shape)}: pass previous_stride=1 or 2.")
    return 1 if width_x == width_p else 2


def _adjust(units, previous, filters, strides, bid):
    """The body of `nasnet_adjust`."""
    c_p = channels(previous.shape, units.data_format)
    if strides == 2:
        p = layers.Activation("relu", name=f"adjust_relu_1_{bid}")(previous)
        p1 = units.pool("avg", p, 2, "valid", f"adjust_avg_pool_1_{bid}", size=1)
        p1 = units.conv1x1(p1, filters // 2, f"adjust_conv_1_{bid}")
        # The second path reads the grid shifted by one pixel (down and right).
        p2 = layers.ZeroPadding2D(((0, 1), (0, 1)), data_format=units.data_format,
                                  name=f"adjust_pad_2_{bid}")(p)
        p2 = layers.Cropping2D(((1, 0), (1, 0)), data_format=units.data_format,
                               name=f"adjust_crop_2_{bid}")(p2)
        p2 = units.pool("avg", p2, 2, "valid", f"adjust_avg_pool_2_{bid}", size=1)
        p2 = units.conv1x1(p2, filters // 2, f"adjust_conv_2_{bid}")
        p = layers.Concatenate(axis=units.axis, name=f"adjust_concat_{bid}")([p1, p2])
        return units.bn(p, f"adjust_bn_{bid}")
    if c_p != filters:
        p = layers.Activation("relu", name=f"adjust_relu_projection_{bid}")(previous)
        p = units.conv1x1(p, filters, f"adjust_conv_projection_{bid}")
        return units.bn(p, f"adjust_bn_{bid}")
    return previous


@block_function(lambda a: (f"factorized reduction → {a['filters'] // 2 * 2}"
                           if a["strides"] == 2 else f"1x1 → {a['filters']}"))
def nasnet_adjust(previous, filters, *, strides=1, bn_momentum=BN_MOMENTUM,
                  bn_epsilon=BN_EPSILON, data_format=None, name=None):
    """Aligns a cell's second input with its first (keras.applications' `_adjust_block`).

    With `strides=2` (`previous` comes from before a reduction, on a grid twice as fine):
    ReLU, then two paths of 1x1 average pooling with stride 2 and a 1x1 convolution to
    `filters // 2`, the second path on the grid shifted by one pixel (zero padding at the
    bottom/right, cropping at the top/left), concatenated, BN: a factorized reduction, as
    keras.applications' NASNet (the released model).
    With `strides=1`: ReLU - 1x1 convolution - BN when `previous` does not have `filters`
    channels, else `previous` unchanged (no layers).

    Args:
        previous: rank-4 tensor, the output of the cell before the last one.
        filters: int, the channels the cell needs.
        strides: 1 or 2, how much finer `previous`'s grid is. Default 1.
        bn_momentum: float. Default 0.9997 (keras.applications).
        bn_epsilon: float. Default 1e-3.
        data_format: `"channels_last"`, `"channels_first"` or None (Keras' setting).
        name: str or None, the block id ending every layer name (`adjust_conv_1_{name}`).

    Returns:
        Tensor with `2 (filters // 2)` channels at half the size (rounded up) for
        `strides=2`; `filters` channels at the same size otherwise.

    Parameters:
        `strides=2`: `2 c (filters // 2) + 8 (filters // 2)`; `strides=1`:
        `c filters + 4 filters` for `c != filters` input channels, else 0.

    Example:
        >>> import keras
        >>> from cnnblocks.blocks import nasnet_adjust
        >>> y = nasnet_adjust(keras.Input((56, 56, 44)), 44, strides=2, name="0")
        >>> tuple(y.shape)
        (None, 28, 28, 44)
    """
    data_format = _check_common(filters, bn_momentum, bn_epsilon, data_format)
    check.choice(strides, "strides", (1, 2))
    check_input(previous, data_format, min_size=2 if strides == 2 else 1,
                why="a factorized reduction", arg="previous")
    units = _Units(data_format, bn_momentum, bn_epsilon)
    return _adjust(units, previous, filters, strides, name)


def _cell_inputs(x, previous, filters, previous_stride, bn_momentum, bn_epsilon, data_format,
                 kind, name):
    """Checks a cell's arguments; returns (units, h, p): the cell's 1x1 on `x` and the
    adjusted `previous`."""
    data_format = _check_common(filters, bn_momentum, bn_epsilon, data_format)
    check_input(x, data_format, min_size=2 if kind == "reduction" else 1,
                why="a reduction cell")
    if previous is None:
        check.choice(previous_stride, "previous_stride", _PREVIOUS_STRIDES)
        c = channels(x.shape, data_format)
        if kind == "normal" and c != filters:
            raise ValueError(f"`previous=None` makes `x` the second input, which a normal cell "
                             f"adds to its {filters}-channel branches (`filters`), but `x` has "
                             f"{c} channels; pass `previous` or filters={c}.")
        previous, strides = x, None
    else:
        check_input(previous, data_format, arg="previous")
        strides = _stride_between(x, previous, previous_stride, data_format)
    units = _Units(data_format, bn_momentum, bn_epsilon)
    p = previous if strides is None else _adjust(units, previous, filters, strides, name)
    h = layers.Activation("relu", name=f"{kind}_relu_1_{name}")(x)
    h = units.conv1x1(h, filters, f"{kind}_conv_1_{name}")
    h = units.bn(h, f"{kind}_bn_1_{name}")
    return units, h, p


_CELL_ARGS = """
    Args:
        x: rank-4 tensor, the last cell's output (`h_i`).
        previous: rank-4 tensor, the output of the cell before (`h_{{i-1}}`), or None: `x`
            stands for both (the first cell; a normal cell then needs `x` with `filters`
            channels, as it adds `x` to an F-channel branch).
        filters: int, the width `F` of every operation in the cell.
        previous_stride: `"auto"` (from the static widths of `x` and `previous`: 2 where
            they differ, as keras.applications decides), 1 or 2 (needed where the sizes are
            unknown). Ignored when `previous` is None. Default `"auto"`.
        bn_momentum: float. Default 0.9997 (keras.applications).
        bn_epsilon: float. Default 1e-3.
        data_format: `"channels_last"`, `"channels_first"` or None (Keras' setting).
        name: str or None, the block id ending every layer name (`{kind}_conv_1_{{name}}`)."""


@block_function(lambda a: f"normal cell F={a['filters']}")
def nasnet_normal_cell(x, previous, filters, *, previous_stride="auto",
                       bn_momentum=BN_MOMENTUM, bn_epsilon=BN_EPSILON, data_format=None,
                       name=None):
    """NASNet-A's normal cell (the paper's Figure 4, left): keeps the size, 6 F channels.

    `previous` is aligned (`nasnet_adjust`) to `p` with F channels on `x`'s grid; `x` goes
    through ReLU - 1x1 convolution to F - BN (`h`). Five combinations, each the sum of two
    operations, and `p` are concatenated (`normal_concat_{name}`):

    1. sep 5x5 (h) + sep 3x3 (p);  2. sep 5x5 (p) + sep 3x3 (p);
    3. avg 3x3 (h) + p;  4. avg 3x3 (p) + avg 3x3 (p);  5. sep 3x3 (h) + h.

    Every "sep" is (ReLU - separable convolution - BN) twice; pools are 3x3, stride 1, "same".
    {args}

    Returns:
        Tensor of `x`'s spatial size with `6 filters` channels.

    Parameters:
        `c F + 4 F` (the 1x1 on `x`, `c` channels) + `10 F^2 + 194 F` (the five separable
        blocks: `2 k^2 F + 2 F^2 + 8 F` each, kernels 5, 3, 5, 3, 3) + the adjust step's
        (`nasnet_adjust`).

    Note:
        The operations are those of the paper's Figure 4; the order of the concatenation
        and the input each operation reads are keras.applications' (the released model).

    Example:
        >>> import keras
        >>> from cnnblocks.blocks import nasnet_normal_cell
        >>> x, previous = keras.Input((28, 28, 264)), keras.Input((28, 28, 264))
        >>> y = nasnet_normal_cell(x, previous, 44, name="1")
        >>> tuple(y.shape)
        (None, 28, 28, 264)
    """
    units, h, p = _cell_inputs(x, previous, filters, previous_stride, bn_momentum, bn_epsilon,
                               data_format, "normal", name)
    x1 = layers.Add(name=f"normal_add_1_{name}")([
        units.separable(h, filters, 5, f"normal_left1_{name}"),
        units.separable(p, filters, 3, f"normal_right1_{name}")])
    x2 = layers.Add(name=f"normal_add_2_{name}")([
        units.separable(p, filters, 5, f"normal_left2_{name}"),
        units.separable(p, filters, 3, f"normal_right2_{name}")])
    x3 = layers.Add(name=f"normal_add_3_{name}")([
        units.pool("avg", h, 1, "same", f"normal_left3_{name}"), p])
    x4 = layers.Add(name=f"normal_add_4_{name}")([
        units.pool("avg", p, 1, "same", f"normal_left4_{name}"),
        units.pool("avg", p, 1, "same", f"normal_right4_{name}")])
    x5 = layers.Add(name=f"normal_add_5_{name}")([
        units.separable(h, filters, 3, f"normal_left5_{name}"), h])
    return layers.Concatenate(axis=units.axis, name=f"normal_concat_{name}")(
        [p, x1, x2, x3, x4, x5])


@block_function(lambda a: f"reduction cell F={a['filters']} /2")
def nasnet_reduction_cell(x, previous, filters, *, previous_stride="auto",
                          bn_momentum=BN_MOMENTUM, bn_epsilon=BN_EPSILON, data_format=None,
                          name=None):
    """NASNet-A's reduction cell (the paper's Figure 4, right): halves the size, 4 F channels.

    `previous` is aligned (`nasnet_adjust`) to `p`; `x` goes through ReLU - 1x1 convolution to
    F - BN (`h`), and `h3` is `h` zero-padded for the 3x3/2 "valid" pools. Combinations (sums
    of two operations, stride 2 unless noted):

    1. sep 5x5 (h) + sep 7x7 (p);  2. max 3x3 (h3) + sep 7x7 (p);
    3. avg 3x3 (h3) + sep 5x5 (p);  4. avg 3x3 stride 1 (combination 1) + combination 2;
    5. sep 3x3 stride 1 (combination 1) + max 3x3 (h3);

    2, 3, 4 and 5 are concatenated (`reduction_concat_{name}`). Every "sep" is (ReLU -
    separable convolution - BN) twice, the first with the stride (keras.applications' zero
    padding and "valid" convolution at stride 2).
    {args}

    Returns:
        Tensor of half `x`'s size (rounded up) with `4 filters` channels.

    Parameters:
        `c F + 4 F` (the 1x1 on `x`, `c` channels) + `10 F^2 + 354 F` (the five separable
        blocks: `2 k^2 F + 2 F^2 + 8 F` each, kernels 5, 7, 7, 5, 3) + the adjust step's
        (`nasnet_adjust`). With `previous=None` there is no adjust step and the three blocks
        on `p` (kernels 7, 7, 5) read `x` itself: `(k^2 + F)(c - F)` more each.

    Note:
        The paper's Figure 4 draws the reduction cell's operations; the inputs of
        combinations 4 and 5 and the concatenation's order are keras.applications' (the
        released model), where combination 1 is not part of the output.

    Example:
        >>> import keras
        >>> from cnnblocks.blocks import nasnet_reduction_cell
        >>> x, previous = keras.Input((28, 28, 264)), keras.Input((28, 28, 264))
        >>> y = nasnet_reduction_cell(x, previous, 88, name="reduce_4")
        >>> tuple(y.shape)
        (None, 14, 14, 352)
    """
    units, h, p = _cell_inputs(x, previous, filters, previous_stride, bn_momentum, bn_epsilon,
                               data_format, "reduction", name)
    pads = downsample_padding(h.shape, (3, 3), units.data_format)
    h3 = layers.ZeroPadding2D(pads, data_format=units.data_format,
                              name=f"reduction_pad_1_{name}")(h)
    x1 = layers.Add(name=f"reduction_add_1_{name}")([
        units.separable(h, filters, 5, f"reduction_left1_{name}", strides=2),
        units.separable(p, filters, 7, f"reduction_right1_{name}", strides=2)])
    x2 = layers.Add(name=f"reduction_add_2_{name}")([
        units.pool("max", h3, 2, "valid", f"reduction_left2_{name}"),
        units.separable(p, filters, 7, f"reduction_right2_{name}", strides=2)])
    x3 = layers.Add(name=f"reduction_add3_{name}")([
        units.pool("avg", h3, 2, "valid", f"reduction_left3_{name}"),
        units.separable(p, filters, 5, f"reduction_right3_{name}", strides=2)])
    x4 = layers.Add(name=f"reduction_add_left4_{name}")([
        x2, units.pool("avg", x1, 1, "same", f"reduction_left4_{name}")])
    x5 = layers.Add(name=f"reduction_add4_{name}")([
        units.separable(x1, filters, 3, f"reduction_left4_{name}"),
        units.pool("max", h3, 2, "valid", f"reduction_right5_{name}")])
    return layers.Concatenate(axis=units.axis, name=f"reduction_concat_{name}")(
        [x2, x3, x4, x5])


@block_function(lambda a: f"3x3 {a['filters']} /2")
def nasnet_stem(x, filters, *, bn_momentum=BN_MOMENTUM, bn_epsilon=BN_EPSILON,
                data_format=None, name=None):
    """NASNet's stem convolution: 3x3 stride 2 "valid" convolution (no bias) - BN, no ReLU
    (each cell starts with its own).

    Args:
        x: rank-4 input tensor, at least 3x3.
        filters: int, the stem's width (32 for NASNet-A Mobile, 96 for Large).
        bn_momentum: float. Default 0.9997 (keras.applications).
        bn_epsilon: float. Default 1e-3.
        data_format: `"channels_last"`, `"channels_first"` or None (Keras' setting).
        name: str or None; layers `{name}_conv1`, `{name}_bn1` (keras.applications: `"stem"`).

    Returns:
        Tensor of size `(n - 3) // 2 + 1` with `filters` channels.

    Parameters:
        `27 filters + 4 filters` for 3 input channels (`9 c filters + 4 filters`).

    Example:
        >>> import keras
        >>> from cnnblocks.blocks import nasnet_stem
        >>> y = nasnet_stem(keras.Input((224, 224, 3)), 32, name="stem")
        >>> tuple(y.shape)
        (None, 111, 111, 32)
    """
    data_format = _check_common(filters, bn_momentum, bn_epsilon, data_format)
    check_input(x, data_format, min_size=3, why="the 3x3 convolution")
    units = _Units(data_format, bn_momentum, bn_epsilon)
    y = layers.Conv2D(filters, 3, strides=2, padding="valid", use_bias=False,
                      kernel_initializer="he_normal", data_format=data_format,
                      name=f"{name}_conv1")(x)
    return units.bn(y, f"{name}_bn1")


for _f in (nasnet_normal_cell, nasnet_reduction_cell):
    _f.__doc__ = _f.__doc__.replace("{args}", _CELL_ARGS.replace("{kind}", _f.__name__[7:-5])
                                    .replace("{{", "{").replace("}}", "}"))
del _f


# ---------------------------------------------------------------- cost walks (cnnblocks.cost) ---
# Each walks its block's layers on a `cnnblocks.cost.Tally`, from explicit input shapes (a cell
# reads two), in the block's order, and leaves the tally at the block's output.

def _separable_cost(tally, t, filters, kernel_size, strides=1):
    """`_Units.separable` on input shape `t`: (ReLU `separable_conv_{i}_relu_*`, at stride 2
    first the zero padding `separable_conv_1_pad_*` and a "valid" convolution,
    `separable_conv_{i}_*`, BN `separable_conv_{i}_bn_*`) twice."""
    tally.shape = t
    for i in (1, 2):
        tally.elementwise()
        if i == 1 and strides == 2:
            tally.downsample_pad(kernel_size)
            tally.separable_conv(filters, kernel_size, 2, padding=0)
        else:
            tally.separable_conv(filters, kernel_size)
        tally.bn()
    return tally.shape


def nasnet_adjust_cost(tally, previous, filters, *, strides=1):
    """`nasnet_adjust`'s costs on `previous`'s shape; returns the aligned shape."""
    tally.shape = previous
    if strides == 2:
        tally.elementwise()                                     # adjust_relu_1
        relu = tally.shape
        tally.pool(1, 2)                                        # adjust_avg_pool_1, _conv_1
        p1 = tally.conv(filters // 2, 1, padding="same")
        tally.shape = relu                                      # adjust_pad_2, adjust_crop_2
        tally.pad(((0, 1), (0, 1)))
        tally.elementwise(relu)
        tally.pool(1, 2)                                        # adjust_avg_pool_2, _conv_2
        p2 = tally.conv(filters // 2, 1, padding="same")
        tally.concat(p1, p2)                                    # adjust_concat, adjust_bn
        return tally.bn()
    if previous[-1] != filters:
        tally.elementwise()                                     # adjust_relu_projection,
        tally.conv(filters, 1, padding="same")                  # _conv_projection, adjust_bn
        return tally.bn()
    return previous


def _cell_inputs_cost(tally, x, previous, filters, previous_stride, kind):
    """`_cell_inputs`: the adjusted `previous` (x itself when None), then `h`: ReLU
    `{kind}_relu_1`, the 1x1 `{kind}_conv_1`, BN `{kind}_bn_1`. Returns (h, p) shapes."""
    p = x if previous is None else nasnet_adjust_cost(tally, previous, filters,
                                                      strides=previous_stride)
    tally.shape = x
    tally.elementwise()
    tally.conv(filters, 1, padding="same")
    return tally.bn(), p


def _pool_cost(tally, t, strides, padding):
    """A 3x3 average or max pool of `_Units.pool` on input shape `t`."""
    tally.shape = t
    return tally.pool(3, strides, padding=padding)


def nasnet_normal_cell_cost(tally, x, previous, filters, *, previous_stride=1):
    """`nasnet_normal_cell`'s costs on input shapes `x` and `previous` (None: `x` is both),
    `previous_stride` 1 or 2 (the builder's, resolved)."""
    h, p = _cell_inputs_cost(tally, x, previous, filters, previous_stride, "normal")
    adds = []
    for left, right in (                                        # normal_add_1 ... _5
            (lambda: _separable_cost(tally, h, filters, 5),     # left1, right1
             lambda: _separable_cost(tally, p, filters, 3)),
            (lambda: _separable_cost(tally, p, filters, 5),     # left2, right2
             lambda: _separable_cost(tally, p, filters, 3)),
            (lambda: _pool_cost(tally, h, 1, "same"), lambda: p),          # left3
            (lambda: _pool_cost(tally, p, 1, "same"),           # left4, right4
             lambda: _pool_cost(tally, p, 1, "same")),
            (lambda: _separable_cost(tally, h, filters, 3), lambda: h)):   # left5
        left(), right()
        adds.append(tally.elementwise(h))
    return tally.concat(p, *adds)                               # normal_concat


def nasnet_reduction_cell_cost(tally, x, previous, filters, *, previous_stride=1):
    """`nasnet_reduction_cell`'s costs, as `nasnet_normal_cell_cost`'s."""
    h, p = _cell_inputs_cost(tally, x, previous, filters, previous_stride, "reduction")
    tally.shape = h                                             # reduction_pad_1
    h3 = tally.downsample_pad(3)

    def sep(t, kernel_size, strides=2):
        return _separable_cost(tally, t, filters, kernel_size, strides)
    sep(h, 5), sep(p, 7)                                        # left1, right1, add_1
    x1 = tally.elementwise()
    _pool_cost(tally, h3, 2, 0), sep(p, 7)                      # left2 (max), right2, add_2
    x2 = tally.elementwise()
    _pool_cost(tally, h3, 2, 0), sep(p, 5)                      # left3 (avg), right3, add3
    x3 = tally.elementwise()
    _pool_cost(tally, x1, 1, "same")                            # left4 (avg), add_left4
    x4 = tally.elementwise()
    sep(x1, 3, 1), _pool_cost(tally, h3, 2, 0)                  # left4 (sep), right5, add4
    x5 = tally.elementwise()
    return tally.concat(x2, x3, x4, x5)                         # reduction_concat


def nasnet_stem_cost(tally, filters):
    """`nasnet_stem`'s costs: the 3x3/2 "valid" convolution `{name}_conv1`, BN `{name}_bn1`."""
    tally.conv(filters, 3, 2)
    return tally.bn()
