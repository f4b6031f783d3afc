"""PyTorch weights converted exactly (issue 18), with torch itself as the oracle.

For every model with a torchvision variant: torchvision's model with random weights and
non-trivial batch-norm statistics, its state dict saved as `.pth` and as `.safetensors`, each
converted into cnnblocks' `variant="torchvision"` model, and the outputs compared on the same
images (NCHW there, NHWC here) in inference mode, auxiliary classifiers included; on the
TensorFlow backend (this process) and on JAX (a subprocess). timm's files where timm is
installed. The readers (torch's and the restricted one), the mismatch errors, the command line
and `cnnblocks classify --weights torchvision` with the file in the cache.

Needs torch, torchvision and safetensors (the `torch` extra); skipped without them.
"""

import json
import os
import pickle
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

import keras  # noqa: E402

import cnnblocks  # noqa: E402
from cnnblocks import apps, cli, convert, family, preprocessing, registry  # noqa: E402
from cnnblocks import weights as weight_files  # noqa: E402

import torch_oracle as oracle  # noqa: E402

# One check repeated over many architectures: the extra-backend passes run its heavy cases
# for ResNet50 and InceptionV3 only (conftest.py).
pytestmark = pytest.mark.per_architecture

TOLERANCE = 1e-4  # max |ours - torch| / max |torch| (measured: about 1e-6)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: Every model is converted on TensorFlow; a CI job on another backend converts these (JAX is
#: also checked from the TensorFlow job, in a subprocess).
OTHER_BACKENDS = {"resnet18", "googlenet_aux", "inception_v3"}
#: Backend-independent checks (timm's files on top of torchvision's) run once, on TensorFlow.
ON_TENSORFLOW = pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                                   reason="converted on TensorFlow (and JAX in a subprocess)")


@pytest.fixture(scope="module")
def tv():
    return oracle.import_torchvision()


def _googlenet_taps(model):
    return [(model.inception4a, model.aux1), (model.inception4d, model.aux2)]


def _inception_taps(model):
    return [(model.Mixed_6e, model.AuxLogits)]


#: One row per conversion: (id, registry name, torchvision builder and its arguments, input
#: size, cnnblocks builder options, auxiliary taps). Sizes are small where the model allows:
#: 80 and 100 give odd sizes inside the networks (80 -> ... -> 5 -> 3), where padding and
#: ceil-mode pooling matter; Inception-V3's auxiliary classifier needs 299.
ROWS = [
    ("resnet18", "resnet18", ("resnet18", {}), 80, {}, None),
    ("resnet34", "resnet34", ("resnet34", {}), 80, {}, None),
    ("resnet50", "resnet50", ("resnet50", {}), 80, {}, None),
    pytest.param("resnet101", "resnet101", ("resnet101", {}), 64, {}, None,
                 marks=pytest.mark.heavy),
    pytest.param("resnet152", "resnet152", ("resnet152", {}), 64, {}, None,
                 marks=pytest.mark.heavy),
    ("vgg11", "vgg11", ("vgg11", {}), 64, {}, None),
    pytest.param("vgg11_bn", "vgg11_bn", ("vgg11_bn", {}), 224, {}, None,
                 marks=pytest.mark.heavy),  # 7x7 before the adaptive pool: fc1's row order
    pytest.param("vgg13", "vgg13", ("vgg13", {}), 64, {}, None, marks=pytest.mark.heavy),
    pytest.param("vgg13_bn", "vgg13_bn", ("vgg13_bn", {}), 64, {}, None,
                 marks=pytest.mark.heavy),
    pytest.param("vgg16", "vgg16", ("vgg16", {}), 64, {}, None, marks=pytest.mark.heavy),
    pytest.param("vgg16_bn", "vgg16_bn", ("vgg16_bn", {}), 64, {}, None,
                 marks=pytest.mark.heavy),
    pytest.param("vgg19", "vgg19", ("vgg19", {}), 64, {}, None, marks=pytest.mark.heavy),
    pytest.param("vgg19_bn", "vgg19_bn", ("vgg19_bn", {}), 64, {}, None,
                 marks=pytest.mark.heavy),
    ("googlenet", "googlenet", ("googlenet", {"aux_logits": False, "init_weights": True}), 224,
     {}, None),
    ("googlenet_aux", "googlenet", ("googlenet", {"aux_logits": True, "init_weights": True}),
     100, {"aux_classifiers": True}, _googlenet_taps),
    ("inception_v3", "inception_v3",
     ("inception_v3", {"aux_logits": False, "init_weights": True}), 107, {}, None),
    pytest.param("inception_v3_aux", "inception_v3",
                 ("inception_v3", {"aux_logits": True, "init_weights": True}), 299,
                 {"aux_classifiers": True}, _inception_taps, marks=pytest.mark.heavy),
]


def _zero(model):
    for variable in model.weights:
        variable.assign(np.zeros(variable.shape, variable.dtype))


def _outputs(model, x):
    out = model(x, training=False)
    return [keras.ops.convert_to_numpy(o) for o in (out if isinstance(out, list) else [out])]


@pytest.mark.parametrize("row_id, name, torch_builder, size, options, taps", ROWS)
def test_torchvision_converts_exactly(tv, tmp_path, row_id, name, torch_builder, size, options,
                                      taps):
    if keras.backend.backend() != "tensorflow" and row_id not in OTHER_BACKENDS:
        pytest.skip("every model is converted on TensorFlow; other backends run a subset")
    builder, kwargs = torch_builder
    torch.manual_seed(0)
    reference_model = oracle.randomize(getattr(tv.models, builder)(**kwargs))
    x = oracle.images(size)
    reference = oracle.run(reference_model, x, taps(reference_model) if taps else ())
    paths = oracle.save(reference_model, tmp_path, row_id)
    del reference_model
    keras.backend.clear_session()
    model = cnnblocks.create_model(name, variant="torchvision", input_shape=(size, size, 3),
                                   classifier_activation=None, **options)
    errors = []
    for path in paths:  # .pth (torch.load(weights_only=True)), then .safetensors
        _zero(model)
        convert.load_torch_weights(model, path)
        errors.append(oracle.relative_error(_outputs(model, x), reference))
    print(f"[conversion, tensorflow] {row_id} at {size}: max relative error "
          f".pth {errors[0]:.2e}, .safetensors {errors[1]:.2e}")
    assert max(errors) <= TOLERANCE


def test_the_keras_variant_does_not_take_torchvision_weights(tv):
    """The structure is the point: keras.applications' ResNet with torchvision's weights would
    be silently wrong, so the converter refuses it, naming the variant to build."""
    state = oracle.randomize(tv.models.resnet18()).state_dict()
    model = cnnblocks.create_model("resnet18", input_shape=(64, 64, 3))
    with pytest.raises(convert.ConversionError, match="variant='torchvision'"):
        convert.load_torch_weights(model, state)


def test_weight_set_records_equal_torchvision_metadata(tv):
    """Every recorded torchvision weight set against the weights enum it transcribes: URL,
    accuracy, parameter count, file size, crop and resize."""
    import re
    checked = 0
    for name in registry.list_models():
        for config in registry.entry(name).pretrained.values():
            enum, member = re.match(r"torchvision (\w+)\.(\w+) ", config.source).groups()
            weights = getattr(getattr(tv.models, enum), member)
            meta = weights.meta
            transform = weights.transforms.keywords
            assert config.file.url == weights.url
            assert (config.top1, config.top5) == (meta["_metrics"]["ImageNet-1K"]["acc@1"],
                                                  meta["_metrics"]["ImageNet-1K"]["acc@5"])
            assert (config.num_params, config.file_size_mb) == (meta["num_params"],
                                                                meta["_file_size"])
            assert (config.input_size, config.resize_size) == (
                transform["crop_size"], transform.get("resize_size", 256))
            assert len(meta["categories"]) == config.num_classes
            checked += 1
    # 58 models (ConvNeXt-T/S/B/L, EfficientNetV2-S/M/L, ResNeXt-101 64x4d, Wide ResNet-101-2,
    # DenseNet-161, the 15 RegNets, the 4 MNASNets and the 4 ShuffleNet V2s included);
    # ResNet-50/101/152, MobileNetV2, ResNeXt-50/101 32x8d and Wide ResNet-50-2/101-2 with a
    # second (V2) set; the RegNets: 34 sets (V1, V2; SWAG for Y-16GF, 32GF, 128GF)
    assert checked == 85


# --- Mismatches: a clear error naming the first tensor, and the model untouched ---------------

@pytest.fixture(scope="module")
def resnet_files(tv, tmp_path_factory):
    folder = tmp_path_factory.mktemp("resnets")
    files = {}
    for depth in (18, 34):
        model = oracle.randomize(getattr(tv.models, f"resnet{depth}")())
        files[depth] = oracle.save(model, folder, f"resnet{depth}")[0]
    yield files
    shutil.rmtree(folder, ignore_errors=True)


def _snapshot(model):
    return [keras.ops.convert_to_numpy(v).copy() for v in model.weights]


MISMATCHES = [
    # (model built, file, builder options, message naming the first mismatching tensor)
    ("resnet18", 34, {}, r"tensor 'layer1\.2\.conv1\.weight' .* no layer of model"),
    ("resnet34", 18, {}, r"no tensor 'layer1\.2\.conv1\.weight', which layer "
                         r"'conv2_block3_1_conv' needs"),
    ("resnet18", 18, {"classes": 10}, r"Tensor 'fc\.weight' has shape \(1000, 512\) .* "
                                      r"'predictions' needs"),
]


@pytest.mark.parametrize("name, depth, options, message", MISMATCHES)
def test_a_file_that_does_not_fit_names_the_tensor_and_leaves_the_model(
        resnet_files, name, depth, options, message):
    model = cnnblocks.create_model(name, variant="torchvision", input_shape=(64, 64, 3),
                                   **options)
    before = _snapshot(model)
    with pytest.raises(convert.ConversionError, match=message):
        convert.load_torch_weights(model, resnet_files[depth])
    assert all(np.array_equal(a, b) for a, b in zip(before, _snapshot(model)))


def test_include_top_false_leaves_the_classifier_unused(tv):
    reference_model = oracle.randomize(tv.models.resnet18())
    trunk = torch.nn.Sequential(*list(reference_model.children())[:-2])  # up to layer4
    x = oracle.images(64)
    reference = [oracle.run(trunk, x)[0].transpose(0, 2, 3, 1)]
    model = cnnblocks.create_model("resnet18", variant="torchvision", include_top=False,
                                   input_shape=(64, 64, 3))
    state = {k: v.numpy() for k, v in reference_model.state_dict().items()}
    assert "fc.weight" in state
    convert.load_torch_weights(model, state)
    assert oracle.relative_error(_outputs(model, x), reference) <= TOLERANCE


# --- Generic transforms: grouped, depthwise, flatten order of a non-square map ----------------

class _Tiny(torch.nn.Module):
    """Every transform the engine has, on a 3x5 map (H != W catches a swapped flatten)."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.grouped = torch.nn.Conv2d(8, 8, 3, padding=1, groups=2, bias=False)
        self.depthwise = torch.nn.Conv2d(8, 16, 3, padding=1, groups=8)  # multiplier 2
        self.bn = torch.nn.BatchNorm2d(16)
        self.fc = torch.nn.Linear(16 * 3 * 5, 6)

    def forward(self, x):
        x = self.bn(self.depthwise(self.grouped(self.conv(x))))
        return self.fc(torch.flatten(x, 1))


def test_generic_transforms_with_an_explicit_layout():
    torch.manual_seed(0)
    reference_model = oracle.randomize(_Tiny())
    x = np.random.RandomState(1).rand(2, 3, 5, 3).astype("float32")
    reference = oracle.run(reference_model, x)
    inputs = keras.Input((3, 5, 3))
    layers = keras.layers
    y = layers.Conv2D(8, 3, padding="same", name="conv")(inputs)
    y = layers.Conv2D(8, 3, padding="same", groups=2, use_bias=False, name="grouped")(y)
    y = layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2, name="depthwise")(y)
    y = layers.BatchNormalization(epsilon=1e-5, name="bn")(y)
    y = layers.Dense(6, name="fc")(layers.Flatten(name="flatten")(y))
    model = keras.Model(inputs, y)
    layout = family.TorchLayout({"conv": "conv", "grouped": "grouped", "depthwise": "depthwise",
                                 "bn": "bn", "fc": "fc"}, flatten={"fc": "flatten"})
    convert.load_torch_weights(model, {k: v.numpy() for k, v in
                                       reference_model.state_dict().items()}, layout)
    assert oracle.relative_error(_outputs(model, x), reference) <= TOLERANCE


# --- Reading: torch.load(weights_only=True), or the restricted reader without torch -----------

def _state_for_reader():
    return {
        "conv.weight": torch.randn(4, 3, 3, 3),
        "transposed": torch.randn(5, 7).t(),  # not contiguous: strides matter
        "half": torch.randn(6).half(),
        "bfloat": torch.randn(6).bfloat16(),
        "bn.num_batches_tracked": torch.tensor(7),
        "sliced": torch.arange(20, dtype=torch.float32)[5:15],  # a storage offset
    }


@pytest.mark.parametrize("zip_format", [True, False], ids=["zip", "legacy"])
def test_the_restricted_reader_equals_torch_load(tmp_path, zip_format):
    state = _state_for_reader()
    path = tmp_path / "state.pth"
    torch.save(state, path, _use_new_zipfile_serialization=zip_format)
    ours = convert.read_torch_pickle(str(path))
    theirs = torch.load(path, weights_only=True)
    assert list(ours) == list(theirs)
    for key, value in theirs.items():
        expected = value.float().numpy() if value.is_floating_point() else value.numpy()
        got = ours[key].astype(np.float32) if value.is_floating_point() else ours[key]
        assert got.shape == expected.shape and np.array_equal(got, expected), key
    assert convert.read_state_dict(str(path)).keys() == theirs.keys()


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').close()",))


@pytest.mark.parametrize("reader", ["torch", "restricted"])
def test_reading_a_pth_never_runs_code_from_it(tmp_path, reader):
    marker = tmp_path / "ran"
    path = tmp_path / "evil.pth"
    torch.save({"weight": torch.zeros(2), "payload": _Payload(str(marker))}, path)
    read = convert.read_state_dict if reader == "torch" else convert.read_torch_pickle
    with pytest.raises(convert.ConversionError):
        read(str(path))
    assert not marker.exists()
    with open(tmp_path / "plain.pkl", "wb") as f:  # a plain pickle, not torch's format
        pickle.dump(_Payload(str(marker)), f)
    with pytest.raises(convert.ConversionError):
        convert.read_torch_pickle(str(tmp_path / "plain.pkl"))
    assert not marker.exists()


# --- timm's files --------------------------------------------------------------------------

TIMM_ROWS = [
    # (timm model, registry name, input size): timm's ResNet and Inception-V3 have exactly
    # torchvision's keys; its VGG's fc1/fc2 are convolutions (`pre_logits`), equal to
    # torchvision's classifier at 224x224.
    ("resnet50", "resnet50", 64),
    ("inception_v3", "inception_v3", 107),
    pytest.param("vgg11_bn", "vgg11_bn", 224, marks=pytest.mark.heavy),
    # timm's RegNets of torchvision's designs (its `s1.b1.conv1.conv` names, the second
    # prefix of the family's layout): RegNetY-400MF; X-400MF is timm's `regnetx_004_tv`
    ("regnety_004", "regnet_y_400mf", 64),
    ("regnetx_004_tv", "regnet_x_400mf", 64),
    # timm's MnasNet-B1 1.0 (its `conv_stem`, `blocks.1.0.conv_pw` names, the second prefix of
    # the family's layout) and DenseNet (torchvision's keys)
    ("mnasnet_100", "mnasnet1_0", 64),
    ("densenet121", "densenet121", 64),
]


@ON_TENSORFLOW
@pytest.mark.parametrize("timm_name, name, size", TIMM_ROWS)
def test_timm_safetensors_convert_exactly(tmp_path, timm_name, name, size):
    timm = oracle.import_timm()
    torch.manual_seed(0)
    reference_model = oracle.randomize(timm.create_model(timm_name, pretrained=False))
    x = oracle.images(size)
    reference = oracle.run(reference_model, x)
    _, path = oracle.save(reference_model, tmp_path, timm_name)
    model = cnnblocks.create_model(name, variant="torchvision", input_shape=(size, size, 3),
                                   classifier_activation=None, weights=str(path))
    error = oracle.relative_error(_outputs(model, x), reference)
    print(f"[conversion, tensorflow] timm {timm_name} at {size}: max relative error {error:.2e}")
    assert error <= TOLERANCE


# --- The JAX backend --------------------------------------------------------------------------

JAX_ROWS = [
    # (registry name, torchvision builder and arguments, size, options, aux, file kind): one
    # model per structural feature (symmetric padding; adaptive pool and fc1's row order;
    # ceil-mode pools and auxiliary classifiers; average pools that count the padding)
    ("resnet18", "resnet18", {}, 64, {}, False, "pth"),
    # 224: a 7x7 map into the adaptive pool (Keras' own layer returns NaN there on JAX)
    ("vgg11_bn", "vgg11_bn", {}, 224, {}, False, "safetensors"),
    ("googlenet", "googlenet", {"aux_logits": True, "init_weights": True}, 64,
     {"aux_classifiers": True}, True, "pth"),
    ("inception_v3", "inception_v3", {"aux_logits": False, "init_weights": True}, 75, {},
     False, "safetensors"),
]

_JAX_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import keras
    import cnnblocks
    from cnnblocks import convert
    assert keras.backend.backend() == "jax"
    results = {}
    for job in json.loads(sys.argv[1]):
        data = np.load(job["npz"])
        model = cnnblocks.create_model(job["name"], variant="torchvision",
                                       input_shape=tuple(job["shape"]),
                                       classifier_activation=None, **job["options"])
        convert.load_torch_weights(model, job["file"])
        out = model(data["x"], training=False)
        outs = out if isinstance(out, list) else [out]
        refs = [data[f"y{i}"] for i in range(len(outs))]
        results[job["name"]] = max(
            float(np.max(np.abs(np.asarray(o) - r)) / np.max(np.abs(r)))
            for o, r in zip(outs, refs))
        keras.backend.clear_session()
    print(json.dumps(results))
""")


def test_jax_backend_converts_exactly(tv, tmp_path):
    if keras.backend.backend() != "tensorflow":  # once per CI run; JAX's own job runs all rows
        pytest.skip("the JAX subprocess runs from the TensorFlow job")
    pytest.importorskip("jax")
    jobs = []
    for name, builder, kwargs, size, options, aux, kind in JAX_ROWS:
        torch.manual_seed(0)
        reference_model = oracle.randomize(getattr(tv.models, builder)(**kwargs))
        x = oracle.images(size)
        outputs = oracle.run(reference_model, x,
                             _googlenet_taps(reference_model) if aux else ())
        pth, st = oracle.save(reference_model, tmp_path, name)
        npz = tmp_path / f"{name}.npz"
        np.savez(npz, x=x, **{f"y{i}": y for i, y in enumerate(outputs)})
        jobs.append({"name": name, "shape": [size, size, 3], "options": options,
                     "file": str(pth if kind == "pth" else st), "npz": str(npz)})
    env = dict(os.environ, KERAS_BACKEND="jax", PYTHONPATH=ROOT, JAX_PLATFORMS="cpu")
    result = subprocess.run([sys.executable, "-c", _JAX_SCRIPT, json.dumps(jobs)],
                            capture_output=True, text=True, env=env, timeout=1500)
    assert result.returncode == 0, result.stderr[-3000:]
    errors = json.loads(result.stdout.strip().splitlines()[-1])
    print(f"[conversion, jax] max relative errors: {errors}")
    assert set(errors) == {row[0] for row in JAX_ROWS}
    assert max(errors.values()) <= TOLERANCE


# --- Preprocessing against torchvision's transforms --------------------------------------------

def _photographs():
    data = pytest.importorskip("skimage.data")
    return {"astronaut": data.astronaut(), "chelsea": data.chelsea()}  # 512x512, 300x451


@pytest.mark.parametrize("name, weights", [("resnet50", "torchvision"),
                                            ("resnet50", "torchvision_v2"),
                                            ("inception_v3", "torchvision")])
def test_preprocessing_equals_torchvision_transforms(tv, name, weights):
    """torchvision's ImageClassification preset of the same weights (resize, center crop,
    normalization) on real photographs: on PIL images (torchvision resizes those with PIL) the
    pixels are equal; on tensors (torchvision's own antialiased resize) within one grey
    level."""
    from PIL import Image
    config = registry.entry(name).pretrained[weights]
    enum = {"resnet50": tv.models.ResNet50_Weights,
            "inception_v3": tv.models.Inception_V3_Weights}[name]
    preset = getattr(enum, "IMAGENET1K_V2" if weights.endswith("v2") else "IMAGENET1K_V1")
    transforms = preset.transforms()
    assert (config.input_size, config.resize_size) == (transforms.crop_size[0],
                                                       transforms.resize_size[0])
    for array in _photographs().values():
        image = Image.fromarray(array)
        ours = np.asarray(preprocessing.resize_and_crop(
            image, resize_size=config.resize_size, crop_size=config.input_size,
            interpolation=config.interpolation), dtype=np.int32)
        resize = tv.transforms.Resize(config.resize_size)
        crop = tv.transforms.CenterCrop(config.input_size)
        from_pil = np.asarray(crop(resize(image)), dtype=np.int32)
        from_tensor = crop(resize(torch.from_numpy(array).permute(2, 0, 1)))
        from_tensor = from_tensor.permute(1, 2, 0).numpy().astype(np.int32)
        assert np.array_equal(ours, from_pil)
        assert np.abs(ours - from_tensor).max() <= 1
        if config.mean == preprocessing.TORCH_MEAN:  # the whole preset, normalization included
            normalized = transforms(image).permute(1, 2, 0).numpy()
            ours_normalized = preprocessing.prepare([image], config,
                                                    data_format="channels_last")[0]
            assert np.abs(ours_normalized - normalized).max() <= 1e-5


@pytest.mark.parametrize("name, builder, size", [("googlenet", "googlenet", 224),
                                                  ("inception_v3", "inception_v3", 299)])
def test_transform_input_is_folded_into_mean_and_std(tv, name, builder, size):
    """torchvision's GoogLeNet and Inception-V3 weights are used with `transform_input=True`
    on ImageNet-normalized images; the recorded configuration (mean = std = 0.5) gives the
    model the same input."""
    from PIL import Image
    config = registry.entry(name).pretrained["torchvision"]
    model = getattr(tv.models, builder)(transform_input=True, init_weights=False,
                                        aux_logits=False)
    image = Image.fromarray(_photographs()["chelsea"])
    torch_input = tv.transforms.Compose([
        tv.transforms.Resize(config.resize_size), tv.transforms.CenterCrop(size),
        tv.transforms.ToTensor(),
        tv.transforms.Normalize(preprocessing.TORCH_MEAN, preprocessing.TORCH_STD)])(image)
    transformed = model._transform_input(torch_input[None]).numpy()[0].transpose(1, 2, 0)
    ours = preprocessing.prepare([image], config, data_format="channels_last")[0]
    assert np.abs(ours - transformed).max() <= 1e-5


# --- Command line and classify ------------------------------------------------------------

def test_cli_convert_writes_a_keras_weight_file(tv, tmp_path, capsys):
    reference_model = oracle.randomize(tv.models.resnet18())
    x = oracle.images(64)
    reference = oracle.run(reference_model, x)
    pth, _ = oracle.save(reference_model, tmp_path, "resnet18")
    out = tmp_path / "resnet18_tv.weights.h5"
    assert cli.main(["convert", "resnet18", str(pth), "-o", str(out),
                     "--input-shape", "64,64,3"]) == 0
    assert "resnet18_tv.weights.h5" in capsys.readouterr().out
    model = cnnblocks.create_model("resnet18", variant="torchvision", weights=str(out),
                                   input_shape=(64, 64, 3), classifier_activation=None)
    assert oracle.relative_error(_outputs(model, x), reference) <= TOLERANCE
    # a file for another model: exit status 2, the tensor named
    assert cli.main(["convert", "resnet34", str(pth), "-o", str(tmp_path / "x.weights.h5"),
                     "--input-shape", "64,64,3"]) == 2
    assert "layer1.2.conv1.weight" in capsys.readouterr().err


def test_classify_with_torchvision_weights_from_the_cache(tv, tmp_path, monkeypatch, capsys):
    """`cnnblocks classify --model resnet18 --weights torchvision` with the file in the Keras
    cache equals torchvision's model and preprocessing on the same photograph.

    The real file cannot be downloaded here, so a random-init torchvision ResNet-18 is put in
    the cache under its name, and the SHA-256 check is told it has the published prefix
    (everything else is the real code path: cache lookup, conversion, the weight set's
    preprocessing, labels)."""
    from PIL import Image
    config = registry.entry("resnet18").pretrained["torchvision"]
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    cached = tmp_path / "keras" / "models" / config.file.filename
    cached.parent.mkdir(parents=True)
    reference_model = oracle.randomize(tv.models.resnet18())
    torch.save(reference_model.state_dict(), cached)
    real = weight_files.sha256_of
    monkeypatch.setattr(weight_files, "sha256_of", lambda path: (
        config.file.sha256 + "0" * 56 if os.fspath(path) == str(cached) else real(path)))
    image_path = tmp_path / "chelsea.png"
    Image.fromarray(_photographs()["chelsea"]).save(image_path)

    transforms = tv.models.ResNet18_Weights.IMAGENET1K_V1.transforms()
    with torch.no_grad():
        logits = reference_model(transforms(Image.open(image_path).convert("RGB"))[None])
    expected = torch.softmax(logits, 1).numpy()[0]

    results = apps.classify([str(image_path)], "resnet18", weights="torchvision", top=5,
                            progress=None)[0]
    order = np.argsort(-expected, kind="stable")[:5]
    assert [label for _, label, _ in results] == [
        preprocessing.class_index()[i][1] for i in order]
    assert np.allclose([p for _, _, p in results], expected[order], rtol=1e-4, atol=1e-7)
    assert cli.main(["classify", str(image_path), "--model", "resnet18",
                     "--weights", "torchvision", "--top", "3"]) == 0
    assert results[0][1] in capsys.readouterr().out
