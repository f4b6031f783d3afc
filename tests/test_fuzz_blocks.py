"""Property-based fuzzing (hypothesis) of every public block (`cnnblocks.blocks.__all__`).

- Valid calls: random widths (1..16 channels), strides, kernel sizes, paddings, options and small
  inputs (both data formats, unknown height/width included). Each call is built into a
  `keras.Model` and must have exactly the parameters of the formula written here (from the
  block's docstring and paper), the output shape of the formula written here, and one recorded
  `cnnblocks.summarize` row of the block's kind.
- Invalid calls: every argument of every block (`inspect.signature`; the test
  `test_every_public_block_is_fuzzed` checks none is missing), one at a time, replaced by a bad
  value (wrong types, 0/1 for bools, numbers out of range, NaN and infinities, unknown choices,
  activations and initializers, names with `/`, arrays and tensors of the wrong kind or rank).
  Each must raise ValueError or TypeError whose message names that argument in backticks, is
  short, and dumps no array or tensor.
- Contextual refusals: inputs too small for the block, identity shortcuts that cannot fit,
  clashing suffixes, groups that do not divide, widths that leave no channel.

The builders are fuzzed in `tests/test_fuzz_builders.py`. Examples are bounded and
derandomized (`derandomize=True`: the same examples on every run), so the file is
deterministic. Formula conventions are those of `tests/test_blocks.py`: a convolution has
`kh*kw*c_in*c_out/groups` weights plus `c_out` biases, a separable one `kh*kw*c_in` depthwise
plus `c_in*c_out` pointwise weights, a depthwise one `kh*kw*c_in*m` (+ `c_in*m` biases), and
Keras counts 4 numbers per BatchNormalization channel (3 without scale).
"""

import dataclasses
import inspect
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import keras

import cnnblocks
from cnnblocks import blocks

# Argument validation and shape/parameter formulas, the same on every backend: the TensorFlow
# pass runs this file (conftest.py; it also passes under JAX and PyTorch).
pytestmark = pytest.mark.backend_independent

#: Examples per test case (hypothesis stops after this many passing examples). At these
#: settings the file runs 6,780 examples: 36 blocks x 25 valid calls = 900 (4 under JAX, see
#: below); 374 (block, argument) pairs x 15 bad values = 5,610 (the count of pairs is asserted
#: in `test_every_public_block_is_fuzzed`); and 27 contextual cases x 10 = 270 (inputs too
#: small, impossible identity shortcuts, clashing suffixes, groups, widths that leave no
#: channel).
#: JAX creates every new weight shape eagerly with an XLA compile per shape, so under JAX the
#: file builds 4 valid calls per block: it took 8.4 minutes with 25 and 2.9 minutes with 4
#: (measured on this shared 2-core machine, load 2-6). Every block is still built, and the
#: bad-value tests are the same on every backend.
VALID_BLOCK_EXAMPLES = 4 if keras.backend.backend() == "jax" else 25
INVALID_EXAMPLES = 15
CONTEXT_EXAMPLES = 10

FUZZ = dict(deadline=None, derandomize=True, database=None, print_blob=False,
            suppress_health_check=list(HealthCheck))

INPUT_NAME = "#input"  # names drawn below never contain '#', so they never collide with it


# --- parameter and shape formulas ------------------------------------------------------------

def pair(value):
    return tuple(int(v) for v in value) if isinstance(value, (list, tuple)) else (int(value),) * 2


def conv(k, c_in, c_out, bias=True, groups=1):
    kh, kw = pair(k)
    return kh * kw * (c_in // groups) * c_out + (c_out if bias else 0)


def sep(k, c_in, c_out, bias=True):
    kh, kw = pair(k)
    return kh * kw * c_in + c_in * c_out + (c_out if bias else 0)


def dw(k, c_in, m=1, bias=False):
    kh, kw = pair(k)
    return kh * kw * c_in * m + (c_in * m if bias else 0)


def bn(c, scale=True):
    return (4 if scale else 3) * c


def same(n, s):
    return None if n is None else -(-n // s)


def valid(n, k, s):
    return None if n is None else (n - k) // s + 1


def padded(n, k, s, before, after):
    """Output size of a "valid" convolution after explicit zero padding."""
    return None if n is None else (n + before + after - k) // s + 1


def make_divisible(value, divisor=8):
    """MobileNetV2/V3's width rounding (TF-Slim `_make_divisible`, written out here)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def se_params(c, s):
    """Squeeze-and-excite: two 1x1 convolutions with bias, `c -> s -> c`."""
    return conv(1, c, s) + conv(1, s, c)


# --- valid-value strategies ------------------------------------------------------------------

ints = st.integers(1, 16)
#: NumPy integers are integers (`numbers.Integral`): every block must take them as widths.
widths = st.one_of(ints, ints.map(np.int64))
small = st.one_of(st.integers(1, 6), st.integers(1, 6).map(np.int64))
channels = st.integers(1, 16)
kernels = st.one_of(st.integers(1, 5), st.tuples(st.integers(1, 5), st.integers(1, 5)),
                    st.lists(st.integers(1, 5), min_size=2, max_size=2))
strides_st = st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3)))
bools = st.one_of(st.booleans(), st.booleans().map(np.bool_))
epsilons = st.one_of(st.floats(1e-7, 1.0), st.just(1))
momenta = st.one_of(st.floats(0.0, 0.999), st.just(0))
activations = st.sampled_from(["relu", None, "linear", "sigmoid", "tanh", "gelu", "swish",
                               "relu6", keras.activations.relu])
initializers = st.sampled_from(["glorot_uniform", "he_normal", "zeros",
                                keras.initializers.Ones(),
                                {"class_name": "VarianceScaling",
                                 "config": {"scale": 2.0, "mode": "fan_out",
                                            "distribution": "truncated_normal"}}])
data_formats = st.sampled_from([None, "channels_last", "channels_first"])
names = st.one_of(st.none(), st.text(st.characters(exclude_characters="/#",
                                                   exclude_categories=("Cs",)),
                                     min_size=1, max_size=8))

#: conv_bn_act's layer-name suffixes: Keras' default, or three distinct strings without '/'.
_suffix = st.text(st.characters(exclude_characters="/#", exclude_categories=("Cs",)),
                  max_size=4)
suffixes = st.one_of(st.none(), st.tuples(_suffix, _suffix, _suffix).map(
    lambda t: ("_c" + t[0], "_b" + t[1], "_a" + t[2])))


def dim(minimum=1):
    """A height or width: at least `minimum`, or unknown (None)."""
    return st.one_of(st.integers(minimum, minimum + 8), st.none())


def unit_stride(strides):
    return pair(strides) == (1, 1)


@dataclasses.dataclass
class Case:
    """One call: the keyword arguments (widths and options, `data_format` included) and the
    input's height, width and channels."""

    kw: dict
    h: object
    w: object
    c: int

    @property
    def data_format(self):
        return self.kw.get("data_format") or "channels_last"

    def input_shape(self):
        return layout((self.h, self.w, self.c), self.data_format)

    def input(self):
        return keras.Input(self.input_shape(), name=INPUT_NAME)


def layout(hwc, data_format):
    h, w, c = hwc
    return (h, w, c) if data_format == "channels_last" else (c, h, w)


def case(draw, kw, *, min_hw=(1, 1), c=None):
    kw = dict(kw, data_format=draw(data_formats))
    return Case(kw, draw(dim(min_hw[0])), draw(dim(min_hw[1])),
                draw(channels) if c is None else c)


def shortcut_choice(draw, fits, choices=("auto", "projection", "identity")):
    """One of `choices`; "identity" only where the shapes allow it."""
    return draw(st.sampled_from([c for c in choices if fits or c != "identity"]))


def strided_output(kw, h, w, c_out):
    sh, sw = pair(kw["strides"])
    return same(h, sh), same(w, sw), c_out


def keep(channels_out):
    return lambda kw, h, w, c: (h, w, channels_out(kw, c))


# --- conv_bn_act -----------------------------------------------------------------------------

paddings = st.one_of(st.sampled_from(["same", "valid", "symmetric"]), st.integers(0, 2),
                     st.integers(0, 2).map(np.int64),
                     st.tuples(st.integers(0, 2), st.integers(0, 2)))


def pad_amounts(padding, kernel_size):
    """Zero padding per side `(rows, cols)` of a conv_bn_act padding; None for "same" (the
    docstring: an int / pair pads every side, "symmetric" pads `(k - 1) // 2`)."""
    kh, kw = pair(kernel_size)
    if isinstance(padding, str):
        return {"same": None, "valid": (0, 0), "symmetric": ((kh - 1) // 2, (kw - 1) // 2)}[
            padding]
    return pair(padding)


@st.composite
def conv_bn_act_case(draw):
    kind = draw(st.sampled_from(["plain", "separable", "depthwise"]))
    groups, m, c = 1, 1, draw(channels)
    if kind == "plain":
        groups = draw(st.integers(1, 3))
        c = groups * draw(st.integers(1, 5))
        filters = groups * draw(st.integers(1, 5))
    elif kind == "separable":
        filters = draw(widths)
    else:
        m = draw(st.integers(1, 3))
        filters = draw(st.sampled_from([None, c * m]))
    kernel, padding, activation = draw(kernels), draw(paddings), draw(activations)
    relu_layer = draw(bools) if activation in ("relu", "relu6") else False
    kw = dict(filters=filters, kernel_size=kernel, strides=draw(strides_st), padding=padding,
              use_bias=draw(bools), batch_norm=draw(bools), bn_scale=draw(bools),
              bn_epsilon=draw(epsilons), bn_momentum=draw(momenta), activation=activation,
              relu_layer=relu_layer, separable=kind == "separable",
              depthwise=kind == "depthwise", depth_multiplier=m, groups=groups,
              preactivation=draw(bools), kernel_initializer=draw(initializers),
              suffixes=draw(suffixes))
    pads = pad_amounts(padding, kernel) or (0, 0)
    need = tuple(max(1, k - 2 * p) for k, p in zip(pair(kernel), pads)) \
        if padding != "same" else (1, 1)
    return case(draw, kw, min_hw=need, c=c)


def conv_bn_act_channels(kw, c):
    return c * kw["depth_multiplier"] if kw["depthwise"] else kw["filters"]


def conv_bn_act_params(kw, c):
    f, bias, k = conv_bn_act_channels(kw, c), kw["use_bias"], kw["kernel_size"]
    if kw["depthwise"]:
        weights = dw(k, c, kw["depth_multiplier"], bias)
    elif kw["separable"]:
        weights = sep(k, c, f, bias)
    else:
        weights = conv(k, c, f, bias, groups=kw["groups"])
    normalized = c if kw["preactivation"] else f        # BN before or after the convolution
    return weights + (bn(normalized, kw["bn_scale"]) if kw["batch_norm"] else 0)


def conv_bn_act_output(kw, h, w, c):
    (kh, kw_), (sh, sw) = pair(kw["kernel_size"]), pair(kw["strides"])
    amounts = pad_amounts(kw["padding"], kw["kernel_size"])
    out = conv_bn_act_channels(kw, c)
    if amounts is None:
        return same(h, sh), same(w, sw), out
    (ph, pw) = amounts
    return padded(h, kh, sh, ph, ph), padded(w, kw_, sw, pw, pw), out


# --- VGG, Inception, SqueezeNet --------------------------------------------------------------

@st.composite
def vgg_block_case(draw):
    pool = draw(bools)
    kw = dict(filters=draw(widths), convs=draw(st.integers(1, 3)), kernel_size=draw(kernels),
              activation=draw(activations), pool=pool, batch_norm=draw(bools),
              bn_epsilon=draw(epsilons))
    return case(draw, kw, min_hw=(2, 2) if pool else (1, 1))


def vgg_block_params(kw, c):
    f, k = kw["filters"], kw["kernel_size"]
    norm = bn(f) if kw["batch_norm"] else 0
    return conv(k, c, f) + norm + (kw["convs"] - 1) * (conv(k, f, f) + norm)


def vgg_block_output(kw, h, w, c):
    if kw["pool"]:
        h, w = (None if n is None else n // 2 for n in (h, w))
    return h, w, kw["filters"]


@st.composite
def naive_inception_case(draw):
    return case(draw, dict(f1=draw(widths), f3=draw(widths), f5=draw(widths)))


def naive_inception_params(kw, c):
    return conv(1, c, kw["f1"]) + conv(3, c, kw["f3"]) + conv(5, c, kw["f5"])


@st.composite
def inception_case(draw):
    kw = {a: draw(widths) for a in ("f1", "f3_reduce", "f3", "f5_reduce", "f5", "pool_proj")}
    return case(draw, dict(kw, norm=draw(st.sampled_from([None, "batchnorm"])),
                           f5_kernel_size=draw(st.integers(1, 7))))


def inception_params(kw, c):
    use_bn = kw["norm"] == "batchnorm"

    def unit(k, c_in, c_out):
        return conv(k, c_in, c_out, bias=not use_bn) + (bn(c_out) if use_bn else 0)
    return (unit(1, c, kw["f1"]) + unit(1, c, kw["f3_reduce"])
            + unit(3, kw["f3_reduce"], kw["f3"]) + unit(1, c, kw["f5_reduce"])
            + unit(kw["f5_kernel_size"], kw["f5_reduce"], kw["f5"])
            + unit(1, c, kw["pool_proj"]))


@st.composite
def fire_case(draw):
    return case(draw, dict(squeeze=draw(widths), expand1x1=draw(widths),
                           expand3x3=draw(widths)))


# --- ResNet, ResNet v2, ResNeXt ---------------------------------------------------------------

@st.composite
def residual_case(draw):
    c, f, s = draw(channels), draw(widths), draw(strides_st)
    kw = dict(filters=f, strides=s, batch_norm=draw(bools), use_bias=draw(bools),
              bn_epsilon=draw(epsilons), padding=draw(st.sampled_from(["same", "symmetric"])),
              data_format=draw(data_formats))
    kw["shortcut"] = shortcut_choice(draw, c == f and unit_stride(s))
    return Case(kw, draw(dim()), draw(dim()), c)


def residual_params(kw, c):
    f, use_bn, bias = kw["filters"], kw["batch_norm"], kw["use_bias"]

    def unit(k, c_in, c_out):
        return conv(k, c_in, c_out, bias) + (bn(c_out) if use_bn else 0)
    fits = c == f and unit_stride(kw["strides"])
    project = kw["shortcut"] == "projection" or (kw["shortcut"] == "auto" and not fits)
    return unit(3, c, f) + unit(3, f, f) + (unit(1, c, f) if project else 0)


@st.composite
def bottleneck_case(draw):
    c, f, e, s = draw(channels), draw(widths), draw(st.integers(1, 4)), draw(strides_st)
    kw = dict(filters=f, strides=s, expansion=e, stride_on=draw(st.sampled_from(["1x1", "3x3"])),
              use_bias=draw(bools), bn_epsilon=draw(epsilons),
              padding=draw(st.sampled_from(["same", "symmetric"])),
              data_format=draw(data_formats))
    kw["shortcut"] = shortcut_choice(draw, c == e * f and unit_stride(s))
    return Case(kw, draw(dim()), draw(dim()), c)


def bottleneck_params(kw, c):
    f, bias = kw["filters"], kw["use_bias"]
    out = kw["expansion"] * f

    def unit(k, c_in, c_out):
        return conv(k, c_in, c_out, bias) + bn(c_out)
    fits = c == out and unit_stride(kw["strides"])
    project = kw["shortcut"] == "projection" or (kw["shortcut"] == "auto" and not fits)
    return (unit(1, c, f) + unit(3, f, f) + unit(1, f, out)
            + (unit(1, c, out) if project else 0))


@st.composite
def preact_bottleneck_case(draw):
    c, f, e, s = draw(channels), draw(widths), draw(st.integers(1, 4)), draw(strides_st)
    kw = dict(filters=f, strides=s, expansion=e, use_bias=draw(bools),
              bn_epsilon=draw(epsilons), data_format=draw(data_formats))
    kw["shortcut"] = shortcut_choice(draw, c == e * f)    # a strided identity is subsampled
    return Case(kw, draw(dim()), draw(dim()), c)


def preact_bottleneck_params(kw, c):
    # 4 c + c f + 4 f + 9 f^2 + 4 f + (f + b) e f, plus (c + b) e f for a projection.
    f, b = kw["filters"], int(kw["use_bias"])
    out = kw["expansion"] * f
    project = kw["shortcut"] == "projection" or c != out
    return (bn(c) + conv(1, c, f, False) + bn(f) + conv(3, f, f, False) + bn(f)
            + conv(1, f, out, b) + (conv(1, c, out, b) if project else 0))


@st.composite
def preact_residual_case(draw):
    c, f, s = draw(channels), draw(widths), draw(strides_st)
    kw = dict(filters=f, strides=s, use_bias=draw(bools), bn_epsilon=draw(epsilons),
              data_format=draw(data_formats))
    kw["shortcut"] = shortcut_choice(draw, c == f)
    return Case(kw, draw(dim()), draw(dim()), c)


def preact_residual_params(kw, c):
    # 4 c + 9 c f + 4 f + (9 f + b) f, plus (c + b) f for a projection.
    f, b = kw["filters"], int(kw["use_bias"])
    project = kw["shortcut"] == "projection" or c != f
    return (bn(c) + conv(3, c, f, False) + bn(f) + conv(3, f, f, b)
            + (conv(1, c, f, b) if project else 0))


def grouped_width(kw):
    """ResNeXt / WRN inner width `int(f d / 64) C k` (torchvision's formula)."""
    return (int(kw["filters"] * kw["base_width"] / 64) * kw["cardinality"]
            * kw["width_factor"])


@st.composite
def grouped_bottleneck_case(draw):
    c, f, s = draw(channels), draw(small), draw(strides_st)
    e = draw(st.integers(1, 4))
    kw = dict(filters=f, strides=s, cardinality=draw(st.integers(1, 3)),
              base_width=draw(st.integers(-(-64 // int(f)), 96)),
              width_factor=draw(st.integers(1, 2)), expansion=e, use_bias=draw(bools),
              bn_epsilon=draw(epsilons), data_format=draw(data_formats))
    kw["shortcut"] = shortcut_choice(draw, c == e * f and unit_stride(s))
    return Case(kw, draw(dim()), draw(dim()), c)


def grouped_bottleneck_params(kw, c):
    # c w + 4 w + 9 w^2 / C + 4 w + w e f + 4 e f, plus c e f + 4 e f for a projection
    # (and the biases with use_bias).
    w, out, b = grouped_width(kw), kw["expansion"] * kw["filters"], kw["use_bias"]
    fits = c == out and unit_stride(kw["strides"])
    project = kw["shortcut"] == "projection" or (kw["shortcut"] == "auto" and not fits)
    return (conv(1, c, w, b) + bn(w) + conv(3, w, w, b, groups=kw["cardinality"]) + bn(w)
            + conv(1, w, out, b) + bn(out) + ((conv(1, c, out, b) + bn(out)) if project else 0))


# --- RegNet -----------------------------------------------------------------------------------

def regnet_width(kw):
    """RegNet's bottleneck width `round(w b_ratio)` (torchvision's `BottleneckTransform`)."""
    return int(round(kw["filters"] * kw["bottleneck_ratio"]))


@st.composite
def regnet_case(draw):
    c, f, s = draw(channels), draw(widths), draw(strides_st)
    ratio = draw(st.sampled_from([1.0, 1, 0.5, 0.25, 2.0]))
    m = int(round(int(f) * ratio))
    if m < 1:
        ratio = 1.0
        m = int(f)
    group_width = draw(st.sampled_from([d for d in range(1, m + 1) if m % d == 0]))
    se = draw(st.sampled_from([None, 0.25, 0.5, 1.0, 2]))
    if se is not None and int(round(se * c)) < 1:
        se = None
    kw = dict(filters=f, strides=s, group_width=group_width, bottleneck_ratio=ratio,
              se_ratio=se, bn_epsilon=draw(epsilons), data_format=draw(data_formats))
    return Case(kw, draw(dim()), draw(dim()), c)


def regnet_params(kw, c):
    # c m + 4 m + 9 m g + 4 m + m w + 4 w, + 2 m r + r + m (SE), + c w + 4 w (projection)
    f, m, g = kw["filters"], regnet_width(kw), kw["group_width"]
    total = conv(1, c, m, False) + bn(m) + conv(3, m, m, False, groups=m // g) + bn(m) \
        + conv(1, m, f, False) + bn(f)
    if kw["se_ratio"]:
        total += se_params(m, int(round(kw["se_ratio"] * c)))
    if c != f or not unit_stride(kw["strides"]):
        total += conv(1, c, f, False) + bn(f)
    return total


def regnet_output(kw, h, w, c):
    sh, sw = pair(kw["strides"])
    return padded(h, 3, sh, 1, 1), padded(w, 3, sw, 1, 1), kw["filters"]


# --- ShuffleNet V2 -----------------------------------------------------------------------------

@st.composite
def shufflenet_case(draw):
    f = 2 * draw(st.integers(1, 8))
    s = draw(st.one_of(st.just(1), st.just((1, 1)), strides_st))
    c = f if unit_stride(s) else draw(channels)     # a unit of stride 1 keeps its width
    kw = dict(filters=f if draw(st.booleans()) else np.int64(f), strides=s,
              bn_epsilon=draw(epsilons), data_format=draw(data_formats))
    return Case(kw, draw(dim()), draw(dim()), c)


def shufflenet_params(kw, c):
    # h = f / 2; basic: 2 h^2 + 21 h; down-sampling: 13 c + 2 c h + h^2 + 25 h
    h, split = int(kw["filters"]) // 2, unit_stride(kw["strides"])
    right_in = h if split else c           # the right branch reads a half, or the whole input
    right = conv(1, right_in, h, False) + bn(h) + dw(3, h) + bn(h) + conv(1, h, h, False) + bn(h)
    left = 0 if split else dw(3, c) + bn(c) + conv(1, c, h, False) + bn(h)
    return left + right


def shufflenet_output(kw, h, w, c):
    sh, sw = pair(kw["strides"])
    return padded(h, 3, sh, 1, 1), padded(w, 3, sw, 1, 1), int(kw["filters"])


# --- Xception ---------------------------------------------------------------------------------

@st.composite
def xception_case(draw):
    c = draw(channels)
    filters = draw(st.one_of(widths, st.lists(widths, min_size=1, max_size=3),
                             st.lists(widths, min_size=1, max_size=3).map(tuple)))
    last = filters[-1] if isinstance(filters, (list, tuple)) else filters
    pool = draw(bools)
    kw = dict(filters=filters, pool=pool, activate_first=draw(bools),
              bn_epsilon=draw(epsilons), data_format=draw(data_formats))
    kw["shortcut"] = shortcut_choice(draw, c == last and not pool)
    return Case(kw, draw(dim()), draw(dim()), c)


def xception_widths(filters):
    return list(filters) if isinstance(filters, (list, tuple)) else [filters] * 3


def xception_params(kw, c):
    ws = xception_widths(kw["filters"])
    total, c_in = 0, c
    for w in ws:
        total += sep(3, c_in, w, bias=False) + bn(w)
        c_in = w
    fits = c == ws[-1] and not kw["pool"]
    if kw["shortcut"] == "projection" or (kw["shortcut"] == "auto" and not fits):
        total += conv(1, c, ws[-1], bias=False) + bn(ws[-1])
    return total


def xception_output(kw, h, w, c):
    stride = 2 if kw["pool"] else 1
    return same(h, stride), same(w, stride), xception_widths(kw["filters"])[-1]


# --- Inception-v3 and Inception-ResNet ---------------------------------------------------------

def v3_case(arg_names, min_hw=(1, 1), extra=None, pool=True, residual=False):
    @st.composite
    def strategy(draw):
        kw = {a: draw(widths) for a in arg_names}
        kw.update(use_bias=draw(bools), bn_scale=draw(bools), bn_epsilon=draw(epsilons))
        if pool:
            kw["count_include_pad"] = draw(bools)
        if residual:
            kw.update(scale=draw(st.sampled_from([0.17, 0.1, 0, 1, 2.5])),
                      activation=draw(st.sampled_from(["relu", None])))
        if extra is not None:
            kw.update(extra(draw))
        return case(draw, kw, min_hw=min_hw)
    return strategy()


def v3_unit(kw):
    def unit(k, c_in, c_out):
        return conv(k, c_in, c_out, kw["use_bias"]) + bn(c_out, kw["bn_scale"])
    return unit


def v3_a_params(kw, c):
    u = v3_unit(kw)
    return (u(1, c, kw["f1"]) + u(1, c, kw["f5_reduce"]) + u(5, kw["f5_reduce"], kw["f5"])
            + u(1, c, kw["f3_reduce"]) + u(3, kw["f3_reduce"], kw["f3"]) + u(3, kw["f3"], kw["f3"])
            + u(1, c, kw["pool_proj"]))


def v3_reduction_a_params(kw, c):
    u = v3_unit(kw)
    return (u(3, c, kw["f3"]) + u(1, c, kw["f3dbl_reduce"])
            + u(3, kw["f3dbl_reduce"], kw["f3dbl"]) + u(3, kw["f3dbl"], kw["f3dbl"]))


def v3_b_params(kw, c):
    u, r, rd = v3_unit(kw), kw["f7_reduce"], kw["f7dbl_reduce"]
    return (u(1, c, kw["f1"]) + u(1, c, r) + u((1, 7), r, r) + u((7, 1), r, kw["f7"])
            + u(1, c, rd) + u((7, 1), rd, rd) + u((1, 7), rd, rd) + u((7, 1), rd, rd)
            + u((1, 7), rd, kw["f7dbl"]) + u(1, c, kw["pool_proj"]))


def v3_reduction_b_params(kw, c):
    u, r = v3_unit(kw), kw["f7_reduce"]
    return (u(1, c, kw["f3_reduce"]) + u(3, kw["f3_reduce"], kw["f3"]) + u(1, c, r)
            + u((1, 7), r, r) + u((7, 1), r, r) + u(3, r, kw["f7"]))


def v3_c_params(kw, c):
    u, r, f3, rd, fd = (v3_unit(kw), kw["f3_reduce"], kw["f3"], kw["f3dbl_reduce"],
                        kw["f3dbl"])
    return (u(1, c, kw["f1"]) + u(1, c, r) + u((1, 3), r, f3) + u((3, 1), r, f3)
            + u(1, c, rd) + u(3, rd, fd) + u((1, 3), fd, fd) + u((3, 1), fd, fd)
            + u(1, c, kw["pool_proj"]))


def ir_a_params(kw, c):
    # Branch units (conv, BN), then the linear 1x1 with bias back to c channels.
    u = v3_unit(kw)
    return (u(1, c, kw["f1"]) + u(1, c, kw["f3_reduce"]) + u(3, kw["f3_reduce"], kw["f3"])
            + u(1, c, kw["f3dbl_reduce"]) + u(3, kw["f3dbl_reduce"], kw["f3dbl_1"])
            + u(3, kw["f3dbl_1"], kw["f3dbl_2"])
            + conv(1, kw["f1"] + kw["f3"] + kw["f3dbl_2"], c))


def ir_bc_params(n):
    """Inception-ResNet-B (n = 7: 1x7 then 7x1) and -C (n = 3)."""
    a, b = ("f1x7", "f7x1") if n == 7 else ("f1x3", "f3x1")
    r = "f7_reduce" if n == 7 else "f3_reduce"

    def params(kw, c):
        u = v3_unit(kw)
        return (u(1, c, kw["f1"]) + u(1, c, kw[r]) + u((1, n), kw[r], kw[a])
                + u((n, 1), kw[a], kw[b]) + conv(1, kw["f1"] + kw[b], c))
    return params


def ir_reduction_a_params(kw, c):
    u = v3_unit(kw)
    return u(3, c, kw["n"]) + u(1, c, kw["k"]) + u(3, kw["k"], kw["l"]) + u(3, kw["l"], kw["m"])


def ir_reduction_b_params(kw, c):
    u = v3_unit(kw)
    return (u(1, c, kw["f3_reduce"]) + u(3, kw["f3_reduce"], kw["f3"])
            + u(1, c, kw["f3b_reduce"]) + u(3, kw["f3b_reduce"], kw["f3b"])
            + u(1, c, kw["f3dbl_reduce"]) + u(3, kw["f3dbl_reduce"], kw["f3dbl_1"])
            + u(3, kw["f3dbl_1"], kw["f3dbl_2"]))


def concat_names(draw):
    # Upper-case names never collide with the layers a (drawn) block name gives.
    names_ = draw(st.one_of(st.none(), st.tuples(st.just("CAT_A"), st.just("CAT_B")),
                            st.lists(st.sampled_from([None, "CAT_X"]), min_size=2,
                                     max_size=2).filter(lambda v: v.count("CAT_X") < 2)))
    return {"concat_names": names_}


def reduction_output(*branches):
    return lambda kw, h, w, c: (valid(h, 3, 2), valid(w, 3, 2),
                                sum(kw[b] for b in branches) + c)


# --- DenseNet ---------------------------------------------------------------------------------

@st.composite
def dense_block_case(draw):
    kw = dict(num_layers=draw(st.integers(1, 3)), growth_rate=draw(small),
              bottleneck=draw(bools), bottleneck_width=draw(st.integers(1, 4)),
              bn_epsilon=draw(epsilons))
    return case(draw, kw)


def dense_block_params(kw, c):
    # sum_i (4 c_i + w k c_i + 4 w k + 9 w k^2) with the bottleneck, else sum_i (4 c_i + 9 k c_i)
    k, w, total = kw["growth_rate"], kw["bottleneck_width"], 0
    for i in range(kw["num_layers"]):
        ci = c + i * k
        total += (bn(ci) + conv(1, ci, w * k, False) + bn(w * k) + conv(3, w * k, k, False)
                  if kw["bottleneck"] else bn(ci) + conv(3, ci, k, False))
    return total


@st.composite
def transition_case(draw):
    c = draw(channels)
    theta = draw(st.sampled_from([0.5, 1, 1.0, 0.25, 0.75, 0.9, np.float64(0.5)]).filter(
        lambda t: int(c * t) >= 1))
    return case(draw, dict(compression=theta, bn_epsilon=draw(epsilons)), min_hw=(2, 2), c=c)


def transition_params(kw, c):
    return bn(c) + conv(1, c, int(c * kw["compression"]), False)    # 4 m + m int(theta m)


def transition_output(kw, h, w, c):
    return (None if h is None else h // 2, None if w is None else w // 2,
            int(c * kw["compression"]))


# --- MobileNet v1/v2/v3, squeeze-and-excite, EfficientNet --------------------------------------

DS_OWN = {"pad": "DS_PAD", "dw": "DS_DW", "pw": "DS_PW"}


@st.composite
def depthwise_separable_case(draw):
    f = draw(widths)
    kernel, strides = draw(kernels), draw(strides_st)
    kw = dict(filters=f, strides=strides,
              alpha=draw(st.sampled_from([1.0, 0.5, 0.75, 0.25, 2, 1.3]).filter(
                  lambda a: int(f * a) >= 1)),
              depth_multiplier=draw(st.integers(1, 3)), kernel_size=kernel,
              activation=draw(st.sampled_from(["relu6", "relu"])), bn_epsilon=draw(epsilons),
              layer_names=draw(st.one_of(st.none(), st.sets(st.sampled_from(sorted(DS_OWN)))
                                         .map(lambda keys: {k: DS_OWN[k] for k in keys}))))
    # Strided: k // 2 - 1 rows before, k // 2 after (the docstring's Note), then "valid".
    need = (1, 1) if unit_stride(strides) else tuple(
        max(1, k - max(0, k // 2 - 1) - k // 2) for k in pair(kernel))
    return case(draw, kw, min_hw=need)


def depthwise_separable_params(kw, c):
    # k_h k_w c m + 4 c m + c m f + 4 f, f = int(filters alpha)
    m, f = kw["depth_multiplier"], int(kw["filters"] * kw["alpha"])
    return dw(kw["kernel_size"], c, m) + bn(c * m) + conv(1, c * m, f, False) + bn(f)


def depthwise_separable_output(kw, h, w, c):
    f = int(kw["filters"] * kw["alpha"])
    if unit_stride(kw["strides"]):
        return h, w, f
    (kh, kw_), (sh, sw) = pair(kw["kernel_size"]), pair(kw["strides"])
    return (padded(h, kh, sh, max(0, kh // 2 - 1), kh // 2),
            padded(w, kw_, sw, max(0, kw_ // 2 - 1), kw_ // 2), f)


MOBILE_SHORTCUTS = ("auto", "identity", "none")


@st.composite
def inverted_residual_case(draw):
    c, f, s = draw(channels), draw(widths), draw(strides_st)
    kw = dict(filters=f, expansion=draw(st.integers(1, 4)), strides=s,
              kernel_size=draw(kernels), bn_epsilon=draw(epsilons), bn_momentum=draw(momenta),
              padding=draw(st.sampled_from(["same", "symmetric"])),
              activation=draw(st.sampled_from(["relu6", "relu"])),
              data_format=draw(data_formats))
    kw["shortcut"] = shortcut_choice(draw, c == f and unit_stride(s), MOBILE_SHORTCUTS)
    return Case(kw, draw(dim()), draw(dim()), c)


def inverted_residual_output(kw, h, w, c):
    """"same" (and any unstrided block): size / stride rounded up; "symmetric" on a strided
    block: k // 2 zeros on every side, then a valid k x k convolution."""
    if kw["padding"] == "same" or unit_stride(kw["strides"]):
        return strided_output(kw, h, w, kw["filters"])
    (kh, kw_), (sh, sw) = pair(kw["kernel_size"]), pair(kw["strides"])
    return (valid(None if h is None else h + 2 * (kh // 2), kh, sh),
            valid(None if w is None else w + 2 * (kw_ // 2), kw_, sw), kw["filters"])


def inverted_residual_params(kw, c):
    # c e + 4 e + k_h k_w e + 4 e + e f + 4 f, e = t c (no expansion terms for t = 1)
    t, f = kw["expansion"], kw["filters"]
    e = t * c
    expand = conv(1, c, e, False) + bn(e) if t != 1 else 0
    return expand + dw(kw["kernel_size"], e) + bn(e) + conv(1, e, f, False) + bn(f)


@st.composite
def mbconv_case(draw):
    c, f, s = draw(channels), draw(widths), draw(strides_st)
    kw = dict(filters=f, expand_ratio=draw(st.integers(1, 4)), kernel_size=draw(kernels),
              strides=s, se_ratio=draw(st.sampled_from([None, 0, 0.25, 0.5, 1, 0.1])),
              drop_rate=draw(st.sampled_from([0.0, 0, 0.2, 0.5])),
              activation=draw(st.sampled_from(["swish", "relu", "gelu", "silu"])),
              bn_epsilon=draw(epsilons), kernel_initializer=draw(initializers),
              bn_momentum=draw(momenta), version=draw(st.sampled_from([1, 2, np.int64(2)])),
              data_format=draw(data_formats))
    kw["shortcut"] = shortcut_choice(draw, c == f and unit_stride(s), MOBILE_SHORTCUTS)
    return Case(kw, draw(dim()), draw(dim()), c)


@st.composite
def fused_mbconv_case(draw):
    c, f, s = draw(channels), draw(widths), draw(strides_st)
    kw = dict(filters=f, expand_ratio=draw(st.integers(1, 4)), kernel_size=draw(kernels),
              strides=s, se_ratio=draw(st.sampled_from([None, 0, 0.25, 0.5, 1, 0.1])),
              drop_rate=draw(st.sampled_from([0.0, 0, 0.2, 0.5])),
              activation=draw(st.sampled_from(["swish", "relu", "gelu", "silu"])),
              bn_epsilon=draw(epsilons), bn_momentum=draw(momenta),
              kernel_initializer=draw(initializers), data_format=draw(data_formats))
    kw["shortcut"] = shortcut_choice(draw, c == f and unit_stride(s), MOBILE_SHORTCUTS)
    return Case(kw, draw(dim()), draw(dim()), c)


def fused_mbconv_params(kw, c):
    # t > 1: k_h k_w c e + 4 e + [e s + s + s e + e] + e f + 4 f, e = t c;
    # t = 1: [c s + s + s c + c] + k_h k_w c f + 4 f; s = max(1, int(c se_ratio))
    t, f, ratio = kw["expand_ratio"], kw["filters"], kw["se_ratio"]
    e = t * c
    if t == 1:
        se = se_params(c, max(1, int(c * ratio))) if ratio else 0
        return se + conv(kw["kernel_size"], c, f, False) + bn(f)
    se = se_params(e, max(1, int(c * ratio))) if ratio else 0
    return conv(kw["kernel_size"], c, e, False) + bn(e) + se + conv(1, e, f, False) + bn(f)


def mbconv_params(kw, c):
    # [c e + 4 e] + k_h k_w e + 4 e + [e s + s + s e + e] + e f + 4 f, e = r c,
    # s = max(1, int(c se_ratio))
    r, f, ratio = kw["expand_ratio"], kw["filters"], kw["se_ratio"]
    e = r * c
    expand = conv(1, c, e, False) + bn(e) if r != 1 else 0
    se = se_params(e, max(1, int(c * ratio))) if ratio else 0
    return expand + dw(kw["kernel_size"], e) + bn(e) + se + conv(1, e, f, False) + bn(f)


@st.composite
def convnext_case(draw):
    c = draw(channels)
    kw = dict(filters=draw(st.sampled_from([c, np.int64(c)])),
              expansion=draw(st.integers(1, 4)), kernel_size=draw(kernels),
              drop_rate=draw(st.sampled_from([0.0, 0, 0.1, 0.5])),
              layer_scale_init_value=draw(st.sampled_from([None, 1e-6, 0.5, 1])),
              ln_epsilon=draw(epsilons),
              data_format=draw(st.sampled_from([None, "channels_last"])))
    return Case(kw, draw(dim()), draw(dim()), c)


def convnext_params(kw, c):
    # k_h k_w c + c + 2 c + (c e c + e c) + (e c c + c) [+ c]: 2 e c^2 + (k_h k_w + e + 4) c,
    # plus c with LayerScale
    e, (kh, kw_) = kw["expansion"], pair(kw["kernel_size"])
    scale = c if kw["layer_scale_init_value"] is not None else 0
    return 2 * e * c * c + (kh * kw_ + e + 4) * c + scale


@st.composite
def nasnet_stem_case(draw):
    c = draw(channels)
    kw = dict(filters=draw(widths), bn_momentum=draw(momenta), bn_epsilon=draw(epsilons),
              data_format=draw(st.sampled_from([None, "channels_last", "channels_first"])))
    return Case(kw, draw(dim(3)), draw(dim(3)), c)


@st.composite
def nasnet_adjust_case(draw):
    c = draw(channels)
    # (strides=1 with `filters` equal to the channels is no layer at all: no block to check)
    kw = dict(filters=draw(st.integers(2, 16).filter(lambda f: f != c)),
              strides=draw(st.sampled_from([1, 2])), bn_momentum=draw(momenta),
              bn_epsilon=draw(epsilons),
              data_format=draw(st.sampled_from([None, "channels_last", "channels_first"])))
    return Case(kw, draw(st.integers(2, 9)), draw(st.integers(2, 9)), c)


def nasnet_adjust_params(kw, c):
    f = int(kw["filters"])
    if kw["strides"] == 2:
        return 2 * c * (f // 2) + 8 * (f // 2)
    return c * f + 4 * f if c != f else 0


def nasnet_adjust_output(kw, h, w, c):
    f = int(kw["filters"])
    if kw["strides"] == 2:
        return -(-h // 2), -(-w // 2), 2 * (f // 2)
    return h, w, f


@st.composite
def nasnet_cell_case(draw, reduction):
    """A first cell (`previous=None`: `x` stands for both inputs; a normal cell then needs
    `filters` equal to `x`'s channels)."""
    c = draw(st.integers(1, 12))
    kw = dict(previous=None, filters=draw(st.integers(1, 12)) if reduction else c,
              previous_stride=draw(st.sampled_from(["auto", 1, 2])),
              bn_momentum=draw(momenta), bn_epsilon=draw(epsilons),
              data_format=draw(st.sampled_from([None, "channels_last", "channels_first"])))
    return Case(kw, draw(st.integers(2, 9)), draw(st.integers(2, 9)), c)


def nasnet_cell_params(reduction):
    """The docstrings' formulas: `c F + 4 F` + the five separable blocks; a first reduction
    cell's three blocks on `p` read `x` itself (kernels 7, 7, 5: `(k^2 + F)(c - F)` each)."""
    def params(kw, c):
        f = kw["filters"]
        if not reduction:
            return c * f + 4 * f + 10 * f * f + 194 * f
        return (c * f + 4 * f + 10 * f * f + 354 * f
                + sum((k * k + f) * (c - f) for k in (7, 7, 5)))
    return params


NASNET_OWN = ("normal_", "reduction_", "separable_", "adjust_")
BAD_PREVIOUS = st.sampled_from([3, "previous", [1, 2], (None,), np.zeros((1, 4, 4, 8),
                                                                         "float32")])


@st.composite
def mobilenet_v3_case(draw):
    c, f, s = draw(channels), draw(widths), draw(strides_st)
    kw = dict(exp_size=draw(st.one_of(widths, st.just(c))), filters=f,
              kernel_size=draw(kernels), strides=s,
              se_ratio=draw(st.sampled_from([None, 0.25, 0.5, 1.0, 0.1])),
              activation=draw(st.sampled_from(["relu", "hard_swish"])),
              bn_epsilon=draw(epsilons), bn_momentum=draw(momenta),
              data_format=draw(data_formats))
    kw["shortcut"] = shortcut_choice(draw, c == f and unit_stride(s), MOBILE_SHORTCUTS)
    return Case(kw, draw(dim()), draw(dim()), c)


def mobilenet_v3_params(kw, c):
    # [c e + 4 e] + k_h k_w e + 4 e + [e s + s + s e + e] + e f + 4 f,
    # s = make_divisible(e se_ratio); no expansion when e == c
    e, f, ratio = kw["exp_size"], kw["filters"], kw["se_ratio"]
    expand = conv(1, c, e, False) + bn(e) if e != c else 0
    se = se_params(e, make_divisible(e * ratio)) if ratio else 0
    return expand + dw(kw["kernel_size"], e) + bn(e) + se + conv(1, e, f, False) + bn(f)


SE_OWN = {"squeeze": "_Q1", "reshape": "_Q2", "reduce": "_Q3", "reduce_act": "_Q4",
          "expand": "_Q5", "gate": "_Q6", "excite": "_Q7"}


@st.composite
def squeeze_excite_case(draw):
    kw = dict(filters=draw(widths),
              activation=draw(st.sampled_from(["relu", "swish", "relu6", "gelu",
                                               "hard_swish"])),
              gate=draw(st.sampled_from(["sigmoid", "hard_sigmoid"])), reshape=draw(bools),
              fused_activations=draw(bools), kernel_initializer=draw(initializers),
              suffixes=draw(st.one_of(st.none(), st.sets(st.sampled_from(sorted(SE_OWN)))
                                      .map(lambda keys: {k: SE_OWN[k] for k in keys}))))
    return case(draw, kw)


# --- bad-value strategies --------------------------------------------------------------------

BIG_ARRAY = np.zeros((64, 64))
NAN, INF = float("nan"), float("inf")


def _known_activation(text):
    try:
        keras.activations.get(text)
        return True
    except (ValueError, TypeError):
        return False


def bad_choice(choices, extra=()):
    strings = [c for c in choices if isinstance(c, str)]
    return st.one_of(
        st.text(max_size=10).filter(lambda s: s not in choices),
        st.sampled_from([s.upper() for s in strings] + [s + " " for s in strings]
                        + list(extra)),
        st.integers(), st.floats(allow_nan=True), st.booleans(),
        *([] if None in choices else [st.none()]),
        st.sampled_from([np.array([strings[0]]), np.array(strings[0]), [strings[0]],
                         (strings[0],), strings[0].encode(), BIG_ARRAY]))


def _with_slash(text, at):
    at = min(at, len(text))
    return text[:at] + "/" + text[at:]


def _bad_x(data_format):
    """Inputs no block takes: not a symbolic tensor, or the wrong rank, or unknown channels."""
    unknown = (8, 8, None) if data_format == "channels_last" else (None, 8, 8)
    return st.sampled_from([
        ("numpy image batch", lambda: np.zeros((1, 8, 8, 4), "float32")),
        ("big numpy array", lambda: np.ones((40, 40))),
        ("None", lambda: None),
        ("nested list", lambda: [[1.0, 2.0], [3.0, 4.0]]),
        ("string", lambda: "image.png"),
        ("int", lambda: 3),
        ("eager tensor", lambda: keras.ops.zeros((1, 8, 8, 4))),
        ("rank-2 tensor", lambda: keras.Input((8,))),
        ("rank-3 tensor", lambda: keras.Input((8, 8))),
        ("rank-5 tensor", lambda: keras.Input((2, 8, 8, 4))),
        ("unknown channels", lambda: keras.Input(unknown)),
    ])


BAD_SCALARS = [None, "2", "", b"3", 2 + 0j, np.array(3), np.ones(3), BIG_ARRAY, object()]
#: Out-of-range and non-numbers for rates and ratios; `low` is added by each kind.
_BAD_RATES = [NAN, INF, -INF, "0.5", True, False, np.array(0.5), [0.5], BIG_ARRAY, 1j]

BAD = {
    # a positive int (widths, counts, classes)
    "int": st.one_of(
        st.integers(max_value=0), st.just(-10 ** 400),
        st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
        st.text(max_size=4), st.sampled_from(BAD_SCALARS + [[4], (4,), np.float32(2.0)])),
    # an int or a pair of ints (kernel sizes, strides)
    "pair": st.one_of(
        st.integers(max_value=0), st.floats(), st.booleans(), st.text(max_size=4),
        st.sampled_from(BAD_SCALARS),
        st.lists(st.integers(1, 3), max_size=5).filter(lambda v: len(v) != 2),
        st.tuples(st.sampled_from([0, -1, 1.5, "3", None, True]), st.integers(1, 3)),
        st.tuples(st.integers(1, 3), st.sampled_from([0, -2, 2.0, "1", None, False]))),
    # xception_module's filters: an int or a non-empty sequence of ints
    "widths": st.one_of(
        st.integers(max_value=0), st.floats(), st.booleans(), st.text(max_size=4),
        st.sampled_from(BAD_SCALARS + [[], ()]),
        st.lists(st.sampled_from([0, -1, 2.5, "8", None, True]), min_size=1, max_size=3),
        st.tuples(st.integers(1, 8), st.sampled_from([0, 1.0, "a", None]))),
    "bool": st.one_of(
        st.integers(), st.floats(allow_nan=True), st.text(max_size=6), st.none(),
        st.sampled_from(["yes", "no", "True", "False", np.array(True), np.array([True, False]),
                         [True], b"no", np.int64(1), BIG_ARRAY])),
    # a finite number > 0 (epsilons, alpha)
    "number": st.one_of(
        st.floats(max_value=0.0), st.sampled_from([NAN, INF, -INF]), st.integers(max_value=0),
        st.text(max_size=6), st.none(), st.booleans(),
        st.sampled_from([np.array(1e-3), np.ones(5), "1e-3", [1e-3], BIG_ARRAY, 1j])),
    # a rate in [0, 1): dropout, drop-connect, BN momentum
    "fraction": st.one_of(
        st.floats(max_value=-1e-9), st.floats(min_value=1.0), st.integers(max_value=-1),
        st.integers(min_value=1), st.none(), st.sampled_from(_BAD_RATES)),
    # a ratio in (0, 1], or None (squeeze-and-excite ratios); 0 too with `zero_ok`
    "ratio": st.one_of(
        st.floats(max_value=-1e-9), st.floats(min_value=1.0 + 1e-9), st.integers(min_value=2),
        st.integers(max_value=-1), st.sampled_from(_BAD_RATES)),
    # DenseNet's compression theta in (0, 1]
    "compression": st.one_of(
        st.floats(max_value=0.0), st.floats(min_value=1.0 + 1e-9), st.integers(max_value=0),
        st.integers(min_value=2), st.none(), st.sampled_from(_BAD_RATES)),
    # Inception-ResNet's residual scale: a finite number >= 0
    "scale": st.one_of(
        st.floats(max_value=-1e-9), st.integers(max_value=-1), st.none(),
        st.sampled_from([NAN, INF, -INF, "0.1", True, False, np.array(0.1), [0.1], BIG_ARRAY,
                         1j])),
    "activation": st.one_of(
        st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF), max_size=10)
        .filter(lambda s: not _known_activation(s)),
        st.integers(), st.floats(allow_nan=True), st.booleans(),
        st.sampled_from([np.array(["relu"]), ["relu"], b"relu", BIG_ARRAY, object()])),
    "initializer": st.one_of(
        st.text(st.characters(min_codepoint=97, max_codepoint=122), min_size=1, max_size=10)
        .filter(lambda s: s not in ("zeros", "ones", "zero", "one", "identity", "orthogonal")),
        st.integers(), st.floats(allow_nan=True), st.booleans(), st.none(),
        st.sampled_from(["relu", "glorot", "Glorot_Uniform ", b"he_normal", ["zeros"],
                         {"class_name": "NoSuchInitializer", "config": {}}, {"config": {}},
                         np.array("zeros"), BIG_ARRAY, object()])),
    "name": st.one_of(
        st.just(""), st.builds(_with_slash, st.text(max_size=300), st.integers(0, 300)),
        st.integers(), st.floats(), st.booleans(),
        st.sampled_from([b"block", ["block"], np.array("block"), BIG_ARRAY, object()])),
    "shortcut": bad_choice(("auto", "identity", "projection"), extra=["none"]),
    "mobile_shortcut": bad_choice(MOBILE_SHORTCUTS, extra=["projection"]),
    "data_format": bad_choice((None, "channels_last", "channels_first")),
    # conv_bn_act's padding: "same", "valid", "symmetric", an int >= 0 or a pair of them
    "padding": st.one_of(
        st.text(max_size=10).filter(lambda s: s not in ("same", "valid", "symmetric")),
        st.sampled_from(["SAME", "full", "causal", "valid ", b"same", None, True, False, 1.5,
                         NAN, np.array("same"), np.array([1, 1]), BIG_ARRAY, [1, 1, 1], [],
                         (1, True), ("1", 1), (1, -1), (0.5, 1), (None, 0), [np.float32(1), 1]]),
        st.integers(max_value=-1), st.floats(allow_nan=True, allow_infinity=True)),
    # residual / bottleneck padding: "same" or "symmetric" only
    "res_padding": bad_choice(("same", "symmetric"), extra=["valid", 1, (1, 1)]),
    # conv_bn_act's suffixes: None or three strings without '/'
    "suffixes": st.one_of(
        st.text(max_size=6), st.integers(), st.sampled_from([BIG_ARRAY, np.array(["a", "b", "c"])]),
        st.lists(st.text(max_size=3), max_size=5).filter(lambda v: len(v) != 3),
        st.tuples(st.sampled_from([1, None, b"_b", ["_c"]]), st.just("_bn"), st.just("_act")),
        st.builds(lambda t, i: tuple(_with_slash(t, 0) if j == i else f"_{j}" for j in range(3)),
                  st.text(max_size=5), st.integers(0, 2))),
    # a dict of parts -> names / suffixes (depthwise_separable_block's layer_names,
    # squeeze_excite's suffixes): unknown keys, non-string or '/' values, not a dict
    "parts": lambda keys: st.one_of(
        st.text(max_size=6), st.integers(), st.sampled_from([BIG_ARRAY, [("dw", "x")], ("x",)]),
        st.builds(lambda k: {k: "_x"}, st.text(max_size=6).filter(lambda k: k not in keys)),
        st.builds(lambda k, v: {k: v}, st.sampled_from(sorted(keys)),
                  st.sampled_from([3, None, b"x", "a/b", ["x"], BIG_ARRAY]))),
    # inception_v3_c's concat_names: None or a pair of distinct names (or None), no '/'
    "concat_names": st.one_of(
        st.text(max_size=6), st.integers(), st.sampled_from([BIG_ARRAY, np.array(["a", "b"])]),
        st.lists(st.sampled_from(["CAT_A", None]), max_size=5).filter(lambda v: len(v) != 2),
        st.tuples(st.sampled_from(["", "a/b", 3, b"x", 1.5]), st.just("CAT_B")),
        st.tuples(st.just("CAT_A"), st.sampled_from(["", "c/d", 0, ["x"]])),
        st.just(("CAT_SAME", "CAT_SAME"))),
}
#: A positive int where None is valid too (a depthwise conv_bn_act's `filters`) is bad only
#: without None.
BAD["int_not_none"] = BAD["int"].filter(lambda v: v is not None)
BAD["dw_filters"] = BAD["int_not_none"]
V3_BAD = {a: BAD[k] for a, k in (("use_bias", "bool"), ("bn_scale", "bool"),
                                 ("bn_epsilon", "number"))}


@dataclasses.dataclass
class Block:
    """A public block: its valid calls, its formulas and its bad values (argument -> the
    strategy of bad values; the bad inputs `x` come from `_bad_x`)."""

    fn: object
    valid: object
    params: object
    output: object
    bad: dict
    own_names: object = None   # kw -> layer names the block takes besides `name` prefixes


def _block_table():
    v3a = ("f1", "f5_reduce", "f5", "f3_reduce", "f3", "pool_proj")
    v3ra = ("f3", "f3dbl_reduce", "f3dbl")
    v3b = ("f1", "f7_reduce", "f7", "f7dbl_reduce", "f7dbl", "pool_proj")
    v3rb = ("f3_reduce", "f3", "f7_reduce", "f7")
    v3c = ("f1", "f3_reduce", "f3", "f3dbl_reduce", "f3dbl", "pool_proj")
    ira = ("f1", "f3_reduce", "f3", "f3dbl_reduce", "f3dbl_1", "f3dbl_2")
    irb = ("f1", "f7_reduce", "f1x7", "f7x1")
    irc = ("f1", "f3_reduce", "f1x3", "f3x1")
    irra = ("k", "l", "m", "n")
    irrb = ("f3_reduce", "f3", "f3b_reduce", "f3b", "f3dbl_reduce", "f3dbl_1", "f3dbl_2")
    ints = lambda args: {a: BAD["int"] for a in args}  # noqa: E731
    pool_bad = dict(count_include_pad=BAD["bool"])
    residual_bad = dict(scale=BAD["scale"], activation=bad_choice(("relu", None)))
    table = {
        "conv_bn_act": Block(
            blocks.conv_bn_act, conv_bn_act_case(), conv_bn_act_params, conv_bn_act_output,
            dict(filters=BAD["dw_filters"], kernel_size=BAD["pair"], strides=BAD["pair"],
                 padding=BAD["padding"], use_bias=BAD["bool"], batch_norm=BAD["bool"],
                 bn_scale=BAD["bool"], bn_epsilon=BAD["number"], bn_momentum=BAD["fraction"],
                 activation=BAD["activation"], relu_layer=BAD["bool"],
                 separable=BAD["bool"], depthwise=BAD["bool"], depth_multiplier=BAD["int"],
                 groups=BAD["int"], preactivation=BAD["bool"],
                 kernel_initializer=BAD["initializer"], suffixes=BAD["suffixes"])),
        "vgg_block": Block(
            blocks.vgg_block, vgg_block_case(), vgg_block_params, vgg_block_output,
            dict(filters=BAD["int"], convs=BAD["int"], kernel_size=BAD["pair"],
                 activation=BAD["activation"], pool=BAD["bool"], batch_norm=BAD["bool"],
                 bn_epsilon=BAD["number"])),
        "naive_inception_module": Block(
            blocks.naive_inception_module, naive_inception_case(), naive_inception_params,
            keep(lambda kw, c: kw["f1"] + kw["f3"] + kw["f5"] + c), ints(("f1", "f3", "f5"))),
        "inception_module": Block(
            blocks.inception_module, inception_case(), inception_params,
            keep(lambda kw, c: kw["f1"] + kw["f3"] + kw["f5"] + kw["pool_proj"]),
            dict(ints(("f1", "f3_reduce", "f3", "f5_reduce", "f5", "pool_proj",
                       "f5_kernel_size")),
                 norm=bad_choice((None, "batchnorm")))),
        "residual_module": Block(
            blocks.residual_module, residual_case(), residual_params,
            lambda kw, h, w, c: strided_output(kw, h, w, kw["filters"]),
            dict(filters=BAD["int"], strides=BAD["pair"], shortcut=BAD["shortcut"],
                 batch_norm=BAD["bool"], use_bias=BAD["bool"], bn_epsilon=BAD["number"],
                 padding=BAD["res_padding"])),
        "bottleneck_module": Block(
            blocks.bottleneck_module, bottleneck_case(), bottleneck_params,
            lambda kw, h, w, c: strided_output(kw, h, w, kw["expansion"] * kw["filters"]),
            dict(filters=BAD["int"], strides=BAD["pair"], expansion=BAD["int"],
                 shortcut=BAD["shortcut"], stride_on=bad_choice(("1x1", "3x3")),
                 use_bias=BAD["bool"], bn_epsilon=BAD["number"], padding=BAD["res_padding"])),
        "preact_bottleneck_module": Block(
            blocks.preact_bottleneck_module, preact_bottleneck_case(), preact_bottleneck_params,
            lambda kw, h, w, c: strided_output(kw, h, w, kw["expansion"] * kw["filters"]),
            dict(filters=BAD["int"], strides=BAD["pair"], expansion=BAD["int"],
                 shortcut=BAD["shortcut"], use_bias=BAD["bool"], bn_epsilon=BAD["number"])),
        "preact_residual_module": Block(
            blocks.preact_residual_module, preact_residual_case(), preact_residual_params,
            lambda kw, h, w, c: strided_output(kw, h, w, kw["filters"]),
            dict(filters=BAD["int"], strides=BAD["pair"], shortcut=BAD["shortcut"],
                 use_bias=BAD["bool"], bn_epsilon=BAD["number"])),
        "grouped_bottleneck_module": Block(
            blocks.grouped_bottleneck_module, grouped_bottleneck_case(),
            grouped_bottleneck_params,
            lambda kw, h, w, c: strided_output(kw, h, w, kw["expansion"] * kw["filters"]),
            dict(ints(("filters", "cardinality", "base_width", "width_factor", "expansion")),
                 strides=BAD["pair"], shortcut=BAD["shortcut"], use_bias=BAD["bool"],
                 bn_epsilon=BAD["number"])),
        "regnet_block": Block(
            blocks.regnet_block, regnet_case(), regnet_params, regnet_output,
            dict(filters=BAD["int"], strides=BAD["pair"], group_width=BAD["int"],
                 bottleneck_ratio=BAD["number"],
                 se_ratio=BAD["number"].filter(lambda v: v is not None),
                 bn_epsilon=BAD["number"])),
        "shufflenet_v2_unit": Block(
            blocks.shufflenet_v2_unit, shufflenet_case(), shufflenet_params, shufflenet_output,
            dict(filters=BAD["int"], strides=BAD["pair"], bn_epsilon=BAD["number"])),
        "xception_module": Block(
            blocks.xception_module, xception_case(), xception_params, xception_output,
            dict(filters=BAD["widths"], pool=BAD["bool"], activate_first=BAD["bool"],
                 shortcut=BAD["shortcut"], bn_epsilon=BAD["number"])),
        "inception_v3_a": Block(
            blocks.inception_v3_a, v3_case(v3a), v3_a_params,
            keep(lambda kw, c: kw["f1"] + kw["f5"] + kw["f3"] + kw["pool_proj"]),
            dict(ints(v3a), **V3_BAD, **pool_bad)),
        "inception_v3_reduction_a": Block(
            blocks.inception_v3_reduction_a, v3_case(v3ra, min_hw=(3, 3), pool=False),
            v3_reduction_a_params, reduction_output("f3", "f3dbl"),
            dict(ints(v3ra), **V3_BAD)),
        "inception_v3_b": Block(
            blocks.inception_v3_b, v3_case(v3b), v3_b_params,
            keep(lambda kw, c: kw["f1"] + kw["f7"] + kw["f7dbl"] + kw["pool_proj"]),
            dict(ints(v3b), **V3_BAD, **pool_bad)),
        "inception_v3_reduction_b": Block(
            blocks.inception_v3_reduction_b, v3_case(v3rb, min_hw=(3, 3), pool=False),
            v3_reduction_b_params, reduction_output("f3", "f7"),
            dict(ints(v3rb), **V3_BAD)),
        "inception_v3_c": Block(
            blocks.inception_v3_c, v3_case(v3c, extra=concat_names), v3_c_params,
            keep(lambda kw, c: kw["f1"] + 2 * kw["f3"] + 2 * kw["f3dbl"] + kw["pool_proj"]),
            dict(ints(v3c), concat_names=BAD["concat_names"], **V3_BAD, **pool_bad),
            own_names=lambda kw: kw.get("concat_names") or ()),
        "inception_resnet_a": Block(
            blocks.inception_resnet_a, v3_case(ira, pool=False, residual=True), ir_a_params,
            keep(lambda kw, c: c), dict(ints(ira), **V3_BAD, **residual_bad)),
        "inception_resnet_b": Block(
            blocks.inception_resnet_b, v3_case(irb, pool=False, residual=True), ir_bc_params(7),
            keep(lambda kw, c: c), dict(ints(irb), **V3_BAD, **residual_bad)),
        "inception_resnet_c": Block(
            blocks.inception_resnet_c, v3_case(irc, pool=False, residual=True), ir_bc_params(3),
            keep(lambda kw, c: c), dict(ints(irc), **V3_BAD, **residual_bad)),
        "inception_resnet_reduction_a": Block(
            blocks.inception_resnet_reduction_a, v3_case(irra, min_hw=(3, 3), pool=False),
            ir_reduction_a_params, reduction_output("n", "m"), dict(ints(irra), **V3_BAD)),
        "inception_resnet_reduction_b": Block(
            blocks.inception_resnet_reduction_b, v3_case(irrb, min_hw=(3, 3), pool=False),
            ir_reduction_b_params, reduction_output("f3", "f3b", "f3dbl_2"),
            dict(ints(irrb), **V3_BAD)),
        "fire_module": Block(
            blocks.fire_module, fire_case(), lambda kw, c: (
                conv(1, c, kw["squeeze"]) + conv(1, kw["squeeze"], kw["expand1x1"])
                + conv(3, kw["squeeze"], kw["expand3x3"])),
            keep(lambda kw, c: kw["expand1x1"] + kw["expand3x3"]),
            ints(("squeeze", "expand1x1", "expand3x3"))),
        "dense_block": Block(
            blocks.dense_block, dense_block_case(), dense_block_params,
            keep(lambda kw, c: c + kw["num_layers"] * kw["growth_rate"]),
            dict(ints(("num_layers", "growth_rate", "bottleneck_width")),
                 bottleneck=BAD["bool"], bn_epsilon=BAD["number"])),
        "transition_block": Block(
            blocks.transition_block, transition_case(), transition_params, transition_output,
            dict(compression=BAD["compression"], bn_epsilon=BAD["number"])),
        "depthwise_separable_block": Block(
            blocks.depthwise_separable_block, depthwise_separable_case(),
            depthwise_separable_params, depthwise_separable_output,
            dict(filters=BAD["int"], strides=BAD["pair"], alpha=BAD["number"],
                 depth_multiplier=BAD["int"], kernel_size=BAD["pair"],
                 activation=bad_choice(("relu6", "relu"), extra=["swish", "RELU6"]),
                 bn_epsilon=BAD["number"], layer_names=BAD["parts"](DS_OWN)),
            own_names=lambda kw: (kw.get("layer_names") or {}).values()),
        "inverted_residual_block": Block(
            blocks.inverted_residual_block, inverted_residual_case(), inverted_residual_params,
            inverted_residual_output,
            dict(filters=BAD["int"], expansion=BAD["int"], strides=BAD["pair"],
                 kernel_size=BAD["pair"], shortcut=BAD["mobile_shortcut"],
                 bn_epsilon=BAD["number"], bn_momentum=BAD["fraction"],
                 padding=bad_choice(("same", "symmetric")),
                 activation=bad_choice(("relu6", "relu"), extra=["swish", "RELU"]))),
        "mbconv_block": Block(
            blocks.mbconv_block, mbconv_case(), mbconv_params,
            lambda kw, h, w, c: strided_output(kw, h, w, kw["filters"]),
            dict(filters=BAD["int"], expand_ratio=BAD["int"], kernel_size=BAD["pair"],
                 strides=BAD["pair"], se_ratio=BAD["ratio"], drop_rate=BAD["fraction"],
                 activation=BAD["activation"], shortcut=BAD["mobile_shortcut"],
                 bn_epsilon=BAD["number"], kernel_initializer=BAD["initializer"],
                 bn_momentum=BAD["fraction"], padding=bad_choice(("same", "symmetric")),
                 version=st.sampled_from([0, 3, -1, True, False, "2", None, 1.0, 2.5,
                                          np.array([1, 2]), [1]]))),
        "convnext_block": Block(
            blocks.convnext_block, convnext_case(), convnext_params, keep(lambda kw, c: c),
            dict(filters=BAD["int"], expansion=BAD["int"], kernel_size=BAD["pair"],
                 drop_rate=BAD["fraction"], layer_scale_init_value=BAD["number"].filter(
                     lambda v: v is not None), ln_epsilon=BAD["number"])),
        "fused_mbconv_block": Block(
            blocks.fused_mbconv_block, fused_mbconv_case(), fused_mbconv_params,
            lambda kw, h, w, c: strided_output(kw, h, w, kw["filters"]),
            dict(filters=BAD["int"], expand_ratio=BAD["int"], kernel_size=BAD["pair"],
                 strides=BAD["pair"], se_ratio=BAD["ratio"], drop_rate=BAD["fraction"],
                 activation=BAD["activation"], shortcut=BAD["mobile_shortcut"],
                 bn_epsilon=BAD["number"], bn_momentum=BAD["fraction"],
                 padding=bad_choice(("same", "symmetric")),
                 kernel_initializer=BAD["initializer"])),
        "mobilenet_v3_block": Block(
            blocks.mobilenet_v3_block, mobilenet_v3_case(), mobilenet_v3_params,
            lambda kw, h, w, c: strided_output(kw, h, w, kw["filters"]),
            dict(exp_size=BAD["int"], filters=BAD["int"], kernel_size=BAD["pair"],
                 strides=BAD["pair"], se_ratio=st.one_of(BAD["ratio"], st.just(0)),
                 activation=bad_choice(("relu", "hard_swish"), extra=["swish", "relu6"]),
                 shortcut=BAD["mobile_shortcut"], bn_epsilon=BAD["number"],
                 bn_momentum=BAD["fraction"])),
        "nasnet_stem": Block(
            blocks.nasnet_stem, nasnet_stem_case(),
            lambda kw, c: 9 * c * kw["filters"] + 4 * kw["filters"],
            lambda kw, h, w, c: ((h - 3) // 2 + 1 if h else None,
                                 (w - 3) // 2 + 1 if w else None, kw["filters"]),
            dict(filters=BAD["int"], bn_momentum=BAD["fraction"], bn_epsilon=BAD["number"])),
        "nasnet_adjust": Block(
            blocks.nasnet_adjust, nasnet_adjust_case(), nasnet_adjust_params,
            nasnet_adjust_output,
            dict(filters=BAD["int"],
                 strides=st.sampled_from([0, 3, -1, "2", 1.5, None, [2], np.int64(4)]),
                 bn_momentum=BAD["fraction"], bn_epsilon=BAD["number"]),
            own_names=lambda kw: NASNET_OWN),
        "nasnet_normal_cell": Block(
            blocks.nasnet_normal_cell, nasnet_cell_case(False), nasnet_cell_params(False),
            keep(lambda kw, c: 6 * kw["filters"]),
            dict(previous=BAD_PREVIOUS, filters=BAD["int"],
                 previous_stride=bad_choice(("auto", 1, 2)), bn_momentum=BAD["fraction"],
                 bn_epsilon=BAD["number"]),
            own_names=lambda kw: NASNET_OWN),
        "nasnet_reduction_cell": Block(
            blocks.nasnet_reduction_cell, nasnet_cell_case(True), nasnet_cell_params(True),
            lambda kw, h, w, c: (-(-h // 2), -(-w // 2), 4 * kw["filters"]),
            dict(previous=BAD_PREVIOUS, filters=BAD["int"],
                 previous_stride=bad_choice(("auto", 1, 2)), bn_momentum=BAD["fraction"],
                 bn_epsilon=BAD["number"]),
            own_names=lambda kw: NASNET_OWN),
        "squeeze_excite": Block(
            blocks.squeeze_excite, squeeze_excite_case(),
            lambda kw, c: se_params(c, kw["filters"]), keep(lambda kw, c: c),
            dict(filters=BAD["int"], activation=BAD["activation"],
                 gate=bad_choice(("sigmoid", "hard_sigmoid"), extra=["relu", "hard_swish"]),
                 reshape=BAD["bool"], fused_activations=BAD["bool"],
                 kernel_initializer=BAD["initializer"], suffixes=BAD["parts"](SE_OWN))),
    }
    for spec in table.values():  # every block takes these (its input, `x` or nasnet_adjust's
        # `previous`: drawn by `_bad_x`)
        first = next(iter(inspect.signature(spec.fn).parameters))
        spec.bad.update({first: None}, name=BAD["name"], data_format=BAD["data_format"])
    return table


BLOCKS = _block_table()
BLOCK_ARGS = [(kind, arg) for kind in sorted(BLOCKS) for arg in sorted(BLOCKS[kind].bad)]


def test_every_public_block_is_fuzzed():
    """Every public block, and every parameter of its signature, has a bad-value strategy."""
    public = set(blocks.__all__) - {"resolve_data_format"}
    assert set(BLOCKS) == public
    for kind, spec in BLOCKS.items():
        signature = set(inspect.signature(getattr(blocks, kind)).parameters)
        assert set(spec.bad) == signature, kind
    assert len(BLOCK_ARGS) == 374


def assert_names_argument(error, arg, *, listing=""):
    """The error is a ValueError or TypeError naming `arg` in backticks (`arg`, `arg[i]` or
    `arg=...`), in one short line (under 300 characters, plus `listing` where the message
    lists what is allowed) without an array or tensor dump."""
    text = str(error)
    assert isinstance(error, (ValueError, TypeError)), repr(error)
    assert re.search(rf"`{re.escape(arg)}(`|\[\d+\]`|=)", text), text
    assert len(text) < 300 + len(listing), f"{len(text)} characters: {text[:400]}"
    for dump in ("array(", "\n", "<KerasTensor", "tf.Tensor"):
        assert dump not in text, text


def build_block(spec, case, name):
    x = case.input()
    y = spec.fn(x, **case.kw, name=name)
    return x, y, keras.Model(x, y, name="#model")


# --- blocks: valid calls ---------------------------------------------------------------------

@pytest.mark.parametrize("kind", sorted(BLOCKS))
def test_valid_block_calls(kind):
    spec = BLOCKS[kind]

    @settings(max_examples=VALID_BLOCK_EXAMPLES, **FUZZ)
    @given(case=spec.valid, name=names)
    def run(case, name):
        x, y, model = build_block(spec, case, name)
        assert model.count_params() == spec.params(case.kw, case.c)
        expected = layout(spec.output(case.kw, case.h, case.w, case.c), case.data_format)
        assert tuple(y.shape) == (None, *expected)
        static = tuple(9 if d is None else d for d in case.input_shape())
        rows = cnnblocks.summarize(model, input_shape=static)
        assert [(row.kind, row.recorded) for row in rows] == [(kind, True)]
        assert rows[0].params == model.count_params()
        if name is None:
            assert rows[0].name.startswith(kind)
        else:
            assert rows[0].name == name
            own = tuple(spec.own_names(case.kw)) if spec.own_names else ()
            assert all(layer.name.startswith((name, *own)) for layer in model.layers[1:])
    run()


# --- blocks: one bad argument at a time ------------------------------------------------------

@pytest.mark.parametrize("kind,arg", BLOCK_ARGS, ids=[f"{k}-{a}" for k, a in BLOCK_ARGS])
def test_invalid_block_argument(kind, arg):
    spec = BLOCKS[kind]

    @settings(max_examples=INVALID_EXAMPLES, **FUZZ)
    @given(data=st.data(), case=spec.valid, name=names)
    def run(data, case, name):
        kw, x = dict(case.kw, name=name), case.input()
        if spec.bad[arg] is None:  # the input tensor
            _, make = data.draw(_bad_x(case.data_format), label="x")
            x = make()
        else:
            kw[arg] = data.draw(spec.bad[arg], label=arg)
        with pytest.raises((ValueError, TypeError)) as info:
            spec.fn(x, **kw)
        assert_names_argument(info.value, arg)
    run()


# --- blocks: refusals that depend on the other arguments --------------------------------------

def _too_small(draw, kind, case):
    """An input one pixel below what the block (as configured) needs, or None."""
    kw = case.kw
    if kind == "conv_bn_act":
        pads = pad_amounts(kw["padding"], kw["kernel_size"])
        need = tuple(max(1, k - 2 * p) for k, p in zip(pair(kw["kernel_size"]), pads))
    elif kind == "vgg_block" or kind == "transition_block":
        need = (2, 2)
    elif kind == "depthwise_separable_block":
        need = tuple(max(1, k - max(0, k // 2 - 1) - k // 2) for k in pair(kw["kernel_size"]))
    else:
        need = (3, 3)    # the 3x3/2 'valid' reductions
    axis = draw(st.sampled_from([i for i in (0, 1) if need[i] > 1]))
    hw = [case.h or need[0], case.w or need[1]]
    hw[axis] = draw(st.integers(1, need[axis] - 1))
    return layout((hw[0], hw[1], case.c), case.data_format)


def _needs_size(kind, kw):
    """Whether the drawn configuration needs more than 1x1 (so a too-small input exists)."""
    if kind == "conv_bn_act":
        pads = pad_amounts(kw["padding"], kw["kernel_size"])
        return pads is not None and any(
            k - 2 * p > 1 for k, p in zip(pair(kw["kernel_size"]), pads))
    if kind == "vgg_block":
        return kw["pool"]
    if kind == "depthwise_separable_block":
        return not unit_stride(kw["strides"]) and any(k % 2 and k > 1
                                                      for k in pair(kw["kernel_size"]))
    return True


@pytest.mark.parametrize("kind", ["conv_bn_act", "vgg_block", "transition_block",
                                  "depthwise_separable_block", "inception_v3_reduction_a",
                                  "inception_v3_reduction_b", "inception_resnet_reduction_a",
                                  "inception_resnet_reduction_b"])
def test_input_too_small_for_the_block(kind):
    spec = BLOCKS[kind]

    @settings(max_examples=CONTEXT_EXAMPLES, **FUZZ)
    @given(data=st.data())
    def run(data):
        case = data.draw(spec.valid.filter(lambda c: _needs_size(kind, c.kw)))
        shape = _too_small(data.draw, kind, case)
        with pytest.raises(ValueError) as info:
            spec.fn(keras.Input(shape), **case.kw)
        assert_names_argument(info.value, "x")
        assert "too small" in str(info.value)
    run()


def _output_channels(kind, kw):
    if kind == "xception_module":
        return xception_widths(kw["filters"])[-1]
    return kw["filters"] * kw.get("expansion", 1)


@pytest.mark.parametrize("kind", ["residual_module", "bottleneck_module", "xception_module",
                                  "grouped_bottleneck_module", "preact_residual_module",
                                  "preact_bottleneck_module", "inverted_residual_block",
                                  "mbconv_block", "fused_mbconv_block", "mobilenet_v3_block"])
def test_identity_shortcut_that_cannot_fit(kind):
    spec = BLOCKS[kind]

    @settings(max_examples=CONTEXT_EXAMPLES, **FUZZ)
    @given(case=spec.valid)
    def run(case):
        kw = case.kw
        out = _output_channels(kind, kw)
        if kind == "xception_module":
            moves = kw["pool"]
        elif kind.startswith("preact"):
            moves = False                   # a strided identity is subsampled: fits
        else:
            moves = not unit_stride(kw["strides"])
        c = case.c if (moves or case.c != out) else case.c + 1  # shapes can't match
        bad = Case(dict(kw, shortcut="identity"), case.h, case.w, c)
        with pytest.raises(ValueError) as info:
            spec.fn(bad.input(), **bad.kw)
        assert_names_argument(info.value, "shortcut")
    run()


@settings(max_examples=CONTEXT_EXAMPLES, **FUZZ)
@given(case=BLOCKS["conv_bn_act"].valid, suffix=st.text(max_size=4))
def test_conv_bn_act_suffixes_must_name_distinct_layers(case, suffix):
    """With batch norm the conv, BN (and activation) layers need different names."""
    kw = dict(case.kw, batch_norm=True, suffixes=(suffix, suffix, "_act"))
    with pytest.raises(ValueError) as info:
        blocks.conv_bn_act(case.input(), **kw, name="unit")
    assert_names_argument(info.value, "suffixes")


@settings(max_examples=CONTEXT_EXAMPLES, **FUZZ)
@given(case=BLOCKS["conv_bn_act"].valid.filter(lambda c: not c.kw["depthwise"]),
       groups=st.integers(2, 5))
def test_conv_bn_act_groups_must_divide_filters(case, groups):
    """Grouped convolutions: `groups` must divide `filters` (and only a plain convolution
    takes groups > 1)."""
    kw = dict(case.kw, groups=groups)
    if not kw["separable"]:
        kw["filters"] = groups * 3 + 1          # never a multiple of groups >= 2
    with pytest.raises(ValueError) as info:
        blocks.conv_bn_act(case.input(), **kw)
    assert_names_argument(info.value, "groups")


@settings(max_examples=CONTEXT_EXAMPLES, **FUZZ)
@given(case=BLOCKS["conv_bn_act"].valid.filter(lambda c: c.kw["depthwise"]),
       extra=st.integers(1, 5))
def test_depthwise_conv_bn_act_filters_must_match(case, extra):
    """A depthwise conv_bn_act's `filters` is None or channels x depth_multiplier."""
    kw = dict(case.kw, filters=case.c * case.kw["depth_multiplier"] + extra)
    with pytest.raises(ValueError) as info:
        blocks.conv_bn_act(case.input(), **kw)
    assert_names_argument(info.value, "filters")


@settings(max_examples=CONTEXT_EXAMPLES, **FUZZ)
@given(case=BLOCKS["transition_block"].valid)
def test_transition_compression_that_leaves_no_channel(case):
    kw = dict(case.kw, compression=0.99 / case.c)   # int(c * theta) = 0
    with pytest.raises(ValueError) as info:
        blocks.transition_block(case.input(), **kw)
    assert_names_argument(info.value, "compression")


@settings(max_examples=CONTEXT_EXAMPLES, **FUZZ)
@given(case=BLOCKS["depthwise_separable_block"].valid, alpha=st.floats(1e-6, 0.99))
def test_depthwise_separable_alpha_that_leaves_no_filter(case, alpha):
    kw = dict(case.kw, alpha=alpha / case.kw["filters"])   # int(filters * alpha) = 0
    with pytest.raises(ValueError) as info:
        blocks.depthwise_separable_block(case.input(), **kw)
    assert_names_argument(info.value, "alpha")


@settings(max_examples=CONTEXT_EXAMPLES, **FUZZ)
@given(case=BLOCKS["regnet_block"].valid, extra=st.integers(1, 4))
def test_regnet_group_width_must_divide_the_bottleneck(case, extra):
    kw = dict(case.kw, group_width=regnet_width(case.kw) + extra)   # wider than the bottleneck
    with pytest.raises(ValueError) as info:
        blocks.regnet_block(case.input(), **kw)
    assert_names_argument(info.value, "group_width")


@settings(max_examples=CONTEXT_EXAMPLES, **FUZZ)
@given(case=BLOCKS["regnet_block"].valid, fraction=st.floats(1e-6, 0.49))
def test_regnet_se_ratio_that_squeezes_to_no_channel(case, fraction):
    kw = dict(case.kw, se_ratio=fraction / case.c)     # round(c * se_ratio) = 0
    with pytest.raises(ValueError) as info:
        blocks.regnet_block(case.input(), **kw)
    assert_names_argument(info.value, "se_ratio")


@settings(max_examples=CONTEXT_EXAMPLES, **FUZZ)
@given(case=BLOCKS["shufflenet_v2_unit"].valid)
def test_shufflenet_v2_unit_filters_must_be_even(case):
    kw = dict(case.kw, filters=int(case.kw["filters"]) + 1, strides=2)
    with pytest.raises(ValueError) as info:
        blocks.shufflenet_v2_unit(case.input(), **kw)
    assert_names_argument(info.value, "filters")


@settings(max_examples=CONTEXT_EXAMPLES, **FUZZ)
@given(case=BLOCKS["shufflenet_v2_unit"].valid, extra=st.integers(1, 4))
def test_shufflenet_v2_unit_of_stride_1_keeps_the_width(case, extra):
    kw = dict(case.kw, filters=2 * (case.c + extra), strides=1)   # wider than the input
    with pytest.raises(ValueError) as info:
        blocks.shufflenet_v2_unit(case.input(), **kw)
    assert_names_argument(info.value, "filters")
