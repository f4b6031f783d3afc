"""Property-based fuzzing (hypothesis) of every public block and every registered builder.

- Valid calls: random widths (1..16 channels), strides, kernel sizes, options and small inputs
  (both data formats, unknown height/width included). Each call is built into a `keras.Model`
  and must have exactly the parameters of the formula written here, the output shape of the
  formula written here, and one recorded `cnnblocks.summarize` row of the block's kind.
- Invalid calls: one argument at a time replaced by a bad value (wrong types, 0/1 for bools,
  numbers <= 0, NaN and infinities, unknown choices and activations, names with `/`, arrays and
  tensors of the wrong kind or rank). Each must raise ValueError or TypeError whose message
  names that argument in backticks, is short, and dumps no array or tensor.
- Builders: every registered builder (and `create_model`) with one bad argument at a time;
  a few small valid builds (cheap models only: builds are slow) against the published totals.

Examples are bounded and derandomized (`derandomize=True`: the same examples on every run), so
the file is deterministic and fast. Formula conventions are those of `tests/test_blocks.py`: a
convolution has `kh*kw*c_in*c_out` weights plus `c_out` biases, a separable one `kh*kw*c_in`
depthwise plus `c_in*c_out` pointwise weights, and Keras counts 4 numbers per
BatchNormalization channel (3 without scale).
"""

import dataclasses
import pathlib
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import keras

import cnnblocks
from cnnblocks import blocks, registry

#: Examples per test case (hypothesis stops after this many passing examples). At these
#: settings the file runs 3,500 examples: 13 blocks x 20 valid calls; 127 (block, argument)
#: pairs x 15 bad values; 115 (builder, argument) pairs x 10; 10 small valid builds; and 175 in
#: the contextual tests (inputs too small, impossible identity shortcuts, clashing suffixes,
#: files that are no weights, GoogLeNet's auxiliary heads, `create_model`).
VALID_BLOCK_EXAMPLES = 20
INVALID_EXAMPLES = 15
CONTEXT_EXAMPLES = 10
BUILDER_INVALID_EXAMPLES = 10
VALID_BUILD_EXAMPLES = 10

FUZZ = dict(deadline=None, derandomize=True, database=None, print_blob=False,
            suppress_health_check=list(HealthCheck))

INPUT_NAME = "#input"  # names drawn below never contain '#', so they never collide with it


# --- parameter and shape formulas ------------------------------------------------------------

def pair(value):
    return tuple(int(v) for v in value) if isinstance(value, (list, tuple)) else (int(value),) * 2


def conv(k, c_in, c_out, bias=True):
    kh, kw = pair(k)
    return kh * kw * c_in * c_out + (c_out if bias else 0)


def sep(k, c_in, c_out, bias=True):
    kh, kw = pair(k)
    return kh * kw * c_in + c_in * c_out + (c_out if bias else 0)


def bn(c, scale=True):
    return (4 if scale else 3) * c


def same(n, s):
    return None if n is None else -(-n // s)


def valid(n, k, s):
    return None if n is None else (n - k) // s + 1


# --- valid-value strategies ------------------------------------------------------------------

ints = st.integers(1, 16)
#: NumPy integers are integers (`numbers.Integral`): every block must take them as widths.
widths = st.one_of(ints, ints.map(np.int64))
channels = st.integers(1, 16)
kernels = st.one_of(st.integers(1, 5), st.tuples(st.integers(1, 5), st.integers(1, 5)),
                    st.lists(st.integers(1, 5), min_size=2, max_size=2))
strides_st = st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3)))
bools = st.one_of(st.booleans(), st.booleans().map(np.bool_))
epsilons = st.one_of(st.floats(1e-7, 1.0), st.just(1))
activations = st.sampled_from(["relu", None, "linear", "sigmoid", "tanh", "gelu", "swish",
                               keras.activations.relu])
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


def case(draw, kw, *, min_hw=(1, 1)):
    kw = dict(kw, data_format=draw(data_formats))
    return Case(kw, draw(dim(min_hw[0])), draw(dim(min_hw[1])), draw(channels))


@st.composite
def conv_bn_act_case(draw):
    kernel, padding = draw(kernels), draw(st.sampled_from(["same", "valid"]))
    kw = dict(filters=draw(widths), kernel_size=kernel, strides=draw(strides_st),
              padding=padding, use_bias=draw(bools), batch_norm=draw(bools),
              bn_scale=draw(bools), bn_epsilon=draw(epsilons), activation=draw(activations),
              separable=draw(bools), suffixes=draw(suffixes))
    return case(draw, kw, min_hw=pair(kernel) if padding == "valid" else (1, 1))


def conv_bn_act_params(kw, c):
    f = kw["filters"]
    unit = sep if kw["separable"] else conv
    return (unit(kw["kernel_size"], c, f, kw["use_bias"])
            + (bn(f, kw["bn_scale"]) if kw["batch_norm"] else 0))


def conv_bn_act_output(kw, h, w, c):
    (kh, kw_), (sh, sw) = pair(kw["kernel_size"]), pair(kw["strides"])
    if kw["padding"] == "same":
        return same(h, sh), same(w, sw), kw["filters"]
    return valid(h, kh, sh), valid(w, kw_, sw), kw["filters"]


@st.composite
def vgg_block_case(draw):
    pool = draw(bools)
    kw = dict(filters=draw(widths), convs=draw(st.integers(1, 3)), kernel_size=draw(kernels),
              activation=draw(activations), pool=pool)
    return case(draw, kw, min_hw=(2, 2) if pool else (1, 1))


def vgg_block_params(kw, c):
    f, k = kw["filters"], kw["kernel_size"]
    return conv(k, c, f) + (kw["convs"] - 1) * conv(k, f, f)


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
    return case(draw, dict(kw, norm=draw(st.sampled_from([None, "batchnorm"]))))


def inception_params(kw, c):
    use_bn = kw["norm"] == "batchnorm"

    def unit(k, c_in, c_out):
        return conv(k, c_in, c_out, bias=not use_bn) + (bn(c_out) if use_bn else 0)
    return (unit(1, c, kw["f1"]) + unit(1, c, kw["f3_reduce"])
            + unit(3, kw["f3_reduce"], kw["f3"]) + unit(1, c, kw["f5_reduce"])
            + unit(5, kw["f5_reduce"], kw["f5"]) + unit(1, c, kw["pool_proj"]))


def shortcut_choice(draw, fits):
    """"auto" or "projection"; "identity" only where the shapes allow it."""
    return draw(st.sampled_from(["auto", "projection", "identity"] if fits
                                else ["auto", "projection"]))


@st.composite
def residual_case(draw):
    c, f, s = draw(channels), draw(widths), draw(strides_st)
    kw = dict(filters=f, strides=s, batch_norm=draw(bools), use_bias=draw(bools),
              bn_epsilon=draw(epsilons), data_format=draw(data_formats))
    kw["shortcut"] = shortcut_choice(draw, c == f and pair(s) == (1, 1))
    return Case(kw, draw(dim()), draw(dim()), c)


def residual_params(kw, c):
    f, use_bn, bias = kw["filters"], kw["batch_norm"], kw["use_bias"]

    def unit(k, c_in, c_out):
        return conv(k, c_in, c_out, bias) + (bn(c_out) if use_bn else 0)
    fits = c == f and pair(kw["strides"]) == (1, 1)
    project = kw["shortcut"] == "projection" or (kw["shortcut"] == "auto" and not fits)
    return unit(3, c, f) + unit(3, f, f) + (unit(1, c, f) if project else 0)


def strided_output(kw, h, w, c_out):
    sh, sw = pair(kw["strides"])
    return same(h, sh), same(w, sw), c_out


@st.composite
def bottleneck_case(draw):
    c, f, e, s = draw(channels), draw(widths), draw(st.integers(1, 4)), draw(strides_st)
    kw = dict(filters=f, strides=s, expansion=e, stride_on=draw(st.sampled_from(["1x1", "3x3"])),
              use_bias=draw(bools), bn_epsilon=draw(epsilons), data_format=draw(data_formats))
    kw["shortcut"] = shortcut_choice(draw, c == e * f and pair(s) == (1, 1))
    return Case(kw, draw(dim()), draw(dim()), c)


def bottleneck_params(kw, c):
    f, bias = kw["filters"], kw["use_bias"]
    out = kw["expansion"] * f

    def unit(k, c_in, c_out):
        return conv(k, c_in, c_out, bias) + bn(c_out)
    fits = c == out and pair(kw["strides"]) == (1, 1)
    project = kw["shortcut"] == "projection" or (kw["shortcut"] == "auto" and not fits)
    return (unit(1, c, f) + unit(3, f, f) + unit(1, f, out)
            + (unit(1, c, out) if project else 0))


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


def v3_case(arg_names, min_hw=(1, 1), extra=None):
    @st.composite
    def strategy(draw):
        kw = {a: draw(widths) for a in arg_names}
        kw.update(use_bias=draw(bools), bn_scale=draw(bools), bn_epsilon=draw(epsilons))
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


def concat_names(draw):
    # Upper-case names never collide with the layers a (drawn) block name gives.
    names_ = draw(st.one_of(st.none(), st.tuples(st.just("CAT_A"), st.just("CAT_B")),
                            st.lists(st.sampled_from([None, "CAT_X"]), min_size=2,
                                     max_size=2).filter(lambda v: v.count("CAT_X") < 2)))
    return {"concat_names": names_}


def reduction_output(kw, h, w, c, first, second):
    return valid(h, 3, 2), valid(w, 3, 2), kw[first] + kw[second] + c


@st.composite
def fire_case(draw):
    return case(draw, dict(squeeze=draw(widths), expand1x1=draw(widths),
                           expand3x3=draw(widths)))


def keep(channels_out):
    return lambda kw, h, w, c: (h, w, channels_out(kw, c))


# --- bad-value strategies --------------------------------------------------------------------

BIG_ARRAY = np.zeros((64, 64))
NAN, INF = float("nan"), float("inf")


def _known_activation(text):
    try:
        keras.activations.get(text)
        return True
    except (ValueError, TypeError):
        return False


def bad_choice(choices):
    strings = [c for c in choices if isinstance(c, str)]
    return st.one_of(
        st.text(max_size=10).filter(lambda s: s not in choices),
        st.sampled_from([s.upper() for s in strings] + [s + " " for s in strings]),
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
    # a finite number > 0 (epsilons)
    "number": st.one_of(
        st.floats(max_value=0.0), st.sampled_from([NAN, INF, -INF]), st.integers(max_value=0),
        st.text(max_size=6), st.none(), st.booleans(),
        st.sampled_from([np.array(1e-3), np.ones(5), "1e-3", [1e-3], BIG_ARRAY, 1j])),
    "activation": st.one_of(
        st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF), max_size=10)
        .filter(lambda s: not _known_activation(s)),
        st.integers(), st.floats(allow_nan=True), st.booleans(),
        st.sampled_from([np.array(["relu"]), ["relu"], b"relu", BIG_ARRAY, object()])),
    "name": st.one_of(
        st.just(""), st.builds(_with_slash, st.text(max_size=300), st.integers(0, 300)),
        st.integers(), st.floats(), st.booleans(),
        st.sampled_from([b"block", ["block"], np.array("block"), BIG_ARRAY, object()])),
    "shortcut": bad_choice(("auto", "identity", "projection")),
    "data_format": bad_choice((None, "channels_last", "channels_first")),
    # conv_bn_act's suffixes: None or three strings without '/'
    "suffixes": st.one_of(
        st.text(max_size=6), st.integers(), st.sampled_from([BIG_ARRAY, np.array(["a", "b", "c"])]),
        st.lists(st.text(max_size=3), max_size=5).filter(lambda v: len(v) != 3),
        st.tuples(st.sampled_from([1, None, b"_b", ["_c"]]), st.just("_bn"), st.just("_act")),
        st.builds(lambda t, i: tuple(_with_slash(t, 0) if j == i else f"_{j}" for j in range(3)),
                  st.text(max_size=5), st.integers(0, 2))),
    # inception_v3_c's concat_names: None or a pair of distinct names (or None), no '/'
    "concat_names": st.one_of(
        st.text(max_size=6), st.integers(), st.sampled_from([BIG_ARRAY, np.array(["a", "b"])]),
        st.lists(st.sampled_from(["CAT_A", None]), max_size=5).filter(lambda v: len(v) != 2),
        st.tuples(st.sampled_from(["", "a/b", 3, b"x", 1.5]), st.just("CAT_B")),
        st.tuples(st.just("CAT_A"), st.sampled_from(["", "c/d", 0, ["x"]])),
        st.just(("CAT_SAME", "CAT_SAME"))),
}
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


def _block_table():
    v3a = ("f1", "f5_reduce", "f5", "f3_reduce", "f3", "pool_proj")
    v3ra = ("f3", "f3dbl_reduce", "f3dbl")
    v3b = ("f1", "f7_reduce", "f7", "f7dbl_reduce", "f7dbl", "pool_proj")
    v3rb = ("f3_reduce", "f3", "f7_reduce", "f7")
    v3c = ("f1", "f3_reduce", "f3", "f3dbl_reduce", "f3dbl", "pool_proj")
    table = {
        "conv_bn_act": Block(
            blocks.conv_bn_act, conv_bn_act_case(), conv_bn_act_params, conv_bn_act_output,
            dict(filters=BAD["int"], kernel_size=BAD["pair"], strides=BAD["pair"],
                 padding=bad_choice(("same", "valid")), use_bias=BAD["bool"],
                 batch_norm=BAD["bool"], bn_scale=BAD["bool"], bn_epsilon=BAD["number"],
                 activation=BAD["activation"], separable=BAD["bool"],
                 suffixes=BAD["suffixes"])),
        "vgg_block": Block(
            blocks.vgg_block, vgg_block_case(), vgg_block_params, vgg_block_output,
            dict(filters=BAD["int"], convs=BAD["int"], kernel_size=BAD["pair"],
                 activation=BAD["activation"], pool=BAD["bool"])),
        "naive_inception_module": Block(
            blocks.naive_inception_module, naive_inception_case(), naive_inception_params,
            keep(lambda kw, c: kw["f1"] + kw["f3"] + kw["f5"] + c),
            {a: BAD["int"] for a in ("f1", "f3", "f5")}),
        "inception_module": Block(
            blocks.inception_module, inception_case(), inception_params,
            keep(lambda kw, c: kw["f1"] + kw["f3"] + kw["f5"] + kw["pool_proj"]),
            dict({a: BAD["int"] for a in ("f1", "f3_reduce", "f3", "f5_reduce", "f5",
                                          "pool_proj")},
                 norm=bad_choice((None, "batchnorm")))),
        "residual_module": Block(
            blocks.residual_module, residual_case(), residual_params,
            lambda kw, h, w, c: strided_output(kw, h, w, kw["filters"]),
            dict(filters=BAD["int"], strides=BAD["pair"], shortcut=BAD["shortcut"],
                 batch_norm=BAD["bool"], use_bias=BAD["bool"], bn_epsilon=BAD["number"])),
        "bottleneck_module": Block(
            blocks.bottleneck_module, bottleneck_case(), bottleneck_params,
            lambda kw, h, w, c: strided_output(kw, h, w, kw["expansion"] * kw["filters"]),
            dict(filters=BAD["int"], strides=BAD["pair"], expansion=BAD["int"],
                 shortcut=BAD["shortcut"], stride_on=bad_choice(("1x1", "3x3")),
                 use_bias=BAD["bool"], bn_epsilon=BAD["number"])),
        "xception_module": Block(
            blocks.xception_module, xception_case(), xception_params, xception_output,
            dict(filters=BAD["widths"], pool=BAD["bool"], activate_first=BAD["bool"],
                 shortcut=BAD["shortcut"], bn_epsilon=BAD["number"])),
        "inception_v3_a": Block(
            blocks.inception_v3_a, v3_case(v3a), v3_a_params,
            keep(lambda kw, c: kw["f1"] + kw["f5"] + kw["f3"] + kw["pool_proj"]),
            dict({a: BAD["int"] for a in v3a}, **V3_BAD)),
        "inception_v3_reduction_a": Block(
            blocks.inception_v3_reduction_a, v3_case(v3ra, min_hw=(3, 3)),
            v3_reduction_a_params,
            lambda kw, h, w, c: reduction_output(kw, h, w, c, "f3", "f3dbl"),
            dict({a: BAD["int"] for a in v3ra}, **V3_BAD)),
        "inception_v3_b": Block(
            blocks.inception_v3_b, v3_case(v3b), v3_b_params,
            keep(lambda kw, c: kw["f1"] + kw["f7"] + kw["f7dbl"] + kw["pool_proj"]),
            dict({a: BAD["int"] for a in v3b}, **V3_BAD)),
        "inception_v3_reduction_b": Block(
            blocks.inception_v3_reduction_b, v3_case(v3rb, min_hw=(3, 3)),
            v3_reduction_b_params,
            lambda kw, h, w, c: reduction_output(kw, h, w, c, "f3", "f7"),
            dict({a: BAD["int"] for a in v3rb}, **V3_BAD)),
        "inception_v3_c": Block(
            blocks.inception_v3_c, v3_case(v3c, extra=concat_names), v3_c_params,
            keep(lambda kw, c: kw["f1"] + 2 * kw["f3"] + 2 * kw["f3dbl"] + kw["pool_proj"]),
            dict({a: BAD["int"] for a in v3c}, concat_names=BAD["concat_names"], **V3_BAD)),
        "fire_module": Block(
            blocks.fire_module, fire_case(), lambda kw, c: (
                conv(1, c, kw["squeeze"]) + conv(1, kw["squeeze"], kw["expand1x1"])
                + conv(3, kw["squeeze"], kw["expand3x3"])),
            keep(lambda kw, c: kw["expand1x1"] + kw["expand3x3"]),
            {a: BAD["int"] for a in ("squeeze", "expand1x1", "expand3x3")}),
    }
    for spec in table.values():  # every block takes these (`x`: drawn by `_bad_x`)
        spec.bad.update(x=None, name=BAD["name"], data_format=BAD["data_format"])
    return table


BLOCKS = _block_table()


def test_every_public_block_is_fuzzed():
    public = set(blocks.__all__) - {"resolve_data_format"}
    assert set(BLOCKS) == public


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
            own = set(case.kw.get("concat_names") or ())
            assert all(layer.name.startswith(name) or layer.name in own
                       for layer in model.layers[1:])
    run()


# --- blocks: one bad argument at a time ------------------------------------------------------

BLOCK_ARGS = [(kind, arg) for kind in sorted(BLOCKS) for arg in sorted(BLOCKS[kind].bad)]


@pytest.mark.parametrize("kind,arg", BLOCK_ARGS, ids=[f"{k}-{a}" for k, a in BLOCK_ARGS])
def test_invalid_block_argument(kind, arg):
    spec = BLOCKS[kind]

    @settings(max_examples=INVALID_EXAMPLES, **FUZZ)
    @given(data=st.data(), case=spec.valid, name=names)
    def run(data, case, name):
        kw, x = dict(case.kw, name=name), case.input()
        if arg == "x":
            _, make = data.draw(_bad_x(case.data_format), label="x")
            x = make()
        else:
            kw[arg] = data.draw(spec.bad[arg], label=arg)
        with pytest.raises((ValueError, TypeError)) as info:
            spec.fn(x, **kw)
        assert_names_argument(info.value, arg)
    run()


def _too_small(draw, kind, case):
    """An input one pixel below what the block (as configured) needs, or None."""
    kw = case.kw
    if kind == "conv_bn_act" and kw["padding"] == "valid":
        need = pair(kw["kernel_size"])
    elif kind == "vgg_block" and kw["pool"]:
        need = (2, 2)
    elif kind in ("inception_v3_reduction_a", "inception_v3_reduction_b"):
        need = (3, 3)
    else:
        return None
    axis = draw(st.sampled_from([i for i in (0, 1) if need[i] > 1]))
    hw = [case.h or need[0], case.w or need[1]]
    hw[axis] = draw(st.integers(1, need[axis] - 1))
    return layout((hw[0], hw[1], case.c), case.data_format)


@pytest.mark.parametrize("kind", ["conv_bn_act", "vgg_block", "inception_v3_reduction_a",
                                  "inception_v3_reduction_b"])
def test_input_too_small_for_the_block(kind):
    spec = BLOCKS[kind]

    @settings(max_examples=CONTEXT_EXAMPLES, **FUZZ)
    @given(data=st.data())
    def run(data):
        case = data.draw(spec.valid.filter(
            lambda c: c.kw.get("pool", True) and c.kw.get("padding", "valid") == "valid"
            and max(pair(c.kw.get("kernel_size", 3))) > 1))
        shape = _too_small(data.draw, kind, case)
        with pytest.raises(ValueError) as info:
            spec.fn(keras.Input(shape), **case.kw)
        assert_names_argument(info.value, "x")
        assert "too small" in str(info.value)
    run()


@pytest.mark.parametrize("kind", ["residual_module", "bottleneck_module", "xception_module"])
def test_identity_shortcut_that_cannot_fit(kind):
    spec = BLOCKS[kind]

    @settings(max_examples=CONTEXT_EXAMPLES, **FUZZ)
    @given(case=spec.valid)
    def run(case):
        kw = case.kw
        if kind == "xception_module":
            out, moves = xception_widths(kw["filters"])[-1], kw["pool"]
        else:
            out = kw["filters"] * kw.get("expansion", 1)
            moves = pair(kw["strides"]) != (1, 1)
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


# --- builders ---------------------------------------------------------------------------------

MODELS = registry.list_models()
#: The smallest input each builder takes (its `min_size`; GoogLeNet's aux heads need 65).
MIN_SIZES = {"xception": 71, "inception_v3": 75}


def min_size(model):
    return MIN_SIZES.get(model, 32)


def builder_base(model):
    """A valid builder call that fails before building anything if one argument is bad:
    random head options, no weights."""
    size = min_size(model)

    @st.composite
    def strategy(draw):
        top = draw(st.booleans())
        kw = dict(include_top=top, weights=None, pooling=draw(st.sampled_from([None, "avg",
                                                                             "max"])),
                  classes=draw(st.integers(1, 10)),
                  classifier_activation=draw(st.sampled_from(["softmax", None, "sigmoid"])),
                  input_shape=draw(st.one_of(
                      st.none(), st.integers(size, size + 8).map(lambda s: (s, s, 3)))),
                  name=draw(st.one_of(st.just("net"), st.text(
                      st.characters(exclude_characters="/", exclude_categories=("Cs",)),
                      min_size=1, max_size=6))))
        if model == "googlenet":
            kw.update(normalization=draw(st.sampled_from(["lrn", "batchnorm", None])),
                      dropout=draw(st.floats(0.0, 0.99)), aux_classifiers=False)
        return kw
    return strategy()


def _bad_input_tensor(model):
    """Input tensors a builder must refuse, with the other arguments they come with."""
    size = min_size(model)
    return st.sampled_from([
        ("numpy batch", lambda: np.zeros((1, size, size, 3)), {}),
        ("eager tensor", lambda: keras.ops.zeros((1, size, size, 3)), {}),
        ("list", lambda: [1, 2, 3], {}),
        ("string", lambda: "input", {}),
        ("int", lambda: 3, {}),
        ("big array", lambda: BIG_ARRAY, {}),
        ("rank-3 tensor", lambda: keras.Input((size, size)), {}),
        ("rank-5 tensor", lambda: keras.Input((2, size, size, 3)), {}),
        ("too small", lambda: keras.Input((size - 1, size - 1, 3)), {"input_shape": None}),
        ("unknown channels", lambda: keras.Input((size, size, None)), {"input_shape": None}),
        ("conflicts with input_shape", lambda: keras.Input((size + 1, size + 1, 3)),
         {"input_shape": (size, size, 3)}),
        ("unknown size under a top", lambda: keras.Input((None, None, 3)),
         {"input_shape": None, "include_top": True}),
    ])


def _bad_input_shape(model):
    size = min_size(model)
    return st.one_of(
        st.sampled_from([
            ((size, size), {}), ((size, size, 3, 1), {}), ((), {}), ("224x224", {}),
            (size, {}), (np.array([size, size, 3]), {}), (BIG_ARRAY, {}),
            ((size, size, None), {}), ((size - 1, size - 1, 3), {}),
            ((size, 1, 3), {}), ((None, None, 3), {"include_top": True}),
            ((size, None, 3), {"include_top": True}),
        ]),
        st.tuples(st.integers(0, 2), st.sampled_from([0, -1, 1.5, "32", True, np.float32(3)]))
        .map(lambda iv: (tuple(iv[1] if i == iv[0] else (3 if i == 2 else size)
                               for i in range(3)), {})))


def _bad_weights(model):
    values = [st.text(max_size=12).map(lambda s: "/nonexistent-cnnblocks/" + s),
              st.sampled_from(["", "imagenet ", "IMAGENET", "image_net", "/tmp", b"imagenet",
                               __file__,  # an existing file that is no weight file
                               pathlib.Path("/nonexistent-cnnblocks.weights.h5"), ["imagenet"],
                               BIG_ARRAY, 0, 1.0, True, False]),
              st.integers()]
    if registry.entry(model).imagenet is None:
        values.append(st.just("imagenet"))
    return st.one_of(*values)


def builder_bad(model):
    bad = dict(include_top=BAD["bool"], weights=_bad_weights(model),
               input_tensor=_bad_input_tensor(model), input_shape=_bad_input_shape(model),
               pooling=bad_choice((None, "avg", "max")), classes=BAD["int"],
               classifier_activation=BAD["activation"], name=BAD["name"])
    if model == "googlenet":
        bad.update(
            aux_classifiers=BAD["bool"], normalization=bad_choice(("lrn", "batchnorm", None)),
            dropout=st.one_of(
                st.floats(min_value=1.0), st.floats(max_value=-1e-9),
                st.sampled_from([NAN, INF, -INF, "0.4", None, True, False, np.array(0.4),
                                 [0.4], BIG_ARRAY])))
    return bad


BUILDER_ARGS = [(m, a) for m in MODELS for a in sorted(builder_bad(m))]


@pytest.mark.parametrize("model,arg", BUILDER_ARGS, ids=[f"{m}-{a}" for m, a in BUILDER_ARGS])
def test_invalid_builder_argument(model, arg):
    builder = registry.entry(model).builder
    bad_values = builder_bad(model)[arg]

    @settings(max_examples=BUILDER_INVALID_EXAMPLES, **FUZZ)
    @given(kw=builder_base(model), bad=bad_values)
    def run(kw, bad):
        if arg == "input_tensor":
            _, make, extra = bad
            kw = dict(kw, **extra, input_tensor=make())
        elif arg == "input_shape":
            value, extra = bad
            kw = dict(kw, **extra, input_shape=value)
        else:
            kw = dict(kw, **{arg: bad})
        with pytest.raises((ValueError, TypeError)) as info:
            builder(**kw)
        assert_names_argument(info.value, arg)
    run()


@settings(max_examples=CONTEXT_EXAMPLES, **FUZZ)
@given(model=st.sampled_from(MODELS), kw=st.data())
def test_builders_refuse_a_file_that_holds_no_weights(model, kw):
    """An existing file that is not HDF5 or `.keras` (this test file) is refused as `weights`
    before anything is built."""
    kw = dict(kw.draw(builder_base(model)), weights=__file__)
    with pytest.raises(ValueError) as info:
        registry.entry(model).builder(**kw)
    assert_names_argument(info.value, "weights")
    assert "corrupt" in str(info.value)


@settings(max_examples=CONTEXT_EXAMPLES, **FUZZ)
@given(kw=builder_base("googlenet"), size=st.integers(32, 64))
def test_googlenet_aux_classifiers_need_a_top_and_65_pixels(kw, size):
    kw = dict(kw, aux_classifiers=True)
    if kw["include_top"]:
        kw["input_shape"] = (size, size, 3)
    with pytest.raises(ValueError) as info:
        cnnblocks.GoogLeNet(**kw)
    assert_names_argument(info.value, "aux_classifiers")


@settings(max_examples=INVALID_EXAMPLES * 2, **FUZZ)
@given(name=st.one_of(
    st.text(max_size=300).filter(lambda s: registry.canonical(s) not in
                                 {registry.canonical(m) for m in MODELS}),
    st.integers(), st.none(), st.floats(), st.sampled_from([b"resnet50", ["resnet50"],
                                                            BIG_ARRAY, np.array("vgg16")])))
def test_create_model_refuses_unknown_names(name):
    with pytest.raises((ValueError, TypeError)) as info:
        cnnblocks.create_model(name)
    assert_names_argument(info.value, "model_name", listing=", ".join(MODELS))


@settings(max_examples=INVALID_EXAMPLES, **FUZZ)
@given(model=st.sampled_from(MODELS),
       arg=st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12).filter(
           lambda a: a not in ("include_top", "weights", "input_tensor", "input_shape",
                               "pooling", "classes", "classifier_activation", "name",
                               "aux_classifiers", "normalization", "dropout")))
def test_create_model_refuses_unknown_arguments(model, arg):
    with pytest.raises(TypeError) as info:
        cnnblocks.create_model(model, **{arg: 1})
    assert_names_argument(info.value, arg)


@settings(max_examples=INVALID_EXAMPLES * 2, **FUZZ)
@given(data=st.data(), model=st.sampled_from(MODELS))
def test_create_model_passes_bad_arguments_on(data, model):
    bad = builder_bad(model)
    arg = data.draw(st.sampled_from(sorted(set(bad) - {"input_tensor", "input_shape"})))
    kw = dict(data.draw(builder_base(model)), **{arg: data.draw(bad[arg])})
    with pytest.raises((ValueError, TypeError)) as info:
        cnnblocks.create_model(model, **kw)
    assert_names_argument(info.value, arg)


# --- builders: a few small valid builds ------------------------------------------------------

def _head(model, classes, size, options):
    """Parameters of the classifier a builder adds with `include_top=True`."""
    if model.startswith("resnet"):
        return 512 * classes + classes                        # predictions: Dense 512 -> k
    if model.startswith("squeezenet"):
        return conv(1, 512, classes)                          # conv10: 1x1 512 -> k
    if model.startswith("vgg"):
        flat = (size // 32) ** 2 * 512                        # flatten of block5_pool
        return (flat + 1) * 4096 + 4097 * 4096 + 4097 * classes   # fc1, fc2, predictions
    if model == "googlenet":
        return 1024 * classes + classes                       # predictions: Dense 1024 -> k
    raise AssertionError(model)


#: GoogLeNet with `normalization="batchnorm"`: 7,020,392 parameters at the defaults (its
#: docstring: BN after every convolution, convolutions without bias).
GOOGLENET_BATCHNORM_PARAMS = 7_020_392


def trunk_params(model, options):
    """The published total (`registry.entry(model).reference`, 1000 classes at the default
    size) less the 1000-class classifier."""
    total = registry.entry(model).reference.params.value
    if model == "googlenet" and options.get("normalization") == "batchnorm":
        total = GOOGLENET_BATCHNORM_PARAMS
    return total - _head(model, 1000, 224, options)


def aux_params(classes, size, options):
    """GoogLeNet's two auxiliary classifiers on inception_4a (512 channels) and 4d (528)."""
    use_bn = options.get("normalization") == "batchnorm"
    grid = valid(same(size, 16), 5, 3)                        # 5x5/3 avg pool of 1/16 map
    total = 0
    for c in (512, 528):
        total += conv(1, c, 128, bias=not use_bn) + (bn(128) if use_bn else 0)
        total += (grid * grid * 128 + 1) * 1024 + 1025 * classes
    return total


def feature_map(model, size):
    """Height (= width) and channels of the last feature map at a square input."""
    if model.startswith("resnet"):
        return same(size, 32), 512
    if model.startswith("vgg"):
        return size // 32, 512
    if model == "googlenet":
        return same(size, 32), 1024
    n = (size - 7) // 2 + 1 if model == "squeezenet1_0" else (size - 3) // 2 + 1
    for _ in range(3):                                        # three ceil-mode 3x3/2 pools
        n = (n - 2) // 2 + 1
    return n, 512


CHEAP_MODELS = ["resnet18", "vgg11", "squeezenet1_0", "squeezenet1_1", "googlenet"]


@st.composite
def valid_build(draw):
    model = draw(st.sampled_from(CHEAP_MODELS))
    top = draw(st.booleans())
    options = {}
    if model == "googlenet":
        options = dict(normalization=draw(st.sampled_from(["lrn", "batchnorm", None])),
                       dropout=draw(st.floats(0.0, 0.9)),
                       aux_classifiers=top and draw(st.booleans()))
    size = draw(st.integers(65 if options.get("aux_classifiers") else 32,
                            72 if options.get("aux_classifiers") else 48))
    kw = dict(include_top=top, pooling=draw(st.sampled_from([None, "avg", "max"])),
              classes=draw(st.integers(1, 16)),
              classifier_activation=draw(st.sampled_from(["softmax", None, "sigmoid"])),
              name=draw(st.sampled_from(["net", "backbone_1"])), **options)
    via = draw(st.sampled_from(["input_shape", "input_tensor", "create_model"]))
    return model, size, via, kw, options


@settings(max_examples=VALID_BUILD_EXAMPLES, **FUZZ)
@given(spec=valid_build())
def test_valid_small_builds(spec):
    model, size, via, kw, options = spec
    shape = (size, size, 3)
    if via == "input_tensor":
        tensor = keras.Input(shape)
        net = registry.entry(model).builder(weights=None, input_tensor=tensor, **kw)
        assert net.inputs[0] is tensor
    elif via == "create_model":
        net = cnnblocks.create_model(model.upper(), input_shape=shape, **kw)
    else:
        net = registry.entry(model).builder(weights=None, input_shape=shape, **kw)
    classes = kw["classes"]
    expected = trunk_params(model, options)
    if kw["include_top"]:
        expected += _head(model, classes, size, options)
        if options.get("aux_classifiers"):
            expected += aux_params(classes, size, options)
    assert net.count_params() == expected
    assert net.name == kw["name"]
    n, c = feature_map(model, size)
    outputs = [tuple(t.shape) for t in net.outputs]
    if kw["include_top"]:
        assert outputs == [(None, classes)] * (3 if options.get("aux_classifiers") else 1)
    elif kw["pooling"]:
        assert outputs == [(None, c)]
    else:
        assert outputs == [(None, n, n, c)]
    rows = cnnblocks.summarize(net)
    assert all(row.recorded for row in rows)
    assert sum(row.params for row in rows) == net.count_params()
