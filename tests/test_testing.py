"""Tests of cnnblocks.testing: the assertions pass on equal models and, on a model with one
block deliberately changed, fail with a message that names the block and layer, expected against
got, with thousands separators."""

import keras
import numpy as np
import pytest
from keras import layers

from cnnblocks import testing
from cnnblocks.blocks import vgg_block

keras.utils.set_random_seed(0)

# block3 of VGG16: 128 -> 256 channels, three 3x3 convolutions (published.md, VGG16 D).
BLOCK3_PARAMS = (9 * 128 + 1) * 256 + 2 * (9 * 256 + 1) * 256      # 1,475,328


def _vgg_like(*, block2_filters=32, block3_bias=True, extra_conv=False, name="vgg_like"):
    """A small VGG-style model; keyword options change one block."""
    inputs = keras.Input((16, 16, 3))
    x = vgg_block(inputs, 16, 2, name="block1")
    x = vgg_block(x, block2_filters, 2, name="block2")
    if extra_conv:
        x = layers.Conv2D(block2_filters, 1, name="block2_extra")(x)
    for i in (1, 2):                       # block3 by hand, to switch its biases off
        x = layers.Conv2D(32, 3, padding="same", activation="relu", use_bias=block3_bias,
                          name=f"block3_conv{i}")(x)
    x = layers.MaxPooling2D(2, name="block3_pool")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(10, name="predictions")(x)
    return keras.Model(inputs, x, name=name)


@pytest.fixture(scope="module")
def reference():
    return _vgg_like(name="reference")


def _block3_model():
    inputs = keras.Input((56, 56, 128))
    return keras.Model(inputs, vgg_block(inputs, 256, 3, name="block3"), name="block3_only")


# --- assert_param_count -------------------------------------------------------------------------

def test_param_count_passes(reference):
    total = reference.count_params()
    testing.assert_param_count(reference, total, trainable=total)
    testing.assert_param_count(reference, {"block1": 448 + 2_320, "head": 1_290})


def test_param_count_per_block_message():
    with pytest.raises(AssertionError) as info:
        testing.assert_param_count(_block3_model(), {"block3": BLOCK3_PARAMS + 1})
    assert str(info.value).splitlines() == [
        "Model 'block3_only' has unexpected parameter counts:",
        "  block3: expected 1,475,329 parameters, got 1,475,328 (-1)"]


def test_param_count_total_message_lists_blocks(reference):
    total = reference.count_params()
    with pytest.raises(AssertionError) as info:
        testing.assert_param_count(reference, total + 1_000, trainable=total - 1)
    lines = str(info.value).splitlines()
    assert lines[1] == f"  total: expected {total - 1:,} trainable parameters, got {total:,} (+1)"
    assert lines[2] == (f"  total: expected {total + 1_000:,} parameters, got {total:,} (-1,000);"
                        " parameters per block:")
    assert "    block2: 13,888" in lines and "    head: 1,290" in lines


def test_param_count_unknown_block(reference):
    with pytest.raises(AssertionError, match="block9: expected 1 parameters, but the model has no"
                                             " such block .*block1, block2"):
        testing.assert_param_count(reference, {"block9": 1})


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(expected=-1), ValueError, ["`expected`", "-1"]),
    (dict(expected=1.5), TypeError, ["`expected`", "1.5"]),
    (dict(expected=10, trainable="10"), TypeError, ["`trainable`", "'10'"]),
    (dict(expected={"block1": None}), TypeError, ["expected['block1']", "None"]),
])
def test_param_count_bad_arguments(reference, kwargs, error, words):
    with pytest.raises(error) as info:
        testing.assert_param_count(reference, **kwargs)
    assert all(word in str(info.value) for word in words)


def test_not_a_model():
    with pytest.raises(TypeError, match="`model` must be a keras.Model, received str: 'vgg'"):
        testing.assert_param_count("vgg", 1)


# --- assert_layer_counts ------------------------------------------------------------------------

def test_layer_counts_pass(reference):
    testing.assert_layer_counts(reference, Conv2D=6, MaxPooling2D=3, Dense=1, Flatten=1,
                                BatchNormalization=0)


def test_layer_counts_message():
    model = _vgg_like(extra_conv=True)
    with pytest.raises(AssertionError) as info:
        testing.assert_layer_counts(model, Conv2D=6, Dense=1, Conv2d=1)
    assert str(info.value).splitlines() == [
        "Model 'vgg_like' has unexpected layer counts:",
        # block2_extra, a hand-written conv after the recorded block2, groups with the raw
        # block3 layers (a chain ending in block3_pool): the structure decides, not the name.
        "  Conv2D: expected 6 layers, got 7 (per block: block1 2, block2 2, block3 3)",
        "  Conv2d: expected 1 layers, got 0 (types in the model: Conv2D, Dense, Flatten, "
        "InputLayer, MaxPooling2D)"]


def test_layer_counts_nested_and_errors():
    inner = _vgg_like(name="inner")
    inputs = keras.Input((16, 16, 3))
    model = keras.Model(inputs, layers.Dense(2)(inner(inputs)))
    testing.assert_layer_counts(model, Conv2D=6, Dense=2)
    with pytest.raises(ValueError, match="at least one"):
        testing.assert_layer_counts(model)
    with pytest.raises(TypeError, match="`Conv2D`.*'6'"):
        testing.assert_layer_counts(model, Conv2D="6")


# --- assert_same_architecture -------------------------------------------------------------------

def test_same_architecture_passes(reference):
    testing.assert_same_architecture(_vgg_like(), reference)
    # auto-named layers differ between two builds: check_names=False compares the rest
    auto = [keras.Sequential([keras.Input((4,)), layers.Dense(3), layers.Dense(2)])
            for _ in range(2)]
    with pytest.raises(AssertionError, match=f"missing layer {auto[1].layers[0].name} "):
        testing.assert_same_architecture(auto[0], auto[1])
    testing.assert_same_architecture(auto[0], auto[1], check_names=False)


def test_changed_block_message(reference):
    with pytest.raises(AssertionError) as info:
        testing.assert_same_architecture(_vgg_like(block2_filters=33, name="changed"), reference)
    message = str(info.value)
    lines = message.splitlines()
    assert lines[0].startswith("Model 'changed' differs from reference 'reference'")
    # Block level: block2 (the change) and block3 (its input grew by one channel).
    assert "  block2: expected output 4x4x32, got 4x4x33" in lines
    assert "  block2: expected 13,888 parameters, got 14,619 (+731)" in lines
    assert "  block3: expected 18,496 parameters, got 18,784 (+288)" in lines
    # Layer level: the convolution whose configuration changed.
    assert "  block2_conv1 (Conv2D): filters: expected 32, got 33" in lines
    assert "  block2_conv1 (Conv2D): expected weight shapes [(3, 3, 16, 32), (32,)], " \
           "got [(3, 3, 16, 33), (33,)]" in lines
    assert "block1" not in message and "head" not in message


def test_changed_bias_message(reference):
    with pytest.raises(AssertionError) as info:
        testing.assert_same_architecture(_vgg_like(block3_bias=False), reference)
    lines = str(info.value).splitlines()
    assert "  block3: expected 18,496 parameters, got 18,432 (-64)" in lines
    assert "  block3_conv1 (Conv2D): use_bias: expected True, got False" in lines


def test_inserted_layer_message(reference):
    with pytest.raises(AssertionError) as info:
        testing.assert_same_architecture(_vgg_like(extra_conv=True), reference)
    lines = str(info.value).splitlines()
    assert "  unexpected layer block2_extra (Conv2D)" in lines
    assert "  block3_conv1 (Conv2D): expected inputs from [block2_pool], got [block2_extra]" \
        in lines


def test_missing_block_and_long_message_is_capped(reference, monkeypatch):
    monkeypatch.setattr(testing, "MAX_LINES", 5)
    inputs = keras.Input((16, 16, 3))
    x = vgg_block(inputs, 16, 2, name="block1")
    x = layers.Flatten(name="flatten")(x)
    small = keras.Model(inputs, layers.Dense(10, name="predictions")(x), name="small")
    with pytest.raises(AssertionError) as info:
        testing.assert_same_architecture(small, reference)
    message = str(info.value)
    assert "  missing layer block2_conv1 (Conv2D) (after block1_pool)" in message
    lines = message.splitlines()
    assert len(lines) <= testing.MAX_LINES + 2 and "more difference(s)" in lines[-1]


def test_same_architecture_bad_reference(reference):
    with pytest.raises(TypeError, match="`reference` must be a keras.Model, received int: 3"):
        testing.assert_same_architecture(reference, 3)
    with pytest.raises(TypeError, match="`check_names`"):
        testing.assert_same_architecture(reference, reference, check_names="yes")


# --------------------------------------------------------------- randomize_batchnorm -----
def _bn_model():
    inputs = keras.Input((4, 4, 3))
    inner_in = keras.Input((4, 4, 3))
    inner = keras.Model(inner_in, layers.BatchNormalization(scale=False, name="inner_bn")(
        inner_in), name="inner")
    x = layers.BatchNormalization(name="bn")(inputs)
    return keras.Model(inputs, inner(x), name="outer")


def _bn_values(model):
    return {w.path: keras.ops.convert_to_numpy(w).tolist() for w in model.weights}


def test_randomize_batchnorm_changes_every_statistic_deterministically():
    a, b, c = _bn_model(), _bn_model(), _bn_model()
    identity = _bn_values(a)
    testing.randomize_batchnorm(a, seed=3)
    testing.randomize_batchnorm(b, seed=3)
    testing.randomize_batchnorm(c, seed=4)
    assert _bn_values(a) == _bn_values(b) != _bn_values(c)
    for path, value in _bn_values(a).items():
        assert not np.allclose(value, identity[path]), path  # nested BN and beta included
    variance = keras.ops.convert_to_numpy(a.get_layer("bn").moving_variance)
    assert ((variance >= 0.5) & (variance <= 2.0)).all()
    assert a.get_layer("inner").get_layer("inner_bn").gamma is None  # scale=False: no gamma


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(model="vgg16"), TypeError, ["`model`", "'vgg16'"]),
    (dict(model=None, seed=1), TypeError, ["`model`", "None"]),
    (dict(seed=1.5), TypeError, ["`seed`", "1.5"]),
    (dict(seed=True), TypeError, ["`seed`", "True"]),
])
def test_randomize_batchnorm_bad_arguments(kwargs, error, words):
    kwargs = {"model": _bn_model(), **kwargs}
    with pytest.raises(error) as info:
        testing.randomize_batchnorm(**kwargs)
    for word in words:
        assert word in str(info.value)
