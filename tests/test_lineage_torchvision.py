"""ResNeXt, Wide ResNet and AlexNet against torchvision (issue 16): the architectures
keras.applications lacks.

torchvision is the oracle, run in a subprocess (`tests/torchvision_oracle.py`: PyTorch and
TensorFlow in one process can crash, so this process never imports torch):

* its `parameters()` counts equal the published constants (light) and our trainable counts
  (full-size builds, `heavy`);
* its weights, converted (kernels OIHW -> HWIO, BN running statistics -> moving statistics,
  fc6 rows from CHW to HWC order), give its outputs: ResNeXt-50 at 64x64 (even sizes
  everywhere, so the explicit symmetric paddings matter), Wide ResNet-50-2 and AlexNet at
  160x192 (AlexNet's adaptive pool then upsamples 4x5 to 6x6) (`heavy`).

Plus, without torch: the paper AlexNet (two groups, LRN), the published numbers and tables,
the registry, the torchvision conventions of the first layers, argument errors.
"""

import importlib.util
import inspect
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import keras

import cnnblocks
from cnnblocks import published, registry
from cnnblocks.architectures import alexnet as alexnet_family
from cnnblocks.layers import LocalResponseNormalization

# One check repeated over many architectures: the extra-backend passes run its heavy cases
# for ResNet50 and InceptionV3 only (conftest.py).
pytestmark = pytest.mark.per_architecture

HERE = os.path.dirname(os.path.abspath(__file__))
NEEDS_TORCH = pytest.mark.skipif(
    importlib.util.find_spec("torch") is None or importlib.util.find_spec("torchvision") is None,
    reason="torch and torchvision are not installed (the torchvision oracle needs them)")

# (registry name, builder, torchvision parameters() = trainable, count_params(), MACs) -
# torchvision weight metadata (num_params, GFLOPS); count_params() adds 2 per BN channel
# (derivation in cnnblocks/architectures/resnext.py and wide_resnet.py).
ROWS = [
    ("resnext50_32x4d", cnnblocks.ResNeXt50_32x4d, 25_028_904, 25_097_128, 4_230_479_872),
    ("resnext101_32x8d", cnnblocks.ResNeXt101_32x8d, 88_791_336, 88_994_216, 16_414_015_488),
    ("resnext101_64x4d", cnnblocks.ResNeXt101_64x4d, 83_455_272, 83_658_152, 15_460_270_080),
    ("wide_resnet50_2", cnnblocks.WideResNet50_2, 68_883_240, 68_951_464, 11_398_021_120),
    ("wide_resnet101_2", cnnblocks.WideResNet101_2, 126_886_696, 127_024_552, 22_753_050_624),
    ("alexnet", cnnblocks.AlexNet, 61_100_840, 61_100_840, 714_188_480),
    # derivation in cnnblocks/architectures/shufflenet_v2.py (COUNTS)
    ("shufflenet_v2_x0_5", cnnblocks.ShuffleNetV2_x0_5, 1_366_792, 1_374_744, 40_476_448),
    ("shufflenet_v2_x1_0", cnnblocks.ShuffleNetV2_x1_0, 2_278_604, 2_294_784, 144_907_992),
    ("shufflenet_v2_x1_5", cnnblocks.ShuffleNetV2_x1_5, 3_503_624, 3_527_064, 295_759_392),
    ("shufflenet_v2_x2_0", cnnblocks.ShuffleNetV2_x2_0, 7_393_996, 7_427_712, 583_253_464),
]
IDS = [row[0] for row in ROWS]


def run_oracle(*args):
    result = subprocess.run([sys.executable, os.path.join(HERE, "torchvision_oracle.py"),
                             *map(str, args)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def trainable_count(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


# ------------------------------------------------------------------ weight conversion ----
def load_torch_resnet(model, state):
    """torchvision ResNe(X)t / Wide ResNet state dict -> our layer names."""
    def conv(layer, key):
        model.get_layer(layer).set_weights([state[key].transpose(2, 3, 1, 0)])

    def bn(layer, key):
        model.get_layer(layer).set_weights(
            [state[f"{key}.{p}"] for p in ("weight", "bias", "running_mean", "running_var")])

    conv("conv1_conv", "conv1.weight")
    bn("conv1_bn", "bn1")
    converted = 2
    for stage in range(1, 5):
        block = 0
        while f"layer{stage}.{block}.conv1.weight" in state:
            ours, theirs = f"conv{stage + 1}_block{block + 1}", f"layer{stage}.{block}"
            for i in (1, 2, 3):
                conv(f"{ours}_{i}_conv", f"{theirs}.conv{i}.weight")
                bn(f"{ours}_{i}_bn", f"{theirs}.bn{i}")
                converted += 2
            if f"{theirs}.downsample.0.weight" in state:
                conv(f"{ours}_0_conv", f"{theirs}.downsample.0.weight")
                bn(f"{ours}_0_bn", f"{theirs}.downsample.1")
                converted += 2
            block += 1
    model.get_layer("predictions").set_weights([state["fc.weight"].T, state["fc.bias"]])
    return converted + 1


def load_torch_alexnet(model, state):
    """torchvision AlexNet state dict -> our layers; fc6's input rows go from PyTorch's
    (C, H, W) flattening to Keras' (H, W, C)."""
    for index, name in zip((0, 3, 6, 8, 10), ("conv1", "conv2", "conv3", "conv4", "conv5")):
        model.get_layer(name).set_weights([state[f"features.{index}.weight"].transpose(2, 3, 1, 0),
                                           state[f"features.{index}.bias"]])
    fc6 = state["classifier.1.weight"]
    fc6 = fc6.reshape(-1, 256, 6, 6).transpose(2, 3, 1, 0).reshape(6 * 6 * 256, -1)
    model.get_layer("fc6").set_weights([fc6, state["classifier.1.bias"]])
    model.get_layer("fc7").set_weights([state["classifier.4.weight"].T,
                                        state["classifier.4.bias"]])
    model.get_layer("predictions").set_weights([state["classifier.6.weight"].T,
                                                state["classifier.6.bias"]])
    return 8


def assert_converts(name, builder, load, size, classes, tmp_path):
    out = tmp_path / f"{name}.npz"
    run_oracle("export", name, out, *size, classes)
    data = np.load(out)
    state = {key[2:]: data[key] for key in data.files if key.startswith("w:")}
    model = builder(input_shape=(*size, 3), classes=classes, classifier_activation=None)
    assert load(model, state) == len([layer for layer in model.layers if layer.weights])
    got = keras.ops.convert_to_numpy(model(data["x"].transpose(0, 2, 3, 1), training=False))
    scale = np.abs(data["y"]).max()
    assert np.abs(got - data["y"]).max() <= 1e-5 * max(scale, 1.0), (
        np.abs(got - data["y"]).max(), scale)


@NEEDS_TORCH
def test_torchvision_counts_equal_the_published_numbers():
    counts = json.loads(run_oracle("counts"))
    for name, _, trainable, total, _ in ROWS:
        assert counts[name] == trainable, name
        ref = published.get(name)
        assert ref.trainable_params.value == trainable and ref.params.value == total


@NEEDS_TORCH
def test_resnext50_converts_from_torchvision(tmp_path):
    """64x64: every stride-2 layer meets an even size (64, 32, 16, 8), where "same" padding
    would pad (0, 1) and sample other pixels than PyTorch."""
    assert_converts("resnext50_32x4d", cnnblocks.ResNeXt50_32x4d, load_torch_resnet, (64, 64),
                    1000, tmp_path)


@NEEDS_TORCH
@pytest.mark.heavy
def test_wide_resnet50_2_converts_from_torchvision(tmp_path):
    assert_converts("wide_resnet50_2", cnnblocks.WideResNet50_2, load_torch_resnet, (64, 64),
                    10, tmp_path)


@NEEDS_TORCH
@pytest.mark.heavy
def test_alexnet_converts_from_torchvision(tmp_path):
    """160x192: pool5 is 4x5, which torchvision's adaptive average pool (and Keras') maps to
    6x6 before the classifier."""
    assert_converts("alexnet", cnnblocks.AlexNet, load_torch_alexnet, (160, 192), 10, tmp_path)


# ------------------------------------------------------------------ full-size counts ----
@pytest.fixture(scope="module", params=ROWS, ids=IDS)
def full(request):
    name, builder, *_ = request.param
    keras.backend.clear_session()
    return request.param, builder()


@pytest.mark.heavy
def test_full_size_counts_macs_depth(full):
    (name, _, trainable, total, macs), model = full
    assert model.name == name
    assert trainable_count(model) == trainable
    assert model.count_params() == total
    assert cnnblocks.count_macs(model) == macs
    ref = published.get(name)
    assert ref.macs.matches(macs) and ref.params.matches(total)
    assert cnnblocks.weight_depth(model) == ref.depth.value
    assert tuple(model.output.shape) == (None, 1000)


# ------------------------------------------------------------------ light, no torch ----
@pytest.mark.parametrize("name", IDS)
def test_registered_under_torchvision_names(name):
    entry = registry.entry(name)
    assert entry.name == name and entry.imagenet is None and entry.keras_name is None
    assert registry.entry(name.replace("_", "-").upper()).name == name
    params = [(p.name, p.default) for p in inspect.signature(entry.builder).parameters.values()]
    assert params[:7] == [
        ("include_top", True), ("weights", None), ("input_tensor", None), ("input_shape", None),
        ("pooling", None), ("classes", 1000), ("classifier_activation", "softmax")]
    # `name` last, or followed by the keyword-only `variant="torchvision"` (issue 18)
    assert params[-1] == ("name", name) or params[-2:] == [("name", name),
                                                          ("variant", "torchvision")]
    with pytest.raises(ValueError, match="imagenet"):
        entry.builder(weights="imagenet")


def test_first_layers_follow_torch_conventions():
    """Symmetric padding where PyTorch pads, no conv bias before BN, BN epsilon 1e-5."""
    model = cnnblocks.ResNeXt50_32x4d(include_top=False, input_shape=(64, 64, 3))
    layers = {layer.name: layer for layer in model.layers}
    assert layers["conv1_pad"].padding == ((3, 3), (3, 3))
    assert layers["conv1_conv"].padding == "valid" and not layers["conv1_conv"].use_bias
    assert layers["pool1_pad"].padding == ((1, 1), (1, 1))
    assert layers["pool1_pool"].padding == "valid"
    for stage in (3, 4, 5):
        assert layers[f"conv{stage}_block1_2_pad"].padding == ((1, 1), (1, 1))
        assert layers[f"conv{stage}_block1_2_conv"].strides == (2, 2)
        assert layers[f"conv{stage}_block1_1_conv"].strides == (1, 1)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len(convs) == 53 and not any(layer.use_bias for layer in convs)
    bns = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(bns) == 53 and {layer.epsilon for layer in bns} == {1e-5}
    assert {layer.groups for layer in convs if layer.kernel_size == (3, 3)} == {32}
    alexnet = cnnblocks.AlexNet(include_top=False, input_shape=(64, 64, 3))
    assert alexnet.get_layer("conv1_pad").padding == ((2, 2), (2, 2))


def test_summary_rows_and_paper_table_resnext50():
    model = cnnblocks.ResNeXt50_32x4d(include_top=False, input_shape=(64, 64, 3),
                                      pooling="avg")
    summary = cnnblocks.summarize(model)
    kinds = [row.kind for row in summary]
    assert kinds == ["stem", "max_pool"] + ["grouped_bottleneck_module"] * 16 + ["head"]
    table = published.get("resnext50_32x4d").table
    for row in summary:
        owners = [p.label for p in table if p.blocks and re.fullmatch(p.blocks, row.name)]
        assert len(owners) == 1, (row.name, owners)
    flops = [p for p in table if p.label == "FLOPs"][0]
    assert flops.macs.matches(4_230_479_872)  # printed 4.2 x 10^9


def test_paper_alexnet():
    """Two groups, LRN with the paper's constants; 60,965,224 parameters ("60 million")."""
    model = cnnblocks.AlexNet(variant="paper")
    assert model.count_params() == 60_965_224 == trainable_count(model)
    assert cnnblocks.count_macs(model) == 724_406_816
    assert [model.get_layer(f"conv{i}").groups for i in range(1, 6)] == [1, 2, 1, 2, 2]
    assert [model.get_layer(f"conv{i}").filters for i in range(1, 6)] == [96, 256, 384, 384, 256]
    norm = model.get_layer("norm1")
    assert (norm.size, norm.alpha / norm.size, norm.beta, norm.k) == (5, 1e-4, 0.75, 2.0)
    assert tuple(model.get_layer("pool5").output.shape) == (None, 6, 6, 256)
    names = [layer.name for layer in model.layers[1:]]
    assert names.index("norm1") < names.index("pool1")  # conv-ReLU-LRN-pool (section 3.5)
    assert names[-5:] == ["fc6", "drop6", "fc7", "drop7", "predictions"]
    others = dict(published.get("alexnet").others)
    assert others["paper variant parameters (variant='paper'; the paper: '60 million')"].value \
        == 60_965_224


def test_paper_lrn_formula():
    """b = a / (k + alpha * sum a^2) ** beta with the paper's alpha = 1e-4 (not divided)."""
    lrn = LocalResponseNormalization(**alexnet_family.PAPER_LRN)
    a = np.random.RandomState(0).uniform(0, 5, size=(1, 1, 1, 7)).astype("float32")
    squares = np.pad(a[0, 0, 0] ** 2, 2)
    window = np.array([squares[c:c + 5].sum() for c in range(7)])
    expected = a[0, 0, 0] / (2.0 + 1e-4 * window) ** 0.75
    np.testing.assert_allclose(keras.ops.convert_to_numpy(lrn(a))[0, 0, 0], expected,
                               rtol=1e-6)


def test_alexnet_sizes_and_taps():
    model = cnnblocks.AlexNet()
    sizes = {name: tuple(model.get_layer(name).output.shape[1:]) for name in
             ("conv1", "pool1", "conv2", "pool2", "conv5", "pool5", "adaptive_pool")}
    assert sizes == {"conv1": (55, 55, 64), "pool1": (27, 27, 64), "conv2": (27, 27, 192),
                     "pool2": (13, 13, 192), "conv5": (13, 13, 256), "pool5": (6, 6, 256),
                     "adaptive_pool": (6, 6, 256)}
    info = {i["stage"]: i["layer"] for i in cnnblocks.feature_info(model)}
    assert info == {"C2": "conv1", "C3": "conv2", "C4": "conv5", "C5": "pool5"}
    model = cnnblocks.AlexNet(include_top=False, input_shape=(63, 63, 3))
    assert tuple(model.output.shape) == (None, 1, 1, 256)


@pytest.mark.parametrize("kwargs,error,fragment", [
    (dict(variant="caffe"), ValueError, "'caffe'"),
    (dict(dropout=1.0), ValueError, "1.0"),
    (dict(dropout="half"), TypeError, "'half'"),
    (dict(include_top=False, input_shape=(62, 62, 3)), ValueError, "63x63"),
])
def test_alexnet_argument_errors(kwargs, error, fragment):
    with pytest.raises(error) as info:
        cnnblocks.AlexNet(**kwargs)
    assert fragment in str(info.value)


def test_resnext_small_input_and_pooling():
    model = cnnblocks.WideResNet50_2(include_top=False, input_shape=(32, 32, 3), pooling="max")
    assert tuple(model.output.shape) == (None, 2048)
    with pytest.raises(ValueError, match="32x32"):
        cnnblocks.ResNeXt50_32x4d(include_top=False, input_shape=(31, 31, 3))
