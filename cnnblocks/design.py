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

__all__ = ["MAX_DEPTH", "WIDTH_QUANTUM", "RegNetStages", "regnet", "regnet_stages"]


def regnet(depth, w0, wa, wm, group_width, se_ratio=None, bottleneck_ratio=1.0, *,
           stem_width=32, include_top=True, weights=None, input_tensor=None, input_shape=None,
           pooling=None, classes=1000, classifier_activation="softmax", name="regnet"):
    """Builds the RegNet of any point of the design space, as torchvision builds its RegNets.

    The stages are `regnet_stages(depth, w0, wa, wm, group_width, bottleneck_ratio)`; the
    model is `cnnblocks.architectures.regnet`'s: a 3x3/2 stem of `stem_width` channels, then
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
    stages = regnet_stages(depth, w0, wa, wm, group_width, bottleneck_ratio)
    if se_ratio is not None:
        se_ratio = check.positive_number(se_ratio, "se_ratio")
    stem_width = check.positive_int(stem_width, "stem_width")
    from cnnblocks.architectures import FAMILIES  # imports Keras: on first build
    return FAMILIES["regnet"].design(
        stages, se_ratio, stem_width=stem_width, builder=regnet, include_top=include_top,
        weights=weights, input_tensor=input_tensor, input_shape=input_shape, pooling=pooling,
        classes=classes, classifier_activation=classifier_activation, name=name)
