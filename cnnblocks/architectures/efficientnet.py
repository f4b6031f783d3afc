"""EfficientNet-B0 to B7 (Tan & Le, "EfficientNet: Rethinking Model Scaling for Convolutional
Neural Networks", ICML 2019, https://arxiv.org/abs/1905.11946).

B0 is a 3x3/2 convolution, sixteen `mbconv_block`s in seven stages (the paper's Table 1), a 1x1
convolution to 1280 channels, global average pooling, dropout and the classifier; B1-B7 scale
its widths and depths by the compound coefficients (Section 3.3) and its input size. The model
takes pixels in [0, 255]: it starts with keras.applications' `Rescaling` (1/255) and
`Normalization` layers (and, with ImageNet weights, a second `Rescaling` that corrects the
normalization of those weights). Layer names, parameter counts and weight order equal
keras.applications' EfficientNetB0-B7 (`stem_conv`, `stem_bn`, `block1a_dwconv`, ...,
`block7a_project_bn`, `top_conv`, `top_bn`, `top_activation`, `avg_pool`, `top_dropout`,
`predictions`), so its ImageNet files load here. Everything about the family is in this module.
"""

import math

from keras import layers

from cnnblocks import _validation as check
from cnnblocks import cost
from cnnblocks import family as fam
from cnnblocks import identity, preprocessing
from cnnblocks.architectures import common
from cnnblocks.blocks import conv_bn_act, mbconv_block
from cnnblocks.blocks.common import downsample_padding, make_divisible
from cnnblocks.blocks.efficientnet import CONV_KERNEL_INITIALIZER, mbconv_block_cost

__all__ = ["EfficientNetB0", "EfficientNetB1", "EfficientNetB2", "EfficientNetB3",
           "EfficientNetB4", "EfficientNetB5", "EfficientNetB6", "EfficientNetB7"]

#: EfficientNet-B0's stages 2-8 (Table 1): (kernel, repeats, output channels, expand ratio,
#: stride of the first block). Every block has squeeze-and-excite with ratio 0.25. Stage 1 is
#: the 3x3/2 stem with 32 filters, stage 9 the 1x1 convolution to 1280 (both scaled by width).
#: Output sizes at 224x224.
EFFICIENTNET_B0 = (
    (3, 1, 16, 1, 1),  # block1: MBConv1, k3x3 -> 112x112x16
    (3, 2, 24, 6, 2),  # block2: MBConv6, k3x3 -> 56x56x24
    (5, 2, 40, 6, 2),  # block3: MBConv6, k5x5 -> 28x28x40
    (3, 3, 80, 6, 2),  # block4: MBConv6, k3x3 -> 14x14x80
    (5, 3, 112, 6, 1),  # block5: MBConv6, k5x5 -> 14x14x112
    (5, 4, 192, 6, 2),  # block6: MBConv6, k5x5 -> 7x7x192
    (3, 1, 320, 6, 1),  # block7: MBConv6, k3x3 -> 7x7x320
)
EFFICIENTNET_STEM, EFFICIENTNET_TOP = 32, 1280
SE_RATIO = 0.25
#: Stochastic depth: block b of n drops its residual branch with rate 0.2 * b / n in training.
DROP_CONNECT_RATE = 0.2

#: The scaled models (keras.applications and the reference implementation): (width
#: coefficient, depth coefficient, input size, dropout rate before the classifier).
EFFICIENTNET_SCALING = {
    "b0": (1.0, 1.0, 224, 0.2),
    "b1": (1.0, 1.1, 240, 0.2),
    "b2": (1.1, 1.2, 260, 0.3),
    "b3": (1.2, 1.4, 300, 0.3),
    "b4": (1.4, 1.8, 380, 0.4),
    "b5": (1.6, 2.2, 456, 0.4),
    "b6": (1.8, 2.6, 528, 0.5),
    "b7": (2.0, 3.1, 600, 0.5),
}

#: ImageNet's per-channel standard deviations. With ImageNet weights keras.applications
#: follows its `Normalization` (whose mean and variance the weight file sets) by a `Rescaling`
#: of 1 / sqrt(std) per channel, matching the input scaling the weights were converted for
#: (tensorflow/tensorflow#49930); so does this module, so the weights give the same outputs.
IMAGENET_STDDEV_RGB = (0.229, 0.224, 0.225)
#: keras.applications' dense initializer (the reference implementation's).
DENSE_KERNEL_INITIALIZER = {"class_name": "VarianceScaling",
                            "config": {"scale": 1.0 / 3.0, "mode": "fan_out",
                                       "distribution": "uniform"}}

_BASE = "https://storage.googleapis.com/keras-applications/"
#: keras.applications' ImageNet files (efficientnet.py, Keras 3.15): MD5 (with top, no top).
IMAGENET_HASHES = {
    "b0": ("902e53a9f72be733fc0bcb005b3ebbac", "50bc09e76180e00e4465e1a485ddc09d"),
    "b1": ("1d254153d4ab51201f1646940f018540", "74c4e6b3e1f6a1eea24c589628592432"),
    "b2": ("b15cce36ff4dcbd00b6dd88e7857a6ad", "111f8e2ac8aa800a7a99e3239f7bfb39"),
    "b3": ("ffd1fdc53d0ce67064dc6a9c7960ede0", "af6d107764bb5b1abb91932881670226"),
    "b4": ("18c95ad55216b8f92d7e70b3a046e2fc", "ebc24e6d6c33eaebbd558eafbeedf1ba"),
    "b5": ("ace28f2a6363774853a83a0b21b9421a", "38879255a25d3c92d5e44e04ae6cec6f"),
    "b6": ("165f6e37dce68623721b423839de8be5", "9ecce42647a20130c1f39a5d4cb75743"),
    "b7": ("8c03f828fec3ef71311cd463b6759d99", "cbcfe4450ddf6f3ad90b1b398090fe4a"),
}


def _imagenet(variant):
    top, notop = IMAGENET_HASHES[variant]
    return (fam.WeightFile(f"{_BASE}efficientnet{variant}.h5", top),
            fam.WeightFile(f"{_BASE}efficientnet{variant}_notop.h5", notop))


def round_filters(filters, width):
    """Channels scaled by the width coefficient, rounded to a multiple of 8 (Section 3.3).

    Raises:
        TypeError / ValueError: `filters` is not a positive int, or `width` not a finite
            number > 0.
    """
    filters = check.positive_int(filters, "filters")
    return make_divisible(filters * check.positive_number(width, "width"))


def round_repeats(repeats, depth):
    """Blocks of a stage scaled by the depth coefficient, rounded up (Section 3.3).

    Raises:
        TypeError / ValueError: `repeats` is not a positive int, or `depth` not a finite
            number > 0 (`round_repeats(3, -1)` would be -3 blocks).
    """
    repeats = check.positive_int(repeats, "repeats")
    return int(math.ceil(check.positive_number(depth, "depth") * repeats))


#: Letters of block names within a stage (`block6a` ... `block6z`): at most 26 blocks a stage.
MAX_STAGE_BLOCKS = 26


def scaled_stages(width, depth):
    """B0's MBConv stages scaled by the coefficients: `((blocks, channels), ...)` per stage,
    `round_repeats` and `round_filters` of Table 1's."""
    return tuple((round_repeats(repeats, depth), round_filters(out, width))
                 for _, repeats, out, _, _ in EFFICIENTNET_B0)


def _trunk(width, depth):
    """Preprocessing (region `preprocessing`), stem (region `stem`), the MBConv stages
    (`block1a`, ..., `block7a`), the last 1x1 convolution (region `top`), of B0 scaled by
    the width and depth coefficients."""

    def body(x, ctx):
        axis = 3 if ctx.data_format == "channels_last" else 1  # keras.applications' `bn_axis`
        with identity.region(x, "preprocessing", "preprocessing",
                             label="x / 255, ImageNet mean and std") as pre:
            y = layers.Rescaling(1.0 / 255.0, name="rescaling")(x)
            y = layers.Normalization(axis=axis, name="normalization")(y)
            if ctx.options["imagenet"]:
                y = layers.Rescaling([1.0 / math.sqrt(s) for s in IMAGENET_STDDEV_RGB],
                                     name="rescaling_1")(y)
            x = pre.done(y)
        unit = dict(use_bias=False, activation="swish",
                    kernel_initializer=CONV_KERNEL_INITIALIZER, data_format=ctx.data_format)
        stem = round_filters(EFFICIENTNET_STEM, width)
        with identity.region(x, "stem", "stem", args={"filters": stem, "strides": 2},
                             label=f"3x3 {stem} /2") as region:
            # "same"'s padding for a known size, (0, 1) for an unknown one (keras.applications)
            y = layers.ZeroPadding2D(downsample_padding(tuple(x.shape), (3, 3), ctx.data_format),
                                     data_format=ctx.data_format, name="stem_conv_pad")(x)
            x = region.done(conv_bn_act(y, stem, 3, strides=2, padding="valid", name="stem",
                                        suffixes=("_conv", "_bn", "_activation"), **unit))
        total = sum(round_repeats(r, depth) for _, r, _, _, _ in EFFICIENTNET_B0)
        b = 0
        for stage, (kernel, repeats, out, expand, strides) in enumerate(EFFICIENTNET_B0, 1):
            for j in range(round_repeats(repeats, depth)):
                x = mbconv_block(x, round_filters(out, width), expand_ratio=expand,
                                 kernel_size=kernel, strides=strides if j == 0 else 1,
                                 se_ratio=SE_RATIO, drop_rate=DROP_CONNECT_RATE * b / total,
                                 data_format=ctx.data_format, name=f"block{stage}{chr(97 + j)}")
                b += 1
            if stage in TAPS:
                ctx.tap(TAPS[stage], x)
        return top_conv(x, ctx, round_filters(EFFICIENTNET_TOP, width), unit)
    return body


#: Feature taps: the last block of the stages ending at strides 4, 8 and 16 (V1 and V2).
TAPS = {2: "C2", 3: "C3", 5: "C4"}


def top_conv(x, ctx, filters, unit):
    """The 1x1 convolution after the last block (V1 and V2), recorded as the region `top`
    (`top_conv`, `top_bn`, `top_activation`), and the tap C5."""
    with identity.region(x, "conv", "top", args={"filters": filters},
                         label=f"1x1 {filters}") as region:
        x = region.done(conv_bn_act(x, filters, 1, name="top",
                                    suffixes=("_conv", "_bn", "_activation"), **unit))
    ctx.tap("C5", x)
    return x


def _head(x, ctx):
    """With a top: `avg_pool`, `top_dropout` (when the rate is positive), `predictions`."""
    if not ctx.include_top:
        return common.global_pooling(x, ctx)
    x = layers.GlobalAveragePooling2D(data_format=ctx.data_format, name="avg_pool")(x)
    if ctx.options["dropout"] > 0:
        x = layers.Dropout(ctx.options["dropout"], name="top_dropout")(x)
    return layers.Dense(ctx.classes, activation=ctx.classifier_activation,
                        kernel_initializer=DENSE_KERNEL_INITIALIZER, name="predictions")(x)


def _build_scaled(entry, width, depth, dropout, *, weights, **kwargs):
    imagenet = isinstance(weights, str) and weights == "imagenet"
    return common.build(entry, _trunk(width, depth), min_size=32, head=_head,
                        options={"dropout": dropout, "imagenet": imagenet}, weights=weights,
                        **kwargs)


def _build(variant, **kwargs):
    width, depth, _, dropout = EFFICIENTNET_SCALING[variant]
    return _build_scaled(FAMILY.model(f"efficientnet_{variant}"), width, depth, dropout,
                         **kwargs)


#: The family's name, and the model name in the record of a scaled design (not registered).
FAMILY_NAME = "efficientnet"


def scale(entry, width, depth, resolution):
    """The family's scaling rule (`FAMILY.scale`, Section 3.3): the registered model's
    coefficients times `width` and `depth` (B4 scaled by 1.1 in width is B0 at width 1.54),
    `round_filters` to multiples of 8 and `round_repeats` up; the dropout rate before the
    classifier stays the registered model's.

    Raises:
        ValueError: a stage would have more than 26 blocks (its block names run `a` to `z`).
    """
    base_width, base_depth, _, dropout = EFFICIENTNET_SCALING[entry.name.rsplit("_", 1)[1]]
    width, depth = base_width * width, base_depth * depth
    stages = scaled_stages(width, depth)
    most = max(blocks for blocks, _ in stages)
    if most > MAX_STAGE_BLOCKS:
        raise ValueError(f"`depth` gives a stage of {most} blocks (depth coefficient {depth:g}); "
                         f"EfficientNet names a stage's blocks a to z: at most "
                         f"{MAX_STAGE_BLOCKS}.")
    return fam.Design(family=FAMILY_NAME, name=f"{entry.name}_scaled", base=entry.name,
                      width=width, depth=depth, resolution=resolution or entry.default_size,
                      stages=stages, spec={"dropout": dropout}, build_fn=_build_design)


def estimate(point, *, input_shape, include_top=True, pooling=None, classes=1000,
             variant=None):
    """The family's estimator (`FAMILY.estimate`): the costs of a `Design` of this family
    (`cnnblocks.cost.Estimate`) at `input_shape` `(h, w, 3)`, walked layer by layer as
    `_trunk` and `_head` build them with `weights=None` (ImageNet weights add one `Rescaling`
    after the `Normalization`: no parameter, one more layer output), without building
    anything. `variant`: None or "keras", the family's only structure."""
    if variant is not None:
        check.choice(variant, "variant", (fam.KERAS_VARIANT,))
    width, depth = point.width, point.depth
    tally = cost.Tally(input_shape)
    tally.elementwise()                                         # rescaling
    tally.params += 2 * tally.shape[-1] + 1                     # normalization: mean,
    tally.elementwise()                                         # variance and count
    tally.stage("preprocessing")
    tally.downsample_pad(3)                                     # stem_conv_pad, stem_conv, ...
    tally.conv(round_filters(EFFICIENTNET_STEM, width), 3, 2)
    tally.bn()
    tally.elementwise()
    tally.stage("stem")
    total = sum(round_repeats(r, depth) for _, r, _, _, _ in EFFICIENTNET_B0)
    b = 0
    for stage, (kernel, repeats, out, expand, strides) in enumerate(EFFICIENTNET_B0, 1):
        for j in range(round_repeats(repeats, depth)):
            mbconv_block_cost(tally, round_filters(out, width), expand_ratio=expand,
                              kernel_size=kernel, strides=strides if j == 0 else 1,
                              se_ratio=SE_RATIO, drop_rate=DROP_CONNECT_RATE * b / total)
            b += 1
        tally.stage(f"block{stage}")
    tally.conv(round_filters(EFFICIENTNET_TOP, width), 1, padding="same")   # top_conv, ...
    tally.bn()
    tally.elementwise()
    tally.stage("top")
    tally.head(include_top, pooling, classes, dropout=point.spec["dropout"] > 0)
    return tally.result()


def _build_design(point, **kwargs):
    """Builds a scaled design: model record family and model `"efficientnet"`."""
    entry = fam.ModelEntry(name=FAMILY_NAME, title="EfficientNet (scaled)", builder=None,
                           default_size=point.resolution, family=FAMILY_NAME)
    return _build_scaled(entry, point.width, point.depth, point.spec["dropout"], **kwargs)


def EfficientNetB0(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                   pooling=None, classes=1000, classifier_activation="softmax",
                   name="efficientnetb0"):
    """EfficientNet-B0, the baseline found by architecture search: 16 MBConv blocks in 7 stages.

    Reference: Tan & Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural
    Networks", ICML 2019, https://arxiv.org/abs/1905.11946 (Table 1 for B0, Section 3.3 for the
    scaling). The structure is the data in `EFFICIENTNET_B0` and `EFFICIENTNET_SCALING["b0"]`
    (width 1.0, depth 1.0, size 224, dropout 0.2).

    Args:
        include_top: bool, add `avg_pool`, `top_dropout` and the classifier `predictions`.
            Default True.
        weights: `"imagenet"` (keras.applications' file `efficientnetb0.h5` /
            `efficientnetb0_notop.h5`, from the Keras cache, checked against its hash,
            downloaded when missing; the default, as in keras.applications), None (random
            initialization) or the path of a weight file.
        input_tensor: optional Keras tensor to build the model on.
        input_shape: optional (H, W, 3); at least 32x32; must be static with a top, and
            (224, 224, 3) with a top and ImageNet weights. Default (224, 224, 3) with
            a top, (None, None, 3) without.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False` (layers
            `avg_pool` / `max_pool`).
        classes: int, number of classes, at most 1,000,000. Default 1000.
        classifier_activation: activation of `predictions`. Default `"softmax"`.
        name: model name. Default `"efficientnetb0"`.

    Returns:
        A `keras.Model` taking pixels in [0, 255]: 5,330,571 parameters (5,288,548 trainable)
        at the defaults, 4,049,571 without the top. The feature map (`top_activation`) has
        1280 channels at 1/32 of the input size.

    Note:
        - The input is normalized inside the model (`rescaling`, `normalization`, and with
          ImageNet weights `rescaling_1`, as keras.applications; the names are those
          keras.applications' unnamed layers get in a fresh session).
          `preprocess_input` is a pass-through. Without ImageNet weights the
          `Normalization` holds mean 0 and variance 1 (an identity) until weights are loaded
          or it is adapted.
        - Stride-2 depthwise convolutions and the stem pad explicitly (`*_pad` layers), the
          same as "same" padding wherever the input size is known.
        - Stochastic depth ("drop connect") rises linearly from 0 to 0.2 over the blocks
          (`{name}_drop` Dropout layers, training only), as keras.applications.
        - The ImageNet file is the one of B0 whatever `name` is (keras.applications derives
          the file name from `name`).

    Example:
        >>> from cnnblocks import EfficientNetB0
        >>> model = EfficientNetB0(weights=None, include_top=False, input_shape=(64, 64, 3))
        >>> tuple(model.output.shape)
        (None, 2, 2, 1280)
    """
    return _build("b0", include_top=include_top, weights=weights, input_tensor=input_tensor,
                  input_shape=input_shape, pooling=pooling, classes=classes,
                  classifier_activation=classifier_activation, name=name)


def EfficientNetB1(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                   pooling=None, classes=1000, classifier_activation="softmax",
                   name="efficientnetb1"):
    """EfficientNet-B1: B0 scaled: width x1.0, depth x1.1 (23 MBConv blocks), 240x240 input.

    Reference: Tan & Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural
    Networks", ICML 2019, https://arxiv.org/abs/1905.11946 (Table 1 for B0, Section 3.3 for the
    scaling). The structure is the data in `EFFICIENTNET_B0` and `EFFICIENTNET_SCALING["b1"]`
    (width 1.0, depth 1.1, size 240, dropout 0.2).

    Args:
        include_top: bool, add `avg_pool`, `top_dropout` and the classifier `predictions`.
            Default True.
        weights: `"imagenet"` (keras.applications' file `efficientnetb1.h5` /
            `efficientnetb1_notop.h5`, from the Keras cache, checked against its hash,
            downloaded when missing; the default, as in keras.applications), None (random
            initialization) or the path of a weight file.
        input_tensor: optional Keras tensor to build the model on.
        input_shape: optional (H, W, 3); at least 32x32; must be static with a top, and
            (240, 240, 3) with a top and ImageNet weights. Default (240, 240, 3) with
            a top, (None, None, 3) without.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False` (layers
            `avg_pool` / `max_pool`).
        classes: int, number of classes, at most 1,000,000. Default 1000.
        classifier_activation: activation of `predictions`. Default `"softmax"`.
        name: model name. Default `"efficientnetb1"`.

    Returns:
        A `keras.Model` taking pixels in [0, 255]: 7,856,239 parameters (7,794,184 trainable)
        at the defaults, 6,575,239 without the top. The feature map (`top_activation`) has
        1280 channels at 1/32 of the input size.

    Note:
        - The input is normalized inside the model (`rescaling`, `normalization`, and with
          ImageNet weights `rescaling_1`, as keras.applications; the names are those
          keras.applications' unnamed layers get in a fresh session).
          `preprocess_input` is a pass-through. Without ImageNet weights the
          `Normalization` holds mean 0 and variance 1 (an identity) until weights are loaded
          or it is adapted.
        - Stride-2 depthwise convolutions and the stem pad explicitly (`*_pad` layers), the
          same as "same" padding wherever the input size is known.
        - Stochastic depth ("drop connect") rises linearly from 0 to 0.2 over the blocks
          (`{name}_drop` Dropout layers, training only), as keras.applications.
        - The ImageNet file is the one of B1 whatever `name` is (keras.applications derives
          the file name from `name`).

    Example:
        >>> from cnnblocks import EfficientNetB1
        >>> model = EfficientNetB1(weights=None, include_top=False, input_shape=(64, 64, 3))
        >>> tuple(model.output.shape)
        (None, 2, 2, 1280)
    """
    return _build("b1", include_top=include_top, weights=weights, input_tensor=input_tensor,
                  input_shape=input_shape, pooling=pooling, classes=classes,
                  classifier_activation=classifier_activation, name=name)


def EfficientNetB2(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                   pooling=None, classes=1000, classifier_activation="softmax",
                   name="efficientnetb2"):
    """EfficientNet-B2: B0 scaled: width x1.1, depth x1.2 (23 MBConv blocks), 260x260 input.

    Reference: Tan & Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural
    Networks", ICML 2019, https://arxiv.org/abs/1905.11946 (Table 1 for B0, Section 3.3 for the
    scaling). The structure is the data in `EFFICIENTNET_B0` and `EFFICIENTNET_SCALING["b2"]`
    (width 1.1, depth 1.2, size 260, dropout 0.3).

    Args:
        include_top: bool, add `avg_pool`, `top_dropout` and the classifier `predictions`.
            Default True.
        weights: `"imagenet"` (keras.applications' file `efficientnetb2.h5` /
            `efficientnetb2_notop.h5`, from the Keras cache, checked against its hash,
            downloaded when missing; the default, as in keras.applications), None (random
            initialization) or the path of a weight file.
        input_tensor: optional Keras tensor to build the model on.
        input_shape: optional (H, W, 3); at least 32x32; must be static with a top, and
            (260, 260, 3) with a top and ImageNet weights. Default (260, 260, 3) with
            a top, (None, None, 3) without.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False` (layers
            `avg_pool` / `max_pool`).
        classes: int, number of classes, at most 1,000,000. Default 1000.
        classifier_activation: activation of `predictions`. Default `"softmax"`.
        name: model name. Default `"efficientnetb2"`.

    Returns:
        A `keras.Model` taking pixels in [0, 255]: 9,177,569 parameters (9,109,994 trainable)
        at the defaults, 7,768,569 without the top. The feature map (`top_activation`) has
        1408 channels at 1/32 of the input size.

    Note:
        - The input is normalized inside the model (`rescaling`, `normalization`, and with
          ImageNet weights `rescaling_1`, as keras.applications; the names are those
          keras.applications' unnamed layers get in a fresh session).
          `preprocess_input` is a pass-through. Without ImageNet weights the
          `Normalization` holds mean 0 and variance 1 (an identity) until weights are loaded
          or it is adapted.
        - Stride-2 depthwise convolutions and the stem pad explicitly (`*_pad` layers), the
          same as "same" padding wherever the input size is known.
        - Stochastic depth ("drop connect") rises linearly from 0 to 0.2 over the blocks
          (`{name}_drop` Dropout layers, training only), as keras.applications.
        - The ImageNet file is the one of B2 whatever `name` is (keras.applications derives
          the file name from `name`).

    Example:
        >>> from cnnblocks import EfficientNetB2
        >>> model = EfficientNetB2(weights=None, include_top=False, input_shape=(64, 64, 3))
        >>> tuple(model.output.shape)
        (None, 2, 2, 1408)
    """
    return _build("b2", include_top=include_top, weights=weights, input_tensor=input_tensor,
                  input_shape=input_shape, pooling=pooling, classes=classes,
                  classifier_activation=classifier_activation, name=name)


def EfficientNetB3(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                   pooling=None, classes=1000, classifier_activation="softmax",
                   name="efficientnetb3"):
    """EfficientNet-B3: B0 scaled: width x1.2, depth x1.4 (26 MBConv blocks), 300x300 input.

    Reference: Tan & Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural
    Networks", ICML 2019, https://arxiv.org/abs/1905.11946 (Table 1 for B0, Section 3.3 for the
    scaling). The structure is the data in `EFFICIENTNET_B0` and `EFFICIENTNET_SCALING["b3"]`
    (width 1.2, depth 1.4, size 300, dropout 0.3).

    Args:
        include_top: bool, add `avg_pool`, `top_dropout` and the classifier `predictions`.
            Default True.
        weights: `"imagenet"` (keras.applications' file `efficientnetb3.h5` /
            `efficientnetb3_notop.h5`, from the Keras cache, checked against its hash,
            downloaded when missing; the default, as in keras.applications), None (random
            initialization) or the path of a weight file.
        input_tensor: optional Keras tensor to build the model on.
        input_shape: optional (H, W, 3); at least 32x32; must be static with a top, and
            (300, 300, 3) with a top and ImageNet weights. Default (300, 300, 3) with
            a top, (None, None, 3) without.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False` (layers
            `avg_pool` / `max_pool`).
        classes: int, number of classes, at most 1,000,000. Default 1000.
        classifier_activation: activation of `predictions`. Default `"softmax"`.
        name: model name. Default `"efficientnetb3"`.

    Returns:
        A `keras.Model` taking pixels in [0, 255]: 12,320,535 parameters (12,233,232 trainable)
        at the defaults, 10,783,535 without the top. The feature map (`top_activation`) has
        1536 channels at 1/32 of the input size.

    Note:
        - The input is normalized inside the model (`rescaling`, `normalization`, and with
          ImageNet weights `rescaling_1`, as keras.applications; the names are those
          keras.applications' unnamed layers get in a fresh session).
          `preprocess_input` is a pass-through. Without ImageNet weights the
          `Normalization` holds mean 0 and variance 1 (an identity) until weights are loaded
          or it is adapted.
        - Stride-2 depthwise convolutions and the stem pad explicitly (`*_pad` layers), the
          same as "same" padding wherever the input size is known.
        - Stochastic depth ("drop connect") rises linearly from 0 to 0.2 over the blocks
          (`{name}_drop` Dropout layers, training only), as keras.applications.
        - The ImageNet file is the one of B3 whatever `name` is (keras.applications derives
          the file name from `name`).

    Example:
        >>> from cnnblocks import EfficientNetB3
        >>> model = EfficientNetB3(weights=None, include_top=False, input_shape=(64, 64, 3))
        >>> tuple(model.output.shape)
        (None, 2, 2, 1536)
    """
    return _build("b3", include_top=include_top, weights=weights, input_tensor=input_tensor,
                  input_shape=input_shape, pooling=pooling, classes=classes,
                  classifier_activation=classifier_activation, name=name)


def EfficientNetB4(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                   pooling=None, classes=1000, classifier_activation="softmax",
                   name="efficientnetb4"):
    """EfficientNet-B4: B0 scaled: width x1.4, depth x1.8 (32 MBConv blocks), 380x380 input.

    Reference: Tan & Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural
    Networks", ICML 2019, https://arxiv.org/abs/1905.11946 (Table 1 for B0, Section 3.3 for the
    scaling). The structure is the data in `EFFICIENTNET_B0` and `EFFICIENTNET_SCALING["b4"]`
    (width 1.4, depth 1.8, size 380, dropout 0.4).

    Args:
        include_top: bool, add `avg_pool`, `top_dropout` and the classifier `predictions`.
            Default True.
        weights: `"imagenet"` (keras.applications' file `efficientnetb4.h5` /
            `efficientnetb4_notop.h5`, from the Keras cache, checked against its hash,
            downloaded when missing; the default, as in keras.applications), None (random
            initialization) or the path of a weight file.
        input_tensor: optional Keras tensor to build the model on.
        input_shape: optional (H, W, 3); at least 32x32; must be static with a top, and
            (380, 380, 3) with a top and ImageNet weights. Default (380, 380, 3) with
            a top, (None, None, 3) without.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False` (layers
            `avg_pool` / `max_pool`).
        classes: int, number of classes, at most 1,000,000. Default 1000.
        classifier_activation: activation of `predictions`. Default `"softmax"`.
        name: model name. Default `"efficientnetb4"`.

    Returns:
        A `keras.Model` taking pixels in [0, 255]: 19,466,823 parameters (19,341,616 trainable)
        at the defaults, 17,673,823 without the top. The feature map (`top_activation`) has
        1792 channels at 1/32 of the input size.

    Note:
        - The input is normalized inside the model (`rescaling`, `normalization`, and with
          ImageNet weights `rescaling_1`, as keras.applications; the names are those
          keras.applications' unnamed layers get in a fresh session).
          `preprocess_input` is a pass-through. Without ImageNet weights the
          `Normalization` holds mean 0 and variance 1 (an identity) until weights are loaded
          or it is adapted.
        - Stride-2 depthwise convolutions and the stem pad explicitly (`*_pad` layers), the
          same as "same" padding wherever the input size is known.
        - Stochastic depth ("drop connect") rises linearly from 0 to 0.2 over the blocks
          (`{name}_drop` Dropout layers, training only), as keras.applications.
        - The ImageNet file is the one of B4 whatever `name` is (keras.applications derives
          the file name from `name`).

    Example:
        >>> from cnnblocks import EfficientNetB4
        >>> model = EfficientNetB4(weights=None, include_top=False, input_shape=(64, 64, 3))
        >>> tuple(model.output.shape)
        (None, 2, 2, 1792)
    """
    return _build("b4", include_top=include_top, weights=weights, input_tensor=input_tensor,
                  input_shape=input_shape, pooling=pooling, classes=classes,
                  classifier_activation=classifier_activation, name=name)


def EfficientNetB5(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                   pooling=None, classes=1000, classifier_activation="softmax",
                   name="efficientnetb5"):
    """EfficientNet-B5: B0 scaled: width x1.6, depth x2.2 (39 MBConv blocks), 456x456 input.

    Reference: Tan & Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural
    Networks", ICML 2019, https://arxiv.org/abs/1905.11946 (Table 1 for B0, Section 3.3 for the
    scaling). The structure is the data in `EFFICIENTNET_B0` and `EFFICIENTNET_SCALING["b5"]`
    (width 1.6, depth 2.2, size 456, dropout 0.4).

    Args:
        include_top: bool, add `avg_pool`, `top_dropout` and the classifier `predictions`.
            Default True.
        weights: `"imagenet"` (keras.applications' file `efficientnetb5.h5` /
            `efficientnetb5_notop.h5`, from the Keras cache, checked against its hash,
            downloaded when missing; the default, as in keras.applications), None (random
            initialization) or the path of a weight file.
        input_tensor: optional Keras tensor to build the model on.
        input_shape: optional (H, W, 3); at least 32x32; must be static with a top, and
            (456, 456, 3) with a top and ImageNet weights. Default (456, 456, 3) with
            a top, (None, None, 3) without.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False` (layers
            `avg_pool` / `max_pool`).
        classes: int, number of classes, at most 1,000,000. Default 1000.
        classifier_activation: activation of `predictions`. Default `"softmax"`.
        name: model name. Default `"efficientnetb5"`.

    Returns:
        A `keras.Model` taking pixels in [0, 255]: 30,562,527 parameters (30,389,784 trainable)
        at the defaults, 28,513,527 without the top. The feature map (`top_activation`) has
        2048 channels at 1/32 of the input size.

    Note:
        - The input is normalized inside the model (`rescaling`, `normalization`, and with
          ImageNet weights `rescaling_1`, as keras.applications; the names are those
          keras.applications' unnamed layers get in a fresh session).
          `preprocess_input` is a pass-through. Without ImageNet weights the
          `Normalization` holds mean 0 and variance 1 (an identity) until weights are loaded
          or it is adapted.
        - Stride-2 depthwise convolutions and the stem pad explicitly (`*_pad` layers), the
          same as "same" padding wherever the input size is known.
        - Stochastic depth ("drop connect") rises linearly from 0 to 0.2 over the blocks
          (`{name}_drop` Dropout layers, training only), as keras.applications.
        - The ImageNet file is the one of B5 whatever `name` is (keras.applications derives
          the file name from `name`).

    Example:
        >>> from cnnblocks import EfficientNetB5
        >>> model = EfficientNetB5(weights=None, include_top=False, input_shape=(64, 64, 3))
        >>> tuple(model.output.shape)
        (None, 2, 2, 2048)
    """
    return _build("b5", include_top=include_top, weights=weights, input_tensor=input_tensor,
                  input_shape=input_shape, pooling=pooling, classes=classes,
                  classifier_activation=classifier_activation, name=name)


def EfficientNetB6(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                   pooling=None, classes=1000, classifier_activation="softmax",
                   name="efficientnetb6"):
    """EfficientNet-B6: B0 scaled: width x1.8, depth x2.6 (45 MBConv blocks), 528x528 input.

    Reference: Tan & Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural
    Networks", ICML 2019, https://arxiv.org/abs/1905.11946 (Table 1 for B0, Section 3.3 for the
    scaling). The structure is the data in `EFFICIENTNET_B0` and `EFFICIENTNET_SCALING["b6"]`
    (width 1.8, depth 2.6, size 528, dropout 0.5).

    Args:
        include_top: bool, add `avg_pool`, `top_dropout` and the classifier `predictions`.
            Default True.
        weights: `"imagenet"` (keras.applications' file `efficientnetb6.h5` /
            `efficientnetb6_notop.h5`, from the Keras cache, checked against its hash,
            downloaded when missing; the default, as in keras.applications), None (random
            initialization) or the path of a weight file.
        input_tensor: optional Keras tensor to build the model on.
        input_shape: optional (H, W, 3); at least 32x32; must be static with a top, and
            (528, 528, 3) with a top and ImageNet weights. Default (528, 528, 3) with
            a top, (None, None, 3) without.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False` (layers
            `avg_pool` / `max_pool`).
        classes: int, number of classes, at most 1,000,000. Default 1000.
        classifier_activation: activation of `predictions`. Default `"softmax"`.
        name: model name. Default `"efficientnetb6"`.

    Returns:
        A `keras.Model` taking pixels in [0, 255]: 43,265,143 parameters (43,040,704 trainable)
        at the defaults, 40,960,143 without the top. The feature map (`top_activation`) has
        2304 channels at 1/32 of the input size.

    Note:
        - The input is normalized inside the model (`rescaling`, `normalization`, and with
          ImageNet weights `rescaling_1`, as keras.applications; the names are those
          keras.applications' unnamed layers get in a fresh session).
          `preprocess_input` is a pass-through. Without ImageNet weights the
          `Normalization` holds mean 0 and variance 1 (an identity) until weights are loaded
          or it is adapted.
        - Stride-2 depthwise convolutions and the stem pad explicitly (`*_pad` layers), the
          same as "same" padding wherever the input size is known.
        - Stochastic depth ("drop connect") rises linearly from 0 to 0.2 over the blocks
          (`{name}_drop` Dropout layers, training only), as keras.applications.
        - The ImageNet file is the one of B6 whatever `name` is (keras.applications derives
          the file name from `name`).

    Example:
        >>> from cnnblocks import EfficientNetB6
        >>> model = EfficientNetB6(weights=None, include_top=False, input_shape=(64, 64, 3))
        >>> tuple(model.output.shape)
        (None, 2, 2, 2304)
    """
    return _build("b6", include_top=include_top, weights=weights, input_tensor=input_tensor,
                  input_shape=input_shape, pooling=pooling, classes=classes,
                  classifier_activation=classifier_activation, name=name)


def EfficientNetB7(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                   pooling=None, classes=1000, classifier_activation="softmax",
                   name="efficientnetb7"):
    """EfficientNet-B7: B0 scaled: width x2.0, depth x3.1 (55 MBConv blocks), 600x600 input.

    Reference: Tan & Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural
    Networks", ICML 2019, https://arxiv.org/abs/1905.11946 (Table 1 for B0, Section 3.3 for the
    scaling). The structure is the data in `EFFICIENTNET_B0` and `EFFICIENTNET_SCALING["b7"]`
    (width 2.0, depth 3.1, size 600, dropout 0.5).

    Args:
        include_top: bool, add `avg_pool`, `top_dropout` and the classifier `predictions`.
            Default True.
        weights: `"imagenet"` (keras.applications' file `efficientnetb7.h5` /
            `efficientnetb7_notop.h5`, from the Keras cache, checked against its hash,
            downloaded when missing; the default, as in keras.applications), None (random
            initialization) or the path of a weight file.
        input_tensor: optional Keras tensor to build the model on.
        input_shape: optional (H, W, 3); at least 32x32; must be static with a top, and
            (600, 600, 3) with a top and ImageNet weights. Default (600, 600, 3) with
            a top, (None, None, 3) without.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False` (layers
            `avg_pool` / `max_pool`).
        classes: int, number of classes, at most 1,000,000. Default 1000.
        classifier_activation: activation of `predictions`. Default `"softmax"`.
        name: model name. Default `"efficientnetb7"`.

    Returns:
        A `keras.Model` taking pixels in [0, 255]: 66,658,687 parameters (66,347,960 trainable)
        at the defaults, 64,097,687 without the top. The feature map (`top_activation`) has
        2560 channels at 1/32 of the input size.

    Note:
        - The input is normalized inside the model (`rescaling`, `normalization`, and with
          ImageNet weights `rescaling_1`, as keras.applications; the names are those
          keras.applications' unnamed layers get in a fresh session).
          `preprocess_input` is a pass-through. Without ImageNet weights the
          `Normalization` holds mean 0 and variance 1 (an identity) until weights are loaded
          or it is adapted.
        - Stride-2 depthwise convolutions and the stem pad explicitly (`*_pad` layers), the
          same as "same" padding wherever the input size is known.
        - Stochastic depth ("drop connect") rises linearly from 0 to 0.2 over the blocks
          (`{name}_drop` Dropout layers, training only), as keras.applications.
        - The ImageNet file is the one of B7 whatever `name` is (keras.applications derives
          the file name from `name`).

    Example:
        >>> from cnnblocks import EfficientNetB7
        >>> model = EfficientNetB7(weights=None, include_top=False, input_shape=(64, 64, 3))
        >>> tuple(model.output.shape)
        (None, 2, 2, 2560)
    """
    return _build("b7", include_top=include_top, weights=weights, input_tensor=input_tensor,
                  input_shape=input_shape, pooling=pooling, classes=classes,
                  classifier_activation=classifier_activation, name=name)


def preprocess_input(x, data_format=None):
    """A pass-through, as keras.applications' `efficientnet.preprocess_input`: the models
    normalize pixels in [0, 255] themselves. Returns `x`."""
    return x


decode_predictions = preprocessing.decode_predictions


# --- Published numbers ----------------------------------------------------------------------
EFFICIENTNET_PAPER = "Tan & Le 2019"

#: Table 1 of the paper (EfficientNet-B0), as printed: (stage, operator, resolution,
#: #channels, #layers). Resolution is the stage's input size.
PAPER_TABLE = (
    (1, "Conv3x3", "224x224", 32, 1),
    (2, "MBConv1, k3x3", "112x112", 16, 1),
    (3, "MBConv6, k3x3", "112x112", 24, 2),
    (4, "MBConv6, k5x5", "56x56", 40, 2),
    (5, "MBConv6, k3x3", "28x28", 80, 3),
    (6, "MBConv6, k5x5", "14x14", 112, 3),
    (7, "MBConv6, k5x5", "14x14", 192, 4),
    (8, "MBConv6, k3x3", "7x7", 320, 1),
    (9, "Conv1x1 & Pooling & FC", "7x7", 1280, 1),
)

#: Table 2 of the paper: (parameters, FLOPs) in millions / billions as printed; the FLOPs are
#: multiply-adds (B0's 0.39 B is count_macs' 385.8 M).
PAPER_TOTALS = {"b0": (5.3, 0.39), "b1": (7.8, 0.70), "b2": (9.2, 1.0), "b3": (12, 1.8),
                "b4": (19, 4.2), "b5": (30, 9.9), "b6": (43, 19), "b7": (66, 37)}


def _table():
    """Table 1 beside B0's blocks: stage i >= 2 is the MBConv blocks `block{i - 1}*`; the
    output is the next stage's resolution."""
    rows = []
    for i, (stage, op, resolution, channels, layers_) in enumerate(PAPER_TABLE):
        nxt = PAPER_TABLE[i + 1][2] if i + 1 < len(PAPER_TABLE) else "7x7"
        blocks = ("stem" if stage == 1 else "top|head" if stage == 9 else
                  rf"block{stage - 1}[a-z]")
        output = "1000" if stage == 9 else f"{nxt}x{channels}"
        rows.append(fam.PaperRow(f"stage {stage}: {op}", blocks, output,
                                 columns={"operator": op, "resolution": resolution,
                                          "#channels": channels, "#layers": layers_}))
    params, flops = PAPER_TOTALS["b0"]
    rows.append(fam.PaperRow(
        "EfficientNet-B0 (total, Table 2)", None,
        params=fam.rounded(params * 1e6, 0.05e6, EFFICIENTNET_PAPER + ", Table 2",
                           "parameters, millions"),
        macs=fam.rounded(flops * 1e9, 0.005e9, EFFICIENTNET_PAPER + ", Table 2",
                         "FLOPs, billions (multiply-adds)")))
    return tuple(rows)


#: keras.applications (Keras 3.15, weights=None, with top, default size), measured:
#: count_params(), trainable, weight depth (`cnnblocks.weight_depth`), count_macs.
KERAS_COUNTS = {
    "b0": (5_330_571, 5_288_548, 82, 385_800_000),
    "b1": (7_856_239, 7_794_184, 116, 686_800_000),
    "b2": (9_177_569, 9_109_994, 116, 993_600_000),
    "b3": (12_320_535, 12_233_232, 131, 1_827_000_000),
    "b4": (19_466_823, 19_341_616, 161, 4_394_000_000),
    "b5": (30_562_527, 30_389_784, 195, 10_270_000_000),
    "b6": (43_265_143, 43_040_704, 225, 19_070_000_000),
    "b7": (66_658_687, 66_347_960, 274, 37_750_000_000),
}


def _reference(variant):
    params, trainable, depth, macs = KERAS_COUNTS[variant]
    keras_name = f"EfficientNet{variant.upper()}"
    size = EFFICIENTNET_SCALING[variant][2]
    paper_params, paper_flops = PAPER_TOTALS[variant]
    return fam.Reference(
        paper="Tan & Le, EfficientNet: Rethinking Model Scaling for Convolutional Neural "
              "Networks, ICML 2019",
        input_shape=(size, size, 3),
        params=fam.exact(params, fam.KERAS.format(keras_name), fam.KERAS_PARAMS),
        trainable_params=fam.exact(trainable, fam.KERAS.format(keras_name), fam.TRAINABLE),
        depth=fam.exact(depth, f"derived: weight_depth of keras.applications {keras_name} "
                        "(convolutions on the longest path, the SE's two included)",
                        fam.DEPTH),
        macs=fam.measured_macs(macs, fam.KERAS_MACS.format(keras_name) +
                               f" at {size}x{size}"),
        table=_table() if variant == "b0" else (),
        table_source=(EFFICIENTNET_PAPER + ", Table 1 (EfficientNet-B0) and Table 2 "
                      "(parameters, FLOPs)") if variant == "b0" else "",
        others=() if variant == "b0" else (
            # Table 2's rounded figures, unchecked: B1's 7.8 M and 0.70 B are 7.86 M and
            # 0.687 B here, within neither printed rounding.
            (f"paper parameters (Table 2, {keras_name[-2:]})",
             fam.rounded(paper_params * 1e6, 0.5e6, EFFICIENTNET_PAPER + ", Table 2",
                         "parameters, millions")),
            (f"paper FLOPs = multiply-adds (Table 2, {keras_name[-2:]})",
             fam.rounded(paper_flops * 1e9, 0.05 * paper_flops * 1e9,
                         EFFICIENTNET_PAPER + ", Table 2", "FLOPs, billions")),
        ),
    )


FAMILY = fam.Family(
    name=FAMILY_NAME,
    title="EfficientNet",
    paper="Tan & Le, EfficientNet: Rethinking Model Scaling for Convolutional Neural "
          "Networks, ICML 2019",
    url="https://arxiv.org/abs/1905.11946",
    models=(
        fam.ModelEntry(name="efficientnet_b0", title="EfficientNet-B0",
                       builder=EfficientNetB0, default_size=EFFICIENTNET_SCALING["b0"][2],
                       imagenet=_imagenet("b0"), reference=_reference("b0"),
                       keras_name="EfficientNetB0"),
        fam.ModelEntry(name="efficientnet_b1", title="EfficientNet-B1",
                       builder=EfficientNetB1, default_size=EFFICIENTNET_SCALING["b1"][2],
                       imagenet=_imagenet("b1"), reference=_reference("b1"),
                       keras_name="EfficientNetB1"),
        fam.ModelEntry(name="efficientnet_b2", title="EfficientNet-B2",
                       builder=EfficientNetB2, default_size=EFFICIENTNET_SCALING["b2"][2],
                       imagenet=_imagenet("b2"), reference=_reference("b2"),
                       keras_name="EfficientNetB2"),
        fam.ModelEntry(name="efficientnet_b3", title="EfficientNet-B3",
                       builder=EfficientNetB3, default_size=EFFICIENTNET_SCALING["b3"][2],
                       imagenet=_imagenet("b3"), reference=_reference("b3"),
                       keras_name="EfficientNetB3"),
        fam.ModelEntry(name="efficientnet_b4", title="EfficientNet-B4",
                       builder=EfficientNetB4, default_size=EFFICIENTNET_SCALING["b4"][2],
                       imagenet=_imagenet("b4"), reference=_reference("b4"),
                       keras_name="EfficientNetB4"),
        fam.ModelEntry(name="efficientnet_b5", title="EfficientNet-B5",
                       builder=EfficientNetB5, default_size=EFFICIENTNET_SCALING["b5"][2],
                       imagenet=_imagenet("b5"), reference=_reference("b5"),
                       keras_name="EfficientNetB5"),
        fam.ModelEntry(name="efficientnet_b6", title="EfficientNet-B6",
                       builder=EfficientNetB6, default_size=EFFICIENTNET_SCALING["b6"][2],
                       imagenet=_imagenet("b6"), reference=_reference("b6"),
                       keras_name="EfficientNetB6"),
        fam.ModelEntry(name="efficientnet_b7", title="EfficientNet-B7",
                       builder=EfficientNetB7, default_size=EFFICIENTNET_SCALING["b7"][2],
                       imagenet=_imagenet("b7"), reference=_reference("b7"),
                       keras_name="EfficientNetB7"),
    ),
    preprocess_input=preprocess_input,
    decode_predictions=decode_predictions,
    preprocessing="none: the models rescale pixels in [0, 255] and normalize them with "
                  "ImageNet's statistics themselves; preprocess_input is a pass-through",
    blocks=("conv_bn_act", "mbconv_block", "squeeze_excite"),
    scale=scale,
    estimate=estimate,
)
