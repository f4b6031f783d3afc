"""`cnnblocks.design.estimate` for the plain and concatenating families: VGG (both heads),
AlexNet, SqueezeNet, ResNeXt, Wide ResNet, ResNet v2 and DenseNet. Every registered model is
built once at its own size with a top and compared figure by figure (parameters, trainable,
multiply-adds, activations, output shape); one model per family is also built without a top
(no pooling, "avg", "max"), with other `classes`, at an odd non-square size and in every
variant. The largest builds are heavy.

Counts do not depend on the backend: the TensorFlow pass runs this file.
"""

import pytest

import keras

from cnnblocks import design, registry
from estimates import estimated, measured

pytestmark = pytest.mark.backend_independent


def _compare(key, **kwargs):
    """Builds `key` with `kwargs` (no weights) and compares it with its estimate."""
    model = registry.entry(key, "model").builder(weights=None, **kwargs)
    try:
        assert estimated(design.estimate(key, **kwargs)) == measured(model)
    finally:
        keras.backend.clear_session()


def _models(light, heavy):
    return [*light, *(pytest.param(k, marks=pytest.mark.heavy) for k in heavy)]


#: One model per family, built again without a top, with other classes, at an odd size and
#: in each of its variants.
HEADS = (dict(include_top=False, input_shape=(64, 48, 3)),
         dict(include_top=False, pooling="avg", input_shape=(40, 33, 3)),
         dict(include_top=False, pooling="max", input_shape=(33, 40, 3)),
         dict(classes=10, input_shape=(97, 75, 3)))


# ------------------------------------------------------------------------------ VGG ---------
@pytest.mark.parametrize("key", _models(
    ["vgg11"], ["vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn"]))
def test_registered_vggs(key):
    _compare(key)                                               # 224x224, Flatten head


@pytest.mark.parametrize("variant", ["keras", "torchvision"])
@pytest.mark.parametrize("kwargs", HEADS, ids=["notop", "avg", "max", "classes-odd"])
def test_vgg_heads_and_variants(variant, kwargs):
    """The torchvision head (adaptive 7x7 pool, dropouts) keeps fc1's 25,088 inputs at any
    size; keras' Flatten follows the input size."""
    _compare("vgg11_bn", variant=variant, **kwargs)


def test_vgg_bad_variant():
    with pytest.raises(ValueError, match="`variant`"):
        design.estimate("vgg16", variant="caffe")


# ------------------------------------------------------------------------------ AlexNet -----
def test_registered_alexnet():
    _compare("alexnet")


@pytest.mark.parametrize("variant", ["torchvision", "paper"])
@pytest.mark.parametrize("kwargs", [dict(include_top=False, input_shape=(63, 64, 3)),
                                    dict(include_top=False, pooling="avg",
                                         input_shape=(80, 71, 3)),
                                    dict(include_top=False, pooling="max",
                                         input_shape=(71, 80, 3)),
                                    dict(classes=10, input_shape=(97, 75, 3))],
                         ids=["notop-min-size", "avg", "max", "classes-odd"])
def test_alexnet_heads_and_variants(variant, kwargs):
    """torchvision's head has an adaptive 6x6 pool and dropout before fc6/fc7; the paper's
    grouped convolutions and LRNs, dropout after them."""
    _compare("alexnet", variant=variant, **kwargs)


def test_alexnet_below_its_min_size():
    with pytest.raises(ValueError, match="at least 63x63"):
        design.estimate("alexnet", input_shape=(62, 64, 3))


# ------------------------------------------------------------------------------ SqueezeNet --
@pytest.mark.parametrize("key", ["squeezenet1_0", "squeezenet1_1"])
def test_registered_squeezenets(key):
    _compare(key)


@pytest.mark.parametrize("kwargs", [*HEADS, dict(variant="torchvision", input_shape=(32, 35, 3))],
                         ids=["notop", "avg", "max", "classes-odd", "variant-min-size"])
def test_squeezenet_heads_and_variants(kwargs):
    """The conv10 head (dropout, 1x1 convolution to `classes`, global pool, activation);
    the ceil-mode pools' bottom-right padding on odd and even sizes."""
    _compare("squeezenet1_0", **kwargs)


def test_squeezenet_bad_variant():
    with pytest.raises(ValueError, match="`variant`"):
        design.estimate("squeezenet1_1", variant="keras")


# ------------------------------------------------------------------------------ ResNeXt, WRN -
@pytest.mark.parametrize("key", _models(["resnext50_32x4d", "wide_resnet50_2"],
                                        ["resnext101_32x8d", "resnext101_64x4d",
                                         "wide_resnet101_2"]))
def test_registered_resnexts_and_wide_resnets(key):
    _compare(key)


@pytest.mark.parametrize("key", ["resnext50_32x4d", "wide_resnet50_2"])
@pytest.mark.parametrize("kwargs", [*HEADS, dict(variant="torchvision", input_shape=(35, 32, 3))],
                         ids=["notop", "avg", "max", "classes-odd", "variant"])
def test_resnext_and_wide_resnet_heads_and_variants(key, kwargs):
    """The grouped (ResNeXt) or widened (WRN) bottlenecks: explicit padding before each
    strided 3x3, projections on every stage's first module, odd sizes."""
    _compare(key, **kwargs)


@pytest.mark.parametrize("key", ["resnext50_32x4d", "wide_resnet101_2"])
def test_resnext_and_wide_resnet_bad_variant(key):
    with pytest.raises(ValueError, match="`variant`"):
        design.estimate(key, variant="keras")


# ------------------------------------------------------------------------------ ResNet v2 ---
@pytest.mark.parametrize("key", _models(["resnet50v2"], ["resnet101v2", "resnet152v2"]))
def test_registered_resnet_v2s(key):
    _compare(key)


@pytest.mark.parametrize("kwargs", HEADS, ids=["notop", "avg", "max", "classes-odd"])
def test_resnet_v2_heads(kwargs):
    """Pre-activation modules: the 1x1/2 max-pool shortcut of each stage's last module, the
    stride on its 3x3 after explicit padding, the final BN-ReLU."""
    _compare("resnet50v2", **kwargs)


def test_resnet_v2_variants():
    """One structure (keras.applications'; the builders take no `variant`): "keras" is it,
    anything else is refused."""
    assert design.estimate("resnet101v2", variant="keras") == design.estimate("resnet101v2")
    with pytest.raises(ValueError, match="`variant`"):
        design.estimate("resnet50v2", variant="torchvision")


# ------------------------------------------------------------------------------ DenseNet ----
@pytest.mark.parametrize("key", _models(["densenet121"],
                                        ["densenet161", "densenet169", "densenet201"]))
def test_registered_densenets(key):
    _compare(key)


@pytest.mark.parametrize("variant", ["keras", "torchvision"])
@pytest.mark.parametrize("kwargs", HEADS, ids=["notop", "avg", "max", "classes-odd"])
def test_densenet_heads_and_variants(variant, kwargs):
    """Dense blocks (one concatenation per layer), transitions (compression 0.5, 2x2/2
    average pools on odd sizes), the final BN-ReLU; the variants differ only in BN epsilon."""
    _compare("densenet121", variant=variant, **kwargs)


def test_densenet_bad_variant():
    with pytest.raises(ValueError, match="`variant`"):
        design.estimate("densenet169", variant="paper")
