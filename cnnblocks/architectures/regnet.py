"""RegNet (Radosavovic, Kosaraju, Girshick, He, Dollár, "Designing Network Design Spaces",
CVPR 2020, https://arxiv.org/abs/2003.13678): RegNetX and RegNetY as torchvision builds them,
from their design parameters.

A RegNet is five numbers and a flag: depth `d`, initial width `w0`, slope `wa`, width multiplier
`wm`, group width `g` (and SE for Y). `cnnblocks.design.regnet_stages` turns them into stages
(the quantized linear rule, torchvision's rounding); the trunk here builds them: the stem
(3x3/2 convolution, 32 channels, BN, ReLU), then per stage `regnet_block`s, the first of each
stage with stride 2, then global average pooling and the classifier. Every torchvision RegNet
is a row of `REGNET_SPECS`; `cnnblocks.design.regnet` builds any other point of the design
space with the same code.

keras.applications (Keras 3) has no RegNet: the structure, parameter counts (torchvision's
`parameters()` = Keras' trainable weights) and conventions are torchvision's, so that its
weights (and timm's files of the same models: `regnety_004`, ...) convert: no convolution bias
before BN, BN epsilon 1e-5, the stride on the grouped 3x3, explicit symmetric zero padding of
strided convolutions. Layer names: `stem_conv`, `s{stage}_b{block}_*` (stages and blocks
counted from 1, as torchvision's `block{stage}-{block - 1}` and timm's `s{stage}.b{block}`),
`avg_pool`, `predictions`.
"""

import dataclasses
import math

from cnnblocks import _regnet_rule as rule
from cnnblocks import _validation as check
from cnnblocks import cost
from cnnblocks import family as fam
from cnnblocks import identity, preprocessing
from cnnblocks.architectures import common
from cnnblocks.blocks import conv_bn_act, regnet_block
from cnnblocks.blocks.regnet import regnet_block_cost
from cnnblocks.blocks.resnext import TORCH_BN_EPSILON

__all__ = ["RegNetY400MF", "RegNetY800MF", "RegNetY1_6GF", "RegNetY3_2GF", "RegNetY8GF",
           "RegNetY16GF", "RegNetY32GF", "RegNetY128GF", "RegNetX400MF", "RegNetX800MF",
           "RegNetX1_6GF", "RegNetX3_2GF", "RegNetX8GF", "RegNetX16GF", "RegNetX32GF"]

#: torchvision's RegNets (torchvision/models/regnet.py, `BlockParams.from_init_params`
#: arguments): (depth d, w0, wa, wm, group width g, SE ratio or None). They are the paper's
#: RegNetX/RegNetY models of the same names (its Appendix); Y has SE with ratio 1/4.
REGNET_SPECS = {
    "regnet_y_400mf": (16, 48, 27.89, 2.09, 8, 0.25),
    "regnet_y_800mf": (14, 56, 38.84, 2.4, 16, 0.25),
    "regnet_y_1_6gf": (27, 48, 20.71, 2.65, 24, 0.25),
    "regnet_y_3_2gf": (21, 80, 42.63, 2.66, 24, 0.25),
    "regnet_y_8gf": (17, 192, 76.82, 2.19, 56, 0.25),
    "regnet_y_16gf": (18, 200, 106.23, 2.48, 112, 0.25),
    "regnet_y_32gf": (20, 232, 115.89, 2.53, 232, 0.25),
    "regnet_y_128gf": (27, 456, 160.83, 2.52, 264, 0.25),
    "regnet_x_400mf": (22, 24, 24.48, 2.54, 16, None),
    "regnet_x_800mf": (16, 56, 35.73, 2.28, 16, None),
    "regnet_x_1_6gf": (18, 80, 34.01, 2.25, 24, None),
    "regnet_x_3_2gf": (25, 88, 26.31, 2.25, 48, None),
    "regnet_x_8gf": (23, 80, 49.56, 2.88, 120, None),
    "regnet_x_16gf": (22, 216, 55.59, 2.1, 128, None),
    "regnet_x_32gf": (23, 320, 69.86, 2.0, 168, None),
}
#: Width of the stem convolution (torchvision's `stem_width`, the paper's 32).
STEM_WIDTH = 32
#: The family's name, and the model name in the record of a design that is not registered.
FAMILY_NAME = "regnet"


def stages_of(key):
    """The `cnnblocks.design.RegNetStages` of a registered RegNet."""
    depth, w0, wa, wm, group_width, _ = REGNET_SPECS[key]
    return rule.regnet_stages(depth, w0, wa, wm, group_width)


def regnet_trunk(stages, se_ratio=None, stem_width=STEM_WIDTH):
    """The trunk of a RegNet: `body(x, ctx)`.

    Stem `stem` (zero padding 1, 3x3/2 convolution of `stem_width` channels without bias, BN
    epsilon 1e-5, ReLU: torchvision's `SimpleStemIN`), then for each stage of `stages` (a
    `cnnblocks.design.RegNetStages`) its `regnet_block`s, the first with stride 2. Taps: the
    last block of each stage, `C2` (1/4) to `C5` (1/32) for four stages.
    """
    def body(x, ctx):
        with identity.region(x, "stem", "stem", args={"filters": stem_width, "kernel_size": 3,
                                                      "strides": 2},
                             label=f"3x3 {stem_width} /2") as stem:
            x = stem.done(conv_bn_act(x, stem_width, 3, strides=2, padding=1, use_bias=False,
                                      bn_epsilon=TORCH_BN_EPSILON,
                                      data_format=ctx.data_format, name="stem"))
        for stage, (width, depth, group_width) in enumerate(stages, start=1):
            for block in range(1, depth + 1):
                x = regnet_block(x, width, strides=2 if block == 1 else 1,
                                 group_width=group_width,
                                 bottleneck_ratio=stages.bottleneck_ratio, se_ratio=se_ratio,
                                 data_format=ctx.data_format, name=f"s{stage}_b{block}")
            ctx.tap(f"C{stage + 1}", x)
        return x
    return body


def torch_layout(stages, se=False):
    """Keras layer -> torchvision module (and timm's, second) of a RegNet: `stem.0`/`stem.1`
    (`stem.conv`/`stem.bn`), `trunk_output.block{s}.block{s}-{b-1}.f.a.0` ...
    (`s{s}.b{b}.conv1.conv` ...), the projection `proj.0`/`.1` (`downsample.conv`/`.bn`),
    SE `f.se.fc1`/`fc2` (`se.fc1`/`fc2`), `fc` (`head.fc`)."""
    found = {"stem_conv": ("stem.0", "stem.conv"), "stem_bn": ("stem.1", "stem.bn"),
             "predictions": ("fc", "head.fc")}
    for stage, depth in enumerate(stages.depths, start=1):
        for block in range(1, depth + 1):
            ours = f"s{stage}_b{block}"
            tv, timm = f"trunk_output.block{stage}.block{stage}-{block - 1}", f"s{stage}.b{block}"
            for i, part in ((1, "a"), (2, "b"), (3, "c")):
                found[f"{ours}_{i}_conv"] = (f"{tv}.f.{part}.0", f"{timm}.conv{i}.conv")
                found[f"{ours}_{i}_bn"] = (f"{tv}.f.{part}.1", f"{timm}.conv{i}.bn")
            if se:
                found[f"{ours}_se_reduce"] = (f"{tv}.f.se.fc1", f"{timm}.se.fc1")
                found[f"{ours}_se_expand"] = (f"{tv}.f.se.fc2", f"{timm}.se.fc2")
            if block == 1:
                found[f"{ours}_0_conv"] = (f"{tv}.proj.0", f"{timm}.downsample.conv")
                found[f"{ours}_0_bn"] = (f"{tv}.proj.1", f"{timm}.downsample.bn")
    return fam.TorchLayout(found)


def build_design(entry, stages, se_ratio=None, *, stem_width=STEM_WIDTH,
                 variant=fam.TORCHVISION_VARIANT, **kwargs):
    """Builds the RegNet of `stages` under the model entry `entry` (a registered one, or the
    ad-hoc entry of `cnnblocks.design.regnet`); `kwargs` are the builder's arguments."""
    return common.build(entry, regnet_trunk(stages, se_ratio, stem_width), min_size=32,
                        variant=variant, **kwargs)


@dataclasses.dataclass(frozen=True)
class RegNetSpec:
    """The family's record of a RegNet design (`Design.spec`): its design parameters (see
    `cnnblocks.design.regnet_stages`), SE ratio, stem width, and the stages they give."""

    depth: int
    w0: float
    wa: float
    wm: float
    group_width: int
    se_ratio: object
    bottleneck_ratio: float
    stem_width: int
    stages: rule.RegNetStages


def design(depth, w0, wa, wm, group_width, se_ratio=None, bottleneck_ratio=1.0,
           stem_width=STEM_WIDTH, *, name=FAMILY_NAME, base=None, coefficients=(1.0, 1.0),
           resolution=224):
    """The family's design space (`FAMILY.design`): the `cnnblocks.family.Design` of a RegNet
    from its design parameters (checked, named). `base` and `coefficients` (width, depth)
    record where a scaled design came from."""
    stages = rule.regnet_stages(depth, w0, wa, wm, group_width, bottleneck_ratio)
    if se_ratio is not None:
        se_ratio = check.positive_number(se_ratio, "se_ratio")
    stem_width = check.positive_int(stem_width, "stem_width")
    spec = RegNetSpec(int(depth), w0, wa, wm, int(group_width), se_ratio, bottleneck_ratio,
                      stem_width, stages)
    return fam.Design(family=FAMILY_NAME, name=name, base=base, width=coefficients[0],
                      depth=coefficients[1], resolution=resolution,
                      stages=tuple(zip(stages.depths, stages.widths)), spec=spec,
                      build_fn=_build_design)


def _build_design(point, variant=fam.TORCHVISION_VARIANT, **kwargs):
    """Builds a `Design` of this family: model record family and model `"regnet"` (no
    registered entry, no weight sets), torchvision's structure and the layout of its modules
    (so a state dict of the same design converts)."""
    spec = point.spec
    entry = fam.ModelEntry(name=FAMILY_NAME, title="RegNet (design)", builder=None,
                           default_size=point.resolution, variants=(fam.TORCHVISION_VARIANT,),
                           torch_layout=torch_layout(spec.stages, se=spec.se_ratio is not None),
                           family=FAMILY_NAME)
    return build_design(entry, spec.stages, spec.se_ratio, stem_width=spec.stem_width,
                        variant=variant, **kwargs)


def estimate(point, *, input_shape, include_top=True, pooling=None, classes=1000,
             variant=None):
    """The family's estimator (`FAMILY.estimate`): the costs of a `Design` of this family
    (`cnnblocks.cost.Estimate`) at `input_shape` `(h, w, 3)`, walked layer by layer as
    `regnet_trunk` and the head build them, without building anything. `variant`: None or
    "torchvision", the family's only structure."""
    if variant is not None:
        check.choice(variant, "variant", (fam.TORCHVISION_VARIANT,))
    spec = point.spec
    tally = cost.Tally(input_shape)
    tally.pad(1)                                                # stem_pad, stem_conv, _bn, _relu
    tally.conv(spec.stem_width, 3, 2)
    tally.bn()
    tally.elementwise()
    tally.stage("stem")
    for stage, (width, depth, group_width) in enumerate(spec.stages, start=1):
        for block in range(1, depth + 1):
            regnet_block_cost(tally, width, strides=2 if block == 1 else 1,
                              group_width=group_width,
                              bottleneck_ratio=spec.stages.bottleneck_ratio,
                              se_ratio=spec.se_ratio)
        tally.stage(f"s{stage}")
    tally.head(include_top, pooling, classes)
    return tally.result()


def scale(entry, width, depth, resolution):
    """The family's scaling rule (`FAMILY.scale`), as Dollár, Singh and Girshick's "Fast and
    Accurate Model Scaling" (CVPR 2021) scales RegNets: `w0` and `wa` times `width` (`w0` to
    the nearest multiple of 8, at least 8; the rule then quantizes the widths to multiples of
    8), the depth `ceil(depth * d)`; `wm`, the group width and the SE ratio stay."""
    d, w0, wa, wm, group_width, se_ratio = REGNET_SPECS[entry.name]
    w0 = max(rule.WIDTH_QUANTUM, round(w0 * width / rule.WIDTH_QUANTUM) * rule.WIDTH_QUANTUM)
    return design(math.ceil(d * depth), w0, wa * width, wm, group_width,
                  se_ratio, name=f"{entry.name}_scaled", base=entry.name,
                  coefficients=(width, depth), resolution=resolution or entry.default_size)


def _build(key, variant, **kwargs):
    return build_design(FAMILY.model(key), stages_of(key), REGNET_SPECS[key][5],
                        variant=variant, **kwargs)


def RegNetY400MF(include_top=True, weights=None, input_tensor=None, input_shape=None,
                 pooling=None, classes=1000, classifier_activation="softmax",
                 name="regnet_y_400mf", *, variant="torchvision"):
    return _build("regnet_y_400mf", variant, include_top=include_top, weights=weights,
                  input_tensor=input_tensor, input_shape=input_shape, pooling=pooling,
                  classes=classes, classifier_activation=classifier_activation, name=name)


def RegNetY800MF(include_top=True, weights=None, input_tensor=None, input_shape=None,
                 pooling=None, classes=1000, classifier_activation="softmax",
                 name="regnet_y_800mf", *, variant="torchvision"):
    return _build("regnet_y_800mf", variant, include_top=include_top, weights=weights,
                  input_tensor=input_tensor, input_shape=input_shape, pooling=pooling,
                  classes=classes, classifier_activation=classifier_activation, name=name)


def RegNetY1_6GF(include_top=True, weights=None, input_tensor=None, input_shape=None,
                 pooling=None, classes=1000, classifier_activation="softmax",
                 name="regnet_y_1_6gf", *, variant="torchvision"):
    return _build("regnet_y_1_6gf", variant, include_top=include_top, weights=weights,
                  input_tensor=input_tensor, input_shape=input_shape, pooling=pooling,
                  classes=classes, classifier_activation=classifier_activation, name=name)


def RegNetY3_2GF(include_top=True, weights=None, input_tensor=None, input_shape=None,
                 pooling=None, classes=1000, classifier_activation="softmax",
                 name="regnet_y_3_2gf", *, variant="torchvision"):
    return _build("regnet_y_3_2gf", variant, include_top=include_top, weights=weights,
                  input_tensor=input_tensor, input_shape=input_shape, pooling=pooling,
                  classes=classes, classifier_activation=classifier_activation, name=name)


def RegNetY8GF(include_top=True, weights=None, input_tensor=None, input_shape=None,
               pooling=None, classes=1000, classifier_activation="softmax",
               name="regnet_y_8gf", *, variant="torchvision"):
    return _build("regnet_y_8gf", variant, include_top=include_top, weights=weights,
                  input_tensor=input_tensor, input_shape=input_shape, pooling=pooling,
                  classes=classes, classifier_activation=classifier_activation, name=name)


def RegNetY16GF(include_top=True, weights=None, input_tensor=None, input_shape=None,
                pooling=None, classes=1000, classifier_activation="softmax",
                name="regnet_y_16gf", *, variant="torchvision"):
    return _build("regnet_y_16gf", variant, include_top=include_top, weights=weights,
                  input_tensor=input_tensor, input_shape=input_shape, pooling=pooling,
                  classes=classes, classifier_activation=classifier_activation, name=name)


def RegNetY32GF(include_top=True, weights=None, input_tensor=None, input_shape=None,
                pooling=None, classes=1000, classifier_activation="softmax",
                name="regnet_y_32gf", *, variant="torchvision"):
    return _build("regnet_y_32gf", variant, include_top=include_top, weights=weights,
                  input_tensor=input_tensor, input_shape=input_shape, pooling=pooling,
                  classes=classes, classifier_activation=classifier_activation, name=name)


def RegNetY128GF(include_top=True, weights=None, input_tensor=None, input_shape=None,
                 pooling=None, classes=1000, classifier_activation="softmax",
                 name="regnet_y_128gf", *, variant="torchvision"):
    return _build("regnet_y_128gf", variant, include_top=include_top, weights=weights,
                  input_tensor=input_tensor, input_shape=input_shape, pooling=pooling,
                  classes=classes, classifier_activation=classifier_activation, name=name)


def RegNetX400MF(include_top=True, weights=None, input_tensor=None, input_shape=None,
                 pooling=None, classes=1000, classifier_activation="softmax",
                 name="regnet_x_400mf", *, variant="torchvision"):
    return _build("regnet_x_400mf", variant, include_top=include_top, weights=weights,
                  input_tensor=input_tensor, input_shape=input_shape, pooling=pooling,
                  classes=classes, classifier_activation=classifier_activation, name=name)


def RegNetX800MF(include_top=True, weights=None, input_tensor=None, input_shape=None,
                 pooling=None, classes=1000, classifier_activation="softmax",
                 name="regnet_x_800mf", *, variant="torchvision"):
    return _build("regnet_x_800mf", variant, include_top=include_top, weights=weights,
                  input_tensor=input_tensor, input_shape=input_shape, pooling=pooling,
                  classes=classes, classifier_activation=classifier_activation, name=name)


def RegNetX1_6GF(include_top=True, weights=None, input_tensor=None, input_shape=None,
                 pooling=None, classes=1000, classifier_activation="softmax",
                 name="regnet_x_1_6gf", *, variant="torchvision"):
    return _build("regnet_x_1_6gf", variant, include_top=include_top, weights=weights,
                  input_tensor=input_tensor, input_shape=input_shape, pooling=pooling,
                  classes=classes, classifier_activation=classifier_activation, name=name)


def RegNetX3_2GF(include_top=True, weights=None, input_tensor=None, input_shape=None,
                 pooling=None, classes=1000, classifier_activation="softmax",
                 name="regnet_x_3_2gf", *, variant="torchvision"):
    return _build("regnet_x_3_2gf", variant, include_top=include_top, weights=weights,
                  input_tensor=input_tensor, input_shape=input_shape, pooling=pooling,
                  classes=classes, classifier_activation=classifier_activation, name=name)


def RegNetX8GF(include_top=True, weights=None, input_tensor=None, input_shape=None,
               pooling=None, classes=1000, classifier_activation="softmax",
               name="regnet_x_8gf", *, variant="torchvision"):
    return _build("regnet_x_8gf", variant, include_top=include_top, weights=weights,
                  input_tensor=input_tensor, input_shape=input_shape, pooling=pooling,
                  classes=classes, classifier_activation=classifier_activation, name=name)


def RegNetX16GF(include_top=True, weights=None, input_tensor=None, input_shape=None,
                pooling=None, classes=1000, classifier_activation="softmax",
                name="regnet_x_16gf", *, variant="torchvision"):
    return _build("regnet_x_16gf", variant, include_top=include_top, weights=weights,
                  input_tensor=input_tensor, input_shape=input_shape, pooling=pooling,
                  classes=classes, classifier_activation=classifier_activation, name=name)


def RegNetX32GF(include_top=True, weights=None, input_tensor=None, input_shape=None,
                pooling=None, classes=1000, classifier_activation="softmax",
                name="regnet_x_32gf", *, variant="torchvision"):
    return _build("regnet_x_32gf", variant, include_top=include_top, weights=weights,
                  input_tensor=input_tensor, input_shape=input_shape, pooling=pooling,
                  classes=classes, classifier_activation=classifier_activation, name=name)


#: Per model: (title, total parameters, trainable parameters = torchvision's num_params,
#: weight depth, torchvision GFLOPS). Total = trainable + 2 per BN channel (BN's moving
#: statistics, which Keras counts and torchvision's `parameters()` does not); the BN channels
#: of a RegNet are the stem's 32 plus, per block, 2 x bottleneck width + width, plus each
#: stage's projection (width). Depth: the stem, 3 convolutions per block (5 through RegNetY's
#: SE), the classifier.
COUNTS = {
    "regnet_y_400mf": ("RegNetY-400MF", 4_371_296, 4_344_144, 82, 0.402),
    "regnet_y_800mf": ("RegNetY-800MF", 6_462_944, 6_432_512, 72, 0.834),
    "regnet_y_1_6gf": ("RegNetY-1.6GF", 11_255_102, 11_202_430, 137, 1.612),
    "regnet_y_3_2gf": ("RegNetY-3.2GF", 19_502_498, 19_436_338, 107, 3.176),
    "regnet_y_8gf": ("RegNetY-8GF", 39_468_000, 39_381_472, 87, 8.473),
    "regnet_y_16gf": ("RegNetY-16GF", 83_712_956, 83_590_140, 92, 15.912),
    "regnet_y_32gf": ("RegNetY-32GF", 145_205_058, 145_046_770, 102, 32.28),
    "regnet_y_128gf": ("RegNetY-128GF", 645_227_966, 644_812_894, 137, 127.518),
    "regnet_x_400mf": ("RegNetX-400MF", 5_533_832, 5_495_976, 68, 0.414),
    "regnet_x_800mf": ("RegNetX-800MF", 7_296_968, 7_259_656, 50, 0.8),
    "regnet_x_1_6gf": ("RegNetX-1.6GF", 9_233_640, 9_190_136, 56, 1.603),
    "regnet_x_3_2gf": ("RegNetX-3.2GF", 15_359_112, 15_296_552, 77, 3.177),
    "regnet_x_8gf": ("RegNetX-8GF", 39_663_112, 39_572_648, 71, 7.995),
    "regnet_x_16gf": ("RegNetX-16GF", 54_389_704, 54_278_536, 68, 15.941),
    "regnet_x_32gf": ("RegNetX-32GF", 107_973_576, 107_811_560, 71, 31.736),
}

_DOC = """\
{title}: a RegNet{kind} of {depth} blocks in {n} stages ({widths} channels, {depths} deep).

Radosavovic et al., "Designing Network Design Spaces", CVPR 2020,
https://arxiv.org/abs/2003.13678; structure and counts of torchvision's `{key}`. Design
parameters (`REGNET_SPECS[{key!r}]`): depth {depth}, w0 {w0}, wa {wa}, wm {wm}, group width
{g}{se_text}; `cnnblocks.design.regnet_stages` gives the stages, group widths {gws}.

Stem: `stem_pad` (zero padding 1), `stem_conv` 3x3/2 with 32 filters (no bias) + `stem_bn` +
`stem_relu`. Then stages `s1` ... `s{n}` of `regnet_block`s `s{{stage}}_b{{block}}`: 1x1,
grouped 3x3 (the first block of each stage with stride 2),{se_layers} 1x1, each with BN, and
a shortcut (a strided 1x1 projection with BN in each stage's first block). Head: `avg_pool`,
`predictions`.

Args:
    include_top: bool, add the global average pooling and the classifier. Default True.
    weights: None (random initialization), {sets} (torchvision's published weights: from the
        Keras cache, checked against the hash in their URL, downloaded when missing, converted
        on load; `cnnblocks.registry.entry({key!r}).pretrained` has their preprocessing) or the
        path of a weight file (Keras, or a PyTorch `.pth`/`.safetensors` state dict:
        torchvision's or timm's key names). No ImageNet file in keras.applications' format
        exists, so `"imagenet"` is refused.
""" + fam.TORCHVISION_ONLY_ARGS + """\

Returns:
    A `keras.Model` with {total:,} parameters, {trainable:,} of them trainable (=
    torchvision's `{key}` count; Keras adds BN's moving mean and variance), {top} feature
    channels at 1/32 of the input size without a top.

Note:
    torchvision's conventions: no convolution bias before BN, BN epsilon 1e-5, the stride on
    the grouped 3x3, explicit symmetric padding of strided convolutions (`stem_pad`,
    `s1_b1_2_pad`, ...), so torchvision's weights convert exactly (`FAMILY` records the
    module map as a `TorchLayout`). Inputs are expected in torch style (`preprocess_input`).
    Any other point of the design space: `cnnblocks.design.regnet(...)`.

Example:
    >>> from cnnblocks import {builder}
    >>> model = {builder}(include_top=False, input_shape=(64, 64, 3))
    >>> tuple(model.output.shape)
    (None, 2, 2, {top})
"""


def _doc(key, builder):
    depth, w0, wa, wm, g, se_ratio = REGNET_SPECS[key]
    stages = stages_of(key)
    title, total, trainable, _, _ = COUNTS[key]
    sets = " or ".join(f"`{name!r}`" for name in _TORCHVISION[key])
    return _DOC.format(
        title=title, kind="Y" if se_ratio else "X", key=key, depth=depth, w0=w0, wa=wa, wm=wm,
        g=g, n=len(stages), widths="/".join(map(str, stages.widths)),
        depths="/".join(map(str, stages.depths)),
        gws="/".join(map(str, stages.group_widths)),
        se_text=f", squeeze-and-excitation ratio {se_ratio}" if se_ratio else "",
        se_layers=(" squeeze-and-excitation (`_se_*`, squeezed to a quarter of the block's "
                   "input width)," if se_ratio else ""),
        sets=sets.replace("'", '"'), total=total, trainable=trainable,
        top=stages.widths[-1], builder=builder.__name__)


preprocess_input, decode_predictions = preprocessing.family_utils(
    "torch", "scaled to [0, 1], then ImageNet mean (0.485, 0.456, 0.406) subtracted and "
    "divided by std (0.229, 0.224, 0.225) per RGB channel (torchvision's weights)")


#: torchvision's ImageNet weights (torchvision/models/regnet.py, `RegNet_*_Weights`,
#: torchvision 0.28): `{weights name: (file, enum member after "IMAGENET1K_", acc@1, acc@5,
#: _file_size MB, (crop, resize, interpolation))}`. The file name carries the SHA-256 prefix torch hub checks.
#: IMAGENET1K_V2 is torchvision's DEFAULT (RegNetY-128GF: SWAG_E2E_V1). The SWAG sets (weakly
#: supervised pre-training on Instagram, then ImageNet: end-to-end fine-tuned at 384, or a
#: linear classifier at 224) are bicubic, resize = crop.
_V1, _V2 = (224, 256, "bilinear"), (224, 232, "bilinear")
_SWAG_E2E, _SWAG_LINEAR = (384, 384, "bicubic"), (224, 224, "bicubic")
_TORCHVISION = {
    "regnet_y_400mf": {
        "torchvision": ("regnet_y_400mf-c65dace8.pth", "V1",
            74.046, 91.716, 16.806, _V1),
        "torchvision_v2": ("regnet_y_400mf-e6988f5f.pth", "V2",
            75.804, 92.742, 16.806, _V2)},
    "regnet_y_800mf": {
        "torchvision": ("regnet_y_800mf-1b27b58c.pth", "V1",
            76.420, 93.136, 24.774, _V1),
        "torchvision_v2": ("regnet_y_800mf-58fc7688.pth", "V2",
            78.828, 94.502, 24.774, _V2)},
    "regnet_y_1_6gf": {
        "torchvision": ("regnet_y_1_6gf-b11a554e.pth", "V1",
            77.950, 93.966, 43.152, _V1),
        "torchvision_v2": ("regnet_y_1_6gf-0d7bc02a.pth", "V2",
            80.876, 95.444, 43.152, _V2)},
    "regnet_y_3_2gf": {
        "torchvision": ("regnet_y_3_2gf-b5a9779c.pth", "V1",
            78.948, 94.576, 74.567, _V1),
        "torchvision_v2": ("regnet_y_3_2gf-9180c971.pth", "V2",
            81.982, 95.972, 74.567, _V2)},
    "regnet_y_8gf": {
        "torchvision": ("regnet_y_8gf-d0d0e4a8.pth", "V1",
            80.032, 95.048, 150.701, _V1),
        "torchvision_v2": ("regnet_y_8gf-dc2b1b54.pth", "V2",
            82.828, 96.330, 150.701, _V2)},
    "regnet_y_16gf": {
        "torchvision": ("regnet_y_16gf-9e6ed7dd.pth", "V1",
            80.424, 95.240, 319.49, _V1),
        "torchvision_v2": ("regnet_y_16gf-3e4a00f9.pth", "V2",
            82.886, 96.328, 319.49, _V2),
        "torchvision_swag": ("regnet_y_16gf_swag-43afe44d.pth", "SWAG_E2E_V1",
            86.012, 98.054, 319.49, _SWAG_E2E),
        "torchvision_swag_linear": ("regnet_y_16gf_lc_swag-f3ec0043.pth", "SWAG_LINEAR_V1",
            83.976, 97.244, 319.49, _SWAG_LINEAR)},
    "regnet_y_32gf": {
        "torchvision": ("regnet_y_32gf-4dee3f7a.pth", "V1",
            80.878, 95.340, 554.076, _V1),
        "torchvision_v2": ("regnet_y_32gf-8db6d4b5.pth", "V2",
            83.368, 96.498, 554.076, _V2),
        "torchvision_swag": ("regnet_y_32gf_swag-04fdfa75.pth", "SWAG_E2E_V1",
            86.838, 98.362, 554.076, _SWAG_E2E),
        "torchvision_swag_linear": ("regnet_y_32gf_lc_swag-e1583746.pth", "SWAG_LINEAR_V1",
            84.622, 97.480, 554.076, _SWAG_LINEAR)},
    "regnet_y_128gf": {
        "torchvision_swag": ("regnet_y_128gf_swag-c8ce3e52.pth", "SWAG_E2E_V1",
            88.228, 98.682, 2461.564, _SWAG_E2E),
        "torchvision_swag_linear": ("regnet_y_128gf_lc_swag-cbe8ce12.pth", "SWAG_LINEAR_V1",
            86.068, 97.844, 2461.564, _SWAG_LINEAR)},
    "regnet_x_400mf": {
        "torchvision": ("regnet_x_400mf-adf1edd5.pth", "V1",
            72.834, 90.950, 21.258, _V1),
        "torchvision_v2": ("regnet_x_400mf-62229a5f.pth", "V2",
            74.864, 92.322, 21.257, _V2)},
    "regnet_x_800mf": {
        "torchvision": ("regnet_x_800mf-ad17e45c.pth", "V1",
            75.212, 92.348, 27.945, _V1),
        "torchvision_v2": ("regnet_x_800mf-94a99ebd.pth", "V2",
            77.522, 93.826, 27.945, _V2)},
    "regnet_x_1_6gf": {
        "torchvision": ("regnet_x_1_6gf-e3633e7f.pth", "V1",
            77.040, 93.440, 35.339, _V1),
        "torchvision_v2": ("regnet_x_1_6gf-a12f2b72.pth", "V2",
            79.668, 94.922, 35.339, _V2)},
    "regnet_x_3_2gf": {
        "torchvision": ("regnet_x_3_2gf-f342aeae.pth", "V1",
            78.364, 93.992, 58.756, _V1),
        "torchvision_v2": ("regnet_x_3_2gf-7071aa85.pth", "V2",
            81.196, 95.430, 58.756, _V2)},
    "regnet_x_8gf": {
        "torchvision": ("regnet_x_8gf-03ceed89.pth", "V1",
            79.344, 94.686, 151.456, _V1),
        "torchvision_v2": ("regnet_x_8gf-2b70d774.pth", "V2",
            81.682, 95.678, 151.456, _V2)},
    "regnet_x_16gf": {
        "torchvision": ("regnet_x_16gf-2007eb11.pth", "V1",
            80.058, 94.944, 207.627, _V1),
        "torchvision_v2": ("regnet_x_16gf-ba3796d7.pth", "V2",
            82.716, 96.196, 207.627, _V2)},
    "regnet_x_32gf": {
        "torchvision": ("regnet_x_32gf-9d47f8d0.pth", "V1",
            80.622, 95.248, 412.039, _V1),
        "torchvision_v2": ("regnet_x_32gf-6eb8fdc6.pth", "V2",
            83.014, 96.288, 412.039, _V2)},
}

#: GFLOPS torchvision states for the SWAG end-to-end sets, measured at their 384x384 input.
_SWAG_E2E_GFLOPS = {"regnet_y_16gf": 46.735, "regnet_y_32gf": 94.826, "regnet_y_128gf": 374.57}


def _weights(key):
    enum = f"RegNet_{key[7].upper()}_{key[9:].upper()}_Weights"
    found = {}
    for name, (file, member, top1, top5, size, (crop, resize, interpolation)) in (
            _TORCHVISION[key].items()):
        found[name] = fam.torchvision_weights(
            file, f"{enum}.IMAGENET1K_{member}", name=name, top1=top1, top5=top5,
            num_params=COUNTS[key][2], file_size_mb=size, input_size=crop,
            resize_size=resize, interpolation=interpolation)
    return found


_PAPER = "Radosavovic et al., Designing Network Design Spaces, CVPR 2020"


def _entry(key, builder):
    title, total, trainable, depth, gflops = COUNTS[key]
    others = ()
    if key in _SWAG_E2E_GFLOPS:
        others = (("torchvision MACs at 384x384 (SWAG E2E)", fam.torchvision_gflops(
            key, _SWAG_E2E_GFLOPS[key], "IMAGENET1K_SWAG_E2E_V1")),)
    reference = fam.torchvision_reference(
        key, paper=_PAPER, total=total, trainable=trainable, depth=depth,
        depth_source="derived: 2 + 3 per block (5 with SE)", gflops=gflops, others=others)
    se = REGNET_SPECS[key][5] is not None
    return fam.ModelEntry(name=key, title=title, builder=builder, default_size=224,
                          variants=(fam.TORCHVISION_VARIANT,), pretrained=_weights(key),
                          torch_layout=torch_layout(stages_of(key), se=se), reference=reference)


_BUILDERS = dict(zip(REGNET_SPECS, (RegNetY400MF, RegNetY800MF, RegNetY1_6GF, RegNetY3_2GF,
                                    RegNetY8GF, RegNetY16GF, RegNetY32GF, RegNetY128GF,
                                    RegNetX400MF, RegNetX800MF, RegNetX1_6GF, RegNetX3_2GF,
                                    RegNetX8GF, RegNetX16GF, RegNetX32GF)))
for _key, _builder in _BUILDERS.items():
    _builder.__doc__ = _doc(_key, _builder)

FAMILY = fam.Family(
    name=FAMILY_NAME,
    title="RegNet",
    paper=_PAPER,
    url="https://arxiv.org/abs/2003.13678",
    models=tuple(_entry(key, builder) for key, builder in _BUILDERS.items()),
    preprocess_input=preprocess_input,
    decode_predictions=decode_predictions,
    preprocessing="torch: scaled to [0, 1], ImageNet mean and std per RGB channel",
    blocks=("conv_bn_act", "regnet_block"),
    scale=scale,
    design=design,
    estimate=estimate,
)
