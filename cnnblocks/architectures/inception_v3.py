"""Inception-V3 (Szegedy et al., "Rethinking the Inception Architecture for Computer Vision",
CVPR 2016, https://arxiv.org/abs/1512.00567).

A stem of five conv-BN-ReLU units and two max pools, then eleven Inception-V3 modules
(`mixed0` ... `mixed10`). Parameter counts and weight order equal keras.applications'
InceptionV3, whose ImageNet files load into `InceptionV3` here. Every layer keras.applications
names (`mixed0` ... `mixed10`, `mixed9_0`, `mixed9_1`, `avg_pool`, `predictions`) has that
name here; the ~94 convolutions it leaves unnamed (`conv2d_12`, ...) get deterministic names
(`conv1_conv`, `mixed0_5x5_reduce_bn`, `mixed4_7x7dbl_3_relu`, ...). Everything about the family
is in this module.
"""

from cnnblocks import family as fam
from cnnblocks import preprocessing
from cnnblocks.architectures import common
from cnnblocks.blocks import (conv_bn_act, inception_v3_a, inception_v3_b, inception_v3_c,
                              inception_v3_reduction_a, inception_v3_reduction_b)

__all__ = ["InceptionV3"]

#: The stem, 299x299x3 -> 35x35x192 (paper Table 1, with the released model's paddings):
#: ("conv", name, filters, kernel, strides, padding) conv (no bias) - BN (no scale) - ReLU
#: units and ("pool", name) 3x3/2 "valid" max pools.
INCEPTION_V3_STEM = (
    ("conv", "conv1", 32, 3, 2, "valid"),  # 149x149x32
    ("conv", "conv2", 32, 3, 1, "valid"),  # 147x147x32
    ("conv", "conv3", 64, 3, 1, "same"),  # 147x147x64
    ("pool", "pool1"),  # 73x73x64
    ("conv", "conv4", 80, 1, 1, "valid"),  # 73x73x80
    ("conv", "conv5", 192, 3, 1, "valid"),  # 71x71x192
    ("pool", "pool2"),  # 35x35x192
)

#: The modules as rows (name, kind, widths, options); widths in the block's argument order.
INCEPTION_V3_MODULES = (
    # 35x35 (Figure 5): f1, f5_reduce, f5, f3_reduce, f3, pool_proj
    ("mixed0", "a", (64, 48, 64, 64, 96, 32), {}),  # 35x35x256
    ("mixed1", "a", (64, 48, 64, 64, 96, 64), {}),  # 35x35x288
    ("mixed2", "a", (64, 48, 64, 64, 96, 64), {}),  # 35x35x288
    # grid reduction (Figure 10): f3, f3dbl_reduce, f3dbl
    ("mixed3", "reduction_a", (384, 64, 96), {}),  # 17x17x768
    # 17x17 (Figure 6, n=7): f1, f7_reduce, f7, f7dbl_reduce, f7dbl, pool_proj
    ("mixed4", "b", (192, 128, 192, 128, 192, 192), {}),  # 17x17x768
    ("mixed5", "b", (192, 160, 192, 160, 192, 192), {}),  # 17x17x768
    ("mixed6", "b", (192, 160, 192, 160, 192, 192), {}),  # 17x17x768
    ("mixed7", "b", (192, 192, 192, 192, 192, 192), {}),  # 17x17x768
    # grid reduction: f3_reduce, f3, f7_reduce, f7
    ("mixed8", "reduction_b", (192, 320, 192, 192), {}),  # 8x8x1280
    # 8x8 (Figure 7): f1, f3_reduce, f3, f3dbl_reduce, f3dbl, pool_proj. keras.applications
    # names the first inner concatenation of mixed10 "mixed9_1".
    ("mixed9", "c", (320, 384, 384, 448, 384, 192),
     {"concat_names": ("mixed9_0", "mixed9_3x3dbl_concat")}),  # 8x8x2048
    ("mixed10", "c", (320, 384, 384, 448, 384, 192),
     {"concat_names": ("mixed9_1", "mixed10_3x3dbl_concat")}),  # 8x8x2048
)

_MODULES = {
    "a": inception_v3_a,
    "reduction_a": inception_v3_reduction_a,
    "b": inception_v3_b,
    "reduction_b": inception_v3_reduction_b,
    "c": inception_v3_c,
}


#: Feature taps: the last layer at strides 4, 8, 16 and 32.
_TAPS = {"conv5": "C2", "mixed2": "C3", "mixed7": "C4", "mixed10": "C5"}


def _trunk(x, ctx):
    """The stem's conv-BN-ReLU units (each a `conv_bn_act` block) and max pools (regions), then
    the eleven modules."""
    for kind, layer, *unit in INCEPTION_V3_STEM:
        if kind == "pool":
            x = common.max_pool_region(x, layer, ctx, pool_name=layer)
            continue
        filters, kernel_size, strides, padding = unit
        x = conv_bn_act(x, filters, kernel_size, strides=strides, padding=padding,
                        use_bias=False, bn_scale=False, data_format=ctx.data_format, name=layer)
        if layer in _TAPS:
            ctx.tap(_TAPS[layer], x)
    for block, kind, widths, options in INCEPTION_V3_MODULES:
        x = _MODULES[kind](x, *widths, data_format=ctx.data_format, name=block, **options)
        if block in _TAPS:
            ctx.tap(_TAPS[block], x)
    return x


def InceptionV3(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                pooling=None, classes=1000, classifier_activation="softmax",
                name="inception_v3"):
    """Inception-V3, the ImageNet network of the paper (Table 1).

    Reference: Szegedy, Vanhoucke, Ioffe, Shlens, Wojna, "Rethinking the Inception Architecture
    for Computer Vision", CVPR 2016, https://arxiv.org/abs/1512.00567. The structure is the
    data in `INCEPTION_V3_STEM` and `INCEPTION_V3_MODULES`.

    Args:
        include_top: bool, add global average pooling (`avg_pool`) and the classifier
            (`predictions`). Default True.
        weights: `"imagenet"` (keras.applications' file, from the Keras cache, checked against
            its hash, downloaded when missing; the default, as in keras.applications), None
            (random initialization) or the path of a weight file (keras.applications' legacy
            HDF5 layout, `.weights.h5` or `.keras`).
        input_tensor: optional Keras tensor to build the model on.
        input_shape: optional (H, W, 3); at least 75x75; must be static with a top, and
            (299, 299, 3) with a top and ImageNet weights. Default (299, 299, 3) with a top,
            (None, None, 3) without.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False` (layers
            `avg_pool` / `max_pool`).
        classes: int, number of classes. Default 1000.
        classifier_activation: activation of `predictions`. Default `"softmax"`.
        name: model name. Default `"inception_v3"`.

    Returns:
        A `keras.Model`: 23,851,784 parameters (23,817,352 trainable) with the top,
        21,802,784 without. The feature map (`mixed10`) has 2048 channels, 8x8 at 299.

    Note:
        - Batch normalization has no learned scale (gamma), and convolutions no bias, as in the
          released model and keras.applications.
        - The 35x35 modules keep a 1x1-5x5 branch, as the released model does; the paper's
          Figure 5 replaces it with two 3x3 convolutions.
        - No auxiliary classifier (the paper's side head on the 17x17 grid), as in
          keras.applications; it only serves training.
        - Inputs are expected in [-1, 1]: use
          `cnnblocks.architectures.inception_v3.preprocess_input`.

    Example:
        >>> from cnnblocks import InceptionV3
        >>> model = InceptionV3(weights=None, include_top=False, input_shape=(75, 75, 3))
        >>> tuple(model.output.shape)
        (None, 1, 1, 2048)
    """
    return common.build(FAMILY.model("inception_v3"), _trunk, min_size=75,
                        include_top=include_top, weights=weights, input_tensor=input_tensor,
                        input_shape=input_shape, pooling=pooling, classes=classes,
                        classifier_activation=classifier_activation, name=name)


preprocess_input, decode_predictions = preprocessing.family_utils(
    "tf", "pixels in [0, 255] scaled to [-1, 1]")

_BASE = "https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/"
_PAPER = ("Szegedy et al., Rethinking the Inception Architecture for Computer Vision, "
          "CVPR 2016")

FAMILY = fam.Family(
    name="inception_v3",
    title="Inception-V3",
    paper=_PAPER,
    url="https://arxiv.org/abs/1512.00567",
    models=(fam.ModelEntry(
        name="inception_v3", title="Inception-V3", builder=InceptionV3, default_size=299,
        keras_name="InceptionV3",
        # keras.applications' ImageNet files (inception_v3.py, Keras 3.15): (with top, no top).
        imagenet=(fam.WeightFile(_BASE + "inception_v3_weights_tf_dim_ordering_tf_kernels.h5",
                                 "9a0d58056eeedaa3f26cb7ebd46da564"),
                  fam.WeightFile(_BASE +
                                 "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
                                 "bcbd6486424b2319ff4ef7d526e38f63")),
        reference=fam.Reference(
            paper=_PAPER,
            input_shape=(299, 299, 3),
            params=fam.exact(23_851_784, fam.KERAS.format("InceptionV3"),
                             fam.KERAS_PARAMS + "; no conv bias, BN scale=False"),
            trainable_params=fam.exact(23_817_352, fam.KERAS.format("InceptionV3"),
                                       fam.TRAINABLE),
            # Longest path of the released architecture: 5 stem convs, 3 x 3 (35x35 modules,
            # double-3x3 branch), 3 (reduction), 4 x 5 (17x17 modules, double-7x7 branch),
            # 4 (reduction), 2 x 3 (8x8 modules), 1 FC = 48.
            depth=fam.exact(48, "derived from the released architecture (comment)", fam.DEPTH),
            macs=fam.measured_macs(5_713_000_000, fam.KERAS_MACS.format("InceptionV3") +
                                   " at 299x299; torchvision meta 5.713 GFLOPS"),
            others=(("torchvision inception_v3 params without aux head (BN 2 per channel)",
                     fam.exact(23_834_568, fam.TORCHVISION.format("inception_v3"))),
                    ("Xception paper Table 3 params for Inception V3",
                     fam.exact(23_626_728, "Chollet 2017 Table 3"))),
        )),),
    preprocess_input=preprocess_input,
    decode_predictions=decode_predictions,
    preprocessing="tf: pixels in [0, 255] scaled to [-1, 1]",
    blocks=("conv_bn_act", "inception_v3_a", "inception_v3_reduction_a", "inception_v3_b",
            "inception_v3_reduction_b", "inception_v3_c"),
)
