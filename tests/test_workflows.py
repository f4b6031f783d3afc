"""The users' workflows: feature extraction (C2..C5 per family), training a block CNN, transfer
learning and data-parallel training (the examples are run, on scikit-learn's digits)."""

import importlib
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import keras
import cnnblocks
from cnnblocks import features

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="module")
def examples():
    sys.path.insert(0, str(EXAMPLES))
    try:
        yield {name: importlib.import_module(name)
               for name in ("train_custom_cnn", "transfer_learning")}
    finally:
        sys.path.remove(str(EXAMPLES))


# --- feature_extractor: one row per model ---------------------------------------------------
# (model, builder kwargs, expected {stage: (layer name, output shape)}). Shapes follow from each
# family's spec table: "same" strides give ceil(s / stride); Xception's and InceptionV3's
# "valid" stems and pools are worked out in the comments.
FEATURE_ROWS = [
    ("vgg16", dict(include_top=False, input_shape=(32, 32, 3)),
     {"C2": ("block3_conv3", (8, 8, 256)), "C3": ("block4_conv3", (4, 4, 512)),
      "C4": ("block5_conv3", (2, 2, 512)), "C5": ("block5_pool", (1, 1, 512))}),
    ("vgg11", dict(input_shape=(32, 32, 3), classes=10),  # with top; config A: 1+1+2+2+2 convs
     {"C2": ("block3_conv2", (8, 8, 256)), "C3": ("block4_conv2", (4, 4, 512)),
      "C4": ("block5_conv2", (2, 2, 512)), "C5": ("block5_pool", (1, 1, 512))}),
    ("resnet50", dict(include_top=False, input_shape=(64, 64, 3)),  # 3+4+6+3 bottlenecks
     {"C2": ("conv2_block3_out", (16, 16, 256)), "C3": ("conv3_block4_out", (8, 8, 512)),
      "C4": ("conv4_block6_out", (4, 4, 1024)), "C5": ("conv5_block3_out", (2, 2, 2048))}),
    ("resnet18", dict(input_shape=(32, 32, 3), classes=10),  # with top; 2+2+2+2 basic modules
     {"C2": ("conv2_block2_out", (8, 8, 64)), "C3": ("conv3_block2_out", (4, 4, 128)),
      "C4": ("conv4_block2_out", (2, 2, 256)), "C5": ("conv5_block2_out", (1, 1, 512))}),
    # 71 -> 35 (3x3/2 valid) -> 33 (3x3 valid) -> 17 -> 9 -> 5 (same pools) -> 3
    ("xception", dict(include_top=False, input_shape=(71, 71, 3)),
     {"C2": ("block2_add", (17, 17, 128)), "C3": ("block3_add", (9, 9, 256)),
      "C4": ("block12_add", (5, 5, 728)), "C5": ("block14_sepconv2_act", (3, 3, 2048))}),
    # 75 -> 37 -> 35 -> 35 -> 17 (pool1) -> 17 (1x1) -> 15 (conv5, 3x3 valid) -> 7 (pool2)
    # -> 3 (mixed3) -> 1 (mixed8)
    ("inception_v3", dict(include_top=False, input_shape=(75, 75, 3)),
     {"C2": ("conv5_relu", (15, 15, 192)), "C3": ("mixed2", (7, 7, 288)),
      "C4": ("mixed7", (3, 3, 768)), "C5": ("mixed10", (1, 1, 2048))}),
    ("googlenet", dict(input_shape=(32, 32, 3), classes=10),  # with top; the paper's LRN stem
     {"C2": ("conv2_norm2", (8, 8, 192)), "C3": ("inception_3b_concat", (4, 4, 480)),
      "C4": ("inception_4e_concat", (2, 2, 832)), "C5": ("inception_5b_concat", (1, 1, 1024))}),
    ("googlenet", dict(include_top=False, input_shape=(64, 64, 3), normalization="batchnorm"),
     {"C2": ("conv2_3x3_relu", (16, 16, 192)), "C3": ("inception_3b_concat", (8, 8, 480)),
      "C4": ("inception_4e_concat", (4, 4, 832)), "C5": ("inception_5b_concat", (2, 2, 1024))}),
    ("googlenet", dict(include_top=False, input_shape=(32, 32, 3), normalization=None),
     {"C2": ("conv2_3x3", (8, 8, 192)), "C3": ("inception_3b_concat", (4, 4, 480)),
      "C4": ("inception_4e_concat", (2, 2, 832)), "C5": ("inception_5b_concat", (1, 1, 1024))}),
]


def _row_id(row):
    name, kwargs, _ = row
    return "-".join([name, "top" if kwargs.get("include_top", True) else "notop",
                     *(str(v) for k, v in kwargs.items() if k == "normalization")])


@pytest.mark.parametrize("name,kwargs,expected", FEATURE_ROWS,
                         ids=[_row_id(r) for r in FEATURE_ROWS])
def test_feature_extractor_stages(name, kwargs, expected, tmp_path):
    model = cnnblocks.create_model(name, **kwargs)
    extractor = cnnblocks.feature_extractor(model)
    assert list(extractor.output) == ["C2", "C3", "C4", "C5"]
    # The taps the family module recorded while building equal the rule applied to the
    # structure (the last trunk layer at each stride), and travel through a .keras file.
    recorded = cnnblocks.identity.model_record(model)["taps"]
    structural = features._structural_taps(model)
    assert recorded == {stage: layer for stage, (layer, _) in expected.items()}
    assert {k: structural[k] for k in recorded} == recorded
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", safe_mode=True)
    assert cnnblocks.identity.model_record(loaded)["taps"] == recorded
    info = cnnblocks.feature_info(model)
    assert [(i["stage"], i["layer"], i["reduction"]) for i in info] == [
        (stage, layer, 2 ** int(stage[1])) for stage, (layer, _) in expected.items()]
    assert [i["channels"] for i in info] == [shape[-1] for _, shape in expected.values()]
    for stage, (layer, shape) in expected.items():
        tensor = extractor.output[stage]
        assert tuple(tensor.shape) == (None, *shape), stage
        assert tensor is model.get_layer(layer).output, f"{stage} is not {layer}"
    assert extractor.name == f"{model.name}_features"
    # the extractor shares the model's layers (and so its weights)
    assert extractor.get_layer(expected["C5"][0]) is model.get_layer(expected["C5"][0])


def test_feature_extractor_runs_and_selects_stages():
    model = cnnblocks.ResNet18(include_top=False, input_shape=(32, 32, 3))
    extractor = cnnblocks.feature_extractor(model, ["C3", "C5"], name="fpn_inputs")
    out = extractor.predict(np.zeros((2, 32, 32, 3), "float32"), verbose=0)
    assert extractor.name == "fpn_inputs"
    assert {k: v.shape for k, v in out.items()} == {"C3": (2, 4, 4, 128), "C5": (2, 1, 1, 512)}
    # timm's out_indices: stage numbers.
    by_index = cnnblocks.feature_extractor(model, out_indices=(3, 5))
    assert list(by_index.output) == ["C3", "C5"]
    with pytest.raises(ValueError, match=r"`out_indices`.*\(0, 3\)"):
        cnnblocks.feature_extractor(model, out_indices=(0, 3))


def test_feature_extractor_on_squeezenet_stops_at_stride_16():
    model = cnnblocks.SqueezeNet1_1(include_top=False, input_shape=(64, 64, 3))
    extractor = cnnblocks.feature_extractor(model)
    assert list(extractor.output) == ["C2", "C3", "C4"]
    with pytest.raises(ValueError, match=r"'C5'.*\[32\]"):
        cnnblocks.feature_extractor(model, ["C5"])


def test_feature_extractor_on_keras_applications():
    """Found from the structure: keras.applications' models get the layers ours record."""
    model = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    extractor = cnnblocks.feature_extractor(model)
    assert tuple(extractor.output["C2"].shape) == (None, 8, 8, 256)
    assert extractor.output["C2"] is model.get_layer("block3_conv3").output
    model = keras.applications.ResNet50(include_top=False, weights=None,
                                        input_shape=(64, 64, 3))
    assert {k: v for k, v in features.stage_layers(model).items() if k != "C1"} == {
        "C2": "conv2_block3_out", "C3": "conv3_block4_out", "C4": "conv4_block6_out",
        "C5": "conv5_block3_out"}


def test_feature_extractor_on_your_own_model():
    """A hand-written model without any naming convention: stages from its strides."""
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", name="a")(inputs)   # 16
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", name="b")(x)        # 8, C2
    x = keras.layers.Conv2D(8, 3, padding="same", name="c")(x)                   # 8, C2
    x = keras.layers.Conv2D(16, 3, strides=2, padding="same", name="d")(x)       # 4, C3
    model = keras.Model(inputs, x, name="mine")
    assert features.stage_layers(model) == {"C1": "a", "C2": "c", "C3": "d"}
    assert list(cnnblocks.feature_extractor(model).output) == ["C2", "C3"]  # those it has
    with pytest.raises(ValueError, match=r"\['C4', 'C5'\] in model 'mine'.*\[16, 32\]"):
        cnnblocks.feature_extractor(model, ["C4", "C5"])


@pytest.mark.parametrize("bad,error,echo", [
    ("C3", TypeError, "'C3'"),
    (["C6", "C3"], ValueError, "'C6'"),
    ([], TypeError, "[]"),
], ids=["string", "unknown", "empty"])
def test_feature_extractor_bad_stages(bad, error, echo):
    model = cnnblocks.VGG11(include_top=False, input_shape=(32, 32, 3))
    with pytest.raises(error, match=re.escape(echo)):
        cnnblocks.feature_extractor(model, bad)


def test_feature_extractor_refuses_a_non_model():
    with pytest.raises(TypeError, match="`model` must be a keras.Model, received str"):
        cnnblocks.feature_extractor("resnet50")


# --- a custom CNN of blocks, trained on the digits ----------------------------------------------

@pytest.mark.heavy
def test_custom_block_cnn_learns_the_digits(examples, tmp_path, capsys):
    """Seeded: VGG block + Inception module + residual module reach >= 97% held-out accuracy
    (measured 99.78%, 9 s of CPU time on 2 shared cores), and the example writes its block
    diagram and its summary with the accuracy."""
    result = examples["train_custom_cnn"].train(seed=0, out=tmp_path)
    print(result)
    assert result["params"] == 108_946
    assert result["accuracy"] >= 0.97, result
    # PyTorch runs Keras eagerly, one small operation at a time on these 8x8 maps: 280 s of CPU
    # measured on 2 loaded cores (TensorFlow 11 s, JAX 16 s, same run).
    assert result["cpu_s"] < {"torch": 600}.get(keras.backend.backend(), 120), result
    out = capsys.readouterr().out
    assert "incep1  inception_module" in out and "epoch 25/25: loss" in out
    summary = (tmp_path / "custom_cnn_summary.txt").read_text(encoding="utf-8")
    assert "res1" in summary and f"held-out accuracy: {result['accuracy']:.2%}" in summary
    assert "incep1" in (tmp_path / "custom_cnn_blocks.svg").read_text(encoding="utf-8")


def test_custom_cnn_is_made_of_blocks(examples):
    model = examples["train_custom_cnn"].custom_cnn()
    names = {layer.name for layer in model.layers}
    assert {"vgg1_pool", "incep1_concat", "res1_add"} <= names
    assert model.count_params() == 108_946


# --- transfer learning ---------------------------------------------------------------------------

def test_unfreeze_by_prefix_keeps_batch_norm_frozen(examples):
    base = cnnblocks.ResNet18(include_top=False, input_shape=(32, 32, 3), pooling="avg")
    base.trainable = False
    names = examples["transfer_learning"].unfreeze(base, ["conv5_"])
    assert names and all(n.startswith("conv5_") for n in names)
    trainable = {layer.name for layer in base.layers if layer.trainable and layer.weights}
    assert trainable == set(names)
    assert not any(isinstance(base.get_layer(n), keras.layers.BatchNormalization)
                   for n in names)
    with pytest.raises(ValueError, match="block9_"):
        examples["transfer_learning"].unfreeze(base, ["block9_"])


@pytest.mark.heavy
def test_transfer_learning_with_a_weight_file(examples, tmp_path, capsys):
    """include_top=False + pooling + frozen base + new head, then fine-tuning the last
    convolution: with a weight file given by path (random weights saved here), a short run."""
    base = cnnblocks.ResNet18(include_top=False, input_shape=(32, 32, 3), pooling="avg")
    path = tmp_path / "resnet18_base.weights.h5"
    base.save_weights(path)
    # Fine-tunes the last convolution only: TensorFlow's CPU kernel for a 3x3 convolution's
    # input gradient is slow on 1x1 maps (~0.6 s per 64 images), and all of conv5_ needs three.
    result = examples["transfer_learning"].transfer(weights=str(path), epochs=10,
                                                    fine_tune_epochs=1,
                                                    unfreeze_prefixes=("conv5_block2_2_",))
    out = capsys.readouterr().out
    print(out, result)
    assert f"weights from {path}" in out and "RANDOMLY" not in out
    assert result["pretrained"] is True
    assert result["head_accuracy"] > 0.5  # chance is 0.1; random features separate digits
    assert 0.0 <= result["fine_tuned_accuracy"] <= 1.0
    assert "step 3: fine-tuning 1 layer(s) starting with conv5_block2_2_" in out


# --- data-parallel training -----------------------------------------------------------------------

@pytest.mark.heavy
@pytest.mark.backend_independent
def test_mirrored_strategy_on_two_logical_cpus():
    """A registered model trains under MirroredStrategy with two replicas (a subprocess, since
    logical devices must be configured before TensorFlow starts; on the TensorFlow backend,
    whatever this process runs on: tf.distribute does nothing on the others)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", KERAS_BACKEND="tensorflow")
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "distributed_training.py"), "--strategy", "mirrored",
         "--cpu-replicas", "2", "--model", "vgg11", "--steps", "2", "--batch-size", "16"],
        capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    print(out)
    assert "strategy: MirroredStrategy, 2 replica(s)" in out
    assert "global batch 16 = 8 per replica" in out
    assert "variables: MirroredVariable (block1_conv1/kernel on 2 devices)" in out  # really
    loss = float(re.search(r"epoch 1: loss (\S+),", out).group(1))
    assert math.isfinite(loss) and loss > 0
