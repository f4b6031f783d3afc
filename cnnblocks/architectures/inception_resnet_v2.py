"""Inception-ResNet-v2 (Szegedy, Ioffe, Vanhoucke, Alemi, "Inception-v4, Inception-ResNet and the
Impact of Residual Connections on Learning", AAAI 2017, https://arxiv.org/abs/1602.07261), as
released (TF-slim's `inception_resnet_v2`) and in keras.applications.

The released network follows the paper's Figure 15 schema with the v2 modules (Figures 16-19,
Reduction-A of Figure 7), with three differences the paper does not print: an Inception-V3-like
stem ending in a 35x35 Inception module (`mixed_5b`, 320 channels) instead of Figure 3's stem
(384 channels); 10, 20 and 10 residual modules instead of 5, 10 and 5; a final 1x1
convolution to 1536 channels (`conv_7b`). Layer names, parameter counts and weight order equal
keras.applications' InceptionResNetV2, whose ImageNet files load into `InceptionResNetV2`
here; every layer keras.applications names has that name here and the ~200 convolutions it
leaves unnamed (`conv2d_17`) get deterministic names (`conv_1a`, `mixed_5b_5x5_conv`,
`block35_1_b2_3_conv`, ...). Everything about the family is in this module.
"""

from cnnblocks import family as fam
from cnnblocks import preprocessing
from cnnblocks.architectures import common
from cnnblocks.blocks import (conv_bn_act, inception_resnet_a, inception_resnet_b,
                              inception_resnet_c, inception_resnet_reduction_a,
                              inception_resnet_reduction_b, inception_v3_a)

from cnnblocks.blocks import inception_resnet as _costs
from cnnblocks.blocks.inception_v3 import conv_unit_cost, inception_v3_a_cost

__all__ = ["InceptionResNetV2"]

#: The stem, 299x299x3 -> 35x35x192 (as Inception-V3's; TF-slim's layer names):
#: ("conv", name, filters, kernel, strides, padding) conv (no bias) - BN (no scale) - ReLU
#: units named `name`, `name_bn`, `name_ac`, and ("pool", name) 3x3/2 "valid" max pools.
INCEPTION_RESNET_V2_STEM = (
    ("conv", "conv_1a", 32, 3, 2, "valid"),  # 149x149x32
    ("conv", "conv_2a", 32, 3, 1, "valid"),  # 147x147x32
    ("conv", "conv_2b", 64, 3, 1, "same"),  # 147x147x64
    ("pool", "pool_3a"),  # 73x73x64
    ("conv", "conv_3b", 80, 1, 1, "valid"),  # 73x73x80
    ("conv", "conv_4a", 192, 3, 1, "valid"),  # 71x71x192
    ("pool", "pool_5a"),  # 35x35x192
)

#: The modules: (name, kind, repeats, widths, options). A row with `repeats` n > 1 is
#: modules `name_1` ... `name_n`; `last` options apply to the n-th only.
INCEPTION_RESNET_V2_MODULES = (
    # 35x35 Inception module (Inception-V3's Figure 5 with a 5x5 branch):
    # f1, f5_reduce, f5, f3_reduce, f3, pool_proj
    ("mixed_5b", "inception_v3_a", 1, (96, 48, 64, 64, 96, 64), {}),  # 35x35x320
    # Inception-ResNet-A (Figure 16): f1, f3_reduce, f3, f3dbl_reduce, f3dbl_1, f3dbl_2
    ("block35", "a", 10, (32, 32, 32, 32, 48, 64), {"scale": 0.17}),  # 35x35x320
    # Reduction-A (Figure 7): k, l, m, n
    ("mixed_6a", "reduction_a", 1, (256, 256, 384, 384), {}),  # 17x17x1088
    # Inception-ResNet-B (Figure 17): f1, f7_reduce, f1x7, f7x1
    ("block17", "b", 20, (192, 128, 160, 192), {"scale": 0.1}),  # 17x17x1088
    # Reduction-B (Figure 18): f3_reduce, f3, f3b_reduce, f3b, f3dbl_reduce, f3dbl_1, f3dbl_2
    ("mixed_7a", "reduction_b", 1, (256, 384, 256, 288, 256, 288, 320), {}),  # 8x8x2080
    # Inception-ResNet-C (Figure 19): f1, f3_reduce, f1x3, f3x1; the last one is linear
    # (scale 1, no ReLU), as released.
    ("block8", "c", 10, (192, 192, 224, 256),
     {"scale": 0.2, "last": {"scale": 1.0, "activation": None}}),  # 8x8x2080
)
#: The final 1x1 convolution (released model): conv - BN (no scale) - ReLU, 1536 filters.
CONV_7B_FILTERS = 1536

_MODULES = {
    "inception_v3_a": inception_v3_a,
    "a": inception_resnet_a,
    "reduction_a": inception_resnet_reduction_a,
    "b": inception_resnet_b,
    "reduction_b": inception_resnet_reduction_b,
    "c": inception_resnet_c,
}

#: Feature taps: the last trunk layer at strides 4, 8, 16 and 32 (71, 35, 17, 8 at 299).
_TAPS = {"conv_4a": "C2", "block35": "C3", "block17": "C4"}  # C5: conv_7b


def _trunk(x, ctx):
    """The stem's units (each a `conv_bn_act` block) and pools (regions), the modules of
    `INCEPTION_RESNET_V2_MODULES` and `conv_7b`."""
    unit = dict(use_bias=False, bn_scale=False, data_format=ctx.data_format,
                suffixes=("", "_bn", "_ac"))
    for kind, layer, *spec in INCEPTION_RESNET_V2_STEM:
        if kind == "pool":
            x = common.max_pool_region(x, layer, ctx, pool_name=layer)
            continue
        filters, kernel_size, strides, padding = spec
        x = conv_bn_act(x, filters, kernel_size, strides=strides, padding=padding, name=layer,
                        **unit)
        if layer in _TAPS:
            ctx.tap(_TAPS[layer], x)
    for name, kind, repeats, widths, options in INCEPTION_RESNET_V2_MODULES:
        options = dict(options)
        last = options.pop("last", {})
        for i in range(1, repeats + 1):
            block = name if repeats == 1 else f"{name}_{i}"
            extra = {**options, **last} if i == repeats else options
            x = _MODULES[kind](x, *widths, data_format=ctx.data_format, name=block, **extra)
        if name in _TAPS:
            ctx.tap(_TAPS[name], x)
    x = conv_bn_act(x, CONV_7B_FILTERS, 1, name="conv_7b", **unit)
    ctx.tap("C5", x)
    return x


#: The smallest input height and width the builder takes.
INCEPTION_RESNET_V2_MIN_SIZE = 75
#: Each module kind's cost walk (`cnnblocks.blocks.inception_resnet`, Inception-V3's module).
_MODULE_COSTS = {kind: inception_v3_a_cost if kind == "inception_v3_a" else
                 getattr(_costs, f"inception_resnet_{kind}_cost") for kind in _MODULES}


def estimate(point, *, input_shape, include_top=True, pooling=None, classes=1000,
             variant=None):
    """The family's estimator (`FAMILY.estimate`): the costs of the registered model `point`
    (a `ModelEntry`; `cnnblocks.cost.Estimate`) at `input_shape` `(h, w, 3)` (at least 75x75,
    as the builder), walked layer by layer as `_trunk` and the head build them, without
    building anything. `variant`: None or "keras", the only structure."""
    _, tally = common.estimate_start(point, input_shape, variant,
                                     min_size=INCEPTION_RESNET_V2_MIN_SIZE)
    for kind, _, *spec in INCEPTION_RESNET_V2_STEM:
        if kind == "pool":                                      # pool_3a, pool_5a
            tally.pool(3, 2)
            continue
        filters, kernel_size, strides, padding = spec           # conv_*, _bn, _ac
        conv_unit_cost(tally, tally.shape, filters, kernel_size, strides=strides,
                       padding=padding)
    tally.stage("stem")
    for name, kind, repeats, widths, options in INCEPTION_RESNET_V2_MODULES:
        last = options.get("last", {})
        for i in range(1, repeats + 1):                         # scale changes no count
            extra = {"activation": last.get("activation", "relu")} if i == repeats and last \
                else {}
            _MODULE_COSTS[kind](tally, *widths, **extra)
        tally.stage(name)
    conv_unit_cost(tally, tally.shape, CONV_7B_FILTERS, 1)      # conv_7b, _bn, _ac
    tally.stage("conv_7b")
    tally.head(include_top, pooling, classes)
    return tally.result()


def InceptionResNetV2(include_top=True, weights="imagenet", input_tensor=None,
                      input_shape=None, pooling=None, classes=1000,
                      classifier_activation="softmax", name="inception_resnet_v2"):
    """Inception-ResNet-v2, as released and in keras.applications.

    Reference: Szegedy, Ioffe, Vanhoucke, Alemi, "Inception-v4, Inception-ResNet and the Impact
    of Residual Connections on Learning", AAAI 2017, https://arxiv.org/abs/1602.07261
    (Figure 15 schema with the modules of Figures 16, 7, 17, 18, 19). The structure is the
    data in `INCEPTION_RESNET_V2_STEM` and `INCEPTION_RESNET_V2_MODULES`.

    Stem: `conv_1a` 3x3/2, `conv_2a` 3x3, `conv_2b` 3x3, `pool_3a` max 3x3/2, `conv_3b` 1x1,
    `conv_4a` 3x3, `pool_5a` max 3x3/2 (299 -> 35), then `mixed_5b` (a 35x35 Inception module,
    320 channels), `block35_1` ... `block35_10` (`inception_resnet_a`, scale 0.17), `mixed_6a`
    (`inception_resnet_reduction_a`, 17x17x1088), `block17_1` ... `block17_20`
    (`inception_resnet_b`, scale 0.1), `mixed_7a` (`inception_resnet_reduction_b`, 8x8x2080),
    `block8_1` ... `block8_10` (`inception_resnet_c`, scale 0.2; the last linear with scale 1),
    `conv_7b` (1x1, 1536), and the head `avg_pool` + `predictions`.

    Args:
        include_top: bool, add global average pooling (`avg_pool`) and the classifier
            (`predictions`). Default True.
        weights: `"imagenet"` (keras.applications' file, from the Keras cache, checked against
            its hash, downloaded when missing; the default, as in keras.applications), None
            (random initialization) or the path of a weight file.
        input_tensor: optional Keras tensor to build the model on.
        input_shape: optional (H, W, 3); at least 75x75; must be static with a top, and
            (299, 299, 3) with a top and ImageNet weights. Default (299, 299, 3) with a top,
            (None, None, 3) without.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False` (layers
            `avg_pool` / `max_pool`).
        classes: int, number of classes, at most 1,000,000. Default 1000.
        classifier_activation: activation of `predictions`. Default `"softmax"`.
        name: model name. Default `"inception_resnet_v2"`.

    Returns:
        A `keras.Model`: 55,873,736 parameters (55,813,192 trainable) with the top,
        54,336,736 without. The feature map (`conv_7b_ac`) has 1536 channels, 8x8 at 299.

    Note:
        The released model differs from the paper's figures: an Inception-V3-like stem plus a
        35x35 Inception module (`mixed_5b`, 35x35x320) where Figure 3's stem gives 35x35x384;
        hence the residual modules' linear 1x1 convolutions map back to 320, 1088 and 2080
        channels (Figures 16, 17, 19 print 384, 1154 and 2048); 10 / 20 / 10 residual modules
        where Figure 15 shows 5 / 10 / 5; residual scales 0.17 / 0.1 / 0.2 (section 3.3: "between
        0.1 and 0.3"), the last 8x8 module linear with scale 1; a final 1x1 convolution to 1536
        channels (`conv_7b`) before the average pooling; no dropout (the paper's keep
        probability 0.8 only acts in training).

    Note:
        Convolutions have no bias and BN no learned scale, except the residual modules'
        linear 1x1 convolutions (bias, no BN), as released. Inputs are expected in [-1, 1]
        (`preprocess_input`, mode "tf"). keras.applications leaves the branch convolutions
        unnamed; here they are `{module}_b<branch>_<unit>_conv` / `_bn` / `_ac`, and
        keras.applications' unnamed `CustomScaleLayer`s are `{module}_add` (a
        `cnnblocks.layers.ScaledAdd`, same arithmetic).

    Example:
        >>> from cnnblocks import InceptionResNetV2
        >>> model = InceptionResNetV2(weights=None, include_top=False, input_shape=(75, 75, 3))
        >>> tuple(model.output.shape)
        (None, 1, 1, 1536)
    """
    return common.build(FAMILY.model("inception_resnet_v2"), _trunk,
                        min_size=INCEPTION_RESNET_V2_MIN_SIZE,
                        include_top=include_top, weights=weights, input_tensor=input_tensor,
                        input_shape=input_shape, pooling=pooling, classes=classes,
                        classifier_activation=classifier_activation, name=name)


preprocess_input, decode_predictions = preprocessing.family_utils(
    "tf", "pixels in [0, 255] scaled to [-1, 1]")

_PAPER = ("Szegedy et al., Inception-v4, Inception-ResNet and the Impact of Residual "
          "Connections on Learning, AAAI 2017")
_FIGURES = "Szegedy et al. 2017, Figure 15 with the v2 modules (Figures 3, 16, 7, 17, 18, 19)"
_RELEASED = "released model (keras.applications)"

# --- Published numbers ----------------------------------------------------------------------
# keras.applications InceptionResNetV2 (keras 3.15, weights=None, 1000 classes): count_params()
# / trainable / multiply-adds measured by count_macs on keras.applications at 299x299
# (published.md). Depth: 5 stem convolutions, mixed_5b 3 (1x1-3x3-3x3 branch), 10 x 4 (A:
# 1x1-3x3-3x3 and the linear 1x1), mixed_6a 3, 20 x 4 (B: 1x1-1x7-7x1 + 1x1), mixed_7a 3,
# 10 x 4 (C: 1x1-1x3-3x1 + 1x1), conv_7b 1, the classifier 1 = 176.
# The paper prints sizes only for Inception-ResNet-v1 in Figure 15 (its caption says so) and
# 35x35x384 for Figure 3's stem; the v2 sizes below are derived from the figures' widths.
_TABLE_ROWS = (
    # (paper row, our blocks, paper output, released model)
    ("Stem (Figure 3)", r"conv_[1-4][ab]|pool_[35]a|mixed_5b", "35x35x384",
     "Inception-V3 stem + 35x35 Inception module mixed_5b: 35x35x320"),
    ("5 x Inception-ResNet-A (Figure 16)", r"block35_\d+", None,
     "10 x, scale 0.17; linear 1x1 to 320 (Figure 16: 384)"),
    ("Reduction-A (Figure 7, k=256, l=256, m=384, n=384)", "mixed_6a", None,
     "same widths: 17x17x1088 (paper: 17x17x1152 derived)"),
    ("10 x Inception-ResNet-B (Figure 17)", r"block17_\d+", None,
     "20 x, scale 0.1; linear 1x1 to 1088 (Figure 17: 1154)"),
    ("Reduction-B (Figure 18)", "mixed_7a", None,
     "same widths: 8x8x2080 (paper: 8x8x2144 derived)"),
    ("5 x Inception-ResNet-C (Figure 19)", r"block8_\d+", None,
     "10 x, scale 0.2, the last scale 1.0 without ReLU; linear 1x1 to 2080 (Figure 19: 2048)"),
    ("Average Pooling, Dropout (keep 0.8), Softmax", "conv_7b|head", None,
     "1x1 conv 1536 (conv_7b), global average pool, dense 1000 + softmax"),
)


def _reference():
    keras_source = fam.KERAS.format("InceptionResNetV2")
    return fam.Reference(
        paper=_PAPER,
        input_shape=(299, 299, 3),
        params=fam.exact(55_873_736, keras_source,
                         fam.KERAS_PARAMS + "; no conv bias, BN scale=False"),
        trainable_params=fam.exact(55_813_192, keras_source, fam.TRAINABLE),
        depth=fam.exact(176, "derived from the released architecture (comment)", fam.DEPTH),
        macs=fam.measured_macs(13_160_000_000,
                               fam.KERAS_MACS.format("InceptionResNetV2") + " at 299x299"),
        table=tuple(fam.PaperRow(label, blocks, output, columns={_RELEASED: released})
                    for label, blocks, output, released in _TABLE_ROWS),
        table_source=_FIGURES + " (figure-level structure; sizes at 299x299)",
    )


_BASE = "https://storage.googleapis.com/tensorflow/keras-applications/inception_resnet_v2/"

FAMILY = fam.Family(
    name="inception_resnet_v2",
    title="Inception-ResNet-v2",
    paper=_PAPER,
    url="https://arxiv.org/abs/1602.07261",
    models=(fam.ModelEntry(
        name="inception_resnet_v2", title="Inception-ResNet-v2", builder=InceptionResNetV2,
        default_size=299, keras_name="InceptionResNetV2",
        # keras.applications' ImageNet files (inception_resnet_v2.py, Keras 3.15).
        imagenet=(fam.WeightFile(_BASE + "inception_resnet_v2_weights_tf_dim_ordering_tf_kernels"
                                 ".h5", "e693bd0210a403b3192acc6073ad2e96"),
                  fam.WeightFile(_BASE + "inception_resnet_v2_weights_tf_dim_ordering_tf_kernels"
                                 "_notop.h5", "d19885ff4a710c122648d3b5c3b684e4")),
        reference=_reference()),),
    preprocess_input=preprocess_input,
    decode_predictions=decode_predictions,
    preprocessing="tf: pixels in [0, 255] scaled to [-1, 1]",
    blocks=("conv_bn_act", "inception_v3_a", "inception_resnet_a",
            "inception_resnet_reduction_a", "inception_resnet_b", "inception_resnet_reduction_b",
            "inception_resnet_c"),
    estimate=estimate,
)
