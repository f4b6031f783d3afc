"""ShuffleNet V2 (Ma, Zhang, Zheng, Sun, "ShuffleNet V2: Practical Guidelines for Efficient CNN
Architecture Design", ECCV 2018, https://arxiv.org/abs/1807.11164): the four widths of the
paper's Table 5 (0.5x, 1x, 1.5x, 2x), as torchvision builds them, from
`cnnblocks.blocks.shufflenet_v2_unit`.

keras.applications has no ShuffleNet: the structure, the parameter counts (torchvision's
`parameters()` = Keras' trainable weights) and the conventions are torchvision's, so that its
weights convert: no convolution bias, BN epsilon 1e-5, explicit symmetric zero padding where
PyTorch pads (the 3x3/2 stem convolution, the 3x3/2 max pool, the strided depthwise
convolutions). Every width is a row of `SHUFFLENET_V2_SPECS`; the stage depths (4, 8, 4 units)
are the same for all. Layer names: `conv1_*`, `pool1_*`, `stage{2,3,4}_unit{u}_*` (units
counted from 1; torchvision's `stage{s}.{u - 1}`), `conv5_*`, `avg_pool`, `predictions`.
Everything about the family is in this module.
"""

from cnnblocks import _validation as check
from cnnblocks import cost
from cnnblocks import family as fam
from cnnblocks import identity, preprocessing
from cnnblocks.architectures import common
from cnnblocks.blocks import conv_bn_act, shufflenet_v2_unit
from cnnblocks.blocks.common import conv_bn_act_cost
from cnnblocks.blocks.resnext import TORCH_BN_EPSILON
from cnnblocks.blocks.shufflenet import shufflenet_v2_unit_cost

__all__ = ["ShuffleNetV2_x0_5", "ShuffleNetV2_x1_0", "ShuffleNetV2_x1_5", "ShuffleNetV2_x2_0"]

#: Output channels per width (the paper's Table 5 columns; torchvision's
#: `stages_out_channels`): conv1, stage2, stage3, stage4, conv5.
SHUFFLENET_V2_SPECS = {
    "shufflenet_v2_x0_5": (24, 48, 96, 192, 1024),
    "shufflenet_v2_x1_0": (24, 116, 232, 464, 1024),
    "shufflenet_v2_x1_5": (24, 176, 352, 704, 1024),
    "shufflenet_v2_x2_0": (24, 244, 488, 976, 2048),
}
#: Units per stage (stage2, stage3, stage4): one of stride 2, then 3, 7, 3 of stride 1
#: (Table 5's "Repeat"; torchvision's `stages_repeats`).
STAGE_UNITS = (4, 8, 4)
#: The first stage's number (the paper's and torchvision's: Conv1 and MaxPool are "stage 1").
FIRST_STAGE = 2


def shufflenet_v2_trunk(widths):
    """The trunk of a ShuffleNet V2 of `widths` (a `SHUFFLENET_V2_SPECS` row): `body(x, ctx)`.

    Stem `conv1` (zero padding 1, 3x3/2 convolution without bias, BN epsilon 1e-5, ReLU) and
    `pool1` (zero padding 1, 3x3/2 max pool: PyTorch's `MaxPool2d(3, 2, padding=1)`; its
    padding is -inf, zeros are the same after a ReLU), stages 2-4 of `shufflenet_v2_unit`s (the
    first of each with stride 2), then `conv5` (1x1, BN, ReLU). Taps: `C2` the pool, `C3`/`C4`
    the last unit of stages 2 and 3, `C5` conv5 (the last map at 1/32).
    """
    stem, *stages, last = widths

    def body(x, ctx):
        with identity.region(x, "stem", "conv1", args={"filters": stem, "kernel_size": 3,
                                                       "strides": 2},
                             label=f"3x3 {stem} /2") as region:
            x = region.done(conv_bn_act(x, stem, 3, strides=2, padding=1, use_bias=False,
                                        bn_epsilon=TORCH_BN_EPSILON,
                                        data_format=ctx.data_format, name="conv1"))
        x = common.max_pool_region(x, "pool1", ctx, pad=1)
        ctx.tap("C2", x)
        for stage, (units, filters) in enumerate(zip(STAGE_UNITS, stages), start=FIRST_STAGE):
            for unit in range(1, units + 1):
                x = shufflenet_v2_unit(x, filters, strides=2 if unit == 1 else 1,
                                       data_format=ctx.data_format,
                                       name=f"stage{stage}_unit{unit}")
            if stage < FIRST_STAGE + len(STAGE_UNITS) - 1:
                ctx.tap(f"C{stage + 1}", x)
        with identity.region(x, "conv", "conv5", args={"filters": last},
                             label=f"1x1 {last}") as region:
            x = region.done(conv_bn_act(x, last, 1, padding="valid", use_bias=False,
                                        bn_epsilon=TORCH_BN_EPSILON,
                                        data_format=ctx.data_format, name="conv5"))
        ctx.tap("C5", x)
        return x
    return body


def estimate(point, *, input_shape, include_top=True, pooling=None, classes=1000,
             variant=None):
    """The family's estimator (`FAMILY.estimate`): the costs of a registered ShuffleNet V2
    (`point`, its `ModelEntry`) as a `cnnblocks.cost.Estimate` at `input_shape` `(h, w, 3)`,
    walked layer by layer as `shufflenet_v2_trunk` and the head build them, without building
    anything. `variant`: None or "torchvision", the family's only structure."""
    variant = point.variants[0] if variant is None else check.choice(
        variant, "variant", point.variants)
    stem, *stages, last = SHUFFLENET_V2_SPECS[point.name]
    tally = cost.Tally(input_shape)
    conv_bn_act_cost(tally, stem, 3, strides=2, padding=1)     # conv1_pad, _conv, _bn, _relu
    tally.pad(1)                                                # pool1_pad, pool1_pool
    tally.pool(3, 2)
    tally.stage("stem")
    for stage, (units, filters) in enumerate(zip(STAGE_UNITS, stages), start=FIRST_STAGE):
        for unit in range(1, units + 1):
            shufflenet_v2_unit_cost(tally, filters, strides=2 if unit == 1 else 1)
        tally.stage(f"stage{stage}")
    conv_bn_act_cost(tally, last, 1, padding="valid")          # conv5_conv, _bn, _relu
    tally.stage("conv5")
    tally.head(include_top, pooling, classes)                   # avg_pool, predictions
    return tally.result()


def torch_layout():
    """Keras layer -> torchvision module: `conv1.0`/`.1`, `stage{s}.{u-1}.branch1.{0,1,2,3}`
    (the left branch of strided units: depthwise, BN, 1x1, BN), `.branch2.{0,1,3,4,5,6}` (the
    right branch: 1x1, BN, depthwise, BN, 1x1, BN; ReLUs at 2 and 7), `conv5.0`/`.1`, `fc`.
    The same for every width."""
    found = {"conv1_conv": "conv1.0", "conv1_bn": "conv1.1", "conv5_conv": "conv5.0",
             "conv5_bn": "conv5.1", "predictions": "fc"}
    for stage, units in enumerate(STAGE_UNITS, start=FIRST_STAGE):
        for unit in range(1, units + 1):
            ours, theirs = f"stage{stage}_unit{unit}", f"stage{stage}.{unit - 1}"
            parts = [("right_1", "branch2.0", "branch2.1"), ("right_2", "branch2.3", "branch2.4"),
                     ("right_3", "branch2.5", "branch2.6")]
            if unit == 1:
                parts += [("left_1", "branch1.0", "branch1.1"),
                          ("left_2", "branch1.2", "branch1.3")]
            for part, conv, bn in parts:
                found[f"{ours}_{part}_conv"] = f"{theirs}.{conv}"
                found[f"{ours}_{part}_bn"] = f"{theirs}.{bn}"
    return fam.TorchLayout(found)


def _build(key, **kwargs):
    return common.build(FAMILY.model(key), shufflenet_v2_trunk(SHUFFLENET_V2_SPECS[key]),
                        min_size=32, **kwargs)


def ShuffleNetV2_x0_5(include_top=True, weights=None, input_tensor=None, input_shape=None,
                      pooling=None, classes=1000, classifier_activation="softmax",
                      name="shufflenet_v2_x0_5", *, variant="torchvision"):
    return _build("shufflenet_v2_x0_5", include_top=include_top, weights=weights,
                  input_tensor=input_tensor, input_shape=input_shape, pooling=pooling,
                  classes=classes, classifier_activation=classifier_activation, name=name,
                  variant=variant)


def ShuffleNetV2_x1_0(include_top=True, weights=None, input_tensor=None, input_shape=None,
                      pooling=None, classes=1000, classifier_activation="softmax",
                      name="shufflenet_v2_x1_0", *, variant="torchvision"):
    return _build("shufflenet_v2_x1_0", include_top=include_top, weights=weights,
                  input_tensor=input_tensor, input_shape=input_shape, pooling=pooling,
                  classes=classes, classifier_activation=classifier_activation, name=name,
                  variant=variant)


def ShuffleNetV2_x1_5(include_top=True, weights=None, input_tensor=None, input_shape=None,
                      pooling=None, classes=1000, classifier_activation="softmax",
                      name="shufflenet_v2_x1_5", *, variant="torchvision"):
    return _build("shufflenet_v2_x1_5", include_top=include_top, weights=weights,
                  input_tensor=input_tensor, input_shape=input_shape, pooling=pooling,
                  classes=classes, classifier_activation=classifier_activation, name=name,
                  variant=variant)


def ShuffleNetV2_x2_0(include_top=True, weights=None, input_tensor=None, input_shape=None,
                      pooling=None, classes=1000, classifier_activation="softmax",
                      name="shufflenet_v2_x2_0", *, variant="torchvision"):
    return _build("shufflenet_v2_x2_0", include_top=include_top, weights=weights,
                  input_tensor=input_tensor, input_shape=input_shape, pooling=pooling,
                  classes=classes, classifier_activation=classifier_activation, name=name,
                  variant=variant)


#: Per model: (title, width label of Table 5, total parameters, trainable parameters =
#: torchvision's num_params, torchvision GFLOPS (`_ops`), Table 5's FLOPs and "# of Weights").
#: Total = trainable + 2 per BN channel (BN's moving statistics, which Keras counts and
#: torchvision's `parameters()` does not). BN channels, with h = stage width / 2 and the stage
#: input c: conv1 24; per stage a strided unit (c + h, then 3 h) and n - 1 basic units (3 h
#: each); conv5. E.g. 1x: 24 + (24 + 58 + 174 + 3 x 174) + (116 + 116 + 348 + 7 x 348)
#: + (232 + 232 + 696 + 3 x 696) + 1024 = 8,090 -> 2,278,604 + 16,180 = 2,294,784.
#: Depth: conv1, 3 convolutions per unit (the right branch; the left one of strided units has
#: 2), conv5, fc: 2 + 3 x 16 + 1 = 51.
COUNTS = {
    "shufflenet_v2_x0_5": ("ShuffleNet V2 0.5x", "0.5x", 1_374_744, 1_366_792, 0.04, 41e6, 1.4e6),
    "shufflenet_v2_x1_0": ("ShuffleNet V2 1x", "1x", 2_294_784, 2_278_604, 0.145, 146e6, 2.3e6),
    "shufflenet_v2_x1_5": ("ShuffleNet V2 1.5x", "1.5x", 3_527_064, 3_503_624, 0.296, 299e6,
                           3.5e6),
    "shufflenet_v2_x2_0": ("ShuffleNet V2 2x", "2x", 7_427_712, 7_393_996, 0.583, 591e6, 7.4e6),
}
DEPTH = 51

_DOC = """\
{title}: ShuffleNet V2 at the {width} width of the paper's Table 5 ({stages} channels).

Ma et al., "ShuffleNet V2: Practical Guidelines for Efficient CNN Architecture Design",
ECCV 2018, https://arxiv.org/abs/1807.11164, Table 5; structure and counts of torchvision's
`{key}`.

Stem: `conv1_pad` (zero padding 1), `conv1_conv` 3x3/2 with 24 filters (no bias) + `conv1_bn`
+ `conv1_relu`, `pool1_pad` (zero padding 1), `pool1_pool` 3x3/2 max pool. Then stages
`stage2` ... `stage4` of 4, 8, 4 `shufflenet_v2_unit`s `stage{{s}}_unit{{u}}` of {stages}
channels, the first of each stage with stride 2 (both branches on the whole input), the others
a channel split; every unit ends with a channel shuffle. Then `conv5` (1x1 to {last}, BN, ReLU).
Head: `avg_pool`, `predictions`.

Args:
    include_top: bool, add the global average pooling and the classifier. Default True.
    weights: None (random initialization), `"torchvision"` (torchvision's IMAGENET1K_V1
        weights: from the Keras cache, checked against the hash in their URL, downloaded when
        missing, converted on load; `cnnblocks.registry.entry({key!r}).pretrained` has their
        preprocessing) or the path of a weight file (Keras, or a PyTorch `.pth`/`.safetensors`
        state dict with torchvision's key names). No ImageNet file in keras.applications'
        format exists, so `"imagenet"` is refused.
""" + fam.TORCHVISION_ONLY_ARGS + """\

Returns:
    A `keras.Model` with {total:,} parameters, {trainable:,} of them trainable (= torchvision's
    `{key}` count; Keras adds BN's moving mean and variance), {last} feature channels (conv5)
    at 1/32 of the input size without a top.

Note:
    torchvision's conventions: no convolution bias, BN epsilon 1e-5, explicit symmetric
    padding wherever PyTorch pads (`conv1_pad`, `pool1_pad`, `stage2_unit1_left_1_pad`, ...),
    so torchvision's weights convert exactly (`FAMILY` records the module map as a
    `TorchLayout`). Inputs are expected in torch style (`preprocess_input`).

Example:
    >>> from cnnblocks import {builder}
    >>> model = {builder}(include_top=False, input_shape=(64, 64, 3))
    >>> tuple(model.output.shape)
    (None, 2, 2, {last})
"""


def _doc(key, builder):
    title, width, total, trainable, *_ = COUNTS[key]
    widths = SHUFFLENET_V2_SPECS[key]
    return _DOC.format(title=title, width=width, key=key, stages="/".join(map(str, widths[1:4])),
                       last=widths[4], total=total, trainable=trainable,
                       builder=builder.__name__)


preprocess_input, decode_predictions = preprocessing.family_utils(
    "torch", "scaled to [0, 1], then ImageNet mean (0.485, 0.456, 0.406) subtracted and "
    "divided by std (0.229, 0.224, 0.225) per RGB channel (torchvision's weights)")


# --- Published numbers ----------------------------------------------------------------------
_PAPER = ("Ma, Zhang, Zheng, Sun, ShuffleNet V2: Practical Guidelines for Efficient CNN "
          "Architecture Design, ECCV 2018")
TABLE5 = "Ma et al. 2018, Table 5"

#: Table 5 of the paper, at 224x224: (layer, our summary rows, output size, KSize, Stride,
#: Repeat, output channels of 0.5x / 1x / 1.5x / 2x). Its first row, "Image" (224x224, 3
#: channels), is the input, left out.
_TABLE5_ROWS = (
    ("Conv1", "conv1", "112x112", "3x3", 2, 1, (24, 24, 24, 24)),
    ("MaxPool", "pool1", "56x56", "3x3", 2, "", (24, 24, 24, 24)),
    ("Stage2", "stage2_unit1", "28x28", "", 2, 1, (48, 116, 176, 244)),
    ("", r"stage2_unit[2-4]", "28x28", "", 1, 3, (48, 116, 176, 244)),
    ("Stage3", "stage3_unit1", "14x14", "", 2, 1, (96, 232, 352, 488)),
    ("", r"stage3_unit[2-8]", "14x14", "", 1, 7, (96, 232, 352, 488)),
    ("Stage4", "stage4_unit1", "7x7", "", 2, 1, (192, 464, 704, 976)),
    ("", r"stage4_unit[2-4]", "7x7", "", 1, 3, (192, 464, 704, 976)),
    ("Conv5", "conv5", "7x7", "1x1", 1, 1, (1024, 1024, 1024, 2048)),
    ("GlobalPool, FC", "head", "1x1", "7x7", "", "", (1000, 1000, 1000, 1000)),
)
_WIDTHS = ("0.5x", "1x", "1.5x", "2x")


def _paper_flops(key):
    """Table 5's FLOPs of `key` (multiply-adds): 0.75-1.3% above the multiply-adds of the
    convolutions and the classifier (cnnblocks.count_macs and torchvision's GFLOPS: 40.5M,
    144.9M, 295.8M, 583.3M); the paper does not say what else it counts."""
    _, width, *_, flops, _ = COUNTS[key]
    return fam.Figure(flops, TABLE5, f"multiply-adds, printed {flops / 1e6:.0f}M ({width}); "
                      "about 1% more than cnnblocks.count_macs", rel_tol=0.015)


def _table(key):
    """Table 5 with all four width columns; its FLOPs row is this model's figure
    (multiply-adds, printed in millions)."""
    _, width, _, trainable, _, _, weights = COUNTS[key]
    rows = []
    for label, blocks, output, ksize, stride, repeat, channels in _TABLE5_ROWS:
        columns = {"KSize": ksize, "Stride": stride, "Repeat": repeat}
        columns.update({f"Output channels {w}": c for w, c in zip(_WIDTHS, channels)})
        rows.append(fam.PaperRow(label or f"{rows[-1].label} (repeat)", blocks, output,
                                 columns=columns))
    printed_flops = {w: f"{COUNTS[k][5] / 1e6:.0f}M" for w, k in zip(_WIDTHS, COUNTS)}
    printed_weights = {w: f"{COUNTS[k][6] / 1e6:.1f}M" for w, k in zip(_WIDTHS, COUNTS)}
    rows.append(fam.PaperRow("FLOPs", None, macs=_paper_flops(key), columns={
        f"Output channels {w}": v for w, v in printed_flops.items()}))
    rows.append(fam.PaperRow("# of Weights", None, params=fam.rounded(
        weights, 0.05e6, TABLE5, f"weights, printed {weights / 1e6:.1f}M ({width}): "
        f"torchvision's {trainable:,} (trainable); Keras adds the BN statistics"), columns={
        f"Output channels {w}": v for w, v in printed_weights.items()}))
    return tuple(rows)


def _reference(key):
    title, width, total, trainable, gflops, flops, weights = COUNTS[key]
    tv = fam.TORCHVISION.format(f"{key}: {trainable:,} params, {gflops} GFLOPS")
    return fam.Reference(
        paper=_PAPER, input_shape=(224, 224, 3),
        params=fam.exact(total, "derived: torchvision's count + 2 per BN channel (COUNTS)",
                         fam.KERAS_PARAMS + "; no conv bias"),
        trainable_params=fam.exact(trainable, tv, fam.TRAINABLE + " = torchvision parameters()"),
        depth=fam.exact(DEPTH, "derived: conv1 + 3 per unit x 16 + conv5 + fc", fam.DEPTH),
        macs=fam.rounded(gflops * 1e9, 0.0005e9, tv, fam.MACS),
        table=_table(key), table_source=TABLE5 + " (all four widths; FLOPs of the " + width
        + " column)",
        others=((f"paper FLOPs ({width}, printed {flops / 1e6:.0f}M)", _paper_flops(key)),
                (f"paper # of weights ({width}, trainable, printed {weights / 1e6:.1f}M)",
                 fam.rounded(weights, 0.05e6, TABLE5))))


#: torchvision's ImageNet weights (torchvision/models/shufflenetv2.py,
#: `ShuffleNet_V2_X*_Weights.IMAGENET1K_V1`, torchvision 0.28): file (its name carries the
#: SHA-256 prefix torch hub checks), acc@1, acc@5, _file_size (MB), the resize size of its
#: transform (crop 224, bilinear). 0.5x and 1x were ported from ericsun99/Shufflenet-v2-Pytorch;
#: 1.5x and 2x trained with torchvision's new recipe (resize 232).
_TORCHVISION = {
    "shufflenet_v2_x0_5": ("shufflenetv2_x0.5-f707e7126e.pth", "X0_5", 60.552, 81.746, 5.282, 256),
    "shufflenet_v2_x1_0": ("shufflenetv2_x1-5666bf0f80.pth", "X1_0", 69.362, 88.316, 8.791, 256),
    "shufflenet_v2_x1_5": ("shufflenetv2_x1_5-3c479a10.pth", "X1_5", 72.996, 91.086, 13.557,
                           232),
    "shufflenet_v2_x2_0": ("shufflenetv2_x2_0-8be3c8ee.pth", "X2_0", 76.230, 93.006, 28.433,
                           232),
}


def _pretrained(key):
    filename, enum, top1, top5, size, resize = _TORCHVISION[key]
    return {"torchvision": fam.torchvision_weights(
        filename, f"ShuffleNet_V2_{enum}_Weights.IMAGENET1K_V1", top1=top1, top5=top5,
        num_params=COUNTS[key][3], file_size_mb=size, resize_size=resize)}


_BUILDERS = dict(zip(SHUFFLENET_V2_SPECS, (ShuffleNetV2_x0_5, ShuffleNetV2_x1_0,
                                           ShuffleNetV2_x1_5, ShuffleNetV2_x2_0)))
for _key, _builder in _BUILDERS.items():
    _builder.__doc__ = _doc(_key, _builder)

FAMILY = fam.Family(
    name="shufflenet_v2",
    title="ShuffleNet V2",
    paper=_PAPER,
    url="https://arxiv.org/abs/1807.11164",
    models=tuple(fam.ModelEntry(name=key, title=COUNTS[key][0], builder=builder,
                                default_size=224, reference=_reference(key),
                                variants=(fam.TORCHVISION_VARIANT,), pretrained=_pretrained(key),
                                torch_layout=torch_layout())
                 for key, builder in _BUILDERS.items()),
    preprocess_input=preprocess_input,
    decode_predictions=decode_predictions,
    preprocessing="torch: scaled to [0, 1], ImageNet mean and std per RGB channel",
    blocks=("conv_bn_act", "shufflenet_v2_unit"),
    estimate=estimate,
)
