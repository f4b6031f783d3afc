"""Fuzzing of every registered builder (`cnnblocks.registry.list_models()`) and `create_model`.

- Every builder x every argument of its signature (`inspect.signature`; the test
  `test_every_builder_argument_is_covered` checks none is missing), with one or two fixed bad
  values each: a plain parametrized test. Each call must raise ValueError or TypeError naming
  the argument (see `assert_names_argument` in `tests/test_fuzz_blocks.py`) *before anything is
  built* (the input layer is never made), so the 41 builders cost milliseconds.
- Hypothesis on one representative builder per family (all builders go through
  `cnnblocks.architectures.common.build`, which validates): random valid head options with one
  argument at a time replaced by a drawn bad value (for `classes`, `alpha` and
  `depth_multiplier` also values above their bounds in `cnnblocks._validation`).
- `create_model`: unknown names, unknown arguments, bad arguments passed on.
- A few small valid builds (cheap models only: builds are slow) against the published totals.

Examples are bounded and derandomized (`derandomize=True`). At these settings the file runs
740 fixed calls (370 (builder, argument) pairs x 2 bad values), 2,265 drawn bad calls (151
(family builder, argument) pairs x 15), 105 `create_model` examples, 30 contextual ones
(files that are no weights, auxiliary classifiers) and 10 small valid builds.
"""

import inspect
import pathlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import keras

import cnnblocks
from cnnblocks import _validation as check
from cnnblocks import registry
from cnnblocks.architectures import common
from test_fuzz_blocks import (BAD, BIG_ARRAY, FUZZ, NAN, assert_names_argument,
                              bad_choice, bn, conv, same, valid)

# Argument validation and shape/parameter formulas, the same on every backend: the TensorFlow
# pass runs this file (conftest.py; it also passes under JAX and PyTorch).
pytestmark = pytest.mark.backend_independent

BUILDER_INVALID_EXAMPLES = 15
CONTEXT_EXAMPLES = 10
VALID_BUILD_EXAMPLES = 10

MODELS = registry.list_models()
#: The smallest input each builder takes (its `min_size`; GoogLeNet's aux heads need 65).
MIN_SIZES = {"alexnet": 63, "xception": 71, "inception_v3": 75, "inception_resnet_v2": 75}
#: Builders whose top takes any input size (`static_top=False`: MobileNetV3's head is global
#: pooling then 1x1 convolutions), so an unknown size under a top is no error there.
DYNAMIC_TOP = {"mobilenet_v3_large", "mobilenet_v3_small"}
#: One builder per family for the hypothesis tests.
FAMILY_BUILDERS = sorted({registry.entry(m).family: m for m in reversed(MODELS)}.values())


def min_size(model):
    return MIN_SIZES.get(model, 32)


def parameters(model):
    return list(inspect.signature(registry.entry(model).builder).parameters)


def variants(model):
    """The `variant` values a builder takes (AlexNet's are its own structures)."""
    return ("torchvision", "paper") if model == "alexnet" else registry.entry(model).variants


class Built(Exception):
    """Raised instead of making the input layer: the builder got past its checks."""


def _refuse_to_build(*args, **kwargs):
    raise Built("the builder accepted the arguments and started building")


def call_unbuilt(builder, **kw):
    """Calls `builder(**kw)`, which must raise before it makes its input layer."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(common, "model_input", _refuse_to_build)
        return builder(**kw)


# --- valid and bad values ---------------------------------------------------------------------

def builder_base(model):
    """A valid builder call that fails before building anything if one argument is bad:
    random head and family options, no weights."""
    size, params = min_size(model), set(parameters(model))

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
        options = dict(
            variant=st.sampled_from(variants(model)),
            normalization=st.sampled_from(["lrn", "batchnorm", None]),
            dropout=st.floats(0.0, 0.99), aux_classifiers=st.just(False),
            alpha=st.sampled_from([1.0, 0.5, 0.75, 0.35, 1.3]),
            depth_multiplier=st.integers(1, 2), minimalistic=st.booleans(),
            include_preprocessing=st.booleans(), dropout_rate=st.floats(0.0, 0.9))
        for arg, values in options.items():
            if arg in params:
                kw[arg] = draw(values)
        if kw.get("variant") == "torchvision" and model == "googlenet":
            kw["normalization"] = draw(st.sampled_from(["lrn", "batchnorm"]))
        return kw
    return strategy()


def _bad_input_tensor(model):
    """Input tensors a builder must refuse, with the other arguments they come with."""
    size = min_size(model)
    cases = [
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
    ]
    if model not in DYNAMIC_TOP:
        cases.append(("unknown size under a top", lambda: keras.Input((None, None, 3)),
                      {"input_shape": None, "include_top": True}))
    return st.sampled_from(cases)


def _bad_input_shape(model):
    size = min_size(model)
    fixed = [((size, size), {}), ((size, size, 3, 1), {}), ((), {}), ("224x224", {}),
             (size, {}), (np.array([size, size, 3]), {}), (BIG_ARRAY, {}),
             ((size, size, None), {}), ((size - 1, size - 1, 3), {}), ((size, 1, 3), {})]
    if model not in DYNAMIC_TOP:
        fixed += [((None, None, 3), {"include_top": True}),
                  ((size, None, 3), {"include_top": True})]
    return st.one_of(
        st.sampled_from(fixed),
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


#: Values above the builders' bounds (`cnnblocks._validation`): sizes that would exhaust memory.
TOO_LARGE = dict(
    classes=st.integers(check.MAX_CLASSES + 1, 10**15),
    alpha=st.floats(check.MAX_ALPHA, 1e300, exclude_min=True),
    depth_multiplier=st.integers(check.MAX_DEPTH_MULTIPLIER + 1, 10**12))


def builder_bad(model):
    """Argument -> strategy of bad values, for every argument of the builder's signature."""
    bad = dict(include_top=BAD["bool"], weights=_bad_weights(model),
               input_tensor=_bad_input_tensor(model), input_shape=_bad_input_shape(model),
               pooling=bad_choice((None, "avg", "max")),
               classes=st.one_of(BAD["int"], TOO_LARGE["classes"]),
               classifier_activation=BAD["activation"], name=BAD["name"],
               variant=bad_choice(variants(model), extra=["caffe", "tf"]),
               aux_classifiers=BAD["bool"], normalization=bad_choice(("lrn", "batchnorm", None)),
               dropout=BAD["fraction"], dropout_rate=BAD["fraction"],
               alpha=st.one_of(BAD["number"], TOO_LARGE["alpha"]),
               depth_multiplier=st.one_of(BAD["int"], TOO_LARGE["depth_multiplier"]),
               minimalistic=BAD["bool"], include_preprocessing=BAD["bool"])
    return {arg: bad[arg] for arg in parameters(model) if arg in bad}


def apply_bad(kw, arg, bad):
    """The call's arguments with `arg` replaced by the drawn bad value."""
    if arg == "input_tensor":
        _, make, extra = bad
        return dict(kw, **extra, input_tensor=make())
    if arg == "input_shape":
        value, extra = bad
        return dict(kw, **extra, input_shape=value)
    return dict(kw, **{arg: bad})


def test_every_builder_argument_is_covered():
    for model in MODELS:
        assert list(builder_bad(model)) == parameters(model), model
        assert set(FIXED_BAD_NAMES) >= set(parameters(model)), model
    assert len(MODELS) == 81
    assert len(FAMILY_BUILDERS) == len({registry.entry(m).family for m in MODELS}) == 22
    assert len(FIXED_ARGS) == 1470  # MNASNet: 4 builders x 10 arguments (dropout) x 2 values
    assert len(FAMILY_ARGS) == 205


# --- every builder, every argument, fixed bad values -------------------------------------------

def fixed_bad(model, arg):
    """One or two fixed bad values of `arg` for `model` (as `apply_bad` takes them)."""
    size = min_size(model)
    values = {
        "include_top": ["yes", 1],
        "weights": ["imagenet " if registry.entry(model).imagenet else "imagenet",
                    "/nonexistent-cnnblocks.weights.h5"],
        "input_tensor": [("numpy batch", lambda: np.zeros((1, size, size, 3)), {}),
                         ("too small", lambda: keras.Input((size - 1, size - 1, 3)), {})],
        "input_shape": [((size, size), {}), ((size - 1, size - 1, 3), {})],
        "pooling": ["average", 1],
        "classes": [0, 2.5],
        "classifier_activation": ["softmaxx", 3],
        "name": ["a/b", ""],
        "variant": ["nonexistent", None],
        "aux_classifiers": ["yes", 1],
        "normalization": ["layernorm", 0],
        "dropout": [1.0, "0.5"],
        "dropout_rate": [-0.1, None],
        "alpha": [0, NAN],
        "depth_multiplier": [0, 1.5],
        "minimalistic": ["no", 1],
        "include_preprocessing": ["no", 0],
    }
    return values[arg]


FIXED_BAD_NAMES = ("include_top", "weights", "input_tensor", "input_shape", "pooling",
                   "classes", "classifier_activation", "name", "variant", "aux_classifiers",
                   "normalization", "dropout", "dropout_rate", "alpha", "depth_multiplier",
                   "minimalistic", "include_preprocessing")
FIXED_ARGS = [(m, a, i) for m in MODELS for a in parameters(m) for i in (0, 1)]
BASE = dict(include_top=False, weights=None, input_tensor=None, input_shape=None)


@pytest.mark.parametrize("model,arg,which", FIXED_ARGS,
                         ids=[f"{m}-{a}-{i}" for m, a, i in FIXED_ARGS])
def test_every_builder_refuses_a_bad_argument_before_building(model, arg, which):
    bad = fixed_bad(model, arg)[which]
    kw = apply_bad(dict(BASE), arg, bad)
    with pytest.raises((ValueError, TypeError)) as info:
        call_unbuilt(registry.entry(model).builder, **kw)
    assert_names_argument(info.value, arg)


# --- one builder per family, drawn bad values --------------------------------------------------

FAMILY_ARGS = [(m, a) for m in FAMILY_BUILDERS for a in builder_bad(m)]


@pytest.mark.parametrize("model,arg", FAMILY_ARGS, ids=[f"{m}-{a}" for m, a in FAMILY_ARGS])
def test_invalid_builder_argument(model, arg):
    builder = registry.entry(model).builder
    bad_values = builder_bad(model)[arg]

    @settings(max_examples=BUILDER_INVALID_EXAMPLES, **FUZZ)
    @given(kw=builder_base(model), bad=bad_values)
    def run(kw, bad):
        with pytest.raises((ValueError, TypeError)) as info:
            call_unbuilt(builder, **apply_bad(kw, arg, bad))
        assert_names_argument(info.value, arg)
    run()


@settings(max_examples=CONTEXT_EXAMPLES, **FUZZ)
@given(model=st.sampled_from(MODELS), kw=st.data())
def test_builders_refuse_a_file_that_holds_no_weights(model, kw):
    """An existing file that is not HDF5 or `.keras` (this test file) is refused as `weights`
    before anything is built."""
    kw = dict(kw.draw(builder_base(model)), weights=__file__)
    with pytest.raises(ValueError) as info:
        call_unbuilt(registry.entry(model).builder, **kw)
    assert_names_argument(info.value, "weights")
    assert "corrupt" in str(info.value)


@settings(max_examples=CONTEXT_EXAMPLES, **FUZZ)
@given(kw=builder_base("googlenet"), size=st.integers(32, 64))
def test_googlenet_aux_classifiers_need_a_top_and_65_pixels(kw, size):
    """The paper's auxiliary heads (5x5/3 average pool) need 65 pixels; torchvision's
    (adaptive pooling) take any size, so the variant is the paper's."""
    kw = dict(kw, aux_classifiers=True, variant="keras")
    if kw["include_top"]:
        kw["input_shape"] = (size, size, 3)
    with pytest.raises(ValueError) as info:   # checked on the input tensor, first in the trunk
        cnnblocks.GoogLeNet(**kw)
    assert_names_argument(info.value, "aux_classifiers")


@settings(max_examples=CONTEXT_EXAMPLES, **FUZZ)
@given(kw=builder_base("inception_v3"))
def test_inception_v3_aux_classifiers_need_a_top(kw):
    kw = dict(kw, aux_classifiers=True, include_top=False)
    with pytest.raises(ValueError) as info:
        call_unbuilt(cnnblocks.InceptionV3, **kw)
    assert_names_argument(info.value, "aux_classifiers")


# --- create_model ------------------------------------------------------------------------------

@settings(max_examples=30, **FUZZ)
@given(name=st.one_of(
    st.text(max_size=300).filter(lambda s: registry.canonical(s) not in
                                 {registry.canonical(m) for m in MODELS}),
    st.integers(), st.none(), st.floats(), st.sampled_from([b"resnet50", ["resnet50"],
                                                            BIG_ARRAY, np.array("vgg16")])))
def test_create_model_refuses_unknown_names(name):
    with pytest.raises((ValueError, TypeError)) as info:
        cnnblocks.create_model(name)
    assert_names_argument(info.value, "model_name", listing=", ".join(MODELS))


@settings(max_examples=15, **FUZZ)
@given(model=st.sampled_from(MODELS),
       arg=st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12).filter(
           lambda a: a not in FIXED_BAD_NAMES))
def test_create_model_refuses_unknown_arguments(model, arg):
    with pytest.raises(TypeError) as info:
        cnnblocks.create_model(model, **{arg: 1})
    assert_names_argument(info.value, arg)


@settings(max_examples=30, **FUZZ)
@given(data=st.data(), model=st.sampled_from(MODELS))
def test_create_model_passes_bad_arguments_on(data, model):
    bad = builder_bad(model)
    arg = data.draw(st.sampled_from(sorted(set(bad) - {"input_tensor", "input_shape"})))
    kw = dict(data.draw(builder_base(model)), **{arg: data.draw(bad[arg])})
    with pytest.raises((ValueError, TypeError)) as info:
        call_unbuilt(cnnblocks.create_model, model_name=model, **kw)
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
