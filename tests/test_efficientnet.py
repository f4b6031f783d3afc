"""EfficientNet: the MBConv block through the shared harness, and B0-B7 against
keras.applications (the oracle, built with random weights).

Every model is built once (ours and keras'), with its top, at a small input (32 to 60, see
`small_like`): parameter counts do not depend on the input size (the head pools globally), and
multiply-adds at the ImageNet size are counted symbolically (`count_macs(..., input_shape=...)`),
so B7 is never built at 600x600.
Per model: keras.applications' parameter counts, its layer names and types, its weights giving
its outputs within 1e-5, its multiply-adds. B0 also: one summary row per block, a legacy HDF5
file written from keras' model, the ImageNet structure (the second `Rescaling`), BN folding and
bfloat16.
"""

import inspect

import numpy as np
import pytest

import keras

import cnnblocks
from cnnblocks import registry, testing
from cnnblocks import weights as weight_files
from cnnblocks.blocks import mbconv_block
from harness import check_block
from parity import (assert_keras_names, bn, conv, dw, images, max_abs_diff_after_transfer,
                    predict, relative_error, se, write_legacy_h5)

# One check repeated over many architectures: the extra-backend passes run its heavy cases
# for ResNet50 and InceptionV3 only (conftest.py).
pytestmark = pytest.mark.per_architecture

apps = keras.applications


# ------------------------------------------------------------------------------- block -----
# mbconv_block: [c e + 4 e] + k*k e + 4 e + SE(e -> max(1, int(c / 4))) + e f + 4 f, e = t c.
BLOCKS = [
    ("mbconv1_k3", lambda x, name: mbconv_block(x, 16, expand_ratio=1, name=name),
     (16, 16, 32), dw(3, 32) + bn(32) + se(32, 8) + conv(1, 32, 16) + bn(16), (16, 16, 16)),
    ("mbconv6_k5_stride2",
     lambda x, name: mbconv_block(x, 24, kernel_size=5, strides=2, name=name), (8, 8, 16),
     conv(1, 16, 96) + bn(96) + dw(5, 96) + bn(96) + se(96, 4) + conv(1, 96, 24) + bn(24),
     (4, 4, 24)),
    ("mbconv6_residual_drop", lambda x, name: mbconv_block(x, 24, drop_rate=0.1, name=name),
     (8, 8, 24),
     conv(1, 24, 144) + bn(144) + dw(3, 144) + bn(144) + se(144, 6) + conv(1, 144, 24)
     + bn(24), (8, 8, 24)),
    ("mbconv_no_se", lambda x, name: mbconv_block(x, 8, se_ratio=None, name=name), (8, 8, 8),
     conv(1, 8, 48) + bn(48) + dw(3, 48) + bn(48) + conv(1, 48, 8) + bn(8), (8, 8, 8)),
]


@pytest.mark.parametrize("label,block,input_shape,params,output_shape", BLOCKS,
                         ids=[b[0] for b in BLOCKS])
def test_block_harness(label, block, input_shape, params, output_shape, tmp_path):
    check_block(block, input_shape, params=params, output_shape=output_shape,
                tmp_path=tmp_path)


def test_mbconv_keras_names_and_drop_connect():
    inputs = keras.Input((56, 56, 24))
    model = keras.Model(inputs, mbconv_block(inputs, 24, drop_rate=0.05, name="block2b"))
    assert [layer.name for layer in model.layers[1:]] == [
        "block2b_expand_conv", "block2b_expand_bn", "block2b_expand_activation",
        "block2b_dwconv", "block2b_bn", "block2b_activation", "block2b_se_squeeze",
        "block2b_se_reshape", "block2b_se_reduce", "block2b_se_expand", "block2b_se_excite",
        "block2b_project_conv", "block2b_project_bn", "block2b_drop", "block2b_add"]
    drop = model.get_layer("block2b_drop")
    assert (drop.rate, tuple(drop.noise_shape)) == (0.05, (None, 1, 1, 1))
    # Drop-connect drops whole samples of the residual branch in training: each output sample
    # is the input (branch dropped) or input + branch / 0.95 (kept).
    inputs = keras.Input((4, 4, 8))
    branchy = keras.Model(inputs, mbconv_block(inputs, 8, drop_rate=0.5, name="b"))
    x = images((4, 4, 8), n=64, low=-1, high=1)
    y = keras.ops.convert_to_numpy(branchy(x, training=True))
    dropped = np.all(np.isclose(y, x, atol=1e-6), axis=(1, 2, 3))
    assert 0 < dropped.sum() < 64
    np.testing.assert_allclose(predict(branchy, x), predict(branchy, x))  # inference: no drop


@pytest.mark.parametrize("kwargs,error,arg", [
    ({"expand_ratio": 0}, ValueError, "expand_ratio"),
    ({"se_ratio": 2}, ValueError, "se_ratio"),
    ({"drop_rate": 1.0}, ValueError, "drop_rate"),
    ({"drop_rate": "0.2"}, TypeError, "drop_rate"),
    ({"activation": 3}, TypeError, "activation"),
    ({"shortcut": "identity", "strides": 2}, ValueError, "shortcut"),
    ({"kernel_size": 0}, ValueError, "kernel_size"),
    ({"name": "a/b"}, ValueError, "name"),
], ids=lambda v: str(v) if isinstance(v, str) else None)
def test_mbconv_argument_errors(kwargs, error, arg):
    with pytest.raises(error, match=f"`{arg}"):
        mbconv_block(keras.Input((8, 8, 16)), 16, **kwargs)


# ---------------------------------------------------------------------------- B0 - B7 -----
# keras.applications EfficientNetB0-B7, Keras 3.15 count_params() with the top / trainable /
# without the top (published.md, "Wave 2 families"; B0 and B7 also the figures);
# multiply-adds: count_macs of keras.applications at the default size (published.md; B0's
# 385.8 M is the paper's 0.39 B FLOPs); top_conv width (the classifier's input).
ROWS = [
    ("b0", 224, 5_330_571, 5_288_548, 4_049_571, 385.8e6, 1280),
    ("b1", 240, 7_856_239, 7_794_184, 6_575_239, 686.8e6, 1280),
    ("b2", 260, 9_177_569, 9_109_994, 7_768_569, 993.6e6, 1408),
    ("b3", 300, 12_320_535, 12_233_232, 10_783_535, 1.827e9, 1536),
    ("b4", 380, 19_466_823, 19_341_616, 17_673_823, 4.394e9, 1792),
    ("b5", 456, 30_562_527, 30_389_784, 28_513_527, 10.27e9, 2048),
    ("b6", 528, 43_265_143, 43_040_704, 40_960_143, 19.07e9, 2304),
    ("b7", 600, 66_658_687, 66_347_960, 64_097_687, 37.75e9, 2560),
]
SMALL = (32, 32, 3)


def small_like(size):
    """The smallest input (>= 32) whose five stride-2 stages see the same parities as `size`'s.

    The zero padding before a stride-2 convolution is fixed when the model is built ("same"'s
    padding for that size, as keras.applications), so `count_macs(model, input_shape=(S, S, 3))`
    of a model built at another size counts S's network only if every stride-2 input has the
    same parity (B1 at 240 sees 15 at its fifth: built at 32 it would count 622.5 M, not 686.8 M).
    """
    def parities(n):
        return [-(-n // 2 ** k) % 2 for k in range(5)]
    return next(s for s in range(32, size + 1) if parities(s) == parities(size))
# B1-B7 build 340-820 layers twice each: heavy (they still run in CI).
PARAMS = [pytest.param(r, id=r[0], marks=() if r[0] == "b0" else pytest.mark.heavy)
          for r in ROWS]


def _builders(variant):
    k = variant[1]
    return getattr(cnnblocks, f"EfficientNetB{k}"), getattr(apps, f"EfficientNetB{k}")


@pytest.fixture(scope="module", params=PARAMS)
def row(request):
    return request.param


@pytest.fixture(scope="module")
def built(row):
    ours_fn, theirs_fn = _builders(row[0])
    small = small_like(row[1])  # b0 32, b1 48, b2 36, b3 44, b4 60, b5 40, b6 48, b7 56
    kwargs = dict(weights=None, input_shape=(small, small, 3), classifier_activation=None)
    ref = theirs_fn(**kwargs)
    ours = ours_fn(**kwargs)
    yield ours, ref
    keras.backend.clear_session()


def test_registered_with_keras_signature(row):
    ours_fn, theirs_fn = _builders(row[0])
    assert registry.entry(f"EfficientNet-{row[0].upper()}").builder is ours_fn
    assert [(p.name, p.default) for p in inspect.signature(ours_fn).parameters.values()] == [
        (p.name, p.default) for p in inspect.signature(theirs_fn).parameters.values()]


def test_published_counts_are_coherent(row):
    """Without the top = with it minus `predictions` (Dense top_conv -> 1000)."""
    variant, _, params, trainable, notop, _, top = row
    assert params - notop == top * 1000 + 1000
    ref = cnnblocks.published.get(f"efficientnet_{variant}")
    assert (ref.params.value, ref.trainable_params.value) == (params, trainable)


def test_params_names_and_outputs_equal_keras(row, built):
    variant, _, params, trainable, _, _, _ = row
    ours, ref = built
    assert ours.count_params() == ref.count_params() == params
    assert sum(int(np.prod(w.shape)) for w in ours.trainable_weights) == trainable
    assert_keras_names(ours, ref)
    for a, b in zip(ours.layers, ref.layers):  # stochastic-depth rates: 0.2 * b / n
        if isinstance(b, keras.layers.Dropout):
            assert (a.rate, a.noise_shape) == (b.rate, b.noise_shape)
    x = images(tuple(ours.input.shape[1:]))
    assert max_abs_diff_after_transfer(ours, ref, x) <= 1e-5


def test_multiply_adds_equal_keras_at_imagenet_size(row, built):
    variant, size, *_ = row
    ours, ref = built
    shape = (size, size, 3)
    macs = cnnblocks.count_macs(ours, input_shape=shape)
    assert macs == cnnblocks.count_macs(ref, input_shape=shape)
    assert cnnblocks.published.get(f"efficientnet_{variant}").macs.matches(macs)
    if variant == "b0":
        assert round(macs / 1e5) == 3858  # 385.8 M; the paper's 0.39 B FLOPs


B0 = pytest.mark.parametrize("row", [PARAMS[0]], indirect=True)


@B0
def test_b0_summary_one_row_per_block(row, built):
    ours, _ = built
    summary = cnnblocks.summarize(ours)
    assert [r.kind for r in summary] == (["preprocessing", "stem"] + ["mbconv_block"] * 16
                                         + ["conv", "head"])
    assert [r.name for r in summary][2:5] == ["block1a", "block2a", "block2b"]
    assert sum(r.params for r in summary) == ours.count_params()


@B0
def test_b0_feature_taps(row, built):
    ours, _ = built
    shapes = [tuple(t.shape) for t in cnnblocks.feature_extractor(ours).outputs]
    assert shapes == [(None, 8, 8, 24), (None, 4, 4, 40), (None, 2, 2, 112), (None, 1, 1, 1280)]


@B0
def test_b0_legacy_keras_file_loads(row, built, tmp_path):
    ours, ref = built
    testing.randomize_batchnorm(ref, seed=3)
    path = write_legacy_h5(ref, tmp_path / "keras.h5")
    loaded = cnnblocks.EfficientNetB0(weights=str(path), input_shape=SMALL,
                                      classifier_activation=None)
    x = images(SMALL, seed=1)
    np.testing.assert_allclose(predict(loaded, x), predict(ref, x), rtol=0, atol=1e-5)


@B0
def test_b0_fold_batchnorm_and_bfloat16(row, built):
    ours, ref = built
    ours.set_weights(ref.get_weights())
    testing.randomize_batchnorm(ours, seed=7)
    x = images(SMALL, seed=2)
    reference = predict(ours, x)
    folded = cnnblocks.fold_batchnorm(ours)
    assert not [layer for layer in folded.layers
                if isinstance(layer, keras.layers.BatchNormalization)]
    assert relative_error(reference, predict(folded, x)) <= 1e-4
    fast = cnnblocks.optimize_for_inference(ours, dtype="bfloat16")
    assert relative_error(reference, predict(fast, x)) <= 5e-2  # measured ~4e-3


def test_b0_imagenet_structure_matches_keras(tmp_path, monkeypatch):
    """With `weights="imagenet"` both add the `Rescaling` by 1/sqrt(std) after the
    `Normalization` (`rescaling_1`) and read the same file (name and MD5 checked here)."""
    kwargs = dict(include_top=False, input_shape=(64, 64, 3))
    source = apps.EfficientNetB0(weights=None, **kwargs)
    norm = source.layers[2]  # keras numbers its name: "normalization" in a fresh session
    norm.set_weights([np.array([0.485, 0.456, 0.406], "float32"),
                      np.array([0.229, 0.224, 0.225], "float32") ** 2, norm.get_weights()[2]])
    testing.randomize_batchnorm(source, seed=4)
    path = str(write_legacy_h5(source, tmp_path / "efficientnetb0_notop.h5"))
    asked = []

    def keras_get_file(fname, *args, **kwargs):
        asked.append(("keras", fname, kwargs.get("file_hash")))
        return path

    def our_cached_file(spec, what):
        asked.append(("ours", spec.filename, spec.md5))
        return path

    from keras.src.applications import efficientnet as keras_efficientnet
    monkeypatch.setattr(keras_efficientnet.file_utils, "get_file", keras_get_file)
    monkeypatch.setattr(weight_files, "cached_file", our_cached_file)
    ref = apps.EfficientNetB0(weights="imagenet", **kwargs)
    ours = cnnblocks.EfficientNetB0(weights="imagenet", **kwargs)
    assert asked == [("keras", "efficientnetb0_notop.h5", "50bc09e76180e00e4465e1a485ddc09d"),
                     ("ours", "efficientnetb0_notop.h5", "50bc09e76180e00e4465e1a485ddc09d")]
    assert_keras_names(ours, ref)
    assert "rescaling_1" in [layer.name for layer in ours.layers]
    x = images((64, 64, 3))
    np.testing.assert_allclose(predict(ours, x), predict(ref, x), rtol=0, atol=1e-5)


@pytest.mark.heavy
def test_b0_default_build():
    model = cnnblocks.EfficientNetB0(weights=None)
    assert tuple(model.input.shape) == (None, 224, 224, 3)
    assert model.count_params() == 5_330_571
    assert cnnblocks.count_macs(model) == cnnblocks.count_macs(
        apps.EfficientNetB0(weights=None))


@pytest.mark.parametrize("builder,kwargs,error,arg", [
    (cnnblocks.EfficientNetB0, {"classes": 0}, ValueError, "classes"),
    (cnnblocks.EfficientNetB0, {"input_shape": (224, 224)}, ValueError, "input_shape"),
    (cnnblocks.EfficientNetB0, {"weights": "imagenet", "classes": 10}, ValueError, "classes"),
    (cnnblocks.EfficientNetB3, {"weights": "imagenet", "input_shape": (224, 224, 3)},
     ValueError, "input_shape"),
    (cnnblocks.EfficientNetB1, {"include_top": "no"}, TypeError, "include_top"),
    (cnnblocks.EfficientNetB2, {"pooling": "mean", "include_top": False}, ValueError,
     "pooling"),
    (cnnblocks.EfficientNetB7, {"name": "a/b"}, ValueError, "name"),
], ids=["classes", "input_shape_rank", "imagenet_classes", "imagenet_size", "include_top",
        "pooling", "name"])
def test_argument_errors(builder, kwargs, error, arg):
    kwargs.setdefault("weights", None)
    with pytest.raises(error, match=arg):
        builder(**kwargs)
