"""EfficientNetV2-B0 to B3, S, M and L (Tan & Le, "EfficientNetV2: Smaller Models and Faster
Training", ICML 2021, https://arxiv.org/abs/2104.00298).

A 3x3/2 convolution, stages of `fused_mbconv_block`s (the early, high-resolution stages) then
of `mbconv_block`s with squeeze-and-excite (the paper's Table 4 for S), a 1x1 convolution to
1280 channels, global average pooling, dropout and the classifier. S, M and L have their own
stage tables; B0-B3 share one base table scaled by width and depth coefficients (as
keras.applications and the reference implementation). The model takes pixels in [0, 255]: it
starts with keras.applications' preprocessing layers (B0-B3: `Rescaling` 1/255 and a
`Normalization` with ImageNet's mean and variance; S, M, L: `Rescaling` to [-1, 1]). Layer
names, parameter counts and weight order equal keras.applications' EfficientNetV2B0-L
(`stem_conv`, `stem_bn`, `block1a_project_conv`, ..., `block6h_project_bn`, `top_conv`,
`top_bn`, `top_activation`, `avg_pool`, `top_dropout`, `predictions`), so its ImageNet files
load here. Everything about the family is in this module.
"""

import dataclasses

from keras import layers

from cnnblocks import _validation as check
from cnnblocks import cost
from cnnblocks import family as fam
from cnnblocks import identity, preprocessing
from cnnblocks.architectures import common
from cnnblocks.architectures.efficientnet import (DENSE_KERNEL_INITIALIZER, TAPS, round_repeats,
                                                  top_conv)
from cnnblocks.blocks import conv_bn_act, fused_mbconv_block, mbconv_block
from cnnblocks.blocks.common import conv_bn_act_cost
from cnnblocks.blocks.efficientnet import (CONV_KERNEL_INITIALIZER, fused_mbconv_block_cost,
                                           mbconv_block_cost)

__all__ = ["EfficientNetV2B0", "EfficientNetV2B1", "EfficientNetV2B2", "EfficientNetV2B3",
           "EfficientNetV2S", "EfficientNetV2M", "EfficientNetV2L"]

FUSED, MBCONV = "fused", "mbconv"

#: The stage tables (keras.applications' `DEFAULT_BLOCKS_ARGS`, the reference
#: implementation's; Table 4 of the paper for S): (block, expand ratio, kernel, stride of the
#: first block, output channels, repeats, squeeze-and-excite ratio). The stem's width comes
#: first; every stage's input is the previous stage's output.
EFFICIENTNET_V2_STAGES = {
    # B0-B3's base (scaled by EFFICIENTNET_V2_SCALING); outputs at 224x224
    "b": (32, (
        (FUSED, 1, 3, 1, 16, 1, None),    # block1: 112x112x16, no shortcut (32 -> 16)
        (FUSED, 4, 3, 2, 32, 2, None),    # block2: 56x56x32
        (FUSED, 4, 3, 2, 48, 2, None),    # block3: 28x28x48
        (MBCONV, 4, 3, 2, 96, 3, 0.25),   # block4: 14x14x96
        (MBCONV, 6, 3, 1, 112, 5, 0.25),  # block5: 14x14x112
        (MBCONV, 6, 3, 2, 192, 8, 0.25),  # block6: 7x7x192
    )),
    # S (Table 4); outputs at 384x384
    "s": (24, (
        (FUSED, 1, 3, 1, 24, 2, None),     # block1: 192x192x24
        (FUSED, 4, 3, 2, 48, 4, None),     # block2: 96x96x48
        (FUSED, 4, 3, 2, 64, 4, None),     # block3: 48x48x64
        (MBCONV, 4, 3, 2, 128, 6, 0.25),   # block4: 24x24x128
        (MBCONV, 6, 3, 1, 160, 9, 0.25),   # block5: 24x24x160
        (MBCONV, 6, 3, 2, 256, 15, 0.25),  # block6: 12x12x256
    )),
    # M; outputs at 480x480
    "m": (24, (
        (FUSED, 1, 3, 1, 24, 3, None),     # block1: 240x240x24
        (FUSED, 4, 3, 2, 48, 5, None),     # block2: 120x120x48
        (FUSED, 4, 3, 2, 80, 5, None),     # block3: 60x60x80
        (MBCONV, 4, 3, 2, 160, 7, 0.25),   # block4: 30x30x160
        (MBCONV, 6, 3, 1, 176, 14, 0.25),  # block5: 30x30x176
        (MBCONV, 6, 3, 2, 304, 18, 0.25),  # block6: 15x15x304
        (MBCONV, 6, 3, 1, 512, 5, 0.25),   # block7: 15x15x512
    )),
    # L; outputs at 480x480
    "l": (32, (
        (FUSED, 1, 3, 1, 32, 4, None),     # block1: 240x240x32
        (FUSED, 4, 3, 2, 64, 7, None),     # block2: 120x120x64
        (FUSED, 4, 3, 2, 96, 7, None),     # block3: 60x60x96
        (MBCONV, 4, 3, 2, 192, 10, 0.25),  # block4: 30x30x192
        (MBCONV, 6, 3, 1, 224, 19, 0.25),  # block5: 30x30x224
        (MBCONV, 6, 3, 2, 384, 25, 0.25),  # block6: 15x15x384
        (MBCONV, 6, 3, 1, 640, 7, 0.25),   # block7: 15x15x640
    )),
}
#: The last 1x1 convolution (scaled by width).
EFFICIENTNET_V2_TOP = 1280
#: Stochastic depth: block b drops its residual branch with rate 0.2 * b / n in training, n the
#: *unscaled* number of blocks of the stage table (keras.applications; B1-B3 thus reach
#: rates above 0.2).
DROP_CONNECT_RATE = 0.2
#: Dropout before the classifier, every variant (keras.applications).
DROPOUT_RATE = 0.2
#: BN moving-average momentum of every BN (keras.applications' EfficientNetV2).
BN_MOMENTUM = 0.9

#: Variant -> (stage table, width coefficient, depth coefficient, default input size).
EFFICIENTNET_V2_SCALING = {
    "b0": ("b", 1.0, 1.0, 224),
    "b1": ("b", 1.0, 1.1, 240),
    "b2": ("b", 1.1, 1.2, 260),
    "b3": ("b", 1.2, 1.4, 300),
    "s": ("s", 1.0, 1.0, 384),
    "m": ("m", 1.0, 1.0, 480),
    "l": ("l", 1.0, 1.0, 480),
}

#: The structures `variant=` builds (S, M, L): keras.applications' and torchvision's
#: `efficientnet_v2_s/m/l`, which its weights fit. They differ in the padding of the strided
#: 3x3 convolutions (Keras' "same" pads an even input only bottom-right, PyTorch (1, 1)), in
#: the input (keras.applications' models rescale pixels themselves; torchvision's take inputs
#: normalized outside, as `cnnblocks.preprocessing.prepare` does with the weight set's record)
#: and in the dropout before the classifier (torchvision: 0.2, 0.3, 0.4 for S, M, L). Both:
#: BN epsilon 1e-3, the SE squeezing to a quarter of the block's input, stochastic depth
#: 0.2 b / n, no bias before a BN.
EFFICIENTNET_V2_VARIANTS = {
    fam.KERAS_VARIANT: dict(padding="same", preprocessing=True,
                            dropout={"s": DROPOUT_RATE, "m": DROPOUT_RATE, "l": DROPOUT_RATE}),
    fam.TORCHVISION_VARIANT: dict(padding="symmetric", preprocessing=False,
                                  dropout={"s": 0.2, "m": 0.3, "l": 0.4}),
}

#: ImageNet's per-channel mean and standard deviation (B0-B3's `Normalization`).
IMAGENET_MEAN_RGB = (0.485, 0.456, 0.406)
IMAGENET_STDDEV_RGB = (0.229, 0.224, 0.225)

_BASE = "https://storage.googleapis.com/tensorflow/keras-applications/efficientnet_v2/"
#: keras.applications' ImageNet files (efficientnet_v2.py, Keras 3.15): MD5 (with top, no top).
IMAGENET_HASHES = {
    "b0": ("21ecbf6da12460d5c40bb2f29ceb2188", "893217f2bb855e2983157299931e43ff"),
    "b1": ("069f0534ff22adf035c89e2d9547a9dc", "0e80663031ca32d657f9caa404b6ec37"),
    "b2": ("424e49f28180edbde1e94797771950a7", "1dfe2e7a5d45b6632553a8961ea609eb"),
    "b3": ("1f1fc43bd98a6e4fd8fdfd551e02c7a0", "f6abf7b5849ac99a89b50dd3fd532856"),
    "s": ("e1d88a8495beba45748fedd0cecbe016", "af0682fb74e8c54910f2d4393339c070"),
    "m": ("a3bf6aa3276309f4fc6a34aa114c95cd", "1b8dc055df72dde80d614482840fe342"),
    "l": ("27e6d408b53c7ebc868fefa357689935", "b0b66b5c863aef5b46e8608fe1711615"),
}


def _imagenet(variant):
    top, notop = IMAGENET_HASHES[variant]
    return (fam.WeightFile(f"{_BASE}efficientnetv2-{variant}.h5", top),
            fam.WeightFile(f"{_BASE}efficientnetv2-{variant}_notop.h5", notop))


def round_filters(filters, width):
    """Channels scaled by the width coefficient, rounded to the nearest multiple of 8 (at least
    8): EfficientNetV2's rounding, which (unlike V1's) never adds a step back.

    Raises:
        TypeError / ValueError: `filters` is not a positive int, or `width` not a finite
            number > 0.
    """
    value = check.positive_int(filters, "filters") * check.positive_number(width, "width")
    return max(8, int(value + 4) // 8 * 8)


def _trunk(variant):
    """Preprocessing (region `preprocessing`), stem (region `stem`), the Fused-MBConv and
    MBConv stages (`block1a`, ...), the last 1x1 convolution (region `top`)."""
    table, width, depth, _ = EFFICIENTNET_V2_SCALING[variant]
    stem_width, stages = EFFICIENTNET_V2_STAGES[table]

    def body(x, ctx):
        axis = 3 if ctx.data_format == "channels_last" else 1  # keras.applications' `bn_axis`
        structure = EFFICIENTNET_V2_VARIANTS[ctx.variant]
        padding = structure["padding"]
        if ctx.options["include_preprocessing"] and structure["preprocessing"]:
            rgb = x.shape[axis] == 3
            imagenet = table == "b" and rgb  # keras.applications: V1's normalization for B*
            with identity.region(x, "preprocessing", "preprocessing",
                                 label="x / 255, ImageNet mean and std" if imagenet else
                                 "x / 128 - 1") as pre:
                if imagenet:
                    y = layers.Rescaling(1.0 / 255.0, name="rescaling")(x)
                    y = layers.Normalization(axis=axis, mean=list(IMAGENET_MEAN_RGB),
                                             variance=[s ** 2 for s in IMAGENET_STDDEV_RGB],
                                             name="normalization")(y)
                else:
                    y = layers.Rescaling(1.0 / 128.0, offset=-1, name="rescaling")(x)
                x = pre.done(y)
        unit = dict(use_bias=False, activation="swish", bn_momentum=BN_MOMENTUM,
                    kernel_initializer=CONV_KERNEL_INITIALIZER, data_format=ctx.data_format)
        stem = round_filters(stem_width, width)
        with identity.region(x, "stem", "stem", args={"filters": stem, "strides": 2},
                             label=f"3x3 {stem} /2") as region:
            x = region.done(conv_bn_act(x, stem, 3, strides=2, padding=padding, name="stem",
                                        suffixes=("_conv", "_bn", "_activation"), **unit))
        total = sum(repeats for *_, repeats, _ in stages)  # unscaled, as keras.applications
        b = 0
        for stage, (kind, expand, kernel, strides, out, repeats, se) in enumerate(stages, 1):
            block = fused_mbconv_block if kind == FUSED else mbconv_block
            extra = {} if kind == FUSED else {"version": 2}
            for j in range(round_repeats(repeats, depth)):
                x = block(x, round_filters(out, width), expand_ratio=expand, kernel_size=kernel,
                          strides=strides if j == 0 else 1, se_ratio=se,
                          drop_rate=DROP_CONNECT_RATE * b / total, bn_momentum=BN_MOMENTUM,
                          padding=padding, data_format=ctx.data_format,
                          name=f"block{stage}{chr(97 + j)}", **extra)
                b += 1
            if stage in TAPS:
                ctx.tap(TAPS[stage], x)
        return top_conv(x, ctx, round_filters(EFFICIENTNET_V2_TOP, width), unit)
    return body


def _head(x, ctx):
    """With a top: `avg_pool`, `top_dropout`, `predictions`."""
    if not ctx.include_top:
        return common.global_pooling(x, ctx)
    x = layers.GlobalAveragePooling2D(data_format=ctx.data_format, name="avg_pool")(x)
    rates = EFFICIENTNET_V2_VARIANTS[ctx.variant]["dropout"]
    x = layers.Dropout(rates.get(ctx.options["variant"], DROPOUT_RATE), name="top_dropout")(x)
    return layers.Dense(ctx.classes, activation=ctx.classifier_activation,
                        kernel_initializer=DENSE_KERNEL_INITIALIZER, name="predictions")(x)


def estimate(point, *, input_shape, include_top=True, pooling=None, classes=1000,
             variant=None):
    """The family's estimator (`FAMILY.estimate`): the costs of a registered EfficientNetV2
    (`point`, its `ModelEntry`; `include_preprocessing=True`) as a `cnnblocks.cost.Estimate`
    at `input_shape` `(h, w, 3)` in `variant`'s structure (None: the builders' default,
    "keras"; S, M and L also "torchvision"), walked layer by layer as `_trunk` and `_head`
    build them, without building anything."""
    variant = point.variants[0] if variant is None else check.choice(
        variant, "variant", point.variants)
    structure = EFFICIENTNET_V2_VARIANTS[variant]
    padding = structure["padding"]
    table, width, depth, _ = EFFICIENTNET_V2_SCALING[point.name[len("efficientnet_v2_"):]]
    stem_width, stages = EFFICIENTNET_V2_STAGES[table]
    tally = cost.Tally(input_shape)
    if structure["preprocessing"]:
        tally.elementwise()                                     # rescaling
        if table == "b":                                        # normalization (its mean and
            tally.elementwise()                                 # variance given: no weights)
        tally.stage("preprocessing")
    conv_bn_act_cost(tally, round_filters(stem_width, width), 3, strides=2,  # stem_conv, ...
                     padding=padding)
    tally.stage("stem")
    total = sum(repeats for *_, repeats, _ in stages)
    b = 0
    for stage, (kind, expand, kernel, strides, out, repeats, se) in enumerate(stages, 1):
        for j in range(round_repeats(repeats, depth)):
            args = dict(expand_ratio=expand, kernel_size=kernel,
                        strides=strides if j == 0 else 1, se_ratio=se,
                        drop_rate=DROP_CONNECT_RATE * b / total, padding=padding)
            if kind == FUSED:
                fused_mbconv_block_cost(tally, round_filters(out, width), **args)
            else:
                mbconv_block_cost(tally, round_filters(out, width), version=2, **args)
            b += 1
        tally.stage(f"block{stage}")
    conv_bn_act_cost(tally, round_filters(EFFICIENTNET_V2_TOP, width), 1)   # top_conv, ...
    tally.stage("top")
    tally.head(include_top, pooling, classes, dropout=True)     # avg_pool, top_dropout, ...
    return tally.result()


def _build(variant, *, include_preprocessing, weights, structure=fam.KERAS_VARIANT, **kwargs):
    def checks():
        check.boolean(include_preprocessing, "include_preprocessing")
    return common.build(FAMILY.model(f"efficientnet_v2_{variant}"), _trunk(variant),
                        min_size=32, head=_head, checks=checks,
                        options={"include_preprocessing": include_preprocessing,
                                 "variant": variant},
                        weights=weights, variant=structure, **kwargs)


def EfficientNetV2B0(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                     pooling=None, classes=1000, classifier_activation="softmax",
                     include_preprocessing=True, name="efficientnetv2-b0"):
    return _build("b0", include_top=include_top, weights=weights, input_tensor=input_tensor,
                  input_shape=input_shape, pooling=pooling, classes=classes,
                  classifier_activation=classifier_activation,
                  include_preprocessing=include_preprocessing, name=name)


def EfficientNetV2B1(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                     pooling=None, classes=1000, classifier_activation="softmax",
                     include_preprocessing=True, name="efficientnetv2-b1"):
    return _build("b1", include_top=include_top, weights=weights, input_tensor=input_tensor,
                  input_shape=input_shape, pooling=pooling, classes=classes,
                  classifier_activation=classifier_activation,
                  include_preprocessing=include_preprocessing, name=name)


def EfficientNetV2B2(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                     pooling=None, classes=1000, classifier_activation="softmax",
                     include_preprocessing=True, name="efficientnetv2-b2"):
    return _build("b2", include_top=include_top, weights=weights, input_tensor=input_tensor,
                  input_shape=input_shape, pooling=pooling, classes=classes,
                  classifier_activation=classifier_activation,
                  include_preprocessing=include_preprocessing, name=name)


def EfficientNetV2B3(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                     pooling=None, classes=1000, classifier_activation="softmax",
                     include_preprocessing=True, name="efficientnetv2-b3"):
    return _build("b3", include_top=include_top, weights=weights, input_tensor=input_tensor,
                  input_shape=input_shape, pooling=pooling, classes=classes,
                  classifier_activation=classifier_activation,
                  include_preprocessing=include_preprocessing, name=name)


def EfficientNetV2S(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                    pooling=None, classes=1000, classifier_activation="softmax",
                    include_preprocessing=True, name="efficientnetv2-s", *, variant="keras"):
    return _build("s", include_top=include_top, weights=weights, input_tensor=input_tensor,
                  input_shape=input_shape, pooling=pooling, classes=classes,
                  classifier_activation=classifier_activation,
                  include_preprocessing=include_preprocessing, name=name, structure=variant)


def EfficientNetV2M(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                    pooling=None, classes=1000, classifier_activation="softmax",
                    include_preprocessing=True, name="efficientnetv2-m", *, variant="keras"):
    return _build("m", include_top=include_top, weights=weights, input_tensor=input_tensor,
                  input_shape=input_shape, pooling=pooling, classes=classes,
                  classifier_activation=classifier_activation,
                  include_preprocessing=include_preprocessing, name=name, structure=variant)


def EfficientNetV2L(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                    pooling=None, classes=1000, classifier_activation="softmax",
                    include_preprocessing=True, name="efficientnetv2-l", *, variant="keras"):
    return _build("l", include_top=include_top, weights=weights, input_tensor=input_tensor,
                  input_shape=input_shape, pooling=pooling, classes=classes,
                  classifier_activation=classifier_activation,
                  include_preprocessing=include_preprocessing, name=name, structure=variant)


#: keras.applications (Keras 3.15, weights=None, with top, default size), measured:
#: count_params(), trainable, no top, weight depth (`cnnblocks.weight_depth`), count_macs.
KERAS_COUNTS = {
    "b0": (7_200_312, 7_139_704, 5_919_312, 92, 718_086_176),
    "b1": (8_212_124, 8_141_052, 6_931_124, 112, 1_196_819_360),
    "b2": (10_178_374, 10_096_086, 8_769_374, 117, 1_697_542_832),
    "b3": (14_467_622, 14_358_406, 12_930_622, 137, 3_011_458_816),
    "s": (21_612_360, 21_458_488, 20_331_360, 171, 8_365_617_152),
    "m": (54_431_388, 54_139_356, 53_150_388, 246, 24_582_460_384),
    "l": (119_027_848, 118_515_272, 117_746_848, 340, 56_079_699_008),
}


_DOC = """\
EfficientNetV2-{title}: {blocks} blocks ({fused} Fused-MBConv, {mb} MBConv), {size}x{size} input.

    The MBConv blocks have squeeze-and-excite, the Fused-MBConv blocks none.

    Reference: Tan & Le, "EfficientNetV2: Smaller Models and Faster Training", ICML 2021,
    https://arxiv.org/abs/2104.00298 (Table 4 for S; M, L and B0-B3 from the reference
    implementation, as keras.applications). The structure is the data in
    `EFFICIENTNET_V2_STAGES[{table!r}]` and `EFFICIENTNET_V2_SCALING[{variant!r}]` (width
    {width}, depth {depth}, size {size}).

    Args:
        include_top: bool, add `avg_pool`, `top_dropout` (0.2) and the classifier
            `predictions`. Default True.
        weights: `"imagenet"` (keras.applications' file `efficientnetv2-{variant}.h5` /
            `efficientnetv2-{variant}_notop.h5`, from the Keras cache, checked against its
            hash, downloaded when missing; the default, as in keras.applications), None
            (random initialization) or the path of a weight file.
        input_tensor: optional Keras tensor to build the model on.
        input_shape: optional (H, W, C); at least 32x32; must be static with a top, and
            ({size}, {size}, 3) with a top and ImageNet weights. Default ({size}, {size}, 3)
            with a top, (None, None, 3) without.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False` (layers
            `avg_pool` / `max_pool`).
        classes: int, number of classes, at most 1,000,000. Default 1000.
        classifier_activation: activation of `predictions`. Default `"softmax"`.
        include_preprocessing: bool, start with the preprocessing layers ({preprocessing});
            without them the model takes {without}. Default True.
        name: model name. Default `"efficientnetv2-{variant}"`.{variant_arg}

    Returns:
        A `keras.Model` taking pixels in [0, 255]: {params:,} parameters at the defaults
        (= keras.applications' EfficientNetV2{title}). The feature map (`top_activation`) has
        {top} channels at 1/32 of the input size.

    Note:
        - The preprocessing layers are named `rescaling` (and `normalization`), the names
          keras.applications' unnamed layers get in a fresh session. keras.applications picks
          them from the model *name* (B* names normalize with ImageNet's statistics); here
          the variant decides, so a renamed model keeps its preprocessing (and its ImageNet
          file: keras.applications derives the file name from `name`, and fails on a name
          of its own).
        - Every convolution pads "same" (keras.applications; no `*_pad` layers).
        - Stochastic depth ("drop connect", `{{name}}_drop` Dropout layers, training only)
          rises linearly as 0.2 b / n over the blocks b, n the unscaled block count of the
          stage table ({unscaled}), as keras.applications{beyond}.
        - BN momentum 0.9 and epsilon 1e-3 throughout, as keras.applications (the
          reference implementation: momentum 0.9, epsilon 1e-3).{variant_note}

    Example:
        >>> from cnnblocks import EfficientNetV2{title}
        >>> model = EfficientNetV2{title}(weights=None, include_top=False,
        ...                         input_shape=(64, 64, 3))
        >>> tuple(model.output.shape)
        (None, 2, 2, {top})
    """


_VARIANT_ARG = """
        variant: `"keras"` (keras.applications' structure, the default) or `"torchvision"`
            (torchvision's `efficientnet_v2_{variant}`, which its weights fit: see the Note)."""
_VARIANT_NOTE = """
        - `variant="torchvision"` pads the strided 3x3 convolutions (1, 1) (`*_pad` layers,
          PyTorch's padding), has no preprocessing layers (`include_preprocessing` has no
          effect: the model takes inputs normalized as the weight set's record says,
          `cnnblocks.preprocessing.prepare(images, config=...)`) and a dropout of {dropout}
          before the classifier; `weights="torchvision"` converts torchvision's ImageNet
          file on load (`cnnblocks.convert`, the layout in `FAMILY`). Its trainable
          parameters equal torchvision's `parameters()`."""


def _doc(variant):
    table, width, depth, size = EFFICIENTNET_V2_SCALING[variant]
    _, stages = EFFICIENTNET_V2_STAGES[table]
    counts = [(kind, round_repeats(r, depth)) for kind, *_, r, _ in stages]
    unscaled = sum(r for *_, r, _ in stages)
    blocks = sum(n for _, n in counts)
    return _DOC.format(
        title=variant.upper(), variant=variant, table=table, width=width, depth=depth,
        size=size, blocks=blocks, fused=sum(n for k, n in counts if k == FUSED),
        mb=sum(n for k, n in counts if k == MBCONV), params=KERAS_COUNTS[variant][0],
        top=round_filters(EFFICIENTNET_V2_TOP, width), unscaled=unscaled,
        beyond=(f": the last of its {blocks} blocks drops with rate "
                f"{DROP_CONNECT_RATE * (blocks - 1) / unscaled:.3f}") if blocks > unscaled else "",
        preprocessing=("`rescaling` x / 255, `normalization` with ImageNet's mean and "
                       "variance" if table == "b" else "`rescaling` x / 128 - 1"),
        without=("ImageNet-normalized inputs" if table == "b" else "inputs in [-1, 1]"),
        variant_arg="" if table == "b" else _VARIANT_ARG.format(variant=variant),
        variant_note="" if table == "b" else _VARIANT_NOTE.format(
            variant=variant, dropout=EFFICIENTNET_V2_VARIANTS[fam.TORCHVISION_VARIANT]
            ["dropout"][variant]))


EfficientNetV2B0.__doc__ = _doc("b0")
EfficientNetV2B1.__doc__ = _doc("b1")
EfficientNetV2B2.__doc__ = _doc("b2")
EfficientNetV2B3.__doc__ = _doc("b3")
EfficientNetV2S.__doc__ = _doc("s")
EfficientNetV2M.__doc__ = _doc("m")
EfficientNetV2L.__doc__ = _doc("l")


def preprocess_input(x, data_format=None):
    """A pass-through, as keras.applications' `efficientnet_v2.preprocess_input`: the models
    rescale pixels in [0, 255] themselves. Returns `x`."""
    return x


decode_predictions = preprocessing.decode_predictions


# --- Published numbers ----------------------------------------------------------------------
EFFICIENTNET_V2_PAPER = ("Tan & Le, EfficientNetV2: Smaller Models and Faster Training, "
                         "ICML 2021")


#: Where the counts come from: measured on keras.applications (the issue's figures too).
_KERAS = "keras.applications {} count_params(), Keras 3.15, weights=None (measured)"


def _reference(variant):
    params, trainable, _, depth, macs = KERAS_COUNTS[variant]
    keras_name = f"EfficientNetV2{variant.upper()}"
    size = EFFICIENTNET_V2_SCALING[variant][3]
    return fam.Reference(
        paper=EFFICIENTNET_V2_PAPER,
        input_shape=(size, size, 3),
        params=fam.exact(params, _KERAS.format(keras_name), fam.KERAS_PARAMS),
        trainable_params=fam.exact(trainable, _KERAS.format(keras_name), fam.TRAINABLE),
        depth=fam.exact(depth, f"derived: weight_depth of keras.applications {keras_name} "
                        "(convolutions on the longest path, the SE's two included)",
                        fam.DEPTH),
        macs=fam.measured_macs(macs, fam.KERAS_MACS.format(keras_name) +
                               f" at {size}x{size}"),
    )


def _torch_layout(variant):
    """Keras layer -> torchvision module: the stem is `features.0` (`.0` conv, `.1` BN);
    block `j` of stage `i` is `features.{i}.{j - 1}.block`: a Fused-MBConv1's conv-BN is `.0`,
    a Fused-MBConv's expansion `.0` and projection `.1`, an MBConv's expansion `.0`,
    depthwise `.1`, SE `.2` (`fc1`, `fc2`) and projection `.3`; the top convolution is
    `features.{stages + 1}`; `classifier.1` the classifier."""
    table = EFFICIENTNET_V2_SCALING[variant][0]
    _, stages = EFFICIENTNET_V2_STAGES[table]
    found = {"stem_conv": "features.0.0", "stem_bn": "features.0.1",
             "top_conv": f"features.{len(stages) + 1}.0",
             "top_bn": f"features.{len(stages) + 1}.1", "predictions": "classifier.1"}
    for stage, (kind, expand, *_, repeats, _) in enumerate(stages, 1):
        if kind == FUSED:
            parts = ({"project_conv": "0.0", "project_bn": "0.1"} if expand == 1 else
                     {"expand_conv": "0.0", "expand_bn": "0.1", "project_conv": "1.0",
                      "project_bn": "1.1"})
        else:
            parts = {"expand_conv": "0.0", "expand_bn": "0.1", "dwconv2": "1.0", "bn": "1.1",
                     "se_reduce": "2.fc1", "se_expand": "2.fc2", "project_conv": "3.0",
                     "project_bn": "3.1"}
        for j in range(repeats):
            for ours, module in parts.items():
                found[f"block{stage}{chr(97 + j)}_{ours}"] = f"features.{stage}.{j}.block.{module}"
    return fam.TorchLayout(found)


#: torchvision's ImageNet weights (torchvision/models/efficientnet.py,
#: `EfficientNet_V2_{S,M,L}_Weights.IMAGENET1K_V1`, torchvision 0.28): file, acc@1, acc@5,
#: num_params, file size (MB), crop = resize size, interpolation, mean = std (None: ImageNet's).
_TORCHVISION = {
    "s": ("efficientnet_v2_s-dd5fe13b.pth", 84.228, 96.878, 21_458_488, 82.704, 384,
          "bilinear", None),
    "m": ("efficientnet_v2_m-dc08266a.pth", 85.112, 97.156, 54_139_356, 208.01, 480,
          "bilinear", None),
    "l": ("efficientnet_v2_l-59c71312.pth", 85.808, 97.788, 118_515_272, 454.573, 480,
          "bicubic", 0.5),
}


def _pretrained(variant):
    if variant not in _TORCHVISION:
        return {}
    filename, top1, top5, params, size_mb, size, interpolation, half = _TORCHVISION[variant]
    stats = {} if half is None else {"mean": (half,) * 3, "std": (half,) * 3}
    config = fam.torchvision_weights(
        filename, f"EfficientNet_V2_{variant.upper()}_Weights.IMAGENET1K_V1", top1=top1,
        top5=top5, num_params=params, file_size_mb=size_mb, input_size=size, resize_size=size,
        **stats)
    if interpolation != config.interpolation:
        config = dataclasses.replace(config, interpolation=interpolation)
    return {"torchvision": config}


def _entry(variant):
    torch = variant in _TORCHVISION
    return fam.ModelEntry(
        name=f"efficientnet_v2_{variant}", title=f"EfficientNetV2-{variant.upper()}",
        builder=globals()[f"EfficientNetV2{variant.upper()}"],
        default_size=EFFICIENTNET_V2_SCALING[variant][3], imagenet=_imagenet(variant),
        reference=_reference(variant), keras_name=f"EfficientNetV2{variant.upper()}",
        variants=tuple(EFFICIENTNET_V2_VARIANTS) if torch else (fam.KERAS_VARIANT,),
        pretrained=_pretrained(variant), torch_layout=_torch_layout(variant) if torch else None)


FAMILY = fam.Family(
    name="efficientnet_v2",
    title="EfficientNetV2",
    paper=EFFICIENTNET_V2_PAPER,
    url="https://arxiv.org/abs/2104.00298",
    models=tuple(_entry(v) for v in EFFICIENTNET_V2_SCALING),
    preprocess_input=preprocess_input,
    decode_predictions=decode_predictions,
    preprocessing="none: the models rescale pixels in [0, 255] themselves (B0-B3: x / 255 and "
                  "ImageNet's mean and std; S, M, L: x / 128 - 1); preprocess_input is a "
                  "pass-through",
    blocks=("conv_bn_act", "fused_mbconv_block", "mbconv_block", "squeeze_excite"),
    estimate=estimate,
)
