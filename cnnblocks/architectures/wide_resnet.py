"""Wide ResNet (Zagoruyko & Komodakis, "Wide Residual Networks", BMVC 2016,
https://arxiv.org/abs/1605.07146): WRN-50-2 and WRN-101-2, the ImageNet "wide bottleneck"
ResNet-50 and ResNet-101, as torchvision builds them (`wide_resnet50_2`, `wide_resnet101_2`).

ResNet-50 / ResNet-101 with the inner (1x1 and 3x3) width of every bottleneck doubled (width
factor k = 2): the last module has 2048-1024-2048 channels where ResNet-50 has 2048-512-2048. The trunk is
ResNeXt's torchvision trunk (`cnnblocks.architectures.resnext.torchvision_trunk`) with
`grouped_bottleneck_module(width_factor=2)`, in torchvision's conventions (no conv bias, BN
epsilon 1e-5, stride on the 3x3, explicit symmetric padding where PyTorch pads), so that its
weights can be converted. Everything else about the family is in this module.
"""

from cnnblocks import family as fam
from cnnblocks import preprocessing
from cnnblocks.architectures import common
from cnnblocks.architectures.resnext import (torch_layout, torchvision_estimate,
                                             torchvision_trunk, torchvision_weights)

__all__ = ["WideResNet50_2", "WideResNet101_2"]

#: (modules per stage, width factor k): ResNet-50's and ResNet-101's layouts (He et al. 2015,
#: Table 1) with the bottlenecks' inner width multiplied by k (inner widths 128, 256, 512, 1024).
WIDE_RESNET_SPECS = {
    "wide_resnet50_2": ((3, 4, 6, 3), 2),
    "wide_resnet101_2": ((3, 4, 23, 3), 2),
}


def _build(key, **kwargs):
    stages, width_factor = WIDE_RESNET_SPECS[key]
    return common.build(FAMILY.model(key), torchvision_trunk(stages, width_factor=width_factor),
                        min_size=32, **kwargs)


def estimate(point, *, input_shape, include_top=True, pooling=None, classes=1000,
             variant=None):
    """The family's estimator (`FAMILY.estimate`): the costs of a registered Wide ResNet
    (`point`, its `ModelEntry`; `cnnblocks.cost.Estimate`) at `input_shape` `(h, w, 3)` (one
    structure, "torchvision"), walked layer by layer as `torchvision_trunk` and the head build
    them, without building anything."""
    stages, width_factor = WIDE_RESNET_SPECS[point.name]
    return torchvision_estimate(point, stages, input_shape=input_shape,
                                include_top=include_top, pooling=pooling, classes=classes,
                                variant=variant, width_factor=width_factor)


def WideResNet50_2(include_top=True, weights=None, input_tensor=None, input_shape=None,
                   pooling=None, classes=1000, classifier_activation="softmax",
                   name="wide_resnet50_2", *, variant="torchvision"):
    """Wide ResNet-50-2: ResNet-50 with bottlenecks twice as wide inside.

    Zagoruyko & Komodakis, "Wide Residual Networks", BMVC 2016,
    https://arxiv.org/abs/1605.07146 (WRN-50-2-bottleneck of the ImageNet experiments);
    structure and counts of torchvision's `wide_resnet50_2`.

    Stem: `conv1_pad` (zero padding 3), `conv1_conv` 7x7/2 with 64 filters (no bias) +
    `conv1_bn` + `conv1_relu`, `pool1_pad` (zero padding 1), `pool1_pool` 3x3/2 max pool.
    Then stages `conv2_x` ... `conv5_x` of 3, 4, 6, 3 `grouped_bottleneck_module`s with
    `width_factor=2`: 1x1 (2f) - 3x3 (2f) - 1x1 (4f) for f = 64, 128, 256, 512, the first
    module of stages 3-5 with stride 2 on its 3x3. Head: `avg_pool`, `predictions`.

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
        name: model name. Default `"wide_resnet50_2"` (torchvision's).
        variant: `"torchvision"`, the only structure (torchvision's `wide_resnet50_2`, which
            its weights fit).

    Returns:
        A `keras.Model` with 68,951,464 parameters, 68,883,240 of them trainable (=
        torchvision's `wide_resnet50_2` count; Keras adds BN's moving mean and variance),
        2048 feature channels at 1/32 of the input size without a top.

    Note:
        torchvision's model (and its weights) put the stride on the 3x3 convolution ("v1.5"),
        have no convolution bias and BN epsilon 1e-5; the zero paddings before the 7x7/2
        convolution, the 3x3/2 max pool and the strided 3x3 convolutions are explicit and
        symmetric, as PyTorch pads, so torchvision's weights convert exactly. The paper's own
        ImageNet models (Torch) share the layout. Inputs are expected in torch style
        (`preprocess_input`).

    Example:
        >>> from cnnblocks import WideResNet50_2
        >>> model = WideResNet50_2(include_top=False, input_shape=(64, 64, 3))
        >>> tuple(model.output.shape)
        (None, 2, 2, 2048)
    """
    return _build("wide_resnet50_2", include_top=include_top, weights=weights,
                  input_tensor=input_tensor, input_shape=input_shape, pooling=pooling,
                  classes=classes, classifier_activation=classifier_activation, name=name,
                  variant=variant)


def WideResNet101_2(include_top=True, weights=None, input_tensor=None, input_shape=None,
                    pooling=None, classes=1000, classifier_activation="softmax",
                    name="wide_resnet101_2", *, variant="torchvision"):
    """Wide ResNet-101-2: ResNet-101 with bottlenecks twice as wide inside.

    Zagoruyko & Komodakis, "Wide Residual Networks", BMVC 2016,
    https://arxiv.org/abs/1605.07146 (the wide bottleneck of the ImageNet experiments on
    ResNet-101's layout); structure and counts of torchvision's `wide_resnet101_2`.

    Stem: `conv1_pad` (zero padding 3), `conv1_conv` 7x7/2 with 64 filters (no bias) +
    `conv1_bn` + `conv1_relu`, `pool1_pad` (zero padding 1), `pool1_pool` 3x3/2 max pool.
    Then stages `conv2_x` ... `conv5_x` of 3, 4, 23, 3 `grouped_bottleneck_module`s with
    `width_factor=2`: 1x1 (2f) - 3x3 (2f) - 1x1 (4f) for f = 64, 128, 256, 512, the first
    module of stages 3-5 with stride 2 on its 3x3. Head: `avg_pool`, `predictions`.

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
        name: model name. Default `"wide_resnet101_2"` (torchvision's).
        variant: `"torchvision"`, the only structure (torchvision's `wide_resnet101_2`, which
            its weights fit).

    Returns:
        A `keras.Model` with 127,024,552 parameters, 126,886,696 of them trainable (=
        torchvision's `wide_resnet101_2` count; Keras adds BN's moving mean and variance),
        2048 feature channels at 1/32 of the input size without a top.

    Note:
        torchvision's model (and its weights) put the stride on the 3x3 convolution ("v1.5"),
        have no convolution bias and BN epsilon 1e-5; the zero paddings before the 7x7/2
        convolution, the 3x3/2 max pool and the strided 3x3 convolutions are explicit and
        symmetric, as PyTorch pads, so torchvision's weights convert exactly. Inputs are
        expected in torch style (`preprocess_input`).

    Example:
        >>> from cnnblocks import WideResNet101_2
        >>> model = WideResNet101_2(include_top=False, input_shape=(64, 64, 3))
        >>> tuple(model.output.shape)
        (None, 2, 2, 2048)
    """
    return _build("wide_resnet101_2", include_top=include_top, weights=weights,
                  input_tensor=input_tensor, input_shape=input_shape, pooling=pooling,
                  classes=classes, classifier_activation=classifier_activation, name=name,
                  variant=variant)


preprocess_input, decode_predictions = preprocessing.family_utils(
    "torch", "scaled to [0, 1], then ImageNet mean (0.485, 0.456, 0.406) subtracted and "
    "divided by std (0.229, 0.224, 0.225) per RGB channel (torchvision's weights)")

_PAPER = "Zagoruyko & Komodakis, Wide Residual Networks, BMVC 2016"

# --- Published numbers ----------------------------------------------------------------------
# Trainable = torchvision's num_params 68,883,240 (weight metadata; the tests build
# torchvision's model). BN channels equal ResNeXt-50 32x4d's (same inner widths 128 ... 1024):
# B = 34,112, so count_params() = 68,883,240 + 2 x 34,112 = 68,951,464.
# Wide ResNet-101-2: trainable = torchvision's num_params 126,886,696; inner widths 128 ... 1024
# as WRN-50-2, outputs 256/512/1024/2048, 3, 4, 23, 3 modules:
#   B = 64 + (3 x 512 + 256) + (4 x 1024 + 512) + (23 x 2048 + 1024) + (3 x 4096 + 2048)
#     = 68,928 -> 126,886,696 + 2 x 68,928 = 127,024,552.
# Multiply-adds: torchvision's metadata, 11.398 and 22.753 GFLOPS (= multiply-adds; the paper
# gives none). Depth: 50 = 2 + 3 x 16, 101 = 2 + 3 x 33.
#: torchvision's ImageNet weights (torchvision/models/resnet.py, `Wide_ResNet50_2_Weights`,
#: `Wide_ResNet101_2_Weights`, torchvision 0.28): file (its name carries the SHA-256 prefix torch hub checks), version,
#: acc@1, acc@5, num_params, _file_size (MB), the resize size of its transform (crop 224,
#: bilinear). IMAGENET1K_V2 is torchvision's DEFAULT.
_TORCHVISION = {"wide_resnet50_2": {
    "torchvision": ("wide_resnet50_2-95faca4d.pth", "V1", 78.468, 94.086, 68_883_240, 131.82,
                    256),
    "torchvision_v2": ("wide_resnet50_2-9ba9bcbe.pth", "V2", 81.602, 95.758, 68_883_240,
                       263.124, 232)},
    "wide_resnet101_2": {
        "torchvision": ("wide_resnet101_2-32ee1156.pth", "V1", 78.848, 94.284, 126_886_696,
                        242.896, 256),
        "torchvision_v2": ("wide_resnet101_2-d733dc28.pth", "V2", 82.510, 96.020, 126_886_696,
                           484.747, 232)}}


def _entry(key, title, builder, *, total, trainable, depth, macs, gflops, enum):
    return fam.ModelEntry(
        name=key, title=title, builder=builder,
        default_size=224, variants=(fam.TORCHVISION_VARIANT,),
        pretrained=torchvision_weights(key, enum, _TORCHVISION),
        torch_layout=torch_layout(WIDE_RESNET_SPECS[key][0]),
        reference=fam.Reference(
            paper=_PAPER,
            input_shape=(224, 224, 3),
            params=fam.exact(total,
                             "derived: torchvision's count + 2 per BN channel (comment)",
                             fam.KERAS_PARAMS + "; no conv bias"),
            trainable_params=fam.exact(trainable, fam.TORCHVISION.format(key),
                                       fam.TRAINABLE + " = torchvision parameters()"),
            depth=fam.exact(depth, "the name; 2 + 3 per module", fam.DEPTH),
            macs=fam.measured_macs(macs, fam.TORCHVISION.format(f"{key}: {gflops} GFLOPS"))))


FAMILY = fam.Family(
    name="wide_resnet",
    title="Wide ResNet",
    paper=_PAPER,
    url="https://arxiv.org/abs/1605.07146",
    models=(
        _entry("wide_resnet50_2", "Wide ResNet-50-2", WideResNet50_2, total=68_951_464,
               trainable=68_883_240, depth=50, macs=11_398_000_000, gflops="11.398",
               enum="Wide_ResNet50_2_Weights"),
        _entry("wide_resnet101_2", "Wide ResNet-101-2", WideResNet101_2, total=127_024_552,
               trainable=126_886_696, depth=101, macs=22_753_000_000, gflops="22.753",
               enum="Wide_ResNet101_2_Weights"),
    ),
    preprocess_input=preprocess_input,
    decode_predictions=decode_predictions,
    preprocessing="torch: scaled to [0, 1], ImageNet mean and std per RGB channel",
    blocks=("conv_bn_act", "grouped_bottleneck_module"),
    estimate=estimate,
)
