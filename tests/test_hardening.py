"""Issue 13's cases, one test each: bad input gets a short ValueError/TypeError naming the
argument, faults lose nothing (atomic, hash-checked, corrupt-aware weight loading), rewrites are
exact or refuse, keras.applications drop-in parity, and a CLI without tracebacks that answers
`--help` and `--version` without TensorFlow."""

import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

import keras
from keras import layers

import cnnblocks
from cnnblocks import cli, commands, registry, weights
from cnnblocks.blocks import conv_bn_act, residual_module, vgg_block
from cnnblocks.testing import assert_same_architecture, randomize_batchnorm

ROOT = Path(__file__).resolve().parents[1]


def image(size=8, channels=3):
    return keras.Input((size, size, channels))


# --- one validation layer -------------------------------------------------------------------
BAD_CALLS = [
    # (id, call, exception, the argument and the echoed value in the message)
    ("use_bias_string", lambda: conv_bn_act(image(), 4, 3, use_bias="no"), TypeError,
     "`use_bias` must be True or False, received 'no'."),
    ("batch_norm_string", lambda: residual_module(image(), 4, batch_norm="no"), TypeError,
     "`batch_norm` must be True or False, received 'no'."),
    ("bool_as_int", lambda: vgg_block(image(), 4, pool=1), TypeError,
     "`pool` must be True or False, received 1."),
    ("negative_epsilon", lambda: conv_bn_act(image(), 4, 3, bn_epsilon=-1.0), ValueError,
     "`bn_epsilon` must be a finite number > 0, received -1.0."),
    ("nan_epsilon", lambda: residual_module(image(), 4, bn_epsilon=float("nan")), ValueError,
     "`bn_epsilon` must be a finite number > 0, received nan."),
    ("lrn_inf", lambda: cnnblocks.layers.LocalResponseNormalization(k=float("inf")), ValueError,
     "`k` must be a finite number > 0, received inf."),
    ("activation_typo", lambda: conv_bn_act(image(), 4, 3, activation="rellu"), ValueError,
     "`activation` must be an activation Keras knows"),
    ("classifier_activation_typo",
     lambda: cnnblocks.ResNet18(classifier_activation="softmaxx"), ValueError,
     "`classifier_activation` must be an activation Keras knows (e.g. 'relu', 'softmax', "
     "'linear') or None; received 'softmaxx'."),
    ("input_tensor_array",
     lambda: cnnblocks.ResNet18(input_tensor=np.zeros((1, 224, 224, 3))), TypeError,
     "received ndarray of shape (1, 224, 224, 3)."),
    ("input_tensor_conflicts",
     lambda: cnnblocks.ResNet18(input_tensor=keras.Input((64, 64, 3)), input_shape=(32, 32, 3),
                                include_top=False),
     ValueError, "`input_shape` (32, 32, 3) conflicts with `input_tensor`'s shape (64, 64, 3)"),
    ("block_on_array", lambda: vgg_block(np.zeros((1, 64, 64, 3)), 4), TypeError,
     "`x` must be a Keras tensor of rank 4 (e.g. from keras.Input), received ndarray of "
     "shape (1, 64, 64, 3)."),
    ("name_with_slash", lambda: vgg_block(image(), 4, name="a/b"), ValueError,
     "`name` must not contain '/', received 'a/b'."),
    ("create_model_unknown", lambda: cnnblocks.create_model("resnet5"), ValueError,
     "Unknown model 'resnet5' (`model_name`). Did you mean"),
]


@pytest.mark.parametrize("call, error, message", [c[1:] for c in BAD_CALLS],
                         ids=[c[0] for c in BAD_CALLS])
def test_bad_input_is_one_short_message(call, error, message):
    with pytest.raises(error) as info:
        call()
    text = str(info.value)
    assert message in text
    assert len(text) < 400 and "\n" not in text and "array(" not in text


def test_an_array_is_never_dumped_into_a_message():
    big = np.zeros((4, 512, 512, 3))
    for call in (lambda: cnnblocks.VGG11(input_tensor=big),
                 lambda: conv_bn_act(big, 4, 3),
                 lambda: cnnblocks.VGG11(weights=big)):
        with pytest.raises((TypeError, ValueError)) as info:
            call()
        assert len(str(info.value)) < 300, str(info.value)[:300]


# --- faults lose nothing -------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny():
    """A small model and a weight file of another set of its weights."""
    keras.utils.set_random_seed(3)
    model = cnnblocks.ResNet18(include_top=False, input_shape=(32, 32, 3))
    return model


def _weights(model):
    return [np.array(w) for w in model.get_weights()]


def test_keyboard_interrupt_while_loading_restores_the_weights(tiny, tmp_path, monkeypatch):
    path = tmp_path / "other.weights.h5"
    before = _weights(tiny)
    tiny.save_weights(path)
    for w in tiny.weights:  # move away, so that a completed load would show
        w.assign(w + 1.0)
    moved = _weights(tiny)

    def half_then_interrupt(filepath, *args, **kwargs):
        tiny.weights[0].assign(np.zeros(tiny.weights[0].shape))  # a partial load...
        raise KeyboardInterrupt  # ...then Ctrl-C

    monkeypatch.setattr(tiny, "load_weights", half_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        weights.load_into(tiny, path)
    assert all(np.array_equal(a, b) for a, b in zip(_weights(tiny), moved))
    monkeypatch.undo()
    weights.load_into(tiny, path)
    assert all(np.array_equal(a, b) for a, b in zip(_weights(tiny), before))


def _corrupt_middle(path, size=200_000):
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle - size // 2: middle + size // 2] = os.urandom(min(size, len(data) // 2))
    path.write_bytes(bytes(data))


def test_corrupt_keras_file_is_reported_as_corrupt(tiny, tmp_path):
    path = tmp_path / "model.keras"
    tiny.save(path)
    assert zipfile.is_zipfile(path)
    _corrupt_middle(path)
    before = _weights(tiny)
    with pytest.raises(weights.WeightFileError, match="corrupt or truncated"):
        weights.load_into(tiny, path)
    assert all(np.array_equal(a, b) for a, b in zip(_weights(tiny), before))


def test_truncated_h5_file_is_reported_as_corrupt(tiny, tmp_path):
    path = tmp_path / "w.weights.h5"
    tiny.save_weights(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(weights.WeightFileError, match="corrupt or truncated"):
        weights.load_into(tiny, path)


@pytest.mark.parametrize("content", [b"", b"\x10\x00\x00\x00\x00\x00\x00\x00{",
                                     b"\x02\x00\x00\x00\x00\x00\x00\x00{x"],
                         ids=["empty", "header past the end", "header not JSON"])
def test_broken_safetensors_file_is_refused_before_building(tmp_path, content):
    path = tmp_path / "resnet18.safetensors"
    path.write_bytes(content)
    with pytest.raises(weights.WeightFileError, match="corrupt or truncated") as info:
        cnnblocks.ResNet18(variant="torchvision", weights=str(path), input_shape=(32, 32, 3),
                           include_top=False)
    assert "`weights`" in str(info.value) and ".safetensors" in str(info.value)


def test_corrupt_imagenet_file_in_the_cache_fails_its_hash(tmp_path, monkeypatch):
    """200 KB damaged in the middle of a cached ImageNet file: the published MD5 catches it
    and the message says which file to delete."""
    spec = registry.entry("resnet50").imagenet[1]
    folder = tmp_path / "models"
    folder.mkdir()
    cached = folder / spec.filename
    cached.write_bytes(os.urandom(1_000_000))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(weights.WeightFileError, match=rf"Delete {cached}"):
        cnnblocks.ResNet50(include_top=False, input_shape=(32, 32, 3))


# --- rewrites are exact, or refuse ------------------------------------------------------------
def test_fold_keeps_a_batchnorm_called_with_training_true():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 3))
    x = layers.Conv2D(4, 3, name="conv")(inputs)
    x = layers.BatchNormalization(name="bn_train")(x, training=True)  # batch statistics
    x = layers.Conv2D(4, 1, name="conv2")(x)
    x = layers.BatchNormalization(name="bn")(x)
    model = keras.Model(inputs, x)
    randomize_batchnorm(model)
    folded = cnnblocks.fold_batchnorm(model)
    names = [layer.name for layer in folded.layers]
    assert "bn_train" in names and "bn" not in names
    data = np.random.RandomState(0).normal(size=(4, 8, 8, 3)).astype("float32")
    want = keras.ops.convert_to_numpy(model(data, training=False))
    got = keras.ops.convert_to_numpy(folded(data, training=False))
    assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max()


def test_optimize_for_inference_with_two_outputs_of_one_split():
    inputs = keras.Input((8, 8, 4))
    a, b = keras.ops.split(layers.Conv2D(4, 1, name="conv")(inputs), 2, axis=-1)
    model = keras.Model(inputs, [a, b])
    fast = cnnblocks.optimize_for_inference(model, dtype="bfloat16")
    names = [layer.name for layer in fast.layers]
    assert len(names) == len(set(names))
    assert [t.dtype for t in fast.outputs] == ["float32", "float32"]
    data = np.random.RandomState(0).normal(size=(1, 8, 8, 4)).astype("float32")
    for got, want in zip(fast(data), model(data)):
        assert np.allclose(keras.ops.convert_to_numpy(got), keras.ops.convert_to_numpy(want),
                           atol=0.05)


def test_a_lambda_model_is_refused_with_a_clear_message():
    inputs = keras.Input((4,))
    model = keras.Model(inputs, layers.Lambda(lambda t: t * 2, name="double")(inputs))
    with pytest.raises(ValueError, match=r"Lambda layer\(s\) \['double'\]"):
        cnnblocks.fold_batchnorm(model)


def test_plot_a_layer_named_with_markup_characters(tmp_path):
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, layers.Conv2D(2, 1, name="a<b&c")(inputs))
    for level in ("layer", "block"):
        path = cnnblocks.plot(model, tmp_path / f"{level}.svg", level=level)
        assert "a&lt;b&amp;c" in path.read_text()


# --- keras.applications drop-in parity --------------------------------------------------------
SHARED = [
    # (registry name, small input, layer names compared): keras names every layer of VGG and
    # ResNet as we do; Xception's shortcuts and InceptionV3's convolutions are auto-named there.
    ("vgg16", 32, True), ("vgg19", 32, True), ("resnet50", 32, True), ("resnet101", 32, True),
    ("resnet152", 32, True), ("xception", 71, False), ("inception_v3", 75, False),
]


@pytest.mark.heavy
@pytest.mark.parametrize("name, size, check_names", SHARED, ids=[s[0] for s in SHARED])
def test_assert_same_architecture_passes_against_keras(name, size, check_names):
    """Equivalent settings are equal (BN axis 3 vs -1, "same" vs "valid" on 1x1 stride-1)."""
    entry = registry.entry(name)
    shape = (size, size, 3)
    ours = cnnblocks.create_model(name, include_top=False, input_shape=shape)
    theirs = getattr(keras.applications, entry.keras_name)(weights=None, include_top=False,
                                                            input_shape=shape)
    assert_same_architecture(ours, theirs, check_names=check_names)


def test_googlenet_has_preprocess_input_and_decode_predictions():
    from cnnblocks.architectures import googlenet
    x = np.full((1, 2, 2, 3), 255.0, "float32")
    assert googlenet.preprocess_input(x)[0, 0, 0].tolist() == pytest.approx(
        [255 - 103.939, 255 - 116.779, 255 - 123.68])
    preds = np.eye(1000, dtype="float32")[[1]]
    assert googlenet.decode_predictions(preds, top=1) == [[("n01443537", "goldfish", 1.0)]]


# --- the CLI ---------------------------------------------------------------------------------
def _cnnblocks(*args, env=None):
    return subprocess.run([sys.executable, "-m", "cnnblocks", *args],
                          capture_output=True, text=True, timeout=300, cwd=ROOT,
                          env={**os.environ, **(env or {})})


@pytest.mark.parametrize("args", [["--help"], ["--version"], []])
def test_quick_commands_do_not_import_tensorflow(args):
    """The console script's path: `cnnblocks.cli.main` (`cnnblocks --help` is well under a
    second; the bounds here are loose for busy machines)."""
    code = ("import sys, time, io, contextlib\n"
            "start = time.perf_counter()\n"
            "from cnnblocks.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try:\n"
            f"        main({args!r})\n"
            "    except SystemExit:\n"
            "        pass\n"
            "print(time.perf_counter() - start, 'tensorflow' in sys.modules,"
            " 'keras' in sys.modules)")
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, cwd=ROOT)
    wall = time.perf_counter() - start
    seconds, tf, keras_ = result.stdout.split()
    assert (tf, keras_) == ("False", "False")
    assert float(seconds) < 1 and wall < 5, (seconds, wall)


@pytest.mark.parametrize("args", [["--help"], ["--version"]])
def test_python_m_cnnblocks_answers_without_keras(args):
    """`python -m cnnblocks --help`: every module it imports is in `-X importtime`'s list."""
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "cnnblocks", *args],
                            capture_output=True, text=True, timeout=60, cwd=ROOT)
    wall = time.perf_counter() - start
    assert result.returncode == 0, result.stderr[-2000:]
    assert "cnnblocks" in result.stdout
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines()
                if line.startswith("import time:")}
    assert "cnnblocks.cli" in imported
    assert not {m for m in imported if m.split(".")[0] in ("keras", "tensorflow")}
    assert wall < 5, wall


def test_commands_print_no_tensorflow_start_up_lines_and_no_traceback():
    result = _cnnblocks("verify", "squeezenet1_1")
    assert result.returncode == 0, result.stderr
    assert "I0000" not in result.stderr and "oneDNN" not in result.stderr
    assert "[1/1] squeezenet1_1: building" in result.stderr  # progress
    result = _cnnblocks("summary", "resnet18", "--input-shape", "31,31,3")  # too small
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "at least 32x32" in result.stderr
    result = _cnnblocks("list")  # imports the registry, and so Keras and TensorFlow
    assert result.returncode == 0 and "squeezenet1_1" in result.stdout, result.stderr
    assert "I0000" not in result.stderr and "oneDNN" not in result.stderr


def test_an_unexpected_error_is_one_line_and_debug_shows_the_traceback(monkeypatch, capsys):
    def broken(args):
        raise RuntimeError("disk on fire")
    monkeypatch.setitem(commands.COMMANDS, "summary", broken)
    assert cli.main(["summary", "resnet18"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == ("cnnblocks summary: error: RuntimeError: disk on fire (--debug shows "
                           "the traceback)")
    with pytest.raises(RuntimeError, match="disk on fire"):
        cli.main(["--debug", "summary", "resnet18"])


@pytest.mark.parametrize("argv", [["plot", "resnet18", "-o", "x.svg", "--level", "bogus"],
                                  ["table"], ["nonsense"], ["classify"]])
def test_bad_command_lines_exit_2_without_traceback(argv, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2 and "Traceback" not in capsys.readouterr().err
