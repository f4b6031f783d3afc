"""ConvNeXt: `convnext_block`, the `LayerScale` / `StochasticDepth` layers, and ConvNeXt-T/S/B/L/XL
against keras.applications (the oracle, built with random weights) and torchvision's state dicts.

Every model is built once (ours and keras', with the top, at 32x32: the head pools globally,
so parameters do not depend on the input size, and multiply-adds at 224x224 are counted
symbolically). Per model: keras.applications' parameter count, its layer names and types (its
nested Sequential stem and downsampling models inlined), its weight order. ConvNeXt-T also:
outputs within 1e-5 with randomized weights copied across at 64x64, a legacy HDF5 file written
from keras' model, the summary (one row per block), receptive field, feature taps, multiply-adds,
a `.keras` round trip in safe mode, and torchvision's state dict converted (relative error
<= 1e-4). Small, Base, Large and XLarge are `heavy` (counts, names and weight order only;
S/B/L also the torchvision layout against torchvision's state-dict keys and shapes).
"""

import inspect

import numpy as np
import pytest

import keras

import cnnblocks
from cnnblocks import registry
from cnnblocks import weights as weight_files
from cnnblocks.architectures import convnext
from cnnblocks.blocks import convnext_block
from cnnblocks.layers import LayerScale, StochasticDepth
from harness import check_block
from parity import images, predict, relative_error, write_legacy_h5

# One check repeated over many architectures: the extra-backend passes run its heavy cases
# for ResNet50 and InceptionV3 only (conftest.py).
pytestmark = pytest.mark.per_architecture

apps = keras.applications


# ------------------------------------------------------------------------------- block -----
def block_params(c, e=4, k=7, layer_scale=True):
    """convnext_block: depthwise k x k with bias, LayerNorm (2c), Dense c -> e c and e c -> c
    with biases, LayerScale (c)."""
    return (k * k * c + c) + 2 * c + (c * e * c + e * c) + (e * c * c + c) + (
        c if layer_scale else 0)


def test_block_formula_in_the_docstring():
    # `2 e c^2 + (k_h k_w + e + 5) c` (8 c^2 + 58 c for 7x7, e = 4)
    for c, e, k in ((96, 4, 7), (16, 2, 3), (768, 4, 7)):
        assert block_params(c, e, k) == 2 * e * c * c + (k * k + e + 5) * c
    assert block_params(96) == 8 * 96 * 96 + 58 * 96 == 79_296


BLOCKS = [
    ("default", lambda x, name: convnext_block(x, 16, name=name), (8, 8, 16), block_params(16)),
    ("drop_e2_k3", lambda x, name: convnext_block(x, 24, expansion=2, kernel_size=3,
                                                  drop_rate=0.2, name=name),
     (6, 6, 24), block_params(24, 2, 3)),
    ("no_layer_scale", lambda x, name: convnext_block(x, 8, layer_scale_init_value=None,
                                                      name=name),
     (5, 7, 8), block_params(8, layer_scale=False)),
]


@pytest.mark.parametrize("label,block,input_shape,params", BLOCKS, ids=[b[0] for b in BLOCKS])
def test_block_harness(label, block, input_shape, params, tmp_path):
    """Exact parameters and shape, deterministic names, records, `.keras` safe-mode load (with
    LayerScale and StochasticDepth in the file)."""
    check_block(block, input_shape, params=params, output_shape=input_shape, tmp_path=tmp_path)


def test_block_names_and_weights_equal_keras_block():
    from keras.src.applications.convnext import ConvNeXtBlock  # the oracle's block
    for rate, last in ((0.0, "identity"), (0.1, "stochastic_depth")):
        inputs = keras.Input((14, 14, 32))
        ours = keras.Model(inputs, convnext_block(inputs, 32, drop_rate=rate, name="s0_b0"))
        inputs = keras.Input((14, 14, 32))
        ref = keras.Model(inputs, ConvNeXtBlock(32, rate, 1e-6, name="s0_b0")(inputs))
        names = [layer.name for layer in ours.layers[1:]]
        assert names == [layer.name for layer in ref.layers[1:]] + ["s0_b0_add"]
        assert names[-2] == f"s0_b0_{last}"
        assert [w.shape for w in ours.weights] == [w.shape for w in ref.weights]
        np.testing.assert_array_equal(ours.get_layer("s0_b0_layer_scale").get_weights()[0],
                                      np.full(32, 1e-6, "float32"))
        ref.set_weights([np.random.RandomState(i).uniform(-0.5, 0.5, w.shape)
                         for i, w in enumerate(ref.weights)])
        ours.set_weights(ref.get_weights())
        x = images((14, 14, 32), low=-1, high=1)
        np.testing.assert_allclose(predict(ours, x), predict(ref, x), rtol=0, atol=1e-5)


def test_stochastic_depth_drops_whole_samples_in_training_only():
    inputs = keras.Input((4, 4, 8))
    layer = StochasticDepth(0.5, seed=1, name="sd")
    model = keras.Model(inputs, layer(inputs))
    x = images((4, 4, 8), n=64, low=0.5, high=1.0)
    y = keras.ops.convert_to_numpy(model(x, training=True))
    dropped = np.all(y == 0, axis=(1, 2, 3))
    kept = np.all(np.isclose(y, x / 0.5), axis=(1, 2, 3))
    assert np.all(dropped | kept) and 0 < dropped.sum() < 64
    np.testing.assert_array_equal(predict(model, x), x)


def test_layers_config_round_trip():
    for layer in (LayerScale(0.25, 6, name="ls"), StochasticDepth(0.3, seed=2, name="sd")):
        config = keras.saving.serialize_keras_object(layer)
        twin = keras.saving.deserialize_keras_object(config, safe_mode=True)
        assert type(twin) is type(layer) and twin.get_config() == layer.get_config()
    scale = LayerScale(0.25, 6)
    scale.build((None, 2, 2, 6))
    assert [tuple(w.shape) for w in scale.weights] == [(6,)]


@pytest.mark.parametrize("make,error,arg", [
    (lambda: convnext_block(keras.Input((8, 8, 16)), 32), ValueError, "filters"),
    (lambda: convnext_block(keras.Input((8, 8, 16)), 16, drop_rate=1.0), ValueError,
     "drop_rate"),
    (lambda: convnext_block(keras.Input((8, 8, 16)), 16, drop_rate="0.1"), TypeError,
     "drop_rate"),
    (lambda: convnext_block(keras.Input((8, 8, 16)), 16, expansion=0), ValueError,
     "expansion"),
    (lambda: convnext_block(keras.Input((8, 8, 16)), 16, layer_scale_init_value=-1),
     ValueError, "layer_scale_init_value"),
    (lambda: convnext_block(keras.Input((8, 8, 16)), 16, data_format="channels_first"),
     ValueError, "data_format"),
    (lambda: convnext_block(keras.Input((8, 8, 16)), 16, name="a/b"), ValueError, "name"),
    (lambda: LayerScale(1e-6, 0), ValueError, "projection_dim"),
    (lambda: LayerScale("x", 4), TypeError, "init_values"),
    (lambda: StochasticDepth(1.5), ValueError, "drop_path_rate"),
], ids=["filters", "drop_rate", "drop_rate_type", "expansion", "layer_scale", "data_format",
        "name", "projection_dim", "init_values", "drop_path_rate"])
def test_block_and_layer_argument_errors(make, error, arg):
    with pytest.raises(error, match=f"`{arg}"):
        make()


# ------------------------------------------------------------------------------ models -----
# keras.applications ConvNeXtTiny ... XLarge, Keras 3.15 count_params() with the top (all
# trainable; the figures; torchvision's num_params for T/S/B/L are the same), and
# count_macs at 224x224 (T: 4,455,531,264, the figure; torchvision's _ops 4.456 G).
ROWS = [
    ("tiny", 28_589_128, 4_455_531_264, 768),
    ("small", 50_223_688, 8_683_712_256, 768),
    ("base", 88_591_464, 15_354_729_472, 1024),
    ("large", 197_767_336, 34_361_433_600, 1536),
    ("xlarge", 350_196_968, 60_921_030_656, 2048),
]
PARAMS = [pytest.param(r, id=r[0], marks=() if r[0] == "tiny" else pytest.mark.heavy)
          for r in ROWS]
SMALL = (32, 32, 3)


def _builders(variant):
    name = convnext._KERAS_NAME[variant]
    return getattr(cnnblocks, name), getattr(apps, name)


@pytest.fixture(scope="module", params=PARAMS)
def row(request):
    return request.param


@pytest.fixture(scope="module")
def built(row):
    ours_fn, theirs_fn = _builders(row[0])
    kwargs = dict(weights=None, input_shape=SMALL, classifier_activation=None)
    ref = theirs_fn(**kwargs)
    ours = ours_fn(**kwargs)
    yield ours, ref
    keras.backend.clear_session()


def inlined(model):
    """`model.layers` with nested models replaced by their layers (keras.applications' stem
    and downsampling Sequential models), input layers left out."""
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found.extend(inlined(layer))
        elif not isinstance(layer, keras.layers.InputLayer):
            found.append(layer)
    return found


def assert_names_equal_keras(ours, ref):
    """Layer for layer the same names and types, ours with its `Add` layers (keras'
    unnamed `x + y`) left out and keras' nested models inlined; the same weight order."""
    mine = [(layer.name, type(layer).__name__) for layer in ours.layers[1:]
            if not isinstance(layer, keras.layers.Add)]
    assert [name for name, _ in mine] == [layer.name for layer in inlined(ref)]
    theirs = [type(layer).__name__ for layer in inlined(ref)]
    assert [t for _, t in mine] == theirs
    assert all(layer.name.endswith("_add") for layer in ours.layers
               if isinstance(layer, keras.layers.Add))
    assert not any(isinstance(layer, (keras.Model, keras.layers.Lambda))
                   for layer in ours.layers)
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in ref.weights]
    assert ours.name == ref.name


def test_registered_with_keras_signature(row):
    ours_fn, theirs_fn = _builders(row[0])
    assert registry.entry(f"convnext_{row[0]}").builder is ours_fn
    assert [(p.name, p.default) for p in inspect.signature(ours_fn).parameters.values()] == [
        (p.name, p.default) for p in inspect.signature(theirs_fn).parameters.values()]


def test_params_names_and_weight_order_equal_keras(row, built):
    variant, params, _, last = row
    ours, ref = built
    assert ours.count_params() == ref.count_params() == params
    assert sum(int(np.prod(w.shape)) for w in ours.trainable_weights) == params
    assert_names_equal_keras(ours, ref)
    blocks = [r for r in cnnblocks.summarize(ours) if r.kind == "convnext_block"]
    assert len(blocks) == sum(convnext.CONVNEXT_SPECS[variant][0])
    assert tuple(ours.get_layer(f"convnext_{variant}_head_dense").input.shape) == (None, last)
    ref_published = cnnblocks.published.get(f"convnext_{variant}")
    assert ref_published.params.value == params


def test_multiply_adds_equal_keras_at_imagenet_size(row, built):
    variant, _, macs, _ = row
    ours, ref = built
    shape = (224, 224, 3)
    assert cnnblocks.count_macs(ours, input_shape=shape) == macs
    if variant == "tiny":
        assert cnnblocks.count_macs(ref, input_shape=shape) == macs
    assert cnnblocks.published.get(f"convnext_{variant}").macs.matches(macs)


TINY = pytest.mark.parametrize("row", [PARAMS[0]], indirect=True)


def _randomize(model, seed=0):
    """Every weight drawn at random (LayerScale ~ U(0.1, 0.5), LayerNorm gamma ~ U(0.5, 1.5),
    the rest ~ N(0, 0.05)): keras' 1e-6 LayerScale would hide the blocks' branches."""
    rng = np.random.RandomState(seed)
    for layer in inlined(model):
        for w in layer.weights:
            if isinstance(layer, LayerScale) or type(layer).__name__ == "LayerScale":
                value = rng.uniform(0.1, 0.5, w.shape)
            elif isinstance(layer, keras.layers.LayerNormalization) and w.name == "gamma":
                value = rng.uniform(0.5, 1.5, w.shape)
            else:
                value = rng.normal(0, 0.05, w.shape)
            w.assign(value.astype("float32"))


@pytest.fixture(scope="module")
def tiny64():
    kwargs = dict(weights=None, input_shape=(64, 64, 3), classifier_activation=None)
    ref = apps.ConvNeXtTiny(**kwargs)
    _randomize(ref)
    ours = cnnblocks.ConvNeXtTiny(**kwargs)
    ours.set_weights(ref.get_weights())
    yield ours, ref
    keras.backend.clear_session()


def test_tiny_outputs_equal_keras(tiny64):
    ours, ref = tiny64
    x = images((64, 64, 3))
    out = predict(ref, x)
    assert np.abs(out).max() > 0.1  # the blocks contribute (randomized LayerScale)
    diff = np.abs(predict(ours, x) - out).max()
    print(f"[convnext_tiny 64x64] max |ours - keras| = {diff:.2e}")
    assert diff <= 1e-5


def test_tiny_legacy_keras_file_loads(tiny64, tmp_path):
    """keras' legacy HDF5 layout (its ImageNet files'): the stem and downsampling weights are
    groups of nested models there, loaded weight by weight into our inlined layers."""
    ours, ref = tiny64
    path = write_legacy_h5(ref, tmp_path / "convnext_tiny.h5")
    loaded = cnnblocks.ConvNeXtTiny(weights=str(path), input_shape=(64, 64, 3),
                                    classifier_activation=None)
    x = images((64, 64, 3), seed=1)
    np.testing.assert_allclose(predict(loaded, x), predict(ref, x), rtol=0, atol=1e-5)
    other = cnnblocks.ConvNeXtTiny(weights=None, include_top=False, input_shape=SMALL)
    with pytest.raises(weight_files.WeightFileError, match="does not fit"):
        weight_files.load_into(other, path)


@pytest.mark.parametrize("pooling", [None, "avg", "max"])
def test_tiny_notop_equals_keras_and_its_file_loads(pooling, tmp_path):
    kwargs = dict(weights=None, include_top=False, pooling=pooling, input_shape=SMALL)
    ref = apps.ConvNeXtTiny(**kwargs)
    _randomize(ref, seed=5)
    path = write_legacy_h5(ref, tmp_path / "convnext_tiny_notop.h5")
    ours = cnnblocks.ConvNeXtTiny(**dict(kwargs, weights=str(path)))
    assert_names_equal_keras(ours, ref)
    x = images(SMALL, seed=2)
    np.testing.assert_allclose(predict(ours, x), predict(ref, x), rtol=0, atol=1e-5)
    keras.backend.clear_session()


@TINY
def test_tiny_summary_receptive_field_and_taps(row, built):
    ours, _ = built
    summary = cnnblocks.summarize(ours)
    stage = ["convnext_block"]
    assert [r.kind for r in summary] == (
        ["preprocessing", "stem"] + stage * 3 + ["downsampling"] + stage * 3
        + ["downsampling"] + stage * 9 + ["downsampling"] + stage * 3 + ["head"])
    assert [r.name for r in summary][1:4] == ["convnext_tiny_stem", "convnext_tiny_stage_0_block_0",
                                              "convnext_tiny_stage_0_block_1"]
    assert all(r.params == block_params(r.output_shape[-1]) for r in summary
               if r.kind == "convnext_block")
    assert sum(r.params for r in summary) == ours.count_params()
    field = cnnblocks.receptive_field(ours).last_feature_map
    assert field.stride == (32, 32)
    shapes = [tuple(t.shape) for t in cnnblocks.feature_extractor(ours).outputs]
    assert shapes == [(None, 8, 8, 96), (None, 4, 4, 192), (None, 2, 2, 384), (None, 1, 1, 768)]


@TINY
def test_tiny_keras_file_round_trip_and_fold_batchnorm(row, built, tmp_path):
    ours, _ = built
    x = images(SMALL, seed=3)
    path = tmp_path / "convnext_tiny.keras"
    ours.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_allclose(predict(loaded, x), predict(ours, x), rtol=0, atol=1e-6)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in ours.layers]
    assert cnnblocks.summarize(loaded).to_text() == cnnblocks.summarize(ours).to_text()
    folded = cnnblocks.fold_batchnorm(ours)  # no BatchNormalization: nothing to fold
    np.testing.assert_allclose(predict(folded, x), predict(ours, x), rtol=0, atol=1e-6)


def test_imagenet_files_are_keras_applications(tmp_path, monkeypatch):
    """`weights="imagenet"` reads keras.applications' file names and SHA-256 hashes."""
    from keras.src.applications import convnext as keras_convnext
    for variant, (top, notop) in convnext.IMAGENET_HASHES.items():
        assert keras_convnext.WEIGHTS_HASHES[f"convnext_{variant}"] == (top, notop)
        files = registry.entry(f"convnext_{variant}").imagenet
        assert [f.url for f in files] == [
            keras_convnext.BASE_WEIGHTS_PATH + f"convnext_{variant}{s}.h5" for s in ("", "_notop")]
    source = apps.ConvNeXtTiny(weights=None, include_top=False, input_shape=(32, 32, 3))
    path = str(write_legacy_h5(source, tmp_path / "convnext_tiny_notop.h5"))
    asked = []

    def our_cached_file(spec, what):
        asked.append((spec.filename, spec.sha256))
        return path

    monkeypatch.setattr(weight_files, "cached_file", our_cached_file)
    cnnblocks.ConvNeXtTiny(weights="imagenet", include_top=False, input_shape=(32, 32, 3))
    assert asked == [("convnext_tiny_notop.h5", convnext.IMAGENET_HASHES["tiny"][1])]


@pytest.mark.parametrize("kwargs,error,match", [
    ({"input_shape": (31, 64, 3), "include_top": False}, ValueError, "at least 32x32"),
    ({"weights": "imagenet", "input_shape": (64, 64, 3)}, ValueError, "input_shape"),
    ({"weights": "imagenet", "classes": 10}, ValueError, "classes"),
    ({"include_top": True, "input_shape": (None, None, 3)}, ValueError, "static"),
    ({"include_preprocessing": "yes"}, TypeError, "include_preprocessing"),
    ({"pooling": "mean", "include_top": False}, ValueError, "pooling"),
    ({"weights": "convnext.h5"}, ValueError, "weights"),
    ({"name": "a/b"}, ValueError, "name"),
    ({"classes": 0}, ValueError, "classes"),
], ids=["too_small", "imagenet_size", "imagenet_classes", "top_not_static", "preprocessing",
        "pooling", "weights", "name", "classes"])
def test_argument_errors(kwargs, error, match):
    kwargs.setdefault("weights", None)
    with pytest.raises(error, match=match):
        cnnblocks.ConvNeXtTiny(**kwargs)


def test_unknown_variant_and_channels_first():
    with pytest.raises(ValueError, match="convnext_huge"):
        registry.entry("convnext_huge")
    previous = keras.config.image_data_format()
    keras.config.set_image_data_format("channels_first")
    try:
        with pytest.raises(ValueError, match="channels_last"):
            cnnblocks.ConvNeXtTiny(weights=None, include_top=False)
    finally:
        keras.config.set_image_data_format(previous)


# ---------------------------------------------------------------------------- torchvision -----
TV_ROWS = [pytest.param(v, id=v, marks=() if v == "tiny" else pytest.mark.heavy)
           for v in ("tiny", "small", "base", "large")]


@pytest.fixture(scope="module")
def tv():
    pytest.importorskip("torch")
    import torch_oracle
    return torch_oracle.import_torchvision()


def _torch_model(tv, variant, seed=0):
    """torchvision's ConvNeXt with random weights: LayerNorm affine and layer_scale drawn too
    (its 1e-6 layer scale and unit LayerNorms would hide a wrong conversion)."""
    import torch
    torch.manual_seed(seed)
    model = getattr(tv.models, f"convnext_{variant}")()
    generator = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for key, value in model.state_dict().items():
            if key.endswith("layer_scale"):
                value.copy_(torch.rand(value.shape, generator=generator) * 0.4 + 0.1)
            elif ("classifier.0" in key or ".block.2" in key or key.startswith(
                    ("features.0.1", "features.2.0", "features.4.0", "features.6.0"))):
                if key.endswith("weight"):
                    value.copy_(torch.rand(value.shape, generator=generator) + 0.5)
                else:
                    value.copy_(torch.randn(value.shape, generator=generator) * 0.1)
    return model.eval()


def test_tiny_torchvision_state_dict_converts(tv, tmp_path):
    import torch
    import torch_oracle
    from cnnblocks import convert
    reference_model = _torch_model(tv, "tiny")
    assert sum(p.numel() for p in reference_model.parameters()) == 28_589_128
    x = torch_oracle.images(64)  # NHWC, normalized images: ours without its Normalization
    reference = torch_oracle.run(reference_model, x)
    path = tmp_path / "convnext_tiny.pth"
    torch.save(reference_model.state_dict(), path)
    del reference_model
    model = cnnblocks.ConvNeXtTiny(weights=None, include_preprocessing=False,
                                   input_shape=(64, 64, 3), classifier_activation=None)
    convert.load_torch_weights(model, str(path))
    error = relative_error(reference[0], predict(model, x))
    print(f"[conversion] convnext_tiny at 64: max relative error {error:.2e}")
    assert error <= 1e-4
    loaded = cnnblocks.ConvNeXtTiny(weights=str(path), include_preprocessing=False,
                                    input_shape=(64, 64, 3), classifier_activation=None)
    np.testing.assert_array_equal(predict(loaded, x), predict(model, x))
    keras.backend.clear_session()


def test_torchvision_layout_covers_the_state_dict(tv, row, built):
    """Every tensor of torchvision's state dict has its layer, every shape fits (no forward
    pass: the conversion itself is checked on Tiny). On the models built above."""
    from cnnblocks import convert
    variant = row[0]
    if variant not in convnext.TORCHVISION_WEIGHTS:
        pytest.skip("torchvision has no ConvNeXt-XL")
    ours, _ = built
    state = {k: v.numpy() for k, v in getattr(tv.models, f"convnext_{variant}")()
             .state_dict().items()}
    assignments = convert.plan(ours, state, registry.entry(f"convnext_{variant}").torch_layout)
    assert len(assignments) == len(state) == len(ours.weights)


def test_torchvision_weight_sets():
    for variant, (filename, top1, top5, params, _, resize, _) in \
            convnext.TORCHVISION_WEIGHTS.items():
        config = registry.entry(f"convnext_{variant}").pretrained["torchvision"]
        assert config.file.url.endswith(filename) and config.variant == "keras"
        assert (config.top1, config.top5, config.num_params) == (top1, top5, params)
        assert (config.input_size, config.resize_size) == (224, resize)
    assert registry.entry("convnext_xlarge").pretrained == {}
