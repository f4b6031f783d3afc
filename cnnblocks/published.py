"""Published reference numbers of the architectures, as data, each with its source.

`MODELS` maps a lowercase model name (`"vgg16"`, `"resnet50"`, `"googlenet"`, ...) to a
`Reference`: total and trainable parameters, weight-layer depth, multiply-adds, and the rows of
the paper's table where there is one (VGG Table 2, ResNet Table 1, GoogLeNet Table 1). Every
number is a `Figure` carrying its value, its source, its counting convention and the relative
tolerance a correct implementation is held to (0 for exact counts; the rounding of the printed
figure for "138M" or "3.8 x 10^9").

Counting conventions (the cause of most "mismatches" between sources):

- Keras counts BatchNormalization's moving mean and variance as parameters (4 per channel, 2
  trainable); torchvision counts only gamma and beta.
- keras.applications ResNet convolutions have biases even before BN; InceptionV3 has
  convolutions without bias and BN without gamma (`scale=False`).
- Multiply-adds (MACs) are counted as `cnnblocks.count_macs` does: convolutions and dense
  layers at batch 1; the ResNet and GoogLeNet papers' "FLOPs" are multiply-adds too.
- ResNet v1 (paper, keras.applications) strides the first 1x1 of a bottleneck, torchvision's
  v1.5 the 3x3: same parameters, more multiply-adds (ResNet-50: 3.858 G vs 4.089 G).
- Depth counts weight layers (convolutions, dense) on the longest input-to-output path.

Numbers "derived" below are computed from published ones with the derivation in a comment, where
no source prints the number in this project's (Keras) convention.

Example:
    >>> from cnnblocks import published
    >>> ref = published.get("ResNet50")
    >>> ref.params.value, ref.params.source
    (25636712, 'keras.applications ResNet50 count_params() (Keras Applications docs)')
"""

import dataclasses
import types

# Sources, named once.
KERAS = "keras.applications {} count_params() (Keras Applications docs)"
KERAS_MACS = ("count_macs of keras.applications {} (weights=None, batch 1); the TF profiler's "
              "float_ops / 2 agrees within 0.5%")
TORCHVISION = "torchvision weight metadata ({})"
VGG_PAPER = "Simonyan & Zisserman 2015, Table 2 (parameters in millions)"
RESNET_PAPER = "He et al. 2015, Table 1"
GOOGLENET_PAPER = "Szegedy et al. 2014, Table 1"
XCEPTION_PAPER = "Chollet 2017"

# Conventions, named once.
KERAS_PARAMS = "Keras: BN moving mean/variance counted (4 per channel)"
TRAINABLE = "Keras trainable: BN gamma/beta only"
MACS = "multiply-adds of convolutions and dense layers, batch 1 (cnnblocks.count_macs)"
DEPTH = "weight layers (conv, dense) on the longest input-output path"


@dataclasses.dataclass(frozen=True)
class Figure:
    """One published number.

    Attributes:
        value: int or float.
        source: where it is printed (paper table, Keras Applications docs, torchvision meta) or
            `"derived: ..."`.
        convention: what it counts.
        rel_tol: float, how far (relative) a correct implementation may be off: 0 for exact
            counts, the printed rounding for "138M" or "3.8 x 10^9".
    """

    value: float
    source: str
    convention: str = ""
    rel_tol: float = 0.0

    def matches(self, measured):
        """Whether `measured` is within `rel_tol` of the value."""
        return abs(measured - self.value) <= self.rel_tol * abs(self.value)

    def deviation(self, measured):
        """Relative deviation `(measured - value) / value`."""
        return (measured - self.value) / self.value if self.value else float(measured != 0)


@dataclasses.dataclass(frozen=True)
class PaperRow:
    """One row of a paper's architecture table.

    Attributes:
        label: the row as the paper prints it, e.g. `"inception (3a)"`.
        blocks: regular expression (`re.fullmatch`) selecting the `cnnblocks.summarize` rows
            the paper row covers, e.g. `r"conv2_block\\d+"`; None for the whole model.
        output: the paper's output size, e.g. `"28x28x256"` or `"56x56"`; None if not printed.
        params: `Figure` or None.
        macs: `Figure` or None.
        columns: the row's other columns, e.g. `{"#1x1": 64, ...}`.
    """

    label: str
    blocks: str = None
    output: str = None
    params: Figure = None
    macs: Figure = None
    columns: types.MappingProxyType = dataclasses.field(
        default_factory=lambda: types.MappingProxyType({}))


@dataclasses.dataclass(frozen=True)
class Reference:
    """The published numbers of one architecture.

    Attributes:
        name: lowercase model name, the key in `MODELS` (and in `cnnblocks.list_models()`).
        paper: the paper.
        input_shape: the input the numbers refer to (with the 1000-class top).
        params: total parameters, Keras convention.
        trainable_params: trainable parameters, Keras convention.
        depth: weight-layer depth.
        macs: multiply-adds at batch 1.
        table: tuple of `PaperRow`, the paper's architecture table (may be empty).
        table_source: which table `table` transcribes.
        others: tuple of `(label, Figure)`: the same quantities in other conventions.
    """

    name: str
    paper: str
    input_shape: tuple
    params: Figure
    trainable_params: Figure
    depth: Figure
    macs: Figure
    table: tuple = ()
    table_source: str = ""
    others: tuple = ()


def _exact(value, source, convention=""):
    return Figure(value, source, convention, 0.0)


def _rounded(value, tolerance, source, convention=""):
    """A figure printed rounded: `tolerance` (absolute, e.g. half its last printed unit)."""
    return Figure(value, source, convention, tolerance / value)


def _macs(value, source):
    """A multiply-add figure from a measurement (within 0.5%: the TF-profiler agreement)."""
    return Figure(value, source, MACS, 0.005)


# --- VGG ------------------------------------------------------------------------------------
# Configurations (Table 1): widths and convs per block; every block ends in a 2x2/2 max pool;
# head FC-4096, FC-4096, FC-1000. Keras-style counts (conv and dense biases, no BN).
# VGG11 (A) and VGG13 (B) keras-convention totals are computed from the configurations:
#   params = sum over convs (9 c_in + 1) c_out + (25088 + 1) 4096 + (4096 + 1) 4096
#            + (4096 + 1) 1000, head = 123,642,856:
#   A: convs 9,220,480 -> 132,863,336; B: convs 9,404,992 -> 133,047,848 (= torchvision vgg13).
# Multiply-adds (derived): sum over convs H W 9 c_in c_out + head 25088*4096 + 4096*4096 +
#   4096*1000 = 123,633,664:
#   A: 224^2*9*3*64 + 112^2*9*64*128 + 56^2*9*(128*256 + 256*256) + 28^2*9*(256*512 + 512^2)
#      + 14^2*9*2*512^2 = 7,485,456,384 -> 7,609,090,048;
#   B: the same with the second conv of blocks 1 and 2 -> 11,308,466,176.
_VGG = {
    # name: (Table 2 column, params, MACs figure, Table 2 params in millions)
    11: ("A", 132_863_336,
         Figure(7_609_090_048, "derived from configuration A (comment above)", MACS, 0.005),
         133),
    13: ("B", 133_047_848,
         Figure(11_308_466_176, "derived from configuration B (comment above)", MACS, 0.005),
         133),
    16: ("D", 138_357_544,
         _macs(15_470_000_000, KERAS_MACS.format("VGG16") + "; torchvision meta 15.47 G"),
         138),
    19: ("E", 143_667_240,
         _macs(19_630_000_000, TORCHVISION.format("vgg19: 19.63 GFLOPS") +
               "; He et al. 2015 quote 19.6e9"),
         144),
}


def _vgg(depth):
    column, params, macs, millions = _VGG[depth]
    if depth in (16, 19):
        source = KERAS.format(f"VGG{depth}")
    elif depth == 13:
        source = "computed from configuration B, Keras-style (= torchvision vgg13)"
    else:
        source = "computed from configuration A, Keras-style"
    return Reference(
        name=f"vgg{depth}",
        paper="Simonyan & Zisserman, Very Deep Convolutional Networks for Large-Scale Image "
              "Recognition, ICLR 2015",
        input_shape=(224, 224, 3),
        params=_exact(params, source, "conv and dense biases, no BN"),
        trainable_params=_exact(params, source, "all parameters trainable"),
        depth=_exact(depth, f"the name: {depth} weight layers (configuration {column})", DEPTH),
        macs=macs,
        table=(PaperRow(f"configuration {column} (total)", None,
                        params=_rounded(millions * 1_000_000, 500_000, VGG_PAPER,
                                        "parameters, millions")),),
        table_source=VGG_PAPER,
    )


# --- ResNet ---------------------------------------------------------------------------------
# Table 1 per depth: (block, stage blocks, output channels, paper FLOPs in 10^9).
# Keras-convention ResNet-18/34 totals are derived from torchvision's (which has no conv bias and
# counts 2 numbers per BN channel): keras = torchvision + 3 B, where B = the BN channels = the
# output channels summed over all convolutions (each conv is followed by one BN): 1 bias +
# moving mean + moving variance per channel. Trainable = keras - 2 B.
#   ResNet-18: B = 64 (conv1) + 2*128 + (2*256 + 128) + (2*512 + 256) + (2*1024 + 512) = 4,800
#     (projections only where the shape changes: first block of stages 3-5) ->
#     11,689,512 + 14,400 = 11,703,912; trainable 11,703,912 - 9,600 = 11,694,312.
#   ResNet-34: B = 64 + 3*128 + (4*256 + 128) + (6*512 + 256) + (3*1024 + 512) = 8,512 ->
#     21,797,672 + 25,536 = 21,823,208; trainable 21,823,208 - 17,024 = 21,806,184.
#   Check with ResNet-50 (bottleneck, projection in every stage): B = 26,560,
#     25,557,032 + 79,680 = 25,636,712 = keras.applications ResNet50.
# Multiply-adds: basic blocks stride their first 3x3 in both v1 and v1.5, so torchvision's
# figures are v1's. For the bottleneck depths, v1 (stride on the 1x1) = torchvision v1.5 minus
# the difference ResNet-50 shows (4.089 - 3.858 = 0.231 G), which only comes from the first
# block of stages 3-5, present in every depth:
#   ResNet-101: 7.801 - 0.231 = 7.570 G; ResNet-152: 11.514 - 0.231 = 11.283 G.
_RESNET = {
    # depth: (block, blocks per stage, total, trainable, MACs figure, Table 1 FLOPs (1e9),
    #         torchvision (num_params, GFLOPS))
    18: ("basic", (2, 2, 2, 2), 11_703_912, 11_694_312,
         _macs(1_814_000_000, TORCHVISION.format("resnet18: 1.814 GFLOPS; = v1")),
         1.8, (11_689_512, 1.814)),
    34: ("basic", (3, 4, 6, 3), 21_823_208, 21_806_184,
         _macs(3_664_000_000, TORCHVISION.format("resnet34: 3.664 GFLOPS; = v1")),
         3.6, (21_797_672, 3.664)),
    50: ("bottleneck", (3, 4, 6, 3), 25_636_712, 25_583_592,
         _macs(3_858_000_000, KERAS_MACS.format("ResNet50")),
         3.8, (25_557_032, 4.089)),
    101: ("bottleneck", (3, 4, 23, 3), 44_707_176, 44_601_832,
          _macs(7_570_000_000, "derived: torchvision 7.801 G (v1.5) - 0.231 G (comment)"),
          7.6, (44_549_160, 7.801)),
    152: ("bottleneck", (3, 8, 36, 3), 60_419_944, 60_268_520,
          _macs(11_283_000_000, "derived: torchvision 11.514 G (v1.5) - 0.231 G (comment)"),
          11.3, (60_192_808, 11.514)),
}


def _resnet(depth):
    block, stages, total, trainable, macs, paper_flops, (tv_params, tv_gflops) = _RESNET[depth]
    expansion = 4 if block == "bottleneck" else 1
    derived = depth in (18, 34)
    source = ("derived from torchvision's count (comment in cnnblocks/published.py)" if derived
              else KERAS.format(f"ResNet{depth}"))
    rows = [PaperRow("conv1", r"conv1", "112x112", columns=types.MappingProxyType(
        {"layers": "7x7, 64, stride 2"}))]
    for stage, (n, width) in enumerate(zip(stages, (64, 128, 256, 512))):
        size = 56 >> stage
        layers = (f"[1x1, {width}; 3x3, {width}; 1x1, {4 * width}] x {n}"
                  if block == "bottleneck" else f"[3x3, {width}; 3x3, {width}] x {n}")
        if stage == 0:
            layers = "3x3 max pool, stride 2; " + layers
        pattern = rf"conv{stage + 2}_block\d+" + ("|pool1" if stage == 0 else "")
        rows.append(PaperRow(f"conv{stage + 2}_x", pattern, f"{size}x{size}x{expansion * width}",
                             columns=types.MappingProxyType({"layers": layers})))
    rows.append(PaperRow("average pool, 1000-d fc, softmax", r"head", "1000"))
    # The FLOPs row is printed with one decimal, sometimes truncated rather than rounded
    # (ResNet-34: 3.664 G printed 3.6; ResNet-50: 3.858 G printed 3.8): tolerance 0.1 G.
    rows.append(PaperRow("FLOPs (total)", None,
                         macs=_rounded(paper_flops * 1e9, 0.1e9, RESNET_PAPER,
                                       "multiply-adds, 10^9, v1")))
    return Reference(
        name=f"resnet{depth}",
        paper="He et al., Deep Residual Learning for Image Recognition, CVPR 2016",
        input_shape=(224, 224, 3),
        params=_exact(total, source, KERAS_PARAMS + "; conv bias=True"),
        trainable_params=_exact(trainable, source, TRAINABLE),
        depth=_exact(depth, f"the name ({RESNET_PAPER})", DEPTH),
        macs=macs,
        table=tuple(rows),
        table_source=RESNET_PAPER + " (output sizes; FLOPs per depth)",
        others=(
            ("torchvision params (v1.5, BN 2 per channel, no conv bias)",
             _exact(tv_params, TORCHVISION.format(f"resnet{depth}"))),
            ("torchvision MACs (v1.5: stride on the 3x3)",
             _macs(int(tv_gflops * 1e9), TORCHVISION.format(f"resnet{depth}"))),
            ("paper FLOPs (v1)", _rounded(paper_flops * 1e9, 0.1e9, RESNET_PAPER)),
        ),
    )


# --- GoogLeNet ------------------------------------------------------------------------------
# Table 1, paper-faithful (convolutions with bias, no BN, LRN without parameters, 5x5 convs,
# no auxiliary classifiers, 1000 classes). Exact counts from the channel columns:
#   conv (k x k, c -> f) at n x n: params (k k c + 1) f, MACs n n k k c f.
#   inception(c; f1, r3, f3, r5, f5, pp) = (c+1) f1 + (c+1) r3 + (9 r3 + 1) f3 + (c+1) r5
#     + (25 r5 + 1) f5 + (c+1) pp.
#   conv1 7x7/2, 3 -> 64 at 112: 9,472 / 118,013,952 (the table's 2.7K / 34M are off).
#   conv2 1x1 64 -> 64 and 3x3 64 -> 192 at 56: 4,160 + 110,784 = 114,944 / 359,661,568.
#   inception rows below (params / MACs), linear 1024 -> 1000: 1,025,000 / 1,024,000.
#   Total: 6,998,552 parameters, 1,582,671,872 multiply-adds (the text: "1.5 billion").
_GOOGLENET_ROWS = (
    # (label, our block, output, depth, #1x1, #3x3red, #3x3, #5x5red, #5x5, pool proj,
    #  paper params, paper ops, exact params, exact MACs)
    ("convolution 7x7/2", "conv1", "112x112x64", 1, None, None, None, None, None, None,
     2_700, 34e6, 9_472, 118_013_952),
    ("max pool 3x3/2", "pool1", "56x56x64", 0, None, None, None, None, None, None,
     None, None, 0, 0),
    ("convolution 3x3/1", "conv2", "56x56x192", 2, None, 64, 192, None, None, None,
     112_000, 360e6, 114_944, 359_661_568),
    ("max pool 3x3/2", "pool2", "28x28x192", 0, None, None, None, None, None, None,
     None, None, 0, 0),
    ("inception (3a)", "inception_3a", "28x28x256", 2, 64, 96, 128, 16, 32, 32,
     159_000, 128e6, 163_696, 128_049_152),
    ("inception (3b)", "inception_3b", "28x28x480", 2, 128, 128, 192, 32, 96, 64,
     380_000, 304e6, 388_736, 304_267_264),
    ("max pool 3x3/2", "pool3", "14x14x480", 0, None, None, None, None, None, None,
     None, None, 0, 0),
    ("inception (4a)", "inception_4a", "14x14x512", 2, 192, 96, 208, 16, 48, 64,
     364_000, 73e6, 376_176, 73_608_192),
    ("inception (4b)", "inception_4b", "14x14x512", 2, 160, 112, 224, 24, 64, 64,
     437_000, 88e6, 449_160, 87_908_352),
    ("inception (4c)", "inception_4c", "14x14x512", 2, 128, 128, 256, 24, 64, 64,
     463_000, 100e6, 510_104, 99_850_240),
    ("inception (4d)", "inception_4d", "14x14x528", 2, 112, 144, 288, 32, 64, 64,
     580_000, 119e6, 605_376, 118_515_712),
    ("inception (4e)", "inception_4e", "14x14x832", 2, 256, 160, 320, 32, 128, 128,
     840_000, 170e6, 868_352, 169_996_288),
    ("max pool 3x3/2", "pool4", "7x7x832", 0, None, None, None, None, None, None,
     None, None, 0, 0),
    ("inception (5a)", "inception_5a", "7x7x832", 2, 256, 160, 320, 32, 128, 128,
     1_072_000, 54e6, 1_043_456, 51_079_168),
    ("inception (5b)", "inception_5b", "7x7x1024", 2, 384, 192, 384, 48, 128, 128,
     1_388_000, 71e6, 1_444_080, 70_697_984),
    ("avg pool 7x7/1, dropout (40%), linear, softmax", "head", "1000", 1,
     None, None, None, None, None, None, 1_000_000, 1e6, 1_025_000, 1_024_000),
)
GOOGLENET_PARAMS = 6_998_552
GOOGLENET_MACS = 1_582_671_872
_COLUMNS = ("depth", "#1x1", "#3x3 reduce", "#3x3", "#5x5 reduce", "#5x5", "pool proj")


def _googlenet_row(spec):
    label, block, output, *cols, p_params, p_ops, _, _ = spec
    columns = {k: v for k, v in zip(_COLUMNS, cols) if v is not None}
    # The printed params ("159K") and ops ("128M") are rounded to 3 digits but several rows are
    # 1-9% off the exact counts (the text says so): the tolerance is 10%. conv1's 2.7K / 34M are
    # far off the 7x7x3x64 kernel (9,472 / 118M) and stay shown as the paper prints them.
    return PaperRow(
        label, block, output,
        params=None if p_params is None else Figure(p_params, GOOGLENET_PAPER, "params", 0.1),
        macs=None if p_ops is None else Figure(p_ops, GOOGLENET_PAPER, "ops (multiply-adds)",
                                               0.1),
        columns=types.MappingProxyType(columns))


def _googlenet():
    derived = "derived from Table 1's channel columns (comment in cnnblocks/published.py)"
    return Reference(
        name="googlenet",
        paper="Szegedy et al., Going Deeper with Convolutions, CVPR 2015",
        input_shape=(224, 224, 3),
        params=_exact(GOOGLENET_PARAMS, derived, "conv bias, no BN, LRN no params, no aux"),
        trainable_params=_exact(GOOGLENET_PARAMS, derived, "all parameters trainable"),
        depth=_exact(22, GOOGLENET_PAPER + " and text: 22 layers with parameters", DEPTH),
        macs=Figure(GOOGLENET_MACS, derived, MACS, 0.005),
        table=tuple(_googlenet_row(s) for s in _GOOGLENET_ROWS) + (
            PaperRow("total (text: 1.5 billion multiply-adds)", None,
                     macs=_rounded(1.5e9, 0.1e9, "Szegedy et al. 2014, Section 5")),),
        table_source=GOOGLENET_PAPER,
        others=(("torchvision googlenet (BN, 3x3 in the 5x5 branch; not paper-faithful)",
                 _exact(6_624_904, TORCHVISION.format("googlenet; 1.498 GFLOPS"))),),
    )


# --- Xception and Inception V3 ---------------------------------------------------------------
def _xception():
    return Reference(
        name="xception",
        paper="Chollet, Xception: Deep Learning with Depthwise Separable Convolutions, CVPR 2017",
        input_shape=(299, 299, 3),
        params=_exact(22_910_480, KERAS.format("Xception"), KERAS_PARAMS),
        trainable_params=_exact(22_855_952, KERAS.format("Xception") + "; = " + XCEPTION_PAPER +
                                " Table 3", TRAINABLE),
        # 36 convolutional layers (the 1x1 residual convolutions are parallel to them) and the
        # logistic-regression layer: 2 + 3*2 (entry) + 8*3 (middle) + 2*2 (exit) + 1 = 37.
        depth=_exact(37, "derived: " + XCEPTION_PAPER + " Section 3, 36 conv layers + FC",
                     DEPTH),
        macs=_macs(8_357_000_000, KERAS_MACS.format("Xception") + " at 299x299"),
    )


def _inception_v3():
    return Reference(
        name="inception_v3",
        paper="Szegedy et al., Rethinking the Inception Architecture for Computer Vision, "
              "CVPR 2016",
        input_shape=(299, 299, 3),
        params=_exact(23_851_784, KERAS.format("InceptionV3"),
                      KERAS_PARAMS + "; no conv bias, BN scale=False"),
        trainable_params=_exact(23_817_352, KERAS.format("InceptionV3"), TRAINABLE),
        # Longest path of the released architecture: 5 stem convs, 3 x 3 (35x35 modules,
        # double-3x3 branch), 3 (reduction), 4 x 5 (17x17 modules, double-7x7 branch),
        # 4 (reduction), 2 x 3 (8x8 modules), 1 FC = 48.
        depth=_exact(48, "derived from the released architecture (comment)", DEPTH),
        macs=_macs(5_713_000_000, KERAS_MACS.format("InceptionV3") +
                   " at 299x299; torchvision meta 5.713 GFLOPS"),
        others=(("torchvision inception_v3 params without aux head (BN 2 per channel)",
                 _exact(23_834_568, TORCHVISION.format("inception_v3"))),
                ("Xception paper Table 3 params for Inception V3",
                 _exact(23_626_728, XCEPTION_PAPER + " Table 3"))),
    )


MODELS = types.MappingProxyType({
    **{f"vgg{d}": _vgg(d) for d in (11, 13, 16, 19)},
    **{f"resnet{d}": _resnet(d) for d in (18, 34, 50, 101, 152)},
    "googlenet": _googlenet(),
    "inception_v3": _inception_v3(),
    "xception": _xception(),
})


def get(name):
    """The `Reference` of a model by name (case-insensitive, `-` read as `_`).

    Args:
        name: str, e.g. `"ResNet50"`, `"inception-v3"`.

    Returns:
        A `Reference`.

    Raises:
        TypeError: `name` is not a string.
        KeyError: no published numbers for `name`; the message lists the known names.

    Example:
        >>> from cnnblocks import published
        >>> published.get("VGG16").depth.value
        16
    """
    if not isinstance(name, str):
        raise TypeError(f"`name` must be a string, received {name!r}.")
    key = name.lower().replace("-", "_")
    if key not in MODELS:
        raise KeyError(f"No published numbers for {name!r}; known: {', '.join(sorted(MODELS))}.")
    return MODELS[key]
