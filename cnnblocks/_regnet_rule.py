"""RegNet's quantized linear rule (the design space's arithmetic, no Keras), shared by
`cnnblocks.design` (which re-exports it) and the RegNet family module.

Block `j` of a network of depth `d` has the continuous width `u_j = w0 + wa * j` (Radosavovic et
al., "Designing Network Design Spaces", CVPR 2020, section 3.3); it is snapped to the nearest
power of `wm` times `w0` in log space (`s_j = round(log(u_j / w0) / log(wm))`), quantized to a
multiple of 8, and consecutive blocks of one width form a stage. The rounding is torchvision's
(`BlockParams.from_init_params`), in float32 as torchvision computes it. A stage's bottleneck
width `width * bottleneck_ratio` is then made a multiple of its group width (the group width is
capped at the bottleneck width first).
"""

import dataclasses
import math
import numbers

import numpy as np

from cnnblocks import _validation as check

#: The quantum of RegNet's block widths (the paper's and torchvision's): every width a multiple
#: of 8.
WIDTH_QUANTUM = 8
#: Largest `depth` accepted: the paper's design space draws depths up to 64 and the largest
#: published RegNet (RegNetY-128GF) has 27 blocks; 1,000 is a sanity bound, not a model limit.
MAX_DEPTH = 1000


@dataclasses.dataclass(frozen=True)
class RegNetStages:
    """The stages of a RegNet design: one entry per stage in each field.

    Attributes:
        widths: output channels of each stage's blocks (a multiple of 8 before the
            group-width adjustment; with `bottleneck_ratio=1` always a multiple of the group
            width).
        depths: number of blocks in each stage (they sum to the design's `depth`).
        group_widths: channels per group of each stage's grouped 3x3 convolution.
        bottleneck_ratio: the bottleneck width of a block is `width * bottleneck_ratio`.
        strides: the first block of every stage has stride 2.
    """

    widths: tuple
    depths: tuple
    group_widths: tuple
    bottleneck_ratio: float = 1.0
    strides: tuple = ()

    @property
    def bottleneck_widths(self):
        """Channels of each stage's grouped 3x3 convolution: `int(width * bottleneck_ratio)`."""
        return tuple(int(w * self.bottleneck_ratio) for w in self.widths)

    @property
    def groups(self):
        """Number of groups of each stage's grouped convolution."""
        return tuple(b // g for b, g in zip(self.bottleneck_widths, self.group_widths))

    def __len__(self):
        return len(self.widths)

    def __iter__(self):
        """The stages as `(width, depth, group_width)` triples."""
        return iter(zip(self.widths, self.depths, self.group_widths))


def _make_divisible(value, divisor):
    """`value` rounded to the nearest multiple of `divisor` (at least `divisor`), rounded up
    once more when rounding lost over 10% (torchvision's and TF-slim's rule)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def regnet_stages(depth, w0, wa, wm, group_width, bottleneck_ratio=1.0):
    """The per-stage widths, depths and group widths of a RegNet design.

    Args:
        depth: number of blocks, an integer from 1 to `MAX_DEPTH` (the paper's `d`).
        w0: initial width `w_0`, a positive multiple of 8.
        wa: width slope `w_a` (channels added per block before quantization), a finite
            number > 0.
        wm: width multiplier `w_m` between stages in log space, a finite number > 1.
        group_width: channels per group of the grouped 3x3 convolutions (`g`), a positive
            integer; a stage whose bottleneck is narrower uses its bottleneck width instead.
        bottleneck_ratio: `b`, the bottleneck width over the block width (1.0 for the
            RegNetX/Y models); a finite number > 0.

    Returns:
        A `RegNetStages` (fields `widths`, `depths`, `group_widths`, `bottleneck_ratio`,
        `strides`; iterating it gives `(width, depth, group_width)` per stage). RegNetY-400MF
        (`regnet_stages(16, 48, 27.89, 2.09, 8)`) has widths (48, 104, 208, 440) and depths
        (1, 3, 6, 6).

    Raises:
        TypeError: an argument is not a number (`depth` and `group_width`: not an integer).
        ValueError: an argument out of its range, or a bottleneck ratio so small that a stage's
            bottleneck has no channel (no group width can divide it).
    """
    depth = check.at_most(check.positive_int(depth, "depth"), "depth", MAX_DEPTH,
                          "a sanity bound: published RegNets have at most 27 blocks")
    w0_text = (f"`w0` must be a positive multiple of {WIDTH_QUANTUM}, received "
               f"{check.describe(w0)}.")
    if isinstance(w0, bool) or not isinstance(w0, numbers.Real):
        raise TypeError(w0_text)
    if not math.isfinite(w0) or w0 <= 0 or w0 != int(w0) or int(w0) % WIDTH_QUANTUM:
        raise ValueError(w0_text)
    w0 = int(w0)
    wa = check.positive_number(wa, "wa")
    wm = check.positive_number(wm, "wm")
    if wm <= 1:
        raise ValueError(f"`wm` must be > 1 (the width ratio between stages), received "
                         f"{check.describe(wm)}.")
    group_width = check.positive_int(group_width, "group_width")
    bottleneck_ratio = check.positive_number(bottleneck_ratio, "bottleneck_ratio")

    # The quantized linear rule, in float32 like torchvision's tensors.
    continuous = np.arange(depth, dtype=np.float32) * np.float32(wa) + np.float32(w0)
    steps = np.round(np.log(continuous / np.float32(w0)) / np.float32(math.log(wm)))
    powers = np.float32(w0) * np.power(np.float32(wm), steps.astype(np.float32))
    block_widths = (np.round(powers / np.float32(WIDTH_QUANTUM)) * WIDTH_QUANTUM).astype(int)

    widths, depths = [], []
    for width in block_widths.tolist():
        if widths and widths[-1] == width:
            depths[-1] += 1
        else:
            widths.append(width)
            depths.append(1)

    # Make each stage's bottleneck a multiple of its group width.
    stage_widths, group_widths = [], []
    for width in widths:
        bottleneck = int(width * bottleneck_ratio)
        if bottleneck < 1:
            raise ValueError(
                f"`bottleneck_ratio` {bottleneck_ratio!r} leaves a stage of width {width} with "
                f"a bottleneck of {bottleneck} channels, which no `group_width` can divide; "
                f"use a ratio of at least {1 / width:g}.")
        group = min(group_width, bottleneck)
        stage_widths.append(int(_make_divisible(bottleneck, group) / bottleneck_ratio))
        group_widths.append(group)
    return RegNetStages(widths=tuple(stage_widths), depths=tuple(depths),
                        group_widths=tuple(group_widths), bottleneck_ratio=bottleneck_ratio,
                        strides=(2,) * len(stage_widths))
