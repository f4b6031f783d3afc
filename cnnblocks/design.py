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

__all__ = ["COLUMNS", "MAX_DEPTH", "SPACES", "WIDTH_QUANTUM", "Design", "RegNetStages", "Sweep",
           "SweepRow", "compound_scale", "design_of", "estimate", "estimable_models",
           "pareto_front", "regnet", "regnet_stages", "scalable_models", "sweep"]

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
    estimator), sorted."""
    return sorted(entry.name for family in _families().values()
                  if family.estimate is not None for entry in family.models)


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
        if family.estimate is None:
            raise ValueError(f"`model`={model!r}: the {family.title} family has no estimator "
                             "yet; build it and use count_params() and cnnblocks.count_macs "
                             "(`cnnblocks.design.estimable_models()` lists the others).")
        # a family with a scaling rule estimates its designs (the model is its own, 1 x 1);
        # the others their registered models
        point = entry if family.scale is None else family.scale(entry, 1.0, 1.0, None)
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
    resolution = point.resolution if isinstance(point, Design) else point.default_size
    shape = common.input_shape_for(input_shape, default_size=resolution,
                                   min_size=MIN_RESOLUTION, data_format="channels_last",
                                   require_static=True, weights=None)
    if any(d is None for d in shape):
        raise ValueError(f"`input_shape` must be static to estimate; received {shape}.")
    return family.estimate(point, input_shape=shape, include_top=include_top,
                           pooling=pooling, classes=classes, variant=variant)


# ------------------------------------------------------------------------------ sweeps -------
#: The spaces `sweep` draws from. "regnet_x" and "regnet_y": the RegNet design space of
#: Radosavovic et al. (Section 4: depth 12 to 28, `w0` a multiple of 8 in [8, 256], `wa` in
#: [8, 256], `wm` in [1.5, 3], group width a power of 2 up to 32, bottleneck ratio 1; Y adds
#: squeeze-and-excite of ratio 1/4). "efficientnet" and "resnet": compound scaling of
#: EfficientNet-B0 and ResNet-50, width and depth coefficients log-uniform in [0.5, 2], the
#: resolution of the base (224).
SPACES = {
    "regnet_x": ("regnet", None),
    "regnet_y": ("regnet", 0.25),
    "efficientnet": ("scaled", "efficientnet_b0"),
    "resnet": ("scaled", "resnet50"),
}
#: The columns of a sweep's table (`Sweep.to_csv`): the row, the costs, whether it is on the
#: front, then the design parameters (those of the other kind of space left empty).
COLUMNS = ("row", "space", "params", "trainable", "macs", "activations", "front",
           "depth", "w0", "wa", "wm", "group_width", "se_ratio", "base", "width_coefficient",
           "depth_coefficient", "resolution")


def _draw(kind, extra, rng):
    """One design of a space (a dict of its design parameters), from `random.Random` `rng`."""
    if kind == "regnet":
        return dict(depth=rng.randint(12, 28), w0=8 * rng.randint(1, 32),
                    wa=round(rng.uniform(8.0, 256.0), 2), wm=round(rng.uniform(1.5, 3.0), 3),
                    group_width=2 ** rng.randint(0, 5), se_ratio=extra)
    return dict(base=extra, width_coefficient=round(2 ** rng.uniform(-1.0, 1.0), 3),
                depth_coefficient=round(2 ** rng.uniform(-1.0, 1.0), 3), resolution=None)


def design_of(row):
    """The `Design` of a sweep row (a `SweepRow`, or a dict of `COLUMNS` as `to_csv` writes and
    `csv.DictReader` reads them: strings are converted)."""
    values = row if isinstance(row, dict) else row.as_dict()

    def number(key, kind=float):
        value = values.get(key)
        return None if value in (None, "") else kind(float(value)) if kind is int else kind(value)

    if values.get("base") not in (None, ""):
        resolution = number("resolution", int)
        return compound_scale(values["base"], number("width_coefficient"),
                              number("depth_coefficient"), resolution)
    return _families()["regnet"].design(number("depth", int), number("w0", int), number("wa"),
                                        number("wm"), number("group_width", int),
                                        number("se_ratio"))


class SweepRow:
    """One design of a sweep that fits the budgets: its costs (`cost.Estimate` figures at the
    design's resolution, with a top of 1000 classes), whether it is on the Pareto front, and its
    design parameters (`design_of(row)` makes its `Design` again)."""

    __slots__ = ("row", "space", "params", "trainable", "macs", "activations", "front",
                 "parameters")

    def __init__(self, row, space, costs, parameters):
        self.row, self.space, self.parameters = row, space, dict(parameters)
        self.params, self.trainable = costs.params, costs.trainable
        self.macs, self.activations = costs.macs, costs.activations
        self.front = False

    def as_dict(self):
        values = {key: None for key in COLUMNS}
        values.update(row=self.row, space=self.space, params=self.params,
                      trainable=self.trainable, macs=self.macs, activations=self.activations,
                      front=self.front, **self.parameters)
        return values

    def __repr__(self):
        return (f"SweepRow({self.row}, {self.space}, params={self.params:,}, "
                f"macs={self.macs:,}{', front' if self.front else ''})")


class Sweep:
    """What `sweep` computed: `rows` (the designs within budget, in drawing order), `front`
    (those on the Pareto front of parameters and multiply-adds), `drawn` (designs estimated),
    `interrupted` (stopped by Ctrl-C: the rows are what it had computed)."""

    def __init__(self, space, rows, drawn, interrupted):
        self.space, self.rows, self.drawn, self.interrupted = space, rows, drawn, interrupted
        for r in pareto_front(rows):
            r.front = True

    @property
    def front(self):
        return [r for r in self.rows if r.front]

    def to_csv(self, path):
        """Writes the table (`COLUMNS`, one line per row) to `path`; returns the path."""
        import csv
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, COLUMNS)
            writer.writeheader()
            for r in self.rows:
                writer.writerow({k: ("" if v is None else v) for k, v in r.as_dict().items()})
        return path

    def references(self):
        """The registered models of the space's family (estimated at their own size) within
        the sweep's range of multiply-adds, as `(name, params, macs)`: the plot's labelled
        points."""
        kind, extra = SPACES[self.space]
        family = "regnet" if kind == "regnet" else _family_of(extra)
        if not self.rows:
            return []
        lo, hi = min(r.macs for r in self.rows), max(r.macs for r in self.rows)
        found = []
        for entry in _families()[family].models:
            if kind == "regnet" and (entry.name.startswith("regnet_y") != (extra is not None)):
                continue
            costs = estimate(entry.name)
            if lo / 2 <= costs.macs <= hi * 2:
                found.append((entry.name, costs.params, costs.macs))
        return found

    def plot(self, path, *, title=None):
        """Draws parameters against multiply-adds (log scales): every row, the front (a
        line), the registered models of the family nearby as labelled points; SVG, PNG or PDF
        by `path`'s extension. Needs matplotlib (`pip install cnnblocks[design]`)."""
        try:
            import matplotlib
        except ImportError:
            raise ImportError("Plotting a sweep needs matplotlib: pip install matplotlib "
                              "(or cnnblocks[design]).") from None
        matplotlib.use("Agg", force=False)
        from matplotlib import pyplot
        figure, axes = pyplot.subplots(figsize=(7, 5))
        try:
            axes.scatter([r.macs for r in self.rows], [r.params for r in self.rows], s=9,
                         color="#9aa5b1", label=f"{len(self.rows)} designs in budget")
            front = self.front
            axes.plot([r.macs for r in front], [r.params for r in front], "o-", ms=4,
                      color="#d1495b", label=f"Pareto front ({len(front)})")
            refs = self.references()
            if refs:
                axes.scatter([m for _, _, m in refs], [p for _, p, _ in refs], marker="*",
                             s=80, color="#00798c", label="registered models", zorder=3)
                for name, p, m in refs:
                    axes.annotate(name, (m, p), textcoords="offset points", xytext=(4, 4),
                                  fontsize=7)
            axes.set_xscale("log")
            axes.set_yscale("log")
            axes.set_xlabel("multiply-adds")
            axes.set_ylabel("parameters")
            axes.set_title(title or f"{self.space}: {self.drawn} designs drawn")
            axes.legend(fontsize=8)
            figure.tight_layout()
            figure.savefig(path)
        finally:
            pyplot.close(figure)
        return path

    def __repr__(self):
        return (f"Sweep({self.space!r}: {len(self.rows)} of {self.drawn} designs in budget, "
                f"{len(self.front)} on the front{', interrupted' if self.interrupted else ''})")


def _family_of(name):
    """The family name of a registered model."""
    from cnnblocks import registry
    return registry.entry(name, "model").family


def pareto_front(rows):
    """The rows no other row dominates: none has at most their multiply-adds and at most their
    parameters with one of the two smaller. Sorted by multiply-adds."""
    front, fewest = [], None
    for r in sorted(rows, key=lambda r: (r.macs, r.params)):
        if fewest is None or r.params < fewest:
            front.append(r)
            fewest = r.params
    return front


def _budget(value, arg):
    if value is None:
        return None
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(f"`{arg}` must be a pair (lo, hi) of numbers or None; received "
                         f"{check.describe(value)}.")
    lo, hi = (None if v is None else check.positive_number(v, arg, allow_zero=True)
              for v in value)
    if lo is not None and hi is not None and lo > hi:
        raise ValueError(f"`{arg}`=({lo:g}, {hi:g}): lo is above hi.")
    return lo, hi


def _within(value, budget):
    return budget is None or ((budget[0] is None or value >= budget[0])
                              and (budget[1] is None or value <= budget[1]))


def sweep(space, n, *, macs=None, params=None, seed=0, progress=None):
    """Draws `n` designs of a design space, estimates each without building it, keeps those
    within the budgets and marks the Pareto front of parameters against multiply-adds.

    Args:
        space: one of `SPACES`: "regnet_x", "regnet_y" (RegNet's design space), "efficientnet"
            or "resnet" (EfficientNet-B0 or ResNet-50 compound-scaled).
        n: int >= 1, the designs to draw (a draw the RegNet rule refuses is drawn again).
        macs: None or `(lo, hi)`: keep designs with `lo <= multiply-adds <= hi` (either end
            None: open).
        params: None or `(lo, hi)`, the same for the parameters (`count_params()`'s).
        seed: int, the random draws' seed: one seed, one sweep.
        progress: None or a callable `progress(done, n)` called after each design.

    Returns:
        A `Sweep`: `rows` (`SweepRow`s), `front`, `drawn`, `interrupted`, `to_csv(path)`.
        Ctrl-C during the sweep returns what was computed (`interrupted` True).

    Raises:
        TypeError, ValueError: an unknown space, `n` < 1, a budget that is not a pair of
            non-negative numbers or has lo > hi, named.

    Example:
        >>> from cnnblocks import design
        >>> found = design.sweep("regnet_y", 50, macs=(400e6, 800e6), seed=0)
        >>> all(400e6 <= r.macs <= 800e6 for r in found.rows), len(found.front) >= 1
        (True, True)
    """
    import random
    check.choice(space, "space", tuple(SPACES))
    n = check.positive_int(n, "n")
    macs, params = _budget(macs, "macs"), _budget(params, "params")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"`seed` must be an int; received {check.describe(seed)}.")
    kind, extra = SPACES[space]
    rng = random.Random(seed)
    rows, drawn, interrupted = [], 0, False
    try:
        while drawn < n:
            parameters = _draw(kind, extra, rng)
            try:
                point = design_of(parameters)
            except ValueError:      # the rule leaves a stage without channels: draw again
                continue
            costs = estimate(point)
            drawn += 1
            if _within(costs.macs, macs) and _within(costs.params, params):
                rows.append(SweepRow(len(rows), space, costs, parameters))
            if progress is not None:
                progress(drawn, n)
    except KeyboardInterrupt:
        interrupted = True
    return Sweep(space, rows, drawn, interrupted)
