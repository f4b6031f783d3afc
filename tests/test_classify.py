"""`cnnblocks classify` end to end, offline: weight files are made here (random weights), the
ImageNet class index ships with the package, and any download attempt fails the test."""

import json
import os

import numpy as np
import pytest
from PIL import Image

import keras
from cnnblocks import apps, cli, weights


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Every download attempt raises, as on an offline machine."""
    def offline(*args, **kwargs):
        raise OSError("network disabled in tests")
    monkeypatch.setattr(keras.utils, "get_file", offline)


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    """An empty Keras cache: `$KERAS_HOME/models`, set after Keras was imported."""
    home = tmp_path / "keras_home"
    (home / "models").mkdir(parents=True)
    monkeypatch.setenv("KERAS_HOME", str(home))
    return home / "models"


def write_class_index(folder, classes=1000):
    """keras' imagenet_class_index.json layout with fake entries: n00000000 / class_0, ..."""
    path = folder / "fake_class_index.json"
    path.write_text(json.dumps({str(i): [f"n{i:08d}", f"class_{i}"] for i in range(classes)}))
    return path


def stand_in_for(monkeypatch, spec):
    """Makes the hash check accept the random-weights stand-in written under `spec`'s name."""
    real = weights.md5_of
    monkeypatch.setattr(weights, "md5_of",
                        lambda p: spec.md5 if os.path.basename(p) == spec.filename else real(p))


@pytest.fixture
def images(tmp_path):
    """Two small images, a PNG and a JPEG of other sizes than the model's input."""
    rng = np.random.RandomState(0)
    paths = []
    for name, size in (("a.png", (40, 30)), ("b.jpg", (64, 64))):
        pixels = rng.randint(0, 256, (size[1], size[0], 3)).astype("uint8")
        Image.fromarray(pixels).save(tmp_path / name)
        paths.append(str(tmp_path / name))
    return paths


def run(argv, capsys):
    status = cli.main(argv)
    out, err = capsys.readouterr()
    return status, out, err


# --- preprocessing per family: keras.applications' modes are the oracle ----------------------
# (registry name, keras.applications.imagenet_utils mode)
PREPROCESSING_ROWS = [
    ("vgg16", "caffe"),
    ("vgg11", "caffe"),
    ("resnet50", "caffe"),
    ("resnet18", "caffe"),
    ("xception", "tf"),
    ("inception_v3", "tf"),
    ("googlenet", "caffe"),  # our choice: the BVLC Caffe reference model's BGR mean subtraction
]


@pytest.mark.parametrize("name,mode", PREPROCESSING_ROWS, ids=[r[0] for r in PREPROCESSING_ROWS])
def test_preprocessing_per_family(name, mode):
    from keras.applications import imagenet_utils
    x = np.random.RandomState(1).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
    expected = imagenet_utils.preprocess_input(x.copy(), mode=mode)
    np.testing.assert_allclose(apps.preprocessing_for(name)(x.copy()), expected, rtol=1e-6)


def test_every_registered_model_has_preprocessing():
    import cnnblocks
    for name in cnnblocks.list_models():
        assert callable(apps.preprocessing_for(name)), name


# --- the ImageNet class index ships with the package ---------------------------------------------

def test_class_index_is_keras_file_byte_for_byte():
    """MD5 of keras' imagenet_class_index.json (keras.applications.imagenet_utils)."""
    import hashlib
    from cnnblocks import preprocessing
    with open(preprocessing.CLASS_INDEX_PATH, "rb") as f:
        assert hashlib.md5(f.read()).hexdigest() == "c2c37ea517e94d9795004a39431a14cb"
    index = preprocessing.class_index()
    assert len(index) == 1000 and index[0] == ("n01440764", "tench")
    assert index[2] == ("n01484850", "great_white_shark")


def test_decode_predictions_offline_equals_keras():
    """Offline (downloads disabled), decode_predictions of every family works and equals
    keras.applications' result on the same class index."""
    import cnnblocks
    preds = np.random.RandomState(0).dirichlet(np.ones(1000), size=2).astype("float32")
    ours = cnnblocks.architectures.googlenet.decode_predictions(preds, top=3)
    order = np.argsort(-preds, axis=1)[:, :3]
    from cnnblocks import preprocessing
    index = preprocessing.class_index()
    assert [[(w, l) for w, l, _ in row] for row in ours] == [
        [index[i] for i in row] for row in order]
    assert ours[0][0][2] == pytest.approx(float(preds[0, order[0, 0]]))
    with pytest.raises(ValueError, match=r"`preds`.*\(2, 10\)"):
        cnnblocks.architectures.vgg.decode_predictions(preds[:, :10])


# --- offline without the files: a message, no traceback ----------------------------------------

def test_offline_names_the_missing_weight_file(keras_home, images, capsys):
    status, out, err = run(["classify", *images, "--model", "resnet50"], capsys)
    assert status == 1 and out == ""
    assert "resnet50_weights_tf_dim_ordering_tf_kernels.h5" in err
    assert "imagenet_class_index.json" not in err  # shipped with the package
    assert str(keras_home) in err and "KERAS_HOME" in err
    assert "Traceback" not in err


def test_cached_weight_file_with_wrong_hash(keras_home, images, capsys):
    spec = cnnblocks_entry("xception").imagenet[0]
    (keras_home / spec.filename).write_bytes(b"not the published file")
    status, _, err = run(["classify", images[0], "--model", "xception"], capsys)
    assert status == 2 and spec.md5 in err and "Delete" in err and "Traceback" not in err


def cnnblocks_entry(name):
    from cnnblocks import registry
    return registry.entry(name)


# --- bad arguments: exit 2 with the value echoed --------------------------------------------------
BAD_ARGUMENTS = [
    (["--model", "resnet51"], "resnet51"),
    (["--model", "googlenet"], "No ImageNet weights"),
    (["--model", "resnet18", "--weights", "missing.h5"], "missing.h5"),
    (["--model", "resnet50", "--top", "0"], "`top`"),
]


@pytest.mark.parametrize("extra,message", BAD_ARGUMENTS, ids=[m for _, m in BAD_ARGUMENTS])
def test_bad_arguments(keras_home, images, capsys, extra, message):
    status, out, err = run(["classify", images[0], *extra], capsys)
    assert status == 2 and out == "" and message in err, err
    assert "Traceback" not in err


def test_missing_image(keras_home, capsys):
    status, _, err = run(["classify", "nowhere.jpg", "--model", "resnet50"], capsys)
    assert status == 2 and "nowhere.jpg" in err


def test_unreadable_image(keras_home, images, tmp_path, capsys):
    bogus = tmp_path / "not_an_image.jpg"
    bogus.write_text("hello")
    status, _, err = run(["classify", images[0], str(bogus), "--model", "resnet50"], capsys)
    assert status == 2 and "not_an_image.jpg" in err and "Traceback" not in err
    assert images[0] not in err


# --- end to end with a weight file given by path -------------------------------------------------

def _small_resnet18(classes=1000, favourite=7):
    """ResNet-18 at 32x32 whose classifier always prefers class `favourite`."""
    import cnnblocks
    model = cnnblocks.ResNet18(weights=None, input_shape=(32, 32, 3), classes=classes)
    dense = model.get_layer("predictions")
    kernel, bias = dense.get_weights()
    bias[:] = 0.0
    bias[favourite] = 20.0
    dense.set_weights([np.zeros_like(kernel), bias])
    return model


def test_classify_with_weights_path(keras_home, images, tmp_path, capsys):
    weight_file = tmp_path / "r18.weights.h5"
    _small_resnet18().save_weights(weight_file)
    status, out, err = run(["classify", *images, "--model", "resnet18", "--weights",
                            str(weight_file), "--input-shape", "32,32,3", "--top", "3"], capsys)
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0] == f"{images[0]}:" and lines[4] == f"{images[1]}:"
    # ImageNet class 7 in the shipped index: n01514668, cock.
    assert lines[1].startswith("  1. 100.00%  cock (n01514668)"), lines
    assert len(lines) == 8
    assert "building resnet18" in err and "classifying images 1-2 of 2 at 32x32" in err


def test_classify_with_a_label_file(keras_home, images, tmp_path, capsys):
    labels = tmp_path / "labels.txt"
    labels.write_text("zero\none\ntwo\n")
    weight_file = tmp_path / "r18.weights.h5"
    _small_resnet18(classes=3, favourite=2).save_weights(weight_file)
    results = apps.classify(images[:1], "resnet18", weights=str(weight_file), labels=str(labels),
                            input_shape=(32, 32, 3), top=2, progress=None)
    assert [row[:2] for row in results[0]] == [("", "two"), ("", "zero")]


# --- end to end with --weights imagenet: keras.applications' own file layout and model ---------

@pytest.mark.heavy
def test_classify_imagenet_equals_keras_applications(keras_home, images, capsys, monkeypatch):
    """A random keras.applications ResNet50 saved in the legacy HDF5 layout under keras' file
    name in $KERAS_HOME/models: our output equals keras.applications' on the same file with
    its own preprocessing."""
    import h5py
    from keras.applications import resnet as keras_resnet
    from keras.src.legacy.saving import legacy_h5_format  # test-only: writes keras' layout

    from cnnblocks import preprocessing
    oracle = keras_resnet.ResNet50(weights=None)
    dense = oracle.get_layer("predictions")  # sharpen: well-separated probabilities
    dense.set_weights([w * 10 for w in dense.get_weights()])
    spec = cnnblocks_entry("resnet50").imagenet[0]
    with h5py.File(keras_home / spec.filename, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, oracle)
    stand_in_for(monkeypatch, spec)
    index = preprocessing.class_index()

    status, out, err = run(["classify", *images, "--model", "resnet50"], capsys)
    assert status == 0, err

    pixels = np.stack([keras.utils.img_to_array(keras.utils.load_img(
        p, target_size=(224, 224), interpolation="bilinear")) for p in images])
    expected = oracle.predict(keras_resnet.preprocess_input(pixels), verbose=0)
    lines = iter(out.splitlines())
    for path, row in zip(images, expected):
        assert next(lines) == f"{path}:"
        best = np.sort(row)[::-1]
        assert best[0] - best[1] > 1e-3  # the sharpened head leaves no near-tie at rank 1
        for rank in range(1, 6):
            number, percent, label, wnid = next(lines).split()
            i = [k for k, (w, _) in enumerate(index) if f"({w})" == wnid][0]
            assert (number, label) == (f"{rank}.", index[i][1])
            assert percent == f"{row[i]:.2%}"  # keras' probability of the class we print
            assert rank > 1 or i == np.argmax(row)
