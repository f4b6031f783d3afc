"""Design spaces: from a handful of design parameters to a network's stages.

`regnet_stages` is the quantized linear rule of Radosavovic et al., "Designing Network Design
Spaces" (CVPR 2020), section 3.3: block `j` of a network of depth `d` has the continuous width
`u_j = w0 + wa * j`; it is snapped to the nearest power of `wm` times `w0` in log space
(`s_j = round(log(u_j / w0) / log(wm))`), quantized to a multiple of 8, and consecutive blocks of
one width form a stage. The rounding is torchvision's (`BlockParams.from_init_params`), in
float32 as torchvision computes it, so that every RegNet torchvision ships comes out stage for
stage (a test compares the two on the published configurations and on random draws of the
design space). A stage's bottleneck width `width * bottleneck_ratio` is then made a multiple of
its group width (the group width is capped at the bottleneck width first).

Nothing here imports Keras: a design is a few numbers until it is built (the rule itself is
`cnnblocks._regnet_rule`, which the RegNet family module shares).
"""

from cnnblocks import _validation as check
from cnnblocks._regnet_rule import MAX_DEPTH, WIDTH_QUANTUM, RegNetStages, regnet_stages
from cnnblocks.family import Design

__all__ = ["MAX_DEPTH", "WIDTH_QUANTUM", "Design", "RegNetStages", "compound_scale", "estimate",
           "estimable_models", "regnet", "regnet_stages", "scalable_models"]

#: The smallest input size a scaled design may default to (every family's builders' minimum).
MIN_RESOLUTION = 32


def _families():
    from cnnblocks.architectures import FAMILIES  # imports Keras and every family module
    return FAMILIES


def scalable_models():
    """The registered models `compound_scale` can scale (their family has a scaling rule),
    sorted: EfficientNet-B0 to B7, the ResNets, the RegNets."""
    return sorted(entry.name for family in _families().values() if family.scale is not None
                  for entry in family.models)


def compound_scale(base, width=1.0, depth=1.0, resolution=None):
    """Scales a registered model's widths, depths and input size under its family's rules.

    Tan & Le, "EfficientNet", ICML 2019, Section 3.3: compound scaling multiplies a network's
    channels by a width coefficient and its layers per stage by a depth coefficient, and
    grows the input. The family's own rounding applies: EfficientNet's `round_filters`
    (multiples of 8) and `round_repeats` (up), from B0's Table 1 and the base model's own
    coefficients (so `compound_scale("efficientnet_b0", 1.4, 1.8, 380)` is EfficientNet-B4,
    and scaling B4 by 1.1 in width is B0 at width 1.54); the same rounding for ResNet's stages
    and stem; RegNet's `w0` and `wa` times `width` and its depth `ceil(depth * d)` (Dollár,
    Singh and Girshick, "Fast and Accurate Model Scaling", CVPR 2021), widths quantized by the
    RegNet rule. `scalable_models()` lists what can be scaled.

    Args:
        base: str, a registered model name in any spelling (`"efficientnet_b0"`,
            `"ResNet-50"`, `"regnet_y_400mf"`), or a `Design` that this function returned
            (its coefficients multiply).
        width: number > 0, the width coefficient. Default 1.0.
        depth: number > 0, the depth coefficient. Default 1.0.
        resolution: None (the base's input size) or an int >= 32, the input size a build
            takes by default (with a top, the only one).

    Returns:
        A `cnnblocks.family.Design`: its `stages` (`(blocks, channels)` per stage), its
        coefficients relative to the family's base design, and `build(...)` (keras.applications'
        builder arguments), which builds it without pretrained weights.

    Raises:
        TypeError, ValueError: `base` is not a model name or Design, an unknown model, a model
            whose family has no scaling rule, a coefficient that is not a finite number > 0,
            a bad resolution, or a design the family cannot name (EfficientNet: more than 26
            blocks in a stage).

    Example:
        >>> from cnnblocks import design
        >>> b4 = design.compound_scale("efficientnet_b0", width=1.4, depth=1.8, resolution=380)
        >>> b4.stages
        ((2, 24), (4, 32), (4, 56), (6, 112), (6, 160), (8, 272), (2, 448))
        >>> b4.build().count_params()
        19466823
    """
    width = check.positive_number(width, "width")
    depth = check.positive_number(depth, "depth")
    if resolution is not None:
        resolution = check.positive_int(resolution, "resolution")
        if resolution < MIN_RESOLUTION:
            raise ValueError(f"`resolution`={resolution} is below {MIN_RESOLUTION}, the "
                             "smallest input the builders take.")
    from cnnblocks import registry  # every family module: imported only when needed
    if isinstance(base, Design):
        if base.base is None:
            raise ValueError(f"`base` is a design of no registered model ({base.name!r}); "
                             "scale its design parameters instead.")
        own_width, own_depth = _own(base.base)
        return compound_scale(base.base, base.width / own_width * width,
                              base.depth / own_depth * depth, resolution or base.resolution)
    if not isinstance(base, str):
        raise TypeError(f"`base` must be a registered model name (str) or a Design, received "
                        f"{check.describe(base)}.")
    entry = registry.entry(base, "base")
    family = _families()[entry.family]
    if family.scale is None:
        raise ValueError(f"`base`={base!r}: the {family.title} family has no scaling rule; "
                         f"`cnnblocks.design.scalable_models()` lists the models that have.")
    return family.scale(entry, width, depth, resolution)


def _own(name):
    """The coefficients of a registered model's own scaled design (EfficientNet-B4: 1.4, 1.8;
    a ResNet or RegNet: 1, 1)."""
    point = compound_scale(name)
    return point.width, point.depth


def regnet(depth, w0, wa, wm, group_width, se_ratio=None, bottleneck_ratio=1.0, *,
           stem_width=32, include_top=True, weights=None, input_tensor=None, input_shape=None,
           pooling=None, classes=1000, classifier_activation="softmax", name="regnet"):
    """Builds the RegNet of any point of the design space, as torchvision builds its RegNets.

    The stages are `regnet_stages(depth, w0, wa, wm, group_width, bottleneck_ratio)`; the
    model is the RegNet family's: a 3x3/2 stem of `stem_width` channels, then
    per stage `cnnblocks.blocks.regnet_block`s (the first with stride 2), then global average
    pooling and the classifier. With torchvision's parameters it is layer for layer the
    registered model (e.g. `regnet(16, 48, 27.89, 2.09, 8, se_ratio=0.25)` is
    `regnet_y_400mf`, 4,344,144 trainable parameters).

    Args:
        depth: the design, with `w0`, `wa`, `wm`, `group_width` and `bottleneck_ratio` (see
            `regnet_stages`).
        se_ratio: None (RegNetX) or a number > 0: squeeze-and-excitation in every block,
            squeezed to `round(se_ratio * c)` for the block's input width `c` (RegNetY: 0.25).
            Default None.
        stem_width: int, channels of the stem convolution. Default 32 (the paper's).
        include_top: as every builder (keras.applications' arguments), and so are
            `input_tensor`, `input_shape`, `pooling`, `classes` and `classifier_activation`.
        weights: None or the path of a weight file: a Keras file of this design, or a PyTorch
            state dict with torchvision's (or timm's) module names.
        name: model name. Default `"regnet"`.

    Returns:
        A `keras.Model` (its model record: family `"regnet"`, model `"regnet"`).

    Raises:
        ValueError, TypeError: a bad design parameter or builder argument, named.

    Example:
        >>> from cnnblocks import design
        >>> model = design.regnet(13, 24, 36.44, 2.49, 8, include_top=False,
        ...                       input_shape=(64, 64, 3))   # RegNetX-200MF
        >>> tuple(model.output.shape)
        (None, 2, 2, 368)
    """
    from cnnblocks.architectures import FAMILIES  # imports Keras: on first build
    point = FAMILIES["regnet"].design(depth, w0, wa, wm, group_width, se_ratio,
                                      bottleneck_ratio, stem_width)
    return point.build(include_top=include_top, weights=weights, input_tensor=input_tensor,
                       input_shape=input_shape, pooling=pooling, classes=classes,
                       classifier_activation=classifier_activation, name=name)


def estimable_models():
    """The registered models `estimate` can cost without building (their family has an
    estimator), sorted: EfficientNet-B0 to B7, the ResNets, the RegNets."""
    return sorted(entry.name for family in _families().values()
                  if family.estimate is not None and family.scale is not None
                  for entry in family.models)


def estimate(model, *, input_shape=None, include_top=True, pooling=None, classes=1000,
             variant=None):
    """Parameters, multiply-adds, activations and stage shapes of a design, without building it.

    The family walks the design's layers with the formulas of `cnnblocks.cost` (a convolution
    has `k*k*c_in/groups*c_out` weights and that many multiply-adds per output position, BN 4
    numbers per channel, 2 trainable, ...), in its builder's order: the figures equal the built
    model's `count_params()`, trainable weights, `cnnblocks.count_macs` and layer outputs
    exactly (a test compares them for every registered model of the families that estimate,
    and for random designs), at a fraction of the cost of building (`benchmarks/`).

    Args:
        model: a registered model name (any spelling) of a family that estimates
            (`estimable_models()`), or a `Design` of one (`compound_scale`, `regnet`'s
            family's `design`).
        input_shape: None (the design's `resolution`, square, 3 channels) or `(h, w, 3)`,
            static, at least 32x32.
        include_top: bool, with the classifier (global average pooling and `classes`
            outputs), as the builders. Default True.
        pooling: None, `"avg"` or `"max"`: the global pooling without a top.
        classes: int, the classifier's outputs. Default 1000.
        variant: None (the builders' default structure) or one of the model's `variants`
            (ResNet's "keras" and "torchvision" differ in biases, padding and strides).

    Returns:
        A `cnnblocks.cost.Estimate`: `params`, `trainable`, `macs`, `activations` (and
        `activation_bytes`), `output_shape`, and `stages` (the output shape of the stem and
        of every stage).

    Raises:
        TypeError, ValueError: `model` is not a name or Design, an unknown model, a family
            without an estimator, or a bad builder argument, named.

    Example:
        >>> from cnnblocks import design
        >>> costs = design.estimate("regnet_y_400mf")
        >>> costs.trainable, costs.macs
        (4344144, 401842848)
        >>> costs.stages[-1]
        ('s4', (7, 7, 440))
    """
    from cnnblocks import registry  # every family module: imported only when needed
    from cnnblocks.architectures import common
    if isinstance(model, Design):
        point = model
    elif isinstance(model, str):
        entry = registry.entry(model, "model")
        family = _families()[entry.family]
        if family.estimate is None or family.scale is None:
            raise ValueError(f"`model`={model!r}: the {family.title} family has no estimator "
                             "yet; build it and use count_params() and cnnblocks.count_macs "
                             "(`cnnblocks.design.estimable_models()` lists the others).")
        point = family.scale(entry, 1.0, 1.0, None)
    else:
        raise TypeError(f"`model` must be a registered model name (str) or a Design, received "
                        f"{check.describe(model)}.")
    family = _families()[point.family]
    if family.estimate is None:
        raise ValueError(f"`model`: the {family.title} family has no estimator yet; build "
                         "the design and use count_params() and cnnblocks.count_macs.")
    include_top = check.boolean(include_top, "include_top")
    if pooling is not None:
        check.choice(pooling, "pooling", ("avg", "max"))
    classes = check.classes(classes)
    shape = common.input_shape_for(input_shape, default_size=point.resolution,
                                   min_size=MIN_RESOLUTION, data_format="channels_last",
                                   require_static=True, weights=None)
    if any(d is None for d in shape):
        raise ValueError(f"`input_shape` must be static to estimate; received {shape}.")
    return family.estimate(point, input_shape=shape, include_top=include_top,
                           pooling=pooling, classes=classes, variant=variant)
