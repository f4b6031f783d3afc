"""EfficientNetV2: the Fused-MBConv block (and MBConv's V2 layout) through the shared harness,
and B0-B3, S, M, L against keras.applications (the oracle, built with random weights).

Every model is built once (ours and keras'), with its top, at a small input: parameter counts
do not depend on the input size (the head pools globally), and every convolution pads "same"
(no padding fixed at build time), so multiply-adds at the default size are counted
symbolically (`count_macs(..., input_shape=...)`). Per model: keras.applications' parameter
counts, its layer names and types, stochastic-depth rates and BN settings; outputs within
1e-5 for B0 and S (64x64; B1-B3 heavy), counts and names only for M and L. B0 also: one
summary row per block, feature taps, receptive field, a legacy HDF5 file written from keras'
model, the ImageNet file names and hashes, `.keras` save/load in safe mode and BN folding.
torchvision's S (M, L heavy) converted into `variant="torchvision"` within 1e-4 relative.
"""

import inspect

import numpy as np
import pytest

import keras

import cnnblocks
from cnnblocks import registry, testing
from cnnblocks import weights as weight_files
from cnnblocks.architectures import efficientnet_v2 as v2
from cnnblocks.blocks import fused_mbconv_block, mbconv_block
from harness import check_block
from parity import (assert_keras_names, bn, conv, dw, images, max_abs_diff_after_transfer,
                    predict, relative_error, se, write_legacy_h5)

# One check repeated over many architectures: the extra-backend passes run its heavy cases
# for ResNet50 and InceptionV3 only (conftest.py).
pytestmark = pytest.mark.per_architecture

apps = keras.applications


# ------------------------------------------------------------------------------ blocks -----
# fused_mbconv_block: k*k c e + 4 e + [SE(e -> max(1, int(c se)))] + e f + 4 f (e = t c);
# t = 1: [SE(c)] + k*k c f + 4 f.  mbconv_block(version=2): as V1 (tests/test_efficientnet.py).
BLOCKS = [
    ("fused1_residual", lambda x, name: fused_mbconv_block(x, 24, expand_ratio=1, name=name),
     (16, 16, 24), conv(3, 24, 24) + bn(24), (16, 16, 24)),
    ("fused1_no_shortcut",  # B0-B3's block1a: 32 -> 16, stride 1
     lambda x, name: fused_mbconv_block(x, 16, expand_ratio=1, name=name), (16, 16, 32),
     conv(3, 32, 16) + bn(16), (16, 16, 16)),
    ("fused4_stride2", lambda x, name: fused_mbconv_block(x, 48, strides=2, name=name),
     (16, 16, 24), conv(3, 24, 96) + bn(96) + conv(1, 96, 48) + bn(48), (8, 8, 48)),
    ("fused4_residual_drop",
     lambda x, name: fused_mbconv_block(x, 32, drop_rate=0.1, name=name), (8, 8, 32),
     conv(3, 32, 128) + bn(128) + conv(1, 128, 32) + bn(32), (8, 8, 32)),
    ("fused4_se_k5", lambda x, name: fused_mbconv_block(x, 16, kernel_size=5, se_ratio=0.25,
                                                        name=name),
     (8, 8, 16), conv(5, 16, 64) + bn(64) + se(64, 4) + conv(1, 64, 16) + bn(16), (8, 8, 16)),
    ("fused1_se", lambda x, name: fused_mbconv_block(x, 8, expand_ratio=1, se_ratio=0.5,
                                                     name=name),
     (8, 8, 16), se(16, 8) + conv(3, 16, 8) + bn(8), (8, 8, 8)),
    ("fused4_symmetric_stride2",
     lambda x, name: fused_mbconv_block(x, 16, strides=2, padding="symmetric", name=name),
     (9, 9, 8), conv(3, 8, 32) + bn(32) + conv(1, 32, 16) + bn(16), (5, 5, 16)),
    ("mbconv4_v2_stride2",
     lambda x, name: mbconv_block(x, 96, expand_ratio=4, strides=2, version=2,
                                  bn_momentum=0.9, name=name),
     (8, 8, 48), conv(1, 48, 192) + bn(192) + dw(3, 192) + bn(192) + se(192, 12)
     + conv(1, 192, 96) + bn(96), (4, 4, 96)),
]


@pytest.mark.parametrize("label,block,input_shape,params,output_shape", BLOCKS,
                         ids=[b[0] for b in BLOCKS])
def test_block_harness(label, block, input_shape, params, output_shape, tmp_path):
    check_block(block, input_shape, params=params, output_shape=output_shape,
                tmp_path=tmp_path)


def _names(fn, shape, **kwargs):
    inputs = keras.Input(shape)
    return [layer.name for layer in keras.Model(inputs, fn(inputs, **kwargs)).layers[1:]]


def test_keras_layer_names_of_the_v2_blocks():
    assert _names(fused_mbconv_block, (16, 16, 24), filters=24, expand_ratio=1,
                  drop_rate=0.1, name="block1b") == [
        "block1b_project_conv", "block1b_project_bn", "block1b_project_activation",
        "block1b_drop", "block1b_add"]
    assert _names(fused_mbconv_block, (16, 16, 24), filters=48, strides=2,
                  name="block2a") == [
        "block2a_expand_conv", "block2a_expand_bn", "block2a_expand_activation",
        "block2a_project_conv", "block2a_project_bn"]
    assert _names(mbconv_block, (8, 8, 96), filters=96, version=2, drop_rate=0.1,
                  name="block5b") == [
        "block5b_expand_conv", "block5b_expand_bn", "block5b_expand_activation",
        "block5b_dwconv2", "block5b_bn", "block5b_activation", "block5b_se_squeeze",
        "block5b_se_reshape", "block5b_se_reduce", "block5b_se_expand", "block5b_se_excite",
        "block5b_project_conv", "block5b_project_bn", "block5b_drop", "block5b_add"]
    # torchvision's padding: an explicit (1, 1) before each strided 3x3
    assert "block4a_dwconv2_pad" in _names(mbconv_block, (8, 8, 48), filters=96, strides=2,
                                           version=2, padding="symmetric", name="block4a")


def test_fused_block_summary_label_and_record():
    inputs = keras.Input((16, 16, 24))
    model = keras.Model(inputs, fused_mbconv_block(inputs, 48, strides=2, name="block2a"))
    (row,) = cnnblocks.summarize(model)
    assert (row.kind, row.name) == ("fused_mbconv_block", "block2a")
    assert row.args["expand_ratio"] == 4 and row.args["bn_momentum"] == 0.9


@pytest.mark.parametrize("fn,kwargs,error,arg", [
    (fused_mbconv_block, {"expand_ratio": 0}, ValueError, "expand_ratio"),
    (fused_mbconv_block, {"se_ratio": 2}, ValueError, "se_ratio"),
    (fused_mbconv_block, {"drop_rate": 1.0}, ValueError, "drop_rate"),
    (fused_mbconv_block, {"drop_rate": "0.2"}, TypeError, "drop_rate"),
    (fused_mbconv_block, {"activation": 3}, TypeError, "activation"),
    (fused_mbconv_block, {"shortcut": "identity", "strides": 2}, ValueError, "shortcut"),
    (fused_mbconv_block, {"padding": "valid"}, ValueError, "padding"),
    (fused_mbconv_block, {"bn_momentum": 1.5}, ValueError, "bn_momentum"),
    (fused_mbconv_block, {"kernel_size": 0}, ValueError, "kernel_size"),
    (fused_mbconv_block, {"name": "a/b"}, ValueError, "name"),
    (mbconv_block, {"version": 3}, ValueError, "version"),
    (mbconv_block, {"version": True}, ValueError, "version"),
    (mbconv_block, {"padding": "causal"}, ValueError, "padding"),
], ids=lambda v: str(v) if isinstance(v, str) else None)
def test_block_argument_errors(fn, kwargs, error, arg):
    with pytest.raises(error, match=f"`{arg}"):
        fn(keras.Input((8, 8, 16)), 16, **kwargs)


# ---------------------------------------------------------------------- B0 - B3, S, M, L -----
# keras.applications EfficientNetV2*, Keras 3.15 count_params() with the top / trainable /
# without the top (measured; B0 total/trainable, S, and every total also the figures);
# multiply-adds: count_macs of keras.applications at the default size (measured; S's
# 8,365,617,152 also the issue's, torchvision's "_ops" 8.366 GFLOPS); top_conv width.
ROWS = [
    ("b0", 224, 7_200_312, 7_139_704, 5_919_312, 718_086_176, 1280),
    ("b1", 240, 8_212_124, 8_141_052, 6_931_124, 1_196_819_360, 1280),
    ("b2", 260, 10_178_374, 10_096_086, 8_769_374, 1_697_542_832, 1408),
    ("b3", 300, 14_467_622, 14_358_406, 12_930_622, 3_011_458_816, 1536),
    ("s", 384, 21_612_360, 21_458_488, 20_331_360, 8_365_617_152, 1280),
    ("m", 480, 54_431_388, 54_139_356, 53_150_388, 24_582_460_384, 1280),
    ("l", 480, 119_027_848, 118_515_272, 117_746_848, 56_079_699_008, 1280),
]
#: Outputs compared at 64x64 (B0, S; B1-B3 heavy); M and L: counts and names only.
OUTPUTS = {"b0", "s", "b1", "b2", "b3"}
SMALL = (64, 64, 3)
PARAMS = [pytest.param(r, id=r[0], marks=() if r[0] in ("b0", "s") else pytest.mark.heavy)
          for r in ROWS]


def _builders(variant):
    k = variant.upper()
    return getattr(cnnblocks, f"EfficientNetV2{k}"), getattr(apps, f"EfficientNetV2{k}")


@pytest.fixture(scope="module", params=PARAMS)
def row(request):
    return request.param


@pytest.fixture(scope="module")
def built(row):
    ours_fn, theirs_fn = _builders(row[0])
    shape = SMALL if row[0] in OUTPUTS else (32, 32, 3)
    kwargs = dict(weights=None, input_shape=shape, classifier_activation=None)
    ref = theirs_fn(**kwargs)
    ours = ours_fn(**kwargs)
    yield ours, ref
    keras.backend.clear_session()


def test_registered_with_keras_signature(row):
    ours_fn, theirs_fn = _builders(row[0])
    assert registry.entry(f"efficientnet_v2_{row[0]}").builder is ours_fn
    theirs = [(p.name, p.default) for p in inspect.signature(theirs_fn).parameters.values()]
    ours = [(p.name, p.default) for p in inspect.signature(ours_fn).parameters.values()]
    # S, M, L add the keyword-only `variant` (torchvision's structure) after keras' arguments
    assert ours == theirs + ([("variant", "keras")] if row[0] in "sml" else [])


def test_published_counts_are_coherent(row):
    """Without the top = with it minus `predictions` (Dense top_conv -> 1000)."""
    variant, _, params, trainable, notop, macs, top = row
    assert params - notop == top * 1000 + 1000
    ref = cnnblocks.published.get(f"efficientnet_v2_{variant}")
    assert (ref.params.value, ref.trainable_params.value) == (params, trainable)
    assert ref.macs.value == macs


def test_params_names_and_outputs_equal_keras(row, built):
    variant, _, params, trainable, _, _, _ = row
    ours, ref = built
    assert ours.count_params() == ref.count_params() == params
    assert sum(int(np.prod(w.shape)) for w in ours.trainable_weights) == trainable
    assert_keras_names(ours, ref)
    assert [w.path for w in ours.weights] == [w.path for w in ref.weights]  # weight order
    for a, b in zip(ours.layers, ref.layers):
        if isinstance(b, keras.layers.Dropout):  # stochastic depth: 0.2 b / n (n unscaled)
            assert (a.rate, a.noise_shape) == (b.rate, b.noise_shape), a.name
        if isinstance(b, keras.layers.BatchNormalization):
            assert (a.momentum, a.epsilon) == (b.momentum, b.epsilon) == (0.9, 1e-3), a.name
    if variant in OUTPUTS:
        x = images(tuple(ours.input.shape[1:]))
        assert max_abs_diff_after_transfer(ours, ref, x) <= 1e-5  # measured: 0.0


def test_multiply_adds_equal_keras_at_the_default_size(row, built):
    variant, size, *_ = row
    ours, _ = built
    macs = cnnblocks.count_macs(ours, input_shape=(size, size, 3))
    assert macs == row[5]
    assert cnnblocks.published.get(f"efficientnet_v2_{variant}").macs.matches(macs)


@pytest.mark.heavy
def test_s_default_build_multiply_adds():
    """The issue's figure, built at 384x384."""
    model = cnnblocks.EfficientNetV2S(input_shape=(384, 384, 3), weights=None)
    assert cnnblocks.count_macs(model) == 8_365_617_152
    keras.backend.clear_session()


B0 = pytest.mark.parametrize("row", [PARAMS[0]], indirect=True)
S = pytest.mark.parametrize("row", [PARAMS[4]], indirect=True)


@B0
def test_b0_summary_one_row_per_block(row, built):
    """block1a (a stride-1 3x3 conv-BN-act, 32 -> 16, no shortcut) is its own block row."""
    ours, _ = built
    summary = cnnblocks.summarize(ours)
    assert [r.kind for r in summary] == (["preprocessing", "stem"]
                                         + ["fused_mbconv_block"] * 5
                                         + ["mbconv_block"] * 16 + ["conv", "head"])
    assert [r.name for r in summary][2:5] == ["block1a", "block2a", "block2b"]
    assert sum(r.params for r in summary) == ours.count_params()


@S
def test_s_summary_one_row_per_block(row, built):
    ours, _ = built
    summary = cnnblocks.summarize(ours)
    assert [r.kind for r in summary] == (["preprocessing", "stem"]
                                         + ["fused_mbconv_block"] * 10
                                         + ["mbconv_block"] * 30 + ["conv", "head"])
    assert sum(r.params for r in summary) == ours.count_params()


@B0
def test_b0_feature_taps(row, built):
    ours, _ = built
    shapes = [tuple(t.shape) for t in cnnblocks.feature_extractor(ours).outputs]
    assert shapes == [(None, 16, 16, 32), (None, 8, 8, 48), (None, 4, 4, 112),
                      (None, 2, 2, 1280)]


def _expected_field(variant):
    """Every block has exactly one 3x3 convolution (Fused-MBConv's first, MBConv's
    depthwise), the stem one: r = 1 + sum 2 S over them, S the stride before each."""
    table, _, depth, _ = v2.EFFICIENTNET_V2_SCALING[variant]
    _, stages = v2.EFFICIENTNET_V2_STAGES[table]
    r, stride = 1 + 2, 2
    for _, _, _, strides, _, repeats, _ in stages:
        for j in range(v2.round_repeats(repeats, depth)):
            r += 2 * stride
            stride *= strides if j == 0 else 1
    return r, stride


@B0
def test_b0_receptive_field(row, built):
    ours, _ = built
    fields = cnnblocks.receptive_field(ours, input_shape=(224, 224, 3))
    top = fields.layers["top_activation"]
    size, stride = _expected_field("b0")
    assert (size, stride) == (763, 32)
    assert (top.size, top.stride) == ((size, size), (stride, stride))
    assert len(fields.blocks) == len(cnnblocks.summarize(ours))


@B0
def test_b0_legacy_keras_file_loads(row, built, tmp_path):
    ours, ref = built
    testing.randomize_batchnorm(ref, seed=3)
    path = write_legacy_h5(ref, tmp_path / "keras.h5")
    loaded = cnnblocks.EfficientNetV2B0(weights=str(path), input_shape=SMALL,
                                        classifier_activation=None)
    x = images(SMALL, seed=1)
    np.testing.assert_allclose(predict(loaded, x), predict(ref, x), rtol=0, atol=1e-5)


@B0
def test_b0_save_load_safe_mode_and_fold_batchnorm(row, built, tmp_path):
    ours, ref = built
    ours.set_weights(ref.get_weights())
    testing.randomize_batchnorm(ours, seed=7)
    x = images(SMALL, seed=2)
    reference = predict(ours, x)
    ours.save(tmp_path / "v2b0.keras")
    loaded = keras.models.load_model(tmp_path / "v2b0.keras", safe_mode=True)
    np.testing.assert_allclose(predict(loaded, x), reference, rtol=0, atol=1e-6)
    assert [r.kind for r in cnnblocks.summarize(loaded)] == [
        r.kind for r in cnnblocks.summarize(ours)]
    folded = cnnblocks.fold_batchnorm(ours)
    assert not [layer for layer in folded.layers
                if isinstance(layer, keras.layers.BatchNormalization)]
    assert relative_error(reference, predict(folded, x)) <= 1e-4


@pytest.mark.parametrize("variant,file,md5", [
    ("b0", "efficientnetv2-b0_notop.h5", "893217f2bb855e2983157299931e43ff"),
    pytest.param("s", "efficientnetv2-s_notop.h5", "af0682fb74e8c54910f2d4393339c070",
                 marks=pytest.mark.heavy),
])
def test_imagenet_file_and_structure_match_keras(variant, file, md5, tmp_path, monkeypatch):
    """With `weights="imagenet"` both read the same file (name and MD5 checked here) and
    give the same outputs."""
    ours_fn, theirs_fn = _builders(variant)
    kwargs = dict(include_top=False, input_shape=SMALL)
    source = theirs_fn(weights=None, **kwargs)
    testing.randomize_batchnorm(source, seed=4)
    path = str(write_legacy_h5(source, tmp_path / file))
    asked = []

    def keras_get_file(fname, *args, **kwargs):
        asked.append(("keras", fname, kwargs.get("file_hash")))
        return path

    def our_cached_file(spec, what):
        asked.append(("ours", spec.filename, spec.md5))
        return path

    from keras.src.applications import efficientnet_v2 as keras_v2
    monkeypatch.setattr(keras_v2.file_utils, "get_file", keras_get_file)
    monkeypatch.setattr(weight_files, "cached_file", our_cached_file)
    ref = theirs_fn(weights="imagenet", **kwargs)
    ours = ours_fn(weights="imagenet", **kwargs)
    assert asked == [("keras", file, md5), ("ours", file, md5)]
    assert_keras_names(ours, ref)
    x = images(SMALL)
    np.testing.assert_allclose(predict(ours, x), predict(ref, x), rtol=0, atol=1e-5)
    keras.backend.clear_session()


def test_without_preprocessing_equals_keras():
    kwargs = dict(weights=None, include_top=False, input_shape=(32, 32, 3),
                  include_preprocessing=False)
    ref = apps.EfficientNetV2B0(**kwargs)
    ours = cnnblocks.EfficientNetV2B0(**kwargs)
    assert_keras_names(ours, ref)
    assert ours.layers[1].name == "stem_conv"
    x = images((32, 32, 3), low=-1, high=1)
    assert max_abs_diff_after_transfer(ours, ref, x) <= 1e-5
    keras.backend.clear_session()


def test_round_filters_is_v2s_rounding():
    # no 10% step back (V1's make_divisible would give 16 -> 24 for nothing here, and 1280)
    assert [v2.round_filters(c, 1.1) for c in (32, 16, 48, 112, 192, 1280)] == [
        32, 16, 56, 120, 208, 1408]
    assert [v2.round_filters(c, 1.2) for c in (32, 16, 48, 1280)] == [40, 16, 56, 1536]
    with pytest.raises(ValueError, match="width"):
        v2.round_filters(32, 0)


@pytest.mark.parametrize("builder,kwargs,error,arg", [
    (cnnblocks.EfficientNetV2B0, {"classes": 0}, ValueError, "classes"),
    (cnnblocks.EfficientNetV2B0, {"input_shape": (16, 16, 3), "include_top": False},
     ValueError, "input"),
    (cnnblocks.EfficientNetV2B0, {"input_shape": (224, 224)}, ValueError, "input_shape"),
    (cnnblocks.EfficientNetV2B0, {"weights": "imagenet", "classes": 10}, ValueError, "classes"),
    (cnnblocks.EfficientNetV2S, {"weights": "imagenet", "input_shape": (224, 224, 3)},
     ValueError, "input_shape"),
    (cnnblocks.EfficientNetV2B1, {"include_top": "no"}, TypeError, "include_top"),
    (cnnblocks.EfficientNetV2B2, {"include_preprocessing": "yes"}, TypeError,
     "include_preprocessing"),
    (cnnblocks.EfficientNetV2B3, {"pooling": "mean", "include_top": False}, ValueError,
     "pooling"),
    (cnnblocks.EfficientNetV2M, {"variant": "paper"}, ValueError, "variant"),
    (cnnblocks.EfficientNetV2S, {"weights": "torchvision"}, ValueError, "variant"),
    (cnnblocks.EfficientNetV2L, {"name": "a/b"}, ValueError, "name"),
], ids=["classes", "input_too_small", "input_shape_rank", "imagenet_classes", "imagenet_size",
        "include_top", "include_preprocessing", "pooling", "variant", "torchvision_keras",
        "name"])
def test_argument_errors(builder, kwargs, error, arg):
    kwargs.setdefault("weights", None)
    with pytest.raises(error, match=arg):
        builder(**kwargs)


def test_unknown_variant_name():
    with pytest.raises(ValueError, match="efficientnet_v2_x"):
        cnnblocks.create_model("efficientnet_v2_x", weights=None)
    with pytest.raises(TypeError, match="variant"):
        cnnblocks.EfficientNetV2B0(weights=None, variant="torchvision")


# ------------------------------------------------------------------ torchvision weights -----
def test_torchvision_records():
    for variant, params in (("s", 21_458_488), ("m", 54_139_356), ("l", 118_515_272)):
        entry = registry.entry(f"efficientnet_v2_{variant}")
        config = entry.pretrained["torchvision"]
        assert config.num_params == params == v2.KERAS_COUNTS[variant][1]
        assert config.file.url.startswith("https://download.pytorch.org/models/"
                                          f"efficientnet_v2_{variant}-")
        assert config.input_size == config.resize_size == entry.default_size
    assert registry.entry("efficientnet_v2_l").pretrained["torchvision"].mean == (0.5,) * 3
    assert not registry.entry("efficientnet_v2_b0").pretrained


@pytest.mark.parametrize("variant,size", [
    ("s", 65),  # odd sizes inside (65 -> 33 -> 17 -> 9 -> 5 -> 3): the padding matters
    pytest.param("m", 64, marks=pytest.mark.heavy),
    pytest.param("l", 64, marks=pytest.mark.heavy),
])
def test_torchvision_converts_exactly(variant, size, tmp_path):
    torch = pytest.importorskip("torch")
    pytest.importorskip("safetensors")
    import torch_oracle as oracle
    from cnnblocks import convert
    tv = oracle.import_torchvision()
    torch.manual_seed(0)
    reference_model = oracle.randomize(getattr(tv.models, f"efficientnet_v2_{variant}")())
    trainable = sum(p.numel() for p in reference_model.parameters())
    x = oracle.images(size)
    reference = oracle.run(reference_model, x)
    paths = oracle.save(reference_model, tmp_path, variant)
    del reference_model
    model = cnnblocks.create_model(f"efficientnet_v2_{variant}", variant="torchvision",
                                   weights=None, input_shape=(size, size, 3),
                                   classifier_activation=None)
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == trainable
    assert model.get_layer("top_dropout").rate == {"s": 0.2, "m": 0.3, "l": 0.4}[variant]
    for path in paths:  # .pth, then .safetensors
        convert.load_torch_weights(model, path)
        out = keras.ops.convert_to_numpy(model(x, training=False))
        assert oracle.relative_error([out], reference) <= 1e-4  # measured: S 4.4e-7
    keras.backend.clear_session()


# ------------------------------------------------------------------------ docstrings -----
def test_block_docstring_examples():
    import doctest
    from cnnblocks.blocks import efficientnet as blocks_module
    result = doctest.testmod(blocks_module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.heavy
def test_builder_docstring_examples():
    """Each builder's Example (seven models at 64x64)."""
    import doctest
    result = doctest.testmod(v2, optionflags=doctest.ELLIPSIS)
    assert result.attempted == 21 and result.failed == 0
    keras.backend.clear_session()
