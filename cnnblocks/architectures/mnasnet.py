"""MNASNet (Tan, Chen, Pang, Vasudevan, Sandler, Howard, Le, "MnasNet: Platform-Aware Neural
Architecture Search for Mobile", CVPR 2019, https://arxiv.org/abs/1807.11626) as torchvision
builds it: `mnasnet0_5`, `mnasnet0_75`, `mnasnet1_0`, `mnasnet1_3`.

torchvision's MNASNet is the "B1" model of the authors' repository (tensorflow/tpu
`mnasnet_models.py`): the searched network without squeeze-and-excitation. A 3x3/2 convolution,
a depthwise separable convolution (3x3 depthwise, linear 1x1 projection), six stacks of
inverted residuals (`cnnblocks.blocks.inverted_residual_block` with ReLU and 3x3 or 5x5
depthwise kernels: the paper's MBConv3/MBConv6), a 1x1 convolution to 1280 channels, global
average pooling, dropout and the classifier. The four models differ only in the depth
multiplier `alpha`, which scales every width but the last 1280 (`mnasnet_depths`, including the
stem: torchvision's "version 2" of the model).

keras.applications (Keras 3) has no MNASNet: the structure, parameter counts (torchvision's
`parameters()` = Keras' trainable weights) and conventions are torchvision's, so that its
weights convert: no convolution bias, BN epsilon 1e-5 and momentum 0.9997 (torchvision's
`1 - 0.9997`, the paper's TensorFlow value), symmetric zero padding `k // 2` of strided
convolutions. Layer names: `stem_*`, `sep_*`, `s{stack}_b{block}_*` (stacks and blocks counted
from 1; torchvision's `layers.{stack + 7}.{block - 1}`), `top_*`, `avg_pool`, `dropout`,
`predictions`. Everything about the family is in this module.
"""

from cnnblocks import _validation as check
from cnnblocks import cost
from cnnblocks import family as fam
from cnnblocks import identity, preprocessing
from cnnblocks.architectures import common
from cnnblocks.blocks import conv_bn_act, inverted_residual_block
from cnnblocks.blocks.common import conv_bn_act_cost, make_divisible
from cnnblocks.blocks.mobilenet import inverted_residual_block_cost
from cnnblocks.blocks.resnext import TORCH_BN_EPSILON

__all__ = ["MNASNet0_5", "MNASNet0_75", "MNASNet1_0", "MNASNet1_3"]

#: The stacks of inverted residuals at depth multiplier 1 (torchvision's `_stack` calls; the
#: paper's Figure 7(b) for B1): (c output channels, k depthwise kernel, s stride of the first
#: block, t expansion, n blocks). The first block of a stack has no shortcut (it changes the
#: width), the others an identity one. Output sizes at 224x224 in the comments.
MNASNET_SPEC = (
    (24, 3, 2, 3, 3),   # s1_b1-3, MBConv3 3x3: 56x56x24
    (40, 5, 2, 3, 3),   # s2_b1-3, MBConv3 5x5: 28x28x40
    (80, 5, 2, 6, 3),   # s3_b1-3, MBConv6 5x5: 14x14x80
    (96, 3, 1, 6, 2),   # s4_b1-2, MBConv6 3x3: 14x14x96
    (192, 5, 2, 6, 4),  # s5_b1-4, MBConv6 5x5: 7x7x192
    (320, 3, 1, 6, 1),  # s6_b1, MBConv6 3x3: 7x7x320
)
#: The stem's 3x3/2 convolution (112x112x32) and the separable convolution's projection
#: (112x112x16) at depth multiplier 1; the last 1x1 convolution, never scaled.
MNASNET_STEM, MNASNET_SEP, MNASNET_LAST = 32, 16, 1280
#: The registered models' depth multipliers.
MNASNET_ALPHAS = {"mnasnet0_5": 0.5, "mnasnet0_75": 0.75, "mnasnet1_0": 1.0, "mnasnet1_3": 1.3}
#: BN: PyTorch's epsilon; the paper's TensorFlow momentum 0.9997 (torchvision's 1 - 0.9997).
BN = dict(bn_epsilon=TORCH_BN_EPSILON, bn_momentum=0.9997)
#: torchvision's classifier dropout.
DROPOUT = 0.2

#: Feature taps: the last block at strides 4, 8 and 16 (C5 is `top_relu`, stride 32).
_TAPS = {1: "C2", 2: "C3", 4: "C4"}


def mnasnet_depths(alpha):
    """The widths of an MNASNet at depth multiplier `alpha`: the stem, the separable
    convolution, the six stacks (`MNASNET_SPEC`), each `alpha` times its width at 1 rounded to
    a multiple of 8, up rather than down (`make_divisible`: the nearest multiple, one more if
    that loses over 10%; at least 8): torchvision's `_get_depths`.

    Example:
        >>> mnasnet_depths(0.5)
        (16, 8, 16, 24, 40, 48, 96, 160)
    """
    alpha = check.positive_number(alpha, "alpha")
    return tuple(make_divisible(width * alpha)
                 for width in (MNASNET_STEM, MNASNET_SEP, *(row[0] for row in MNASNET_SPEC)))


def _trunk(x, ctx):
    """Stem (region `stem`), separable convolution (region `sep`), the 16 inverted residuals
    `s{stack}_b{block}`, the last 1x1 convolution (region `top`)."""
    stem, sep, *widths = mnasnet_depths(ctx.options["alpha"])
    unit = dict(use_bias=False, relu_layer=True, data_format=ctx.data_format, **BN)
    with identity.region(x, "stem", "stem", args={"filters": stem, "kernel_size": 3,
                                                  "strides": 2},
                         label=f"3x3 {stem} /2") as region:
        x = region.done(conv_bn_act(x, stem, 3, strides=2, padding=1, activation="relu",
                                    name="stem", **unit))
    ctx.tap("C1", x)
    with identity.region(x, "conv", "sep", args={"filters": sep},
                         label=f"dw 3x3 → 1x1 {sep}") as region:
        y = conv_bn_act(x, None, 3, depthwise=True, activation="relu", name="sep",
                        suffixes=("_dw", "_dw_bn", "_dw_relu"), **unit)
        x = region.done(conv_bn_act(y, sep, 1, activation=None, name="sep",
                                    suffixes=("_pw", "_pw_bn", ""), **unit))
    for stack, (width, (_, kernel, stride, expansion, repeats)) in enumerate(
            zip(widths, MNASNET_SPEC), start=1):
        for block in range(1, repeats + 1):
            x = inverted_residual_block(
                x, width, expansion=expansion, strides=stride if block == 1 else 1,
                kernel_size=kernel, activation="relu", padding="symmetric",
                data_format=ctx.data_format, name=f"s{stack}_b{block}", **BN)
        if stack in _TAPS:
            ctx.tap(_TAPS[stack], x)
    with identity.region(x, "conv", "top", args={"filters": MNASNET_LAST},
                         label=f"1x1 {MNASNET_LAST}") as region:
        x = region.done(conv_bn_act(x, MNASNET_LAST, 1, activation="relu", name="top", **unit))
    ctx.tap("C5", x)
    return x


def _head(x, ctx):
    """torchvision's head: `avg_pool` (its `mean([2, 3])`), `dropout`, `predictions`. Without
    a top: global pooling as `pooling` says."""
    return common.global_pool_head(x, ctx, dropout=ctx.options["dropout"])


def estimate(point, *, input_shape, include_top=True, pooling=None, classes=1000,
             variant=None):
    """The family's estimator (`FAMILY.estimate`): the costs of a registered MNASNet
    (`point`, its `ModelEntry`) as a `cnnblocks.cost.Estimate` at `input_shape` `(h, w, 3)`,
    walked layer by layer as `_trunk` and `_head` build them, without building anything.
    `variant`: None or "torchvision", the family's only structure."""
    variant = point.variants[0] if variant is None else check.choice(
        variant, "variant", point.variants)
    stem, sep, *widths = mnasnet_depths(MNASNET_ALPHAS[point.name])
    tally = cost.Tally(input_shape)
    conv_bn_act_cost(tally, stem, 3, strides=2, padding=1)     # stem_pad, _conv, _bn, _relu
    tally.stage("stem")
    conv_bn_act_cost(tally, None, 3, depthwise=True)            # sep_dw, _dw_bn, _dw_relu
    conv_bn_act_cost(tally, sep, 1, activation=False)           # sep_pw, sep_pw_bn
    tally.stage("sep")
    for stack, (width, (_, kernel, stride, expansion, repeats)) in enumerate(
            zip(widths, MNASNET_SPEC), start=1):
        for block in range(1, repeats + 1):
            inverted_residual_block_cost(tally, width, expansion=expansion,
                                         strides=stride if block == 1 else 1,
                                         kernel_size=kernel, padding="symmetric")
        tally.stage(f"s{stack}")
    conv_bn_act_cost(tally, MNASNET_LAST, 1)                    # top_conv, top_bn, top_relu
    tally.stage("top")
    tally.head(include_top, pooling, classes, dropout=True)     # avg_pool, dropout, ...
    return tally.result()


def _torch_layout(key):
    """Keras layer -> torchvision module: `layers.0`/`.1` (stem), `layers.3`/`.4` and
    `layers.6`/`.7` (separable), block `b` of stack `s` is `layers.{s + 7}.{b - 1}.layers`:
    `.0`/`.1` expansion, `.3`/`.4` depthwise, `.6`/`.7` projection; `layers.14`/`.15` (top),
    `classifier.1`. The same for every depth multiplier.

    timm's `mnasnet_*` (the same network, module for module) are the second names:
    `conv_stem`/`bn1`, `blocks.0.0.conv_dw`/`bn1`, `.conv_pw`/`bn2`, block `b` of stack `s`
    `blocks.{s}.{b - 1}.conv_pw`/`bn1`, `.conv_dw`/`bn2`, `.conv_pwl`/`bn3`, `conv_head`/`bn2`,
    `classifier`."""
    found = {"stem_conv": ("layers.0", "conv_stem"), "stem_bn": ("layers.1", "bn1"),
             "sep_dw": ("layers.3", "blocks.0.0.conv_dw"),
             "sep_dw_bn": ("layers.4", "blocks.0.0.bn1"),
             "sep_pw": ("layers.6", "blocks.0.0.conv_pw"),
             "sep_pw_bn": ("layers.7", "blocks.0.0.bn2"),
             "top_conv": ("layers.14", "conv_head"), "top_bn": ("layers.15", "bn2"),
             "predictions": ("classifier.1", "classifier")}
    timm_parts = {"expand": ("conv_pw", "bn1"), "depthwise": ("conv_dw", "bn2"),
                  "project": ("conv_pwl", "bn3")}
    for stack, row in enumerate(MNASNET_SPEC, start=1):
        for block in range(1, row[4] + 1):
            ours, theirs = f"s{stack}_b{block}", f"layers.{stack + 7}.{block - 1}.layers"
            timm = f"blocks.{stack}.{block - 1}"
            for i, part in ((0, "expand"), (3, "depthwise"), (6, "project")):
                conv, bn = timm_parts[part]
                found[f"{ours}_{part}"] = (f"{theirs}.{i}", f"{timm}.{conv}")
                found[f"{ours}_{part}_BN"] = (f"{theirs}.{i + 1}", f"{timm}.{bn}")
    return fam.TorchLayout(found)


def _build(key, variant, dropout, **kwargs):
    return common.build(FAMILY.model(key), _trunk, head=_head, min_size=32,
                        checks=lambda: check.fraction(dropout, "dropout"),
                        options={"alpha": MNASNET_ALPHAS[key], "dropout": dropout},
                        variant=variant, **kwargs)


def MNASNet0_5(include_top=True, weights=None, input_tensor=None, input_shape=None,
               pooling=None, classes=1000, classifier_activation="softmax", name="mnasnet0_5",
               *, variant="torchvision", dropout=DROPOUT):
    return _build("mnasnet0_5", variant, dropout, include_top=include_top, weights=weights,
                  input_tensor=input_tensor, input_shape=input_shape, pooling=pooling,
                  classes=classes, classifier_activation=classifier_activation, name=name)


def MNASNet0_75(include_top=True, weights=None, input_tensor=None, input_shape=None,
                pooling=None, classes=1000, classifier_activation="softmax",
                name="mnasnet0_75", *, variant="torchvision", dropout=DROPOUT):
    return _build("mnasnet0_75", variant, dropout, include_top=include_top, weights=weights,
                  input_tensor=input_tensor, input_shape=input_shape, pooling=pooling,
                  classes=classes, classifier_activation=classifier_activation, name=name)


def MNASNet1_0(include_top=True, weights=None, input_tensor=None, input_shape=None,
               pooling=None, classes=1000, classifier_activation="softmax", name="mnasnet1_0",
               *, variant="torchvision", dropout=DROPOUT):
    return _build("mnasnet1_0", variant, dropout, include_top=include_top, weights=weights,
                  input_tensor=input_tensor, input_shape=input_shape, pooling=pooling,
                  classes=classes, classifier_activation=classifier_activation, name=name)


def MNASNet1_3(include_top=True, weights=None, input_tensor=None, input_shape=None,
               pooling=None, classes=1000, classifier_activation="softmax", name="mnasnet1_3",
               *, variant="torchvision", dropout=DROPOUT):
    return _build("mnasnet1_3", variant, dropout, include_top=include_top, weights=weights,
                  input_tensor=input_tensor, input_shape=input_shape, pooling=pooling,
                  classes=classes, classifier_activation=classifier_activation, name=name)


#: Per model: (title, total parameters, trainable parameters = torchvision's num_params,
#: torchvision GFLOPS). Total = trainable + 2 per BN channel (BN's moving statistics, which
#: Keras counts and torchvision's `parameters()` does not). With the widths `w` of
#: `mnasnet_depths` (stem `w0`, separable `w1`, stacks `c` with input `c_in`, expansion `t`):
#: trainable = `27 w0 + 2 w0` + `9 w0 + 2 w0 + w0 w1 + 2 w1` + per block
#: `c_in e + 2 e + k^2 e + 2 e + e c + 2 c` (`e = t c_in`) + `320' 1280 + 2 1280` +
#: `1281 classes`; e.g. mnasnet1_0: 4,383,312 trainable, 18,960 BN channels.
COUNTS = {
    "mnasnet0_5": ("MNASNet 0.5", 2_239_136, 2_218_512, 0.104),
    "mnasnet0_75": ("MNASNet 0.75", 3_200_016, 3_170_208, 0.215),
    "mnasnet1_0": ("MNASNet 1.0", 4_421_232, 4_383_312, 0.314),
    "mnasnet1_3": ("MNASNet 1.3", 6_331_072, 6_282_256, 0.526),
}
#: Weight layers on the longest path: stem, separable (2), 16 blocks x 3, top, classifier.
DEPTH = 1 + 2 + 3 * sum(row[4] for row in MNASNET_SPEC) + 1 + 1

_DOC = """\
{title}: torchvision's `{key}`, MNASNet-B1 at depth multiplier {alpha} ({widths} channels).

Tan et al., "MnasNet: Platform-Aware Neural Architecture Search for Mobile", CVPR 2019,
https://arxiv.org/abs/1807.11626 (Figure 7; B1, the model without squeeze-and-excitation);
structure and counts of torchvision's `{key}`. Widths `mnasnet_depths({alpha})`, stacks
`MNASNET_SPEC`.

Stem: `stem_pad` (zero padding 1), `stem_conv` 3x3/2 with {stem} filters + `stem_bn` +
`stem_relu`; `sep_dw` 3x3 depthwise + `sep_dw_bn` + `sep_dw_relu`, `sep_pw` 1x1 to {sep} +
`sep_pw_bn` (linear). Then six stacks `s1` ... `s6` of `inverted_residual_block`s
`s{{stack}}_b{{block}}` (3, 3, 3, 2, 4, 1 blocks; expansion 3, 3, 6, 6, 6, 6; depthwise
kernels 3, 5, 5, 3, 5, 3; stride 2 in the first block of s1, s2, s3 and s5; ReLU), `top_conv`
1x1 to 1280 + `top_bn` + `top_relu`. Head: `avg_pool`, `dropout`, `predictions`.

Args:
    include_top: bool, add the global average pooling, dropout and the classifier. Default
        True.
    weights: None (random initialization), `"torchvision"` (torchvision's
        `{enum}.IMAGENET1K_V1`: from the Keras cache, checked against the hash in its URL,
        downloaded when missing, converted on load; `cnnblocks.registry.entry({key!r})
        .pretrained` has its preprocessing) or the path of a weight file (Keras, or a PyTorch
        `.pth`/`.safetensors` state dict with torchvision's key names). No ImageNet file in
        keras.applications' format exists, so `"imagenet"` is refused.
""" + fam.TORCHVISION_ONLY_ARGS + """\
    dropout: float in [0, 1), the rate of `dropout` before the classifier (training only).
        Default 0.2 (torchvision's).

Returns:
    A `keras.Model` with {total:,} parameters, {trainable:,} of them trainable (=
    torchvision's `{key}` count; Keras adds BN's moving mean and variance); without a top,
    1280 feature channels at 1/32 of the input size.

Note:
    torchvision's conventions: no convolution bias, BN epsilon 1e-5 and momentum 0.9997,
    symmetric zero padding of the strided convolutions (`stem_pad`, `s1_b1_pad`, ...), so
    torchvision's weights convert exactly (`FAMILY` records the module map as a
    `TorchLayout`). The stem is scaled with the depth multiplier, as torchvision's current
    ("version 2") model; its version-1 checkpoints of multipliers other than 1 (a fixed
    32/16 stem) do not fit. The paper's headline model, MnasNet-A1, adds
    squeeze-and-excitation and is not this one. Inputs are expected in torch style
    (`preprocess_input`).

Example:
    >>> from cnnblocks import {builder}
    >>> model = {builder}(include_top=False, input_shape=(64, 64, 3))
    >>> tuple(model.output.shape)
    (None, 2, 2, 1280)
"""


def _doc(key, builder):
    title, total, trainable, _ = COUNTS[key]
    alpha = MNASNET_ALPHAS[key]
    stem, sep, *widths = mnasnet_depths(alpha)
    return _DOC.format(title=title, key=key, alpha=alpha, widths="/".join(map(str, widths)),
                       stem=stem, sep=sep, enum=_TORCHVISION[key][1], total=total,
                       trainable=trainable, builder=builder.__name__)


preprocess_input, decode_predictions = preprocessing.family_utils(
    "torch", "scaled to [0, 1], then ImageNet mean (0.485, 0.456, 0.406) subtracted and "
    "divided by std (0.229, 0.224, 0.225) per RGB channel (torchvision's weights)")


#: torchvision's ImageNet weights (torchvision/models/mnasnet.py, `MNASNet*_Weights`,
#: torchvision 0.28; one set per model, IMAGENET1K_V1, its DEFAULT): (file, whose name carries
#: the SHA-256 prefix torch hub checks; enum; acc@1, acc@5, _file_size MB, the resize size of
#: its transform, crop 224, bilinear). The 0.75 and 1.3 sets were trained with torchvision's
#: new recipe (pytorch/vision#6019), hence the resize 232.
_TORCHVISION = {
    "mnasnet0_5": ("mnasnet0.5_top1_67.823-3ffadce67e.pth", "MNASNet0_5_Weights",
                   67.734, 87.490, 8.591, 256),
    "mnasnet0_75": ("mnasnet0_75-7090bc5f.pth", "MNASNet0_75_Weights",
                    71.180, 90.496, 12.303, 232),
    "mnasnet1_0": ("mnasnet1.0_top1_73.512-f206786ef8.pth", "MNASNet1_0_Weights",
                   73.456, 91.510, 16.915, 256),
    "mnasnet1_3": ("mnasnet1_3-a4c69d6f.pth", "MNASNet1_3_Weights",
                   76.506, 93.522, 24.246, 232),
}


def _weights(key):
    file, enum, top1, top5, size, resize = _TORCHVISION[key]
    return {"torchvision": fam.torchvision_weights(
        file, f"{enum}.IMAGENET1K_V1", top1=top1, top5=top5, num_params=COUNTS[key][2],
        file_size_mb=size, resize_size=resize)}


_PAPER = ("Tan et al., MnasNet: Platform-Aware Neural Architecture Search for Mobile, "
          "CVPR 2019")


def _entry(key, builder):
    title, total, trainable, gflops = COUNTS[key]
    reference = fam.torchvision_reference(
        key, paper=_PAPER, total=total, trainable=trainable, depth=DEPTH,
        depth_source="derived: stem, separable (2), 3 per block, top, classifier",
        gflops=gflops)
    return fam.ModelEntry(name=key, title=title, builder=builder, default_size=224,
                          variants=(fam.TORCHVISION_VARIANT,), pretrained=_weights(key),
                          torch_layout=_torch_layout(key), reference=reference)


_BUILDERS = {"mnasnet0_5": MNASNet0_5, "mnasnet0_75": MNASNet0_75, "mnasnet1_0": MNASNet1_0,
             "mnasnet1_3": MNASNet1_3}
for _key, _builder in _BUILDERS.items():
    _builder.__doc__ = _doc(_key, _builder)

FAMILY = fam.Family(
    name="mnasnet",
    title="MNASNet",
    paper=_PAPER,
    url="https://arxiv.org/abs/1807.11626",
    models=tuple(_entry(key, builder) for key, builder in _BUILDERS.items()),
    preprocess_input=preprocess_input,
    decode_predictions=decode_predictions,
    preprocessing="torch: scaled to [0, 1], ImageNet mean and std per RGB channel",
    blocks=("conv_bn_act", "inverted_residual_block"),
    estimate=estimate,
)
