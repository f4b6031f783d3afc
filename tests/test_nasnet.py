"""NASNet-A Mobile and Large: the cells (two-input blocks) and the architectures against
keras.applications (the oracle, built with random weights).

Blocks: exact parameters from formulas written here (and the networks' totals from them),
shapes, keras.applications' layer names, records holding exactly the layers a cell creates
(both inputs are the block's inputs), `.keras` save and safe-mode load and BN folding of a
small stack of cells, the docstring Examples, the argument errors. Architectures (`heavy`:
keras.applications refuses NASNet on the torch backend, and each build takes seconds):
NASNetMobile with its top at 224 (keras.applications needs 224 with a top) for counts, names,
weight order, one summary row per cell and a legacy HDF5 file; without top at 64x64 for outputs
(keras' weights copied across, within 1e-5), a no-top HDF5 file, BN folding, the receptive
field and the feature taps. NASNetLarge: one build of ours and keras', counts and names only.

Counting conventions (Keras `count_params()`): separable convolution `k*k*c_in + c_in*c_out`
(no bias), BatchNormalization 4 numbers per channel, 2 of them trainable.
"""

import doctest
import inspect

import numpy as np
import pytest

import keras

import cnnblocks
from cnnblocks import registry, testing
from cnnblocks.architectures import nasnet
from cnnblocks.blocks import (nasnet_adjust, nasnet_normal_cell, nasnet_reduction_cell,
                              nasnet_stem)
from parity import (assert_keras_names, bn, conv, images, max_abs_diff_after_transfer, predict,
                    relative_error, write_legacy_h5)

pytestmark = pytest.mark.per_architecture

apps = keras.applications
SMALL = (64, 64, 3)


# ---------------------------------------------------------------------------- formulas -----
def sep(k, c_in, f):
    """keras.applications' `_separable_conv_block`: (ReLU - SeparableConv k x k - BN) twice."""
    return k * k * c_in + c_in * f + bn(f) + k * k * f + f * f + bn(f)


def adjust(c_p, f, strides):
    if strides == 2:
        return 2 * conv(1, c_p, f // 2) + bn(2 * (f // 2))
    return 0 if c_p == f else conv(1, c_p, f) + bn(f)


def normal_cell(c, c_p, f, strides=1):
    """The 1x1 on x, five separable blocks (kernels 5, 3, 5, 3, 3), the adjust step."""
    return conv(1, c, f) + bn(f) + sum(sep(k, f, f) for k in (5, 3, 5, 3, 3)) + adjust(
        c_p, f, strides)


def reduction_cell(c, c_p, f, strides=1, first=False):
    """Kernels 5 (on h), 7, 7, 5 (on p) and 3 (on combination 1). The first cell has no
    adjust step: its p is x itself, with c channels."""
    p_channels = c if first else f
    return conv(1, c, f) + bn(f) + sep(5, f, f) + sum(sep(k, p_channels, f) for k in (7, 7, 5)) \
        + sep(3, f, f) + (0 if first else adjust(c_p, f, strides))


def test_cell_formulas_in_closed_form():
    """The docstrings' closed forms: 10 F^2 + 194 F (normal), 10 F^2 + 354 F (reduction)."""
    for f in (11, 44, 168):
        assert sum(sep(k, f, f) for k in (5, 3, 5, 3, 3)) == 10 * f * f + 194 * f
        assert sum(sep(k, f, f) for k in (5, 7, 7, 5, 3)) == 10 * f * f + 354 * f


def nasnet_params(repeats, penultimate, stem, skip_reduction, classes=1000):
    """The whole network from the cell formulas (keras.applications' wiring)."""
    total = conv(3, 3, stem) + bn(stem)
    f = penultimate // 24
    # (kind, F, channels of x, channels of previous, previous stride)
    c_x, c_p = stem, None
    cells = nasnet.nasnet_cells(repeats, penultimate)
    finer = False
    for kind, block, width in cells:
        out = (6 if kind == "normal" else 4) * width
        if kind == "normal":
            total += normal_cell(c_x, c_p, width, 2 if finer else 1)
        else:
            total += reduction_cell(c_x, c_p, width, 2 if finer else 1, first=c_p is None)
        if kind == "reduction" and skip_reduction and not block.startswith("stem"):
            finer = True
        else:
            c_p, finer = c_x, kind == "reduction"
        c_x = out
    assert c_x == 24 * f
    return total + c_x * classes + classes


def test_cells_table_and_totals_from_the_formulas():
    assert [c[1] for c in nasnet.nasnet_cells(4, 1056)] == [
        "stem_1", "stem_2", "0", "1", "2", "3", "reduce_4", "5", "6", "7", "8", "reduce_8",
        "9", "10", "11", "12"]
    assert [c[2] for c in nasnet.nasnet_cells(6, 4032)][:4] == [42, 84, 168, 168]
    # keras.applications NASNetMobile / NASNetLarge count_params() (keras 3.15)
    assert nasnet_params(4, 1056, 32, False) == 5_326_716
    assert nasnet_params(6, 4032, 96, True) == 88_949_818


def _model(fn, *shapes):
    inputs = [keras.Input(s) for s in shapes]
    return keras.Model(inputs, fn(*inputs))


BLOCKS = [
    # (id, block on the inputs, input shapes, parameters, output shape)
    ("stem", lambda x: nasnet_stem(x, 32, name="stem"), [(33, 33, 3)],
     conv(3, 3, 32) + bn(32), (16, 16, 32)),
    ("adjust_reduction", lambda p: nasnet_adjust(p, 44, strides=2, name="a"), [(16, 16, 88)],
     adjust(88, 44, 2), (8, 8, 44)),
    ("adjust_odd_filters", lambda p: nasnet_adjust(p, 11, strides=2, name="a"),
     [(15, 15, 32)], adjust(32, 11, 2), (8, 8, 10)),
    ("adjust_projection", lambda p: nasnet_adjust(p, 44, name="a"), [(8, 8, 264)],
     adjust(264, 44, 1), (8, 8, 44)),
    ("normal_one_input", lambda x: nasnet_normal_cell(x, None, 16, name="0"), [(8, 8, 16)],
     normal_cell(16, 16, 16), (8, 8, 96)),
    ("normal_projection", lambda x, p: nasnet_normal_cell(x, p, 16, name="1"),
     [(8, 8, 96), (8, 8, 64)], normal_cell(96, 64, 16), (8, 8, 96)),
    ("normal_factorized", lambda x, p: nasnet_normal_cell(x, p, 16, name="0"),
     [(8, 8, 64), (16, 16, 24)], normal_cell(64, 24, 16, 2), (8, 8, 96)),
    ("reduction_first", lambda x: nasnet_reduction_cell(x, None, 11, name="stem_1"),
     [(15, 15, 32)], reduction_cell(32, None, 11, first=True), (8, 8, 44)),
    ("reduction_factorized", lambda x, p: nasnet_reduction_cell(x, p, 22, name="stem_2"),
     [(8, 8, 44), (15, 15, 32)], reduction_cell(44, 32, 22, 2), (4, 4, 88)),
]


@pytest.mark.parametrize("label,block,shapes,params,output_shape", BLOCKS,
                         ids=[b[0] for b in BLOCKS])
def test_block_params_shape_and_one_record(label, block, shapes, params, output_shape):
    model = _model(block, *shapes)
    assert model.count_params() == params
    assert tuple(model.output.shape) == (None, *output_shape)
    rows = cnnblocks.summarize(model)
    assert len(rows) == 1 and rows[0].recorded and rows[0].params == params
    (record,) = cnnblocks.block_records(model)
    # the record holds every layer the call created and nothing else (both inputs stop it)
    assert set(record.layers) == {layer.name for layer in model.layers
                                  if not isinstance(layer, keras.layers.InputLayer)}
    assert not any(isinstance(v, keras.KerasTensor) for v in record.args.values())


def test_second_input_is_a_block_input():
    """A cell on the outputs of earlier blocks records only its own layers, whatever its
    `previous` is computed from (issue 24: blocks with two inputs)."""
    inputs = keras.Input((16, 16, 8))
    a = nasnet_stem(inputs, 16, name="stem")
    b = nasnet_reduction_cell(a, None, 8, name="stem_1")
    c = nasnet_reduction_cell(b, a, 8, name="stem_2")
    d = nasnet_normal_cell(c, b, 8, name="0")
    model = keras.Model(inputs, d)
    rows = cnnblocks.summarize(model)
    assert [(r.name, r.kind) for r in rows] == [
        ("stem", "nasnet_stem"), ("stem_1", "nasnet_reduction_cell"),
        ("stem_2", "nasnet_reduction_cell"), ("0", "nasnet_normal_cell")]
    assert sum(r.params for r in rows) == model.count_params()
    records = {r.name: r for r in cnnblocks.block_records(model)}
    assert "adjust_conv_1_0" in records["0"].layers  # the adjust step is the cell's
    assert not set(records["0"].layers) & set(records["stem_2"].layers)
    assert records["0"].args["filters"] == 8 and "previous" not in records["0"].args
    assert rows[3].label == "normal cell F=8"


def test_keras_layer_names_of_a_cell():
    model = _model(lambda x, p: nasnet_normal_cell(x, p, 8, name="3"), (8, 8, 48), (8, 8, 48))
    names = [layer.name for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    assert names[:3] == ["adjust_relu_projection_3", "normal_relu_1_3",
                         "adjust_conv_projection_3"]
    for expected in ("normal_conv_1_3", "normal_bn_1_3", "adjust_bn_3",
                     "separable_conv_1_normal_left1_3", "separable_conv_2_bn_normal_right2_3",
                     "normal_left3_3", "normal_add_5_3", "normal_concat_3"):
        assert expected in names
    assert all(n.endswith("_3") for n in names)


def test_two_builds_same_names_and_channels_first():
    def build():
        return _model(lambda x, p: nasnet_reduction_cell(x, p, 8, name="r"), (8, 8, 32),
                      (16, 16, 16))
    def names(model):  # all but the two inputs, which Keras numbers
        return [layer.name for layer in model.layers
                if not isinstance(layer, keras.layers.InputLayer)]
    assert names(build()) == names(build())
    first = _model(lambda x, p: nasnet_reduction_cell(x, p, 8, data_format="channels_first",
                                                      name="r"), (32, 9, 9), (16, 18, 18))
    assert tuple(first.output.shape) == (None, 32, 5, 5)
    assert first.count_params() == reduction_cell(32, 16, 8, 2)


BLOCK_ERRORS = [
    (lambda x: nasnet_normal_cell(x, None, 0), ValueError, "filters"),
    (lambda x: nasnet_normal_cell(x, None, "8"), TypeError, "filters"),
    (lambda x: nasnet_reduction_cell(x, None, 8, previous_stride=3), ValueError,
     "previous_stride"),
    (lambda x: nasnet_normal_cell(x, x, 8, previous_stride=3), ValueError, "previous_stride"),
    (lambda x: nasnet_normal_cell(x, keras.Input((None, None, 8)), 8), ValueError,
     "previous_stride"),
    (lambda x: nasnet_normal_cell(x, "p", 8), TypeError, "previous"),
    (lambda x: nasnet_normal_cell(x, None, 8), ValueError, "previous"),
    (lambda x: nasnet_reduction_cell(x, None, 8, bn_momentum=1.5), ValueError, "bn_momentum"),
    (lambda x: nasnet_reduction_cell(x, None, 8, bn_epsilon=0), ValueError, "bn_epsilon"),
    (lambda x: nasnet_reduction_cell(x, None, 8, data_format="nhwc"), ValueError,
     "data_format"),
    (lambda x: nasnet_adjust(x, 8, strides=3), ValueError, "strides"),
    (lambda x: nasnet_stem(x, -1), ValueError, "filters"),
    (lambda x: nasnet_stem(keras.Input((2, 2, 3)), 8), ValueError, "x"),
    (lambda x: nasnet_normal_cell(np.zeros((8, 8)), None, 8), TypeError, "x"),
]


@pytest.mark.parametrize("call,error,arg", BLOCK_ERRORS,
                         ids=[f"{e[2]}-{i}" for i, e in enumerate(BLOCK_ERRORS)])
def test_block_argument_errors(call, error, arg):
    with pytest.raises(error, match=f"`{arg}"):
        call(keras.Input((8, 8, 16)))


# ----------------------------------------------------------------------- architectures -----
@pytest.mark.parametrize("ours, theirs", [(cnnblocks.NASNetMobile, apps.NASNetMobile),
                                          (cnnblocks.NASNetLarge, apps.NASNetLarge)])
def test_registered_with_keras_signature(ours, theirs):
    assert registry.entry(ours.__name__).builder is ours
    assert registry.entry({"NASNetMobile": "nasnet_mobile",
                           "NASNetLarge": "nasnet_large"}[ours.__name__]).builder is ours
    assert [(p.name, p.default) for p in inspect.signature(ours).parameters.values()] == [
        (p.name, p.default) for p in inspect.signature(theirs).parameters.values()]


@pytest.fixture(scope="module")
def mobile_top():
    """Ours and keras' NASNetMobile with the top at 224 (logits), random weights."""
    keras.utils.set_random_seed(0)
    ref = apps.NASNetMobile(weights=None, classifier_activation=None)
    ours = cnnblocks.NASNetMobile(weights=None, classifier_activation=None)
    yield ours, ref
    keras.backend.clear_session()


@pytest.fixture(scope="module")
def mobile_small():
    """Ours and keras' NASNetMobile without top at 64x64, keras' weights copied into ours."""
    keras.utils.set_random_seed(1)
    ref = apps.NASNetMobile(weights=None, include_top=False, input_shape=SMALL)
    testing.randomize_batchnorm(ref, seed=3)
    ours = cnnblocks.NASNetMobile(weights=None, include_top=False, input_shape=SMALL)
    ours.set_weights(ref.get_weights())
    yield ours, ref


@pytest.mark.heavy
def test_mobile_params_names_and_weight_order(mobile_top):
    ours, ref = mobile_top
    trainable = sum(int(np.prod(w.shape)) for w in ours.trainable_weights)
    # keras.applications NASNetMobile count_params() / trainable (keras 3.15)
    assert (ours.count_params(), trainable) == (5_326_716, 5_289_978)
    assert ours.count_params() == ref.count_params()
    ref_record = cnnblocks.published.get("nasnet_mobile")
    assert (ref_record.params.value, ref_record.trainable_params.value) == (5_326_716,
                                                                            5_289_978)
    assert_keras_names(ours, ref)
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in ref.weights]
    assert tuple(ours.input.shape) == tuple(ref.input.shape) == (None, 224, 224, 3)


@pytest.mark.heavy
def test_mobile_summary_one_row_per_cell(mobile_top):
    ours, _ = mobile_top
    rows = cnnblocks.summarize(ours)
    # 2 stem cells, 3 x 4 normal cells, 2 reduction cells (Zoph et al. 2018, Figure 2)
    assert [r.kind for r in rows] == (
        ["nasnet_stem"] + ["nasnet_reduction_cell"] * 2 + ["nasnet_normal_cell"] * 4
        + ["nasnet_reduction_cell"] + ["nasnet_normal_cell"] * 4 + ["nasnet_reduction_cell"]
        + ["nasnet_normal_cell"] * 4 + ["activation", "head"])
    assert [r.name for r in rows][:4] == ["stem", "stem_1", "stem_2", "0"]
    assert sum(r.params for r in rows) == ours.count_params()
    assert [r.output_shape[-1] for r in rows[1:17]] == (
        [44, 88] + [264] * 4 + [352] + [528] * 4 + [704] + [1056] * 4)


@pytest.mark.heavy
def test_mobile_top_legacy_h5_file_loads(mobile_top, tmp_path):
    ours, ref = mobile_top
    path = write_legacy_h5(ref, tmp_path / "nasnet_mobile.h5")
    loaded = cnnblocks.NASNetMobile(weights=str(path), classifier_activation=None)
    for a, b in zip(loaded.get_weights(), ref.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.heavy
def test_mobile_outputs_equal_keras(mobile_small):
    ours, ref = mobile_small
    x = images(SMALL, low=-1, high=1)
    assert max_abs_diff_after_transfer(ours, ref, x) <= 1e-5
    assert tuple(ours.output.shape) == (None, 2, 2, 1056)


@pytest.mark.heavy
def test_mobile_notop_legacy_h5_file_gives_keras_outputs(mobile_small, tmp_path):
    _, ref = mobile_small
    path = write_legacy_h5(ref, tmp_path / "nasnet_mobile_no_top.h5")
    loaded = cnnblocks.NASNetMobile(weights=str(path), include_top=False, input_shape=SMALL)
    x = images(SMALL, low=-1, high=1, seed=1)
    np.testing.assert_allclose(predict(loaded, x), predict(ref, x), rtol=0, atol=1e-5)


def _cell_stack():
    """The stem and four cells of NASNet's wiring, small: every layer type NASNet uses."""
    inputs = keras.Input((32, 32, 3))
    stem = nasnet_stem(inputs, 16, name="stem")
    a = nasnet_reduction_cell(stem, None, 4, name="stem_1")
    b = nasnet_reduction_cell(a, stem, 8, name="stem_2")
    c = nasnet_normal_cell(b, a, 8, name="0")
    d = nasnet_normal_cell(c, b, 8, name="1")
    return keras.Model(inputs, d, name="cells")


def test_cells_keras_file_safe_mode_roundtrip_and_fold_batchnorm(tmp_path):
    model = _cell_stack()
    testing.randomize_batchnorm(model, seed=5)
    x = images((32, 32, 3), low=-1, high=1, seed=2)
    path = tmp_path / "cells.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_allclose(predict(loaded, x), predict(model, x), rtol=0, atol=1e-6)
    assert [(r.name, r.kind, r.args, r.layers) for r in cnnblocks.block_records(loaded)] == [
        (r.name, r.kind, r.args, r.layers) for r in cnnblocks.block_records(model)]
    assert not any(isinstance(layer, keras.layers.Lambda) for layer in model.layers)
    folded = cnnblocks.fold_batchnorm(model)
    assert relative_error(predict(model, x), predict(folded, x)) <= 1e-4
    assert [r.kind for r in cnnblocks.summarize(folded)] == [
        "nasnet_stem"] + ["nasnet_reduction_cell"] * 2 + ["nasnet_normal_cell"] * 2


@pytest.mark.heavy
def test_mobile_fold_batchnorm_keeps_outputs(mobile_small):
    ours, _ = mobile_small
    x = images(SMALL, low=-1, high=1, seed=3)
    folded = cnnblocks.fold_batchnorm(ours)
    remaining = [layer for layer in folded.layers
                 if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(remaining) < len([layer for layer in ours.layers
                                 if isinstance(layer, keras.layers.BatchNormalization)])
    assert relative_error(predict(ours, x), predict(folded, x)) <= 1e-4


@pytest.mark.heavy
def test_mobile_receptive_field_and_taps(mobile_small):
    ours, _ = mobile_small
    fields = cnnblocks.receptive_field(ours)
    assert fields.layers["final_relu"].stride == (32, 32)
    assert fields.layers["stem_bn1"].size == (3, 3)
    assert len(fields.blocks) == len(cnnblocks.summarize(ours))
    shapes = [tuple(t.shape) for t in cnnblocks.feature_extractor(ours).outputs]
    assert shapes == [(None, 16, 16, 44), (None, 8, 8, 264), (None, 4, 4, 528),
                      (None, 2, 2, 1056)]
    assert [t["layer"] for t in cnnblocks.feature_info(ours)] == [
        "reduction_concat_stem_1", "normal_concat_3", "normal_concat_8", "final_relu"]


@pytest.mark.heavy
@pytest.mark.heavy
def test_mobile_default_input_and_a_small_one():
    """keras.applications' default input (224, 224, 3) also without a top; any static size
    from 32 (keras.applications' minimum) runs."""
    assert tuple(cnnblocks.NASNetMobile(weights=None, include_top=False).input.shape) == (
        None, 224, 224, 3)
    model = cnnblocks.NASNetMobile(weights=None, include_top=False, pooling="avg",
                                   input_shape=(33, 45, 3))
    assert predict(model, images((33, 45, 3), n=1)).shape == (1, 1056)


ARCH_ERRORS = [
    ({"input_shape": (31, 31, 3), "include_top": False}, ValueError, "31"),
    ({"input_shape": (None, None, 3)}, ValueError, "static"),
    ({"input_shape": (None, 64, 3), "include_top": False}, ValueError, "`input_shape`"),
    ({"input_tensor": keras.Input((None, None, 3)), "include_top": False}, ValueError,
     "`input_tensor`"),
    ({"classes": 0}, ValueError, "classes"),
    ({"pooling": "sum", "include_top": False}, ValueError, "pooling"),
    ({"weights": "nasnet.h5"}, ValueError, "weights"),
    ({"input_tensor": np.zeros((1, 32, 32, 3))}, TypeError, "input_tensor"),
]


@pytest.mark.parametrize("kwargs,error,match", ARCH_ERRORS,
                         ids=[e[2] for e in ARCH_ERRORS])
def test_architecture_argument_errors(kwargs, error, match):
    kwargs.setdefault("weights", None)
    with pytest.raises(error, match=match):
        cnnblocks.NASNetMobile(**kwargs)


def test_family_record():
    family = nasnet.FAMILY
    assert [m.name for m in family.models] == ["nasnet_mobile", "nasnet_large"]
    mobile, large = family.models
    assert mobile.imagenet[0].url.endswith("/nasnet/NASNet-mobile.h5")
    assert mobile.imagenet[1].md5 == "1ed92395b5b598bdda52abe5c0dbfd63"
    assert large.imagenet[0].md5 == "11577c9a518f0070763c2b964a382f17"
    x = np.array([[[[0.0, 127.5, 255.0]]]], "float32")  # one RGB pixel
    out = keras.ops.convert_to_numpy(nasnet.preprocess_input(x))
    np.testing.assert_allclose(out, [[[[-1.0, 0.0, 1.0]]]])  # keras' "tf" mode
    np.testing.assert_allclose(out, apps.nasnet.preprocess_input(x.copy()))


@pytest.mark.heavy
def test_large_counts_and_names_equal_keras():
    """One build of ours and keras' NASNetLarge (331, with top): counts and names only."""
    ref = apps.NASNetLarge(weights=None)
    ours = cnnblocks.NASNetLarge(weights=None)
    trainable = sum(int(np.prod(w.shape)) for w in ours.trainable_weights)
    # keras.applications NASNetLarge count_params() / trainable (keras 3.15)
    assert (ours.count_params(), trainable) == (88_949_818, 88_753_150)
    assert ours.count_params() == ref.count_params()
    assert_keras_names(ours, ref)
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in ref.weights]
    assert len(cnnblocks.summarize(ours)) == 1 + 22 + 2
    del ours, ref
    keras.backend.clear_session()


def test_docstring_examples_of_the_blocks():
    """The blocks' Examples (the module's two-input one too) and `nasnet_cells`'."""
    from cnnblocks.blocks import nasnet as nasnet_blocks
    result = doctest.testmod(nasnet_blocks, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 10 and result.failed == 0
    runner = doctest.DocTestRunner()
    for test in doctest.DocTestFinder().find(nasnet.nasnet_cells, "nasnet_cells"):
        runner.run(test)
    assert runner.failures == 0 and runner.tries > 0


def test_block_function_records_every_tensor_argument_as_an_input():
    """The general rule the cells rely on (cnnblocks.identity): a decorated block's tensor
    arguments besides `x` are inputs of its record, not arguments, so a two-input block's
    record stops at both (a toy block, nothing NASNet-specific)."""
    from cnnblocks.identity import block_function

    @block_function()
    def toy_merge(x, other, filters, *, name=None):
        y = keras.layers.Conv2D(filters, 1, name=f"{name}_conv")(other)
        return keras.layers.Add(name=f"{name}_add")([x, y])

    inputs = keras.Input((4, 4, 2))
    a = keras.layers.Conv2D(3, 1, name="a")(inputs)
    b = keras.layers.Conv2D(2, 1, name="b")(inputs)
    model = keras.Model(inputs, toy_merge(a, b, 3, name="m"))
    (record,) = cnnblocks.block_records(model)
    assert record.layers == ("m_conv", "m_add")
    assert record.args == {"filters": 3} and record.label == "3"
    rows = cnnblocks.summarize(model)
    assert sum(r.params for r in rows) == model.count_params()
    assert [r.kind for r in rows if r.recorded] == ["toy_merge"]
