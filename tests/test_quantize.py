"""`cnnblocks.export(..., quantize="int8" | "float16")` and `cnnblocks export --quantize`:
ONNX files with int8 or float16 weights, calibrated, verified in onnxruntime, with each block's
error (MobileNetV2's inverted residual blocks; a model of the user's grouped by structure), the
size ratio, top-1/top-5 agreement, the calibration sources and the bad-input messages."""

import os

import numpy as np
import pytest

import keras
import onnx
from onnx import numpy_helper

import cnnblocks
from cnnblocks import cli, deploy, quantization

pytestmark = pytest.mark.tf_only("Keras' ONNX writer (tf2onnx) runs on TensorFlow")


@pytest.fixture(scope="module")
def mobilenet():
    keras.utils.set_random_seed(0)
    model = cnnblocks.MobileNetV2(weights=None, input_shape=(96, 96, 3), classes=10,
                                  classifier_activation=None)
    yield model
    keras.backend.clear_session()


@pytest.fixture(scope="module")
def mine():
    keras.utils.set_random_seed(1)
    inputs = keras.Input((24, 24, 3), name="image")
    x = keras.layers.Conv2D(8, 3, padding="same", name="conv")(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    y = keras.layers.DepthwiseConv2D(3, padding="same", name="dw")(x)
    x = keras.layers.ReLU(name="relu")(x + y)
    x = keras.layers.Dense(16, name="pointwise")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    return keras.Model(inputs, keras.layers.Dense(12, activation="softmax", name="probs")(x),
                       name="mine")


def _initializer_types(path):
    return {numpy_helper.to_array(t).dtype for t in onnx.load(path).graph.initializer
            if t.dims and np.prod(t.dims) > 64}


def test_int8_mobilenet_v2(mobilenet, tmp_path):
    result = cnnblocks.export(mobilenet, tmp_path / "m8.onnx", quantize="int8",
                              calibration="random")
    report = result.report
    assert result.quantize == "int8" and os.listdir(tmp_path) == ["m8.onnx"]
    assert result.batch_shape == (quantization.RANDOM_IMAGES, 96, 96, 3)
    assert result.max_relative_error <= deploy.INT8_TOLERANCE
    names = [b.name for b in report.blocks]
    assert names == ["Conv1", "expanded_conv"] + [f"block_{i}" for i in range(1, 17)] + [
        "Conv_1"]
    assert {b.kind for b in report.blocks[1:-1]} == {"inverted_residual_block"}
    assert report.blocks[3].shape == (quantization.RANDOM_IMAGES, 24, 24, 24)
    errors = [b.relative_error for b in report.blocks]
    assert all(0 < e < 0.15 for e in errors), errors
    assert errors[0] < errors[-1]                       # the error grows with depth
    assert 0 < report.output_error < 0.15
    assert report.size_ratio <= 0.3
    assert result.size == os.path.getsize(tmp_path / "m8.onnx")
    assert 0.5 <= report.top1 <= 1 and report.top1 <= report.top5 <= 1
    graph = onnx.load(tmp_path / "m8.onnx").graph
    assert {"QuantizeLinear", "DequantizeLinear"} <= {n.op_type for n in graph.node}
    assert np.dtype(np.int8) in _initializer_types(tmp_path / "m8.onnx")
    assert [o.name for o in graph.output] == ["Identity:0"]     # as the float32 file's
    text = str(report)
    assert "block_16" in text and "top-1 agreement" in text and "of float32" in text
    assert "ONNX int8" in str(result)


def test_float16_mobilenet_v2(mobilenet, tmp_path):
    result = cnnblocks.export(mobilenet, tmp_path / "m16.onnx", quantize="float16")
    report = result.report
    assert result.max_relative_error <= deploy.FLOAT16_TOLERANCE
    assert 0.45 <= report.size_ratio <= 0.55
    assert report.calibration == "random" and report.images == quantization.RANDOM_IMAGES
    assert all(b.relative_error < 2e-3 for b in report.blocks)
    assert _initializer_types(tmp_path / "m16.onnx") == {np.dtype(np.float16)}
    assert report.top1 == 1.0


def test_int8_on_a_users_model_with_an_array(mine, tmp_path):
    images = np.random.default_rng(3).uniform(-1, 1, (8, 24, 24, 3)).astype("float32")
    result = cnnblocks.export(mine, tmp_path / "mine8.onnx", quantize="int8",
                              calibration=images)
    report = result.report
    assert report.calibration == "array" and report.images == 8
    assert report.blocks and all(b.relative_error < 0.1 for b in report.blocks)
    assert report.top1 is not None and report.top5 is not None
    graph = onnx.load(tmp_path / "mine8.onnx").graph
    softmax = [n for n in graph.node if n.op_type == "Softmax"]
    assert len(softmax) == 1                             # the probabilities stay float32
    assert not any(n.op_type == "QuantizeLinear" and n.input[0] == softmax[0].output[0]
                   for n in graph.node)


def test_a_file_beyond_the_tolerance_is_refused(mine, tmp_path, monkeypatch):
    monkeypatch.setitem(deploy._TOLERANCES, "int8", 1e-9)
    with pytest.raises(deploy.VerificationError, match=r"ONNX int8 file of 'mine'.*1e-09"):
        cnnblocks.export(mine, tmp_path / "x.onnx", quantize="int8", calibration="random")
    assert os.listdir(tmp_path) == []


def test_float16_refuses_a_weight_beyond_its_range(tmp_path):
    inputs = keras.Input((4, 4, 1))
    layer = keras.layers.Conv2D(2, 1, name="big")
    model = keras.Model(inputs, layer(inputs), name="big")
    layer.kernel.assign(np.full((1, 1, 1, 2), 1e6, "float32"))
    with pytest.raises(ValueError, match=r"cannot be stored in float16: .* 1e\+06"):
        cnnblocks.export(model, tmp_path / "b.onnx", quantize="float16")
    assert os.listdir(tmp_path) == []


def test_calibration_from_a_folder(mine, tmp_path):
    from PIL import Image
    rng = np.random.default_rng(0)
    for i, size in enumerate([(30, 40), (24, 24), (50, 20)]):
        Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(
            tmp_path / f"{i}.png")
    (tmp_path / "notes.txt").write_text("not an image")
    images, label = quantization.calibration_images(tmp_path, mine)
    assert images.shape == (3, 24, 24, 3) and label == str(tmp_path)
    assert images.min() >= 0 and images.max() <= 255 and images.max() > 200
    scaled, _ = quantization.calibration_images(tmp_path, mine, preprocess=lambda x: x / 255)
    np.testing.assert_allclose(scaled, images / 255, rtol=1e-6)


@pytest.mark.parametrize("calibration, error, match", [
    (3, TypeError, "`calibration` must be 'random', a folder"),
    ("no/such/folder", ValueError, "neither 'random' nor a folder"),
    (np.zeros((2, 8, 8, 3), "float32"), ValueError, r"shape \(n, 24, 24, 3\)"),
    (np.full((1, 24, 24, 3), np.nan, "float32"), ValueError, "finite"),
])
def test_bad_calibration(mine, calibration, error, match):
    with pytest.raises(error, match=match):
        quantization.calibration_images(calibration, mine)


def test_an_empty_folder_and_two_inputs_are_refused(mine, tmp_path):
    with pytest.raises(ValueError, match="holds no images"):
        quantization.calibration_images(tmp_path, mine)
    a, b = keras.Input((4, 4, 3)), keras.Input((4, 4, 3))
    with pytest.raises(ValueError, match="one input; 'pair' has 2"):
        quantization.calibration_images("random", keras.Model([a, b], a + b, name="pair"))


@pytest.mark.parametrize("kwargs, match", [
    (dict(quantize="int4"), "`quantize`"),
    (dict(quantize="int8"), "needs `calibration`"),
    (dict(quantize="int8", calibration="random", format="litert", path="m.tflite"),
     "written as ONNX"),
    (dict(calibration="random"), "applies to a quantized export"),
])
def test_bad_options_are_refused_before_any_work(mine, tmp_path, kwargs, match):
    path = tmp_path / kwargs.pop("path", "m.onnx")
    with pytest.raises(ValueError, match=match):
        cnnblocks.export(mine, path, **kwargs)
    assert os.listdir(tmp_path) == []


def test_the_command(tmp_path, monkeypatch, capsys):
    from PIL import Image
    assert cli.QUANTIZE == quantization.QUANTIZE
    monkeypatch.chdir(tmp_path)
    os.mkdir("images")
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 256, (70, 60, 3), dtype=np.uint8)).save(
            f"images/{i}.jpg")
    assert cli.main(["export", "squeezenet1_1", "--format", "onnx", "--input-shape", "64,64,3",
                     "--quantize", "int8", "--calibration", "images", "-o", "s8.onnx"]) == 0
    out = capsys.readouterr().out
    assert "s8.onnx (ONNX int8" in out and "fire9" in out and "top-1 agreement" in out
    for argv, message in [
            (["export", "squeezenet1_1", "--format", "onnx", "--quantize", "int8"],
             "--quantize='int8' needs --calibration"),
            (["export", "squeezenet1_1", "--format", "litert", "--quantize", "float16"],
             "written as ONNX")]:
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err and "building" not in err
    keras.backend.clear_session()
