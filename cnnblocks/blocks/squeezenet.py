"""SqueezeNet's fire module (Iandola et al., "SqueezeNet: AlexNet-level accuracy with 50x fewer
parameters and <0.5MB model size", 2016, https://arxiv.org/abs/1602.07360)."""

from keras import layers

from cnnblocks import _validation as check
from cnnblocks.blocks.common import check_input, conv_bn_act, layer_name, resolve_data_format
from cnnblocks.identity import block_function


@block_function(lambda a: f"{a['squeeze']} → {a['expand1x1']} | 3x3 {a['expand3x3']}")
def fire_module(x, squeeze, expand1x1, expand3x3, *, data_format=None, name=None):
    """The fire module: a 1x1 "squeeze" convolution feeding parallel 1x1 and 3x3 "expand"
    convolutions, concatenated (the paper's Figure 1).

    The arguments are the paper's Table 1 columns `s1x1`, `e1x1` and `e3x3`. Every convolution
    has a bias and a ReLU (no batch normalization), as in the paper; the 3x3 is same-padded
    (1 pixel), so the module keeps the spatial size.

    Args:
        x: rank-4 input tensor.
        squeeze: int, filters of the 1x1 squeeze convolution (`s1x1`).
        expand1x1: int, filters of the 1x1 expand convolution (`e1x1`).
        expand3x3: int, filters of the 3x3 expand convolution (`e3x3`).
        data_format: `"channels_last"`, `"channels_first"` or None (Keras' setting).
        name: str or None; layers are `{name}_squeeze1x1`, `{name}_expand1x1`,
            `{name}_expand3x3` and `{name}_concat`.

    Returns:
        Tensor of the input's spatial size with `expand1x1 + expand3x3` channels.

    Parameters:
        `(c + 1) s + (s + 1) e1 + (9 s + 1) e3` for `c` input channels.

    Note:
        The paper asks for `s1x1 < e1x1 + e3x3` (the squeeze limits the 3x3's input channels);
        it is a design rule, not enforced here.

    Example:
        >>> import keras
        >>> from cnnblocks.blocks import fire_module
        >>> y = fire_module(keras.Input((55, 55, 96)), 16, 64, 64, name="fire2")
        >>> tuple(y.shape)
        (None, 55, 55, 128)
    """
    data_format, axis = resolve_data_format(data_format)
    for arg, value in (("squeeze", squeeze), ("expand1x1", expand1x1),
                       ("expand3x3", expand3x3)):
        check.positive_int(value, arg)
    check_input(x, data_format)
    conv = dict(batch_norm=False, data_format=data_format, name=name)
    s = conv_bn_act(x, squeeze, 1, suffixes=("_squeeze1x1", "", ""), **conv)
    e1 = conv_bn_act(s, expand1x1, 1, suffixes=("_expand1x1", "", ""), **conv)
    e3 = conv_bn_act(s, expand3x3, 3, suffixes=("_expand3x3", "", ""), **conv)
    return layers.Concatenate(axis=axis, name=layer_name(name, "_concat"))([e1, e3])


def fire_module_cost(tally, squeeze, expand1x1, expand3x3):
    """Walks `fire_module`'s layers on a `cnnblocks.cost.Tally` whose shape is the module's
    input, without building anything (the arguments are assumed checked). Returns the output
    shape."""
    squeezed = tally.conv(squeeze, 1, bias=True)                # _squeeze1x1 (ReLU fused)
    tally.conv(expand1x1, 1, bias=True)                         # _expand1x1
    tally.shape = squeezed
    tally.conv(expand3x3, 3, bias=True, padding="same")         # _expand3x3
    return tally.concat(expand1x1, expand3x3)                   # _concat
