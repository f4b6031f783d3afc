"""MobileNet v1, v2 and v3: their blocks through the shared harness, and the architectures
against keras.applications (the oracle, built with random weights).

Blocks: exact parameters from a formula written here, exact shapes, deterministic names,
keras.applications' layer names, `.keras` save and safe-mode load, every argument error.
Architectures, one row per model (`ROWS`), each model built once per module at a small input
with its top (parameter counts do not depend on the input size: the heads pool globally):
parameters and trainable parameters equal to keras.applications' published counts, keras'
explicit layer names and layer types, keras' weights copied in giving its outputs within 1e-5,
a legacy HDF5 file written from the keras model loading, multiply-adds equal to keras' at the
ImageNet size, one summary row per block, BN folding within 1e-4 and a bfloat16 copy that runs.
"""

import inspect

import numpy as np
import pytest

import keras

import cnnblocks
from cnnblocks import registry, testing
from cnnblocks import weights as weight_files
from cnnblocks.architectures import mobilenet, mobilenet_v2, mobilenet_v3
from cnnblocks.blocks import (depthwise_separable_block, inverted_residual_block,
                              mobilenet_v3_block, squeeze_excite)
from cnnblocks.blocks.common import conv_bn_act, make_divisible
from harness import check_block
from parity import (assert_keras_names, bn, conv, dw, images, max_abs_diff_after_transfer,
                    predict, relative_error, se, write_legacy_h5)

# One check repeated over many architectures: the extra-backend passes run its heavy cases
# for ResNet50 and InceptionV3 only (conftest.py).
pytestmark = pytest.mark.per_architecture

apps = keras.applications


# ------------------------------------------------------------------------------ blocks -----
BLOCKS = [
    # depthwise_separable_block: k*k*c*m + 4 c m + c m f + 4 f, f = int(filters * alpha)
    ("ds_stride1", lambda x, name: depthwise_separable_block(x, 64, name=name), (8, 8, 32),
     dw(3, 32) + bn(32) + conv(1, 32, 64) + bn(64), (8, 8, 64)),
    ("ds_stride2_alpha_multiplier",
     lambda x, name: depthwise_separable_block(x, 64, strides=2, alpha=0.5, depth_multiplier=2,
                                               name=name),
     (16, 16, 32), dw(3, 32, 2) + bn(64) + conv(1, 64, 32) + bn(32), (8, 8, 32)),
    # keras.applications' (0, 1) padding: an odd size 7 gives 3 (not "same"'s 4).
    ("ds_stride2_odd", lambda x, name: depthwise_separable_block(x, 16, strides=2, name=name),
     (7, 7, 8), dw(3, 8) + bn(8) + conv(1, 8, 16) + bn(16), (3, 3, 16)),
    # inverted_residual_block: [c e + 4e] + 9 e + 4 e + e f + 4 f, e = t c
    ("ir_residual", lambda x, name: inverted_residual_block(x, 24, name=name), (8, 8, 24),
     conv(1, 24, 144) + bn(144) + dw(3, 144) + bn(144) + conv(1, 144, 24) + bn(24),
     (8, 8, 24)),
    ("ir_stride2", lambda x, name: inverted_residual_block(x, 24, strides=2, name=name),
     (8, 8, 16), conv(1, 16, 96) + bn(96) + dw(3, 96) + bn(96) + conv(1, 96, 24) + bn(24),
     (4, 4, 24)),
    ("ir_stride2_odd", lambda x, name: inverted_residual_block(x, 24, strides=2, name=name),
     (9, 9, 16), conv(1, 16, 96) + bn(96) + dw(3, 96) + bn(96) + conv(1, 96, 24) + bn(24),
     (5, 5, 24)),
    ("ir_t1", lambda x, name: inverted_residual_block(x, 16, expansion=1, name=name),
     (8, 8, 32), dw(3, 32) + bn(32) + conv(1, 32, 16) + bn(16), (8, 8, 16)),
    # squeeze_excite: c s + s + s c + c
    ("se_keepdims", lambda x, name: squeeze_excite(x, 8, name=name), (8, 8, 32), se(32, 8),
     (8, 8, 32)),
    ("se_reshape_fused",
     lambda x, name: squeeze_excite(x, 4, activation="swish", reshape=True,
                                    fused_activations=True, name=name),
     (8, 8, 32), se(32, 4), (8, 8, 32)),
    # mobilenet_v3_block: [c e + 4e] + k*k e + 4 e + [SE e -> make_divisible(e / 4)] + e f + 4f
    ("v3_se_hswish_k5",
     lambda x, name: mobilenet_v3_block(x, 120, 40, kernel_size=5, se_ratio=0.25,
                                        activation="hard_swish", name=name),
     (8, 8, 40), conv(1, 40, 120) + bn(120) + dw(5, 120) + bn(120) + se(120, 32)
     + conv(1, 120, 40) + bn(40), (8, 8, 40)),
    ("v3_no_expand_stride2_se",  # MobileNetV3-Small's first bottleneck
     lambda x, name: mobilenet_v3_block(x, 16, 16, strides=2, se_ratio=0.25, name=name),
     (16, 16, 16), dw(3, 16) + bn(16) + se(16, 8) + conv(1, 16, 16) + bn(16), (8, 8, 16)),
    ("v3_relu_no_se", lambda x, name: mobilenet_v3_block(x, 72, 24, name=name), (8, 8, 24),
     conv(1, 24, 72) + bn(72) + dw(3, 72) + bn(72) + conv(1, 72, 24) + bn(24), (8, 8, 24)),
]


@pytest.mark.parametrize("label,block,input_shape,params,output_shape", BLOCKS,
                         ids=[b[0] for b in BLOCKS])
def test_block_harness(label, block, input_shape, params, output_shape, tmp_path):
    check_block(block, input_shape, params=params, output_shape=output_shape,
                tmp_path=tmp_path)


def _names(fn, shape):
    inputs = keras.Input(shape)
    return [layer.name for layer in keras.Model(inputs, fn(inputs)).layers[1:]]


def test_keras_layer_names_of_the_blocks():
    # keras.applications' grammars (mobilenet.py, mobilenet_v2.py, mobilenet_v3.py).
    assert _names(lambda x: depthwise_separable_block(
        x, 128, strides=2, name="conv_2",
        layer_names={"pad": "conv_pad_2", "dw": "conv_dw_2", "pw": "conv_pw_2"}),
        (112, 112, 64)) == ["conv_pad_2", "conv_dw_2", "conv_dw_2_bn", "conv_dw_2_relu",
                            "conv_pw_2", "conv_pw_2_bn", "conv_pw_2_relu"]
    assert _names(lambda x: inverted_residual_block(x, 24, strides=2, name="block_1"),
                  (112, 112, 16)) == [
        "block_1_expand", "block_1_expand_BN", "block_1_expand_relu", "block_1_pad",
        "block_1_depthwise", "block_1_depthwise_BN", "block_1_depthwise_relu",
        "block_1_project", "block_1_project_BN"]
    assert _names(lambda x: inverted_residual_block(x, 24, name="block_2"),
                  (56, 56, 24))[-1] == "block_2_add"
    assert _names(lambda x: mobilenet_v3_block(x, 72, 40, kernel_size=5, strides=2,
                                               se_ratio=0.25, name="expanded_conv_3"),
                  (56, 56, 24)) == [
        "expanded_conv_3_expand", "expanded_conv_3_expand_bn",
        "expanded_conv_3_expand_relu", "expanded_conv_3_depthwise_pad",
        "expanded_conv_3_depthwise", "expanded_conv_3_depthwise_bn",
        "expanded_conv_3_depthwise_relu", "expanded_conv_3_squeeze_excite_avg_pool",
        "expanded_conv_3_squeeze_excite_conv", "expanded_conv_3_squeeze_excite_relu",
        "expanded_conv_3_squeeze_excite_conv_1", "expanded_conv_3_squeeze_excite_hard_sigmoid",
        "expanded_conv_3_squeeze_excite_mul", "expanded_conv_3_project",
        "expanded_conv_3_project_bn"]


def test_blocks_record_one_summary_row_each():
    inputs = keras.Input((32, 32, 16))
    x = depthwise_separable_block(inputs, 32, strides=2)
    x = inverted_residual_block(x, 32)
    x = mobilenet_v3_block(x, 96, 32, se_ratio=0.25, activation="hard_swish")
    x = squeeze_excite(x, 8)
    rows = cnnblocks.summarize(keras.Model(inputs, x))
    assert [r.kind for r in rows] == ["depthwise_separable_block", "inverted_residual_block",
                                      "mobilenet_v3_block", "squeeze_excite"]
    assert [r.label for r in rows] == ["dw 3x3 /2 → 1x1 32", "t=6 → dw 3x3 → 32",
                                       "96 → dw 3x3 → 32 (HS, SE)", "SE 8"]


def test_hard_sigmoid_gate_is_relu6_over_6():
    """The gate keras.applications writes as ReLU(6)(x + 3) / 6."""
    x = np.linspace(-5, 5, 101).astype("float32")
    ours = keras.ops.convert_to_numpy(keras.layers.Activation("hard_sigmoid")(x))
    np.testing.assert_allclose(ours, np.clip(x + 3, 0, 6) / 6, atol=1e-7)


def test_conv_bn_act_depthwise_kind():
    inputs = keras.Input((8, 8, 6))
    y = conv_bn_act(inputs, None, 3, depthwise=True, depth_multiplier=2, use_bias=False,
                    activation="relu6", relu_layer=True, name="d", suffixes=("", "_bn", "_r"))
    model = keras.Model(inputs, y)
    assert [type(layer).__name__ for layer in model.layers[1:]] == [
        "DepthwiseConv2D", "BatchNormalization", "ReLU"]
    assert model.get_layer("d_r").max_value == 6.0
    assert model.count_params() == dw(3, 6, 2) + bn(12)
    assert cnnblocks.summarize(model)[0].label == "dw 3x3 x2"


BLOCK_ERRORS = [
    (depthwise_separable_block, (32,), {"alpha": 0}, ValueError, "alpha"),
    (depthwise_separable_block, (32,), {"alpha": "1"}, TypeError, "alpha"),
    (depthwise_separable_block, (32,), {"alpha": 0.01}, ValueError, "alpha"),
    (depthwise_separable_block, (32,), {"depth_multiplier": 0}, ValueError, "depth_multiplier"),
    (depthwise_separable_block, (32,), {"activation": "swish"}, ValueError, "activation"),
    (depthwise_separable_block, (32,), {"layer_names": {"conv": "x"}}, ValueError,
     "layer_names"),
    (depthwise_separable_block, (0,), {}, ValueError, "filters"),
    (inverted_residual_block, (16,), {"expansion": 0}, ValueError, "expansion"),
    (inverted_residual_block, (16,), {"expansion": 2.5}, TypeError, "expansion"),
    (inverted_residual_block, (16,), {"shortcut": "projection"}, ValueError, "shortcut"),
    (inverted_residual_block, (32,), {"shortcut": "identity"}, ValueError, "shortcut"),
    (inverted_residual_block, (16,), {"strides": 0}, ValueError, "strides"),
    (squeeze_excite, (4,), {"gate": "relu"}, ValueError, "gate"),
    (squeeze_excite, (4,), {"reshape": 1}, TypeError, "reshape"),
    (squeeze_excite, (4,), {"activation": None}, TypeError, "activation"),
    (squeeze_excite, (4,), {"suffixes": {"bad": "_x"}}, ValueError, "suffixes"),
    (squeeze_excite, (-1,), {}, ValueError, "filters"),
    (mobilenet_v3_block, (48, 16), {"activation": "swish"}, ValueError, "activation"),
    (mobilenet_v3_block, (48, 16), {"se_ratio": 0}, ValueError, "se_ratio"),
    (mobilenet_v3_block, (48, 16), {"se_ratio": "1/4"}, TypeError, "se_ratio"),
    (mobilenet_v3_block, (0, 16), {}, ValueError, "exp_size"),
    (mobilenet_v3_block, (48, 16), {"kernel_size": (3, 3, 3)}, ValueError, "kernel_size"),
    (conv_bn_act, (8, 3), {"depthwise": True}, ValueError, "filters"),
    (conv_bn_act, (None, 3), {"depthwise": True, "separable": True}, ValueError, "depthwise"),
    (conv_bn_act, (None, 3), {"depthwise": "yes"}, TypeError, "depthwise"),
    (conv_bn_act, (8, 3), {"activation": "swish", "relu_layer": True}, ValueError,
     "activation"),
]


@pytest.mark.parametrize("block,args,kwargs,error,arg", BLOCK_ERRORS,
                         ids=[f"{b[0].__name__}-{b[4]}-{i}" for i, b in enumerate(BLOCK_ERRORS)])
def test_block_argument_errors(block, args, kwargs, error, arg):
    with pytest.raises(error, match=f"`{arg}"):
        block(keras.Input((8, 8, 16)), *args, **kwargs)


# ----------------------------------------------------------------------- architectures -----
class Row:
    """One architecture: our builder, keras.applications' builder, the small test input, the
    build options, and the published numbers (sources in comments)."""

    def __init__(self, name, ours, theirs, params, trainable, notop, macs, *, pixels=(0, 255),
                 options=None, summary=None, type_exceptions=(), taps=None):
        self.name, self.ours, self.theirs = name, ours, theirs
        self.params, self.trainable, self.notop, self.macs = params, trainable, notop, macs
        self.pixels, self.options, self.summary = pixels, dict(options or {}), summary
        self.type_exceptions, self.taps = type_exceptions, taps

    def __str__(self):
        return self.name


V3_GATE = (("Activation", "ReLU"),)  # hard_sigmoid layer vs keras' ReLU(6) between two ops
ROWS = [
    # keras.applications MobileNet: 4,253,864 / 4,231,976 / no top 3,228,864 (Keras docs;
    # published.md); 568.7 M multiply-adds (count_macs on keras.applications; paper: 569 M).
    Row("mobilenet", cnnblocks.MobileNet, apps.MobileNet, 4_253_864, 4_231_976, 3_228_864,
        568.7e6, pixels=(-1, 1),
        summary=["stem"] + ["depthwise_separable_block"] * 13 + ["head"],
        taps=(128, 256, 512, 1024)),
    # MobileNetV2: 3,538,984 / 3,504,872 / 2,257,984; 300.8 M (paper: 300 M).
    Row("mobilenet_v2", cnnblocks.MobileNetV2, apps.MobileNetV2, 3_538_984, 3_504_872,
        2_257_984, 300.8e6, pixels=(-1, 1),
        summary=["stem"] + ["inverted_residual_block"] * 17 + ["conv", "head"],
        taps=(24, 32, 96, 1280)),
    # MobileNetV3Small: keras 3.15 count_params() 2,554,968 / 2,542,856 / 939,120 (published.md);
    # count_macs 56.51 M at 224 (paper: 56 M).
    Row("mobilenet_v3_small", cnnblocks.MobileNetV3Small, apps.MobileNetV3Small, 2_554_968,
        2_542_856, 939_120, 56.51e6,
        summary=["preprocessing", "stem"] + ["mobilenet_v3_block"] * 11 + ["conv", "head"],
        type_exceptions=V3_GATE, taps=(16, 24, 48, 576)),
    # MobileNetV3Large: 5,507,432 / 5,483,032 / 2,996,352; count_macs 216.59 M (paper: 219 M).
    Row("mobilenet_v3_large", cnnblocks.MobileNetV3Large, apps.MobileNetV3Large, 5_507_432,
        5_483_032, 2_996_352, 216.59e6,
        summary=["preprocessing", "stem"] + ["mobilenet_v3_block"] * 15 + ["conv", "head"],
        type_exceptions=V3_GATE, taps=(24, 40, 112, 960)),
]
SMALL = (64, 64, 3)


@pytest.fixture(scope="module", params=ROWS, ids=str)
def arch(request):
    return request.param


@pytest.fixture(scope="module")
def built(arch):
    """Ours and keras', with the top (logits: classifier_activation=None), at 64x64."""
    kwargs = dict(weights=None, input_shape=SMALL, classifier_activation=None, **arch.options)
    keras.utils.set_random_seed(0)
    ref = arch.theirs(**kwargs)
    ours = arch.ours(**kwargs)
    yield ours, ref
    keras.backend.clear_session()


def test_registered_with_keras_signature(arch):
    assert registry.entry(arch.name).builder is arch.ours
    ours, theirs = inspect.signature(arch.ours), inspect.signature(arch.theirs)
    # keras.applications' parameters, then at most a keyword-only `variant` (issue 18:
    # MobileNetV2's "torchvision" structure), defaulting to keras.applications' structure
    extra = [p for p in ours.parameters.values() if p.name not in theirs.parameters]
    assert [(p.name, p.kind, p.default) for p in extra] in (
        [], [("variant", inspect.Parameter.KEYWORD_ONLY, "keras")])
    assert [(p.name, p.default) for p in ours.parameters.values() if p not in extra] == [
        (p.name, p.default) for p in theirs.parameters.values()]


def test_params_equal_published_and_keras(arch, built):
    ours, ref = built
    trainable = sum(int(np.prod(w.shape)) for w in ours.trainable_weights)
    assert (ours.count_params(), trainable) == (arch.params, arch.trainable)
    assert ours.count_params() == ref.count_params()
    ref_record = cnnblocks.published.get(arch.name)
    assert ref_record.params.value == arch.params
    assert ref_record.trainable_params.value == arch.trainable


def test_keras_names_and_types(arch, built):
    ours, ref = built
    assert_keras_names(ours, ref, type_exceptions=arch.type_exceptions)


def test_keras_weights_give_keras_outputs(arch, built):
    ours, ref = built
    x = images(SMALL, low=arch.pixels[0], high=arch.pixels[1])
    assert max_abs_diff_after_transfer(ours, ref, x) <= 1e-5


def test_summary_one_row_per_block(arch, built):
    ours, _ = built
    summary = cnnblocks.summarize(ours)
    assert [row.kind for row in summary] == arch.summary
    assert sum(row.params for row in summary) == ours.count_params()


def test_feature_taps_at_strides_4_to_32(arch, built):
    """C2-C5: the last layer at strides 4, 8, 16, 32 (channels in the row)."""
    ours, _ = built
    shapes = [tuple(t.shape) for t in cnnblocks.feature_extractor(ours).outputs]
    assert shapes == [(None, 64 // s, 64 // s, c) for s, c in zip((4, 8, 16, 32), arch.taps)]


def test_multiply_adds_equal_keras_at_imagenet_size(arch, built):
    ours, ref = built
    size = (224, 224, 3)
    macs = cnnblocks.count_macs(ours, input_shape=size)
    assert macs == cnnblocks.count_macs(ref, input_shape=size)
    assert round(macs / 1e5) == round(arch.macs / 1e5)  # the figure to 0.1 M (0.01 M for V3)
    assert cnnblocks.published.get(arch.name).macs.matches(macs)


def test_legacy_keras_file_loads(arch, built, tmp_path):
    ours, ref = built
    x = images(SMALL, low=arch.pixels[0], high=arch.pixels[1], seed=1)
    testing.randomize_batchnorm(ref, seed=3)
    path = write_legacy_h5(ref, tmp_path / "keras.h5")
    loaded = arch.ours(weights=str(path), input_shape=SMALL, classifier_activation=None,
                       **arch.options)
    np.testing.assert_allclose(predict(loaded, x), predict(ref, x), rtol=0, atol=1e-5)


def test_fold_batchnorm_and_bfloat16(arch, built):
    ours, ref = built
    ours.set_weights(ref.get_weights())
    testing.randomize_batchnorm(ours, seed=7)
    x = images(SMALL, low=arch.pixels[0], high=arch.pixels[1], seed=2)
    reference = predict(ours, x)
    folded = cnnblocks.fold_batchnorm(ours)
    assert not [layer for layer in folded.layers
                if isinstance(layer, keras.layers.BatchNormalization)]
    assert relative_error(reference, predict(folded, x)) <= 1e-4
    fast = cnnblocks.optimize_for_inference(ours, dtype="bfloat16")
    assert fast.get_layer("predictions").compute_dtype == "float32"
    # bfloat16 has an 8-bit mantissa: measured 2e-3 .. 8e-3 of the logits' range here.
    assert relative_error(reference, predict(fast, x)) <= 5e-2


@pytest.mark.heavy
def test_default_build_at_imagenet_size(arch):
    """The defaults (with the top, weights=None): keras.applications' counts and input."""
    model = arch.ours(weights=None)
    ref_input = arch.theirs(weights=None).input.shape
    assert model.input.shape == ref_input
    assert model.count_params() == arch.params
    assert cnnblocks.published.get(arch.name).macs.matches(cnnblocks.count_macs(model))
    notop = arch.ours(weights=None, include_top=False)
    assert notop.count_params() == arch.notop


# ------------------------------------------------------------- MobileNet v1 / v2 specifics --
@pytest.mark.parametrize("builder,theirs,kwargs", [
    (cnnblocks.MobileNet, apps.MobileNet, {"include_top": False, "alpha": 0.25}),
    (cnnblocks.MobileNet, apps.MobileNet,
     {"input_shape": (128, 128, 3), "alpha": 0.75, "depth_multiplier": 2, "dropout": 0.5}),
    (cnnblocks.MobileNet, apps.MobileNet, {"include_top": False, "input_shape": (97, 97, 3)}),
    (cnnblocks.MobileNetV2, apps.MobileNetV2, {"include_top": False, "alpha": 1.4,
                                               "input_shape": (97, 97, 3)}),
    (cnnblocks.MobileNetV2, apps.MobileNetV2, {"include_top": False, "alpha": 0.35,
                                               "pooling": "max"}),
], ids=["v1_notop_alpha_quarter", "v1_128_dm2", "v1_odd_97", "v2_alpha_1.4_odd",
        "v2_alpha_0.35_max"])
def test_v1_v2_options_match_keras(builder, theirs, kwargs):
    """Widths, names (the model's name too) and outputs at other multipliers and sizes."""
    ours, ref = builder(weights=None, **kwargs), theirs(weights=None, **kwargs)
    assert ours.count_params() == ref.count_params()
    assert_keras_names(ours, ref)
    shape = tuple(d or 65 for d in ours.input.shape[1:])
    assert max_abs_diff_after_transfer(ours, ref, images(shape, low=-1, high=1)) <= 1e-5


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    (tmp_path / "keras_home" / "models").mkdir(parents=True)
    return tmp_path / "keras_home" / "models"


def test_mobilenet_imagenet_file_per_alpha_and_size(keras_home):
    """`weights="imagenet"` reads keras.applications' file for the alpha and size from the
    Keras cache (no published hash to check): here one written from keras' model."""
    kwargs = dict(alpha=0.25, include_top=False, input_shape=(128, 128, 3))
    ref = apps.MobileNet(weights=None, **kwargs)
    testing.randomize_batchnorm(ref, seed=1)
    write_legacy_h5(ref, keras_home / "mobilenet_2_5_128_tf_no_top.h5")
    ours = cnnblocks.MobileNet(weights="imagenet", **kwargs)
    x = images((128, 128, 3), low=-1, high=1)
    np.testing.assert_allclose(predict(ours, x), predict(ref, x), rtol=0, atol=1e-5)
    files = mobilenet.imagenet_files(0.25, 128)
    assert files[1].url == ("https://storage.googleapis.com/tensorflow/keras-applications/"
                            "mobilenet/mobilenet_2_5_128_tf_no_top.h5")
    assert mobilenet_v2.imagenet_files(1.4, 96)[0].filename == (
        "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.4_96.h5")


def test_mobilenet_v2_imagenet_file_offline_error(keras_home, monkeypatch):
    def offline(*args, **kwargs):
        raise OSError("no network")
    monkeypatch.setattr(keras.utils, "get_file", offline)
    with pytest.raises(weight_files.WeightsUnavailableError,
                       match="mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.5_160_no_top.h5"):
        cnnblocks.MobileNetV2(weights="imagenet", alpha=0.5, include_top=False,
                              input_shape=(160, 160, 3))


def test_mobilenet_v3_imagenet_file_is_hash_checked(keras_home):
    """The V3 files carry keras.applications' MD5: a cached file that is another file is
    refused, naming it."""
    kwargs = dict(minimalistic=True, include_top=False, input_shape=(224, 224, 3))
    name = "weights_mobilenet_v3_small_minimalistic_224_1.0_float_no_top_v2.h5"
    write_legacy_h5(apps.MobileNetV3Small(weights=None, **kwargs), keras_home / name)
    with pytest.raises(weight_files.WeightFileError, match="cde8136e733e811080d9fcd8a252f7e4"):
        cnnblocks.MobileNetV3Small(weights="imagenet", **kwargs)


# ------------------------------------------------------------------ MobileNetV3 specifics --
def test_v3_dynamic_input_and_count_macs():
    """The default input is (None, None, 3) with the top, as keras.applications; count_macs
    evaluates it at the registered 224 (keras' own model needs `input_shape`)."""
    ours = cnnblocks.MobileNetV3Small(weights=None)
    ref = apps.MobileNetV3Small(weights=None)
    assert tuple(ours.input.shape) == tuple(ref.input.shape) == (None, None, None, 3)
    assert cnnblocks.count_macs(ours) == cnnblocks.count_macs(ref, input_shape=(224, 224, 3))
    assert cnnblocks.summarize(ours).input_shape == (224, 224, 3)
    with pytest.raises(ValueError, match="input_shape"):
        cnnblocks.count_macs(ref)
    for size in (64, 96):  # one model, any size
        assert predict(ours, images((size, size, 3), n=1)).shape == (1, 1000)


def test_v3_keras_file_roundtrip_keeps_blocks(tmp_path):
    """`.keras` save and safe-mode load: same outputs, same block rows."""
    model = cnnblocks.MobileNetV3Small(weights=None, include_top=False, pooling="avg",
                                       input_shape=(64, 64, 3))
    model.save(tmp_path / "v3.keras")
    loaded = keras.models.load_model(tmp_path / "v3.keras", safe_mode=True)
    x = images((64, 64, 3))
    np.testing.assert_allclose(predict(loaded, x), predict(model, x), rtol=0, atol=1e-6)
    assert [(r.name, r.kind) for r in cnnblocks.summarize(loaded)] == [
        (r.name, r.kind) for r in cnnblocks.summarize(model)]


@pytest.mark.parametrize("builder,theirs", [
    (cnnblocks.MobileNetV3Small, apps.MobileNetV3Small),
    (cnnblocks.MobileNetV3Large, apps.MobileNetV3Large)], ids=["small", "large"])
def test_v3_options_match_keras(builder, theirs):
    kwargs = dict(minimalistic=True, alpha=0.75, include_top=False, input_shape=(97, 97, 3),
                  include_preprocessing=False, pooling="avg")
    ours, ref = builder(weights=None, **kwargs), theirs(weights=None, **kwargs)
    assert ours.count_params() == ref.count_params()
    assert_keras_names(ours, ref)
    assert max_abs_diff_after_transfer(ours, ref, images((97, 97, 3), low=-1, high=1)) <= 1e-5
    wide = dict(alpha=1.25, dropout_rate=0.0, input_shape=(64, 64, 3))
    assert builder(weights=None, **wide).count_params() == theirs(
        weights=None, **wide).count_params()


def test_v3_paper_exp_sizes_follow_from_the_spec():
    """Tables 1 and 2's "exp size" column equals the spec's ratios at alpha 1."""
    for kind, rows in mobilenet_v3.MOBILENET_V3_SPECS.items():
        printed = [r[2] for r in mobilenet_v3.PAPER_TABLES[kind] if r[1].startswith("bneck")]
        c, derived = mobilenet_v3.MOBILENET_V3_STEM, []
        for ratio, out, *_ in rows:
            derived.append(make_divisible(c * ratio))
            c = out
        assert derived == printed


# ------------------------------------------------------------------------- argument errors --
ARCH_ERRORS = [
    (cnnblocks.MobileNet, {"alpha": 0}, ValueError, "alpha"),
    (cnnblocks.MobileNet, {"alpha": "big"}, TypeError, "alpha"),
    (cnnblocks.MobileNet, {"alpha": 0.01}, ValueError, "alpha"),
    (cnnblocks.MobileNet, {"dropout": 1.0}, ValueError, "dropout"),
    (cnnblocks.MobileNet, {"depth_multiplier": 0}, ValueError, "depth_multiplier"),
    (cnnblocks.MobileNet, {"weights": "imagenet", "alpha": 0.6}, ValueError, "alpha"),
    (cnnblocks.MobileNet, {"weights": "imagenet", "depth_multiplier": 2}, ValueError,
     "depth_multiplier"),
    (cnnblocks.MobileNet, {"input_shape": (16, 16, 3), "include_top": False}, ValueError,
     "Input size"),
    (cnnblocks.MobileNet, {"pooling": "sum", "include_top": False}, ValueError, "pooling"),
    (cnnblocks.MobileNetV2, {"alpha": -1}, ValueError, "alpha"),
    (cnnblocks.MobileNetV2, {"weights": "imagenet", "alpha": 0.6}, ValueError, "alpha"),
    (cnnblocks.MobileNetV2, {"classes": 0}, ValueError, "classes"),
    (cnnblocks.MobileNetV2, {"weights": "no/such/file.h5"}, ValueError, "weights"),
    (cnnblocks.MobileNetV3Small, {"minimalistic": 1}, TypeError, "minimalistic"),
    (cnnblocks.MobileNetV3Small, {"include_preprocessing": "yes"}, TypeError,
     "include_preprocessing"),
    (cnnblocks.MobileNetV3Small, {"dropout_rate": -0.1}, ValueError, "dropout_rate"),
    (cnnblocks.MobileNetV3Large, {"weights": "imagenet", "alpha": 0.5}, ValueError, "alpha"),
    (cnnblocks.MobileNetV3Large, {"weights": "imagenet", "alpha": 0.75, "minimalistic": True},
     ValueError, "minimalistic"),
    (cnnblocks.MobileNetV3Large, {"input_shape": (16, 16, 3)}, ValueError, "Input size"),
    (cnnblocks.MobileNetV3Large, {"alpha": 0}, ValueError, "alpha"),
]


@pytest.mark.parametrize("builder,kwargs,error,arg", ARCH_ERRORS,
                         ids=[f"{b[0].__name__}-{b[3]}-{i}" for i, b in enumerate(ARCH_ERRORS)])
def test_architecture_argument_errors(builder, kwargs, error, arg):
    kwargs.setdefault("weights", None)
    with pytest.raises(error, match=arg):
        builder(**kwargs)
