"""torchvision's weights for the families of issues 12 and 13, converted exactly (issue 18), with
torch itself as the oracle: SqueezeNet 1.0/1.1, AlexNet, MobileNetV2, DenseNet-121/169/201,
ResNeXt-50 32x4d / 101 32x8d and Wide ResNet-50-2.

For every model: torchvision's model with random weights, randomized batch-norm statistics and
non-zero biases (torchvision initializes several biases to zero, which would hide a bias that
goes to the wrong layer), its state dict saved as `.pth` and as `.safetensors`, each converted
into cnnblocks' `variant="torchvision"` model, and the outputs compared on the same images
(NCHW there, NHWC here) in inference mode. Then `weights="torchvision"` from a file in a
temporary Keras cache under its official name (the published hash checked; a wrong file
refused), DenseNet's published key names (`norm.1`), a file that does not fit, and
`cnnblocks convert`.

Inputs are the smallest sizes that still exercise the structure: odd and even sizes inside the
networks (symmetric padding and ceil-mode pools differ from Keras' "same" on even sizes),
AlexNet's adaptive pool from a 3x3 map (fc6's row order). The torch model is built once per
module and row; every Keras model once per test.

Needs torch, torchvision and safetensors (the `torch` extra); skipped without them.
"""

import os
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

import keras  # noqa: E402

import cnnblocks  # noqa: E402
from cnnblocks import cli, convert, registry  # noqa: E402
from cnnblocks import weights as weight_files  # noqa: E402

import torch_oracle as oracle  # noqa: E402

# One check repeated over many architectures: the extra-backend passes run its heavy cases
# for ResNet50 and InceptionV3 only (conftest.py).
pytestmark = pytest.mark.per_architecture

TOLERANCE = 1e-4  # max |ours - torch| / max |torch| (measured: below 2e-6)

#: One row per model: (registry name, torchvision builder, input size). Sizes inside the
#: networks at these inputs (comments) mix odd and even.
ROWS = [
    ("squeezenet1_0", "squeezenet1_0", 64),    # 29 -> 14 -> 7 -> 3 (ceil-mode pools)
    ("squeezenet1_1", "squeezenet1_1", 64),    # 31 -> 15 -> 7 -> 3
    ("alexnet", "alexnet", 127),               # 31 -> 15 -> 7 -> 3 -> adaptive 6x6 -> fc6
    ("mobilenet_v2", "mobilenet_v2", 64),      # 32 -> 16 -> 8 -> 4 -> 2 (even: padding (1, 1))
    ("densenet121", "densenet121", 64),        # 32 -> 16 -> 8 -> 4 -> 2
    pytest.param("densenet161", "densenet161", 64, marks=pytest.mark.heavy),  # k = 48
    pytest.param("densenet169", "densenet169", 64, marks=pytest.mark.heavy),
    pytest.param("densenet201", "densenet201", 64, marks=pytest.mark.heavy),
    ("resnext50_32x4d", "resnext50_32x4d", 64),  # grouped 3x3, 32 groups
    pytest.param("resnext101_32x8d", "resnext101_32x8d", 64, marks=pytest.mark.heavy),
    pytest.param("resnext101_64x4d", "resnext101_64x4d", 64, marks=pytest.mark.heavy),
    ("wide_resnet50_2", "wide_resnet50_2", 64),
    pytest.param("wide_resnet101_2", "wide_resnet101_2", 64, marks=pytest.mark.heavy),
    ("shufflenet_v2_x1_0", "shufflenet_v2_x1_0", 64),  # depthwise, split, shuffle: 32 ... 2
    pytest.param("shufflenet_v2_x0_5", "shufflenet_v2_x0_5", 64, marks=pytest.mark.heavy),
    pytest.param("shufflenet_v2_x1_5", "shufflenet_v2_x1_5", 64, marks=pytest.mark.heavy),
    pytest.param("shufflenet_v2_x2_0", "shufflenet_v2_x2_0", 64, marks=pytest.mark.heavy),
]
#: Every model is converted on TensorFlow; a CI job on another backend converts one model per
#: transform (grouped and depthwise kernels, fc6's rows after a flatten, DenseNet's keys).
OTHER_BACKENDS = {"mobilenet_v2", "alexnet", "resnext50_32x4d", "densenet121"}
ON_TENSORFLOW = pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                                   reason="backend-independent: checked on TensorFlow")


@pytest.fixture(scope="module")
def tv():
    return oracle.import_torchvision()


def _nonzero_biases(model, seed=1):
    """Every bias gets N(0, 0.1) noise (torchvision zeroes them in MobileNetV2, DenseNet and
    SqueezeNet); returns the model."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name.endswith("bias"):
                parameter.add_(torch.randn(parameter.shape, generator=generator) * 0.1)
    return model


@pytest.fixture(scope="module")
def reference(tv, tmp_path_factory):
    """`reference(name, builder, size)` -> dict with the torch model's `.pth` and
    `.safetensors` files, its state dict (NumPy), the images and torch's outputs; each row's
    torch model is built and run once per module."""
    folder = tmp_path_factory.mktemp("torchvision_lineage")
    made = {}

    def make(name, builder, size):
        if name not in made:
            torch.manual_seed(0)
            model = _nonzero_biases(oracle.randomize(getattr(tv.models, builder)()))
            x = oracle.images(size)
            outputs = oracle.run(model, x)
            pth, st = oracle.save(model, folder, name)
            made[name] = dict(
                pth=pth, safetensors=st, x=x, outputs=outputs,
                num_params=sum(p.numel() for p in model.parameters()),
                state={k: v.numpy() for k, v in model.state_dict().items()})
        return made[name]
    yield make
    shutil.rmtree(folder, ignore_errors=True)  # gigabytes of weight files, in every backend pass


def _outputs(model, x):
    return [keras.ops.convert_to_numpy(model(x, training=False))]


def _zero(model):
    for variable in model.weights:
        variable.assign(np.zeros(variable.shape, variable.dtype))


def _trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


@pytest.mark.parametrize("name, builder, size", ROWS)
def test_torchvision_converts_exactly(reference, name, builder, size):
    if keras.backend.backend() != "tensorflow" and name not in OTHER_BACKENDS:
        pytest.skip("every model is converted on TensorFlow; other backends run a subset")
    ref = reference(name, builder, size)
    keras.backend.clear_session()
    model = cnnblocks.create_model(name, variant="torchvision", input_shape=(size, size, 3),
                                   classifier_activation=None)
    # torchvision's parameters() = Keras' trainable weights (no BN statistics)
    assert _trainable(model) == ref["num_params"]
    assert registry.entry(name).pretrained["torchvision"].num_params == ref["num_params"]
    errors = []
    for kind in ("pth", "safetensors"):  # torch.load(weights_only=True), then safetensors
        _zero(model)
        convert.load_torch_weights(model, ref[kind])
        errors.append(oracle.relative_error(_outputs(model, ref["x"]), ref["outputs"]))
    print(f"[conversion, {keras.backend.backend()}] {name} at {size}: max relative error "
          f".pth {errors[0]:.2e}, .safetensors {errors[1]:.2e}")
    assert max(errors) <= TOLERANCE


# --- weights="torchvision": the official file name in the Keras cache, its hash checked -------

def _published_keys(state):
    """DenseNet's state dict as torchvision publishes it: the files predate PyTorch 0.4 and
    name a dense layer's modules `norm.1`, `conv.1`, `norm.2`, `conv.2` (torchvision's
    `_load_state_dict` renames them to `norm1` ... on load), without BN counters."""
    import re
    pattern = re.compile(r"^(.*denselayer\d+\.(?:norm|conv))([12])\.(.*)$")
    renamed = {}
    for key, value in state.items():
        if key.endswith("num_batches_tracked"):
            continue
        match = pattern.match(key)
        renamed[f"{match[1]}.{match[2]}.{match[3]}" if match else key] = value
    return renamed


CACHED = [
    # (registry name, torchvision builder, size, weights name): one weight set per family;
    # DenseNet's with the published key names, MobileNetV2's V2 set
    ("squeezenet1_1", "squeezenet1_1", 64, "torchvision"),
    ("alexnet", "alexnet", 127, "torchvision"),
    ("mobilenet_v2", "mobilenet_v2", 64, "torchvision_v2"),
    ("densenet121", "densenet121", 64, "torchvision"),
    ("resnext50_32x4d", "resnext50_32x4d", 64, "torchvision_v2"),
    ("wide_resnet50_2", "wide_resnet50_2", 64, "torchvision"),
    ("shufflenet_v2_x1_0", "shufflenet_v2_x1_0", 64, "torchvision"),  # a 10-digit hash prefix
]


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    folder = tmp_path / "keras" / "models"
    folder.mkdir(parents=True)
    return folder


@ON_TENSORFLOW
@pytest.mark.parametrize("name, builder, size, weights", CACHED)
def test_weights_torchvision_from_the_keras_cache(reference, keras_home, monkeypatch, name,
                                                  builder, size, weights):
    """The file under its official name in `$KERAS_HOME/models`: `create_model(name,
    weights=...)` picks the torchvision structure, checks the file against the SHA-256 prefix
    its name publishes and converts it.

    A random-init file cannot have the published hash, so the check is told the file has it
    (`sha256_of` answers the published prefix for this path only); everything else is the real
    code path (cache lookup, hash comparison, conversion)."""
    ref = reference(name, builder, size)
    config = registry.entry(name).pretrained[weights]
    cached = keras_home / config.file.filename
    state = {k: torch.from_numpy(v) for k, v in ref["state"].items()}
    if name.startswith("densenet"):
        state = _published_keys(state)
        assert "features.denseblock1.denselayer1.norm.1.weight" in state
    torch.save(state, cached)
    real = weight_files.sha256_of
    monkeypatch.setattr(weight_files, "sha256_of", lambda path: (
        config.file.sha256 + "0" * 56 if os.fspath(path) == str(cached) else real(path)))
    keras.backend.clear_session()
    model = cnnblocks.create_model(name, weights=weights, input_shape=(size, size, 3),
                                   classifier_activation=None)
    error = oracle.relative_error(_outputs(model, ref["x"]), ref["outputs"])
    print(f"[weights={weights!r}, cache] {name} at {size}: max relative error {error:.2e}")
    assert error <= TOLERANCE


@ON_TENSORFLOW
def test_a_cached_file_without_the_published_hash_is_refused(reference, keras_home):
    """The real SHA-256 of a random-init file is not the published one: refused before the
    model is built, the message naming the file and what to do."""
    ref = reference("squeezenet1_1", "squeezenet1_1", 64)
    config = registry.entry("squeezenet1_1").pretrained["torchvision"]
    assert config.file.filename == "squeezenet1_1-b8a52dc0.pth"
    cached = keras_home / config.file.filename
    torch.save({k: torch.from_numpy(v) for k, v in ref["state"].items()}, cached)
    assert not weight_files.sha256_of(cached).startswith(config.file.sha256)
    with pytest.raises(weight_files.WeightFileError,
                       match=r"published SHA-256 hash of squeezenet1_1-b8a52dc0\.pth .*Delete"):
        cnnblocks.create_model("squeezenet1_1", weights="torchvision",
                               input_shape=(64, 64, 3))


# --- Mismatches and structure checks --------------------------------------------------------

def _snapshot(model):
    return [keras.ops.convert_to_numpy(v).copy() for v in model.weights]


MISMATCHES = [
    # (model built, file of, message naming the first mismatching tensor)
    ("squeezenet1_1", "squeezenet1_0",
     r"Tensor 'features\.0\.weight' has shape \(96, 3, 7, 7\) .* layer 'conv1' needs"),
    ("squeezenet1_0", "squeezenet1_1",
     r"Tensor 'features\.0\.weight' has shape \(64, 3, 3, 3\) .* layer 'conv1' needs"),
]


@ON_TENSORFLOW
@pytest.mark.parametrize("name, other, message", MISMATCHES)
def test_a_file_that_does_not_fit_names_the_tensor_and_leaves_the_model(reference, name, other,
                                                                         message):
    ref = reference(other, other, 64)
    model = cnnblocks.create_model(name, input_shape=(64, 64, 3))
    before = _snapshot(model)
    with pytest.raises(convert.ConversionError, match=message):
        convert.load_torch_weights(model, ref["pth"])
    assert all(np.array_equal(a, b) for a, b in zip(before, _snapshot(model)))


@ON_TENSORFLOW
@pytest.mark.parametrize("name", ["mobilenet_v2", "densenet121"])
def test_the_keras_variant_does_not_take_torchvision_weights(reference, name):
    """keras.applications' structure (padding, BN epsilon) with torchvision's weights would be
    silently off: refused, naming the variant to build."""
    ref = reference(name, name, 64)
    model = cnnblocks.create_model(name, input_shape=(64, 64, 3))
    with pytest.raises(convert.ConversionError, match="variant='torchvision'"):
        convert.load_torch_weights(model, ref["state"])
    with pytest.raises(ValueError, match="pass variant='torchvision'"):
        cnnblocks.create_model(name, variant="keras", weights="torchvision")


@ON_TENSORFLOW
def test_mobilenet_v2_torchvision_weights_need_alpha_1(monkeypatch):
    with pytest.raises(ValueError, match=r"alpha.* must be 1\.0 .*alpha=0\.5"):
        cnnblocks.MobileNetV2(alpha=0.5, weights="torchvision", variant="torchvision")


@ON_TENSORFLOW
def test_cli_convert_writes_a_keras_weight_file(reference, tmp_path, capsys):
    ref = reference("squeezenet1_1", "squeezenet1_1", 64)
    out = tmp_path / "squeezenet1_1_tv.weights.h5"
    assert cli.main(["convert", "squeezenet1_1", str(ref["safetensors"]), "-o", str(out),
                     "--input-shape", "64,64,3"]) == 0
    assert out.name in capsys.readouterr().out
    model = cnnblocks.create_model("squeezenet1_1", weights=str(out), input_shape=(64, 64, 3),
                                   classifier_activation=None)
    assert oracle.relative_error(_outputs(model, ref["x"]), ref["outputs"]) <= TOLERANCE


@ON_TENSORFLOW
def test_the_docs_weights_table_quotes_every_weight_set():
    """docs/pretrained.md's table has a row per model with a published weight set, quoting the
    accuracy its record (torchvision's metadata) states."""
    from pathlib import Path
    text = (Path(__file__).resolve().parent.parent / "docs" / "pretrained.md").read_text(
        encoding="utf-8")
    rows = {line.split("|")[1].strip(" `"): line for line in text.splitlines()
            if line.startswith("| `")}
    checked = 0
    for name in registry.list_models():
        for config in registry.entry(name).pretrained.values():
            assert name in rows, f"docs/pretrained.md has no row for {name}"
            assert f"{config.top1:.3f} / {config.top5:.3f}" in rows[name], (name, config.name)
            checked += 1
    # ConvNeXt-T/S/B/L's, EfficientNetV2-S/M/L's, ResNeXt-101 64x4d's, Wide ResNet-101-2's,
    # DenseNet-161's, the RegNets' (34), the MNASNets' (4) and ShuffleNet V2's (4) torchvision
    # sets included
    assert checked == 85
