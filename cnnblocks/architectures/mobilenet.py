"""MobileNet v1 (Howard et al., "MobileNets: Efficient Convolutional Neural Networks for Mobile
Vision Applications", 2017, https://arxiv.org/abs/1704.04861).

The network is a 3x3/2 convolution and thirteen `depthwise_separable_block`s (the paper's
Table 1), global average pooling and a 1x1-convolution classifier. Layer names, parameter
counts and weight order equal keras.applications' MobileNet (`conv1`, `conv1_bn`,
`conv1_relu`, `conv_dw_1`, `conv_dw_1_bn`, ..., `conv_pw_13_relu`, `dropout`, `conv_preds`,
`reshape_2`, `predictions`), so its ImageNet files load here, for every width multiplier and
input size keras.applications publishes. Everything about the family is in this module.
"""

import dataclasses
import numbers
import warnings

import keras
from keras import layers

from cnnblocks import _validation as check
from cnnblocks import cost
from cnnblocks import family as fam
from cnnblocks import identity, preprocessing
from cnnblocks.architectures import common
from cnnblocks.blocks import conv_bn_act, depthwise_separable_block
from cnnblocks.blocks.common import conv_bn_act_cost
from cnnblocks.blocks.mobilenet import depthwise_separable_block_cost

__all__ = ["MobileNet"]

#: The stem: a 3x3/2 convolution (no bias, "same") with 32 filters at alpha 1 - BN - ReLU6.
#: Paper Table 1, first row; keras.applications' names `conv1`, `conv1_bn`, `conv1_relu`.
MOBILENET_STEM_FILTERS = 32

#: The thirteen depthwise separable blocks of Table 1: (pointwise filters at alpha 1, stride
#: of the depthwise convolution). Output sizes at 224x224 in the comments.
MOBILENET_BLOCKS = (
    (64, 1),  # 1: 112x112x64
    (128, 2),  # 2: 56x56x128
    (128, 1),  # 3: 56x56x128
    (256, 2),  # 4: 28x28x256
    (256, 1),  # 5: 28x28x256
    (512, 2),  # 6: 14x14x512
    *((512, 1),) * 5,  # 7-11: 14x14x512 ("5x" in Table 1)
    (1024, 2),  # 12: 7x7x1024
    (1024, 1),  # 13: 7x7x1024 (printed "s2" in Table 1: see the builder's Note)
)

#: Feature taps: the last block at strides 4, 8, 16 and 32.
_TAPS = {3: "C2", 5: "C3", 11: "C4", 13: "C5"}

#: keras.applications' ImageNet weights: width multipliers, input sizes, and the file names'
#: spelling of alpha.
IMAGENET_ALPHAS = {1.0: "1_0", 0.75: "7_5", 0.5: "5_0", 0.25: "2_5"}
IMAGENET_SIZES = (128, 160, 192, 224)
_BASE = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet/"


def imagenet_files(alpha, size):
    """keras.applications' ImageNet files `(with top, without top)` of MobileNet at width
    multiplier `alpha` and input size `size` (mobilenet.py, Keras 3.15); keras.applications
    publishes no hashes for them."""
    stem = f"mobilenet_{IMAGENET_ALPHAS[alpha]}_{size}_tf"
    return (fam.WeightFile(_BASE + stem + ".h5", None),
            fam.WeightFile(_BASE + stem + "_no_top.h5", None))


def _trunk(x, ctx):
    """Stem (region `conv1`), the thirteen blocks (named `conv_1` ... `conv_13`, layers in
    keras.applications' grammar `conv_pad_i`, `conv_dw_i`, `conv_pw_i`)."""
    alpha, multiplier = ctx.options["alpha"], ctx.options["depth_multiplier"]
    filters = int(MOBILENET_STEM_FILTERS * alpha)
    with identity.region(x, "stem", "conv1", args={"filters": filters, "strides": 2},
                         label=f"3x3 {filters} /2") as stem:
        x = stem.done(conv_bn_act(x, filters, 3, strides=2, use_bias=False,
                                  activation="relu6", relu_layer=True,
                                  data_format=ctx.data_format, name="conv1",
                                  suffixes=("", "_bn", "_relu")))
    for i, (width, strides) in enumerate(MOBILENET_BLOCKS, start=1):
        x = depthwise_separable_block(
            x, width, strides=strides, alpha=alpha, depth_multiplier=multiplier,
            data_format=ctx.data_format, name=f"conv_{i}",
            layer_names={"pad": f"conv_pad_{i}", "dw": f"conv_dw_{i}", "pw": f"conv_pw_{i}"})
        if i in _TAPS:
            ctx.tap(_TAPS[i], x)
    return x


def _head(x, ctx):
    """keras.applications' classifier: global average pooling kept 4-D (`avg_pool`),
    `dropout`, a 1x1 convolution `conv_preds`, `reshape_2`, the activation `predictions`."""
    if not ctx.include_top:
        return common.global_pooling(x, ctx)
    x = layers.GlobalAveragePooling2D(data_format=ctx.data_format, keepdims=True,
                                      name="avg_pool")(x)
    x = layers.Dropout(ctx.options["dropout"], name="dropout")(x)
    x = layers.Conv2D(ctx.classes, 1, padding="same", data_format=ctx.data_format,
                      name="conv_preds")(x)
    x = layers.Reshape((ctx.classes,), name="reshape_2")(x)
    return layers.Activation(ctx.classifier_activation, name="predictions")(x)


def estimate(point, *, input_shape, include_top=True, pooling=None, classes=1000,
             variant=None):
    """The family's estimator (`FAMILY.estimate`): the costs of the registered MobileNet
    (`point`, its `ModelEntry`: alpha 1, depth multiplier 1, dropout 0.001) as a
    `cnnblocks.cost.Estimate` at `input_shape` `(h, w, 3)`, walked layer by layer as `_trunk`
    and `_head` build them, without building anything. `variant`: None or "keras", the
    family's only structure."""
    variant = point.variants[0] if variant is None else check.choice(
        variant, "variant", point.variants)
    tally = cost.Tally(input_shape)
    conv_bn_act_cost(tally, MOBILENET_STEM_FILTERS, 3, strides=2)   # conv1, _bn, _relu
    tally.stage("stem")
    for i, (width, strides) in enumerate(MOBILENET_BLOCKS, start=1):
        depthwise_separable_block_cost(tally, width, strides=strides)
        if i in _TAPS:                                          # the ends of strides 4 ... 32
            tally.stage(f"conv_{i}")
    if include_top:
        tally.global_pool(keepdims=True)                        # avg_pool
        tally.elementwise()                                     # dropout
        tally.conv(classes, 1, bias=True, padding="same")       # conv_preds
        tally.elementwise((classes,))                           # reshape_2
        tally.elementwise()                                     # predictions
    else:
        tally.head(False, pooling, classes)
    return tally.result()


def square_size(input_shape, sizes):
    """keras.applications' rule for MobileNets: the height of `input_shape` if it is square and
    one of `sizes`, else None (also for a missing or malformed shape)."""
    if not isinstance(input_shape, (list, tuple)) or len(input_shape) != 3:
        return None
    last = keras.config.image_data_format() == "channels_last"
    rows, cols = tuple(input_shape[:2]) if last else tuple(input_shape[1:])
    return rows if rows == cols and rows in sizes else None


def model_rows(input_shape, include_top, weights, size, sizes):
    """The input height keras.applications writes in a MobileNet's default model name: the
    given height, else the default size with a top (None without); with ImageNet weights 224
    unless the shape is square and one of `sizes`."""
    if isinstance(input_shape, (list, tuple)) and len(input_shape) == 3:
        last = keras.config.image_data_format() == "channels_last"
        rows = input_shape[0] if last else input_shape[1]
    else:
        rows = size if include_top else None
    if isinstance(weights, str) and weights == "imagenet" and square_size(input_shape,
                                                                          sizes) is None:
        rows = 224
    return rows


def check_alpha(alpha):
    """`alpha` must be a positive number, at most `cnnblocks._validation.MAX_ALPHA` (10)."""
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
        raise TypeError(f"`alpha` must be a positive number, received "
                        f"{check.describe(alpha)}.")
    if not 0 < alpha < float("inf"):
        raise ValueError(f"`alpha` must be a finite positive number, received "
                         f"{check.describe(alpha)}.")
    check.at_most(alpha, "alpha", check.MAX_ALPHA, "published widths are 0.25 to 1.4")


def MobileNet(input_shape=None, alpha=1.0, depth_multiplier=1, dropout=1e-3, include_top=True,
              weights="imagenet", input_tensor=None, pooling=None, classes=1000,
              classifier_activation="softmax", name=None):
    """MobileNet v1: a 3x3/2 convolution and 13 depthwise separable blocks (28 weight layers).

    Reference: Howard et al., "MobileNets: Efficient Convolutional Neural Networks for Mobile
    Vision Applications", 2017, https://arxiv.org/abs/1704.04861 (Table 1). The structure is
    the data in `MOBILENET_STEM_FILTERS` and `MOBILENET_BLOCKS`.

    Args:
        input_shape: optional (H, W, 3); at least 32x32; must be static with a top. Default
            (224, 224, 3) with a top, (None, None, 3) without. With ImageNet weights and a
            top it must be square with a size in (128, 160, 192, 224) or None (224).
        alpha: float, the width multiplier: every layer has `int(filters * alpha)` filters.
            ImageNet weights exist for 0.25, 0.5, 0.75 and 1.0. At most 10. Default 1.0.
        depth_multiplier: int, depthwise filters per input channel (keras.applications calls
            it the resolution multiplier; see the Note), at most 64. ImageNet weights need 1.
            Default 1.
        dropout: float in [0, 1), the dropout rate before the classifier. Default 0.001.
        include_top: bool, add the classifier (`avg_pool`, `dropout`, `conv_preds`,
            `reshape_2`, `predictions`). Default True.
        weights: `"imagenet"` (keras.applications' file for `alpha` and the input size: from
            the Keras cache, downloaded when missing; the default, as in keras.applications),
            None (random initialization) or the path of a weight file.
        input_tensor: optional Keras tensor to build the model on.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False` (layers
            `avg_pool` / `max_pool`).
        classes: int, number of classes, at most 1,000,000. Default 1000.
        classifier_activation: activation of `predictions`. Default `"softmax"`.
        name: model name; None gives keras.applications' `mobilenet_{alpha:.2f}_{rows}`
            (e.g. `mobilenet_1.00_224`).

    Returns:
        A `keras.Model`: 4,253,864 parameters (4,231,976 trainable) at the defaults, 3,228,864
        without the top. The feature map (`conv_pw_13_relu`) has `int(1024 alpha)` channels
        at 1/32 of the input size.

    Note:
        - Activations are ReLU6 (keras.applications and the released model; the paper's
          text says ReLU). Every convolution but the classifier has no bias and is followed
          by BN (epsilon 1e-3).
        - Table 1 prints the 13th depthwise convolution as "s2", but its output stays 7x7:
          it has stride 1 here, as in keras.applications and the released model.
        - Stride-2 blocks pad one row and column at the bottom and right, then convolve
          "valid" (keras.applications): on odd input sizes the feature map is one smaller
          than with "same" padding.
        - `depth_multiplier` is the depthwise convolutions' channel multiplier, not the
          paper's resolution multiplier rho (which is the input size).
        - The ImageNet files have no published hash: they are checked as far as their HDF5
          format allows, not against a digest.
        - Inputs are expected in [-1, 1]: use `cnnblocks.architectures.mobilenet.preprocess_input`.

    Example:
        >>> from cnnblocks import MobileNet
        >>> model = MobileNet(weights=None, alpha=0.5, include_top=False,
        ...                   input_shape=(128, 128, 3))
        >>> tuple(model.output.shape), model.name
        ((None, 4, 4, 512), 'mobilenet_0.50_128')
    """
    def checks():
        check_alpha(alpha)
        check.at_most(check.positive_int(depth_multiplier, "depth_multiplier"),
                      "depth_multiplier", check.MAX_DEPTH_MULTIPLIER,
                      "the published models use 1")
        check.fraction(dropout, "dropout")
        if isinstance(weights, str) and weights == "imagenet":
            if depth_multiplier != 1:
                raise ValueError("With `weights='imagenet'`, `depth_multiplier` must be 1; "
                                 f"received depth_multiplier={depth_multiplier!r}.")
            if alpha not in IMAGENET_ALPHAS:
                raise ValueError("With `weights='imagenet'`, `alpha` must be one of 0.25, "
                                 f"0.5, 0.75 or 1.0; received alpha={alpha!r}.")
            if square_size(input_shape, IMAGENET_SIZES) is None:
                warnings.warn("`input_shape` is undefined or non-square, or its size is not "
                              "one of 128, 160, 192, 224: the weights for 224x224 are loaded.",
                              stacklevel=3)
        if int(MOBILENET_STEM_FILTERS * alpha) < 1:
            raise ValueError(f"`alpha` leaves the stem without filters: int(32 * {alpha}) = "
                             f"{int(MOBILENET_STEM_FILTERS * alpha)}; received alpha={alpha!r}.")

    size = square_size(input_shape, IMAGENET_SIZES) or 224
    entry = FAMILY.model("mobilenet")
    if (isinstance(alpha, numbers.Real) and not isinstance(alpha, bool)
            and alpha in IMAGENET_ALPHAS):
        entry = dataclasses.replace(entry, default_size=size,
                                    imagenet=imagenet_files(alpha, size))
    else:
        entry = dataclasses.replace(entry, default_size=size)
    if name is None and isinstance(alpha, numbers.Real):
        rows = model_rows(input_shape, include_top, weights, size, IMAGENET_SIZES)
        name = f"mobilenet_{alpha:0.2f}_{rows}"
    return common.build(entry, _trunk, min_size=32, head=_head, checks=checks,
                        options={"alpha": alpha, "depth_multiplier": depth_multiplier,
                                 "dropout": dropout},
                        include_top=include_top, weights=weights, input_tensor=input_tensor,
                        input_shape=input_shape, pooling=pooling, classes=classes,
                        classifier_activation=classifier_activation, name=name)


preprocess_input, decode_predictions = preprocessing.family_utils(
    "tf", "pixels in [0, 255] scaled to [-1, 1]")


# --- Published numbers ----------------------------------------------------------------------
MOBILENET_PAPER = "Howard et al. 2017"
_TABLE_SOURCE = (MOBILENET_PAPER + ", Table 1 (body architecture; one row per depthwise "
                 "separable block: its 'Conv dw' and 'Conv' lines) and Table 6 (1.0 "
                 "MobileNet-224: 569 million mult-adds)")


def _table():
    """Table 1 of the paper, one row per block of ours (its "Conv dw / s" and "Conv / s1"
    lines); the output is the next line's input size."""
    rows = [fam.PaperRow("Conv / s2, 3x3x3x32", "conv1", "112x112x32",
                         columns={"filter shape": "3x3x3x32", "input size": "224x224x3"})]
    size, c_in = 112, 32
    printed = {13: "s2"}  # the stride Table 1 prints where it differs (see _ERRATUM)
    for i, (width, strides) in enumerate(MOBILENET_BLOCKS, start=1):
        if 7 <= i <= 11:
            if i == 7:
                rows.append(fam.PaperRow(
                    "5x: Conv dw / s1, 3x3x512 dw; Conv / s1, 1x1x512x512",
                    r"conv_(7|8|9|10|11)", "14x14x512",
                    columns={"filter shape": "3x3x512 dw; 1x1x512x512",
                             "input size": "14x14x512"}))
            continue
        stride_text = printed.get(i, f"s{strides}")
        out = size // strides
        rows.append(fam.PaperRow(
            f"Conv dw / {stride_text}, 3x3x{c_in} dw; Conv / s1, 1x1x{c_in}x{width}",
            f"conv_{i}", f"{out}x{out}x{width}",
            columns={"filter shape": f"3x3x{c_in} dw; 1x1x{c_in}x{width}",
                     "input size": f"{size}x{size}x{c_in}"},
            erratum=_ERRATUM if i in printed else None))
        size, c_in = out, width
    rows.append(fam.PaperRow("Avg Pool / s1, Pool 7x7; FC / s1, 1024x1000; Softmax", "head",
                             "1000", columns={"input size": "7x7x1024"}))
    # Table 6 prints 569 (million mult-adds): count_macs gives 568.7 M; rounding to the
    # printed unit: tolerance 0.5 M.
    rows.append(fam.PaperRow("1.0 MobileNet-224 (total)", None,
                             macs=fam.rounded(569e6, 0.5e6, MOBILENET_PAPER + ", Table 6",
                                              "million mult-adds")))
    return tuple(rows)


_ERRATUM = ("Table 1 prints this depthwise convolution as 's2', but its output is 7x7, the "
            "input size of the next row: the stride is 1 (the released model and "
            "keras.applications).")

FAMILY = fam.Family(
    name="mobilenet",
    title="MobileNet",
    paper="Howard et al., MobileNets: Efficient Convolutional Neural Networks for Mobile "
          "Vision Applications, 2017",
    url="https://arxiv.org/abs/1704.04861",
    models=(fam.ModelEntry(
        name="mobilenet", title="MobileNet", builder=MobileNet, default_size=224,
        keras_name="MobileNet",
        # keras.applications' ImageNet files at alpha 1.0, 224x224 (mobilenet.py, Keras 3.15;
        # the builder picks the file of other alphas and sizes): (with top, no top).
        imagenet=imagenet_files(1.0, 224),
        reference=fam.Reference(
            paper="Howard et al., MobileNets: Efficient Convolutional Neural Networks for "
                  "Mobile Vision Applications, 2017",
            input_shape=(224, 224, 3),
            params=fam.exact(4_253_864, fam.KERAS.format("MobileNet"), fam.KERAS_PARAMS),
            trainable_params=fam.exact(4_231_976, fam.KERAS.format("MobileNet"),
                                       fam.TRAINABLE),
            # "Counting depthwise and pointwise convolutions as separate layers, MobileNet
            # has 28 layers" (Section 3.2): conv1, 13 x (dw + pw), the classifier.
            depth=fam.exact(28, MOBILENET_PAPER + ", Section 3.2", fam.DEPTH),
            macs=fam.measured_macs(568_700_000, fam.KERAS_MACS.format("MobileNet") +
                                   "; the paper's Table 6 prints 569 million"),
            table=_table(),
            table_source=_TABLE_SOURCE,
            others=(("paper parameters (Table 6, 1.0 MobileNet-224; no BN statistics)",
                     fam.rounded(4.2e6, 0.05e6, MOBILENET_PAPER + ", Table 6",
                                 "parameters, millions")),),
        )),),
    preprocess_input=preprocess_input,
    decode_predictions=decode_predictions,
    preprocessing="tf: pixels in [0, 255] scaled to [-1, 1]",
    blocks=("conv_bn_act", "depthwise_separable_block"),
    estimate=estimate,
)
