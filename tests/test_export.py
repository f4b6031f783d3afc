"""`cnnblocks.export` and `cnnblocks export`: every format written, read back in its runtime
and compared with Keras (a model of the user's with `x + y`, two inputs' worth of branches and
a Dense on a feature map; a registered one), files moved into place only when verified, and
the bad-input messages. The runtimes are the `export` extra (in `dev`)."""

import os

import numpy as np
import pytest

import keras

import cnnblocks
from cnnblocks import cli, deploy

pytestmark = pytest.mark.tf_only("Keras' ONNX and LiteRT writers and TFSMLayer run on TensorFlow")


@pytest.fixture(scope="module")
def mine():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((32, 32, 3), name="image")
    x = keras.layers.Conv2D(8, 3, padding="same", name="conv")(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    y = keras.layers.DepthwiseConv2D(3, padding="same", name="dw")(x)
    x = keras.layers.ReLU(name="relu")(x + y)
    x = keras.layers.Dense(16, name="pointwise")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    return keras.Model(inputs, keras.layers.Dense(5, name="logits")(x), name="mine")


@pytest.mark.parametrize("format, name", [("onnx", "m.onnx"), ("litert", "m.tflite"),
                                          ("saved_model", "m_saved"), ("openvino", "m.xml")])
def test_every_format_is_written_and_verified(mine, tmp_path, format, name):
    result = cnnblocks.export(mine, tmp_path / name, format)
    assert result.path == str(tmp_path / name) and os.path.exists(result.path)
    assert 0 <= result.max_relative_error <= deploy.FLOAT32_TOLERANCE
    assert result.runtime.split()[0] == deploy.FORMATS[format][3]
    assert result.batch_shape == (deploy.VERIFY_BATCH, 32, 32, 3)
    assert result.size > 4 * mine.count_params() * 0.9
    expected = {name} | ({"m.bin"} if format == "openvino" else set())
    assert set(os.listdir(tmp_path)) == expected           # no staging folder left
    assert "agrees with Keras" in str(result)


def test_a_registered_model_and_an_unverified_write(tmp_path):
    model = cnnblocks.create_model("squeezenet1_1", weights=None, input_shape=(64, 64, 3),
                                   classes=10, classifier_activation=None)
    result = cnnblocks.export(model, tmp_path / "s.onnx")
    assert result.max_relative_error <= deploy.FLOAT32_TOLERANCE
    quick = cnnblocks.export(model, tmp_path / "q.tflite", "litert", verify=False)
    assert quick.runtime is None and quick.max_relative_error is None
    assert "not verified" in str(quick)
    keras.backend.clear_session()


def test_a_file_that_differs_is_refused_and_nothing_is_left(mine, tmp_path, monkeypatch):
    (tmp_path / "m.onnx").write_bytes(b"old")
    real = deploy._RUNNERS["onnx"]
    monkeypatch.setitem(deploy._RUNNERS, "onnx",
                        lambda *a: [o + 1e-3 * np.abs(o).max() for o in real(*a)])
    with pytest.raises(deploy.VerificationError, match="above the tolerance 1e-05"):
        cnnblocks.export(mine, tmp_path / "m.onnx")
    assert os.listdir(tmp_path) == ["m.onnx"] and (tmp_path / "m.onnx").read_bytes() == b"old"


def test_a_saved_model_folder_is_replaced(mine, tmp_path):
    (tmp_path / "sm").mkdir()
    (tmp_path / "sm" / "stale.txt").write_text("x")
    cnnblocks.export(mine, tmp_path / "sm", "saved_model")
    assert "stale.txt" not in os.listdir(tmp_path / "sm")
    assert "saved_model.pb" in os.listdir(tmp_path / "sm")
    assert os.listdir(tmp_path) == ["sm"]


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(model=3), TypeError, "`model` must be a keras.Model"),
    (dict(format="tflite"), ValueError, "`format`"),
    (dict(path="m.tflite"), ValueError, "must end in '.onnx'"),
    (dict(path=7), TypeError, "`path`"),
    (dict(path="{missing}/m.onnx"), ValueError, "does not exist"),
    (dict(verify="yes"), TypeError, "`verify`"),
])
def test_bad_input_is_named_before_any_work(mine, tmp_path, kwargs, error, match):
    args = {"model": mine, "path": str(tmp_path / "m.onnx"), "format": "onnx", **kwargs}
    if isinstance(args["path"], str):
        args["path"] = args["path"].format(missing=tmp_path / "no", tmp=tmp_path)
    if args["path"] == "m.tflite":
        args["path"] = str(tmp_path / "m.tflite")
    with pytest.raises(error, match=match) as info:
        cnnblocks.export(args.pop("model"), args.pop("path"), **args)
    assert "\n" not in str(info.value) and len(str(info.value)) < 300
    assert os.listdir(tmp_path) == []


def test_a_read_only_folder_is_refused(mine, tmp_path, monkeypatch):
    monkeypatch.setattr(deploy.os, "access", lambda path, mode: False)  # root writes anywhere
    with pytest.raises(ValueError, match="is not writable"):
        cnnblocks.export(mine, tmp_path / "m.onnx")
    assert os.listdir(tmp_path) == []


def test_a_layer_the_format_cannot_express_is_one_message(tmp_path, monkeypatch, mine):
    def refuse(*args, **kwargs):
        raise RuntimeError("Unsupported op: Frobnicate\nmore lines")
    monkeypatch.setattr(keras.Model, "export", refuse)
    with pytest.raises(ValueError, match="cannot be written as ONNX: RuntimeError: Unsupported "
                                         "op: Frobnicate$"):
        cnnblocks.export(mine, tmp_path / "m.onnx")
    assert os.listdir(tmp_path) == []


def test_a_missing_runtime_names_the_extra(mine, tmp_path, monkeypatch):
    import importlib
    real = importlib.import_module

    def missing(name, *args):
        if name == "openvino":
            raise ImportError("no openvino")
        return real(name, *args)
    monkeypatch.setattr(deploy.importlib, "import_module", missing)
    with pytest.raises(ImportError, match=r'needs openvino .*pip install "cnnblocks\[export\]"'):
        cnnblocks.export(mine, tmp_path / "m.xml", "openvino")
    assert os.listdir(tmp_path) == []


def test_the_command(tmp_path, monkeypatch, capsys, mine):
    assert cli.EXPORT_FORMATS == tuple(deploy.FORMATS)
    monkeypatch.chdir(tmp_path)
    mine.save("mine.keras")
    assert cli.main(["export", "mine.keras", "--format", "onnx"]) == 0
    out = capsys.readouterr().out
    assert "mine.onnx (ONNX" in out and "agrees with Keras" in out
    assert os.path.isfile("mine.onnx")
    assert cli.main(["export", "squeezenet1_1", "--format", "litert", "-o", "s.tflite",
                     "--input-shape", "64,64,3", "--no-verify"]) == 0
    assert "not verified" in capsys.readouterr().out
    for argv, message in [
            (["export", "mine.keras", "--format", "litert", "-o", "x.onnx"], "'.tflite'"),
            (["export", "mine.keras", "--format", "onnx", "--weights", "imagenet"],
             "--weights applies to registered models"),
            (["export", "no_such_net", "--format", "onnx"], "no_such_net")]:
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err
    keras.backend.clear_session()


@pytest.fixture(scope="module")
def grouped():
    """Layers tf2onnx cannot convert as Keras writes them on TensorFlow: grouped convolutions
    (depthwise-like and in groups), an exact GELU, a Normalization with constants."""
    keras.utils.set_random_seed(2)
    inputs = keras.Input((16, 16, 4), name="image")
    x = keras.layers.Normalization(mean=[1.0, 2.0, 3.0, 4.0], variance=[1.0, 4.0, 9.0, 0.25],
                                   name="norm")(inputs)
    x = keras.layers.Conv2D(8, 3, padding="same", groups=2, name="grouped")(x)
    x = keras.layers.Conv2D(8, 5, padding="same", groups=8, name="depthwise_like")(x)
    x = keras.layers.Activation("gelu", name="gelu")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    return keras.Model(inputs, keras.layers.Dense(3, name="logits")(x), name="grouped")


def test_grouped_convolutions_gelu_and_normalization_are_written_as_onnx(grouped, tmp_path):
    from cnnblocks import _portable
    rewritten = _portable.portable(grouped)
    kinds = {layer.name: type(layer).__name__ for layer in rewritten.layers}
    assert kinds["grouped"] == "GroupedConv2D" and kinds["depthwise_like"] == "DepthwiseConv2D"
    assert kinds["gelu"] == "ErfGELU" and kinds["norm"] == "ConstantNormalization"
    x = np.random.default_rng(0).uniform(-1, 1, (2, 16, 16, 4)).astype("float32")
    np.testing.assert_allclose(rewritten(x), grouped(x), rtol=1e-5, atol=1e-6)
    result = cnnblocks.export(grouped, tmp_path / "g.onnx")
    assert result.max_relative_error <= deploy.FLOAT32_TOLERANCE
    assert _portable.portable(rewritten) is rewritten          # nothing left to replace


def test_a_nested_model_is_rewritten_inside(grouped, tmp_path):
    inputs = keras.Input((16, 16, 4))
    outer = keras.Model(inputs, keras.layers.Dense(2, name="top")(grouped(inputs)),
                        name="outer")
    result = cnnblocks.export(outer, tmp_path / "o.onnx")
    assert result.max_relative_error <= deploy.FLOAT32_TOLERANCE


def test_ops_the_converter_lacks_are_named(grouped, tmp_path, monkeypatch):
    from cnnblocks import _portable
    monkeypatch.setattr(_portable, "portable", lambda model: model)
    with pytest.raises(ValueError, match=r"tf2onnx has no conversion for the TensorFlow ops "
                       r".*StatefulPartitionedCall \(x2\)"):
        cnnblocks.export(grouped, tmp_path / "g.onnx")
    assert os.listdir(tmp_path) == []


def test_a_file_the_runtime_cannot_run_is_one_message(mine, tmp_path, monkeypatch):
    def broken(*args):
        raise RuntimeError("[ONNXRuntimeError] : 10 : INVALID_GRAPH\nsecond line")
    monkeypatch.setitem(deploy._RUNNERS, "onnx", broken)
    with pytest.raises(ValueError, match=r"written as ONNX, but onnxruntime cannot run the "
                       r"file: RuntimeError: \[ONNXRuntimeError\] : 10 : INVALID_GRAPH$"):
        cnnblocks.export(mine, tmp_path / "m.onnx")
    assert os.listdir(tmp_path) == []
