"""MobileNetV2 (Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks",
CVPR 2018, https://arxiv.org/abs/1801.04381).

The network is a 3x3/2 convolution, seventeen `inverted_residual_block`s (the paper's Table 2),
a 1x1 convolution to 1280 channels, global average pooling and the classifier. Layer names,
parameter counts and weight order equal keras.applications' MobileNetV2 (`Conv1`, `bn_Conv1`,
`Conv1_relu`, `expanded_conv_depthwise`, ..., `block_16_project_BN`, `Conv_1`, `Conv_1_bn`,
`out_relu`, `predictions`), so its ImageNet files load here for every width multiplier and input
size it publishes. Everything about the family is in this module.
"""

import dataclasses
import numbers
import warnings

from cnnblocks import _validation as check
from cnnblocks import cost
from cnnblocks import family as fam
from cnnblocks import identity, preprocessing
from cnnblocks.architectures import common
from cnnblocks.architectures.mobilenet import check_alpha, model_rows, square_size
from cnnblocks.blocks import conv_bn_act, inverted_residual_block
from cnnblocks.blocks.common import conv_bn_act_cost, make_divisible
from cnnblocks.blocks.mobilenet import MOBILENET_V2_BN_MOMENTUM, inverted_residual_block_cost

__all__ = ["MobileNetV2"]

#: The bottleneck rows of Table 2: (t expansion, c output channels, n repeats, s stride of the
#: first). The stem is a 3x3/2 convolution with 32 filters; the last convolution 1x1 with 1280.
#: Output sizes at 224x224 in the comments.
MOBILENET_V2_SPEC = (
    (1, 16, 1, 1),  # expanded_conv: 112x112x16
    (6, 24, 2, 2),  # block_1-2: 56x56x24
    (6, 32, 3, 2),  # block_3-5: 28x28x32
    (6, 64, 4, 2),  # block_6-9: 14x14x64
    (6, 96, 3, 1),  # block_10-12: 14x14x96
    (6, 160, 3, 2),  # block_13-15: 7x7x160
    (6, 320, 1, 1),  # block_16: 7x7x320
)
MOBILENET_V2_STEM = 32
MOBILENET_V2_LAST = 1280

#: The two structures, as options of the convolutions, BN and head:
#: - "keras": keras.applications' MobileNetV2 (BN epsilon 1e-3, momentum 0.999; stride-2
#:   convolutions pad as Keras' "same": (0, 1) on an even size; no dropout);
#: - "torchvision": torchvision's `mobilenet_v2` (BN epsilon 1e-5 and momentum 0.9, PyTorch's
#:   defaults; zero padding 1 on every side of the stride-2 stem and depthwise convolutions:
#:   `Conv1_pad`, `block_1_pad`, ...; 20% dropout before `predictions`).
#: The layers with weights, their names and their trainable parameters are the same.
MOBILENET_V2_VARIANTS = {
    fam.KERAS_VARIANT: dict(bn_epsilon=1e-3, bn_momentum=MOBILENET_V2_BN_MOMENTUM,
                            padding="same", dropout=None),
    fam.TORCHVISION_VARIANT: dict(bn_epsilon=1e-5, bn_momentum=0.9, padding="symmetric",
                                  dropout=0.2),
}

#: Feature taps: the last block at strides 4, 8 and 16 (C5 is `out_relu`).
_TAPS = {2: "C2", 5: "C3", 12: "C4"}

#: keras.applications' ImageNet weights: width multipliers and input sizes.
IMAGENET_ALPHAS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)
IMAGENET_SIZES = (96, 128, 160, 192, 224)
_BASE = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/"


def imagenet_files(alpha, size):
    """keras.applications' ImageNet files `(with top, without top)` of MobileNetV2 at width
    multiplier `alpha` and input size `size` (mobilenet_v2.py, Keras 3.15); keras.applications
    publishes no hashes for them."""
    stem = f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{size}"
    return (fam.WeightFile(_BASE + stem + ".h5", None),
            fam.WeightFile(_BASE + stem + "_no_top.h5", None))


def _trunk(x, ctx):
    """Stem (region `Conv1`), the 17 bottlenecks (`expanded_conv`, `block_1` ... `block_16`),
    the last 1x1 convolution (region `Conv_1`)."""
    alpha = ctx.options["alpha"]
    variant = MOBILENET_V2_VARIANTS[ctx.variant]
    norm = dict(bn_epsilon=variant["bn_epsilon"], bn_momentum=variant["bn_momentum"])
    # keras.applications' names here do not share a prefix (`Conv1`, `bn_Conv1`, `Conv1_relu`;
    # `Conv_1`, `Conv_1_bn`, `out_relu`): the prefix is empty and the suffixes are the names.
    unit = dict(use_bias=False, activation="relu6", relu_layer=True,
                data_format=ctx.data_format, name="", **norm)
    filters = make_divisible(MOBILENET_V2_STEM * alpha)
    with identity.region(x, "stem", "Conv1", args={"filters": filters, "strides": 2},
                         label=f"3x3 {filters} /2") as stem:
        x = stem.done(conv_bn_act(x, filters, 3, strides=2, padding=variant["padding"],
                                  suffixes=("Conv1", "bn_Conv1", "Conv1_relu"), **unit))
    block = 0
    for t, c, n, s in MOBILENET_V2_SPEC:
        for i in range(n):
            x = inverted_residual_block(
                x, make_divisible(int(c * alpha)), expansion=t, strides=s if i == 0 else 1,
                padding=variant["padding"], data_format=ctx.data_format,
                name=f"block_{block}" if block else "expanded_conv", **norm)
            if block in _TAPS:
                ctx.tap(_TAPS[block], x)
            block += 1
    last = make_divisible(MOBILENET_V2_LAST * alpha) if alpha > 1.0 else MOBILENET_V2_LAST
    with identity.region(x, "conv", "Conv_1", args={"filters": last},
                         label=f"1x1 {last}") as top:
        x = top.done(conv_bn_act(x, last, 1, suffixes=("Conv_1", "Conv_1_bn", "out_relu"),
                                 **unit))
    ctx.tap("C5", x)
    return x


def _head(x, ctx):
    """keras.applications' head (`avg_pool`, `predictions`), with torchvision's `dropout`
    (20%, training only) between them in the torchvision variant."""
    return common.global_pool_head(x, ctx,
                                   dropout=MOBILENET_V2_VARIANTS[ctx.variant]["dropout"])


def estimate(point, *, input_shape, include_top=True, pooling=None, classes=1000,
             variant=None):
    """The family's estimator (`FAMILY.estimate`): the costs of the registered MobileNetV2
    (`point`, its `ModelEntry`: alpha 1) as a `cnnblocks.cost.Estimate` at `input_shape`
    `(h, w, 3)` in `variant`'s structure (None: the builder's default, "keras"), walked layer
    by layer as `_trunk` and `_head` build them, without building anything."""
    variant = point.variants[0] if variant is None else check.choice(
        variant, "variant", point.variants)
    padding = MOBILENET_V2_VARIANTS[variant]["padding"]
    tally = cost.Tally(input_shape)
    conv_bn_act_cost(tally, MOBILENET_V2_STEM, 3, strides=2, padding=padding)  # Conv1, ...
    tally.stage("stem")
    for row, (t, c, n, s) in enumerate(MOBILENET_V2_SPEC, start=1):
        for i in range(n):
            inverted_residual_block_cost(tally, c, expansion=t, strides=s if i == 0 else 1,
                                         padding=padding)
        tally.stage(f"bottleneck{row}")
    conv_bn_act_cost(tally, MOBILENET_V2_LAST, 1)               # Conv_1, Conv_1_bn, out_relu
    tally.stage("Conv_1")
    tally.head(include_top, pooling, classes,
               dropout=MOBILENET_V2_VARIANTS[variant]["dropout"] is not None)
    return tally.result()


def MobileNetV2(input_shape=None, alpha=1.0, include_top=True, weights="imagenet",
                input_tensor=None, pooling=None, classes=1000, classifier_activation="softmax",
                name=None, *, variant="keras"):
    """MobileNetV2: a 3x3/2 convolution, 17 inverted residual blocks, a 1x1 convolution to
    1280 channels.

    Reference: Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks",
    CVPR 2018, https://arxiv.org/abs/1801.04381 (Table 2). The structure is the data in
    `MOBILENET_V2_SPEC`.

    Args:
        input_shape: optional (H, W, 3); at least 32x32; must be static with a top. Default
            (224, 224, 3) with a top, (None, None, 3) without. With ImageNet weights and a
            top it must be square with a size in (96, 128, 160, 192, 224) or None (224).
        alpha: float, the width multiplier: block widths `make_divisible(int(c alpha))`
            (multiples of 8), the stem `make_divisible(32 alpha)`, the last convolution 1280
            (`make_divisible(1280 alpha)` for alpha > 1). ImageNet weights exist for 0.35,
            0.5, 0.75, 1.0, 1.3 and 1.4. At most 10. Default 1.0.
        include_top: bool, add global average pooling (`avg_pool`) and the classifier
            (`predictions`). Default True.
        weights: `"imagenet"` (keras.applications' file for `alpha` and the input size, from
            the Keras cache, downloaded when missing; the default, as in keras.applications),
            None (random initialization), `"torchvision"` or `"torchvision_v2"`
            (torchvision's IMAGENET1K_V1 / V2 weights for alpha 1.0, with
            `variant="torchvision"`: from the Keras cache, checked against the hash in their
            URL, downloaded when missing, converted on load) or the path of a weight file
            (Keras, or a PyTorch `.pth`/`.safetensors` state dict with
            `variant="torchvision"`).
        input_tensor: optional Keras tensor to build the model on.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False`.
        classes: int, number of classes, at most 1,000,000. Default 1000.
        classifier_activation: activation of `predictions`. Default `"softmax"`.
        name: model name; None gives keras.applications' `mobilenetv2_{alpha:.2f}_{rows}`
            (e.g. `mobilenetv2_1.00_224`).
        variant: `"keras"` (keras.applications' structure, the default) or `"torchvision"`
            (torchvision's `mobilenet_v2`, which its weights fit: see the Note).

    Returns:
        A `keras.Model`: 3,538,984 parameters (3,504,872 trainable) at the defaults, 2,257,984
        without the top. The feature map (`out_relu`) has 1280 channels at 1/32 of the input
        size.

    Note:
        - The first bottleneck (t = 1) has no expansion convolution, as in the released
          model and keras.applications (Table 1 of the paper always expands).
        - Stride-2 depthwise convolutions pad explicitly (`block_1_pad`, ...), which equals
          "same" padding wherever the input size is known.
        - BN epsilon 1e-3, momentum 0.999; no convolution has a bias.
        - The ImageNet files have no published hash: they are checked as far as their HDF5
          format allows, not against a digest.
        - Inputs are expected in [-1, 1]: use
          `cnnblocks.architectures.mobilenet_v2.preprocess_input`.

    Note:
        `variant="torchvision"` builds torchvision's structure, so that its weights convert
        exactly: BN epsilon 1e-5 (momentum 0.9, PyTorch's 0.1), zero padding 1 on every side of
        the stride-2 convolutions (`Conv1_pad`, `block_1_pad`, ...; keras.applications pads
        (0, 1) on even sizes) and a 20% `dropout` before `predictions`. Same layer names and
        weights otherwise; trainable parameters equal torchvision's `parameters()`
        (3,504,872). Its weights expect torchvision's preprocessing (RGB, ImageNet mean and
        std, resize 256 (V2: 232), center crop 224), recorded with each weight set in
        `FAMILY.model("mobilenet_v2").pretrained`; torchvision publishes them for alpha 1.0
        only.

    Example:
        >>> from cnnblocks import MobileNetV2
        >>> model = MobileNetV2(weights=None, include_top=False, input_shape=(96, 96, 3))
        >>> tuple(model.output.shape), model.name
        ((None, 3, 3, 1280), 'mobilenetv2_1.00_96')
    """
    def checks():
        check_alpha(alpha)
        if isinstance(weights, str) and weights.startswith("torchvision") and alpha != 1.0:
            raise ValueError(f"With `weights={weights!r}`, `alpha` must be 1.0 (torchvision "
                             f"publishes no other width); received alpha={alpha!r}.")
        if isinstance(weights, str) and weights == "imagenet":
            if alpha not in IMAGENET_ALPHAS:
                raise ValueError("With `weights='imagenet'`, `alpha` must be one of 0.35, "
                                 f"0.5, 0.75, 1.0, 1.3 or 1.4; received alpha={alpha!r}.")
            if square_size(input_shape, IMAGENET_SIZES) is None:
                warnings.warn("`input_shape` is undefined or non-square, or its size is not "
                              "one of 96, 128, 160, 192, 224: the weights for 224x224 are "
                              "loaded.", stacklevel=3)

    size = square_size(input_shape, IMAGENET_SIZES) or 224
    entry = dataclasses.replace(FAMILY.model("mobilenet_v2"), default_size=size)
    if (isinstance(alpha, numbers.Real) and not isinstance(alpha, bool)
            and alpha in IMAGENET_ALPHAS):
        entry = dataclasses.replace(entry, imagenet=imagenet_files(alpha, size))
    if name is None and isinstance(alpha, numbers.Real):
        rows = model_rows(input_shape, include_top, weights, size, IMAGENET_SIZES)
        name = f"mobilenetv2_{alpha:0.2f}_{rows}"
    return common.build(entry, _trunk, head=_head, min_size=32, checks=checks,
                        options={"alpha": alpha}, include_top=include_top, weights=weights,
                        input_tensor=input_tensor, input_shape=input_shape, pooling=pooling,
                        classes=classes, classifier_activation=classifier_activation, name=name,
                        variant=variant)


preprocess_input, decode_predictions = preprocessing.family_utils(
    "tf", "pixels in [0, 255] scaled to [-1, 1]")


# --- Published numbers ----------------------------------------------------------------------
MOBILENET_V2_PAPER = "Sandler et al. 2018"


def _table():
    """Table 2 of the paper: one row per operator line (its `n` bottlenecks together)."""
    rows = [fam.PaperRow("conv2d, c=32, n=1, s=2", "Conv1", "112x112x32",
                         columns={"input": "224x224x3", "t": "-", "c": 32, "n": 1, "s": 2})]
    size, c_in, block = 112, 32, 0
    for t, c, n, s in MOBILENET_V2_SPEC:
        names = ["expanded_conv" if b == 0 else f"block_{b}" for b in range(block, block + n)]
        out = size // s
        rows.append(fam.PaperRow(
            f"bottleneck, t={t}, c={c}, n={n}, s={s}", "|".join(names), f"{out}x{out}x{c}",
            columns={"input": f"{size}x{size}x{c_in}", "t": t, "c": c, "n": n, "s": s}))
        size, c_in, block = out, c, block + n
    rows.append(fam.PaperRow("conv2d 1x1, c=1280", "Conv_1", "7x7x1280",
                             columns={"input": "7x7x320", "c": 1280, "n": 1, "s": 1}))
    rows.append(fam.PaperRow("avgpool 7x7; conv2d 1x1, c=k", "head", "1000",
                             columns={"input": "7x7x1280"}))
    # Table 4 prints 300 (million multiply-adds) for MobileNetV2 (1.0); count_macs gives
    # 300.8 M, printed truncated (as ResNet's FLOPs): tolerance 1 M.
    rows.append(fam.PaperRow("MobileNetV2 (total)", None,
                             macs=fam.rounded(300e6, 1e6, MOBILENET_V2_PAPER + ", Table 4",
                                              "millions of multiply-adds")))
    return tuple(rows)


def _torch_layout():
    """Keras layer -> torchvision module: the stem `features.0.0`/`.0.1`; bottleneck `b`
    (`expanded_conv`, `block_1` ...) is `features.{b + 1}.conv`: `.0.0`/`.0.1` expansion (none
    in the first), then the depthwise `.0.0`/`.0.1` (first) or `.1.0`/`.1.1`, then the
    projection `.1`/`.2` (first) or `.2`/`.3`; the last convolution `features.18.0`/`.18.1`;
    `classifier.1`."""
    found = {"Conv1": "features.0.0", "bn_Conv1": "features.0.1",
             "Conv_1": "features.18.0", "Conv_1_bn": "features.18.1",
             "predictions": "classifier.1"}
    blocks = sum(n for _, _, n, _ in MOBILENET_V2_SPEC)
    for block in range(blocks):
        ours, theirs = (f"block_{block}" if block else "expanded_conv",
                        f"features.{block + 1}.conv")
        parts = ("depthwise", "project") if block == 0 else ("expand", "depthwise", "project")
        for i, part in enumerate(parts):
            if part == "project":
                found[f"{ours}_project"] = f"{theirs}.{i}"
                found[f"{ours}_project_BN"] = f"{theirs}.{i + 1}"
            else:
                found[f"{ours}_{part}"] = f"{theirs}.{i}.0"
                found[f"{ours}_{part}_BN"] = f"{theirs}.{i}.1"
    return fam.TorchLayout(found)


#: torchvision's ImageNet weights (torchvision/models/mobilenetv2.py, `MobileNet_V2_Weights`,
#: torchvision 0.28): file (its name carries the SHA-256 prefix torch hub checks), version,
#: acc@1, acc@5, _file_size (MB), the resize size of its transform (crop 224, bilinear);
#: num_params 3,504,872. IMAGENET1K_V2 is torchvision's DEFAULT.
_TORCHVISION = {
    "torchvision": ("mobilenet_v2-b0353104.pth", "V1", 71.878, 90.286, 13.555, 256),
    "torchvision_v2": ("mobilenet_v2-7ebf99e0.pth", "V2", 72.154, 90.822, 13.598, 232),
}
_PRETRAINED = {name: fam.torchvision_weights(
    filename, f"MobileNet_V2_Weights.IMAGENET1K_{version}", name=name, top1=top1, top5=top5,
    num_params=3_504_872, file_size_mb=size, resize_size=resize)
    for name, (filename, version, top1, top5, size, resize) in _TORCHVISION.items()}


FAMILY = fam.Family(
    name="mobilenet_v2",
    title="MobileNetV2",
    paper="Sandler et al., MobileNetV2: Inverted Residuals and Linear Bottlenecks, CVPR 2018",
    url="https://arxiv.org/abs/1801.04381",
    models=(fam.ModelEntry(
        name="mobilenet_v2", title="MobileNetV2", builder=MobileNetV2, default_size=224,
        keras_name="MobileNetV2", variants=tuple(MOBILENET_V2_VARIANTS),
        pretrained=_PRETRAINED, torch_layout=_torch_layout(),
        # keras.applications' ImageNet files at alpha 1.0, 224x224 (mobilenet_v2.py, Keras
        # 3.15; the builder picks the file of other alphas and sizes): (with top, no top).
        imagenet=imagenet_files(1.0, 224),
        reference=fam.Reference(
            paper="Sandler et al., MobileNetV2: Inverted Residuals and Linear Bottlenecks, "
                  "CVPR 2018",
            input_shape=(224, 224, 3),
            params=fam.exact(3_538_984, fam.KERAS.format("MobileNetV2"), fam.KERAS_PARAMS),
            trainable_params=fam.exact(3_504_872, fam.KERAS.format("MobileNetV2"),
                                       fam.TRAINABLE),
            # Stem, expanded_conv (dw + project), 16 x (expand + dw + project), Conv_1, FC:
            # 1 + 2 + 48 + 1 + 1 = 53.
            depth=fam.exact(53, "derived: the layers of " + MOBILENET_V2_PAPER + " Table 2 "
                            "as released (comment)", fam.DEPTH),
            macs=fam.measured_macs(300_800_000, fam.KERAS_MACS.format("MobileNetV2") +
                                   "; the paper's Table 4 prints 300 million"),
            table=_table(),
            table_source=MOBILENET_V2_PAPER + ", Table 2 (body architecture) and Table 4 "
                         "(multiply-adds)",
            others=(("paper parameters (Table 4, MobileNetV2 1.0; no BN statistics)",
                     fam.rounded(3.4e6, 0.05e6, MOBILENET_V2_PAPER + ", Table 4",
                                 "parameters, millions")),
                    ("torchvision mobilenet_v2 (BN gamma/beta only)",
                     fam.exact(3_504_872, fam.TORCHVISION.format("mobilenet_v2"))),),
        )),),
    preprocess_input=preprocess_input,
    decode_predictions=decode_predictions,
    preprocessing="tf: pixels in [0, 255] scaled to [-1, 1]",
    blocks=("conv_bn_act", "inverted_residual_block"),
    estimate=estimate,
)
