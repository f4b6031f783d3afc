"""Every architecture builder through one table-driven harness.

One row per builder (`ROWS`): its exact parameter counts with the source of each number, its
small test input, and its keras.applications oracle where one exists. The checks:

* the builder contract: registered under its name, keras.applications' signature;
* without top at a small input: exact output shape and parameters, layer names equal to
  keras.applications' (every layer but the InputLayer), `set_weights(ref.get_weights())` giving
  the reference's outputs, a keras.applications-style legacy HDF5 file loading to the same
  (`LEGACY_FILE_ROWS`), no Lambda or unregistered layer;
* with top at the default size (`heavy`): exact total and trainable parameters, names, weight
  transfer, and names identical across two builds;
* once per head code path (`rep` rows): every pooling option, default and custom sizes with and
  without a top, `input_tensor`, two builds with identical names, `.keras` save and safe-mode
  load;
* weight files: `weights=<path>`, `weights="imagenet"` from the Keras cache (`KERAS_HOME`), the
  offline error, a file of another architecture refused with the model's weights unchanged;
* every argument error, before anything is built; the registry.

Speed: each model is built once per row group (module-scoped fixtures parametrized by row, so
pytest runs one row's tests together and frees its models before the next row). Builds that need
full-size tops are marked `heavy`.

Counting conventions (Keras `count_params()`): a convolution has `kh*kw*c_in*c_out` weights plus
`c_out` biases; BatchNormalization 4 numbers per channel (gamma, beta, moving mean and variance),
2 of them trainable; Dense `n_in*n_out + n_out`.
"""

import dataclasses
import inspect
import os
import re
import shutil

import h5py
import numpy as np
import pytest

import keras

import cnnblocks
from cnnblocks import apps as classify_app
from cnnblocks import registry
from cnnblocks import weights as weight_files
from cnnblocks.architectures import (VGG11, VGG13, VGG16, VGG19, GoogLeNet, InceptionV3,
                                     ResNet18, ResNet34, ResNet50, ResNet101, ResNet152,
                                     SqueezeNet1_0, SqueezeNet1_1, Xception)

# One check repeated over many architectures: the extra-backend passes run its heavy cases
# for ResNet50 and InceptionV3 only (conftest.py).
pytestmark = pytest.mark.per_architecture

apps = keras.applications


# ----------------------------------------------------------------------------- arithmetic ----
def conv(k, c_in, c_out):
    """A k x k convolution with bias."""
    return k * k * c_in * c_out + c_out


def bn(c):
    """BatchNormalization: gamma, beta, moving mean, moving variance per channel."""
    return 4 * c


def dense(n_in, n_out):
    return n_in * n_out + n_out


# VGG (Simonyan & Zisserman 2015, Table 1): 3x3 convolutions with bias, no BN; the head is
# FC-4096, FC-4096, FC-1000 on the 7x7x512 map of a 224x224 input.
VGG_HEAD = dense(7 * 7 * 512, 4096) + dense(4096, 4096) + dense(4096, 1000)  # 123,642,856
# Configuration A: 64 | 128 | 256,256 | 512,512 | 512,512.
VGG11_TOTAL = (conv(3, 3, 64) + conv(3, 64, 128) + conv(3, 128, 256) + conv(3, 256, 256)
               + conv(3, 256, 512) + conv(3, 512, 512) + 2 * conv(3, 512, 512)
               + VGG_HEAD)  # = 132,863,336 (published.md, "computed, Keras-style")
# Configuration B: 64,64 | 128,128 | 256,256 | 512,512 | 512,512.
VGG13_TOTAL = (conv(3, 3, 64) + conv(3, 64, 64) + conv(3, 64, 128) + conv(3, 128, 128)
               + conv(3, 128, 256) + conv(3, 256, 256) + conv(3, 256, 512) + conv(3, 512, 512)
               + 2 * conv(3, 512, 512) + VGG_HEAD)  # = 133,047,848 (= torchvision vgg13)


# ResNet (He et al. 2015, Table 1) with keras.applications' conventions: every convolution has a
# bias and is followed by BN; projection shortcuts (1x1 conv + BN) only where the shape changes.
RESNET_STEM = conv(7, 3, 64) + bn(64)  # conv1 7x7/2 + conv1_bn: 9,728


def basic(c_in, f):
    """A basic module: 3x3 conv + BN, 3x3 conv + BN."""
    return conv(3, c_in, f) + bn(f) + conv(3, f, f) + bn(f)


def projection(c_in, c_out):
    return conv(1, c_in, c_out) + bn(c_out)


def basic_stage(c_in, f, blocks):
    """The first module projects (c_in != f or stride 2); stage conv2_x (c_in == f) does not."""
    first = basic(c_in, f) + (projection(c_in, f) if c_in != f else 0)
    return first + (blocks - 1) * basic(f, f)


RESNET18_TOTAL = (RESNET_STEM + basic_stage(64, 64, 2) + basic_stage(64, 128, 2)
                  + basic_stage(128, 256, 2) + basic_stage(256, 512, 2)
                  + dense(512, 1000))  # = 11,703,912
RESNET34_TOTAL = (RESNET_STEM + basic_stage(64, 64, 3) + basic_stage(64, 128, 4)
                  + basic_stage(128, 256, 6) + basic_stage(256, 512, 3)
                  + dense(512, 1000))  # = 21,823,208
# Non-trainable = BN moving mean + variance, 2 per BN channel. BN channels: stem 64, then per
# module 2 f, plus f per projection.
RESNET18_BN = 64 + 4 * 64 + (5 * 128) + (5 * 256) + (5 * 512)  # 4,800
RESNET34_BN = 64 + 6 * 64 + (8 + 1) * 128 + (12 + 1) * 256 + (6 + 1) * 512  # 8,512


# Xception (Chollet 2017, Figure 5) with keras.applications' conventions: no conv bias, BN after
# every convolution. A 3x3 separable convolution c_in -> c_out has 9 c_in depthwise and
# c_in c_out pointwise weights; a module has one per width, plus a 1x1 projection + BN when it
# pools.
def separable(c_in, c_out):
    return 9 * c_in + c_in * c_out


def xception_module_params(c_in, widths, project):
    convs, c = 0, c_in
    for width in widths:
        convs, c = convs + separable(c, width) + bn(width), width
    return convs + (c_in * widths[-1] + bn(widths[-1]) if project else 0)


XCEPTION_MODULES = ([(64, (128, 128), True), (128, (256, 256), True), (256, (728, 728), True)]
                    + [(728, (728,) * 3, False)] * 8 + [(728, (728, 1024), True)])
XCEPTION_BODY = (3 * 3 * 3 * 32 + bn(32) + 3 * 3 * 32 * 64 + bn(64)  # stem, 23,360
                 + sum(xception_module_params(*m) for m in XCEPTION_MODULES)
                 + separable(1024, 1536) + bn(1536) + separable(1536, 2048) + bn(2048))
XCEPTION_TOTAL = XCEPTION_BODY + dense(2048, 1000)  # = 22,910,480 (published.md, Keras docs)
# BN channels: 32 + 64 in the stem, every separable width, the 4 projections, 1536 + 2048.
XCEPTION_BN = (96 + sum(sum(w) + (w[-1] if p else 0) for _, w, p in XCEPTION_MODULES)
               + 1536 + 2048)  # 27,264
XCEPTION_TRAINABLE = XCEPTION_TOTAL - 2 * XCEPTION_BN  # = 22,855,952 = the paper's Table 3

# InceptionV3: 23,851,784 / 23,817,352 (published.md: Keras docs, keras 3.15 build). Its BN has
# no gamma and its convolutions no bias: 3 numbers per BN channel (beta, moving mean and
# variance), 1 trainable; (total - trainable) / 2 = 17,216 BN channels. torchvision's
# inception_v3 counts gamma and beta (2 per channel), no moving statistics: without the aux head
# it has 23,834,568 (published.md, torchvision metadata) = 23,851,784 - 17,216.
INCEPTION_V3_TOTAL, INCEPTION_V3_TRAINABLE = 23_851_784, 23_817_352
TORCHVISION_INCEPTION_V3_NO_AUX = 23_834_568


# GoogLeNet (Szegedy et al. 2014, Table 1), the paper's model: convolutions with bias, no BN.
def inception(c_in, f1, r3, f3, r5, f5, pool_proj):
    return (conv(1, c_in, f1) + conv(1, c_in, r3) + conv(3, r3, f3) + conv(1, c_in, r5)
            + conv(5, r5, f5) + conv(1, c_in, pool_proj))


GOOGLENET_TOTAL = (conv(7, 3, 64) + conv(1, 64, 64) + conv(3, 64, 192)  # stem
                   + inception(192, 64, 96, 128, 16, 32, 32)  # 3a
                   + inception(256, 128, 128, 192, 32, 96, 64)  # 3b
                   + inception(480, 192, 96, 208, 16, 48, 64)  # 4a
                   + inception(512, 160, 112, 224, 24, 64, 64)  # 4b
                   + inception(512, 128, 128, 256, 24, 64, 64)  # 4c
                   + inception(512, 112, 144, 288, 32, 64, 64)  # 4d
                   + inception(528, 256, 160, 320, 32, 128, 128)  # 4e
                   + inception(832, 256, 160, 320, 32, 128, 128)  # 5a
                   + inception(832, 384, 192, 384, 48, 128, 128)  # 5b
                   + dense(1024, 1000))  # = 6,998,552


# SqueezeNet (Iandola et al. 2016, Table 1; 1.1 the authors' revision, torchvision's
# squeezenet1_1): convolutions with bias, no BN; a fire module is squeeze 1x1, expand 1x1 and
# 3x3; the head is conv10 (1x1, 512 -> 1000).
def fire(c_in, s, e1, e3):
    return conv(1, c_in, s) + conv(1, s, e1) + conv(3, s, e3)


SQUEEZE_FIRES = [(16, 64, 64), (16, 64, 64), (32, 128, 128), (32, 128, 128), (48, 192, 192),
                 (48, 192, 192), (64, 256, 256), (64, 256, 256)]  # fire2 ... fire9


def squeezenet_body(stem_kernel, stem_filters):
    total, c = conv(stem_kernel, 3, stem_filters), stem_filters
    for s, e1, e3 in SQUEEZE_FIRES:
        total, c = total + fire(c, s, e1, e3), e1 + e3
    return total


SQUEEZENET_HEAD = conv(1, 512, 1000)
SQUEEZENET1_0_TOTAL = squeezenet_body(7, 96) + SQUEEZENET_HEAD  # = 1,248,424 (torchvision)
SQUEEZENET1_1_TOTAL = squeezenet_body(3, 64) + SQUEEZENET_HEAD  # = 1,235,496 (torchvision)


# ----------------------------------------------------------------------------------- table ----
@dataclasses.dataclass(frozen=True)
class Row:
    """One builder. `small_out` is the feature map (channels last) without top at `small`."""

    name: str            # registry name = the model's default name
    build: object        # our builder
    ref: object          # the keras.applications oracle, or None
    total: int           # count_params(), include_top=True, 1000 classes, default size
    trainable: int
    head: int            # parameters of the top (total - count without top)
    small: tuple         # (H, W) of the small test input
    small_out: tuple     # output shape without top at `small`
    default: int = 224   # ImageNet input size
    min_size: int = 32
    same_names: bool = True  # all layer names equal keras.applications' (False: Xception and
    #                          InceptionV3, where only the names keras.applications gives
    #                          explicitly are compared; it leaves their shortcuts/convs unnamed)
    rep: bool = False    # runs the checks that need extra builds (pooling, input_tensor, .keras):
    #                      one row per head code path - VGG's own top, and common.classifier
    #                      (ResNet18 stands for Xception and InceptionV3, which share it)
    taps: tuple = ()     # ((layer, (H, W, C)), ...): feature maps with top at the default size

    def __str__(self):
        return self.name


SMALL = (72, 96)  # odd sizes inside the network (72 -> ... -> 9 -> 5 -> 3): padding matters
ROWS = [
    # VGG: totals of VGG16/19 from published.md (Keras docs, keras 3.15 build); VGG11/13 above.
    Row("vgg11", VGG11, None, VGG11_TOTAL, VGG11_TOTAL, VGG_HEAD, SMALL, (2, 3, 512), rep=True),
    Row("vgg13", VGG13, None, VGG13_TOTAL, VGG13_TOTAL, VGG_HEAD, SMALL, (2, 3, 512)),
    Row("vgg16", VGG16, apps.VGG16, 138_357_544, 138_357_544, VGG_HEAD, SMALL, (2, 3, 512)),
    Row("vgg19", VGG19, apps.VGG19, 143_667_240, 143_667_240, VGG_HEAD, SMALL, (2, 3, 512)),
    # ResNet: ResNet18/34 derived above; ResNet50/101/152 from published.md (Keras docs).
    Row("resnet18", ResNet18, None, RESNET18_TOTAL, RESNET18_TOTAL - 2 * RESNET18_BN,
        dense(512, 1000), SMALL, (3, 3, 512), rep=True),
    Row("resnet34", ResNet34, None, RESNET34_TOTAL, RESNET34_TOTAL - 2 * RESNET34_BN,
        dense(512, 1000), SMALL, (3, 3, 512)),
    Row("resnet50", ResNet50, apps.ResNet50, 25_636_712, 25_583_592, dense(2048, 1000), SMALL,
        (3, 3, 2048)),
    Row("resnet101", ResNet101, apps.ResNet101, 44_707_176, 44_601_832, dense(2048, 1000),
        SMALL, (3, 3, 2048)),
    Row("resnet152", ResNet152, apps.ResNet152, 60_419_944, 60_268_520, dense(2048, 1000),
        SMALL, (3, 3, 2048)),
    # Xception: totals derived above (= published.md / the paper's Table 3). At 71x104:
    # 71 -> 35 -> 33 -> 17 -> 9 -> 5 -> 3 and 104 -> 51 -> 49 -> 25 -> 13 -> 7 -> 4.
    Row("xception", Xception, apps.Xception, XCEPTION_TOTAL, XCEPTION_TRAINABLE,
        dense(2048, 1000), (71, 104), (3, 4, 2048), default=299, min_size=71, same_names=False,
        # Figure 5 of the paper, at 299x299 (its 18x18 middle flow is 19x19 here, as in
        # keras.applications: the entry-flow max pools pad "same").
        taps=(("block1_conv2_act", (147, 147, 64)), ("block2_pool", (74, 74, 128)),
              ("block3_pool", (37, 37, 256)), ("block4_pool", (19, 19, 728)),
              ("block12_sepconv3_bn", (19, 19, 728)), ("block13_pool", (10, 10, 1024)),
              ("block14_sepconv1_act", (10, 10, 1536)),
              ("block14_sepconv2_act", (10, 10, 2048)))),
    # InceptionV3: totals from published.md (Keras docs). At 75x107: 75 -> 37 -> 35 -> 17 -> 15
    # -> 7 -> 3 -> 1 and 107 -> 53 -> 51 -> 25 -> 23 -> 11 -> 5 -> 2.
    Row("inception_v3", InceptionV3, apps.InceptionV3, INCEPTION_V3_TOTAL,
        INCEPTION_V3_TRAINABLE, dense(2048, 1000), (75, 107), (1, 2, 2048), default=299,
        min_size=75, same_names=False,
        # Table 1 of the paper at 299x299 (stem 35x35x192; 3 x Inception 35x35x288; 5 x
        # Inception 17x17x768; 2 x Inception 8x8x1280 -> 8x8x2048).
        taps=(("pool2", (35, 35, 192)), ("mixed0", (35, 35, 256)), ("mixed2", (35, 35, 288)),
              ("mixed3", (17, 17, 768)), ("mixed7", (17, 17, 768)), ("mixed8", (8, 8, 1280)),
              ("mixed9_0", (8, 8, 768)), ("mixed9", (8, 8, 2048)), ("mixed9_1", (8, 8, 768)),
              ("mixed10", (8, 8, 2048)))),
    # GoogLeNet: the paper's Table 1 channels, derivation above (no keras.applications model;
    # tests/test_googlenet.py checks the rest). At 72x96: ceil(s / 32) = 3, 3.
    Row("googlenet", GoogLeNet, None, GOOGLENET_TOTAL, GOOGLENET_TOTAL, dense(1024, 1000),
        SMALL, (3, 3, 1024)),
    # SqueezeNet: derivation above (= torchvision's counts). Ceil-mode pools, at 72x96:
    # 1.0: 33x45 -> 16x22 -> 8x11 -> 4x5; 1.1: 35x47 -> 17x23 -> 8x11 -> 4x5.
    Row("squeezenet1_0", SqueezeNet1_0, None, SQUEEZENET1_0_TOTAL, SQUEEZENET1_0_TOTAL,
        SQUEEZENET_HEAD, SMALL, (4, 5, 512), rep=True),
    Row("squeezenet1_1", SqueezeNet1_1, None, SQUEEZENET1_1_TOTAL, SQUEEZENET1_1_TOTAL,
        SQUEEZENET_HEAD, SMALL, (4, 5, 512)),
]
REPS = [row for row in ROWS if row.rep]
REF_ROWS = [row for row in ROWS if row.ref is not None]
# keras.applications-style legacy HDF5 files are tested on one row per family: the weight order
# of every other row is proven by `set_weights(ref.get_weights())` plus equal layer names.
LEGACY_FILE_ROWS = [row for row in REF_ROWS
                    if row.name in ("vgg16", "resnet50", "xception", "inception_v3")]

# Cross-check with an independent convention: torchvision counts neither conv biases nor BN
# moving statistics. Keras-style total - 1 bias per BN channel - 2 moving stats per BN channel
# must give torchvision's num_params (torchvision weight metadata, published.md).
TORCHVISION_PARAMS = {
    "vgg11": 132_863_336, "vgg13": 133_047_848, "vgg16": 138_357_544, "vgg19": 143_667_240,
    "resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032,
    "resnet101": 44_549_160, "resnet152": 60_192_808,
}


# -------------------------------------------------------------------------------- helpers ----
def batch(shape, n=2, seed=0):
    """A seeded batch in [0, 1) (small values keep deep random-init activations moderate)."""
    return np.random.RandomState(seed).uniform(size=(n, *shape)).astype("float32")


def predict(model, x):
    """Runs `model` eagerly: no `predict()` function tracing (seconds per deep model)."""
    return keras.tree.map_structure(keras.ops.convert_to_numpy, model(x, training=False))


def names(model):
    """Every layer name except the InputLayer's (Keras numbers those per process)."""
    return [layer.name for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]


def _auto_name(layer):
    """The name Keras gives an unnamed layer: its class in snake case, maybe `_<n>`."""
    snake = re.sub(r"([a-z])([A-Z])", r"\1_\2",
                   re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", type(layer).__name__)).lower()
    return re.fullmatch(re.escape(snake) + r"(_\d+)?", layer.name) is not None


def assert_keras_named_layers(model, ref):
    """Layer for layer (same order, same types), every layer keras.applications names
    explicitly has that name in `model`; its auto-named layers (`conv2d_12`) may differ."""
    ours = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    theirs = [layer for layer in ref.layers if not isinstance(layer, keras.layers.InputLayer)]
    assert [type(layer).__name__ for layer in ours] == [type(layer).__name__ for layer in theirs]
    explicit = [(i, layer.name) for i, layer in enumerate(theirs) if not _auto_name(layer)]
    assert explicit, "the reference names no layer explicitly"
    assert [(i, ours[i].name) for i, _ in explicit] == explicit


def assert_names_match_keras(arch, model, ref):
    """Every layer name equal to keras.applications' where the row says so (`same_names`),
    else every name keras sets explicitly (`assert_keras_named_layers`); and the model's."""
    if arch.same_names:
        assert names(model) == names(ref)
    else:
        assert_keras_named_layers(model, ref)
    assert model.name == ref.name


def trainable_count(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def build(row, seed=0, **kwargs):
    keras.utils.set_random_seed(seed)
    kwargs.setdefault("weights", None)  # keras' default is "imagenet" where it ships weights
    return row.build(**kwargs)


def build_ref(row, seed=1, **kwargs):
    keras.utils.set_random_seed(seed)  # another seed: ours and the reference start different
    return row.ref(weights=None, **kwargs)


def write_legacy_h5(model, path):
    """Writes `model`'s weights in the legacy HDF5 layout of keras.applications' ImageNet files
    (`layer_names` attribute, one group per layer). Keras 3's `save_weights` only writes its own
    `.weights.h5` format, so this uses Keras' legacy writer (test-only import)."""
    from keras.src.legacy.saving import legacy_h5_format
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)
    return path


def assert_same_outputs(a, b, x, atol=1e-5):
    """Every output of `a` and `b` on `x` agrees within `atol` (absolute)."""
    for ya, yb in zip(*(keras.tree.flatten(predict(m, x)) for m in (a, b)), strict=True):
        assert ya.shape == yb.shape
        np.testing.assert_allclose(ya, yb, rtol=0, atol=atol)


def snapshot(model):
    return [np.array(w) for w in model.get_weights()]


def assert_weights_equal(model, values):
    current = model.get_weights()
    assert len(current) == len(values)
    assert all(np.array_equal(a, b) for a, b in zip(current, values))


# ------------------------------------------------------------------- per-row fixtures ----
#: The rows whose heavy cases also run on the JAX and PyTorch passes (`./dev.sh test-backends`
#: deselects the other rows' heavy cases; tests/test_backends.py compares every architecture
#: with TensorFlow there).
ALL_BACKENDS = ("resnet50", "inception_v3")


def _params(rows):
    return [pytest.param(row, id=str(row), marks=[pytest.mark.all_backends]
                         if row.name in ALL_BACKENDS else []) for row in rows]


@pytest.fixture(scope="module", params=_params(ROWS))
def arch(request):
    """The row under test; pytest runs each row's tests together (module-scoped parameter)."""
    return request.param


# Tests that only some rows concern reuse the same module-scoped `arch` instances (pytest groups
# parameters by value), so they build nothing extra and skip nothing.
ON_REF_ROWS = pytest.mark.parametrize("arch", _params(REF_ROWS), indirect=True)
ON_REPS = pytest.mark.parametrize("arch", _params(REPS), indirect=True)


@pytest.fixture(scope="module")
def ours_small(arch):
    return build(arch, include_top=False, input_shape=(*arch.small, 3))


@pytest.fixture(scope="module")
def ref_small(arch):
    assert arch.ref is not None, "parametrize with REF_ROWS"
    return build_ref(arch, include_top=False, input_shape=(*arch.small, 3))


@pytest.fixture(scope="module")
def ours_top(arch):
    return build(arch)


@pytest.fixture(scope="module")
def ref_top(arch):
    assert arch.ref is not None, "parametrize with REF_ROWS"
    return build_ref(arch)


# --------------------------------------------------------------------- per-row, light ----
def test_registered_with_keras_signature(arch):
    assert registry.entry(arch.name).builder is arch.build
    assert arch.name in cnnblocks.list_models()
    params = [(p.name, p.default) for p in inspect.signature(arch.build).parameters.values()]
    # keras.applications' defaults: "imagenet" where keras ships ImageNet weights.
    weights = "imagenet" if arch.ref is not None else None
    assert params[:7] == [
        ("include_top", True), ("weights", weights), ("input_tensor", None),
        ("input_shape", None), ("pooling", None), ("classes", 1000),
        ("classifier_activation", "softmax")]
    if arch.ref is not None:
        keras_params = inspect.signature(arch.ref).parameters
        assert [(n, keras_params[n].default) for n, _ in params[:7]] == params[:7]
    # family options (GoogLeNet's, `variant`) may sit between; `name` defaults to the model's
    assert dict(params)["name"] == arch.name
    assert arch.build.__doc__ and "Example" in arch.build.__doc__


def test_small_notop_shape_and_params(arch, ours_small):
    assert ours_small.name == arch.name
    assert tuple(ours_small.output.shape) == (None, *arch.small_out)
    # Without top: the total minus the head, which is all trainable.
    assert ours_small.count_params() == arch.total - arch.head
    assert trainable_count(ours_small) == arch.trainable - arch.head


def test_small_notop_layers_are_safe_mode_serializable(ours_small):
    """No Lambda; every layer a Keras built-in or a registered cnnblocks layer, so `.keras`
    files load with `safe_mode=True` (the round trip itself runs on the `rep` rows)."""
    custom = keras.saving.get_custom_objects()
    for layer in ours_small.layers:
        assert not isinstance(layer, keras.layers.Lambda), layer.name
        cls = type(layer)
        assert (cls.__module__.startswith("keras.")
                or keras.saving.get_registered_name(cls) in custom), (layer.name, cls)


@ON_REF_ROWS
def test_small_notop_names_match_keras(arch, ours_small, ref_small):
    assert_names_match_keras(arch, ours_small, ref_small)


@ON_REF_ROWS
def test_small_notop_weight_transfer(arch, ours_small, ref_small):
    values = ref_small.get_weights()
    assert not np.array_equal(ours_small.get_weights()[0], values[0])  # different seeds
    ours_small.set_weights(values)
    assert_same_outputs(ours_small, ref_small, batch((*arch.small, 3)))


@pytest.mark.parametrize("arch", LEGACY_FILE_ROWS, indirect=True, ids=str)
def test_small_notop_legacy_h5_file(arch, ours_small, ref_small, tmp_path):
    """A keras.applications-style `*_notop.h5` written from the reference loads by layer order."""
    path = write_legacy_h5(ref_small, tmp_path / "ref_notop.h5")
    ours_small.set_weights([w + 1.0 for w in snapshot(ours_small)])  # moved away from ref
    weight_files.load_into(ours_small, path)
    assert_same_outputs(ours_small, ref_small, batch((*arch.small, 3), seed=1))


def test_xception_and_inception_v3_counts_against_published():
    # The derivation above against Keras docs (published.md) and the Xception paper's Table 3.
    assert (XCEPTION_TOTAL, XCEPTION_TRAINABLE) == (22_910_480, 22_855_952)
    # InceptionV3 against torchvision's other convention (see INCEPTION_V3_TOTAL).
    bn_channels = (INCEPTION_V3_TOTAL - INCEPTION_V3_TRAINABLE) // 2
    assert bn_channels == 17_216
    assert INCEPTION_V3_TOTAL - bn_channels == TORCHVISION_INCEPTION_V3_NO_AUX


# --------------------------------------------------------------------- per-row, heavy ----
@pytest.mark.heavy
def test_top_params_and_shape(arch, ours_top):
    assert ours_top.count_params() == arch.total
    assert trainable_count(ours_top) == arch.trainable
    assert tuple(ours_top.input.shape) == (None, arch.default, arch.default, 3)
    assert tuple(ours_top.output.shape) == (None, 1000)
    if arch.name in TORCHVISION_PARAMS:
        bn_channels = (arch.total - arch.trainable) // 2
        assert arch.total - 3 * bn_channels == TORCHVISION_PARAMS[arch.name]


@pytest.mark.heavy
def test_top_names_stable_across_builds(arch, ours_small, ours_top):
    """Two builds in one process (without and with top) name the shared layers identically."""
    body = names(ours_small)
    assert names(ours_top)[:len(body)] == body
    assert names(ours_top)[-1] == "predictions"


@pytest.mark.heavy
def test_top_feature_map_sizes(arch, ours_top):
    for layer, shape in arch.taps:
        assert tuple(ours_top.get_layer(layer).output.shape) == (None, *shape), layer


@pytest.mark.heavy
@ON_REF_ROWS
def test_top_matches_keras(arch, ours_top, ref_top):
    assert_names_match_keras(arch, ours_top, ref_top)
    assert ours_top.count_params() == ref_top.count_params()
    ours_top.set_weights(ref_top.get_weights())
    # Predictions and the classifier's input (pooled features / fc2: stricter than softmax).
    ours, ref = (keras.Model(m.input, [m.get_layer("predictions").input, m.output])
                 for m in (ours_top, ref_top))
    assert_same_outputs(ours, ref, batch((arch.default, arch.default, 3), n=1))


# ---------------------------------------------------- once per head code path (rep rows) ----
@ON_REPS
def test_pooling_sizes_and_input_tensor(arch, tmp_path):
    channels = arch.small_out[-1]
    # Every pooling option; "avg" on an input without a static size (any size >= min_size).
    model = build(arch, include_top=False, pooling="avg")
    assert tuple(model.input.shape) == (None, None, None, 3)
    assert (tuple(model.output.shape), model.layers[-1].name) == ((None, channels), "avg_pool")
    assert predict(model, batch((arch.min_size, arch.min_size + 8, 3), n=1)).shape == (1, channels)
    model = build(arch, include_top=False, input_shape=(*arch.small, 3), pooling="max")
    assert (tuple(model.output.shape), model.layers[-1].name) == ((None, channels), "max_pool")
    # With top at a custom size on a given input tensor, other classes and activation.
    tensor = keras.Input((*arch.small, 3))
    model = build(arch, input_tensor=tensor, classes=10, classifier_activation=None)
    assert model.inputs[0] is tensor
    assert tuple(model.output.shape) == (None, 10)
    assert model.get_layer("predictions").get_config()["activation"] == "linear"
    # Two models combine in one functional model (an ensemble), which saves and loads; their
    # inputs have keras.applications' name in every build (issue 28: it was numbered).
    a = build(arch, include_top=False, pooling="avg", input_shape=(*arch.small, 3))
    b = build(arch, include_top=False, pooling="avg", input_shape=(*arch.small, 3), name="b")
    assert a.input.name == b.input.name == "input_layer"
    image = keras.Input((*arch.small, 3))
    pair = keras.Model(image, keras.layers.Concatenate()([a(image), b(image)]))
    assert tuple(pair.output.shape) == (None, 2 * channels)
    path = tmp_path / "pair.keras"
    pair.save(path)
    assert_same_outputs(keras.models.load_model(path, safe_mode=True), pair,
                        batch((*arch.small, 3)), atol=1e-6)


@ON_REPS
def test_two_builds_identical_names_and_keras_file_roundtrip(arch, ours_small, tmp_path):
    second = build(arch, include_top=False, input_shape=(*arch.small, 3))
    assert names(second) == names(ours_small)
    assert len(set(names(second))) == len(names(second))
    path = tmp_path / f"{arch.name}.keras"
    second.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    assert names(loaded) == names(second)
    assert_same_outputs(loaded, second, batch((*arch.small, 3)), atol=1e-6)


# ------------------------------------------------------------------------- weight files ----
VGG16_NOTOP = registry.entry("vgg16").imagenet[1]
RESNET50_NOTOP = registry.entry("resnet50").imagenet[1]
SMALL_SHAPE = (*SMALL, 3)


def _row(name):
    return next(row for row in ROWS if row.name == name)


@pytest.fixture(scope="module")
def vgg16_ref_file(tmp_path_factory):
    """A randomly initialised keras.applications VGG16 (no top) and its legacy HDF5 file."""
    ref = build_ref(_row("vgg16"), include_top=False, input_shape=SMALL_SHAPE)
    path = tmp_path_factory.mktemp("vgg16") / VGG16_NOTOP.filename
    yield ref, write_legacy_h5(ref, path)
    shutil.rmtree(path.parent, ignore_errors=True)


@pytest.fixture
def no_download(monkeypatch):
    """Any download attempt fails at once (and is recorded)."""
    calls = []

    def get_file(*args, **kwargs):
        calls.append((args, kwargs))
        raise OSError("network disabled in tests")

    monkeypatch.setattr(keras.utils, "get_file", get_file)
    return calls


def test_weights_path_loads_legacy_file(vgg16_ref_file):
    ref, path = vgg16_ref_file
    model = build(_row("vgg16"), include_top=False, input_shape=SMALL_SHAPE, weights=path)
    assert_same_outputs(model, ref, batch(SMALL_SHAPE))


def _published_hash_for(monkeypatch, path, spec):
    """Makes the hash check see `path` (a random-init stand-in) as the published file."""
    real = weight_files.md5_of
    monkeypatch.setattr(weight_files, "md5_of",
                        lambda p: spec.md5 if os.path.samefile(p, path) else real(p))


def test_imagenet_weights_from_keras_cache(vgg16_ref_file, tmp_path, monkeypatch, no_download):
    ref, path = vgg16_ref_file
    (tmp_path / "models").mkdir()
    os.link(path, tmp_path / "models" / VGG16_NOTOP.filename)  # the name keras.applications uses
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    _published_hash_for(monkeypatch, path, VGG16_NOTOP)
    model = build(_row("vgg16"), include_top=False, input_shape=SMALL_SHAPE, weights="imagenet")
    assert_same_outputs(model, ref, batch(SMALL_SHAPE))
    assert no_download == []  # found in the cache: no download attempted


def test_imagenet_file_with_wrong_hash_is_refused(vgg16_ref_file, tmp_path, monkeypatch,
                                                  no_download):
    """A wrong file with the right name in the Keras cache (here: random weights) fails the
    published MD5 check, with the file to delete named, before anything is built."""
    _, path = vgg16_ref_file
    (tmp_path / "models").mkdir()
    cached = tmp_path / "models" / VGG16_NOTOP.filename
    os.link(path, cached)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(weight_files.WeightFileError,
                       match=rf"{re.escape(str(cached))}.*{VGG16_NOTOP.md5}.*Delete"):
        build(_row("vgg16"), include_top=False, input_shape=SMALL_SHAPE, weights="imagenet")
    assert no_download == []


def test_imagenet_offline_error_names_file_and_folder(tmp_path, monkeypatch, no_download):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError) as info:
        build(_row("vgg16"), include_top=False, input_shape=SMALL_SHAPE, weights="imagenet")
    assert isinstance(info.value, weight_files.WeightsUnavailableError)
    message = str(info.value)
    assert VGG16_NOTOP.filename in message
    assert str(tmp_path / "models") in message
    assert VGG16_NOTOP.url in message
    assert len(no_download) == 1


def test_imagenet_offline_error_comes_before_building(tmp_path, monkeypatch, no_download):
    """The missing file is reported before a single layer is built (no 10 s wait for it)."""
    def no_input(*args, **kwargs):
        raise AssertionError("the model was built before the weight file was looked up")

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(keras, "Input", no_input)
    with pytest.raises(weight_files.WeightsUnavailableError, match="resnet152"):
        cnnblocks.ResNet152(weights="imagenet")


def test_imagenet_download_uses_keras_get_file(tmp_path, monkeypatch):
    """When missing, the file is fetched with keras.utils.get_file into $KERAS_HOME/models,
    checked against keras.applications' MD5."""
    calls = []

    def get_file(fname, origin, **kwargs):
        calls.append((fname, origin, kwargs))
        return os.path.join(kwargs["cache_dir"], kwargs["cache_subdir"], fname)

    monkeypatch.setattr(keras.utils, "get_file", get_file)
    monkeypatch.setattr(weight_files, "md5_of", lambda p: RESNET50_NOTOP.md5)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    path = weight_files.imagenet_file(registry.entry("resnet50"), include_top=False)
    assert path == str(tmp_path / "models" / RESNET50_NOTOP.filename)
    assert calls == [(RESNET50_NOTOP.filename, RESNET50_NOTOP.url,
                      {"cache_dir": str(tmp_path), "cache_subdir": "models",
                       "file_hash": RESNET50_NOTOP.md5})]


def test_imagenet_file_table():
    """Every model with a keras.applications oracle and ImageNet weights has both files."""
    for key in ("vgg16", "vgg19", "resnet50", "resnet101", "resnet152", "xception",
                "inception_v3"):
        top, notop = registry.entry(key).imagenet
        assert top.filename == f"{key}_weights_tf_dim_ordering_tf_kernels.h5"
        assert notop.filename == f"{key}_weights_tf_dim_ordering_tf_kernels_notop.h5"
    with pytest.raises(ValueError, match="resnet18"):
        weight_files.imagenet_file(registry.entry("resnet18"), include_top=True)


def test_file_of_other_model_is_refused_and_weights_kept(vgg16_ref_file, tmp_path):
    row = _row("vgg11")
    shape = (32, 32, 3)
    # Same layers, other classes: Keras fails on the last layer after assigning the others.
    other = build(row, input_shape=shape, classes=10, seed=3)
    path = write_legacy_h5(other, tmp_path / "vgg11_10_classes.h5")
    model = build(row, input_shape=shape)
    before = snapshot(model)
    with pytest.raises(ValueError, match=r"vgg11_10_classes\.h5.* does not fit model 'vgg11'"):
        weight_files.load_into(model, path)
    assert_weights_equal(model, before)
    # Another architecture (VGG16's 13 convolutions), directly and through a builder.
    _, vgg16_path = vgg16_ref_file
    with pytest.raises(ValueError, match="does not fit model 'vgg11'"):
        weight_files.load_into(model, vgg16_path)
    assert_weights_equal(model, before)
    with pytest.raises(ValueError, match="does not fit model 'vgg13'"):
        build(_row("vgg13"), include_top=False, input_shape=shape, weights=vgg16_path)


@pytest.mark.heavy
@pytest.mark.parametrize("arch", _params([_row("resnet50")]), indirect=True)
def test_imagenet_top_file_resnet50(arch, ref_top, tmp_path, monkeypatch, no_download):
    """`resnet50_weights_tf_dim_ordering_tf_kernels.h5` in the Keras cache gives the reference."""
    spec = registry.entry("resnet50").imagenet[0]
    assert spec.filename == "resnet50_weights_tf_dim_ordering_tf_kernels.h5"
    (tmp_path / "models").mkdir()
    path = write_legacy_h5(ref_top, tmp_path / "models" / spec.filename)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    _published_hash_for(monkeypatch, path, spec)
    model = build(arch, weights="imagenet")
    assert_same_outputs(model, ref_top, batch((224, 224, 3), n=1))
    assert no_download == []


# ------------------------------------------------------------------------ argument errors ----
def _imagenet(row):
    return registry.entry(row.name).imagenet is not None


NOT_AVAILABLE = r"`weights='imagenet'` is not available"

# (id, kwargs(row), exception, message pattern(row)): each raised before anything is built.
ERRORS = [
    ("bad_pooling", lambda r: dict(include_top=False, pooling="mean"), ValueError,
     lambda r: r"`pooling`.*'mean'"),
    ("imagenet_top_classes", lambda r: dict(weights="imagenet", classes=10), ValueError,
     lambda r: r"`classes`.*classes=10" if _imagenet(r) else NOT_AVAILABLE),
    ("imagenet_channels", lambda r: dict(weights="imagenet", include_top=False,
                                         input_shape=(r.default, r.default, 1)), ValueError,
     lambda r: r"3 input channels.*input_shape=" if _imagenet(r) else NOT_AVAILABLE),
    ("imagenet_top_shape", lambda r: dict(weights="imagenet",
                                          input_shape=(r.default + 32, r.default + 32, 3)),
     ValueError,
     lambda r: rf"`input_shape` must be \({r.default}, {r.default}, 3\); received "
     rf"\({r.default + 32}, " if _imagenet(r) else NOT_AVAILABLE),
    ("imagenet_activation", lambda r: dict(weights="imagenet", classifier_activation="relu"),
     ValueError,
     lambda r: r"`classifier_activation`.*'relu'" if _imagenet(r) else NOT_AVAILABLE),
    ("top_without_static_shape", lambda r: dict(input_shape=(None, None, 3)), ValueError,
     lambda r: r"static.*\(None, None, 3\)"),
    ("too_small", lambda r: dict(include_top=False,
                                 input_shape=(r.min_size - 1, r.min_size, 3)), ValueError,
     lambda r: rf"at least {r.min_size}x{r.min_size}.*\({r.min_size - 1}, {r.min_size}, 3\)"),
    ("bad_weights_path", lambda r: dict(weights="/no/such/file.h5"), ValueError,
     lambda r: r"`weights`.*'/no/such/file.h5'"),
    ("weights_path_is_a_folder", lambda r: dict(weights=os.sep), ValueError,
     lambda r: rf"`weights`.*received {re.escape(repr(os.sep))}"),
    ("bad_input_shape", lambda r: dict(input_shape=(224, 224)), ValueError,
     lambda r: r"`input_shape`.*\(224, 224\)"),
    ("zero_classes", lambda r: dict(classes=0), ValueError, lambda r: r"`classes`.*0"),
    ("float_classes", lambda r: dict(classes=10.0), TypeError, lambda r: r"`classes`.*10\.0"),
    ("include_top_not_bool", lambda r: dict(include_top="yes"), TypeError,
     lambda r: r"`include_top`.*'yes'"),
]


@pytest.mark.parametrize("error", ERRORS, ids=[e[0] for e in ERRORS])
@pytest.mark.parametrize("row", ROWS, ids=str)
def test_argument_errors(row, error):
    _, kwargs, exc, pattern = error
    with pytest.raises(exc, match=pattern(row)):
        row.build(**{"weights": None, **kwargs(row)})


# ------------------------------------------------------------------------------ registry ----
def test_list_models_covers_the_table():
    """The first wave's models are rows here; later families have their own parity test files,
    and tests/test_snapshots_builtin.py covers every registered model."""
    assert {row.name for row in ROWS} <= set(cnnblocks.list_models())


def test_create_model():
    model = cnnblocks.create_model("VGG11", include_top=False, input_shape=(32, 32, 3))
    assert model.name == "vgg11"
    assert tuple(model.output.shape) == (None, 1, 1, 512)
    # `name` is passed through to the model; `weights` defaults to None (random init).
    model = cnnblocks.create_model("resnet18", name="m", include_top=False,
                                   input_shape=(32, 32, 3))
    assert model.name == "m"
    with pytest.raises(ValueError, match=r"Unknown model 'resnet5'.*Did you mean.*'resnet50'"):
        cnnblocks.create_model("resnet5")
    with pytest.raises(TypeError, match="`model_name`"):
        cnnblocks.create_model(50)


@pytest.mark.parametrize("spelling,key", [("ResNet-18", "resnet18"), ("resnet_18", "resnet18"),
                                          ("ResNet18", "resnet18"),
                                          ("InceptionV3", "inception_v3"),
                                          ("Inception-V3", "inception_v3"),
                                          ("SqueezeNet1_0", "squeezenet1_0"),
                                          ("squeezenet-1.1", "squeezenet1_1")])
def test_one_name_normalisation(spelling, key):
    """create_model, published, verify, table and classify all resolve names with
    `registry.entry`, so every spelling means the same model everywhere."""
    assert registry.entry(spelling).name == key
    assert cnnblocks.published.get(spelling) is registry.entry(key).reference
    assert classify_app.preprocessing_for(spelling) is registry.family_of(key).preprocess_input
