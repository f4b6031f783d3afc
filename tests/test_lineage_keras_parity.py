"""ResNet v2, DenseNet and Inception-ResNet-v2 against keras.applications (issue 16).

One row per model (`ROWS`), its exact counts with their source, its small test input. Checks:

* the builder contract: registered (every spelling), keras.applications' exact signature, the
  published numbers, preprocessing equal to keras.applications', the ImageNet file names and
  MD5 hashes equal to those in keras.applications' source;
* without top at a small input: output shape and parameters equal to keras', layer types and
  every layer name keras.applications gives explicitly equal (the few it leaves unnamed have
  deterministic names here), `set_weights(keras.get_weights())` giving keras' outputs within
  1e-5, a keras.applications-style legacy HDF5 file loading (one row per family), the paper
  table's rows covering every summary row;
* with top at the default size (`heavy`): exact total and trainable parameters, names, outputs
  within 1e-5 under shared weights, multiply-adds and depth equal to keras.applications' and to
  the published figures, feature taps at the layers the structural rule finds in keras' model.
"""

import dataclasses
import inspect
import re

import h5py
import numpy as np
import pytest

import keras

import cnnblocks
from cnnblocks import features, published, registry
from cnnblocks import weights as weight_files
from cnnblocks.architectures import densenet, inception_resnet_v2, resnet_v2

# One check repeated over many architectures: the extra-backend passes run its heavy cases
# for ResNet50 and InceptionV3 only (conftest.py).
pytestmark = pytest.mark.per_architecture

apps = keras.applications


def dense(n_in, n_out):
    return n_in * n_out + n_out


@dataclasses.dataclass(frozen=True)
class Row:
    name: str           # registry name = the model's default name (keras.applications')
    build: object
    ref: object         # the keras.applications oracle
    family: object      # the family module
    keras_module: str   # keras.src.applications.<module> holding the weight files
    total: int          # count_params() with top, 1000 classes, default size
    trainable: int
    head: int           # the classifier's parameters
    small: tuple        # (H, W) of the small input
    small_out: tuple    # output without top at `small`
    default: int = 224

    def __str__(self):
        return self.name


SMALL = (72, 96)
ROWS = [
    # Totals: keras.applications count_params() / trainable (published.md, keras 3.15 build).
    # ResNet v2 at 72x96: 36x48 -> 18x24 -> stage outputs 9x12, 5x6, 3x3, 3x3.
    Row("resnet50v2", cnnblocks.ResNet50V2, apps.ResNet50V2, resnet_v2, "resnet",
        25_613_800, 25_568_360, dense(2048, 1000), SMALL, (3, 3, 2048)),
    Row("resnet101v2", cnnblocks.ResNet101V2, apps.ResNet101V2, resnet_v2, "resnet",
        44_675_560, 44_577_896, dense(2048, 1000), SMALL, (3, 3, 2048)),
    Row("resnet152v2", cnnblocks.ResNet152V2, apps.ResNet152V2, resnet_v2, "resnet",
        60_380_648, 60_236_904, dense(2048, 1000), SMALL, (3, 3, 2048)),
    # DenseNet at 72x96: 36x48 -> 18x24 -> transitions 9x12, 4x6, 2x3.
    Row("densenet121", cnnblocks.DenseNet121, apps.DenseNet121, densenet, "densenet",
        8_062_504, 7_978_856, dense(1024, 1000), SMALL, (2, 3, 1024)),
    Row("densenet169", cnnblocks.DenseNet169, apps.DenseNet169, densenet, "densenet",
        14_307_880, 14_149_480, dense(1664, 1000), SMALL, (2, 3, 1664)),
    Row("densenet201", cnnblocks.DenseNet201, apps.DenseNet201, densenet, "densenet",
        20_242_984, 20_013_928, dense(1920, 1000), SMALL, (2, 3, 1920)),
    # Inception-ResNet-v2 at 75x107: 75 -> 37 -> 35 -> 17 -> 15 -> 7 -> 3 -> 1 and
    # 107 -> 53 -> 51 -> 25 -> 23 -> 11 -> 5 -> 2.
    Row("inception_resnet_v2", cnnblocks.InceptionResNetV2, apps.InceptionResNetV2,
        inception_resnet_v2, "inception_resnet_v2", 55_873_736, 55_813_192,
        dense(1536, 1000), (75, 107), (1, 2, 1536), default=299),
]
# One row per family runs the small-input checks (cheap builds); every row runs the full-size
# checks (`heavy`), which include names and outputs under shared weights. keras.applications-
# style legacy HDF5 files are tested on these rows too (the weight order of the others is proven
# by set_weights(ref.get_weights()) with equal layer classes and names).
REPS = [row for row in ROWS if row.name in ("resnet50v2", "densenet121", "inception_resnet_v2")]
ON_REPS = pytest.mark.parametrize("arch", REPS, indirect=True, ids=str)
#: Layer classes that differ by design: keras.applications' unregistered `CustomScaleLayer`
#: is the registered `cnnblocks.layers.ScaledAdd` (same arithmetic).
SAME_CLASS = {"CustomScaleLayer": "ScaledAdd"}


# -------------------------------------------------------------------------------- helpers ----
def batch(shape, n=2, seed=0):
    return np.random.RandomState(seed).uniform(size=(n, *shape)).astype("float32")


def predict(model, x):
    return keras.ops.convert_to_numpy(model(x, training=False))


def trainable_count(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def _auto_name(layer):
    """The name Keras gives an unnamed layer: its class in snake case, maybe `_<n>`."""
    snake = re.sub(r"([a-z])([A-Z])", r"\1_\2",
                   re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", type(layer).__name__)).lower()
    return re.fullmatch(re.escape(snake) + r"(_\d+)?", layer.name) is not None


def body(model):
    return [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]


def assert_keras_names(model, ref):
    """Layer for layer (same order, same classes): every name keras.applications gives
    explicitly is the same here; none of ours is a Keras auto-name."""
    ours, theirs = body(model), body(ref)
    assert [type(layer).__name__ for layer in ours] == [
        SAME_CLASS.get(type(layer).__name__, type(layer).__name__) for layer in theirs]
    explicit = [(i, layer.name) for i, layer in enumerate(theirs) if not _auto_name(layer)]
    assert [(i, ours[i].name) for i, _ in explicit] == explicit
    assert not [layer.name for layer in ours if _auto_name(layer)]
    assert model.name == ref.name


def write_legacy_h5(model, path):
    """keras.applications' legacy HDF5 layout (as in tests/test_architectures.py)."""
    from keras.src.legacy.saving import legacy_h5_format
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)
    return path


def build(row, seed=0, **kwargs):
    keras.utils.set_random_seed(seed)
    return row.build(weights=None, **kwargs)


def build_ref(row, seed=1, **kwargs):
    keras.utils.set_random_seed(seed)  # another seed: ours and the reference start different
    return row.ref(weights=None, **kwargs)


# -------------------------------------------------------------------------------- fixtures ----
@pytest.fixture(scope="module", params=ROWS, ids=str)
def arch(request):
    return request.param


@pytest.fixture(scope="module")
def ours_small(arch):
    return build(arch, include_top=False, input_shape=(*arch.small, 3))


@pytest.fixture(scope="module")
def ref_small(arch):
    return build_ref(arch, include_top=False, input_shape=(*arch.small, 3))


@pytest.fixture(scope="module")
def ours_top(arch):
    return build(arch)


@pytest.fixture(scope="module")
def ref_top(arch):
    return build_ref(arch)


# --------------------------------------------------------------------------- contract ----
def test_registered_with_keras_signature(arch):
    assert registry.entry(arch.name).builder is arch.build
    keras_name = arch.ref.__name__
    for spelling in (keras_name, keras_name.lower(), arch.name.replace("v2", "_v2")):
        assert registry.entry(spelling).name == arch.name, spelling
    assert registry.entry(arch.name).keras_name == keras_name
    # keras.applications' signature, then at most a keyword-only `variant` (issue 18:
    # DenseNet's "torchvision" structure), defaulting to keras.applications' structure
    ours = inspect.signature(arch.build).parameters
    extra = [p for p in ours.values() if p.name not in inspect.signature(arch.ref).parameters]
    assert [(p.name, p.kind, p.default) for p in extra] in (
        [], [("variant", inspect.Parameter.KEYWORD_ONLY, "keras")])
    assert inspect.signature(arch.build).replace(
        parameters=[p for p in ours.values() if p not in extra]) == inspect.signature(arch.ref)
    assert "Example" in arch.build.__doc__ and "Note" in arch.build.__doc__


def test_published_numbers(arch):
    ref = published.get(arch.name)
    assert (ref.params.value, ref.trainable_params.value) == (arch.total, arch.trainable)
    assert ref.input_shape == (arch.default, arch.default, 3)


def test_weight_files_equal_keras_applications(arch):
    """File names and MD5 hashes as keras.applications' source has them (the oracle)."""
    source = inspect.getsource(__import__(f"keras.src.applications.{arch.keras_module}",
                                          fromlist=["_"]))
    with_top, no_top = registry.entry(arch.name).imagenet
    stem = "inception_resnet_v2" if arch.name == "inception_resnet_v2" else arch.name
    assert with_top.filename == f"{stem}_weights_tf_dim_ordering_tf_kernels.h5"
    assert no_top.filename == f"{stem}_weights_tf_dim_ordering_tf_kernels_notop.h5"
    for spec in (with_top, no_top):
        assert spec.md5 in source and spec.url.startswith(
            "https://storage.googleapis.com/tensorflow/keras-applications/")
        assert spec.url.rsplit("/", 2)[-2] in source  # the folder of keras' BASE path


def test_preprocessing_equals_keras(arch):
    module = __import__(f"keras.src.applications.{arch.ref.__module__.rsplit('.', 1)[-1]}",
                        fromlist=["_"])
    x = np.random.RandomState(0).uniform(0, 255, size=(2, 5, 5, 3)).astype("float32")
    np.testing.assert_allclose(arch.family.preprocess_input(x.copy()),
                               module.preprocess_input(x.copy()), rtol=1e-6, atol=1e-5)


# --------------------------------------------------------------------- small, no top ----
@ON_REPS
def test_small_notop_shape_and_params(arch, ours_small, ref_small):
    assert tuple(ours_small.output.shape) == (None, *arch.small_out)
    assert tuple(ref_small.output.shape) == (None, *arch.small_out)
    assert ours_small.count_params() == arch.total - arch.head == ref_small.count_params()
    assert trainable_count(ours_small) == arch.trainable - arch.head


@ON_REPS
def test_small_notop_names_match_keras(arch, ours_small, ref_small):
    assert_keras_names(ours_small, ref_small)


@ON_REPS
def test_small_notop_weight_transfer(arch, ours_small, ref_small):
    values = ref_small.get_weights()
    assert not np.array_equal(ours_small.get_weights()[0], values[0])  # different seeds
    ours_small.set_weights(values)
    x = batch((*arch.small, 3))
    np.testing.assert_allclose(predict(ours_small, x), predict(ref_small, x), rtol=0, atol=1e-5)


@ON_REPS
def test_small_notop_legacy_h5_file(arch, ours_small, ref_small, tmp_path):
    """A keras.applications-style `*_notop.h5` written from keras' model loads by layer order."""
    path = write_legacy_h5(ref_small, tmp_path / "ref_notop.h5")
    ours_small.set_weights([w + 1.0 for w in ours_small.get_weights()])  # moved away from ref
    weight_files.load_into(ours_small, path)
    x = batch((*arch.small, 3), seed=1)
    np.testing.assert_allclose(predict(ours_small, x), predict(ref_small, x), rtol=0, atol=1e-5)


@ON_REPS
def test_paper_table_rows_cover_the_summary(arch, ours_small):
    """Every `cnnblocks.summarize` row (no top) belongs to exactly one row of the paper's
    table, so `cnnblocks table` accounts for every parameter."""
    table = published.get(arch.name).table
    assert table
    for row in cnnblocks.summarize(ours_small):
        owners = [p.label for p in table if p.blocks and re.fullmatch(p.blocks, row.name)]
        assert len(owners) == 1, (row.name, owners)


@ON_REPS
def test_summary_kinds(arch, ours_small):
    kinds = [row.kind for row in cnnblocks.summarize(ours_small)]
    expected = {"resnet_v2": {"stem", "max_pool", "preact_bottleneck_module",
                              "post_activation"},
                "densenet": {"stem", "max_pool", "dense_block", "transition_block",
                             "post_activation"},
                "inception_resnet_v2": {"conv_bn_act", "max_pool", "inception_v3_a",
                                        "inception_resnet_a", "inception_resnet_reduction_a",
                                        "inception_resnet_b", "inception_resnet_reduction_b",
                                        "inception_resnet_c"}}[arch.family.FAMILY.name]
    assert set(kinds) == expected


# ---------------------------------------------------------------------- full size, top ----
@pytest.mark.heavy
def test_top_matches_keras(arch, ours_top, ref_top):
    assert ours_top.count_params() == arch.total == ref_top.count_params()
    assert trainable_count(ours_top) == arch.trainable
    assert tuple(ours_top.input.shape) == (None, arch.default, arch.default, 3)
    assert_keras_names(ours_top, ref_top)
    ours_top.set_weights(ref_top.get_weights())
    ours, ref = (keras.Model(m.input, [m.get_layer("predictions").input, m.output])
                 for m in (ours_top, ref_top))
    x = batch((arch.default, arch.default, 3), n=1)
    for a, b in zip(ours(x, training=False), ref(x, training=False), strict=True):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b),
                                   rtol=0, atol=1e-5)


@pytest.mark.heavy
def test_top_macs_depth_and_published(arch, ours_top, ref_top):
    ref = published.get(arch.name)
    macs = cnnblocks.count_macs(ours_top)
    assert macs == cnnblocks.count_macs(ref_top)
    assert ref.macs.matches(macs), (macs, ref.macs.value)
    assert cnnblocks.weight_depth(ours_top) == ref.depth.value
    assert ref.params.matches(ours_top.count_params())
    assert ref.trainable_params.matches(trainable_count(ours_top))


@pytest.mark.heavy
def test_top_feature_taps_follow_the_structural_rule(arch, ours_top, ref_top):
    """The recorded taps are the layers the structural rule finds in keras' model (the same
    positions; keras' unnamed layers have other names)."""
    ours = {i["stage"]: i for i in features.feature_info(ours_top)}
    theirs = {i["stage"]: i for i in features.feature_info(ref_top)}
    assert set(ours) == set(theirs) == {"C2", "C3", "C4", "C5"}
    position = {id(layer): i for m in (ours_top, ref_top) for i, layer in enumerate(m.layers)}
    for stage in ours:
        a, b = ours_top.get_layer(ours[stage]["layer"]), ref_top.get_layer(theirs[stage]["layer"])
        assert position[id(a)] == position[id(b)], (stage, a.name, b.name)
        assert ours[stage]["channels"] == theirs[stage]["channels"]
