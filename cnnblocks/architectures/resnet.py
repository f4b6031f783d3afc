"""ResNet v1 (He et al., "Deep Residual Learning for Image Recognition", CVPR 2016,
https://arxiv.org/abs/1512.03385): ResNet-18/34 (basic modules) and ResNet-50/101/152 (bottleneck
modules), Table 1 of the paper.

Layer names, parameter counts and weight order equal keras.applications' ResNet50/101/152, whose
ImageNet files load into ResNet50/101/152 here. ResNet-18/34 use the same name grammar
(`conv1_*`, `pool1_*`, `conv2_block1_1_conv`, ..., `conv5_block2_out`, `avg_pool`, `predictions`).
Everything about the family is in this module: spec table, builders, weight files,
preprocessing, published numbers.
"""

import math

from keras import layers

from cnnblocks import _validation as check
from cnnblocks import cost
from cnnblocks import family as fam
from cnnblocks import identity, preprocessing
from cnnblocks.architectures import common
from cnnblocks.blocks import bottleneck_module, conv_bn_act, residual_module
from cnnblocks.blocks.common import make_divisible
from cnnblocks.blocks.residual import (RESNET_BN_EPSILON, bottleneck_module_cost,
                                       residual_module_cost)

__all__ = ["ResNet18", "ResNet34", "ResNet50", "ResNet101", "ResNet152"]

#: Module kind and modules per stage (conv2_x, conv3_x, conv4_x, conv5_x), Table 1 of the paper.
#: The first module of stages 3-5 has stride 2; a 1x1 projection shortcut (option B) is used
#: wherever a module changes the shape ("auto"): for bottlenecks the first module of every stage
#: (conv2_block1 widens 64 to 256), for basic modules the first module of stages 3-5.
RESNET_SPECS = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
}
#: Filters of the 3x3 convolutions per stage (a bottleneck's output has 4x as many channels).
RESNET_WIDTHS = (64, 128, 256, 512)
_MODULES = {"basic": residual_module, "bottleneck": bottleneck_module}

#: The two structures, as options of the convolutions and modules:
#: - "keras": keras.applications' ResNet v1 (conv biases, BN epsilon 1.001e-5, the stride of a
#:   bottleneck on its first 1x1, Keras "same" padding: a stride-2 3x3 pads (0, 1));
#: - "torchvision": torchvision's "v1.5" (no conv bias before BN, BN epsilon 1e-5 (PyTorch's
#:   default), the stride on the 3x3, zero padding 1 on every side of a 3x3: `{block}_2_pad`).
#: Both have the same layer names otherwise and, trainable, the same parameters up to the
#: biases.
RESNET_VARIANTS = {
    fam.KERAS_VARIANT: dict(use_bias=True, bn_epsilon=RESNET_BN_EPSILON, stride_on="1x1",
                            padding="same"),
    fam.TORCHVISION_VARIANT: dict(use_bias=False, bn_epsilon=1e-5, stride_on="3x3",
                                  padding="symmetric"),
}


#: Channels of the stem convolution `conv1`.
RESNET_STEM = 64


def _trunk(kind, stages, widths=RESNET_WIDTHS, stem_width=RESNET_STEM):
    """Stem (`conv1`: 7x7/2 conv + BN + ReLU; `pool1`: 3x3/2 max pool, explicit zero padding),
    then the four stages of `stages` modules of `kind` and `widths`; taps at the last module
    of each stage."""
    def body(x, ctx):
        options = dict(RESNET_VARIANTS[ctx.variant])
        stride_on = options.pop("stride_on")
        with identity.region(x, "stem", "conv1", args={"filters": stem_width, "kernel_size": 7,
                                                       "strides": 2},
                             label=f"7x7 {stem_width} /2") as stem:
            y = layers.ZeroPadding2D(3, data_format=ctx.data_format, name="conv1_pad")(x)
            x = stem.done(conv_bn_act(y, stem_width, 7, strides=2, padding="valid",
                                      use_bias=options["use_bias"],
                                      bn_epsilon=options["bn_epsilon"],
                                      data_format=ctx.data_format, name="conv1"))
        # Zero padding before the max pool equals PyTorch's -inf padding: the input is a ReLU's.
        x = common.max_pool_region(x, "pool1", ctx, pad=1)
        if kind == "bottleneck":
            options["stride_on"] = stride_on
        for stage, (blocks, width) in enumerate(zip(stages, widths), start=2):
            for block in range(1, blocks + 1):
                strides = 2 if block == 1 and stage > 2 else 1
                x = _MODULES[kind](x, width, strides=strides, data_format=ctx.data_format,
                                   name=f"conv{stage}_block{block}", **options)
            ctx.tap(f"C{stage}", x)
        return x
    return body


def _build(depth, **kwargs):
    return common.build(FAMILY.model(f"resnet{depth}"), _trunk(*RESNET_SPECS[depth]),
                        min_size=32, **kwargs)


#: The family's name, and the model name in the record of a scaled design (not registered).
FAMILY_NAME = "resnet"


def scale(entry, width, depth, resolution):
    """The family's scaling rule (`FAMILY.scale`): EfficientNet's rounding (Section 3.3)
    applied to ResNet's stages, as its Table 3 scales ResNet-50: every stage's modules
    `ceil(depth * n)`, the stem's and every stage's widths `width` times, rounded to a multiple
    of 8 (`cnnblocks.blocks.common.make_divisible`); the module kind stays."""
    kind, stages = RESNET_SPECS[int(entry.name[len(FAMILY_NAME):])]
    repeats = tuple(int(math.ceil(depth * n)) for n in stages)
    widths = tuple(make_divisible(w * width) for w in RESNET_WIDTHS)
    expansion = 4 if kind == "bottleneck" else 1
    return fam.Design(family=FAMILY_NAME, name=f"{entry.name}_scaled", base=entry.name,
                      width=width, depth=depth, resolution=resolution or entry.default_size,
                      stages=tuple((n, expansion * w) for n, w in zip(repeats, widths)),
                      spec={"kind": kind, "repeats": repeats, "widths": widths,
                            "stem": make_divisible(RESNET_STEM * width),
                            "variants": entry.variants},
                      build_fn=_build_design)


def _build_design(point, **kwargs):
    """Builds a scaled design: model record family and model `"resnet"`, the registered
    model's structures (`variant=`), torchvision's module layout."""
    spec = point.spec
    entry = fam.ModelEntry(name=FAMILY_NAME, title="ResNet (scaled)", builder=None,
                           default_size=point.resolution, variants=spec["variants"],
                           torch_layout=_torch_layout(spec["kind"], spec["repeats"]),
                           family=FAMILY_NAME)
    return common.build(entry, _trunk(spec["kind"], spec["repeats"], spec["widths"],
                                      spec["stem"]), min_size=32, **kwargs)


def estimate(point, *, input_shape, include_top=True, pooling=None, classes=1000,
             variant=None):
    """The family's estimator (`FAMILY.estimate`): the costs of a `Design` of this family
    (`cnnblocks.cost.Estimate`) at `input_shape` `(h, w, 3)` in `variant`'s structure (None:
    the builders' default, "keras"), walked layer by layer as `_trunk` and the head build
    them, without building anything."""
    spec = point.spec
    variant = spec["variants"][0] if variant is None else check.choice(
        variant, "variant", spec["variants"])
    options = dict(RESNET_VARIANTS[variant])
    use_bias, padding, stride_on = options["use_bias"], options["padding"], options["stride_on"]
    tally = cost.Tally(input_shape)
    tally.pad(3)                                                # conv1_pad, _conv, _bn, _relu
    tally.conv(spec["stem"], 7, 2, bias=use_bias)
    tally.bn()
    tally.elementwise()
    tally.pad(1)                                                # pool1_pad, pool1_pool
    tally.pool(3, 2)
    tally.stage("stem")
    for stage, (blocks, width) in enumerate(zip(spec["repeats"], spec["widths"]), start=2):
        for block in range(1, blocks + 1):
            strides = 2 if block == 1 and stage > 2 else 1
            if spec["kind"] == "bottleneck":
                bottleneck_module_cost(tally, width, strides=strides, stride_on=stride_on,
                                       use_bias=use_bias, padding=padding)
            else:
                residual_module_cost(tally, width, strides=strides, use_bias=use_bias,
                                     padding=padding)
        tally.stage(f"conv{stage}")
    tally.head(include_top, pooling, classes)
    return tally.result()


def _torch_layout(kind, stages):
    """Keras layer -> torchvision module: `conv1`/`bn1`, `layer{s-1}.{b-1}.conv{i}`/`.bn{i}`,
    the projection `downsample.0`/`.1` (where a module has one), `fc`."""
    convs = 3 if kind == "bottleneck" else 2
    found = {"conv1_conv": "conv1", "conv1_bn": "bn1", "predictions": "fc"}
    for stage, blocks in enumerate(stages, start=2):
        for block in range(1, blocks + 1):
            ours, theirs = f"conv{stage}_block{block}", f"layer{stage - 1}.{block - 1}"
            for i in range(1, convs + 1):
                found[f"{ours}_{i}_conv"] = f"{theirs}.conv{i}"
                found[f"{ours}_{i}_bn"] = f"{theirs}.bn{i}"
            if block == 1 and (kind == "bottleneck" or stage > 2):
                found[f"{ours}_0_conv"] = f"{theirs}.downsample.0"
                found[f"{ours}_0_bn"] = f"{theirs}.downsample.1"
    return fam.TorchLayout(found)


def ResNet18(include_top=True, weights=None, input_tensor=None, input_shape=None,
             pooling=None, classes=1000, classifier_activation="softmax", name="resnet18", *,
             variant="keras"):
    """ResNet-18 v1: 8 basic modules (2+2+2+2 per stage).

    He et al., "Deep Residual Learning for Image Recognition", CVPR 2016,
    https://arxiv.org/abs/1512.03385, Table 1.

    Stem: `conv1_pad` (zero padding 3), `conv1` 7x7/2 convolution with 64 filters + BN + ReLU,
    `pool1_pad` (zero padding 1), `pool1_pool` 3x3/2 max pooling. Then four stages `conv2_x`
    ... `conv5_x` of basic modules with 64, 128, 256, 512 filters; the first module
    of stages 3-5 halves the resolution. Head: global average pooling `avg_pool` and
    `predictions`. Layer names in keras.applications' grammar: `conv1_conv`, `conv2_block1_1_conv`, ...,
    `conv5_block2_out`.

    Args:
        include_top: bool, add the global average pooling and the classifier. Default True.
        weights: None (random initialization), `"torchvision"` (torchvision's ImageNet
            weights, with `variant="torchvision"`; from the Keras cache, checked against the
            hash in their URL, downloaded when missing, converted on load) or the path of a
            weight file (Keras, or a PyTorch `.pth`/`.safetensors` state dict with
            `variant="torchvision"`); no ImageNet file in keras.applications' format exists,
            so `"imagenet"` is refused.
        input_tensor: optional Keras tensor to build the model on.
        input_shape: optional (H, W, 3); at least 32x32; must be static with a top, and
            (224, 224, 3) with a top and ImageNet weights.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False`.
        classes: int, number of classes, at most 1,000,000. Default 1000.
        classifier_activation: activation of `predictions`. Default `"softmax"`.
        name: model name. Default `"resnet18"`.
        variant: `"keras"` (keras.applications' structure, the default) or `"torchvision"`
            (torchvision's `resnet18`, which its and timm's weights fit: see the Note).

    Returns:
        A `keras.Model` with 11,703,912 parameters at the defaults (512 feature channels
        at 1/32 of the input size without a top).

    Note:
        The stride-2 of a basic module sits on its first 3x3 convolution and on the
        projection, as in the paper and torchvision (ResNet-18/34 have no v1/v1.5 split).
        keras.applications has no ResNet-18/34: the names follow its grammar, and no ImageNet
        file in its format exists.

    Note:
        As keras.applications, every convolution has a bias even where BatchNormalization
        follows it (the released Caffe models have none): 1 extra parameter per output channel,
        redundant with BN's beta. BN epsilon is 1.001e-5. Shortcuts are identities except where
        the shape changes, which get a 1x1 projection + BN (the paper's option B).

    Note:
        `variant="torchvision"` builds torchvision's structure, so that its weights (and
        timm's `resnet*` weights, which have the same keys) convert exactly: no convolution
        bias, BN epsilon 1e-5, and zero padding 1 on every side of a strided 3x3
        (`conv3_block1_1_pad` ...; Keras' "same" pads (0, 1) there). Same layer names
        otherwise; trainable parameters equal torchvision's `parameters()` (11,689,512). Its
        weights expect torchvision's preprocessing (RGB, ImageNet mean and std, resize 256,
        center crop 224), recorded with each weight set in
        `FAMILY.model("resnet18").pretrained`.

    Example:
        >>> from cnnblocks import ResNet18
        >>> model = ResNet18(include_top=False, input_shape=(64, 64, 3))
        >>> tuple(model.output.shape)
        (None, 2, 2, 512)
    """
    return _build(18, include_top=include_top, weights=weights, input_tensor=input_tensor,
                  input_shape=input_shape, pooling=pooling, classes=classes,
                  classifier_activation=classifier_activation, name=name, variant=variant)


def ResNet34(include_top=True, weights=None, input_tensor=None, input_shape=None,
             pooling=None, classes=1000, classifier_activation="softmax", name="resnet34", *,
             variant="keras"):
    """ResNet-34 v1: 16 basic modules (3+4+6+3 per stage).

    He et al., "Deep Residual Learning for Image Recognition", CVPR 2016,
    https://arxiv.org/abs/1512.03385, Table 1.

    Stem: `conv1_pad` (zero padding 3), `conv1` 7x7/2 convolution with 64 filters + BN + ReLU,
    `pool1_pad` (zero padding 1), `pool1_pool` 3x3/2 max pooling. Then four stages `conv2_x`
    ... `conv5_x` of basic modules with 64, 128, 256, 512 filters; the first module
    of stages 3-5 halves the resolution. Head: global average pooling `avg_pool` and
    `predictions`. Layer names in keras.applications' grammar: `conv1_conv`, `conv2_block1_1_conv`, ...,
    `conv5_block3_out`.

    Args:
        include_top: bool, add the global average pooling and the classifier. Default True.
        weights: None (random initialization), `"torchvision"` (torchvision's ImageNet
            weights, with `variant="torchvision"`; from the Keras cache, checked against the
            hash in their URL, downloaded when missing, converted on load) or the path of a
            weight file (Keras, or a PyTorch `.pth`/`.safetensors` state dict with
            `variant="torchvision"`); no ImageNet file in keras.applications' format exists,
            so `"imagenet"` is refused.
        input_tensor: optional Keras tensor to build the model on.
        input_shape: optional (H, W, 3); at least 32x32; must be static with a top, and
            (224, 224, 3) with a top and ImageNet weights.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False`.
        classes: int, number of classes, at most 1,000,000. Default 1000.
        classifier_activation: activation of `predictions`. Default `"softmax"`.
        name: model name. Default `"resnet34"`.
        variant: `"keras"` (keras.applications' structure, the default) or `"torchvision"`
            (torchvision's `resnet34`, which its and timm's weights fit: see the Note).

    Returns:
        A `keras.Model` with 21,823,208 parameters at the defaults (512 feature channels
        at 1/32 of the input size without a top).

    Note:
        The stride-2 of a basic module sits on its first 3x3 convolution and on the
        projection, as in the paper and torchvision (ResNet-18/34 have no v1/v1.5 split).
        keras.applications has no ResNet-18/34: the names follow its grammar, and no ImageNet
        file in its format exists.

    Note:
        As keras.applications, every convolution has a bias even where BatchNormalization
        follows it (the released Caffe models have none): 1 extra parameter per output channel,
        redundant with BN's beta. BN epsilon is 1.001e-5. Shortcuts are identities except where
        the shape changes, which get a 1x1 projection + BN (the paper's option B).

    Note:
        `variant="torchvision"` builds torchvision's structure, so that its weights (and
        timm's `resnet*` weights, which have the same keys) convert exactly: no convolution
        bias, BN epsilon 1e-5, and zero padding 1 on every side of a strided 3x3
        (`conv3_block1_1_pad` ...; Keras' "same" pads (0, 1) there). Same layer names
        otherwise; trainable parameters equal torchvision's `parameters()` (21,797,672). Its
        weights expect torchvision's preprocessing (RGB, ImageNet mean and std, resize 256,
        center crop 224), recorded with each weight set in
        `FAMILY.model("resnet34").pretrained`.

    Example:
        >>> from cnnblocks import ResNet34
        >>> model = ResNet34(include_top=False, input_shape=(64, 64, 3))
        >>> tuple(model.output.shape)
        (None, 2, 2, 512)
    """
    return _build(34, include_top=include_top, weights=weights, input_tensor=input_tensor,
                  input_shape=input_shape, pooling=pooling, classes=classes,
                  classifier_activation=classifier_activation, name=name, variant=variant)


def ResNet50(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
             pooling=None, classes=1000, classifier_activation="softmax", name="resnet50", *,
             variant="keras"):
    """ResNet-50 v1: 16 bottleneck modules (3+4+6+3 per stage).

    He et al., "Deep Residual Learning for Image Recognition", CVPR 2016,
    https://arxiv.org/abs/1512.03385, Table 1.

    Stem: `conv1_pad` (zero padding 3), `conv1` 7x7/2 convolution with 64 filters + BN + ReLU,
    `pool1_pad` (zero padding 1), `pool1_pool` 3x3/2 max pooling. Then four stages `conv2_x`
    ... `conv5_x` of bottleneck modules with 64, 128, 256, 512 filters (x4 out); the first module
    of stages 3-5 halves the resolution. Head: global average pooling `avg_pool` and
    `predictions`. Layer names as keras.applications: `conv1_conv`, `conv2_block1_1_conv`, ...,
    `conv5_block3_out`.

    Args:
        include_top: bool, add the global average pooling and the classifier. Default True.
        weights: `"imagenet"` (keras.applications' file, from the Keras cache, checked
            against its hash, downloaded when missing; the default, as in
            keras.applications), None (random initialization), `"torchvision"` or
            `"torchvision_v2"` (torchvision's IMAGENET1K_V1 / V2 weights, with
            `variant="torchvision"`, converted on load) or the path of a weight file (Keras, or
            a PyTorch `.pth`/`.safetensors` state dict with `variant="torchvision"`).
        input_tensor: optional Keras tensor to build the model on.
        input_shape: optional (H, W, 3); at least 32x32; must be static with a top, and
            (224, 224, 3) with a top and ImageNet weights.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False`.
        classes: int, number of classes, at most 1,000,000. Default 1000.
        classifier_activation: activation of `predictions`. Default `"softmax"`.
        name: model name. Default `"resnet50"`.
        variant: `"keras"` (keras.applications' structure, the default) or `"torchvision"`
            (torchvision's `resnet50`, which its and timm's weights fit: see the Note).

    Returns:
        A `keras.Model` with 25,636,712 parameters at the defaults (2048 feature channels
        at 1/32 of the input size without a top).

    Note:
        Version 1, as the paper and keras.applications: in a bottleneck module the stride-2
        sits on the first 1x1 convolution. torchvision's "v1.5" moves it to the 3x3
        convolution: same parameters, more multiply-adds (ResNet-50: 3.858 G here vs 4.089 G),
        slightly better accuracy; its weights belong to that structure (and have no conv
        biases): build it with `variant="torchvision"` for them.

    Note:
        As keras.applications, every convolution has a bias even where BatchNormalization
        follows it (the released Caffe models have none): 1 extra parameter per output channel,
        redundant with BN's beta. BN epsilon is 1.001e-5. Shortcuts are identities except where
        the shape changes, which get a 1x1 projection + BN (the paper's option B).

    Note:
        `variant="torchvision"` builds torchvision's structure, so that its weights (and
        timm's `resnet*` weights, which have the same keys) convert exactly: no convolution
        bias, BN epsilon 1e-5, the stride of a bottleneck on its 3x3 ("v1.5"), and zero padding
        1 on every side of a strided 3x3 (`conv3_block1_2_pad` ...; Keras' "same" pads (0, 1)
        there). Same layer names otherwise; trainable parameters equal torchvision's
        `parameters()` (25,557,032). Its weights expect torchvision's preprocessing (RGB,
        ImageNet mean and std, resize 256, center crop 224), recorded with each weight set in
        `FAMILY.model("resnet50").pretrained`.

    Example:
        >>> from cnnblocks import ResNet50
        >>> model = ResNet50(weights=None, include_top=False, input_shape=(64, 64, 3))
        >>> tuple(model.output.shape)
        (None, 2, 2, 2048)
    """
    return _build(50, include_top=include_top, weights=weights, input_tensor=input_tensor,
                  input_shape=input_shape, pooling=pooling, classes=classes,
                  classifier_activation=classifier_activation, name=name, variant=variant)


def ResNet101(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
              pooling=None, classes=1000, classifier_activation="softmax", name="resnet101", *,
             variant="keras"):
    """ResNet-101 v1: 33 bottleneck modules (3+4+23+3 per stage).

    He et al., "Deep Residual Learning for Image Recognition", CVPR 2016,
    https://arxiv.org/abs/1512.03385, Table 1.

    Stem: `conv1_pad` (zero padding 3), `conv1` 7x7/2 convolution with 64 filters + BN + ReLU,
    `pool1_pad` (zero padding 1), `pool1_pool` 3x3/2 max pooling. Then four stages `conv2_x`
    ... `conv5_x` of bottleneck modules with 64, 128, 256, 512 filters (x4 out); the first module
    of stages 3-5 halves the resolution. Head: global average pooling `avg_pool` and
    `predictions`. Layer names as keras.applications: `conv1_conv`, `conv2_block1_1_conv`, ...,
    `conv5_block3_out`.

    Args:
        include_top: bool, add the global average pooling and the classifier. Default True.
        weights: `"imagenet"` (keras.applications' file, from the Keras cache, checked
            against its hash, downloaded when missing; the default, as in
            keras.applications), None (random initialization), `"torchvision"` or
            `"torchvision_v2"` (torchvision's IMAGENET1K_V1 / V2 weights, with
            `variant="torchvision"`, converted on load) or the path of a weight file (Keras, or
            a PyTorch `.pth`/`.safetensors` state dict with `variant="torchvision"`).
        input_tensor: optional Keras tensor to build the model on.
        input_shape: optional (H, W, 3); at least 32x32; must be static with a top, and
            (224, 224, 3) with a top and ImageNet weights.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False`.
        classes: int, number of classes, at most 1,000,000. Default 1000.
        classifier_activation: activation of `predictions`. Default `"softmax"`.
        name: model name. Default `"resnet101"`.
        variant: `"keras"` (keras.applications' structure, the default) or `"torchvision"`
            (torchvision's `resnet101`, which its and timm's weights fit: see the Note).

    Returns:
        A `keras.Model` with 44,707,176 parameters at the defaults (2048 feature channels
        at 1/32 of the input size without a top).

    Note:
        Version 1, as the paper and keras.applications: in a bottleneck module the stride-2
        sits on the first 1x1 convolution. torchvision's "v1.5" moves it to the 3x3
        convolution: same parameters, more multiply-adds (ResNet-50: 3.858 G here vs 4.089 G),
        slightly better accuracy; its weights belong to that structure (and have no conv
        biases): build it with `variant="torchvision"` for them.

    Note:
        As keras.applications, every convolution has a bias even where BatchNormalization
        follows it (the released Caffe models have none): 1 extra parameter per output channel,
        redundant with BN's beta. BN epsilon is 1.001e-5. Shortcuts are identities except where
        the shape changes, which get a 1x1 projection + BN (the paper's option B).

    Note:
        `variant="torchvision"` builds torchvision's structure, so that its weights (and
        timm's `resnet*` weights, which have the same keys) convert exactly: no convolution
        bias, BN epsilon 1e-5, the stride of a bottleneck on its 3x3 ("v1.5"), and zero padding
        1 on every side of a strided 3x3 (`conv3_block1_2_pad` ...; Keras' "same" pads (0, 1)
        there). Same layer names otherwise; trainable parameters equal torchvision's
        `parameters()` (44,549,160). Its weights expect torchvision's preprocessing (RGB,
        ImageNet mean and std, resize 256, center crop 224), recorded with each weight set in
        `FAMILY.model("resnet101").pretrained`.

    Example:
        >>> from cnnblocks import ResNet101
        >>> model = ResNet101(weights=None, include_top=False, input_shape=(64, 64, 3))
        >>> tuple(model.output.shape)
        (None, 2, 2, 2048)
    """
    return _build(101, include_top=include_top, weights=weights, input_tensor=input_tensor,
                  input_shape=input_shape, pooling=pooling, classes=classes,
                  classifier_activation=classifier_activation, name=name, variant=variant)


def ResNet152(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
              pooling=None, classes=1000, classifier_activation="softmax", name="resnet152", *,
             variant="keras"):
    """ResNet-152 v1: 50 bottleneck modules (3+8+36+3 per stage).

    He et al., "Deep Residual Learning for Image Recognition", CVPR 2016,
    https://arxiv.org/abs/1512.03385, Table 1.

    Stem: `conv1_pad` (zero padding 3), `conv1` 7x7/2 convolution with 64 filters + BN + ReLU,
    `pool1_pad` (zero padding 1), `pool1_pool` 3x3/2 max pooling. Then four stages `conv2_x`
    ... `conv5_x` of bottleneck modules with 64, 128, 256, 512 filters (x4 out); the first module
    of stages 3-5 halves the resolution. Head: global average pooling `avg_pool` and
    `predictions`. Layer names as keras.applications: `conv1_conv`, `conv2_block1_1_conv`, ...,
    `conv5_block3_out`.

    Args:
        include_top: bool, add the global average pooling and the classifier. Default True.
        weights: `"imagenet"` (keras.applications' file, from the Keras cache, checked
            against its hash, downloaded when missing; the default, as in
            keras.applications), None (random initialization), `"torchvision"` or
            `"torchvision_v2"` (torchvision's IMAGENET1K_V1 / V2 weights, with
            `variant="torchvision"`, converted on load) or the path of a weight file (Keras, or
            a PyTorch `.pth`/`.safetensors` state dict with `variant="torchvision"`).
        input_tensor: optional Keras tensor to build the model on.
        input_shape: optional (H, W, 3); at least 32x32; must be static with a top, and
            (224, 224, 3) with a top and ImageNet weights.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False`.
        classes: int, number of classes, at most 1,000,000. Default 1000.
        classifier_activation: activation of `predictions`. Default `"softmax"`.
        name: model name. Default `"resnet152"`.
        variant: `"keras"` (keras.applications' structure, the default) or `"torchvision"`
            (torchvision's `resnet152`, which its and timm's weights fit: see the Note).

    Returns:
        A `keras.Model` with 60,419,944 parameters at the defaults (2048 feature channels
        at 1/32 of the input size without a top).

    Note:
        Version 1, as the paper and keras.applications: in a bottleneck module the stride-2
        sits on the first 1x1 convolution. torchvision's "v1.5" moves it to the 3x3
        convolution: same parameters, more multiply-adds (ResNet-50: 3.858 G here vs 4.089 G),
        slightly better accuracy; its weights belong to that structure (and have no conv
        biases): build it with `variant="torchvision"` for them.

    Note:
        As keras.applications, every convolution has a bias even where BatchNormalization
        follows it (the released Caffe models have none): 1 extra parameter per output channel,
        redundant with BN's beta. BN epsilon is 1.001e-5. Shortcuts are identities except where
        the shape changes, which get a 1x1 projection + BN (the paper's option B).

    Note:
        `variant="torchvision"` builds torchvision's structure, so that its weights (and
        timm's `resnet*` weights, which have the same keys) convert exactly: no convolution
        bias, BN epsilon 1e-5, the stride of a bottleneck on its 3x3 ("v1.5"), and zero padding
        1 on every side of a strided 3x3 (`conv3_block1_2_pad` ...; Keras' "same" pads (0, 1)
        there). Same layer names otherwise; trainable parameters equal torchvision's
        `parameters()` (60,192,808). Its weights expect torchvision's preprocessing (RGB,
        ImageNet mean and std, resize 256, center crop 224), recorded with each weight set in
        `FAMILY.model("resnet152").pretrained`.

    Example:
        >>> from cnnblocks import ResNet152
        >>> model = ResNet152(weights=None, include_top=False, input_shape=(64, 64, 3))
        >>> tuple(model.output.shape)
        (None, 2, 2, 2048)
    """
    return _build(152, include_top=include_top, weights=weights, input_tensor=input_tensor,
                  input_shape=input_shape, pooling=pooling, classes=classes,
                  classifier_activation=classifier_activation, name=name, variant=variant)


preprocess_input, decode_predictions = preprocessing.family_utils(
    "caffe", "RGB to BGR, ImageNet mean (103.939, 116.779, 123.68) subtracted (Caffe style)")


# --- Published numbers ----------------------------------------------------------------------
RESNET_PAPER = "He et al. 2015, Table 1"
# --- ResNet ---------------------------------------------------------------------------------
# Table 1 per depth: (block, stage blocks, output channels, paper FLOPs in 10^9).
# Keras-convention ResNet-18/34 totals are derived from torchvision's (which has no conv bias and
# counts 2 numbers per BN channel): keras = torchvision + 3 B, where B = the BN channels = the
# output channels summed over all convolutions (each conv is followed by one BN): 1 bias +
# moving mean + moving variance per channel. Trainable = keras - 2 B.
#   ResNet-18: B = 64 (conv1) + 2*128 + (2*256 + 128) + (2*512 + 256) + (2*1024 + 512) = 4,800
#     (projections only where the shape changes: first block of stages 3-5) ->
#     11,689,512 + 14,400 = 11,703,912; trainable 11,703,912 - 9,600 = 11,694,312.
#   ResNet-34: B = 64 + 3*128 + (4*256 + 128) + (6*512 + 256) + (3*1024 + 512) = 8,512 ->
#     21,797,672 + 25,536 = 21,823,208; trainable 21,823,208 - 17,024 = 21,806,184.
#   Check with ResNet-50 (bottleneck, projection in every stage): B = 26,560,
#     25,557,032 + 79,680 = 25,636,712 = keras.applications ResNet50.
# Multiply-adds: basic blocks stride their first 3x3 in both v1 and v1.5, so torchvision's
# figures are v1's. For the bottleneck depths, v1 (stride on the 1x1) = torchvision v1.5 minus
# the difference ResNet-50 shows (4.089 - 3.858 = 0.231 G), which only comes from the first
# block of stages 3-5, present in every depth:
#   ResNet-101: 7.801 - 0.231 = 7.570 G; ResNet-152: 11.514 - 0.231 = 11.283 G.
_RESNET = {
    # depth: (block, blocks per stage, total, trainable, MACs figure, Table 1 FLOPs (1e9),
    #         torchvision (num_params, GFLOPS))
    18: ("basic", (2, 2, 2, 2), 11_703_912, 11_694_312,
         fam.measured_macs(1_814_000_000,
                           fam.TORCHVISION.format("resnet18: 1.814 GFLOPS; = v1")),
         1.8, (11_689_512, 1.814)),
    34: ("basic", (3, 4, 6, 3), 21_823_208, 21_806_184,
         fam.measured_macs(3_664_000_000,
                           fam.TORCHVISION.format("resnet34: 3.664 GFLOPS; = v1")),
         3.6, (21_797_672, 3.664)),
    50: ("bottleneck", (3, 4, 6, 3), 25_636_712, 25_583_592,
         fam.measured_macs(3_858_000_000, fam.KERAS_MACS.format("ResNet50")),
         3.8, (25_557_032, 4.089)),
    101: ("bottleneck", (3, 4, 23, 3), 44_707_176, 44_601_832,
          fam.measured_macs(7_570_000_000,
                            "derived: torchvision 7.801 G (v1.5) - 0.231 G (comment)"),
          7.6, (44_549_160, 7.801)),
    152: ("bottleneck", (3, 8, 36, 3), 60_419_944, 60_268_520,
          fam.measured_macs(11_283_000_000,
                            "derived: torchvision 11.514 G (v1.5) - 0.231 G (comment)"),
          11.3, (60_192_808, 11.514)),
}


def _reference(depth):
    block, stages, total, trainable, macs, paper_flops, (tv_params, tv_gflops) = _RESNET[depth]
    expansion = 4 if block == "bottleneck" else 1
    source = ("derived from torchvision's count (comment in this module)" if depth in (18, 34)
              else fam.KERAS.format(f"ResNet{depth}"))
    rows = [fam.PaperRow("conv1", "conv1", "112x112", columns={"layers": "7x7, 64, stride 2"})]
    for stage, (n, width) in enumerate(zip(stages, RESNET_WIDTHS)):
        size = 56 >> stage
        text = (f"[1x1, {width}; 3x3, {width}; 1x1, {4 * width}] x {n}"
                if block == "bottleneck" else f"[3x3, {width}; 3x3, {width}] x {n}")
        if stage == 0:
            text = "3x3 max pool, stride 2; " + text
        pattern = rf"conv{stage + 2}_block\d+" + ("|pool1" if stage == 0 else "")
        rows.append(fam.PaperRow(f"conv{stage + 2}_x", pattern,
                                 f"{size}x{size}x{expansion * width}", columns={"layers": text}))
    rows.append(fam.PaperRow("average pool, 1000-d fc, softmax", "head", "1000"))
    # The FLOPs row is printed with one decimal, sometimes truncated rather than rounded
    # (ResNet-34: 3.664 G printed 3.6; ResNet-50: 3.858 G printed 3.8): tolerance 0.1 G.
    rows.append(fam.PaperRow("FLOPs (total)", None,
                             macs=fam.rounded(paper_flops * 1e9, 0.1e9, RESNET_PAPER,
                                              "multiply-adds, 10^9, v1")))
    return fam.Reference(
        paper="He et al., Deep Residual Learning for Image Recognition, CVPR 2016",
        input_shape=(224, 224, 3),
        params=fam.exact(total, source, fam.KERAS_PARAMS + "; conv bias=True"),
        trainable_params=fam.exact(trainable, source, fam.TRAINABLE),
        depth=fam.exact(depth, f"the name ({RESNET_PAPER})", fam.DEPTH),
        macs=macs,
        table=tuple(rows),
        table_source=RESNET_PAPER + " (output sizes; FLOPs per depth)",
        others=(
            ("torchvision params (v1.5, BN 2 per channel, no conv bias)",
             fam.exact(tv_params, fam.TORCHVISION.format(f"resnet{depth}"))),
            ("torchvision MACs (v1.5: stride on the 3x3)",
             fam.measured_macs(int(tv_gflops * 1e9), fam.TORCHVISION.format(f"resnet{depth}"))),
            ("paper FLOPs (v1)", fam.rounded(paper_flops * 1e9, 0.1e9, RESNET_PAPER)),
        ),
    )


_BASE = "https://storage.googleapis.com/tensorflow/keras-applications/resnet/"
#: keras.applications' ImageNet files (resnet.py, Keras 3.15): (with top, no top).
_IMAGENET = {
    50: (fam.WeightFile(_BASE + "resnet50_weights_tf_dim_ordering_tf_kernels.h5",
                        "2cb95161c43110f7111970584f804107"),
         fam.WeightFile(_BASE + "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
                        "4d473c1dd8becc155b73f8504c6f6626")),
    101: (fam.WeightFile(_BASE + "resnet101_weights_tf_dim_ordering_tf_kernels.h5",
                         "f1aeb4b969a6efcfb50fad2f0c20cfc5"),
          fam.WeightFile(_BASE + "resnet101_weights_tf_dim_ordering_tf_kernels_notop.h5",
                         "88cf7a10940856eca736dc7b7e228a21")),
    152: (fam.WeightFile(_BASE + "resnet152_weights_tf_dim_ordering_tf_kernels.h5",
                         "100835be76be38e30d865e96f2aaae62"),
          fam.WeightFile(_BASE + "resnet152_weights_tf_dim_ordering_tf_kernels_notop.h5",
                         "ee4c566cf9a93f14d82f913c2dc6dd0c")),
}

#: torchvision's ImageNet weights (torchvision/models/resnet.py, `ResNet{d}_Weights`,
#: torchvision 0.28): file (its name carries the SHA-256 prefix torch hub checks), acc@1, acc@5,
#: num_params, _file_size (MB), and the resize size of its transform (crop 224, bilinear).
#: IMAGENET1K_V2 ("new training recipe", resize 232) is torchvision's DEFAULT where it exists.
_TORCHVISION = {
    18: {"torchvision": ("resnet18-f37072fd.pth", "V1", 69.758, 89.078, 11_689_512, 44.661,
                         256)},
    34: {"torchvision": ("resnet34-b627a593.pth", "V1", 73.314, 91.420, 21_797_672, 83.275,
                         256)},
    50: {"torchvision": ("resnet50-0676ba61.pth", "V1", 76.130, 92.862, 25_557_032, 97.781,
                         256),
         "torchvision_v2": ("resnet50-11ad3fa6.pth", "V2", 80.858, 95.434, 25_557_032, 97.79,
                            232)},
    101: {"torchvision": ("resnet101-63fe2227.pth", "V1", 77.374, 93.546, 44_549_160, 170.511,
                          256),
          "torchvision_v2": ("resnet101-cd907fc2.pth", "V2", 81.886, 95.780, 44_549_160,
                             170.53, 232)},
    152: {"torchvision": ("resnet152-394f9c45.pth", "V1", 78.312, 94.046, 60_192_808, 230.434,
                          256),
          "torchvision_v2": ("resnet152-f82ba261.pth", "V2", 82.284, 96.002, 60_192_808,
                             230.474, 232)},
}


def _pretrained(depth):
    return {name: fam.torchvision_weights(
        filename, f"ResNet{depth}_Weights.IMAGENET1K_{version}", name=name, top1=top1,
        top5=top5, num_params=params, file_size_mb=size, resize_size=resize)
        for name, (filename, version, top1, top5, params, size, resize)
        in _TORCHVISION[depth].items()}


FAMILY = fam.Family(
    name="resnet",
    title="ResNet",
    paper="He et al., Deep Residual Learning for Image Recognition, CVPR 2016",
    url="https://arxiv.org/abs/1512.03385",
    models=(
        fam.ModelEntry(name="resnet18", title="ResNet-18", builder=ResNet18,
                       default_size=224, imagenet=None, reference=_reference(18),
                       keras_name=None, variants=tuple(RESNET_VARIANTS),
                       pretrained=_pretrained(18), torch_layout=_torch_layout(*RESNET_SPECS[18])),
        fam.ModelEntry(name="resnet34", title="ResNet-34", builder=ResNet34,
                       default_size=224, imagenet=None, reference=_reference(34),
                       keras_name=None, variants=tuple(RESNET_VARIANTS),
                       pretrained=_pretrained(34), torch_layout=_torch_layout(*RESNET_SPECS[34])),
        fam.ModelEntry(name="resnet50", title="ResNet-50", builder=ResNet50,
                       default_size=224, imagenet=_IMAGENET[50], reference=_reference(50),
                       keras_name="ResNet50", variants=tuple(RESNET_VARIANTS),
                       pretrained=_pretrained(50), torch_layout=_torch_layout(*RESNET_SPECS[50])),
        fam.ModelEntry(name="resnet101", title="ResNet-101", builder=ResNet101,
                       default_size=224, imagenet=_IMAGENET[101], reference=_reference(101),
                       keras_name="ResNet101", variants=tuple(RESNET_VARIANTS),
                       pretrained=_pretrained(101), torch_layout=_torch_layout(*RESNET_SPECS[101])),
        fam.ModelEntry(name="resnet152", title="ResNet-152", builder=ResNet152,
                       default_size=224, imagenet=_IMAGENET[152], reference=_reference(152),
                       keras_name="ResNet152", variants=tuple(RESNET_VARIANTS),
                       pretrained=_pretrained(152), torch_layout=_torch_layout(*RESNET_SPECS[152])),
    ),
    preprocess_input=preprocess_input,
    decode_predictions=decode_predictions,
    preprocessing="caffe: RGB to BGR, ImageNet mean subtracted, no scaling",
    blocks=("conv_bn_act", "residual_module", "bottleneck_module"),
    scale=scale,
    estimate=estimate,
)
