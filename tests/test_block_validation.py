"""Every validation error of the blocks: the right exception, naming the argument and echoing
the value received (never a trace from deep inside Keras)."""

import numpy as np
import pytest

import keras
from cnnblocks.blocks import (bottleneck_module, conv_bn_act, inception_module, inception_v3_a,
                              inception_v3_c, inception_v3_reduction_a,
                              inception_v3_reduction_b, naive_inception_module,
                              residual_module, resolve_data_format, vgg_block, xception_module)


def img(h=8, w=8, c=4):
    return keras.Input((h, w, c))


CASES = [
    # widths and counts
    ("vgg_filters_zero", lambda: vgg_block(img(), 0), ValueError, r"`filters`.*received 0"),
    ("vgg_filters_negative", lambda: vgg_block(img(), -3), ValueError, r"`filters`.*-3"),
    ("vgg_filters_float", lambda: vgg_block(img(), 6.5), TypeError, r"`filters`.*6\.5"),
    ("vgg_filters_bool", lambda: vgg_block(img(), True), TypeError, r"`filters`.*True"),
    ("vgg_convs_zero", lambda: vgg_block(img(), 8, 0), ValueError, r"`convs`.*received 0"),
    ("vgg_convs_str", lambda: vgg_block(img(), 8, "2"), TypeError, r"`convs`.*'2'"),
    ("vgg_kernel", lambda: vgg_block(img(), 8, kernel_size=(3, 3, 3)), ValueError,
     r"`kernel_size`.*\(3, 3, 3\)"),
    ("vgg_pool_not_bool", lambda: vgg_block(img(), 8, pool="yes"), TypeError, r"`pool`.*'yes'"),
    ("vgg_too_small_for_pool", lambda: vgg_block(img(1, 1), 8), ValueError,
     r"`x`.*\(1, 1\), too small"),
    ("naive_f3", lambda: naive_inception_module(img(), 4, 0, 4), ValueError, r"`f3`.*0"),
    ("inception_pool_proj", lambda: inception_module(img(), 4, 4, 4, 4, 4, -1), ValueError,
     r"`pool_proj`.*-1"),
    ("inception_f5_reduce_none", lambda: inception_module(img(), 4, 4, 4, None, 4, 4),
     TypeError, r"`f5_reduce`.*None"),
    ("inception_norm", lambda: inception_module(img(), 4, 4, 4, 4, 4, 4, norm="lrn"),
     ValueError, r"`norm`.*'lrn'"),
    ("residual_filters", lambda: residual_module(img(), 0), ValueError, r"`filters`.*0"),
    ("bottleneck_expansion", lambda: bottleneck_module(img(), 4, expansion=0), ValueError,
     r"`expansion`.*0"),
    ("xception_filters_list", lambda: xception_module(img(), [8, 0]), ValueError,
     r"`filters\[1\]`.*0"),
    ("xception_filters_empty", lambda: xception_module(img(), []), TypeError, r"`filters`"),
    ("xception_activate_first", lambda: xception_module(img(), 8, activate_first=1),
     TypeError, r"`activate_first`.*1"),
    ("v3_a_width", lambda: inception_v3_a(img(), 4, 4, 4, 4, 4, 0), ValueError,
     r"`pool_proj`.*0"),
    ("v3_c_concat_names", lambda: inception_v3_c(img(), 4, 4, 4, 4, 4, 4, concat_names="a"),
     ValueError, r"`concat_names`.*'a'"),
    # strides, shortcut, stride_on, data_format
    ("residual_strides_zero", lambda: residual_module(img(), 4, strides=0), ValueError,
     r"`strides`.*0"),
    ("residual_strides_triple", lambda: residual_module(img(), 4, strides=(1, 2, 2)),
     ValueError, r"`strides`.*\(1, 2, 2\)"),
    ("bottleneck_strides_str", lambda: bottleneck_module(img(), 4, strides="2"), TypeError,
     r"`strides`.*'2'"),
    ("conv_bn_act_strides_float", lambda: conv_bn_act(img(), 4, 3, strides=1.5), TypeError,
     r"`strides`.*1\.5"),
    ("residual_shortcut_unknown", lambda: residual_module(img(), 4, shortcut="option_a"),
     ValueError, r"`shortcut`.*'option_a'"),
    ("residual_identity_mismatch", lambda: residual_module(img(c=4), 8, shortcut="identity"),
     ValueError, r"shortcut='identity'.*4 channels to 8"),
    ("residual_identity_stride", lambda: residual_module(img(c=8), 8, strides=2,
                                                         shortcut="identity"),
     ValueError, r"shortcut='identity'.*strides \(2, 2\)"),
    ("bottleneck_stride_on", lambda: bottleneck_module(img(), 4, stride_on="5x5"), ValueError,
     r"`stride_on`.*'5x5'"),
    ("xception_identity_with_pool", lambda: xception_module(img(c=8), 8, pool=True,
                                                            shortcut="identity"),
     ValueError, r"shortcut='identity'"),
    ("data_format", lambda: resolve_data_format("NHWC"), ValueError, r"`data_format`.*'NHWC'"),
    ("conv_padding", lambda: conv_bn_act(img(), 4, 3, padding="full"), ValueError,
     r"`padding`.*'full'"),
    # inputs of the wrong kind or rank, too small for the pooling
    ("rank3_input", lambda: vgg_block(keras.Input((8, 8)), 4), ValueError,
     r"`x`.*rank-4.*\(None, 8, 8\)"),
    ("rank5_input", lambda: residual_module(keras.Input((2, 8, 8, 3)), 4), ValueError,
     r"`x`.*rank-4"),
    ("not_a_tensor", lambda: inception_module([1, 2, 3], 4, 4, 4, 4, 4, 4), TypeError,
     r"`x`.*Keras tensor.*\[1, 2, 3\]"),
    # An array is not a symbolic tensor: refused by type and shape, never dumped.
    ("numpy_rank2", lambda: naive_inception_module(np.zeros((3, 3)), 4, 4, 4), TypeError,
     r"`x`.*Keras tensor.*ndarray of shape \(3, 3\)\.$"),
    ("unknown_channels", lambda: residual_module(keras.Input((8, 8, None)), 4), ValueError,
     r"`x`.*channel count"),
    ("reduction_a_too_small", lambda: inception_v3_reduction_a(img(2, 2), 4, 4, 4), ValueError,
     r"`x`.*too small.*3x3"),
    ("reduction_b_too_small", lambda: inception_v3_reduction_b(img(2, 8), 4, 4, 4, 4),
     ValueError, r"`x`.*too small"),
    ("name_empty", lambda: vgg_block(img(), 4, name=""), TypeError, r"`name`.*''"),
    ("name_int", lambda: residual_module(img(), 4, name=3), TypeError, r"`name`.*3"),
]


@pytest.mark.parametrize("call,exc,match", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_validation(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
