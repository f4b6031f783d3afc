"""Receptive fields (`cnnblocks.receptive_field`): hand-computed tables, the published values of
Araujo et al. (Distill 2019), and an empirical check on random weights.

The empirical check. A unit depends on an input pixel exactly when some path of windows leads
from the pixel to the unit. On a *positive surrogate* of the network, the gradient of the unit
with respect to the input is the sum, over those paths, of products of local derivatives that
are all strictly positive, so it is non-zero exactly on the pixels the unit depends on:

- every kernel gets positive random weights (scaled by its fan-in, so that nothing overflows
  or underflows in float32) and every bias zero; batch normalization keeps its fresh
  statistics (a positive scale);
- the input is all ones, so every pre-activation is positive and every ReLU passes its
  gradient (derivative 1);
- max pooling, whose gradient reaches only the arg-max, becomes average pooling of the same
  window, stride and padding (same geometry); local response normalization, which has
  negative cross-channel derivatives, becomes an identity (it acts on channels only).

No cancellation is possible, so the non-zero set of the gradient is exactly the set of pixels
the unit can see, the computed field cut to the pixels the feature map reads at all
(`Field.span(..., clip=True)`). The test compares the two per axis (first and last pixel) and
checks that every pixel in between is non-zero (no holes; layers with dilation have holes and
are checked on their extent only).
"""

import math

import keras
import numpy as np
import pytest
from keras import layers

import cnnblocks
from cnnblocks import receptive
from cnnblocks.layers import LocalResponseNormalization
from cnnblocks.receptive import receptive_field


# --- the empirical check ----------------------------------------------------------------------

def positive_surrogate(model):
    """A copy of `model` whose input gradients are non-zero exactly on the receptive fields
    (see the module docstring)."""
    def swap(layer):
        config = layer.get_config()
        if isinstance(layer, (layers.MaxPooling1D, layers.MaxPooling2D, layers.MaxPooling3D)):
            pool = {layers.MaxPooling1D: layers.AveragePooling1D,
                    layers.MaxPooling2D: layers.AveragePooling2D,
                    layers.MaxPooling3D: layers.AveragePooling3D}[type(layer)]
            return pool.from_config(config)
        if isinstance(layer, LocalResponseNormalization):
            return layers.Identity(name=layer.name)
        return layer.__class__.from_config(config)

    clone = keras.models.clone_model(model, clone_function=swap)
    rng = np.random.default_rng(0)
    for layer in clone.layers:
        for weight in layer.weights:
            shape = tuple(weight.shape)
            kind = weight.path.split("/")[-1]
            if kind == "bias":
                weight.assign(np.zeros(shape, "float32"))
            elif kind in ("kernel", "pointwise_kernel"):
                fan_in = math.prod(shape[:-1])
                weight.assign((rng.uniform(0.5, 1.5, shape) / fan_in).astype("float32"))
            elif kind == "depthwise_kernel":
                fan_in = math.prod(shape[:-2])
                weight.assign((rng.uniform(0.5, 1.5, shape) / fan_in).astype("float32"))
    return clone


def input_gradients(model, x, units):
    """Gradient of `sum over channels of output[b, *units[b], :]` with respect to input `b`
    (channels_last), with the backend's own autodiff."""
    backend = keras.backend.backend()

    def target(y):
        return sum(keras.ops.sum(y[(b, *unit)]) for b, unit in enumerate(units))

    if backend == "tensorflow":
        import tensorflow as tf
        x = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = target(model(x, training=False))
        return tape.gradient(value, x).numpy()
    if backend == "jax":
        import jax
        return np.asarray(jax.grad(lambda v: target(model(v, training=False)))(x))
    if backend == "torch":
        import torch
        x = torch.tensor(x, requires_grad=True)
        target(model(x, training=False)).backward()
        return x.grad.detach().cpu().numpy()
    pytest.skip(f"no input gradients for backend {backend}")


def corner_units(shape):
    """The centre unit and the corners (first, last, and first row / last column) of a map."""
    spatial = shape[1:-1]
    return [tuple(n // 2 for n in spatial), tuple(0 for _ in spatial),
            tuple(n - 1 for n in spatial), (0,) * (len(spatial) - 1) + (spatial[-1] - 1,)]


def gradient_mismatches(model, fields, layer_names, *, solid=True):
    """For each layer and unit, compares the gradient's support with the computed field;
    returns a list of differences (empty when every field matches)."""
    surrogate = positive_surrogate(model)
    input_shape = tuple(surrogate.input.shape[1:])
    problems = []
    for name in layer_names:
        sub = keras.Model(surrogate.input, surrogate.get_layer(name).output)
        units = corner_units(tuple(sub.output.shape))
        x = np.ones((len(units), *input_shape), "float32")
        grads = input_gradients(sub, x, units)
        field = fields.layers[name]
        for b, unit in enumerate(units):
            support = np.abs(grads[b]).sum(-1) > 0
            got, expected = [], field.span(*unit, clip=True)
            if None in expected:  # the unit reads only padding: no gradient at all
                expected = (None,) * len(expected)
            for axis in range(support.ndim):
                others = tuple(a for a in range(support.ndim) if a != axis)
                hit = np.nonzero(support.any(axis=others))[0]
                got.append((int(hit.min()), int(hit.max())) if hit.size else None)
            if tuple(got) != expected:
                problems.append(f"{name} unit {unit}: gradient non-zero on {got}, field "
                                f"{expected} (size {field.size}, stride {field.stride}, "
                                f"padding {field.padding})")
            elif solid and None not in expected and not support[
                    tuple(slice(a, b + 1) for a, b in expected)].all():
                problems.append(f"{name} unit {unit}: zero gradients inside the field")
    return problems


# --- hand-computed fields of small networks -----------------------------------------------------

def chain(input_shape, *layer_list):
    inputs = keras.Input(input_shape)
    x = inputs
    for layer in layer_list:
        x = layer(x)
    return keras.Model(inputs, x)


# One row per network: (id, model factory, {layer: (size, stride, padding) per axis}, solid).
# Expected values by hand: window k' = d (k - 1) + 1, r += (k' - 1) S, P += p S, S *= s, with
# p the left padding ("same": floor(total / 2), total = max((n_out - 1) s + k' - n_in, 0)).
CHAINS = [
    ("conv3_valid", lambda: chain((16, 16, 2), layers.Conv2D(2, 3, name="c")),
     {"c": ((3, 3), (1, 1), (0, 0))}, True),
    ("conv3_same", lambda: chain((16, 16, 2), layers.Conv2D(2, 3, padding="same", name="c")),
     {"c": ((3, 3), (1, 1), (1, 1))}, True),
    ("conv2_same_even_kernel",  # total 1: 0 left, 1 right
     lambda: chain((16, 16, 2), layers.Conv2D(2, 2, padding="same", name="c")),
     {"c": ((2, 2), (1, 1), (0, 0))}, True),
    ("conv3_same_stride2_even_input",  # 16 -> 8: total (8-1)*2+3-16 = 1, left 0
     lambda: chain((16, 16, 2), layers.Conv2D(2, 3, strides=2, padding="same", name="c")),
     {"c": ((3, 3), (2, 2), (0, 0))}, True),
    ("conv3_same_stride2_odd_input",  # 15 -> 8: total 7*2+3-15 = 2, left 1
     lambda: chain((15, 15, 2), layers.Conv2D(2, 3, strides=2, padding="same", name="c")),
     {"c": ((3, 3), (2, 2), (1, 1))}, True),
    ("conv4_same_stride2",  # 16 -> 8: total 7*2+4-16 = 2, left 1
     lambda: chain((16, 16, 2), layers.Conv2D(2, 4, strides=2, padding="same", name="c")),
     {"c": ((4, 4), (2, 2), (1, 1))}, True),
    ("dilated_conv",  # k' = 2*(5-1)+1 = 9, same: left 4
     lambda: chain((20, 20, 2), layers.Conv2D(2, 5, dilation_rate=2, padding="same", name="c")),
     {"c": ((9, 9), (1, 1), (4, 4))}, False),
    ("pool_then_conv",  # pool 2/2: (2, 2, 0); conv 3 same: r = 2 + 2*2, P = 0 + 1*2
     lambda: chain((16, 16, 2), layers.MaxPooling2D(2, name="p"),
                   layers.Conv2D(2, 3, padding="same", name="c")),
     {"p": ((2, 2), (2, 2), (0, 0)), "c": ((6, 6), (2, 2), (2, 2))}, True),
    ("avg_pool_same_stride2",  # 16 -> 8: total 1, left 0
     lambda: chain((16, 16, 2), layers.AveragePooling2D(3, strides=2, padding="same", name="p")),
     {"p": ((3, 3), (2, 2), (0, 0))}, True),
    ("asymmetric_zero_padding",  # pads 2 top, 1 left; then a 3x3 valid conv
     lambda: chain((12, 12, 2), layers.ZeroPadding2D(((2, 0), (1, 3)), name="pad"),
                   layers.Conv2D(2, 3, name="c")),
     {"pad": ((1, 1), (1, 1), (2, 1)), "c": ((3, 3), (1, 1), (2, 1))}, True),
    ("cropping",  # crops 1 top: unit 0 starts at pixel 1 (P = -1)
     lambda: chain((12, 12, 2), layers.Cropping2D(((1, 2), (0, 0)), name="crop"),
                   layers.Conv2D(2, 3, name="c")),
     {"c": ((3, 3), (1, 1), (-1, 0))}, True),
    ("depthwise_dilated",  # k' = 5, same: left 2
     lambda: chain((16, 16, 3), layers.DepthwiseConv2D(3, dilation_rate=2, padding="same",
                                                       name="dw")),
     {"dw": ((5, 5), (1, 1), (2, 2))}, False),
    ("depthwise_stride2_then_separable",  # 17 -> 8 valid; separable 3 same s2 on 8: left 0
     lambda: chain((17, 17, 3), layers.DepthwiseConv2D(3, strides=2, name="dw"),
                   layers.SeparableConv2D(4, 3, strides=2, padding="same", name="sep")),
     {"dw": ((3, 3), (2, 2), (0, 0)), "sep": ((7, 7), (4, 4), (0, 0))}, True),
    ("asymmetric_kernel_and_strides",  # (1, 7) kernel, strides (2, 1), same on 16x16
     lambda: chain((16, 16, 2), layers.Conv2D(2, (1, 7), strides=(2, 1), padding="same",
                                              name="c")),
     {"c": ((1, 7), (2, 1), (0, 3))}, True),
    ("causal_conv1d",  # k' = 5, causal: 4 on the left
     lambda: chain((32, 2), layers.Conv1D(2, 3, dilation_rate=2, padding="causal", name="c")),
     {"c": ((5,), (1,), (4,))}, False),
    ("conv1d_pool1d",
     lambda: chain((32, 2), layers.Conv1D(2, 5, strides=2, name="c"),
                   layers.MaxPooling1D(3, strides=2, padding="same", name="p")),
     # c: 32 -> 14; p: 14 -> 7, total (7-1)*2+3-14 = 1, left 0: r = 5 + 2*2, S = 4
     {"c": ((5,), (2,), (0,)), "p": ((9,), (4,), (0,))}, True),
    ("conv3d",
     lambda: chain((9, 10, 11, 1), layers.Conv3D(2, 3, strides=(1, 2, 2), padding="same",
                                                 name="c")),
     # axis 0: s 1 -> left 1; axis 1: 10 -> 5, total 4*2+3-10 = 1, left 0; axis 2: 11 -> 6,
     # total 5*2+3-11 = 2, left 1
     {"c": ((3, 3, 3), (1, 2, 2), (1, 0, 1))}, True),
]


@pytest.mark.parametrize("build,expected", [(b, e) for _, b, e, _ in CHAINS],
                         ids=[row[0] for row in CHAINS])
def test_small_networks_by_hand(build, expected):
    fields = receptive_field(build())
    for name, (size, stride, padding) in expected.items():
        field = fields.layers[name]
        assert (field.size, field.stride, field.padding) == (size, stride, padding), name
        assert field.aligned


@pytest.mark.parametrize("build,expected,solid", [(b, e, s) for _, b, e, s in CHAINS],
                         ids=[row[0] for row in CHAINS])
def test_small_networks_match_their_gradients(build, expected, solid):
    model = build()
    problems = gradient_mismatches(model, receptive_field(model), list(expected), solid=solid)
    assert not problems, "\n".join(problems)


def _branches(input_shape, make_branches, merge):
    inputs = keras.Input(input_shape)
    return keras.Model(inputs, merge([f(inputs) for f in make_branches]))


def test_aligned_branches_take_the_largest_field():
    """An Inception module: 1x1, 3x3, 5x5 and pooled branches, all centred."""
    model = _branches((16, 16, 4), [
        layers.Conv2D(2, 1, name="b1"), layers.Conv2D(2, 3, padding="same", name="b3"),
        layers.Conv2D(2, 5, padding="same", name="b5"),
        lambda x: layers.Conv2D(2, 1, name="bp")(
            layers.MaxPooling2D(3, strides=1, padding="same", name="pool")(x))],
        layers.Concatenate(name="concat"))
    fields = receptive_field(model)
    concat = fields.layers["concat"]
    assert (concat.size, concat.stride, concat.padding) == ((5, 5), (1, 1), (2, 2))
    assert concat.aligned and fields.misalignments == []
    assert not gradient_mismatches(model, fields, ["concat"])


def _misaligned():
    """A strided 'same' 3x3 on an even input (padded 0 left, 1 right) beside a 1x1/2
    shortcut: the 3x3 branch's field is centred one pixel right of the shortcut's."""
    return _branches((16, 16, 4), [
        layers.Conv2D(2, 3, strides=2, padding="same", name="main"),
        layers.Conv2D(2, 1, strides=2, name="shortcut")], layers.Add(name="add"))


def test_misaligned_branches_are_reported_and_their_union_taken():
    model = _misaligned()
    fields = receptive_field(model)
    add = fields.layers["add"]
    # main: pixels [2i, 2i+2], centre 2i+1; shortcut: pixel 2i; union [2i, 2i+2].
    assert (add.size, add.stride, add.padding) == ((3, 3), (2, 2), (0, 0))
    assert not add.aligned and add.axes[0].offsets == (0, 1)
    assert fields.misalignments == [receptive.Misalignment("add", 0, (0, 1)),
                                    receptive.Misalignment("add", 1, (0, 1))]
    assert "misaligned: add (axis 0): branch centres at 0, 1 + i*S" in fields.to_text()
    assert not gradient_mismatches(model, fields, ["add"])


def test_branches_with_different_strides_cannot_merge():
    # 16 -> 8 by a 2x2/2 pool (stride 2) and by a 9x9 valid conv (stride 1): same shape.
    model = _branches((16, 16, 2), [layers.MaxPooling2D(2, name="p"),
                                    layers.Conv2D(2, 9, name="c")], layers.Add(name="add"))
    with pytest.raises(ValueError, match=r"'add' \(Add\).*different effective strides"):
        receptive_field(model)


def test_global_layers_see_the_whole_input():
    inputs = keras.Input((16, 16, 3))
    x = layers.Conv2D(4, 3, strides=2, name="c")(inputs)  # 16 -> 7, reads pixels 0..14
    pooled = layers.GlobalAveragePooling2D(name="gap")(x)
    flat = layers.Dense(2, name="fc")(layers.Flatten(name="flat")(x))
    model = keras.Model(inputs, [layers.Dense(3, name="out")(pooled), flat])
    fields = receptive_field(model)
    for name in ("gap", "out", "flat", "fc"):
        field = fields.layers[name]
        assert field.is_global and field.text() == "global"
        assert field.size == (15, 15) and field.stride == (None, None)
        assert field.span(0, 0, clip=True) == ((0, 14), (0, 14))
    assert [f.name for f in fields.outputs] == ["out", "fc"]
    assert fields.layers["c"].axes[0].extent == (0, 14)  # pixel 15 is dropped


def padded_after_stride(pad=1, kernel=1, crop=0):
    """A strided convolution, then zero padding (and cropping), then a convolution: the new
    border units read only padding."""
    inputs = keras.Input((16, 16, 3))
    x = layers.Conv2D(4, 3, strides=2, name="c1")(inputs)  # 16 -> 7, reads pixels 0..14
    x = layers.ZeroPadding2D(pad, name="pad")(x)
    if crop:
        x = layers.Cropping2D(crop, name="crop")(x)
    x = layers.Conv2D(4, kernel, name="c2")(x)
    return keras.Model(inputs, x)


def test_span_clip_is_none_for_a_unit_that_reads_only_padding():
    """Issue 28: unit 0 of `c2` reads the zero padding of `pad` alone; `span(clip=True)` gave
    `(0, 0)` (its unclipped field, -2..0, cut to the input), documented as None."""
    fields = receptive_field(padded_after_stride())
    c2 = fields.layers["c2"]
    assert c2.span(0, 0) == ((-2, 0), (-2, 0))  # unclipped: unchanged
    assert c2.span(0, 0, clip=True) == (None, None)
    assert c2.span(8, 3, clip=True) == (None, (4, 6))
    assert c2.span(1, 7, clip=True) == ((0, 2), (12, 14))
    assert c2.axes[0].units == (1, 7) and fields.layers["pad"].axes[0].units == (1, 7)
    assert fields.layers["c1"].axes[0].units == (0, 6)
    # a window wide enough to reach real units again (3x3 after the padding) reads pixels
    wide = receptive_field(padded_after_stride(kernel=3)).layers["c2"]
    assert wide.span(0, 0, clip=True) == ((0, 4), (0, 4)) and wide.axes[0].units == (0, 6)
    # padding of two: units 0, 1 and 9, 10 of a 1x1 convolution read nothing
    two = receptive_field(padded_after_stride(pad=2)).layers["c2"]
    assert [two.span(i, 5, clip=True)[0] for i in (0, 1, 2, 8, 9, 10)] == [
        None, None, (0, 2), (12, 14), None, None]


@pytest.mark.parametrize("pad,kernel,crop", [(1, 1, 0), (2, 1, 0), (1, 3, 0), (2, 3, 0),
                                             (3, 1, 1), (2, 2, 0)])
def test_span_clip_matches_gradients_around_padding(pad, kernel, crop):
    """The gradient check: the units that read only padding have no gradient at all, their
    neighbours exactly their clipped fields."""
    model = padded_after_stride(pad=pad, kernel=kernel, crop=crop)
    assert gradient_mismatches(model, receptive_field(model), ["c2"]) == []


def test_squeeze_excitation_keeps_the_local_field_with_a_global_context():
    inputs = keras.Input((16, 16, 4))
    x = layers.Conv2D(4, 3, padding="same", name="c")(inputs)
    s = layers.GlobalAveragePooling2D(keepdims=True, name="squeeze")(x)
    s = layers.Conv2D(4, 1, activation="sigmoid", name="excite")(s)
    y = layers.Multiply(name="scale")([x, s])
    field = receptive_field(keras.Model(inputs, y)).layers["scale"]
    assert (field.size, field.stride, field.padding) == ((3, 3), (1, 1), (1, 1))
    assert all(a.global_context for a in field.axes)
    assert field.text() == "3 /1 +global"


def test_nested_models_are_followed():
    inner = keras.Sequential([keras.Input((16, 16, 2)), layers.Conv2D(2, 3, name="c")],
                             name="inner")
    inputs = keras.Input((16, 16, 2))
    x = inner(inputs)
    model = keras.Model(inputs, layers.Conv2D(2, 3, strides=2, name="after")(x))
    fields = receptive_field(model)
    assert fields.layers["inner/c"].size == (3, 3)
    assert fields.layers["after"].size == (5, 5) and fields.layers["after"].stride == (2, 2)
    assert fields.layers["inner"].size == (3, 3)


def test_channels_first():
    inputs = keras.Input((2, 16, 15))
    x = layers.Conv2D(2, 3, strides=2, padding="same", data_format="channels_first",
                      name="c")(inputs)
    field = receptive_field(keras.Model(inputs, x)).layers["c"]
    assert (field.size, field.stride, field.padding) == ((3, 3), (2, 2), (0, 1))


def test_blocks_rows_follow_summarize():
    from cnnblocks.blocks import vgg_block
    inputs = keras.Input((32, 32, 3))
    x = vgg_block(inputs, 8, 2, name="block1")
    x = vgg_block(x, 8, 2, name="block2")
    model = keras.Model(inputs, layers.Dense(2, name="fc")(layers.Flatten(name="flat")(x)))
    fields = receptive_field(model)
    assert [f.name for f in fields] == [r.name for r in cnnblocks.summarize(model)]
    assert fields["block1"].size == (6, 6) and fields["block2"].size == (16, 16)
    assert fields["block2"].kind == "vgg_block" and fields["head"].is_global
    assert fields.last_feature_map.name == "block2"
    assert fields["block1_conv2"].size == (5, 5)  # a layer by name
    with pytest.raises(KeyError, match="No block or layer 'nope'"):
        fields["nope"]


def test_summarize_shows_the_optional_column():
    from cnnblocks.blocks import vgg_block
    inputs = keras.Input((32, 32, 3))
    model = keras.Model(inputs, vgg_block(inputs, 8, 2, name="block1"))
    plain = cnnblocks.summarize(model)
    assert plain[0].receptive_field is None and "RF" not in plain.to_text()
    summary = cnnblocks.summarize(model, receptive_field=True)
    assert summary["block1"].receptive_field.size == (6, 6)
    header, row = summary.to_text().splitlines()[1], summary.to_text().splitlines()[3]
    assert header.endswith("RF /stride") and row.endswith("6 /2")


def test_custom_pointwise_layers_can_be_declared():
    class Scale(layers.Layer):
        def call(self, x):
            return x * 2.0

    inputs = keras.Input((8, 8, 2))
    model = keras.Model(inputs, Scale(name="scale")(layers.Conv2D(2, 3, name="c")(inputs)))
    with pytest.raises(ValueError, match=r"'scale' \(Scale\).*pointwise=\(Scale,\)"):
        receptive_field(model)
    assert receptive_field(model, pointwise=(Scale,)).layers["scale"].size == (3, 3)


@pytest.mark.parametrize("build,message", [
    (lambda: chain((8, 8, 2), layers.UpSampling2D(name="up")), r"'up' \(UpSampling2D\).*upsamp"),
    (lambda: chain((8, 8, 2), layers.Reshape((64, 2), name="r")), r"'r' \(Reshape\)"),
    (lambda: chain((8,), layers.Dense(2)), "needs an input with spatial axes"),
    (lambda: _branches((8, 8, 2), [layers.Conv2D(2, 1), layers.Conv2D(2, 1)],
                       layers.Concatenate(axis=1, name="cat")), "along a spatial axis"),
    (lambda: chain((8, 8, 2), layers.LayerNormalization(axis=(1, 2, 3), name="ln")),
     "normalizes over a spatial axis"),
])
def test_unsupported_models_raise(build, message):
    with pytest.raises(ValueError, match=message):
        receptive_field(build())


def test_several_inputs_raise():
    a, b = keras.Input((8, 8, 2)), keras.Input((8, 8, 2))
    with pytest.raises(ValueError, match="one input; the model has 2"):
        receptive_field(keras.Model([a, b], layers.Add()([a, b])))


def test_unknown_sizes():
    strided = chain((None, None, 3), layers.Conv2D(2, 3, strides=2, padding="same", name="c"))
    with pytest.raises(ValueError, match=r"'c'.*stride 2.*Pass `input_shape`"):
        receptive_field(strided)
    field = receptive_field(strided, input_shape=(15, 15, 3)).layers["c"]
    assert field.padding == (1, 1)  # as on an odd input
    plain = receptive_field(chain((None, None, 3), layers.Conv2D(2, 5, padding="same",
                                                                   name="c"))).layers["c"]
    assert plain.size == (5, 5) and plain.padding == (2, 2) and plain.axes[0].extent is None
    with pytest.raises(ValueError, match="pass `input_shape`"):
        plain.span(0, 0, clip=True)


def test_bad_arguments():
    with pytest.raises(TypeError, match="`model` must be a keras.Model"):
        receptive_field("vgg16")
    with pytest.raises(TypeError, match="`pointwise` must be a tuple of layer classes"):
        receptive_field(chain((8, 8, 2), layers.Conv2D(2, 3)), pointwise=layers.ReLU)
    field = receptive_field(chain((8, 8, 2), layers.Conv2D(2, 3, name="c"))).layers["c"]
    with pytest.raises(ValueError, match="one position per spatial axis"):
        field.span(1)


def test_doctests():
    import doctest
    result = doctest.testmod(receptive, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


# --- published values: Araujo, Norris, Sim, "Computing Receptive Fields of Convolutional Neural
# Networks", Distill 2019, computed with the TF-slim models; transcribed from the table of the
# authors' library, google-research/receptive_field, receptive_field/RECEPTIVE_FIELD_TABLE.md
# (commit cfbfe6baa842d4adb3dcd4bc5dcd11cfd6595483), rows "resolution 224" (and 321 where the
# padding depends on the size). Per end-point: (RF, effective stride, effective padding).
# Our VGG16, VGG11 (slim's vgg_a: configuration A) and InceptionV3 have exactly slim's
# structure, so every end-point must match. ResNet does not: see test_resnet_against_slim.

DISTILL_VGG16 = {  # vgg_16
    "block1_conv1": (3, 1, 1), "block1_pool": (6, 2, 2), "block2_conv1": (10, 2, 4),
    "block2_pool": (16, 4, 6), "block3_conv1": (24, 4, 10), "block3_conv2": (32, 4, 14),
    "block3_pool": (44, 8, 18), "block4_conv1": (60, 8, 26), "block4_conv2": (76, 8, 34),
    "block4_pool": (100, 16, 42), "block5_conv1": (132, 16, 58), "block5_conv2": (164, 16, 74),
    "block5_pool": (212, 32, 90),
}
DISTILL_VGG_A = {  # vgg_a = VGG11
    "block1_conv1": (3, 1, 1), "block1_pool": (4, 2, 1), "block2_conv1": (8, 2, 3),
    "block2_pool": (10, 4, 3), "block3_conv1": (18, 4, 7), "block3_conv2": (26, 4, 11),
    "block3_pool": (30, 8, 11), "block4_conv1": (46, 8, 19), "block4_conv2": (62, 8, 27),
    "block4_pool": (70, 16, 27), "block5_conv1": (102, 16, 43), "block5_conv2": (134, 16, 59),
    "block5_pool": (150, 32, 59),
}
DISTILL_INCEPTION_V3 = {  # inception_v3; slim end-point -> our block
    "conv1": (3, 2, 0),        # Conv2d_1a_3x3
    "conv2": (7, 2, 0),        # Conv2d_2a_3x3
    "conv3": (11, 2, 2),       # Conv2d_2b_3x3
    "pool1": (15, 4, 2),       # MaxPool_3a_3x3
    "conv4": (15, 4, 2),       # Conv2d_3b_1x1
    "conv5": (23, 4, 2),       # Conv2d_4a_3x3
    "pool2": (31, 8, 2),       # MaxPool_5a_3x3
    "mixed0": (63, 8, 18),     # Mixed_5b
    "mixed1": (95, 8, 34),     # Mixed_5c
    "mixed2": (127, 8, 50),    # Mixed_5d
    "mixed3": (159, 16, 58),   # Mixed_6a
    "mixed4": (351, 16, 154),  # Mixed_6b
    "mixed5": (543, 16, 250),  # Mixed_6c
    "mixed6": (735, 16, 346),  # Mixed_6d
    "mixed7": (927, 16, 442),  # Mixed_6e
    "mixed8": (1055, 32, 490),  # Mixed_7a
    "mixed9": (1183, 32, 554),  # Mixed_7b
    "mixed10": (1311, 32, 618),  # Mixed_7c
}


def _check_table(fields, table):
    got = {name: (fields[name].size, fields[name].stride, fields[name].padding)
           for name in table}
    want = {name: ((r, r), (s, s), (p, p)) for name, (r, s, p) in table.items()}
    assert got == want


@pytest.mark.heavy
@pytest.mark.parametrize("name,input_shape,table", [
    ("vgg16", (224, 224, 3), DISTILL_VGG16),
    ("vgg11", (224, 224, 3), DISTILL_VGG_A),
    ("inception_v3", (299, 299, 3), DISTILL_INCEPTION_V3),
])
def test_published_fields_of_our_models(name, input_shape, table):
    model = cnnblocks.create_model(name, include_top=False, input_shape=input_shape)
    fields = receptive_field(model)
    _check_table(fields, table)
    assert fields.misalignments == []
    keras.backend.clear_session()


# TF-slim networks rebuilt here layer for layer (widths 1: the fields depend on the geometry
# only), to check the method itself against every value the table gives for them, including
# the effective paddings that depend on the input size through strided "SAME" layers.

def _slim_same(x, k, s, name):
    """slim's `conv2d_same`: "SAME" at stride 1, else explicit symmetric padding + "VALID"."""
    if s == 1:
        return layers.Conv2D(1, k, padding="same", name=name)(x)
    pad = (k - 1) // 2, k - 1 - (k - 1) // 2
    x = layers.ZeroPadding2D((pad, pad), name=f"{name}_pad")(x)
    return layers.Conv2D(1, k, strides=s, name=name)(x)


SLIM_RESNET_UNITS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}


def slim_resnet_v1(depth, size):
    """TF-slim `resnet_v1_<depth>`: root conv2d_same 7x7/2 + 3x3/2 "SAME" max pool; blocks of
    bottleneck units, the stride on the 3x3 conv of each block's *last* unit (blocks 1-3); the
    shortcut of a strided unit with unchanged depth is a 1x1/2 subsampling."""
    inputs = keras.Input((size, size, 3))
    x = _slim_same(inputs, 7, 2, "conv1")
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool1")(x)
    for b, units in enumerate(SLIM_RESNET_UNITS[depth], start=1):
        for u in range(1, units + 1):
            stride = 2 if u == units and b < 4 else 1
            name = f"block{b}_unit{u}"
            shortcut = (layers.MaxPooling2D(1, strides=stride, name=f"{name}_sc")(x)
                        if stride > 1 else x)
            y = layers.Conv2D(1, 1, name=f"{name}_1")(x)
            y = _slim_same(y, 3, stride, f"{name}_2")
            y = layers.Conv2D(1, 1, name=f"{name}_3")(y)
            x = layers.Add(name=f"block{b}" if u == units else f"{name}_add")([shortcut, y])
    return keras.Model(inputs, x)


# resnet_v1_<depth> at 224 and 321: {end-point: (RF, stride, padding)}.
DISTILL_SLIM_RESNET = {
    (50, 224): {"block1": (35, 8, 15), "block2": (99, 16, 47), "block3": (291, 32, 143),
                "block4": (483, 32, 239)},
    (50, 321): {"block1": (35, 8, 17), "block2": (99, 16, 49), "block3": (291, 32, 145),
                "block4": (483, 32, 241)},
    (101, 224): {"block1": (35, 8, 15), "block2": (99, 16, 47), "block3": (835, 32, 415),
                 "block4": (1027, 32, 511)},
    (101, 321): {"block1": (35, 8, 17), "block2": (99, 16, 49), "block3": (835, 32, 417),
                 "block4": (1027, 32, 513)},
    (152, 224): {"block1": (35, 8, 15), "block2": (163, 16, 79), "block3": (1315, 32, 655),
                 "block4": (1507, 32, 751)},
    (152, 321): {"block1": (35, 8, 17), "block2": (163, 16, 81), "block3": (1315, 32, 657),
                 "block4": (1507, 32, 753)},
}


@pytest.mark.parametrize("depth,size", list(DISTILL_SLIM_RESNET))
def test_slim_resnet_v1(depth, size):
    fields = receptive_field(slim_resnet_v1(depth, size))
    _check_table(fields.layers, DISTILL_SLIM_RESNET[depth, size])


# mobilenet_v1: Conv2d_0 3x3/2, then 13 depthwise 3x3 (stride below) + pointwise 1x1, all
# "SAME"; end-points Conv2d_<k>_pointwise.
SLIM_MOBILENET_STRIDES = (1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1)
DISTILL_SLIM_MOBILENET = {
    224: [(3, 2, 0), (7, 2, 2), (11, 4, 2), (19, 4, 6), (27, 8, 6), (43, 8, 14), (59, 16, 14),
          (91, 16, 30), (123, 16, 46), (155, 16, 62), (187, 16, 78), (219, 16, 94),
          (251, 32, 94), (315, 32, 126)],
    321: [(3, 2, 1), (7, 2, 3), (11, 4, 5), (19, 4, 9), (27, 8, 13), (43, 8, 21), (59, 16, 29),
          (91, 16, 45), (123, 16, 61), (155, 16, 77), (187, 16, 93), (219, 16, 109),
          (251, 32, 125), (315, 32, 157)],
}


@pytest.mark.parametrize("size", [224, 321])
def test_slim_mobilenet_v1(size):
    inputs = keras.Input((size, size, 3))
    x = layers.Conv2D(1, 3, strides=2, padding="same", name="Conv2d_0")(inputs)
    for k, stride in enumerate(SLIM_MOBILENET_STRIDES, start=1):
        x = layers.DepthwiseConv2D(3, strides=stride, padding="same",
                                   name=f"Conv2d_{k}_depthwise")(x)
        x = layers.Conv2D(1, 1, name=f"Conv2d_{k}_pointwise")(x)
    fields = receptive_field(keras.Model(inputs, x))
    names = ["Conv2d_0"] + [f"Conv2d_{k}_pointwise" for k in range(1, 14)]
    _check_table(fields.layers, dict(zip(names, DISTILL_SLIM_MOBILENET[size])))


def test_slim_alexnet_v2():
    inputs = keras.Input((224, 224, 3))
    x = layers.Conv2D(1, 11, strides=4, name="conv1")(inputs)
    x = layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    x = layers.Conv2D(1, 5, padding="same", name="conv2")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool2")(x)
    for name in ("conv3", "conv4", "conv5"):
        x = layers.Conv2D(1, 3, padding="same", name=name)(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool5")(x)
    fields = receptive_field(keras.Model(inputs, x))
    _check_table(fields.layers, {  # alexnet_v2
        "conv1": (11, 4, 0), "pool1": (19, 8, 0), "conv2": (51, 8, 16), "conv3": (99, 16, 32),
        "conv4": (131, 16, 48), "conv5": (163, 16, 64), "pool5": (195, 32, 64)})


@pytest.mark.heavy
@pytest.mark.parametrize("depth", [50, 101, 152])
def test_resnet_against_slim(depth):
    """Our ResNets (keras.applications' structure) are not TF-slim's resnet_v1: keras puts a
    stage's stride on the first 1x1 convolution of its *first* module, slim on the 3x3 of the
    previous block's *last* unit; keras pads the stem's max pool explicitly by 1 on each side,
    slim uses "SAME" (at 224: 0 before, 1 after). Every 3x3 convolution still runs at the same
    resolution in both, so the receptive field sizes at the ends of the four stages are
    slim's; the effective stride is half of slim's at the ends of stages 2-4 (slim has
    already subsampled) and equal at the end; the padding is 2 more (the pool's extra pixel,
    at stride 2)."""
    model = cnnblocks.create_model(f"resnet{depth}", include_top=False)
    fields = receptive_field(model)
    slim = DISTILL_SLIM_RESNET[depth, 224]
    # slim's blocks 1-4 have as many units as our stages conv2-conv5.
    ends = [f"conv{stage}_block{units}"
            for stage, units in enumerate(SLIM_RESNET_UNITS[depth], start=2)]
    for (slim_block, (r, s, p)), end in zip(slim.items(), ends):
        field = fields[end]
        final = slim_block == "block4"
        assert field.size == (r, r), end
        assert field.stride == ((s, s) if final else (s // 2, s // 2)), end
        assert field.padding == (p + 2, p + 2), end
    assert fields.misalignments == []
    keras.backend.clear_session()


# --- the gradient check on full architectures ----------------------------------------------

GRADIENT_CHECKS = [
    # (model, input size, layers): fields from 3 pixels to far past the input; the corner
    # units test both ends of the fields that fit.
    ("vgg16", 128, ["block1_conv1", "block1_pool", "block3_pool", "block4_pool",
                    "block5_conv3", "block5_pool"]),
    ("resnet50", 160, ["conv1_relu", "pool1_pool", "conv2_block3_out", "conv3_block4_out",
                       "conv4_block6_out", "conv5_block3_out"]),
    ("inception_v3", 139, ["conv1_relu", "pool1", "mixed0", "mixed2", "mixed3", "mixed7",
                           "mixed10"]),
    # misaligned branches (block4 at this size) and separable convolutions; 128 is even, so
    # the stem's strided valid convolution never reads the last row and column.
    ("xception", 128, ["block2_add", "block3_add", "block4_add", "block14_sepconv2_act"]),
]


@pytest.mark.heavy
@pytest.mark.parametrize("name,size,layer_names", GRADIENT_CHECKS,
                         ids=[row[0] for row in GRADIENT_CHECKS])
def test_fields_match_gradients_of_full_architectures(name, size, layer_names):
    model = cnnblocks.create_model(name, include_top=False, input_shape=(size, size, 3))
    fields = receptive_field(model)
    problems = gradient_mismatches(model, fields, layer_names)
    keras.backend.clear_session()
    assert not problems, "\n".join(problems)


# --- command line ------------------------------------------------------------------------------

def _cli(capsys, *args):
    from cnnblocks import cli
    status = cli.main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def test_cli_rf_on_a_keras_file_and_a_bad_name(tmp_path, capsys):
    from cnnblocks.blocks import vgg_block
    inputs = keras.Input((64, 64, 3))
    model = keras.Model(inputs, vgg_block(inputs, 4, 2, name="block1"), name="tiny")
    path = tmp_path / "tiny.keras"
    model.save(path)
    status, out, err = _cli(capsys, "rf", str(path))
    assert status == 0, err
    assert "tiny (input 64x64x3)" in out
    assert "block1  vgg_block  32x32x4   6       2        2  yes" in out
    status, out, err = _cli(capsys, "rf", str(path), "--layers", "--input-shape", "33,33,3")
    assert status == 0, err
    assert "block1_conv2  Conv2D         5       1        2" in out
    status, out, err = _cli(capsys, "rf", "vgg-17")
    assert status == 2 and "cnnblocks rf: Unknown model 'vgg-17'" in err


@pytest.mark.heavy
def test_cli_rf_on_a_registered_model(capsys):
    status, out, err = _cli(capsys, "rf", "vgg16")
    assert status == 0, err
    assert "last feature map: block5 (7x7x512): field 212, stride 32, padding 90" in out
