"""Xception (Chollet, "Xception: Deep Learning with Depthwise Separable Convolutions", CVPR 2017,
https://arxiv.org/abs/1610.02357).

The network is a stem of two plain convolutions, twelve `xception_module`s (entry, middle and
exit flows of the paper's Figure 5) and two post-activated separable convolutions. Layer names,
parameter counts and weight order equal keras.applications' Xception, whose ImageNet files load
into `Xception` here; only the four projection shortcuts, which keras.applications leaves
unnamed (`conv2d`, `batch_normalization`, `add`, ...), carry names of their own
(`block2_0_conv`, `block2_0_bn`, `block2_add`, ...). Everything about the family is in this
module.
"""

from cnnblocks import family as fam
from cnnblocks import identity, preprocessing
from cnnblocks.architectures import common
from cnnblocks.blocks import conv_bn_act, xception_module
from cnnblocks.blocks.xception import xception_module_cost

__all__ = ["Xception"]

#: The stem: (name, filters, strides) of the 3x3 "valid" convolutions (no bias) - BN - ReLU,
#: 299x299x3 -> 147x147x64. Paper Figure 5, entry flow; names as keras.applications.
XCEPTION_STEM = (
    ("block1_conv1", 32, 2),  # 149x149x32
    ("block1_conv2", 64, 1),  # 147x147x64
)

#: Xception flows as a list of block rows: (name, separable widths, pool, activate_first).
#: Every module is ReLU-SeparableConv3x3-BN per width, with a residual connection: a 1x1/2
#: projection when `pool` (3x3/2 max pool, "same"), the identity otherwise. Paper Figure 5.
XCEPTION_FLOWS = (
    # entry flow, 147x147x64 -> 19x19x728
    ("block2", (128, 128), True, False),  # 74x74x128; the stem's ReLU already ran
    ("block3", (256, 256), True, True),  # 37x37x256
    ("block4", (728, 728), True, True),  # 19x19x728 (18x18 in the paper's figure)
    # middle flow, repeated eight times, 19x19x728
    *((f"block{i}", (728, 728, 728), False, True) for i in range(5, 13)),
    # exit flow, 19x19x728 -> 10x10x1024
    ("block13", (728, 1024), True, True),
)

#: After the exit-flow module: (name, filters) of the SeparableConv3x3 - BN - ReLU units
#: (activation after, unlike the modules), 10x10x1024 -> 10x10x2048. Paper Figure 5.
XCEPTION_HEAD = (
    ("block14_sepconv1", 1536),
    ("block14_sepconv2", 2048),
)


def _trunk(x, ctx):
    """Stem (region `block1`), the twelve modules, the exit-flow separable convolutions
    (region `block14`); taps at the last layer of each stride."""
    with identity.region(x, "stem", "block1", args={"filters": [f for _, f, _ in XCEPTION_STEM]},
                         label="3x3 32 /2 → 3x3 64") as stem:
        for layer, filters, strides in XCEPTION_STEM:
            x = conv_bn_act(x, filters, 3, strides=strides, padding="valid", use_bias=False,
                            data_format=ctx.data_format, name=layer,
                            suffixes=("", "_bn", "_act"))
        x = stem.done(x)
    for block, widths, pool, activate_first in XCEPTION_FLOWS:
        x = xception_module(x, widths, pool=pool, activate_first=activate_first,
                            data_format=ctx.data_format, name=block)
        if block in _TAPS:
            ctx.tap(_TAPS[block], x)
    with identity.region(x, "separable_convs", "block14",
                         args={"filters": [f for _, f in XCEPTION_HEAD]},
                         label="sep 1536 → sep 2048") as exit_flow:
        for layer, filters in XCEPTION_HEAD:
            x = conv_bn_act(x, filters, 3, use_bias=False, separable=True,
                            data_format=ctx.data_format, name=layer,
                            suffixes=("", "_bn", "_act"))
        x = exit_flow.done(x)
    ctx.tap("C5", x)
    return x


#: Feature taps: the last module at strides 4, 8 and 16 (C5 is the exit flow's output).
_TAPS = {"block2": "C2", "block3": "C3", "block12": "C4"}


#: The smallest input height and width the builder takes.
XCEPTION_MIN_SIZE = 71


def estimate(point, *, input_shape, include_top=True, pooling=None, classes=1000,
             variant=None):
    """The family's estimator (`FAMILY.estimate`): the costs of the registered model `point`
    (a `ModelEntry`; `cnnblocks.cost.Estimate`) at `input_shape` `(h, w, 3)` (at least 71x71,
    as the builder), walked layer by layer as `_trunk` and the head build them, without
    building anything. `variant`: None or "keras", the only structure."""
    _, tally = common.estimate_start(point, input_shape, variant, min_size=XCEPTION_MIN_SIZE)
    for _, filters, strides in XCEPTION_STEM:                   # block1_conv{i}, _bn, _act
        tally.conv(filters, 3, strides)
        tally.bn()
        tally.elementwise()
    tally.stage("stem")
    for block, widths, pool, activate_first in XCEPTION_FLOWS:
        xception_module_cost(tally, widths, pool=pool, activate_first=activate_first)
        if block in _TAPS:
            tally.stage(block)
    for _, filters in XCEPTION_HEAD:                            # block14_sepconv{i}, _bn, _act
        tally.separable_conv(filters, 3)
        tally.bn()
        tally.elementwise()
    tally.stage("block14")
    tally.head(include_top, pooling, classes)
    return tally.result()


def Xception(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
             pooling=None, classes=1000, classifier_activation="softmax", name="xception"):
    """Xception, the ImageNet network of the paper (36 convolutional layers in 14 modules).

    Reference: Chollet, "Xception: Deep Learning with Depthwise Separable Convolutions",
    CVPR 2017, https://arxiv.org/abs/1610.02357 (Figure 5). The structure is the data in
    `XCEPTION_STEM`, `XCEPTION_FLOWS` and `XCEPTION_HEAD`.

    Args:
        include_top: bool, add global average pooling (`avg_pool`) and the classifier
            (`predictions`). Default True.
        weights: `"imagenet"` (keras.applications' file, from the Keras cache, checked against
            its hash, downloaded when missing; the default, as in keras.applications), None
            (random initialization) or the path of a weight file (keras.applications' legacy
            HDF5 layout, `.weights.h5` or `.keras`).
        input_tensor: optional Keras tensor to build the model on.
        input_shape: optional (H, W, 3); at least 71x71; must be static with a top, and
            (299, 299, 3) with a top and ImageNet weights. Default (299, 299, 3) with a top,
            (None, None, 3) without.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False` (layers
            `avg_pool` / `max_pool`).
        classes: int, number of classes, at most 1,000,000. Default 1000.
        classifier_activation: activation of `predictions`. Default `"softmax"`.
        name: model name. Default `"xception"`.

    Returns:
        A `keras.Model`: 22,910,480 parameters (22,855,952 trainable, the paper's Table 3
        count) with the top, 20,861,480 without. The feature map (`block14_sepconv2_act`) has
        2048 channels, 10x10 at 299 (3x3 at 71).

    Note:
        - The grid after the entry flow is 19x19 (as keras.applications and the released
          model: the 3x3/2 max pools pad "same"); the paper's figure shows 18x18.
        - Every convolution is followed by batch normalization (epsilon 1e-3) and has no
          bias, as in the paper's text and keras.applications.
        - Inputs are expected in [-1, 1]: use `cnnblocks.architectures.xception.preprocess_input`.

    Example:
        >>> from cnnblocks import Xception
        >>> model = Xception(weights=None, include_top=False, input_shape=(71, 71, 3))
        >>> tuple(model.output.shape)
        (None, 3, 3, 2048)
    """
    return common.build(FAMILY.model("xception"), _trunk, min_size=XCEPTION_MIN_SIZE,
                        include_top=include_top, weights=weights, input_tensor=input_tensor,
                        input_shape=input_shape, pooling=pooling, classes=classes,
                        classifier_activation=classifier_activation, name=name)


preprocess_input, decode_predictions = preprocessing.family_utils(
    "tf", "pixels in [0, 255] scaled to [-1, 1]")

XCEPTION_PAPER = "Chollet 2017"
_BASE = "https://storage.googleapis.com/tensorflow/keras-applications/xception/"

FAMILY = fam.Family(
    name="xception",
    title="Xception",
    paper="Chollet, Xception: Deep Learning with Depthwise Separable Convolutions, CVPR 2017",
    url="https://arxiv.org/abs/1610.02357",
    models=(fam.ModelEntry(
        name="xception", title="Xception", builder=Xception, default_size=299,
        keras_name="Xception",
        # keras.applications' ImageNet files (xception.py, Keras 3.15): (with top, no top).
        imagenet=(fam.WeightFile(_BASE + "xception_weights_tf_dim_ordering_tf_kernels.h5",
                                 "0a58e3b7378bc2990ea3b43d5981f1f6"),
                  fam.WeightFile(_BASE + "xception_weights_tf_dim_ordering_tf_kernels_notop.h5",
                                 "b0042744bf5b25fce3cb969f33bebb97")),
        reference=fam.Reference(
            paper="Chollet, Xception: Deep Learning with Depthwise Separable Convolutions, "
                  "CVPR 2017",
            input_shape=(299, 299, 3),
            params=fam.exact(22_910_480, fam.KERAS.format("Xception"), fam.KERAS_PARAMS),
            trainable_params=fam.exact(22_855_952, fam.KERAS.format("Xception") + "; = " +
                                       XCEPTION_PAPER + " Table 3", fam.TRAINABLE),
            # 36 convolutional layers (the 1x1 residual convolutions are parallel to them)
            # and the logistic-regression layer: 2 + 3*2 (entry) + 8*3 (middle) + 2*2 (exit)
            # + 1 = 37.
            depth=fam.exact(37, "derived: " + XCEPTION_PAPER +
                            " Section 3, 36 conv layers + FC", fam.DEPTH),
            macs=fam.measured_macs(8_357_000_000,
                                   fam.KERAS_MACS.format("Xception") + " at 299x299"),
        )),),
    preprocess_input=preprocess_input,
    decode_predictions=decode_predictions,
    preprocessing="tf: pixels in [0, 255] scaled to [-1, 1]",
    blocks=("conv_bn_act", "xception_module"),
    estimate=estimate,
)
