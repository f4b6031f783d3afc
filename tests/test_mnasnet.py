"""MNASNet: MnasNet's inverted residual (`inverted_residual_block` with ReLU and 3x3/5x5
kernels) through the shared harness, the four torchvision MNASNets, and torchvision as the
oracle.

keras.applications (Keras 3) has no MNASNet; torchvision is the oracle: its metadata's
`num_params` and GFLOPS (the family's records) and, in this process, its models (random
weights, randomized BN statistics) converted into ours. Each model is built once per module at
64x64 (parameters do not depend on the input size; the head pools globally), multiply-adds
are counted symbolically at 224x224; mnasnet1_0 is also compared by outputs (mnasnet0_5, whose
stem the depth multiplier scales, in the heavy run).
"""

import numpy as np
import pytest

import keras

import cnnblocks
from cnnblocks import cli, registry
from cnnblocks.architectures import mnasnet
from cnnblocks.blocks import inverted_residual_block
from harness import check_block
from parity import bn, conv, dw

# One check repeated over many architectures: the extra-backend passes run its heavy cases
# for ResNet50 and InceptionV3 only (conftest.py).
pytestmark = pytest.mark.per_architecture

TOLERANCE = 1e-4  # max |ours - torch| / max |torch|
KEYS = list(mnasnet.COUNTS)


# ------------------------------------------------------------------------------ block ------
# MnasNet's MBConv: c -> e = t c -> filters; c e + 4 e + k^2 e + 4 e + e filters + 4 filters.
def _block_params(c, filters, t, k):
    e = t * c
    return conv(1, c, e) + bn(e) + dw(k, e) + bn(e) + conv(1, e, filters) + bn(filters)


def _mbconv(filters, t, k, strides=1):
    return lambda x, name: inverted_residual_block(
        x, filters, expansion=t, strides=strides, kernel_size=k, activation="relu",
        padding="symmetric", bn_epsilon=1e-5, bn_momentum=0.9997, name=name)


BLOCKS = [
    # 16x16 -> (16 + 2 * 2 - 5) // 2 + 1 = 8
    ("mbconv3_5x5_stride2", _mbconv(40, 3, 5, 2), (16, 16, 24), _block_params(24, 40, 3, 5),
     (8, 8, 40)),
    # odd size: (15 + 2 - 3) // 2 + 1 = 8
    ("mbconv3_3x3_stride2_odd", _mbconv(24, 3, 3, 2), (15, 15, 16),
     _block_params(16, 24, 3, 3), (8, 8, 24)),
    ("mbconv6_5x5_identity", _mbconv(40, 6, 5), (8, 8, 40), _block_params(40, 40, 6, 5),
     (8, 8, 40)),
    ("mbconv6_3x3_widen", _mbconv(96, 6, 3), (8, 8, 80), _block_params(80, 96, 6, 3),
     (8, 8, 96)),
]


@pytest.mark.parametrize("label,block,input_shape,params,output_shape", BLOCKS,
                         ids=[b[0] for b in BLOCKS])
def test_block_harness(label, block, input_shape, params, output_shape, tmp_path):
    check_block(block, input_shape, params=params, output_shape=output_shape,
                tmp_path=tmp_path)


def test_block_layer_names_relu_and_label():
    inputs = keras.Input((16, 16, 24))
    model = keras.Model(inputs, _mbconv(40, 3, 5, 2)(inputs, "s2_b1"))
    assert [layer.name for layer in model.layers[1:]] == [
        "s2_b1_expand", "s2_b1_expand_BN", "s2_b1_expand_relu", "s2_b1_pad",
        "s2_b1_depthwise", "s2_b1_depthwise_BN", "s2_b1_depthwise_relu", "s2_b1_project",
        "s2_b1_project_BN"]
    assert model.get_layer("s2_b1_pad").padding == ((2, 2), (2, 2))
    for relu in ("s2_b1_expand_relu", "s2_b1_depthwise_relu"):  # ReLU, not ReLU6
        assert model.get_layer(relu).max_value is None
    assert model.get_layer("s2_b1_expand_BN").momentum == 0.9997
    (row,) = cnnblocks.summarize(model)
    assert row.kind == "inverted_residual_block"
    assert row.label == "t=3 → dw 5x5 /2 → 40 (ReLU)"
    # MobileNetV2's default is unchanged: ReLU6 and no label suffix.
    plain = keras.Model(inputs, inverted_residual_block(inputs, 24, name="block_2"))
    assert plain.get_layer("block_2_expand_relu").max_value == 6
    assert cnnblocks.summarize(plain)[0].label == "t=6 → dw 3x3 → 24"


@pytest.mark.parametrize("value, error", [("relu_6", ValueError), ("swish", ValueError),
                                          (None, TypeError), (6, TypeError)])
def test_block_activation_errors(value, error):
    with pytest.raises((ValueError, TypeError), match="`activation`"):
        inverted_residual_block(keras.Input((8, 8, 16)), 16, activation=value)


# ------------------------------------------------------------------------- registered ------
@pytest.fixture(scope="module", params=KEYS)
def key(request):
    return request.param


@pytest.fixture(scope="module")
def small(key):
    model = cnnblocks.create_model(key, input_shape=(64, 64, 3))
    yield model
    del model
    keras.backend.clear_session()


@pytest.mark.backend_independent  # counts and records: checked once, on TensorFlow
def test_counts_equal_torchvision_and_the_records(key, small):
    """Trainable = torchvision's `num_params`; multiply-adds at 224x224 round to its GFLOPS."""
    title, total, trainable, gflops = mnasnet.COUNTS[key]
    assert small.count_params() == total
    assert sum(int(np.prod(w.shape)) for w in small.trainable_weights) == trainable
    assert registry.entry(key).pretrained["torchvision"].num_params == trainable
    assert cnnblocks.weight_depth(small) == mnasnet.DEPTH == 53
    macs = cnnblocks.count_macs(small, input_shape=(224, 224, 3))
    assert round(macs / 1e9, 3) == gflops
    ref = cnnblocks.published.get(key)
    assert ref.params.matches(total) and ref.macs.matches(macs)
    assert ref.trainable_params.matches(trainable) and ref.depth.matches(53)


@pytest.mark.backend_independent  # the layer graph's grouping: checked once, on TensorFlow
def test_one_summary_row_per_block_and_stage_taps(key, small):
    rows = cnnblocks.summarize(small)
    assert [r.kind for r in rows] == (["stem", "conv"] + ["inverted_residual_block"] * 16
                                      + ["conv", "head"])
    assert [r.name for r in rows[2:6]] == ["s1_b1", "s1_b2", "s1_b3", "s2_b1"]
    assert sum(r.params for r in rows) == small.count_params()
    assert cnnblocks.features.stage_layers(small) == {
        "C1": "stem_relu", "C2": "s1_b3_add", "C3": "s2_b3_add", "C4": "s4_b2_add",
        "C5": "top_relu"}


@pytest.mark.backend_independent
def test_layer_names_and_widths(key, small):
    stem, sep, *widths = mnasnet.mnasnet_depths(mnasnet.MNASNET_ALPHAS[key])
    names = [layer.name for layer in small.layers]
    assert names[:13] == ["input_layer", "stem_pad", "stem_conv", "stem_bn", "stem_relu",
                          "sep_dw", "sep_dw_bn", "sep_dw_relu", "sep_pw", "sep_pw_bn",
                          "s1_b1_expand", "s1_b1_expand_BN", "s1_b1_expand_relu"]
    assert names[-8:] == ["s6_b1_project", "s6_b1_project_BN", "top_conv", "top_bn",
                          "top_relu", "avg_pool", "dropout", "predictions"]
    # A shortcut in every block but the first of each stack.
    adds = [n for n in names if n.endswith("_add")]
    assert adds == [f"s{s}_b{b}_add" for s, (*_, n) in enumerate(mnasnet.MNASNET_SPEC, 1)
                    for b in range(2, n + 1)]
    assert small.get_layer("stem_conv").filters == stem
    assert small.get_layer("sep_pw").filters == sep
    assert [small.get_layer(f"s{s}_b1_project").filters for s in range(1, 7)] == widths
    assert small.get_layer("s2_b1_depthwise").kernel_size == (5, 5)
    assert small.get_layer("dropout").rate == 0.2
    assert small.name == key
    # The torch layout names every layer with weights.
    layout = registry.entry(key).torch_layout.layers
    assert {layer.name for layer in small.layers if layer.weights} == set(layout)


def test_builders_and_registry():
    for key, builder in zip(KEYS, (cnnblocks.MNASNet0_5, cnnblocks.MNASNet0_75,
                                   cnnblocks.MNASNet1_0, cnnblocks.MNASNet1_3)):
        entry = registry.entry(key)
        assert entry.name == key and entry.family == "mnasnet" and entry.builder is builder
        assert builder.__doc__.startswith(mnasnet.COUNTS[key][0])
        config = entry.pretrained["torchvision"]
        assert config.file.url.startswith("https://download.pytorch.org/models/mnasnet")
    # canonical names keep a separator between digits: 0_5 and 0.5 are the same model
    assert registry.entry("MNASNet0.5").name == "mnasnet0_5"
    assert registry.entry("MNASNet0_75").name == "mnasnet0_75"
    assert registry.entry("mnasnet1.3").name == "mnasnet1_3"
    assert registry.entry("mnasnet0_5").pretrained["torchvision"].file.sha256 == "3ffadce67e"
    assert registry.entry("mnasnet1_3").pretrained["torchvision"].resize_size == 232


def test_depths():
    assert mnasnet.mnasnet_depths(1.0) == (32, 16, 24, 40, 80, 96, 192, 320)
    assert mnasnet.mnasnet_depths(1.3) == (40, 24, 32, 56, 104, 128, 248, 416)
    for bad, error in ((0, ValueError), (-1.0, ValueError), ("1.0", TypeError),
                       (float("nan"), ValueError)):
        with pytest.raises(error, match="`alpha`"):
            mnasnet.mnasnet_depths(bad)


@pytest.mark.parametrize("kwargs, error, arg", [
    (dict(dropout=1.0), ValueError, "dropout"),
    (dict(dropout="0.2"), TypeError, "dropout"),
    (dict(variant="keras"), ValueError, "variant"),
    (dict(weights="imagenet"), ValueError, "weights='imagenet'"),
    (dict(classes=0), ValueError, "classes"),
    (dict(include_top=False, pooling="mean"), ValueError, "pooling"),
    (dict(input_shape=(16, 16, 3)), ValueError, r"input_shape=\(16, 16, 3\)"),
])
def test_argument_errors(kwargs, error, arg):
    with pytest.raises(error, match=f"`{arg}"):
        cnnblocks.MNASNet0_5(**kwargs)


def test_keras_file_roundtrip_keeps_blocks(tmp_path):
    """`.keras` save and safe-mode load: same outputs, same block rows."""
    model = cnnblocks.MNASNet0_5(include_top=False, pooling="avg", input_shape=(64, 64, 3))
    cnnblocks.testing.randomize_batchnorm(model)
    model.save(tmp_path / "mnasnet.keras")
    loaded = keras.models.load_model(tmp_path / "mnasnet.keras", safe_mode=True)
    x = np.random.RandomState(0).standard_normal((2, 64, 64, 3)).astype("float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-5)
    assert [(r.name, r.kind, r.args) for r in cnnblocks.summarize(loaded)] == [
        (r.name, r.kind, r.args) for r in cnnblocks.summarize(model)]
    keras.backend.clear_session()


# ----------------------------------------------------------------------- torchvision -------
def _outputs(model, x):
    return keras.ops.convert_to_numpy(model(x, training=False))


def test_depths_equal_torchvision(tv):
    """`mnasnet_depths` against torchvision's `_get_depths`, for many multipliers."""
    from torchvision.models import mnasnet as tv_mnasnet
    alphas = [0.1, 0.25, 0.35, 0.5, 0.6, 0.75, 0.8, 0.9, 1.0, 1.1, 1.25, 1.3, 1.4, 1.5, 1.75,
              2.0, 2.5, 3.0, 0.333, 1.0 / 3, 0.05, 4.2]
    for alpha in alphas:
        assert list(mnasnet.mnasnet_depths(alpha)) == tv_mnasnet._get_depths(alpha), alpha


@pytest.mark.backend_independent
def test_trainable_counts_equal_torchvision_models(tv, key, small):
    """The built model against torchvision's model of the same name (not only its metadata)."""
    theirs = getattr(tv.models, key)()
    assert sum(int(np.prod(w.shape)) for w in small.trainable_weights) == sum(
        p.numel() for p in theirs.parameters())


def _convert(oracle, tv, key, tmp_path):
    oracle.torch.manual_seed(0)
    theirs = oracle.randomize(getattr(tv.models, key)())
    x = oracle.images(64)
    expected = oracle.run(theirs, x)
    pth, safetensors = oracle.save(theirs, tmp_path, key)
    keras.backend.clear_session()
    errors = []
    for path in (pth, safetensors):
        ours = cnnblocks.create_model(key, weights=str(path), input_shape=(64, 64, 3),
                                      classifier_activation=None)
        errors.append(oracle.relative_error([_outputs(ours, x)], [expected]))
    out = tmp_path / f"{key}.weights.h5"  # `cnnblocks convert`, then a Keras weight file
    assert cli.main(["convert", key, str(safetensors), "-o", str(out),
                     "--input-shape", "64,64,3"]) == 0
    ours = cnnblocks.create_model(key, weights=str(out), input_shape=(64, 64, 3),
                                  classifier_activation=None)
    errors.append(oracle.relative_error([_outputs(ours, x)], [expected]))
    print(f"[conversion, {keras.backend.backend()}] {key} at 64 (.pth, .safetensors, "
          f"convert): max relative error {max(errors):.2e}")
    keras.backend.clear_session()
    return max(errors)


@pytest.mark.parametrize("key", [
    "mnasnet1_0",
    # the depth multiplier scales the stem (torchvision's version 2)
    pytest.param("mnasnet0_5", marks=pytest.mark.heavy),
])
def test_weights_file_converts_from_torchvision(oracle, tv, key, tmp_path):
    """`weights=<torchvision .pth / .safetensors>` and `cnnblocks convert` at 64x64 (32 ... 2
    inside: every stride-2 padding on even sizes)."""
    assert _convert(oracle, tv, key, tmp_path) <= TOLERANCE
