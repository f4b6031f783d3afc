"""ResNeXt (Xie, Girshick, Dollár, Tu, He, "Aggregated Residual Transformations for Deep Neural
Networks", CVPR 2017, https://arxiv.org/abs/1611.05431): ResNeXt-50 (32x4d) of Table 1 and
ResNeXt-101 (32x8d) and ResNeXt-101 (64x4d), as torchvision builds them.

keras.applications has no ResNeXt: the structure, the parameter counts (torchvision's
`parameters()` = Keras' trainable weights) and the conventions are torchvision's, so that its
weights can be converted: no convolution bias before BN, BN epsilon 1e-5, the stride on the
grouped 3x3 convolution, explicit symmetric zero padding where PyTorch pads (the 7x7/2 stem
convolution, the 3x3/2 max pool, the strided 3x3 convolutions). Layer names follow
keras.applications' ResNet grammar (`conv1_conv`, `conv2_block1_2_conv`, ..., `avg_pool`,
`predictions`). The trunk (`torchvision_trunk`) is shared with Wide ResNet
(`cnnblocks.architectures.wide_resnet`). Everything about the family is in this module.
"""

from cnnblocks import _validation as check
from cnnblocks import cost
from cnnblocks import family as fam
from cnnblocks import identity, preprocessing
from cnnblocks.architectures import common
from cnnblocks.blocks import conv_bn_act, grouped_bottleneck_module
from cnnblocks.blocks.resnext import TORCH_BN_EPSILON, grouped_bottleneck_module_cost

__all__ = ["ResNeXt50_32x4d", "ResNeXt101_32x8d", "ResNeXt101_64x4d"]

#: Bottleneck modules per stage (conv2_x ... conv5_x) and the grouped 3x3 of each variant:
#: (modules per stage, cardinality C, base width d). Table 1 of the paper (ResNeXt-50 32x4d)
#: and torchvision's `resnext101_32x8d` and `resnext101_64x4d`. The stage widths are those of ResNet (64, 128, 256,
#: 512; outputs x4); the inner width is C d at the first stage, doubling with each stage.
RESNEXT_SPECS = {
    "resnext50_32x4d": ((3, 4, 6, 3), 32, 4),    # inner widths 128, 256, 512, 1024
    "resnext101_32x8d": ((3, 4, 23, 3), 32, 8),  # inner widths 256, 512, 1024, 2048
    "resnext101_64x4d": ((3, 4, 23, 3), 64, 4),  # inner widths 256, 512, 1024, 2048
}
STAGE_FILTERS = (64, 128, 256, 512)


def torchvision_trunk(stages, **module_options):
    """The trunk of torchvision's bottleneck ResNets (ResNeXt, Wide ResNet): `body(x, ctx)`.

    Stem `conv1` (zero padding 3, 7x7/2 convolution without bias, BN epsilon 1e-5, ReLU) and
    `pool1` (zero padding 1, 3x3/2 max pool: PyTorch's `MaxPool2d(3, 2, padding=1)`; its
    padding is -inf, zeros are the same after a ReLU), then `grouped_bottleneck_module`s,
    stride 2 on the first module of stages 3-5. Taps: the last module of each stage.

    Args:
        stages: modules per stage, e.g. `(3, 4, 6, 3)`.
        **module_options: `cardinality`, `base_width`, `width_factor` of the modules.
    """
    def body(x, ctx):
        with identity.region(x, "stem", "conv1", args={"filters": 64, "kernel_size": 7,
                                                       "strides": 2},
                             label="7x7 64 /2") as stem:
            x = stem.done(conv_bn_act(x, 64, 7, strides=2, padding=3, use_bias=False,
                                      bn_epsilon=TORCH_BN_EPSILON,
                                      data_format=ctx.data_format, name="conv1"))
        x = common.max_pool_region(x, "pool1", ctx, pad=1)
        for stage, (blocks, filters) in enumerate(zip(stages, STAGE_FILTERS), start=2):
            for block in range(1, blocks + 1):
                strides = 2 if block == 1 and stage > 2 else 1
                x = grouped_bottleneck_module(x, filters, strides=strides,
                                              data_format=ctx.data_format,
                                              name=f"conv{stage}_block{block}",
                                              **module_options)
            ctx.tap(f"C{stage}", x)
        return x
    return body


def torchvision_estimate(point, stages, *, input_shape, include_top, pooling, classes, variant,
                         **module_options):
    """The costs (`cnnblocks.cost.Estimate`) of the registered model `point` (a `ModelEntry`
    of ResNeXt or Wide ResNet; one structure, "torchvision") whose trunk is
    `torchvision_trunk(stages, **module_options)`, with the global-pooling head, at
    `input_shape` `(h, w, 3)`, walked layer by layer without building anything."""
    if variant is not None:
        check.choice(variant, "variant", point.variants)
    tally = cost.Tally(input_shape)
    tally.pad(3)                                                # conv1_pad, _conv, _bn, _relu
    tally.conv(64, 7, 2)
    tally.bn()
    tally.elementwise()
    tally.pad(1)                                                # pool1_pad, pool1_pool
    tally.pool(3, 2)
    tally.stage("stem")
    for stage, (blocks, filters) in enumerate(zip(stages, STAGE_FILTERS), start=2):
        for block in range(1, blocks + 1):
            strides = 2 if block == 1 and stage > 2 else 1
            grouped_bottleneck_module_cost(tally, filters, strides=strides, **module_options)
        tally.stage(f"conv{stage}")
    tally.head(include_top, pooling, classes)
    return tally.result()


def estimate(point, *, input_shape, include_top=True, pooling=None, classes=1000,
             variant=None):
    """The family's estimator (`FAMILY.estimate`): the costs of a registered ResNeXt (`point`,
    its `ModelEntry`; `cnnblocks.cost.Estimate`) at `input_shape` `(h, w, 3)` (one structure,
    "torchvision"), walked layer by layer as `torchvision_trunk` and the head build them,
    without building anything."""
    stages, cardinality, base_width = RESNEXT_SPECS[point.name]
    return torchvision_estimate(point, stages, input_shape=input_shape,
                                include_top=include_top, pooling=pooling, classes=classes,
                                variant=variant, cardinality=cardinality,
                                base_width=base_width)


def torch_layout(stages):
    """Keras layer -> torchvision module of a torchvision bottleneck ResNet (ResNeXt, Wide
    ResNet): `conv1`/`bn1`, `layer{s-1}.{b-1}.conv{i}`/`.bn{i}`, the projection of each stage's
    first module `downsample.0`/`.1`, `fc`."""
    found = {"conv1_conv": "conv1", "conv1_bn": "bn1", "predictions": "fc"}
    for stage, blocks in enumerate(stages, start=2):
        for block in range(1, blocks + 1):
            ours, theirs = f"conv{stage}_block{block}", f"layer{stage - 1}.{block - 1}"
            for i in (1, 2, 3):
                found[f"{ours}_{i}_conv"] = f"{theirs}.conv{i}"
                found[f"{ours}_{i}_bn"] = f"{theirs}.bn{i}"
            if block == 1:
                found[f"{ours}_0_conv"] = f"{theirs}.downsample.0"
                found[f"{ours}_0_bn"] = f"{theirs}.downsample.1"
    return fam.TorchLayout(found)


def torchvision_weights(key, enum, sets):
    """`{weights name: PretrainedConfig}` of a torchvision bottleneck ResNet from `sets`:
    `{name: (file, version, acc@1, acc@5, num_params, file size MB, resize size)}`."""
    return {name: fam.torchvision_weights(
        filename, f"{enum}.IMAGENET1K_{version}", name=name, top1=top1, top5=top5,
        num_params=params, file_size_mb=size, resize_size=resize)
        for name, (filename, version, top1, top5, params, size, resize) in sets[key].items()}


def _build(key, **kwargs):
    stages, cardinality, base_width = RESNEXT_SPECS[key]
    return common.build(FAMILY.model(key),
                        torchvision_trunk(stages, cardinality=cardinality,
                                          base_width=base_width),
                        min_size=32, **kwargs)


def ResNeXt50_32x4d(include_top=True, weights=None, input_tensor=None, input_shape=None,
                    pooling=None, classes=1000, classifier_activation="softmax",
                    name="resnext50_32x4d", *, variant="torchvision"):
    """ResNeXt-50 (32x4d): ResNet-50's layout with grouped bottlenecks, Table 1 of the paper.

    Xie et al., "Aggregated Residual Transformations for Deep Neural Networks", CVPR 2017,
    https://arxiv.org/abs/1611.05431, Table 1 (right column); structure and counts of
    torchvision's `resnext50_32x4d`.

    Stem: `conv1_pad` (zero padding 3), `conv1_conv` 7x7/2 with 64 filters (no bias) +
    `conv1_bn` + `conv1_relu`, `pool1_pad` (zero padding 1), `pool1_pool` 3x3/2 max pool.
    Then stages `conv2_x` ... `conv5_x` of 3, 4, 6, 3 `grouped_bottleneck_module`s:
    1x1 (2f) - 3x3 (2f, 32 groups of 4, 8, 16, 32 channels) - 1x1 (4f) for f = 64, 128, 256,
    512, the first module of stages 3-5 with stride 2 on its 3x3. Head: `avg_pool`,
    `predictions`.

    Args:
        include_top: bool, add the global average pooling and the classifier. Default True.
        weights: None (random initialization), `"torchvision"` or `"torchvision_v2"`
            (torchvision's IMAGENET1K_V1 / V2 weights: from the Keras cache, checked against
            the hash in their URL, downloaded when missing, converted on load) or the path of a
            weight file (Keras, or a PyTorch `.pth`/`.safetensors` state dict). No ImageNet file
            in keras.applications' format exists, so `"imagenet"` is refused.
        input_tensor: optional Keras tensor to build the model on.
        input_shape: optional (H, W, 3); at least 32x32; must be static with a top.
            Default (224, 224, 3) with a top, (None, None, 3) without.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False`.
        classes: int, number of classes, at most 1,000,000. Default 1000.
        classifier_activation: activation of `predictions`. Default `"softmax"`.
        name: model name. Default `"resnext50_32x4d"` (torchvision's).
        variant: `"torchvision"`, the only structure (torchvision's `resnext50_32x4d`, which its
            weights fit).

    Returns:
        A `keras.Model` with 25,097,128 parameters, 25,028,904 of them trainable (=
        torchvision's `resnext50_32x4d` count; Keras adds BN's moving mean and variance),
        2048 feature channels at 1/32 of the input size without a top.

    Note:
        torchvision's conventions, not keras.applications' ResNet's: no convolution bias
        before BN, BN epsilon 1e-5, the stride on the 3x3 convolution (as the paper), and
        explicit symmetric padding wherever PyTorch pads (`conv1_pad`, `pool1_pad`,
        `conv3_block1_2_pad`, ...), so torchvision's weights convert exactly (transpose the
        kernels OIHW -> HWIO; BN running mean/var -> moving mean/variance; `fc` -> `predictions`:
        `FAMILY` records the module map as a `TorchLayout`). Inputs are expected in torch style
        (`preprocess_input`).

    Example:
        >>> from cnnblocks import ResNeXt50_32x4d
        >>> model = ResNeXt50_32x4d(include_top=False, input_shape=(64, 64, 3))
        >>> tuple(model.output.shape)
        (None, 2, 2, 2048)
    """
    return _build("resnext50_32x4d", include_top=include_top, weights=weights,
                  input_tensor=input_tensor, input_shape=input_shape, pooling=pooling,
                  classes=classes, classifier_activation=classifier_activation, name=name,
                  variant=variant)


def ResNeXt101_32x8d(include_top=True, weights=None, input_tensor=None, input_shape=None,
                     pooling=None, classes=1000, classifier_activation="softmax",
                     name="resnext101_32x8d", *, variant="torchvision"):
    """ResNeXt-101 (32x8d): ResNet-101's layout with grouped bottlenecks of 32 groups x 8.

    Xie et al., "Aggregated Residual Transformations for Deep Neural Networks", CVPR 2017,
    https://arxiv.org/abs/1611.05431 (the 32x8d width is torchvision's model; the paper's
    tables list ResNeXt-101 32x4d and 64x4d); structure and counts of torchvision's
    `resnext101_32x8d`.

    Stem: `conv1_pad` (zero padding 3), `conv1_conv` 7x7/2 with 64 filters (no bias) +
    `conv1_bn` + `conv1_relu`, `pool1_pad` (zero padding 1), `pool1_pool` 3x3/2 max pool.
    Then stages `conv2_x` ... `conv5_x` of 3, 4, 23, 3 `grouped_bottleneck_module`s:
    1x1 (4f) - 3x3 (4f, 32 groups of 8, 16, 32, 64 channels) - 1x1 (4f) for f = 64, 128, 256,
    512, the first module of stages 3-5 with stride 2 on its 3x3. Head: `avg_pool`,
    `predictions`.

    Args:
        include_top: bool, add the global average pooling and the classifier. Default True.
        weights: None (random initialization), `"torchvision"` or `"torchvision_v2"`
            (torchvision's IMAGENET1K_V1 / V2 weights: from the Keras cache, checked against
            the hash in their URL, downloaded when missing, converted on load) or the path of a
            weight file (Keras, or a PyTorch `.pth`/`.safetensors` state dict). No ImageNet file
            in keras.applications' format exists, so `"imagenet"` is refused.
        input_tensor: optional Keras tensor to build the model on.
        input_shape: optional (H, W, 3); at least 32x32; must be static with a top.
            Default (224, 224, 3) with a top, (None, None, 3) without.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False`.
        classes: int, number of classes, at most 1,000,000. Default 1000.
        classifier_activation: activation of `predictions`. Default `"softmax"`.
        name: model name. Default `"resnext101_32x8d"` (torchvision's).
        variant: `"torchvision"`, the only structure (torchvision's `resnext101_32x8d`, which its
            weights fit).

    Returns:
        A `keras.Model` with 88,994,216 parameters, 88,791,336 of them trainable (=
        torchvision's `resnext101_32x8d` count), 2048 feature channels at 1/32 of the input
        size without a top.

    Note:
        torchvision's conventions, not keras.applications' ResNet's: no convolution bias
        before BN, BN epsilon 1e-5, the stride on the 3x3 convolution (as the paper), and
        explicit symmetric padding wherever PyTorch pads (`conv1_pad`, `pool1_pad`,
        `conv3_block1_2_pad`, ...), so torchvision's weights convert exactly (transpose the
        kernels OIHW -> HWIO; BN running mean/var -> moving mean/variance; `fc` -> `predictions`:
        `FAMILY` records the module map as a `TorchLayout`). Inputs are expected in torch style
        (`preprocess_input`).

    Example:
        >>> from cnnblocks import ResNeXt101_32x8d
        >>> model = ResNeXt101_32x8d(include_top=False, input_shape=(64, 64, 3))
        >>> tuple(model.output.shape)
        (None, 2, 2, 2048)
    """
    return _build("resnext101_32x8d", include_top=include_top, weights=weights,
                  input_tensor=input_tensor, input_shape=input_shape, pooling=pooling,
                  classes=classes, classifier_activation=classifier_activation, name=name,
                  variant=variant)


def ResNeXt101_64x4d(include_top=True, weights=None, input_tensor=None, input_shape=None,
                     pooling=None, classes=1000, classifier_activation="softmax",
                     name="resnext101_64x4d", *, variant="torchvision"):
    """ResNeXt-101 (64x4d): ResNet-101's layout with grouped bottlenecks of 64 groups x 4.

    Xie et al., "Aggregated Residual Transformations for Deep Neural Networks", CVPR 2017,
    https://arxiv.org/abs/1611.05431 (ResNeXt-101 64x4d of Tables 4 and 5); structure and
    counts of torchvision's `resnext101_64x4d`.

    Stem: `conv1_pad` (zero padding 3), `conv1_conv` 7x7/2 with 64 filters (no bias) +
    `conv1_bn` + `conv1_relu`, `pool1_pad` (zero padding 1), `pool1_pool` 3x3/2 max pool.
    Then stages `conv2_x` ... `conv5_x` of 3, 4, 23, 3 `grouped_bottleneck_module`s:
    1x1 (4f) - 3x3 (4f, 64 groups of 4, 8, 16, 32 channels) - 1x1 (4f) for f = 64, 128, 256,
    512, the first module of stages 3-5 with stride 2 on its 3x3. Head: `avg_pool`,
    `predictions`.

    Args:
        include_top: bool, add the global average pooling and the classifier. Default True.
        weights: None (random initialization), `"torchvision"` (torchvision's IMAGENET1K_V1
            weights, its only set: from the Keras cache, checked against the hash in their URL,
            downloaded when missing, converted on load) or the path of a weight file (Keras, or
            a PyTorch `.pth`/`.safetensors` state dict). No ImageNet file in keras.applications'
            format exists, so `"imagenet"` is refused.
        input_tensor: optional Keras tensor to build the model on.
        input_shape: optional (H, W, 3); at least 32x32; must be static with a top.
            Default (224, 224, 3) with a top, (None, None, 3) without.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False`.
        classes: int, number of classes, at most 1,000,000. Default 1000.
        classifier_activation: activation of `predictions`. Default `"softmax"`.
        name: model name. Default `"resnext101_64x4d"` (torchvision's).
        variant: `"torchvision"`, the only structure (torchvision's `resnext101_64x4d`, which its
            weights fit).

    Returns:
        A `keras.Model` with 83,658,152 parameters, 83,455,272 of them trainable (=
        torchvision's `resnext101_64x4d` count), 2048 feature channels at 1/32 of the input
        size without a top.

    Note:
        torchvision's conventions, not keras.applications' ResNet's: no convolution bias
        before BN, BN epsilon 1e-5, the stride on the 3x3 convolution (as the paper), and
        explicit symmetric padding wherever PyTorch pads (`conv1_pad`, `pool1_pad`,
        `conv3_block1_2_pad`, ...), so torchvision's weights convert exactly (transpose the
        kernels OIHW -> HWIO; BN running mean/var -> moving mean/variance; `fc` -> `predictions`:
        `FAMILY` records the module map as a `TorchLayout`). Inputs are expected in torch style
        (`preprocess_input`).

    Example:
        >>> from cnnblocks import ResNeXt101_64x4d
        >>> model = ResNeXt101_64x4d(include_top=False, input_shape=(64, 64, 3))
        >>> tuple(model.output.shape)
        (None, 2, 2, 2048)
    """
    return _build("resnext101_64x4d", include_top=include_top, weights=weights,
                  input_tensor=input_tensor, input_shape=input_shape, pooling=pooling,
                  classes=classes, classifier_activation=classifier_activation, name=name,
                  variant=variant)


preprocess_input, decode_predictions = preprocessing.family_utils(
    "torch", "scaled to [0, 1], then ImageNet mean (0.485, 0.456, 0.406) subtracted and "
    "divided by std (0.229, 0.224, 0.225) per RGB channel (torchvision's weights)")


# --- Published numbers ----------------------------------------------------------------------
# Trainable parameters = torchvision's `num_params` (weight metadata; checked in the tests by
# building torchvision's models): no conv bias, BN gamma/beta. Keras' count_params() adds BN's
# moving mean and variance: 2 per BN channel. BN channels B (every convolution has one BN):
#   ResNeXt-50 32x4d, inner widths 128/256/512/1024, outputs 256/512/1024/2048:
#     B = 64 + (3 x 512 + 256) + (4 x 1024 + 512) + (6 x 2048 + 1024) + (3 x 4096 + 2048)
#       = 34,112 -> 25,028,904 + 68,224 = 25,097,128.
#   ResNeXt-101 32x8d, inner widths 256/512/1024/2048:
#     B = 64 + (3 x 768 + 256) + (4 x 1536 + 512) + (23 x 3072 + 1024) + (3 x 6144 + 2048)
#       = 101,440 -> 88,791,336 + 202,880 = 88,994,216.
#   ResNeXt-101 64x4d: the same inner widths (64 x 4 = 32 x 8 = 256 at conv2), so the same
#     B = 101,440 -> 83,455,272 + 202,880 = 83,658,152.
# Multiply-adds: the paper's Table 1 for ResNeXt-50 (4.2 x 10^9, printed with one decimal);
# torchvision's metadata ("GFLOPS", which are multiply-adds) for all: 4.23, 16.414 and 15.46.
# Depth: 2 + 3 x modules (50 = 2 + 3 x 16, 101 = 2 + 3 x 33).
XIE_TABLE_1 = "Xie et al. 2017, Table 1"
_PAPER = "Xie et al., Aggregated Residual Transformations for Deep Neural Networks, CVPR 2017"

_RESNEXT50_ROWS = (
    # (stage, our blocks, output, ResNet-50 column, ResNeXt-50 (32x4d) column)
    ("conv1", "conv1", "112x112", "7x7, 64, stride 2", "7x7, 64, stride 2"),
    ("conv2", r"pool1|conv2_block\d+", "56x56",
     "3x3 max pool, stride 2; [1x1, 64; 3x3, 64; 1x1, 256] x 3",
     "3x3 max pool, stride 2; [1x1, 128; 3x3, 128, C=32; 1x1, 256] x 3"),
    ("conv3", r"conv3_block\d+", "28x28", "[1x1, 128; 3x3, 128; 1x1, 512] x 4",
     "[1x1, 256; 3x3, 256, C=32; 1x1, 512] x 4"),
    ("conv4", r"conv4_block\d+", "14x14", "[1x1, 256; 3x3, 256; 1x1, 1024] x 6",
     "[1x1, 512; 3x3, 512, C=32; 1x1, 1024] x 6"),
    ("conv5", r"conv5_block\d+", "7x7", "[1x1, 512; 3x3, 512; 1x1, 2048] x 3",
     "[1x1, 1024; 3x3, 1024, C=32; 1x1, 2048] x 3"),
    ("global average pool, 1000-d fc, softmax", "head", "1x1", "", ""),
)


def _resnext50_table():
    rows = [fam.PaperRow(label, blocks, output,
                         columns={"ResNet-50": resnet, "ResNeXt-50 (32x4d)": resnext})
            for label, blocks, output, resnet, resnext in _RESNEXT50_ROWS]
    rows.append(fam.PaperRow("# params.", None, columns={
        "ResNet-50": "25.5 x 10^6",
        "ResNeXt-50 (32x4d)": "25.0 x 10^6 (trainable: 25,028,904; BN statistics not counted)"}))
    rows.append(fam.PaperRow("FLOPs", None,
                             macs=fam.rounded(4.2e9, 0.05e9, XIE_TABLE_1,
                                              "multiply-adds, printed 4.2 x 10^9"),
                             columns={"ResNet-50": "4.1 x 10^9",
                                      "ResNeXt-50 (32x4d)": "4.2 x 10^9"}))
    return tuple(rows)


def _reference(key, *, total, trainable, depth, macs, table=(), table_source="", others=()):
    tv = fam.TORCHVISION.format(key)
    return fam.Reference(
        paper=_PAPER,
        input_shape=(224, 224, 3),
        params=fam.exact(total, "derived: torchvision's count + 2 per BN channel (comment)",
                         fam.KERAS_PARAMS + "; no conv bias"),
        trainable_params=fam.exact(trainable, tv, fam.TRAINABLE + " = torchvision parameters()"),
        depth=fam.exact(depth, "the name; 2 + 3 per module", fam.DEPTH),
        macs=macs, table=table, table_source=table_source, others=others)


#: torchvision's ImageNet weights (torchvision/models/resnet.py, `ResNeXt50_32X4D_Weights`,
#: `ResNeXt101_32X8D_Weights`, `ResNeXt101_64X4D_Weights`, torchvision 0.28): file (its name carries the SHA-256 prefix
#: torch hub checks), version, acc@1, acc@5, num_params, _file_size (MB), the resize size of
#: its transform (crop 224, bilinear). IMAGENET1K_V2 is torchvision's DEFAULT where there is
#: one; ResNeXt-101 64x4d has only IMAGENET1K_V1 (trained with the new recipe, resize 232).
_TORCHVISION = {
    "resnext50_32x4d": {
        "torchvision": ("resnext50_32x4d-7cdf4587.pth", "V1", 77.618, 93.698, 25_028_904,
                        95.789, 256),
        "torchvision_v2": ("resnext50_32x4d-1a0047aa.pth", "V2", 81.198, 95.340, 25_028_904,
                           95.833, 232)},
    "resnext101_32x8d": {
        "torchvision": ("resnext101_32x8d-8ba56ff5.pth", "V1", 79.312, 94.526, 88_791_336,
                        339.586, 256),
        "torchvision_v2": ("resnext101_32x8d-110c445d.pth", "V2", 82.834, 96.228, 88_791_336,
                           339.673, 232)},
    "resnext101_64x4d": {
        "torchvision": ("resnext101_64x4d-173b62eb.pth", "V1", 83.246, 96.454, 83_455_272,
                        319.318, 232)},
}


FAMILY = fam.Family(
    name="resnext",
    title="ResNeXt",
    paper=_PAPER,
    url="https://arxiv.org/abs/1611.05431",
    models=(
        fam.ModelEntry(
            name="resnext50_32x4d", title="ResNeXt-50 (32x4d)", builder=ResNeXt50_32x4d,
            default_size=224, variants=(fam.TORCHVISION_VARIANT,),
            pretrained=torchvision_weights("resnext50_32x4d", "ResNeXt50_32X4D_Weights",
                                           _TORCHVISION),
            torch_layout=torch_layout(RESNEXT_SPECS["resnext50_32x4d"][0]),
            reference=_reference(
                "resnext50_32x4d", total=25_097_128, trainable=25_028_904, depth=50,
                macs=fam.rounded(4.2e9, 0.05e9, XIE_TABLE_1, fam.MACS),
                table=_resnext50_table(),
                table_source=XIE_TABLE_1 + " (ResNet-50 and ResNeXt-50 (32x4d) columns)",
                others=(("torchvision MACs",
                         fam.measured_macs(4_230_000_000, fam.TORCHVISION.format(
                             "resnext50_32x4d: 4.23 GFLOPS"))),
                        ("paper # params (trainable, printed 25.0 x 10^6)",
                         fam.rounded(25.0e6, 0.05e6, XIE_TABLE_1))))),
        fam.ModelEntry(
            name="resnext101_32x8d", title="ResNeXt-101 (32x8d)", builder=ResNeXt101_32x8d,
            default_size=224, variants=(fam.TORCHVISION_VARIANT,),
            pretrained=torchvision_weights("resnext101_32x8d", "ResNeXt101_32X8D_Weights",
                                           _TORCHVISION),
            torch_layout=torch_layout(RESNEXT_SPECS["resnext101_32x8d"][0]),
            reference=_reference(
                "resnext101_32x8d", total=88_994_216, trainable=88_791_336, depth=101,
                macs=fam.measured_macs(16_414_000_000, fam.TORCHVISION.format(
                    "resnext101_32x8d: 16.414 GFLOPS")))),
        fam.ModelEntry(
            name="resnext101_64x4d", title="ResNeXt-101 (64x4d)", builder=ResNeXt101_64x4d,
            default_size=224, variants=(fam.TORCHVISION_VARIANT,),
            pretrained=torchvision_weights("resnext101_64x4d", "ResNeXt101_64X4D_Weights",
                                           _TORCHVISION),
            torch_layout=torch_layout(RESNEXT_SPECS["resnext101_64x4d"][0]),
            reference=_reference(
                "resnext101_64x4d", total=83_658_152, trainable=83_455_272, depth=101,
                macs=fam.measured_macs(15_460_000_000, fam.TORCHVISION.format(
                    "resnext101_64x4d: 15.46 GFLOPS")))),
    ),
    preprocess_input=preprocess_input,
    decode_predictions=decode_predictions,
    preprocessing="torch: scaled to [0, 1], ImageNet mean and std per RGB channel",
    blocks=("conv_bn_act", "grouped_bottleneck_module"),
    estimate=estimate,
)
