"""MobileNetV3-Small and -Large (Howard et al., "Searching for MobileNetV3", ICCV 2019,
https://arxiv.org/abs/1905.02244).

Each network is a 3x3/2 convolution (16 filters, hard-swish), a stack of `mobilenet_v3_block`s
(Tables 1 and 2 of the paper), a 1x1 convolution to six times the last width, and a head of
global average pooling and two 1x1 convolutions without BN. Layer names, parameter counts and
weight order equal keras.applications' MobileNetV3Small / MobileNetV3Large wherever it names a
layer (`conv`, `conv_bn`, `expanded_conv_depthwise`, `expanded_conv_1_expand`, ...,
`expanded_conv_14_add`, `conv_1`, `conv_1_bn`, `conv_2`, `logits`, `predictions`), so its
ImageNet files load here. As in keras.applications, the model takes any input size by default
(`(None, None, 3)`, with or without the top) and rescales its input to [-1, 1] itself
(`include_preprocessing`). Everything about the family is in this module.
"""

import dataclasses
import numbers
import warnings

from keras import layers

from cnnblocks import _validation as check
from cnnblocks import cost
from cnnblocks import family as fam
from cnnblocks import identity, preprocessing
from cnnblocks.architectures import common
from cnnblocks.architectures.mobilenet import check_alpha
from cnnblocks.blocks import conv_bn_act, mobilenet_v3_block
from cnnblocks.blocks.common import activation_layer, conv_bn_act_cost, make_divisible
from cnnblocks.blocks.mobilenet import MOBILENET_V2_BN_MOMENTUM, mobilenet_v3_block_cost

__all__ = ["MobileNetV3Small", "MobileNetV3Large"]

HS, RE = "hard_swish", "relu"
#: The bottlenecks of Table 2 (Small) and Table 1 (Large), as keras.applications builds them:
#: (expansion ratio, #out, kernel, stride, SE, NL). The expansion width ("exp size") is
#: `make_divisible(c_in * ratio)`, which at alpha 1 gives the tables' numbers (in the
#: comments); `#out` is scaled `make_divisible(out * alpha)`. The non-minimalistic models use
#: the kernel, SE and NL of each row; `minimalistic=True` turns every kernel to 3x3, drops the
#: SE and uses ReLU throughout. Output sizes at 224x224.
MOBILENET_V3_SPECS = {
    "small": (
        (1, 16, 3, 2, True, RE),  # exp 16 -> 56x56x16
        (72 / 16, 24, 3, 2, False, RE),  # exp 72 -> 28x28x24
        (88 / 24, 24, 3, 1, False, RE),  # exp 88
        (4, 40, 5, 2, True, HS),  # exp 96 -> 14x14x40
        (6, 40, 5, 1, True, HS),  # exp 240
        (6, 40, 5, 1, True, HS),  # exp 240
        (3, 48, 5, 1, True, HS),  # exp 120 -> 14x14x48
        (3, 48, 5, 1, True, HS),  # exp 144
        (6, 96, 5, 2, True, HS),  # exp 288 -> 7x7x96
        (6, 96, 5, 1, True, HS),  # exp 576
        (6, 96, 5, 1, True, HS),  # exp 576
    ),
    "large": (
        (1, 16, 3, 1, False, RE),  # exp 16 -> 112x112x16
        (4, 24, 3, 2, False, RE),  # exp 64 -> 56x56x24
        (3, 24, 3, 1, False, RE),  # exp 72
        (3, 40, 5, 2, True, RE),  # exp 72 -> 28x28x40
        (3, 40, 5, 1, True, RE),  # exp 120
        (3, 40, 5, 1, True, RE),  # exp 120
        (6, 80, 3, 2, False, HS),  # exp 240 -> 14x14x80
        (2.5, 80, 3, 1, False, HS),  # exp 200
        (2.3, 80, 3, 1, False, HS),  # exp 184
        (2.3, 80, 3, 1, False, HS),  # exp 184
        (6, 112, 3, 1, True, HS),  # exp 480 -> 14x14x112
        (6, 112, 3, 1, True, HS),  # exp 672
        (6, 160, 5, 2, True, HS),  # exp 672 -> 7x7x160
        (6, 160, 5, 1, True, HS),  # exp 960
        (6, 160, 5, 1, True, HS),  # exp 960
    ),
}
#: Width of the head's first 1x1 convolution (`conv_2`, no BN): Tables 1 and 2, "NBN" rows.
MOBILENET_V3_HEAD = {"small": 1024, "large": 1280}
#: The stem's filters (not scaled by alpha) and the SE squeeze ratio.
MOBILENET_V3_STEM = 16
SE_RATIO = 0.25

#: Feature taps (block index -> stage): the last block at strides 4, 8 and 16; C5 is `conv_1`'s
#: activation (stride 32).
_TAPS = {"small": {0: "C2", 2: "C3", 7: "C4"}, "large": {2: "C2", 5: "C3", 11: "C4"}}

_BASE = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v3/"
#: keras.applications' ImageNet files (mobilenet_v3.py, Keras 3.15): MD5 hashes (with top,
#: without top) per `{small|large}[_minimalistic]_224_{alpha}_float`.
IMAGENET_HASHES = {
    "large_224_0.75_float": ("765b44a33ad4005b3ac83185abf1d0eb",
                             "40af19a13ebea4e2ee0c676887f69a2e"),
    "large_224_1.0_float": ("59e551e166be033d707958cf9e29a6a7",
                            "07fb09a5933dd0c8eaafa16978110389"),
    "large_minimalistic_224_1.0_float": ("675e7b876c45c57e9e63e6d90a36599c",
                                         "ec5221f64a2f6d1ef965a614bdae7973"),
    "small_224_0.75_float": ("cb65d4e5be93758266aa0a7f2c6708b7",
                             "ebdb5cc8e0b497cd13a7c275d475c819"),
    "small_224_1.0_float": ("8768d4c2e7dee89b9d02b2d03d65d862",
                            "d3e8ec802a04aa4fc771ee12a9a9b836"),
    "small_minimalistic_224_1.0_float": ("99cd97fb2fcdad2bf028eb838de69e37",
                                         "cde8136e733e811080d9fcd8a252f7e4"),
}


def imagenet_files(kind, alpha, minimalistic):
    """keras.applications' ImageNet files `(with top, without top)` of MobileNetV3 `kind`
    ("small" or "large"), or None where none are published for `alpha` / `minimalistic`."""
    key = f"{kind}{'_minimalistic' if minimalistic else ''}_224_{alpha}_float"
    if key not in IMAGENET_HASHES:
        return None
    top, notop = IMAGENET_HASHES[key]
    return (fam.WeightFile(f"{_BASE}weights_mobilenet_v3_{key}.h5", top),
            fam.WeightFile(f"{_BASE}weights_mobilenet_v3_{key}_no_top_v2.h5", notop))


def _trunk(kind):
    """Optional rescaling, stem (region `conv`), the bottlenecks (`expanded_conv`,
    `expanded_conv_1`, ...), the last 1x1 convolution (region `conv_1`)."""
    def body(x, ctx):
        alpha, minimalistic = ctx.options["alpha"], ctx.options["minimalistic"]
        act = RE if minimalistic else HS
        if ctx.options["include_preprocessing"]:
            with identity.region(x, "preprocessing", "rescaling",
                                 label="x / 127.5 - 1") as pre:
                x = pre.done(layers.Rescaling(1.0 / 127.5, offset=-1.0, name="rescaling")(x))
        unit = dict(use_bias=False, bn_momentum=MOBILENET_V2_BN_MOMENTUM, activation=act,
                    relu_layer=act == RE, data_format=ctx.data_format)
        with identity.region(x, "stem", "conv", args={"filters": MOBILENET_V3_STEM,
                                                      "strides": 2},
                             label=f"3x3 {MOBILENET_V3_STEM} /2") as stem:
            x = stem.done(conv_bn_act(x, MOBILENET_V3_STEM, 3, strides=2, name="conv",
                                      suffixes=("", "_bn", f"_{act}"), **unit))
        for i, (ratio, out, kernel, strides, se, nl) in enumerate(MOBILENET_V3_SPECS[kind]):
            c_in = x.shape[ctx.axis]
            x = mobilenet_v3_block(
                x, make_divisible(c_in * ratio), make_divisible(out * alpha),
                kernel_size=3 if minimalistic else kernel, strides=strides,
                se_ratio=SE_RATIO if se and not minimalistic else None,
                activation=RE if minimalistic else nl, data_format=ctx.data_format,
                name=f"expanded_conv_{i}" if i else "expanded_conv")
            if i in _TAPS[kind]:
                ctx.tap(_TAPS[kind][i], x)
        last = make_divisible(x.shape[ctx.axis] * 6)
        with identity.region(x, "conv", "conv_1", args={"filters": last},
                             label=f"1x1 {last}") as top:
            x = top.done(conv_bn_act(x, last, 1, name="conv_1",
                                     suffixes=("", "_bn", f"_{act}"), **unit))
        ctx.tap("C5", x)
        return x
    return body


def _head(kind):
    """With a top: global average pooling kept 4-D (`avg_pool`), `conv_2` (1x1 with bias, no
    BN) and its activation, `dropout`, `logits` (1x1), `flatten`, `predictions`."""
    def head(x, ctx):
        if not ctx.include_top:
            return common.global_pooling(x, ctx)
        act = RE if ctx.options["minimalistic"] else HS
        width = MOBILENET_V3_HEAD[kind]
        if ctx.options["alpha"] > 1.0:  # keras.applications widens the head for alpha > 1
            width = make_divisible(width * ctx.options["alpha"])
        x = layers.GlobalAveragePooling2D(data_format=ctx.data_format, keepdims=True,
                                          name="avg_pool")(x)
        x = layers.Conv2D(width, 1, padding="same", data_format=ctx.data_format,
                          name="conv_2")(x)
        x = activation_layer(act, relu_layer=act == RE, name=f"conv_2_{act}")(x)
        if ctx.options["dropout_rate"] > 0:
            x = layers.Dropout(ctx.options["dropout_rate"], name="dropout")(x)
        x = layers.Conv2D(ctx.classes, 1, padding="same", data_format=ctx.data_format,
                          name="logits")(x)
        x = layers.Flatten(data_format=ctx.data_format, name="flatten")(x)
        return layers.Activation(ctx.classifier_activation, name="predictions")(x)
    return head


#: The registered models' dropout before `logits` (the builders' default).
DROPOUT_RATE = 0.2


def estimate(point, *, input_shape, include_top=True, pooling=None, classes=1000,
             variant=None):
    """The family's estimator (`FAMILY.estimate`): the costs of a registered MobileNetV3
    (`point`, its `ModelEntry`: alpha 1, not minimalistic, `include_preprocessing`, dropout
    0.2) as a `cnnblocks.cost.Estimate` at `input_shape` `(h, w, 3)`, walked layer by layer as
    `_trunk` and `_head` build them, without building anything. `variant`: None or "keras",
    the family's only structure."""
    variant = point.variants[0] if variant is None else check.choice(
        variant, "variant", point.variants)
    kind = point.name[len("mobilenet_v3_"):]
    tally = cost.Tally(input_shape)
    tally.elementwise()                                         # rescaling
    tally.stage("preprocessing")
    conv_bn_act_cost(tally, MOBILENET_V3_STEM, 3, strides=2)    # conv, conv_bn, conv_hard_swish
    tally.stage("stem")
    for i, (ratio, out, kernel, strides, se, _) in enumerate(MOBILENET_V3_SPECS[kind]):
        mobilenet_v3_block_cost(tally, make_divisible(tally.shape[-1] * ratio),
                                make_divisible(out), kernel_size=kernel, strides=strides,
                                se_ratio=SE_RATIO if se else None)
        if i in _TAPS[kind]:                                    # the ends of strides 4, 8, 16
            tally.stage(f"expanded_conv_{i}" if i else "expanded_conv")
    conv_bn_act_cost(tally, make_divisible(tally.shape[-1] * 6), 1)     # conv_1, _bn, _{act}
    tally.stage("conv_1")
    if include_top:
        tally.global_pool(keepdims=True)                        # avg_pool
        tally.conv(MOBILENET_V3_HEAD[kind], 1, bias=True, padding="same")  # conv_2, its act
        tally.elementwise()
        if DROPOUT_RATE > 0:                                    # dropout
            tally.elementwise()
        tally.conv(classes, 1, bias=True, padding="same")       # logits
        tally.elementwise((classes,))                           # flatten
        tally.elementwise()                                     # predictions
    else:
        tally.head(False, pooling, classes)
    return tally.result()


def _build(kind, *, alpha, minimalistic, dropout_rate, include_preprocessing, weights,
           input_shape, **kwargs):
    def checks():
        check_alpha(alpha)
        for arg, value in (("minimalistic", minimalistic),
                           ("include_preprocessing", include_preprocessing)):
            check.boolean(value, arg)
        check.fraction(dropout_rate, "dropout_rate")
        if isinstance(weights, str) and weights == "imagenet":
            if imagenet_files(kind, alpha, minimalistic) is None:
                raise ValueError("With `weights='imagenet'`, `alpha` must be 0.75 or 1.0 "
                                 "(1.0 only with `minimalistic=True`); received "
                                 f"alpha={alpha!r}, minimalistic={minimalistic!r}.")
            shape = tuple(input_shape) if isinstance(input_shape, (list, tuple)) else None
            if shape is None or len(shape) != 3 or sorted(shape)[:2] != [3, 224] or (
                    shape.count(224) != 2):
                warnings.warn("`input_shape` is undefined or non-square, or its size is not "
                              "224: the weights for 224x224 are loaded.", stacklevel=4)

    entry = FAMILY.model(f"mobilenet_v3_{kind}")
    files = None
    if isinstance(alpha, numbers.Real) and isinstance(minimalistic, bool):
        files = imagenet_files(kind, alpha, minimalistic)
    entry = dataclasses.replace(entry, imagenet=files)
    return common.build(entry, _trunk(kind), min_size=32, head=_head(kind), checks=checks,
                        static_top=False,
                        options={"alpha": alpha, "minimalistic": minimalistic,
                                 "dropout_rate": dropout_rate,
                                 "include_preprocessing": include_preprocessing},
                        weights=weights, input_shape=input_shape, **kwargs)


def MobileNetV3Small(input_shape=None, alpha=1.0, minimalistic=False, include_top=True,
                     weights="imagenet", input_tensor=None, classes=1000, pooling=None,
                     dropout_rate=DROPOUT_RATE, classifier_activation="softmax",
                     include_preprocessing=True, name="MobileNetV3Small"):
    """MobileNetV3-Small: a 3x3/2 convolution, 11 bottlenecks, a 1x1 convolution to 576
    channels and a 1024-wide head.

    Reference: Howard et al., "Searching for MobileNetV3", ICCV 2019,
    https://arxiv.org/abs/1905.02244 (Table 2). The structure is the data in
    `MOBILENET_V3_SPECS["small"]`.

    Args:
        input_shape: optional (H, W, 3), at least 32x32 where given; None (the default) gives
            a model for any input size, `(None, None, 3)`, with or without the top (the head
            pools globally first), as keras.applications.
        alpha: float, the width multiplier: every bottleneck's widths
            `make_divisible(width * alpha)` (multiples of 8); the stem keeps 16 filters, the
            head's `conv_2` is widened only for alpha > 1. ImageNet weights exist for 0.75 and
            1.0 (1.0 only when minimalistic). At most 10. Default 1.0.
        minimalistic: bool, the paper's minimalistic variant: 3x3 kernels everywhere, no
            squeeze-and-excite, ReLU instead of hard-swish. Default False.
        include_top: bool, add the head (`avg_pool`, `conv_2`, `dropout`, `logits`, `flatten`,
            `predictions`). Default True.
        weights: `"imagenet"` (keras.applications' file for `alpha` / `minimalistic`, from the
            Keras cache, checked against its hash, downloaded when missing; the default, as in
            keras.applications), None (random initialization) or the path of a weight file.
        input_tensor: optional Keras tensor to build the model on.
        classes: int, number of classes, at most 1,000,000. Default 1000.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False`.
        dropout_rate: float in [0, 1), dropout before `logits`; 0 leaves the layer out.
            Default 0.2.
        classifier_activation: activation of `predictions`. Default `"softmax"`.
        include_preprocessing: bool, start with `Rescaling(1 / 127.5, offset=-1)` (layer
            `rescaling`), so the model takes pixels in [0, 255]. Default True.
        name: model name. Default `"MobileNetV3Small"`.

    Returns:
        A `keras.Model`: 2,554,968 parameters (2,542,856 trainable) at the defaults, 939,120
        without the top. The feature map (`conv_1_hard_swish`) has 576 channels at 1/32 of
        the input size.

    Note:
        - The squeeze-and-excite gate is a `hard_sigmoid` activation layer,
          `relu6(x + 3) / 6`; keras.applications computes it with a `ReLU(6.)` between two
          unnamed arithmetic operations: the same outputs up to float rounding, one layer
          type different.
        - The layers keras.applications leaves unnamed (activations, the head's pooling,
          dropout and flatten, the rescaling) have deterministic names here
          (`expanded_conv_1_expand_relu`, `conv_hard_swish`, `avg_pool`, `dropout`,
          `flatten`, `rescaling`).
        - Stride-2 depthwise convolutions pad explicitly and, for an unknown (dynamic) input
          size, assume an even one, as keras.applications: on odd sizes the feature maps are
          those of `(0, 1)` padding rather than "same"'s `(1, 1)`.
        - The squeeze-and-excite squeezes to a quarter of the expansion width rounded to a
          multiple of 8 (keras.applications and the reference implementation).
        - Table 2 marks squeeze-and-excite on the last 1x1 convolution (576); the released
          model and keras.applications have none there, and neither has this one.

    Example:
        >>> from cnnblocks import MobileNetV3Small
        >>> model = MobileNetV3Small(weights=None)
        >>> model.input.shape, model.output.shape
        ((None, None, None, 3), (None, 1000))
    """
    return _build("small", alpha=alpha, minimalistic=minimalistic, include_top=include_top,
                  weights=weights, input_tensor=input_tensor, classes=classes,
                  pooling=pooling, dropout_rate=dropout_rate,
                  classifier_activation=classifier_activation,
                  include_preprocessing=include_preprocessing, input_shape=input_shape,
                  name=name)


def MobileNetV3Large(input_shape=None, alpha=1.0, minimalistic=False, include_top=True,
                     weights="imagenet", input_tensor=None, classes=1000, pooling=None,
                     dropout_rate=DROPOUT_RATE, classifier_activation="softmax",
                     include_preprocessing=True, name="MobileNetV3Large"):
    """MobileNetV3-Large: a 3x3/2 convolution, 15 bottlenecks, a 1x1 convolution to 960
    channels and a 1280-wide head.

    Reference: Howard et al., "Searching for MobileNetV3", ICCV 2019,
    https://arxiv.org/abs/1905.02244 (Table 1). The structure is the data in
    `MOBILENET_V3_SPECS["large"]`.

    Args:
        input_shape: optional (H, W, 3), at least 32x32 where given; None (the default) gives
            a model for any input size, `(None, None, 3)`, with or without the top (the head
            pools globally first), as keras.applications.
        alpha: float, the width multiplier: every bottleneck's widths
            `make_divisible(width * alpha)` (multiples of 8); the stem keeps 16 filters, the
            head's `conv_2` is widened only for alpha > 1. ImageNet weights exist for 0.75 and
            1.0 (1.0 only when minimalistic). At most 10. Default 1.0.
        minimalistic: bool, the paper's minimalistic variant: 3x3 kernels everywhere, no
            squeeze-and-excite, ReLU instead of hard-swish. Default False.
        include_top: bool, add the head (`avg_pool`, `conv_2`, `dropout`, `logits`, `flatten`,
            `predictions`). Default True.
        weights: `"imagenet"` (keras.applications' file for `alpha` / `minimalistic`, from the
            Keras cache, checked against its hash, downloaded when missing; the default, as in
            keras.applications), None (random initialization) or the path of a weight file.
        input_tensor: optional Keras tensor to build the model on.
        classes: int, number of classes, at most 1,000,000. Default 1000.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False`.
        dropout_rate: float in [0, 1), dropout before `logits`; 0 leaves the layer out.
            Default 0.2.
        classifier_activation: activation of `predictions`. Default `"softmax"`.
        include_preprocessing: bool, start with `Rescaling(1 / 127.5, offset=-1)` (layer
            `rescaling`), so the model takes pixels in [0, 255]. Default True.
        name: model name. Default `"MobileNetV3Large"`.

    Returns:
        A `keras.Model`: 5,507,432 parameters (5,483,032 trainable) at the defaults, 2,996,352
        without the top. The feature map (`conv_1_hard_swish`) has 960 channels at 1/32 of
        the input size.

    Note:
        - The squeeze-and-excite gate is a `hard_sigmoid` activation layer,
          `relu6(x + 3) / 6`; keras.applications computes it with a `ReLU(6.)` between two
          unnamed arithmetic operations: the same outputs up to float rounding, one layer
          type different.
        - The layers keras.applications leaves unnamed (activations, the head's pooling,
          dropout and flatten, the rescaling) have deterministic names here
          (`expanded_conv_1_expand_relu`, `conv_hard_swish`, `avg_pool`, `dropout`,
          `flatten`, `rescaling`).
        - Stride-2 depthwise convolutions pad explicitly and, for an unknown (dynamic) input
          size, assume an even one, as keras.applications: on odd sizes the feature maps are
          those of `(0, 1)` padding rather than "same"'s `(1, 1)`.
        - The squeeze-and-excite squeezes to a quarter of the expansion width rounded to a
          multiple of 8 (keras.applications and the reference implementation).

    Example:
        >>> from cnnblocks import MobileNetV3Large
        >>> model = MobileNetV3Large(weights=None, include_top=False, input_shape=(64, 64, 3))
        >>> tuple(model.output.shape)
        (None, 2, 2, 960)
    """
    return _build("large", alpha=alpha, minimalistic=minimalistic, include_top=include_top,
                  weights=weights, input_tensor=input_tensor, classes=classes,
                  pooling=pooling, dropout_rate=dropout_rate,
                  classifier_activation=classifier_activation,
                  include_preprocessing=include_preprocessing, input_shape=input_shape,
                  name=name)


def preprocess_input(x, data_format=None):
    """A pass-through, as keras.applications' `mobilenet_v3.preprocess_input`: the models
    rescale pixels in [0, 255] themselves (`include_preprocessing=True`). Returns `x`."""
    return x


decode_predictions = preprocessing.decode_predictions

# --- Published numbers ----------------------------------------------------------------------
MOBILENET_V3_PAPER = "Howard et al. 2019"

#: Tables 1 (Large) and 2 (Small) of the paper, as printed: (input, operator, exp size, #out,
#: SE, NL, s). "NBN": no batch normalization. The bottleneck rows are our blocks in order.
PAPER_TABLES = {
    "large": (
        ("224x224x3", "conv2d", None, 16, False, "HS", 2),
        ("112x112x16", "bneck, 3x3", 16, 16, False, "RE", 1),
        ("112x112x16", "bneck, 3x3", 64, 24, False, "RE", 2),
        ("56x56x24", "bneck, 3x3", 72, 24, False, "RE", 1),
        ("56x56x24", "bneck, 5x5", 72, 40, True, "RE", 2),
        ("28x28x40", "bneck, 5x5", 120, 40, True, "RE", 1),
        ("28x28x40", "bneck, 5x5", 120, 40, True, "RE", 1),
        ("28x28x40", "bneck, 3x3", 240, 80, False, "HS", 2),
        ("14x14x80", "bneck, 3x3", 200, 80, False, "HS", 1),
        ("14x14x80", "bneck, 3x3", 184, 80, False, "HS", 1),
        ("14x14x80", "bneck, 3x3", 184, 80, False, "HS", 1),
        ("14x14x80", "bneck, 3x3", 480, 112, True, "HS", 1),
        ("14x14x112", "bneck, 3x3", 672, 112, True, "HS", 1),
        ("14x14x112", "bneck, 5x5", 672, 160, True, "HS", 2),
        ("7x7x160", "bneck, 5x5", 960, 160, True, "HS", 1),
        ("7x7x160", "bneck, 5x5", 960, 160, True, "HS", 1),
        ("7x7x160", "conv2d, 1x1", None, 960, False, "HS", 1),
        ("7x7x960", "pool, 7x7", None, None, False, None, 1),
        ("1x1x960", "conv2d 1x1, NBN", None, 1280, False, "HS", 1),
        ("1x1x1280", "conv2d 1x1, NBN", None, "k", False, None, 1),
    ),
    "small": (
        ("224x224x3", "conv2d, 3x3", None, 16, False, "HS", 2),
        ("112x112x16", "bneck, 3x3", 16, 16, True, "RE", 2),
        ("56x56x16", "bneck, 3x3", 72, 24, False, "RE", 2),
        ("28x28x24", "bneck, 3x3", 88, 24, False, "RE", 1),
        ("28x28x24", "bneck, 5x5", 96, 40, True, "HS", 2),
        ("14x14x40", "bneck, 5x5", 240, 40, True, "HS", 1),
        ("14x14x40", "bneck, 5x5", 240, 40, True, "HS", 1),
        ("14x14x40", "bneck, 5x5", 120, 48, True, "HS", 1),
        ("14x14x48", "bneck, 5x5", 144, 48, True, "HS", 1),
        ("14x14x48", "bneck, 5x5", 288, 96, True, "HS", 2),
        ("7x7x96", "bneck, 5x5", 576, 96, True, "HS", 1),
        ("7x7x96", "bneck, 5x5", 576, 96, True, "HS", 1),
        ("7x7x96", "conv2d, 1x1", None, 576, True, "HS", 1),
        ("7x7x576", "pool, 7x7", None, None, False, None, 1),
        ("1x1x576", "conv2d 1x1, NBN", None, 1024, False, "HS", 1),
        ("1x1x1024", "conv2d 1x1, NBN", None, "k", False, None, 1),
    ),
}

_SE_ERRATUM = ("Table 2 marks squeeze-and-excite on this convolution; the released model and "
               "keras.applications have none (nor does MobileNetV3Small here).")


def _table(kind):
    """The paper's table beside our blocks: the stem, one row per bottleneck and the last
    convolution (output: the next row's input), then the pooling and the two NBN
    convolutions together (our `head`)."""
    printed = PAPER_TABLES[kind]
    count = sum(op.startswith("bneck") for _, op, *_ in printed)
    names = ["conv", "expanded_conv", *(f"expanded_conv_{i}" for i in range(1, count)),
             "conv_1"]
    rows = []
    for i, (inp, op, exp, out, se, nl, stride) in enumerate(printed[:len(names)]):
        columns = {"input": inp, "operator": op, "exp size": exp or "-", "#out": out,
                   "SE": "yes" if se else "-", "NL": nl, "s": stride}
        label = f"{op}" + (f", exp {exp}" if exp else "") + f", out {out}"
        erratum = _SE_ERRATUM if se and not op.startswith("bneck") else None
        rows.append(fam.PaperRow(label, names[i], printed[i + 1][0], columns=columns,
                                 erratum=erratum))
    rows.append(fam.PaperRow("pool 7x7; conv2d 1x1 NBN; conv2d 1x1 NBN", "head", "1000",
                             columns={"input": printed[len(names)][0]}))
    return tuple(rows)


def _reference(kind, params, trainable, depth, macs, paper_macs, paper_params):
    keras_name = f"MobileNetV3{kind.title()}"
    return fam.Reference(
        paper="Howard et al., Searching for MobileNetV3, ICCV 2019",
        input_shape=(224, 224, 3),
        params=fam.exact(params, fam.KERAS.format(keras_name), fam.KERAS_PARAMS),
        trainable_params=fam.exact(trainable, fam.KERAS.format(keras_name), fam.TRAINABLE),
        depth=fam.exact(depth, f"derived: weight_depth of keras.applications {keras_name} "
                        "(convolutions on the longest path, the SE's two included)",
                        fam.DEPTH),
        macs=fam.measured_macs(macs, fam.KERAS_MACS.format(keras_name) + " at 224x224"),
        table=_table(kind),
        table_source=(MOBILENET_V3_PAPER + f", Table {1 if kind == 'large' else 2} "
                      f"(MobileNetV3-{kind.title()}) and Table 3 (MAdds, parameters)"),
        others=(
            # count_macs gives 56.51 M (Small) and 216.6 M (Large): off the printed 56 and
            # 219 by 0.9% and 1.1%; the paper does not say what its MAdds count beyond
            # convolutions, so these stay beside the measured figure, unchecked.
            (f"paper multiply-adds (Table 3, V3-{kind.title()} 1.0)",
             fam.rounded(paper_macs * 1e6, 0.5e6, MOBILENET_V3_PAPER + ", Table 3",
                         "millions of multiply-adds")),
            (f"paper parameters (Table 3, V3-{kind.title()} 1.0)",
             fam.rounded(paper_params * 1e6, 0.05e6, MOBILENET_V3_PAPER + ", Table 3",
                         "parameters, millions")),
        ),
    )


FAMILY = fam.Family(
    name="mobilenet_v3",
    title="MobileNetV3",
    paper="Howard et al., Searching for MobileNetV3, ICCV 2019",
    url="https://arxiv.org/abs/1905.02244",
    models=(
        fam.ModelEntry(name="mobilenet_v3_small", title="MobileNetV3-Small",
                       builder=MobileNetV3Small, default_size=224,
                       imagenet=imagenet_files("small", 1.0, False),
                       keras_name="MobileNetV3Small",
                       # keras 3.15 count_params() / trainable, weight depth and count_macs
                       # at 224x224 of keras.applications MobileNetV3Small (measured);
                       # Table 3: 56 M MAdds, 2.5 M parameters.
                       reference=_reference("small", 2_554_968, 2_542_856, 54, 56_510_400,
                                            56, 2.5)),
        fam.ModelEntry(name="mobilenet_v3_large", title="MobileNetV3-Large",
                       builder=MobileNetV3Large, default_size=224,
                       imagenet=imagenet_files("large", 1.0, False),
                       keras_name="MobileNetV3Large",
                       # The same for MobileNetV3Large; Table 3: 219 M MAdds, 5.4 M
                       # parameters (count_macs gives 216.6 M).
                       reference=_reference("large", 5_507_432, 5_483_032, 64, 216_589_760,
                                            219, 5.4)),
    ),
    preprocess_input=preprocess_input,
    decode_predictions=decode_predictions,
    preprocessing="none: the models rescale pixels in [0, 255] to [-1, 1] themselves "
                  "(`include_preprocessing`); preprocess_input is a pass-through",
    blocks=("conv_bn_act", "mobilenet_v3_block", "squeeze_excite"),
    estimate=estimate,
)
