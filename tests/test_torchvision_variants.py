"""The `variant="torchvision"` structures and their weight-set records (issue 18), without torch.

Parameter counts equal torchvision's `parameters()` (the trainable weights); the structural
facts that make a conversion exact (padding, strides, pools, BN epsilon, bias) are checked
layer by layer; the weight-set records (URL, published hash, preprocessing) are consistent;
downloads are checked against the published hash and fail offline with a message naming the
file, the folder and the URL; feature taps and `.keras` files work for the new structures. The
numerical comparison with torch is in `tests/test_convert.py`.
"""

import math

import keras
import numpy as np
import pytest

import cnnblocks
from cnnblocks import cli, convert, family, preprocessing, registry
from cnnblocks import weights as weight_files
from cnnblocks.features import feature_extractor, feature_info
from cnnblocks.layers import AdaptiveAveragePooling2D

# One check repeated over many architectures: the extra-backend passes run its heavy cases
# for ResNet50 and InceptionV3 only (conftest.py).
pytestmark = pytest.mark.per_architecture

TV = family.TORCHVISION_VARIANT
#: Counts do not depend on the backend: built once, on TensorFlow (JAX builds are slow).
ON_TENSORFLOW = pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                                   reason="backend-independent count, checked on TensorFlow")


def _trainable(model):
    return int(sum(math.prod(w.shape) for w in model.trainable_weights))


def _heavy(*row):
    return pytest.param(*row, marks=pytest.mark.heavy)


#: torchvision's `parameters()` count per model (trainable weights; BN running statistics are
#: buffers), and whether it is the `num_params` of the weight set's metadata. Source: torchvision
#: 0.28 weight metadata (`<Model>_Weights.IMAGENET1K_V1.meta["num_params"]`), except where noted.
PARAMS = [
    ("resnet18", {}, 11_689_512, True),
    ("resnet34", {}, 21_797_672, True),
    ("resnet50", {}, 25_557_032, True),
    _heavy("resnet101", {}, 44_549_160, True),
    _heavy("resnet152", {}, 60_192_808, True),
    _heavy("vgg11", {}, 132_863_336, True),
    _heavy("vgg11_bn", {}, 132_868_840, True),
    _heavy("vgg13", {}, 133_047_848, True),
    _heavy("vgg13_bn", {}, 133_053_736, True),
    _heavy("vgg16", {}, 138_357_544, True),
    _heavy("vgg16_bn", {}, 138_365_992, True),
    _heavy("vgg19", {}, 143_667_240, True),
    _heavy("vgg19_bn", {}, 143_678_248, True),
    ("googlenet", {}, 6_624_904, True),  # meta: the model without its auxiliary classifiers
    # googlenet(aux_logits=True) parameters(), as published.md records it
    ("googlenet", {"aux_classifiers": True}, 13_004_888, False),
    # Inception_V3_Weights meta counts the auxiliary classifier
    ("inception_v3", {"aux_classifiers": True}, 27_161_264, True),
    ("inception_v3", {}, 23_834_568, False),  # without it: published.md
]


@ON_TENSORFLOW
@pytest.mark.parametrize("name, options, expected, meta", PARAMS)
def test_trainable_parameters_equal_torchvision(name, options, expected, meta):
    model = cnnblocks.create_model(name, variant=TV, **options)
    assert _trainable(model) == expected
    if meta:  # the weight set's record counts the structure it was published with
        assert registry.entry(name).pretrained["torchvision"].num_params == expected


#: torchvision's `_ops` (GFLOPS, which are multiply-adds at batch 1, printed with 3 decimals:
#: tolerance 0.0005 G) of each model's weights metadata, against `cnnblocks.count_macs` of the
#: torchvision variant at 224x224 (299 for Inception-V3). ResNet-50 differs from the keras
#: variant's 3.858 G: the stride on the 3x3 ("v1.5").
MACS = [
    ("resnet18", 1.814), ("resnet50", 4.089), ("googlenet", 1.498),
    ("inception_v3", 5.713), _heavy("vgg16_bn", 15.47), _heavy("resnet152", 11.514),
]


@ON_TENSORFLOW
@pytest.mark.parametrize("name, gmacs", MACS)
def test_multiply_adds_equal_torchvision_ops(name, gmacs):
    model = cnnblocks.create_model(name, variant=TV)
    assert abs(cnnblocks.count_macs(model) / 1e9 - gmacs) <= 0.0005


@ON_TENSORFLOW
def test_keras_inception_v3_with_its_auxiliary_classifier():
    """The auxiliary classifier in keras.applications' structure (BN without gamma). Derived:
    1x1 768->128 (98,304) + BN 3 x 128 + 5x5 128->768 (2,457,600) + BN 3 x 768 + FC 768->1000
    (769,000) = 3,327,592 more than 23,851,784; trainable 3,325,800 more than 23,817,352."""
    model = cnnblocks.create_model("inception_v3", aux_classifiers=True)
    assert [o.shape[-1] for o in model.outputs] == [1000, 1000]
    assert (model.count_params(), _trainable(model)) == (27_179_376, 27_143_152)


# --- Structure, layer by layer -------------------------------------------------------------

def _layers(model, kind):
    return [layer for layer in model.layers if isinstance(layer, kind)]


@pytest.fixture(scope="module")
def resnet50_pair():
    return {variant: cnnblocks.create_model("resnet50", variant=variant,
                                            input_shape=(64, 64, 3))
            for variant in ("keras", TV)}


def test_resnet_torchvision_is_v1_5_with_symmetric_padding(resnet50_pair):
    keras_model, tv_model = resnet50_pair["keras"], resnet50_pair[TV]
    # v1.5: the stride on the 3x3, after explicit zero padding 1 on every side
    assert tv_model.get_layer("conv3_block1_1_conv").strides == (1, 1)
    assert tv_model.get_layer("conv3_block1_2_conv").strides == (2, 2)
    assert tv_model.get_layer("conv3_block1_2_conv").padding == "valid"
    assert tv_model.get_layer("conv3_block1_2_pad").padding == ((1, 1), (1, 1))
    assert keras_model.get_layer("conv3_block1_1_conv").strides == (2, 2)
    pads = sorted(layer.name for layer in _layers(tv_model, keras.layers.ZeroPadding2D))
    assert pads == ["conv1_pad", "conv3_block1_2_pad", "conv4_block1_2_pad",
                    "conv5_block1_2_pad", "pool1_pad"]
    assert not any(layer.use_bias for layer in _layers(tv_model, keras.layers.Conv2D))
    assert all(layer.use_bias for layer in _layers(keras_model, keras.layers.Conv2D))
    assert {layer.epsilon for layer in _layers(tv_model, keras.layers.BatchNormalization)} == {
        1e-5}
    assert {layer.epsilon for layer in _layers(keras_model,
                                               keras.layers.BatchNormalization)} == {1.001e-5}
    # same names otherwise: the torchvision variant adds only its three padding layers
    def names(model):
        return {layer.name for layer in model.layers[1:]}  # the input layer is numbered
    assert names(tv_model) - set(pads[1:4]) == names(keras_model)


def test_basic_modules_pad_their_strided_first_convolution():
    model = cnnblocks.create_model("resnet18", variant=TV, input_shape=(64, 64, 3))
    assert model.get_layer("conv3_block1_1_pad").padding == ((1, 1), (1, 1))
    assert model.get_layer("conv3_block1_1_conv").strides == (2, 2)


def _ceil(n, k, s):
    return -(-(n - k) // s) + 1


@pytest.mark.parametrize("size", [100, 224])
def test_googlenet_torchvision_pools_in_ceil_mode(size):
    model = cnnblocks.create_model("googlenet", variant=TV, include_top=False,
                                   input_shape=(size, size, 3))
    n = (size + 6 - 7) // 2 + 1  # conv1 7x7/2, padding 3
    for pool, k in (("pool1_3x3_s2", 3), ("pool2_3x3_s2", 3), ("pool3_3x3_s2", 3),
                    ("pool4_2x2_s2", 2)):
        layer = model.get_layer(pool)
        assert layer.pool_size == (k, k)
        n = _ceil(n, k, 2)
        assert layer.output.shape[1:3] == (n, n), pool
    assert model.get_layer("inception_3a_5x5").kernel_size == (3, 3)  # pytorch/vision#906
    assert not [layer for layer in model.layers if "norm" in layer.name]  # no LRN
    assert {layer.epsilon for layer in _layers(model, keras.layers.BatchNormalization)} == {
        1e-3}
    assert not any(layer.use_bias for layer in _layers(model, keras.layers.Conv2D))


def test_inception_v3_torchvision_counts_padding_in_its_average_pools():
    model = cnnblocks.create_model("inception_v3", variant=TV, input_shape=(75, 75, 3))
    for module in ("mixed0", "mixed4", "mixed9"):
        assert model.get_layer(f"{module}_pool_pad").padding == ((1, 1), (1, 1))
        assert model.get_layer(f"{module}_pool").padding == "valid"
    assert all(layer.scale for layer in _layers(model, keras.layers.BatchNormalization))
    assert model.get_layer("dropout").rate == 0.5
    keras_model = cnnblocks.create_model("inception_v3", input_shape=(75, 75, 3))
    assert keras_model.get_layer("mixed0_pool").padding == "same"
    assert not any(layer.scale for layer in _layers(keras_model,
                                                    keras.layers.BatchNormalization))


def test_vgg_bn_and_the_torchvision_head():
    model = cnnblocks.create_model("vgg11_bn", variant=TV, input_shape=(32, 32, 3))
    assert isinstance(model.get_layer("avg_pool"), AdaptiveAveragePooling2D)
    assert model.get_layer("flatten").output.shape[1] == 7 * 7 * 512
    assert [model.get_layer(f"fc{i}_dropout").rate for i in (1, 2)] == [0.5, 0.5]
    assert model.get_layer("block1_conv1").use_bias
    assert model.get_layer("block1_conv1_bn").epsilon == 1e-5
    assert isinstance(model.get_layer("block1_conv1_relu"), keras.layers.Activation)
    keras_head = cnnblocks.create_model("vgg11_bn", input_shape=(224, 224, 3))
    assert "avg_pool" not in {layer.name for layer in keras_head.layers}


@pytest.mark.parametrize("size, out, windows", [
    (14, 4, [(0, 4), (3, 7), (7, 11), (10, 14)]),  # GoogLeNet's auxiliary pool at 224
    (7, 7, [(i, i + 1) for i in range(7)]),         # VGG's head at 224: the identity
    (21, 7, [(3 * i, 3 * i + 3) for i in range(7)]),
    (2, 7, [(0, 1), (0, 1), (0, 1), (0, 2), (1, 2), (1, 2), (1, 2)]),  # upsampling
])
def test_adaptive_pooling_windows(size, out, windows):
    """PyTorch's windows `[floor(i n / o), ceil((i + 1) n / o))`, on the active backend."""
    x = np.random.RandomState(0).rand(2, size, size, 3).astype("float32")
    expected = np.stack([np.stack([x[:, a:b, c:d].mean(axis=(1, 2)) for c, d in windows], 1)
                         for a, b in windows], 1)
    got = keras.ops.convert_to_numpy(AdaptiveAveragePooling2D(out)(x))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


# --- Arguments --------------------------------------------------------------------------------

def _offline(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))

    def unreachable(*args, **kwargs):
        raise OSError("[Errno 101] Network is unreachable")
    monkeypatch.setattr(keras.utils, "get_file", unreachable)


BAD_ARGS = [
    # (model, builder arguments, error, message)
    ("resnet18", {"variant": "caffe"}, ValueError,
     r"`variant` must be one of 'keras', 'torchvision'; received 'caffe'"),
    ("resnet18", {"variant": "keras", "weights": "torchvision"}, ValueError,
     r"fit the 'torchvision' structure of resnet18, not variant='keras': pass "
     r"variant='torchvision'"),
    ("resnet50", {"variant": TV, "weights": "imagenet"}, ValueError,
     r"`weights='imagenet'` fit the 'keras' structure of resnet50, not variant='torchvision': "
     r"pass variant='keras' or weights='torchvision' / 'torchvision_v2' / None"),
    ("resnet18", {"weights": "torchvision", "classes": 10}, ValueError,
     r"`classes` must be 1000; received classes=10"),
    ("resnet18", {"weights": "torchvision_v2"}, ValueError,
     r"`weights` must be None \(random initialization\), 'imagenet', 'torchvision' or the path"),
    ("googlenet", {"variant": TV, "normalization": None}, ValueError,
     r"leave `normalization` at its default or pass 'batchnorm'; received normalization=None"),
    ("inception_v3", {"aux_classifiers": True, "include_top": False}, ValueError,
     r"`aux_classifiers=True` needs `include_top=True`"),
    ("inception_v3", {"aux_classifiers": True, "input_shape": (298, 298, 3)}, ValueError,
     r"needs an input of at least 299x299"),
    ("inception_v3", {"aux_classifiers": "yes"}, TypeError, r"`aux_classifiers` must be a bool"),
]


@pytest.mark.parametrize("name, kwargs, error, message", BAD_ARGS)
def test_bad_arguments_are_named(name, kwargs, error, message):
    with pytest.raises(error, match=message):
        cnnblocks.create_model(name, **kwargs)


def test_create_model_picks_the_variant_a_weight_set_fits(monkeypatch, tmp_path):
    _offline(monkeypatch, tmp_path)  # past the argument checks, the file is looked up
    with pytest.raises(weight_files.WeightsUnavailableError, match="resnet18-f37072fd.pth"):
        cnnblocks.create_model("resnet18", weights="torchvision")


# --- Weight-set records, download, hash, offline ----------------------------------------------

def _weight_sets():
    return [(entry.name, name, config) for name_ in registry.list_models()
            for entry in [registry.entry(name_)] for name, config in entry.pretrained.items()]


def test_every_weight_set_record_is_consistent():
    sets = _weight_sets()
    assert {m for m, _, _ in sets} >= {"resnet18", "resnet34", "resnet50", "resnet101",
                                       "resnet152", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn",
                                       "vgg16", "vgg16_bn", "vgg19", "vgg19_bn", "googlenet",
                                       "inception_v3"}
    for model, name, config in sets:
        entry = registry.entry(model)
        assert config.name == name and config.variant in entry.variants
        assert entry.torch_layout is not None and config.format == "torch"
        assert config.file.url.startswith(family.TORCHVISION_MODELS)
        stem = config.file.filename.rsplit(".", 1)[0]
        # 8 hex digits, 10 in MNASNet 0.5's and 1.0's and ShuffleNet V2 0.5x's and 1x's older
        # file names (torch hub checks whatever prefix the name gives)
        assert stem.endswith("-" + config.file.sha256) and len(config.file.sha256) >= 8
        assert config.labels == "imagenet-1k" and config.num_classes == 1000
        assert 0 < config.top5 and 0 < config.top1 < config.top5 < 100
        cfg = config.to_dict()
        assert cfg["input_size"] == (3, config.input_size, config.input_size)
        assert cfg["crop_pct"] == config.input_size / config.resize_size


CROPS = [
    # (model, weight set, input size, resize size, crop fraction, mean): torchvision's
    # ImageClassification(crop_size, resize_size) of each weights enum
    ("resnet18", "torchvision", 224, 256, 0.875, preprocessing.TORCH_MEAN),
    ("resnet50", "torchvision_v2", 224, 232, 224 / 232, preprocessing.TORCH_MEAN),
    ("vgg16_bn", "torchvision", 224, 256, 0.875, preprocessing.TORCH_MEAN),
    ("googlenet", "torchvision", 224, 256, 0.875, (0.5, 0.5, 0.5)),  # transform_input folded
    ("inception_v3", "torchvision", 299, 342, 299 / 342, (0.5, 0.5, 0.5)),
]


@pytest.mark.parametrize("name, weights, size, resize, crop_pct, mean", CROPS)
def test_weight_set_preprocessing(name, weights, size, resize, crop_pct, mean):
    config = registry.entry(name).pretrained[weights]
    assert (config.input_size, config.resize_size, config.interpolation) == (
        size, resize, "bilinear")
    assert config.crop_pct == pytest.approx(crop_pct)
    assert config.mean == tuple(mean)


def test_offline_message_names_file_folder_and_url(monkeypatch, tmp_path, capsys):
    _offline(monkeypatch, tmp_path)
    image = tmp_path / "cat.png"
    from PIL import Image
    Image.fromarray(np.zeros((32, 48, 3), "uint8")).save(image)
    assert cli.main(["classify", str(image), "--model", "resnet18",
                     "--weights", "torchvision"]) == 1
    err = capsys.readouterr().err
    folder = str(tmp_path / "keras" / "models")
    for text in ("resnet18-f37072fd.pth",
                 "https://download.pytorch.org/models/resnet18-f37072fd.pth", folder,
                 "Network is unreachable"):
        assert text in err
    with pytest.raises(weight_files.WeightsUnavailableError) as caught:
        cnnblocks.ResNet18(variant=TV, weights="torchvision")
    assert folder in str(caught.value) and "resnet18-f37072fd.pth" in str(caught.value)


def test_a_cached_file_with_another_hash_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "resnet18-f37072fd.pth").write_bytes(b"not the published file")
    with pytest.raises(weight_files.WeightFileError,
                       match=r"does not have the published SHA-256 hash of "
                             r"resnet18-f37072fd\.pth \([0-9a-f]{8} instead of f37072fd\).*"
                             r"Delete .*resnet18-f37072fd\.pth"):
        cnnblocks.create_model("resnet18", weights="torchvision")


def test_a_cached_file_with_the_published_prefix_is_used(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    (tmp_path / "models").mkdir()
    path = tmp_path / "models" / "tiny.bin"
    path.write_bytes(b"weights")
    prefix = weight_files.sha256_of(str(path))[:8]
    spec = family.WeightFile("https://example.org/tiny.bin", sha256=prefix)
    assert weight_files.cached_file(spec, "test weights") == str(path)
    assert family.torch_hub_file("https://x.org/m/net-0123abcd.pth").sha256 == "0123abcd"
    with pytest.raises(ValueError, match="torch hub"):
        family.torch_hub_file("https://x.org/m/net.pth")


# --- Features and .keras files ------------------------------------------------------------

FEATURES = [
    # (model, input size, options, channels of C2..C5)
    ("resnet50", 64, {}, [256, 512, 1024, 2048]),
    ("vgg16_bn", 64, {}, [256, 512, 512, 512]),
    ("googlenet", 64, {}, [192, 480, 832, 1024]),
    ("inception_v3", 139, {}, [192, 288, 768, 2048]),
]


@pytest.mark.parametrize("name, size, options, channels", FEATURES)
def test_feature_taps_of_the_torchvision_variants(name, size, options, channels):
    model = cnnblocks.create_model(name, variant=TV, include_top=False,
                                   input_shape=(size, size, 3), **options)
    info = feature_info(model)
    assert [i["stage"] for i in info] == ["C2", "C3", "C4", "C5"]
    assert [i["channels"] for i in info] == channels
    assert [i["reduction"] for i in info] == [4, 8, 16, 32]
    extractor = feature_extractor(model, out_indices=[3, 5])
    assert list(extractor.output) == ["C3", "C5"]
    assert extractor.output["C5"].shape[-1] == channels[-1]


def test_keras_file_round_trip_keeps_structure_and_variant(tmp_path):
    model = cnnblocks.create_model("googlenet", variant=TV, aux_classifiers=True,
                                   input_shape=(64, 64, 3))
    cnnblocks.testing.randomize_batchnorm(model)
    x = np.random.RandomState(0).rand(1, 64, 64, 3).astype("float32")
    path = tmp_path / "googlenet_tv.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    for a, b in zip(model(x, training=False), loaded(x, training=False)):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(a),
                                   keras.ops.convert_to_numpy(b), rtol=1e-6, atol=1e-6)
    assert convert.layout_of(loaded) is registry.entry("googlenet").torch_layout


@ON_TENSORFLOW
def test_keras_variants_are_unchanged():
    """The default structures stay keras.applications' (counts from keras.applications)."""
    assert cnnblocks.create_model("resnet50").count_params() == 25_636_712
    assert cnnblocks.create_model("inception_v3").count_params() == 23_851_784


# --- Preprocessing pipeline (the comparison with torchvision is in test_convert.py) --------

@pytest.mark.parametrize("width, height, size, expected", [
    (512, 512, 256, (256, 256)),
    (451, 300, 256, (384, 256)),   # int(256 * 451 / 300) = int(384.85)
    (300, 451, 232, (232, 348)),   # int(232 * 451 / 300) = int(348.77)
    (600, 400, 342, (513, 342)),
])
def test_resized_size_keeps_the_aspect_ratio_rounding_down(width, height, size, expected):
    assert preprocessing.resized_size(width, height, size) == expected


def test_center_crop_rounds_half_to_even():
    from PIL import Image
    ramp = np.tile(np.arange(385, dtype=np.uint16)[None, :] % 256, (256, 1)).astype("uint8")
    image = Image.fromarray(np.stack([ramp] * 3, axis=-1))  # 385 wide, 256 high: no resize
    crop = np.asarray(preprocessing.resize_and_crop(image, resize_size=256, crop_size=224))
    assert crop.shape == (224, 224, 3)
    assert crop[0, 0, 0] == 80  # (385 - 224) / 2 = 80.5 -> round half to even -> 80


def test_prepare_normalizes_with_the_config():
    config = registry.entry("inception_v3").pretrained["torchvision"]
    image = np.full((400, 300, 3), 255, "uint8")
    x = preprocessing.prepare([image], config, data_format="channels_last")
    assert x.shape == (1, 299, 299, 3) and x.dtype == np.float32
    np.testing.assert_allclose(x, 1.0)  # (1 - 0.5) / 0.5
    y = preprocessing.prepare(image, data_format="channels_first")
    assert y.shape == (1, 3, 224, 224)
    np.testing.assert_allclose(y[0, :, 0, 0], (1 - np.array(preprocessing.TORCH_MEAN)) /
                               np.array(preprocessing.TORCH_STD), rtol=1e-6)
    with pytest.raises(ValueError, match="uint8 RGB"):
        preprocessing.prepare([image.astype("float32")])


def test_convert_command_refuses_a_model_without_layout(capsys, tmp_path):
    path = tmp_path / "x.pth"
    path.write_bytes(b"")
    assert cli.main(["convert", "xception", str(path), "-o",
                     str(tmp_path / "x.weights.h5")]) == 2
    assert "xception has no PyTorch layout" in capsys.readouterr().err
    assert cli.main(["convert", "resnet18", str(path), "-o", str(tmp_path / "x.h5")]) == 2
    assert "'.weights.h5'" in capsys.readouterr().err


def test_torch_weights_need_a_registered_model():
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, keras.layers.Conv2D(2, 3, name="c")(inputs))
    with pytest.raises(convert.ConversionError, match="not a registered cnnblocks"):
        convert.load_torch_weights(model, {"c.weight": np.zeros((2, 3, 3, 3), "float32")})
