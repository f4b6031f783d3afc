"""ResNet v2 (He, Zhang, Ren, Sun, "Identity Mappings in Deep Residual Networks", ECCV 2016,
https://arxiv.org/abs/1603.05027): the pre-activation ResNet-50/101/152 of keras.applications.

Every module is `cnnblocks.blocks.preact_bottleneck_module` (BN-ReLU before each
convolution, nothing after the addition); the stem convolution has no BN of its own (the first
module's pre-activation normalizes it) and a final BN-ReLU (`post_bn`, `post_relu`) closes the
trunk. Layer names, parameter counts and weight order equal keras.applications'
ResNet50V2/101V2/152V2, whose ImageNet files load into the builders here. Everything about the
family is in this module: spec table, builders, weight files, preprocessing, published numbers.
"""

from keras import layers

from cnnblocks import _validation as check
from cnnblocks import cost
from cnnblocks import family as fam
from cnnblocks import identity, preprocessing
from cnnblocks.architectures import common
from cnnblocks.blocks import conv_bn_act, preact_bottleneck_module
from cnnblocks.blocks.preact import preact_bottleneck_module_cost
from cnnblocks.blocks.residual import RESNET_BN_EPSILON

__all__ = ["ResNet50V2", "ResNet101V2", "ResNet152V2"]

#: Bottleneck modules per stage (conv2_x ... conv5_x), Table 1 of He et al. 2015 (v1), which
#: the v2 paper keeps. As in keras.applications (TF-slim's resnet_v2), the stride-2 sits on the
#: 3x3 of the LAST module of stages 2-4 (marked `/2`), not on the first module of stages 3-5:
#: conv2_x ends at 28x28, conv3_x at 14x14, conv4_x at 7x7, conv5_x keeps 7x7.
RESNET_V2_SPECS = {
    50: (3, 4, 6, 3),     # strides: conv2 .../2, conv3 .../2, conv4 .../2, conv5 1
    101: (3, 4, 23, 3),
    152: (3, 8, 36, 3),
}
#: Filters of the 1x1/3x3 convolutions per stage (a module's output has 4x as many channels).
RESNET_V2_WIDTHS = (64, 128, 256, 512)
#: Stride of the last module of each stage.
RESNET_V2_LAST_STRIDES = (2, 2, 2, 1)


def _trunk(depth):
    """Stem (`conv1`: zero padding 3 + 7x7/2 conv with bias, no BN; `pool1`: 3x3/2 max pool),
    the four stages, the final BN-ReLU (`post`). Taps: the last trunk layer at each stride,
    which with the stride on each stage's last module is the output of its second-to-last
    module (`conv2_block2_out`, `conv3_block3_out`, `conv4_block5_out`, ...) and `post_relu`."""
    def body(x, ctx):
        with identity.region(x, "stem", "conv1", args={"filters": 64, "kernel_size": 7,
                                                       "strides": 2},
                             label="7x7 64 /2") as stem:
            x = stem.done(conv_bn_act(x, 64, 7, strides=2, padding=3, batch_norm=False,
                                      activation=None, data_format=ctx.data_format,
                                      name="conv1"))
        x = common.max_pool_region(x, "pool1", ctx, pad=1)
        stages = RESNET_V2_SPECS[depth]
        for stage, (blocks, width, last_stride) in enumerate(
                zip(stages, RESNET_V2_WIDTHS, RESNET_V2_LAST_STRIDES), start=2):
            for block in range(1, blocks + 1):
                strides = last_stride if block == blocks else 1
                x = preact_bottleneck_module(x, width, strides=strides,
                                             data_format=ctx.data_format,
                                             name=f"conv{stage}_block{block}")
                if block == blocks - 1 and stage < 5:
                    ctx.tap(f"C{stage}", x)
        with identity.region(x, "post_activation", "post", label="BN-ReLU") as post:
            x = layers.BatchNormalization(axis=ctx.axis, epsilon=RESNET_BN_EPSILON,
                                          name="post_bn")(x)
            x = post.done(layers.Activation("relu", name="post_relu")(x))
        ctx.tap("C5", x)
        return x
    return body


def _build(depth, **kwargs):
    return common.build(FAMILY.model(f"resnet{depth}v2"), _trunk(depth), min_size=32, **kwargs)


def estimate(point, *, input_shape, include_top=True, pooling=None, classes=1000,
             variant=None):
    """The family's estimator (`FAMILY.estimate`): the costs of a registered ResNet v2
    (`point`, its `ModelEntry`; `cnnblocks.cost.Estimate`) at `input_shape` `(h, w, 3)` (one
    structure, keras.applications'), walked layer by layer as `_trunk` and the head build
    them, without building anything."""
    if variant is not None:
        check.choice(variant, "variant", point.variants)
    depth = int(point.name[len("resnet"):-len("v2")])
    tally = cost.Tally(input_shape)
    tally.pad(3)                                                # conv1_pad
    tally.conv(64, 7, 2, bias=True)                             # conv1_conv (no BN)
    tally.pad(1)                                                # pool1_pad, pool1_pool
    tally.pool(3, 2)
    tally.stage("stem")
    for stage, (blocks, width, last_stride) in enumerate(
            zip(RESNET_V2_SPECS[depth], RESNET_V2_WIDTHS, RESNET_V2_LAST_STRIDES), start=2):
        for block in range(1, blocks + 1):
            preact_bottleneck_module_cost(tally, width,
                                          strides=last_stride if block == blocks else 1)
        tally.stage(f"conv{stage}")
    tally.bn()                                                  # post_bn, post_relu
    tally.elementwise()
    tally.stage("post")
    tally.head(include_top, pooling, classes)
    return tally.result()


def ResNet50V2(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
               pooling=None, classes=1000, classifier_activation="softmax",
               name="resnet50v2"):
    """ResNet-50 v2: 16 pre-activation bottleneck modules (3+4+6+3 per stage).

    He et al., "Identity Mappings in Deep Residual Networks", ECCV 2016,
    https://arxiv.org/abs/1603.05027 (full pre-activation, Figure 4(e)), on the ResNet-50
    layout of He et al. 2015, Table 1.

    Stem: `conv1_pad` (zero padding 3), `conv1_conv` 7x7/2 convolution with 64 filters and a
    bias (no BN: the first module's pre-activation normalizes it), `pool1_pad`, `pool1_pool`
    3x3/2 max pooling. Then the stages `conv2_x` ... `conv5_x` of
    `preact_bottleneck_module`s with 64, 128, 256, 512 filters (x4 out), the final
    `post_bn` + `post_relu`, and the head: `avg_pool` and `predictions`. Layer names as
    keras.applications (`conv2_block1_preact_bn`, ..., `conv5_block3_out`).

    Args:
        include_top: bool, add the global average pooling and the classifier. Default True.
        weights: `"imagenet"` (keras.applications' file, from the Keras cache, checked
            against its hash, downloaded when missing; the default, as in
            keras.applications), None (random initialization) or the path of a weight file.
        input_tensor: optional Keras tensor to build the model on.
        input_shape: optional (H, W, 3); at least 32x32; must be static with a top, and
            (224, 224, 3) with a top and ImageNet weights.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False`.
        classes: int, number of classes, at most 1,000,000. Default 1000.
        classifier_activation: activation of `predictions`. Default `"softmax"`.
        name: model name. Default `"resnet50v2"` (keras.applications').

    Returns:
        A `keras.Model` with 25,613,800 parameters (25,568,360 trainable) at the defaults
        (2048 feature channels at 1/32 of the input size without a top).

    Note:
        As keras.applications (TF-slim's `resnet_v2`), the stride-2 of a stage sits on the
        3x3 convolution of its LAST module (stages 2-4), where the paper's Torch code puts it
        on the first module of stages 3-5: the same parameters, but stage outputs at strides
        8, 16, 32, 32, so the feature taps C2-C4 are the second-to-last modules' outputs. A
        strided module's shortcut is its input subsampled by a 1x1/2 max pooling
        (`{name}_0_pool`); the first module of each stage projects (1x1 convolution with bias,
        `{name}_0_conv`) the pre-activated input to 4x the filters.

    Note:
        The convolutions that end a branch (the last 1x1 and the projection) have biases, as
        in keras.applications; those followed by BN do not. BN epsilon is 1.001e-5. Inputs
        are expected in [-1, 1] (`preprocess_input`, mode "tf").

    Example:
        >>> from cnnblocks import ResNet50V2
        >>> model = ResNet50V2(weights=None, include_top=False, input_shape=(64, 64, 3))
        >>> tuple(model.output.shape)
        (None, 2, 2, 2048)
    """
    return _build(50, include_top=include_top, weights=weights, input_tensor=input_tensor,
                  input_shape=input_shape, pooling=pooling, classes=classes,
                  classifier_activation=classifier_activation, name=name)


def ResNet101V2(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                pooling=None, classes=1000, classifier_activation="softmax",
                name="resnet101v2"):
    """ResNet-101 v2: 33 pre-activation bottleneck modules (3+4+23+3 per stage).

    He et al., "Identity Mappings in Deep Residual Networks", ECCV 2016,
    https://arxiv.org/abs/1603.05027 (full pre-activation, Figure 4(e)), on the ResNet-101
    layout of He et al. 2015, Table 1.

    Stem: `conv1_pad` (zero padding 3), `conv1_conv` 7x7/2 convolution with 64 filters and a
    bias (no BN: the first module's pre-activation normalizes it), `pool1_pad`, `pool1_pool`
    3x3/2 max pooling. Then the stages `conv2_x` ... `conv5_x` of
    `preact_bottleneck_module`s with 64, 128, 256, 512 filters (x4 out), the final
    `post_bn` + `post_relu`, and the head: `avg_pool` and `predictions`. Layer names as
    keras.applications (`conv2_block1_preact_bn`, ..., `conv5_block3_out`).

    Args:
        include_top: bool, add the global average pooling and the classifier. Default True.
        weights: `"imagenet"` (keras.applications' file, from the Keras cache, checked
            against its hash, downloaded when missing; the default, as in
            keras.applications), None (random initialization) or the path of a weight file.
        input_tensor: optional Keras tensor to build the model on.
        input_shape: optional (H, W, 3); at least 32x32; must be static with a top, and
            (224, 224, 3) with a top and ImageNet weights.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False`.
        classes: int, number of classes, at most 1,000,000. Default 1000.
        classifier_activation: activation of `predictions`. Default `"softmax"`.
        name: model name. Default `"resnet101v2"` (keras.applications').

    Returns:
        A `keras.Model` with 44,675,560 parameters (44,577,896 trainable) at the defaults
        (2048 feature channels at 1/32 of the input size without a top).

    Note:
        As keras.applications (TF-slim's `resnet_v2`), the stride-2 of a stage sits on the
        3x3 convolution of its LAST module (stages 2-4), where the paper's Torch code puts it
        on the first module of stages 3-5: the same parameters, but stage outputs at strides
        8, 16, 32, 32, so the feature taps C2-C4 are the second-to-last modules' outputs. A
        strided module's shortcut is its input subsampled by a 1x1/2 max pooling
        (`{name}_0_pool`); the first module of each stage projects (1x1 convolution with bias,
        `{name}_0_conv`) the pre-activated input to 4x the filters.

    Note:
        The convolutions that end a branch (the last 1x1 and the projection) have biases, as
        in keras.applications; those followed by BN do not. BN epsilon is 1.001e-5. Inputs
        are expected in [-1, 1] (`preprocess_input`, mode "tf").

    Example:
        >>> from cnnblocks import ResNet101V2
        >>> model = ResNet101V2(weights=None, include_top=False, input_shape=(64, 64, 3))
        >>> tuple(model.output.shape)
        (None, 2, 2, 2048)
    """
    return _build(101, include_top=include_top, weights=weights, input_tensor=input_tensor,
                  input_shape=input_shape, pooling=pooling, classes=classes,
                  classifier_activation=classifier_activation, name=name)


def ResNet152V2(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                pooling=None, classes=1000, classifier_activation="softmax",
                name="resnet152v2"):
    """ResNet-152 v2: 50 pre-activation bottleneck modules (3+8+36+3 per stage).

    He et al., "Identity Mappings in Deep Residual Networks", ECCV 2016,
    https://arxiv.org/abs/1603.05027 (full pre-activation, Figure 4(e)), on the ResNet-152
    layout of He et al. 2015, Table 1.

    Stem: `conv1_pad` (zero padding 3), `conv1_conv` 7x7/2 convolution with 64 filters and a
    bias (no BN: the first module's pre-activation normalizes it), `pool1_pad`, `pool1_pool`
    3x3/2 max pooling. Then the stages `conv2_x` ... `conv5_x` of
    `preact_bottleneck_module`s with 64, 128, 256, 512 filters (x4 out), the final
    `post_bn` + `post_relu`, and the head: `avg_pool` and `predictions`. Layer names as
    keras.applications (`conv2_block1_preact_bn`, ..., `conv5_block3_out`).

    Args:
        include_top: bool, add the global average pooling and the classifier. Default True.
        weights: `"imagenet"` (keras.applications' file, from the Keras cache, checked
            against its hash, downloaded when missing; the default, as in
            keras.applications), None (random initialization) or the path of a weight file.
        input_tensor: optional Keras tensor to build the model on.
        input_shape: optional (H, W, 3); at least 32x32; must be static with a top, and
            (224, 224, 3) with a top and ImageNet weights.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False`.
        classes: int, number of classes, at most 1,000,000. Default 1000.
        classifier_activation: activation of `predictions`. Default `"softmax"`.
        name: model name. Default `"resnet152v2"` (keras.applications').

    Returns:
        A `keras.Model` with 60,380,648 parameters (60,236,904 trainable) at the defaults
        (2048 feature channels at 1/32 of the input size without a top).

    Note:
        As keras.applications (TF-slim's `resnet_v2`), the stride-2 of a stage sits on the
        3x3 convolution of its LAST module (stages 2-4), where the paper's Torch code puts it
        on the first module of stages 3-5: the same parameters, but stage outputs at strides
        8, 16, 32, 32, so the feature taps C2-C4 are the second-to-last modules' outputs. A
        strided module's shortcut is its input subsampled by a 1x1/2 max pooling
        (`{name}_0_pool`); the first module of each stage projects (1x1 convolution with bias,
        `{name}_0_conv`) the pre-activated input to 4x the filters.

    Note:
        The convolutions that end a branch (the last 1x1 and the projection) have biases, as
        in keras.applications; those followed by BN do not. BN epsilon is 1.001e-5. Inputs
        are expected in [-1, 1] (`preprocess_input`, mode "tf").

    Example:
        >>> from cnnblocks import ResNet152V2
        >>> model = ResNet152V2(weights=None, include_top=False, input_shape=(64, 64, 3))
        >>> tuple(model.output.shape)
        (None, 2, 2, 2048)
    """
    return _build(152, include_top=include_top, weights=weights, input_tensor=input_tensor,
                  input_shape=input_shape, pooling=pooling, classes=classes,
                  classifier_activation=classifier_activation, name=name)


preprocess_input, decode_predictions = preprocessing.family_utils(
    "tf", "pixels in [0, 255] scaled to [-1, 1]")


# --- Published numbers ----------------------------------------------------------------------
# keras.applications ResNet50V2/101V2/152V2 (keras 3.15, weights=None, 1000 classes):
# count_params() / trainable / multiply-adds measured by count_macs on keras.applications
# (published.md). The 2015 paper's FLOPs row (3.8 / 7.6 / 11.3 x 10^9) is v1's: v2 strides the
# 3x3 of each stage's LAST module, so that 3x3 and the module's last 1x1 run at the lower
# resolution (in v1 the whole module runs at the higher one and the next stage's first 1x1
# strides). Per stage transition that saves 3/4 of 9 R^2 w^2 + 4 R^2 w^2 (R = 56, 28, 14 and
# w = 64, 128, 256 give 125.2 M each): 3 x 125.2 M = 376 M, and 3.858 G (v1) - 0.376 G = 3.482 G.
# Depth: conv1 + 3 convolutions per module + the classifier = 2 + 3 x modules:
#   50 = 2 + 3 x 16, 101 = 2 + 3 x 33, 152 = 2 + 3 x 50 (the projections are parallel).
_RESNET_V2 = {
    # depth: (total, trainable, MACs, paper Table 1 FLOPs (1e9, v1))
    50: (25_613_800, 25_568_360, 3_482_000_000, 3.8),
    101: (44_675_560, 44_577_896, 7_195_000_000, 7.6),
    152: (60_380_648, 60_236_904, 10_910_000_000, 11.3),
}
_PAPER = "He et al., Identity Mappings in Deep Residual Networks, ECCV 2016"


def _reference(depth):
    total, trainable, macs, _ = _RESNET_V2[depth]
    keras_name = f"ResNet{depth}V2"
    stages = RESNET_V2_SPECS[depth]
    rows = [fam.PaperRow("conv1", "conv1", "112x112",
                         columns={"layers": "7x7, 64, stride 2 (no BN: pre-activation)"})]
    for stage, (n, width) in enumerate(zip(stages, RESNET_V2_WIDTHS)):
        text = (f"[BN-ReLU 1x1, {width}; BN-ReLU 3x3, {width}; BN-ReLU 1x1, {4 * width}] "
                f"x {n}")
        if stage == 0:
            text = "3x3 max pool, stride 2; " + text
        pattern = rf"conv{stage + 2}_block\d+" + ("|pool1" if stage == 0 else "")
        # Table 1's output sizes (56, 28, 14, 7) are v1's; here the stride sits on the last
        # module of stages 2-4, so "our output" reads 28, 14, 7, 7 (see the builders' Note).
        size = 56 >> stage
        rows.append(fam.PaperRow(f"conv{stage + 2}_x", pattern, f"{size}x{size}x{4 * width}",
                                 columns={"layers": text}))
    rows.append(fam.PaperRow("final BN-ReLU, average pool, 1000-d fc, softmax", "post|head",
                             "1000"))
    return fam.Reference(
        paper=_PAPER,
        input_shape=(224, 224, 3),
        params=fam.exact(total, fam.KERAS.format(keras_name), fam.KERAS_PARAMS),
        trainable_params=fam.exact(trainable, fam.KERAS.format(keras_name), fam.TRAINABLE),
        depth=fam.exact(depth, "the name; 2 + 3 per module (comment in this module)",
                        fam.DEPTH),
        macs=fam.measured_macs(macs, fam.KERAS_MACS.format(keras_name)),
        table=tuple(rows),
        table_source=("He et al. 2015, Table 1 (the layout ResNet v2 keeps; output sizes "
                      "differ by keras.applications' stride placement)"),
        others=(("He et al. 2015 Table 1 FLOPs (v1 stride placement)",
                 fam.rounded(_RESNET_V2[depth][3] * 1e9, 0.1e9, "He et al. 2015, Table 1")),),
    )


_BASE = "https://storage.googleapis.com/tensorflow/keras-applications/resnet/"


def _weight_files(depth):
    """keras.applications' ImageNet files (resnet.py WEIGHTS_HASHES, Keras 3.15)."""
    md5 = {50: ("3ef43a0b657b3be2300d5770ece849e0", "fac2f116257151a9d068a22e544a4917"),
           101: ("6343647c601c52e1368623803854d971", "c0ed64b8031c3730f411d2eb4eea35b5"),
           152: ("a49b44d1979771252814e80f8ec446f9", "ed17cf2e0169df9d443503ef94b23b33")}[depth]
    stem = f"{_BASE}resnet{depth}v2_weights_tf_dim_ordering_tf_kernels"
    return (fam.WeightFile(stem + ".h5", md5[0]), fam.WeightFile(stem + "_notop.h5", md5[1]))


FAMILY = fam.Family(
    name="resnet_v2",
    title="ResNet v2",
    paper=_PAPER,
    url="https://arxiv.org/abs/1603.05027",
    models=(
        fam.ModelEntry(name="resnet50v2", title="ResNet-50 v2", builder=ResNet50V2,
                       default_size=224, imagenet=_weight_files(50), reference=_reference(50),
                       keras_name="ResNet50V2"),
        fam.ModelEntry(name="resnet101v2", title="ResNet-101 v2", builder=ResNet101V2,
                       default_size=224, imagenet=_weight_files(101), reference=_reference(101),
                       keras_name="ResNet101V2"),
        fam.ModelEntry(name="resnet152v2", title="ResNet-152 v2", builder=ResNet152V2,
                       default_size=224, imagenet=_weight_files(152), reference=_reference(152),
                       keras_name="ResNet152V2"),
    ),
    preprocess_input=preprocess_input,
    decode_predictions=decode_predictions,
    preprocessing="tf: pixels in [0, 255] scaled to [-1, 1]",
    blocks=("conv_bn_act", "preact_bottleneck_module"),
    estimate=estimate,
)
